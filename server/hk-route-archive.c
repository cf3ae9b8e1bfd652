/* The read-only routes over the document store: status, patients, the
 * timeline, documents, content, thumbnails, census. Each opens one short
 * read transaction, copies out what it answers, ends the transaction, writes
 * the audit record and only then replies. Content larger than one chunk is
 * streamed after that, each chunk copied under a short transaction of its
 * own (hk_worker_send_blob). */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-patient-row.h"
#include "hk-sha256.h"
#include "hk-time.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <string.h>

bool
hk_doc_id_valid(const char *id)
{
  if (!id || strlen(id) != HK_DOC_ID_LEN)
    return false;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
      return false;
  return true;
}

/* Begin the request's read transaction or answer 503. */
static int
hk_begin(HkRequest *r, hk_txn **t)
{
  int ret = hk_txn_begin(r->srv->store, false, t);

  if (ret < 0) {
    hk_error("store: cannot begin a read transaction: %s", hk_strerror(ret));
    hk_reply_error(r, 503, "store_unavailable", "the archive cannot be read right now");
  }
  return ret;
}

static void
hk_store_error(HkRequest *r, int ret)
{
  if (ret == -HK_ENOTFOUND) {
    hk_reply_error(r, 404, "not_found", "no such resource");
  } else {
    hk_error("store read failed: %s", hk_strerror(ret));
    hk_reply_error(r, 500, "internal", "the archive could not be read");
  }
}

void
hk_route_status(HkRequest *r)
{
  HkStoreStats st;
  hk_txn *t = NULL;
  JsonBuilder *b;
  const char *state;
  int64_t now = hk_time_now();
  int ret;

  memset(&st, 0, sizeof st);
  if (hk_begin(r, &t) < 0)
    goto out;
  ret = hk_store_stats(t, &st);
  hk_txn_abort(t);
  if (ret < 0) {
    hk_store_error(r, ret);
    goto out;
  }
  state = hk_indexer_state_name(st.indexer.state);
  /* "running" is what the indexer last wrote; without a recent heartbeat it
   * may have died, so the clients must not show the archive as current. */
  if (st.indexer.state == HK_INDEXER_RUNNING &&
      now - st.indexer.heartbeat_at > (int64_t)r->srv->opt.indexer_stale_s * G_USEC_PER_SEC)
    state = "stopped";
  b = json_builder_new();
  json_builder_begin_object(b);
  hk_json_int(b, "documents", (int64_t)st.documents);
  hk_json_int(b, "patients", (int64_t)st.patients);
  hk_json_int(b, "versions", (int64_t)st.versions);
  hk_json_time(b, "archive_as_of", st.archive_as_of);
  hk_json_time(b, "last_document_at", st.last_document_at);
  hk_json_str(b, "indexer", state);
  hk_json_time(b, "indexer_heartbeat_at", st.indexer.heartbeat_at);
  if (st.indexer.state == HK_INDEXER_SEALED) {
    hk_json_str(b, "sealed_reason", st.indexer.reason ? st.indexer.reason : "");
    hk_json_time(b, "sealed_at", st.indexer.sealed_at);
  }
  hk_json_time(b, "server_time", now);
  json_builder_end_object(b);
  hk_reply_builder(r, 200, b);
out:
  hk_indexer_info_clear(&st.indexer);
}

/* A row string as a member (null for a null). */
static void
hk_jw_row(GString *g, const char *name, const HkRowStr *v)
{
  hk_jw_strn(g, name, v->p, v->len);
}

/* Search is answered from the patients' rows (hk-patient-row.h): no record
 * is parsed. The answer is written while the transaction is open (the rows
 * point into the map) and sent after it ends. */
void
hk_route_patient_search(HkRequest *r)
{
  GArray *found = g_array_new(FALSE, FALSE, sizeof(HkPatientRow));
  GPtrArray *keep = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
  const char *q = hk_query(r, "q");
  char *one = NULL;
  GString *g = NULL;
  hk_txn *t = NULL;
  unsigned limit = 0;
  char detail[32];
  int ret;

  if (!q || !*q || strlen(q) > 256 || !g_utf8_validate(q, -1, NULL)) {
    hk_reply_error(r, 400, "bad_request", "q: 1-256 bytes of UTF-8 required");
    goto out;
  }
  if (hk_query_uint(r, "limit", 1, 100, 20, &limit) < 0) {
    hk_reply_error(r, 400, "bad_request", "limit: 1-100");
    goto out;
  }
  if (hk_begin(r, &t) < 0)
    goto out;
  ret = hk_store_search_patient_rows(t, q, limit, found, keep);
  if (ret == 0 || ret == -HK_EINVAL) {
    g = g_string_sized_new(256 + 160 * found->len);
    hk_jw_begin(g, NULL, '{');
    hk_jw_begin(g, "patients", '[');
    for (guint i = 0; i < found->len; i++) {
      const HkPatientRow *p = &g_array_index(found, HkPatientRow, i);
      hk_jw_begin(g, NULL, '{');
      hk_jw_row(g, "id", &p->id);
      hk_jw_row(g, "name", &p->name);
      hk_jw_row(g, "kana", &p->kana);
      hk_jw_row(g, "birth_date", &p->birth_date);
      hk_jw_row(g, "sex", &p->sex);
      hk_jw_end(g, '}');
    }
    hk_jw_end(g, ']');
    hk_jw_end(g, '}');
    if (found->len == 1)
      one = g_strndup(g_array_index(found, HkPatientRow, 0).id.p,
                      g_array_index(found, HkPatientRow, 0).id.len);
  }
  g_snprintf(detail, sizeof detail, "%u results", found->len);
  hk_txn_abort(t);
  if (ret < 0 && ret != -HK_EINVAL) {
    hk_store_error(r, ret);
    goto out;
  }
  {
    HkAuditEvent e = {
        .action = "patient.search", .status = 200, .query = q, .detail = detail, .patient = one};
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  hk_reply_jw(r, 200, g);
  g = NULL;
out:
  if (g)
    g_string_free(g, TRUE);
  g_free(one);
  g_array_unref(found);
  g_ptr_array_unref(keep);
}

void
hk_route_patient_get(HkRequest *r)
{
  const char *id = r->seg[1];
  HkPatient *p = NULL;
  hk_txn *t = NULL;
  JsonBuilder *b;
  int ret;

  if (!hk_patient_id_valid(id)) {
    hk_reply_error(r, 404, "not_found", "no such patient");
    goto out;
  }
  if (hk_begin(r, &t) < 0)
    goto out;
  ret = hk_store_get_patient(t, id, &p);
  hk_txn_abort(t);
  {
    HkAuditEvent e = {.action = "patient.read",
                      .patient = id,
                      .outcome = ret == 0 ? "success" : "not_found",
                      .status = ret == 0 ? 200 : 404};
    if (ret < 0 && ret != -HK_ENOTFOUND) {
      hk_store_error(r, ret);
      goto out;
    }
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  if (ret < 0) {
    hk_store_error(r, ret);
    goto out;
  }
  b = json_builder_new();
  json_builder_begin_object(b);
  /* The same writer as the store's record: one shape, one place that says
   * whether allergy data could not be read. */
  hk_patient_build_json(b, p, HK_PATIENT_JSON_API);
  json_builder_end_object(b);
  hk_reply_builder(r, 200, b);
out:
  hk_patient_free(p);
}

/* What GET /documents/{id} says of the current version's text, copied out
 * of the read transaction (docs/api.md, "text"). */
typedef struct {
  bool tried;  /* a status record exists */
  bool queued; /* to be extracted (again) */
  HkTextInfo info;
  char *reason;
} HkDocText;

static int
hk_document_text_read(hk_txn *t, const HkDocument *d, HkDocText *out)
{
  const HkVersion *v = hk_document_current(d);
  int ret = hk_store_get_text(t, v->doc_id, v->version, &out->info);

  out->tried = ret == 0;
  if (ret == 0 && out->info.reason.p)
    out->reason = g_strndup(out->info.reason.p, out->info.reason.len);
  out->info.reason = (HkRowStr){0};
  /* A damaged text record costs its status, never the document. */
  if (ret == -HK_ECORRUPT) {
    out->tried = true;
    out->info = (HkTextInfo){.status = HK_TEXT_FAILED};
    out->reason = g_strdup("the stored text record is damaged (hikae-admin verify names it)");
    hk_warn("document %s v%u: text record does not decode", v->doc_id, v->version);
  }
  if (ret == -HK_ENOTFOUND || ret == -HK_ECORRUPT)
    ret = 0;
  if (ret == 0) {
    ret = hk_store_text_queued(t, v->doc_id, v->version);
    out->queued = ret == 0;
    ret = ret == -HK_ENOTFOUND ? 0 : ret;
  }
  return ret;
}

/* "text": the extraction status of the current version. Pending while it
 * is queued (a failure with attempts left included, its last reason
 * shown); "none" for a version stored before text was extracted. */
static void
hk_document_text_json(GString *g, const HkDocText *dt)
{
  const HkTextInfo *i = &dt->info;
  bool has_pages = dt->tried && i->pages > 0;

  hk_jw_begin(g, "text", '{');
  hk_jw_str(g, "status",
            dt->queued  ? "pending"
            : dt->tried ? hk_text_status_name(i->status)
                        : "none");
  hk_jw_str(g, "source", has_pages ? hk_text_source_name(i->source) : NULL);
  hk_jw_int(g, "pages", dt->tried ? i->pages : 0);
  hk_jw_int(g, "empty_pages", dt->tried ? i->empty_pages : 0);
  hk_jw_bool(g, "truncated", dt->tried && (i->flags & HK_TEXT_TRUNCATED));
  hk_jw_int(g, "attempts", dt->tried ? i->attempts : 0);
  hk_jw_str(g, "reason", dt->reason);
  hk_jw_end(g, '}');
}

/* The <document> object of interfaces.md, as shown under the patient
 * shown_under (a document moved to another patient is shown on both
 * timelines, marked "to" on the old one and "from" on the new one). */
static void
hk_document_json(GString *g, const HkDocument *d, const char *shown_under, const HkDocText *dt)
{
  const HkVersion *v = hk_document_current(d);
  HkMove m;

  hk_jw_begin(g, NULL, '{');
  hk_jw_str(g, "id", v->doc_id);
  hk_jw_str(g, "patient_id", v->patient_id);
  hk_jw_str(g, "source_id", v->source_id);
  hk_jw_str(g, "type", v->type);
  hk_jw_str(g, "title", v->title);
  hk_jw_str(g, "author", v->author);
  hk_jw_str(g, "department", v->department);
  hk_jw_str(g, "created_at", v->created_at);
  hk_jw_time(g, "ingested_at", v->ingested_at);
  hk_jw_str(g, "content_type", v->content_type);
  hk_jw_int(g, "size", (int64_t)v->size);
  hk_jw_str(g, "sha256", v->sha256);
  hk_jw_int(g, "version", v->version);
  hk_jw_str(g, "code", v->code);
  hk_jw_bool(g, "withdrawn", d->withdrawn);
  hk_jw_str(g, "source_name", d->source_name);
  /* Newer versions refused as suspect (quarantined; this one stays
   * current): the reader must know the source tried to replace it. */
  hk_jw_begin(g, "refused_versions", '[');
  for (guint i = 0; i < d->refused->len; i++) {
    const HkRefusal *rf = d->refused->pdata[i];
    hk_jw_begin(g, NULL, '{');
    hk_jw_time(g, "at", rf->at);
    hk_jw_str(g, "reason", rf->reason);
    hk_jw_str(g, "sha256", rf->sha256);
    hk_jw_end(g, '}');
  }
  hk_jw_end(g, ']');
  hk_document_move(d, shown_under ? shown_under : v->patient_id, &m);
  if (m.kind == HK_MOVE_NONE) {
    hk_jw_str(g, "moved", NULL);
  } else {
    hk_jw_begin(g, "moved", '{');
    hk_jw_str(g, "direction", m.kind == HK_MOVE_TO ? "to" : "from");
    hk_jw_str(g, "patient_id", m.other_patient);
    hk_jw_time(g, "at", m.at);
    hk_jw_end(g, '}');
  }
  hk_jw_begin(g, "versions", '[');
  for (guint i = 0; i < d->versions->len; i++) {
    const HkVersion *o = d->versions->pdata[i];
    hk_jw_begin(g, NULL, '{');
    hk_jw_int(g, "version", o->version);
    hk_jw_time(g, "ingested_at", o->ingested_at);
    hk_jw_int(g, "size", (int64_t)o->size);
    hk_jw_str(g, "sha256", o->sha256);
    hk_jw_str(g, "patient_id", o->patient_id);
    hk_jw_end(g, '}');
  }
  hk_jw_end(g, ']');
  /* Only here, not on the timeline: a timeline reads rows and nothing
   * else (docs/store.md, "Rows"). */
  hk_document_text_json(g, dt);
  hk_jw_end(g, '}');
}

#define HK_JW_ROWSTR(g, name, str) hk_jw_strn(g, name, (str).p, (str).len)

/* The same <document> object as hk_document_json, written straight from
 * the document's row (hk-row.h) in the store's map: a timeline answer
 * reads no version record. test-server-api.py checks that both write the
 * same bytes. A text search adds the hit's "matches". */
void
hk_row_json(GString *g, const HkRow *row, const char *shown_under, const HkSearchDoc *hit)
{
  char id[HK_DOC_ID_LEN + 1], sha[HK_SHA256_HEX_LEN + 1];
  const uint8_t *at;

  hk_version_doc_id_hex(row->doc_id, id);
  hk_sha256_hex(row->sha256, sha);
  hk_jw_begin(g, NULL, '{');
  hk_jw_str(g, "id", id);
  HK_JW_ROWSTR(g, "patient_id", row->patient_id);
  HK_JW_ROWSTR(g, "source_id", row->source_id);
  HK_JW_ROWSTR(g, "type", row->type);
  HK_JW_ROWSTR(g, "title", row->title);
  HK_JW_ROWSTR(g, "author", row->author);
  HK_JW_ROWSTR(g, "department", row->department);
  HK_JW_ROWSTR(g, "created_at", row->created_at);
  hk_jw_time(g, "ingested_at", row->ingested_at);
  HK_JW_ROWSTR(g, "content_type", row->content_type);
  hk_jw_int(g, "size", (int64_t)row->size);
  hk_jw_str(g, "sha256", sha);
  hk_jw_int(g, "version", row->version);
  HK_JW_ROWSTR(g, "code", row->code);
  hk_jw_bool(g, "withdrawn", row->flags & HK_ROW_WITHDRAWN);
  HK_JW_ROWSTR(g, "source_name", row->source_name);
  hk_jw_begin(g, "refused_versions", '[');
  at = row->refused_at;
  for (uint32_t i = 0; i < row->n_refused; i++) {
    HkRowRefusal rf;
    hk_row_next_refusal(&at, &rf);
    hk_jw_begin(g, NULL, '{');
    hk_jw_time(g, "at", rf.at);
    HK_JW_ROWSTR(g, "reason", rf.reason);
    HK_JW_ROWSTR(g, "sha256", rf.sha256);
    hk_jw_end(g, '}');
  }
  hk_jw_end(g, ']');
  /* hk_document_move, from what the row kept of the move. */
  if (!row->moved_from.p) {
    hk_jw_str(g, "moved", NULL);
  } else {
    bool away = row->patient_id.len != strlen(shown_under) ||
                memcmp(row->patient_id.p, shown_under, row->patient_id.len) != 0;
    hk_jw_begin(g, "moved", '{');
    hk_jw_str(g, "direction", away ? "to" : "from");
    if (away)
      HK_JW_ROWSTR(g, "patient_id", row->patient_id);
    else
      HK_JW_ROWSTR(g, "patient_id", row->moved_from);
    hk_jw_time(g, "at", row->moved_at);
    hk_jw_end(g, '}');
  }
  hk_jw_begin(g, "versions", '[');
  at = row->versions_at;
  for (uint32_t i = 0; i < row->n_versions; i++) {
    HkRowVersion o;
    hk_row_next_version(&at, &o);
    hk_sha256_hex(o.sha256, sha);
    hk_jw_begin(g, NULL, '{');
    hk_jw_int(g, "version", o.version);
    hk_jw_time(g, "ingested_at", o.ingested_at);
    hk_jw_int(g, "size", (int64_t)o.size);
    hk_jw_str(g, "sha256", sha);
    HK_JW_ROWSTR(g, "patient_id", o.patient_id);
    hk_jw_end(g, '}');
  }
  hk_jw_end(g, ']');
  if (hit)
    hk_search_matches_json(g, hit);
  hk_jw_end(g, '}');
}

typedef struct {
  GString *g;
  const char *shown_under;
  unsigned n;
} HkTimelineAnswer;

static int
hk_timeline_entry(const HkRow *row, void *data)
{
  HkTimelineAnswer *a = data;

  hk_row_json(a->g, row, a->shown_under, NULL);
  a->n++;
  return 0;
}

/* A from/to filter: RFC 3339, or a date taken as that whole day in Japan
 * (Asia/Tokyo, +09:00, no daylight saving): "2024-04-01" from a ward in
 * Tokyo means its calendar day, not the UTC one that starts at 09:00 there. */
int
hk_parse_bound(const char *text, bool end, int64_t *usec)
{
  int ret = 0;

  if (!text)
    goto out;
  if (hk_time_is_date(text)) {
    char *full = g_strdup_printf("%sT00:00:00+09:00", text);
    ret = hk_time_parse(full, usec);
    g_free(full);
    if (ret == 0 && end)
      *usec += (int64_t)86400 * G_USEC_PER_SEC - 1;
  } else {
    ret = hk_time_parse(text, usec);
  }
out:
  return ret;
}

void
hk_route_patient_documents(HkRequest *r)
{
  const char *pid = r->seg[1];
  const char *type = hk_query(r, "type");
  const char *cursor = hk_query(r, "cursor");
  HkTimelineQuery q = {.type = type && *type ? type : NULL,
                       .from_usec = INT64_MIN,
                       .to_usec = INT64_MAX,
                       .cursor = cursor && *cursor ? cursor : NULL};
  HkTimelineAnswer a = {.shown_under = pid};
  char *next = NULL;
  hk_txn *t = NULL;
  int ret = 0;

  if (!hk_patient_id_valid(pid)) {
    hk_reply_error(r, 404, "not_found", "no such patient");
    goto out;
  }
  if (hk_query_uint(r, "limit", 1, 1000, 50, &q.limit) < 0 ||
      hk_parse_bound(hk_query(r, "from"), false, &q.from_usec) < 0 ||
      hk_parse_bound(hk_query(r, "to"), true, &q.to_usec) < 0 ||
      (q.type && !hk_version_type_valid(q.type))) {
    hk_reply_error(r, 400, "bad_request",
                   "type, from, to (RFC 3339 or YYYY-MM-DD, a Japan day), limit 1-1000");
    goto out;
  }
  if (hk_query(r, "q")) {
    /* A text search: the same walk, kept to the documents that hit. */
    hk_search_timeline(r, pid, hk_query(r, "q"), &q);
    goto out;
  }
  if (hk_begin(r, &t) < 0)
    goto out;
  /* The answer is written from the rows while the transaction is open
   * (they point into the map), and only sent after it ends. */
  a.g = g_string_sized_new(16384);
  hk_jw_begin(a.g, NULL, '{');
  hk_jw_begin(a.g, "documents", '[');
  ret = hk_store_has_patient(t, pid);
  if (ret == 0)
    ret = hk_store_timeline_rows(t, pid, &q, hk_timeline_entry, &a, &next);
  hk_txn_abort(t);
  if (ret == -HK_EINVAL) {
    hk_reply_error(r, 400, "bad_request", "malformed cursor");
    goto out;
  }
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_store_error(r, ret);
    goto out;
  }
  {
    char detail[32];
    HkAuditEvent e = {.action = "document.list",
                      .patient = pid,
                      .outcome = ret == 0 ? "success" : "not_found",
                      .status = ret == 0 ? 200 : 404,
                      .detail = detail,
                      .query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req))};
    g_snprintf(detail, sizeof detail, "%u documents", a.n);
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  if (ret < 0) {
    hk_reply_error(r, 404, "not_found", "no such patient");
    goto out;
  }
  hk_jw_end(a.g, ']');
  hk_jw_str(a.g, "next_cursor", next);
  hk_jw_end(a.g, '}');
  hk_reply_jw(r, 200, a.g);
  a.g = NULL;
out:
  if (a.g)
    g_string_free(a.g, TRUE);
  g_free(next);
}

void
hk_route_document_get(HkRequest *r)
{
  const char *id = r->seg[1];
  const char *under = hk_query(r, "patient");
  HkDocument *d = NULL;
  HkDocText dt = {0};
  hk_txn *t = NULL;
  GString *g;
  char detail[64] = "";
  int ret = -HK_ENOTFOUND;

  if (under && !hk_patient_id_valid(under)) {
    hk_reply_error(r, 400, "bad_request", "patient: not a patient ID");
    goto out;
  }
  if (hk_doc_id_valid(id)) {
    if (hk_begin(r, &t) < 0)
      goto out;
    ret = hk_store_get_document(t, id, &d);
    if (ret == 0)
      ret = hk_document_text_read(t, d, &dt);
    hk_txn_abort(t);
  }
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_store_error(r, ret);
    goto out;
  }
  /* A moved document is read under the patient whose timeline showed it
   * (?patient=, if the document ever belonged to that patient): the audit
   * names that patient, and the answer says where it moved. */
  if (d && under && !hk_document_has_patient(d, under))
    under = NULL;
  {
    const HkVersion *v = d ? hk_document_current(d) : NULL;
    HkAuditEvent e = {.action = "document.read",
                      .document = id,
                      .patient = under ? under
                                 : v   ? v->patient_id
                                       : NULL,
                      .version = v ? v->version : 0,
                      .outcome = d ? "success" : "not_found",
                      .status = d ? 200 : 404};
    if (d) {
      HkMove m;
      hk_document_move(d, e.patient, &m);
      if (m.kind != HK_MOVE_NONE) {
        g_snprintf(detail, sizeof detail, "moved %s patient %s",
                   m.kind == HK_MOVE_TO ? "to" : "from", m.other_patient);
        e.detail = detail;
      }
    }
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  if (!d) {
    hk_reply_error(r, 404, "not_found", "no such document");
    goto out;
  }
  g = g_string_sized_new(1024);
  hk_document_json(g, d, under, &dt);
  hk_reply_jw(r, 200, g);
out:
  g_free(dt.reason);
  hk_document_free(d);
}

/* Does an If-None-Match list name this entity tag? */
static bool
hk_etag_matches(const char *inm, const char *sha)
{
  bool hit = false;
  char **tags;

  if (!inm)
    return false;
  tags = g_strsplit(inm, ",", -1);
  for (char **p = tags; *p && !hit; p++) {
    char *tag = g_strstrip(*p);
    if (g_str_has_prefix(tag, "W/"))
      tag += 2;
    if (strcmp(tag, "*") == 0) {
      hit = true;
    } else {
      size_t n = strlen(tag);
      if (n == HK_SHA256_HEX_LEN + 2 && tag[0] == '"' && tag[n - 1] == '"')
        hit = strncmp(tag + 1, sha, HK_SHA256_HEX_LEN) == 0;
      else
        hit = strcmp(tag, sha) == 0;
    }
  }
  g_strfreev(tags);
  return hit;
}

/* One byte range of a "Range: bytes=..." header against size.
 * \return 1 and [*first, *last] for a satisfiable single range; 0 to serve
 * the whole (no header, a syntax we do not honour, several ranges); -1 for
 * an unsatisfiable range (416). */
static int
hk_parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
  const char *spec, *dash;
  guint64 a = 0, b = 0;
  char *end = NULL;
  int ret = 0;

  if (!h || !g_str_has_prefix(h, "bytes="))
    goto out;
  spec = h + 6;
  if (strchr(spec, ',') || !(dash = strchr(spec, '-')))
    goto out;
  if (dash == spec) { /* suffix: the last N bytes */
    a = g_ascii_strtoull(dash + 1, &end, 10);
    if (!end || *end || dash[1] == 0)
      goto out;
    if (a == 0 || size == 0) {
      ret = -1;
      goto out;
    }
    *first = a >= size ? 0 : size - a;
    *last = size - 1;
    ret = 1;
    goto out;
  }
  a = g_ascii_strtoull(spec, &end, 10);
  if (end != dash)
    goto out;
  if (dash[1]) {
    b = g_ascii_strtoull(dash + 1, &end, 10);
    if (!end || *end || b < a)
      goto out;
  } else {
    b = UINT64_MAX;
  }
  if (a >= size) {
    ret = -1;
    goto out;
  }
  *first = a;
  *last = b >= size ? size - 1 : b;
  ret = 1;
out:
  return ret;
}

/* What a content answer needs of a version. */
typedef struct {
  uint32_t version;
  char sha256[HK_SHA256_HEX_LEN + 1];
  char *patient_id;   /* g_free */
  char *content_type; /* g_free, or NULL */
} HkContentRef;

/* The current version is read from the document's row (hk-row.h): a 2 KB
 * answer then parses no JSON (parsing the version record was a fifth of
 * its CPU). A given version, or a document without a row (which verify
 * reports), is read from the version records. */
static int
hk_content_ref(hk_txn *t, const char *id, unsigned version, HkContentRef *out)
{
  HkVersion *v = NULL;
  HkRow row;
  int ret = version == 0 ? hk_store_get_row(t, id, &row) : -HK_ENOTFOUND;

  if (ret == 0) {
    out->version = row.version;
    hk_sha256_hex(row.sha256, out->sha256);
    out->patient_id = g_strndup(row.patient_id.p, row.patient_id.len);
    out->content_type =
        row.content_type.p ? g_strndup(row.content_type.p, row.content_type.len) : NULL;
    goto out;
  }
  ret = hk_store_get_version(t, id, version, &v);
  if (ret == 0) {
    out->version = v->version;
    g_strlcpy(out->sha256, v->sha256, sizeof out->sha256);
    out->patient_id = g_strdup(v->patient_id);
    out->content_type = g_strdup(v->content_type);
  }
out:
  hk_version_free(v);
  return ret;
}

void
hk_route_document_content(HkRequest *r)
{
  const char *id = r->seg[1];
  unsigned version = 0;
  HkContentRef c = {0};
  hk_txn *t = NULL;
  struct evbuffer *body = NULL;
  const void *data = NULL;
  size_t len = 0;
  uint64_t first = 0, last = 0, n = 0;
  int range = 0, status = 200;
  char etag[HK_SHA256_HEX_LEN + 3], buf[96];
  int ret = -HK_ENOTFOUND;

  if (hk_query_uint(r, "version", 1, UINT32_MAX, 0, &version) < 0) {
    hk_reply_error(r, 400, "bad_request", "version: a number from 1");
    goto out;
  }
  if (hk_doc_id_valid(id)) {
    if (hk_begin(r, &t) < 0)
      goto out;
    ret = hk_content_ref(t, id, version, &c);
    if (ret == 0)
      ret = hk_store_get_blob(t, c.sha256, &data, &len);
    if (ret == 0) {
      g_snprintf(etag, sizeof etag, "\"%s\"", c.sha256);
      if (hk_etag_matches(hk_header(r, "If-None-Match"), c.sha256)) {
        status = 304;
      } else {
        range = hk_parse_range(hk_header(r, "Range"), len, &first, &last);
        if (range == 1 || range == 0) {
          if (range == 0)
            last = len ? len - 1 : 0;
          n = len ? last - first + 1 : 0;
          status = range == 1 ? 206 : 200;
          /* Small answers are copied here; larger ones are streamed a
           * chunk at a time after this transaction ends (nothing of the
           * map is kept past it: see hk_worker_send_blob). */
          if (n <= HK_STREAM_CHUNK) {
            body = evbuffer_new();
            evbuffer_add(body, (const char *)data + first, (size_t)n);
          }
        } else {
          status = 416;
        }
      }
    }
    hk_txn_abort(t);
  }
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_store_error(r, ret);
    goto out;
  }
  {
    char detail[64] = "";
    HkAuditEvent e = {.action = "document.content",
                      .document = id,
                      .patient = c.patient_id,
                      .version = c.version ? c.version : version,
                      .outcome = ret == 0 ? (status == 416 ? "failure" : "success") : "not_found",
                      .status = ret == 0 ? status : 404,
                      .detail = detail};
    if (range == 1)
      g_snprintf(detail, sizeof detail, "bytes %" PRIu64 "-%" PRIu64, first, last);
    else
      e.detail = NULL;
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  if (ret < 0) {
    hk_reply_error(r, 404, "not_found", "no such document or version");
    goto out;
  }
  hk_reply_header(r, "ETag", etag);
  hk_reply_header(r, "Accept-Ranges", "bytes");
  g_snprintf(buf, sizeof buf, "%u", c.version);
  hk_reply_header(r, "X-Hikae-Version", buf);
  if (status == 304) {
    hk_reply_empty(r, 304);
  } else if (status == 416) {
    g_snprintf(buf, sizeof buf, "bytes */%zu", len);
    hk_reply_header(r, "Content-Range", buf);
    hk_reply_error(r, 416, "range_not_satisfiable", "the range is outside the content");
  } else {
    if (status == 206) {
      g_snprintf(buf, sizeof buf, "bytes %" PRIu64 "-%" PRIu64 "/%zu", first, last, len);
      hk_reply_header(r, "Content-Range", buf);
    }
    const char *type = c.content_type ? c.content_type : "application/octet-stream";
    if (body)
      hk_reply_bytes(r, status, type, body);
    else
      hk_reply_blob(r, status, type, c.sha256, first, n);
  }
out:
  if (body)
    evbuffer_free(body);
  g_free(c.patient_id);
  g_free(c.content_type);
}

/* Like content, the current version comes from the document's row: no
 * JSON is parsed. */
void
hk_route_document_thumbnail(HkRequest *r)
{
  const char *id = r->seg[1];
  HkContentRef c = {0};
  hk_txn *t = NULL;
  struct evbuffer *body = NULL;
  const void *data = NULL;
  size_t len = 0;
  bool found = false;
  int ret = -HK_ENOTFOUND;

  if (hk_doc_id_valid(id)) {
    if (hk_begin(r, &t) < 0)
      goto out;
    ret = hk_content_ref(t, id, 0, &c);
    found = ret == 0;
    if (ret == 0)
      ret = hk_store_get_thumbnail(t, c.sha256, &data, &len);
    if (ret == 0) {
      body = evbuffer_new();
      evbuffer_add(body, data, len);
    }
    hk_txn_abort(t);
  }
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_store_error(r, ret);
    goto out;
  }
  {
    HkAuditEvent e = {.action = "document.thumbnail",
                      .document = id,
                      .patient = found ? c.patient_id : NULL,
                      .version = found ? c.version : 0,
                      .outcome = ret == 0 ? "success" : "not_found",
                      .status = ret == 0 ? 200 : 404};
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  if (ret < 0) {
    hk_reply_error(r, 404, "not_found",
                   found ? "no thumbnail for this document" : "no such document");
    goto out;
  }
  hk_reply_bytes(r, 200, "image/jpeg", body);
out:
  if (body)
    evbuffer_free(body);
  g_free(c.patient_id);
  g_free(c.content_type);
}

/* The census too is written from the rows, inside the transaction. */
void
hk_route_census(HkRequest *r)
{
  GArray *in = g_array_new(FALSE, FALSE, sizeof(HkPatientRow));
  GPtrArray *keep = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
  const char *ward = hk_query(r, "ward");
  GString *g = NULL;
  hk_txn *t = NULL;
  char detail[32];
  int ret;

  if (ward && (!*ward || strlen(ward) > 64 || !g_utf8_validate(ward, -1, NULL))) {
    hk_reply_error(r, 400, "bad_request", "ward: 1-64 bytes of UTF-8");
    goto out;
  }
  if (hk_begin(r, &t) < 0)
    goto out;
  ret = hk_store_census_rows(t, ward, in, keep);
  if (ret == 0) {
    g = g_string_sized_new(256 + 256 * in->len);
    hk_jw_begin(g, NULL, '{');
    hk_jw_begin(g, "inpatients", '[');
    for (guint i = 0; i < in->len; i++) {
      const HkPatientRow *p = &g_array_index(in, HkPatientRow, i);
      hk_jw_begin(g, NULL, '{');
      hk_jw_row(g, "patient_id", &p->id);
      hk_jw_row(g, "name", &p->name);
      hk_jw_row(g, "kana", &p->kana);
      hk_jw_row(g, "ward", &p->ward);
      hk_jw_row(g, "room", &p->room);
      hk_jw_row(g, "bed", &p->bed);
      hk_jw_row(g, "admitted_at", &p->admitted_at);
      hk_jw_str(g, "admission_status", hk_patient_row_admission_status(p));
      hk_jw_end(g, '}');
    }
    hk_jw_end(g, ']');
    hk_jw_end(g, '}');
  }
  hk_txn_abort(t);
  if (ret < 0) {
    hk_store_error(r, ret);
    goto out;
  }
  g_snprintf(detail, sizeof detail, "%u inpatients", in->len);
  {
    HkAuditEvent e = {.action = "census.read", .status = 200, .query = ward, .detail = detail};
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  hk_reply_jw(r, 200, g);
  g = NULL;
out:
  if (g)
    g_string_free(g, TRUE);
  g_array_unref(in);
  g_ptr_array_unref(keep);
}

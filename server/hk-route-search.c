/* Full-text search (docs/api.md, "Search"; issue 14 item 3): the
 * timeline's q= and GET /api/v1/search across patients.
 *
 * The index (hk-fts.h) is derived data and may lag the store or hold
 * entries of versions since replaced, so it only proposes: every hit is
 * checked against the store's row of its document, in one read
 * transaction, and kept only if the version that matched is the
 * document's current one and the document is still filed under the
 * patient the index says. Every answer says how many texts the index has
 * not taken yet ("unsearched"), so that a partial search is never taken
 * for a complete one. Every search is audited with its text; one across
 * patients gets one record per patient in its result (IHE BALP), all in
 * one write. */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-fts.h"
#include "hk-log.h"
#include "hk-sha256.h"

#include <string.h>

/* The documents of one patient the index is asked for, before the
 * timeline's own filters and paging apply. The index gives them in
 * document ID order, not by date: a patient with more matching documents
 * than this (10,000 documents of one patient holding every term) would
 * miss some, which is logged. */
#define HK_SEARCH_PATIENT_DOCS 10000u
/* Marks kept per snippet: a snippet of ~120 characters of a one-character
 * term could hold a mark per character. */
#define HK_SEARCH_MARKS_MAX 64u

typedef struct {
  unsigned start, len; /* in code points of the snippet */
} HkSearchMark;

typedef struct {
  unsigned page;
  char *snippet;
  GArray *marks; /* HkSearchMark */
} HkSearchPage;

struct hk_search_doc {
  char doc_id[HK_DOC_ID_LEN + 1];
  unsigned version;
  char *patient;
  GPtrArray *pages; /* HkSearchPage*, ascending */
  /* Filled when the hit is checked against the store. */
  int64_t created_usec;
  GString *json; /* the <document> object, with its matches */
};

/* What the index gave, by document. */
typedef struct {
  GHashTable *docs; /* doc_id -> HkSearchDoc* */
  GPtrArray *order; /* HkSearchDoc*, as the index gave them (owns them) */
  /* Across patients: the index is stopped once `want` documents that are
   * current in t were given, so that snippets are made only for those. */
  hk_txn *t;
  unsigned want, current;
} HkSearchHits;

static bool hk_search_row_current(const HkRow *row, const HkSearchDoc *d, const char *patient);

static void
hk_search_page_free(gpointer p)
{
  HkSearchPage *pg = p;

  g_free(pg->snippet);
  g_array_unref(pg->marks);
  g_free(pg);
}

static void
hk_search_doc_free(gpointer p)
{
  HkSearchDoc *d = p;

  g_free(d->patient);
  g_ptr_array_unref(d->pages);
  if (d->json)
    g_string_free(d->json, TRUE);
  g_free(d);
}

static void
hk_search_hits_init(HkSearchHits *h)
{
  memset(h, 0, sizeof *h);
  h->docs = g_hash_table_new(g_str_hash, g_str_equal);
  h->order = g_ptr_array_new_with_free_func(hk_search_doc_free);
}

static void
hk_search_hits_clear(HkSearchHits *h)
{
  g_clear_pointer(&h->docs, g_hash_table_unref);
  g_clear_pointer(&h->order, g_ptr_array_unref);
}

/* Each page the index gives, grouped by document. A document that comes
 * with two versions (the index still holds the older one) keeps the
 * newer: only the current version can pass the check, and versions only
 * grow. */
static int
hk_search_collect(const HkFtsHit *hit, void *data)
{
  HkSearchHits *h = data;
  HkSearchDoc *d;
  HkSearchPage *pg;
  long nchars;
  int stop = 0;

  if (!hk_doc_id_valid(hit->doc_id) || !hit->patient || !hk_patient_id_valid(hit->patient)) {
    hk_warn("search index: a hit with a malformed document or patient ID, skipped");
    goto out;
  }
  d = g_hash_table_lookup(h->docs, hit->doc_id);
  if (d && hit->version < d->version)
    goto out;
  if (d && hit->version > d->version) {
    g_ptr_array_set_size(d->pages, 0);
    g_free(d->patient);
    d->patient = NULL;
  }
  if (!d && h->t && h->current >= h->want) {
    stop = 1;
    goto out;
  }
  if (!d) {
    HkRow row;
    d = g_new0(HkSearchDoc, 1);
    g_strlcpy(d->doc_id, hit->doc_id, sizeof d->doc_id);
    d->pages = g_ptr_array_new_with_free_func(hk_search_page_free);
    g_ptr_array_add(h->order, d);
    g_hash_table_insert(h->docs, d->doc_id, d);
    d->version = hit->version;
    d->patient = g_strdup(hit->patient);
    /* Checked again with the rest of the answer: this only counts. */
    if (h->t && hk_store_get_row(h->t, d->doc_id, &row) == 0 &&
        hk_search_row_current(&row, d, NULL))
      h->current++;
  }
  d->version = hit->version;
  if (!d->patient)
    d->patient = g_strdup(hit->patient);
  if (d->pages->len >= HK_FTS_PAGES_PER_DOC)
    goto out;
  pg = g_new0(HkSearchPage, 1);
  pg->page = hit->page;
  /* The index's text comes from documents: keep the answer valid UTF-8
   * whatever it holds. */
  pg->snippet = hit->snippet ? g_utf8_make_valid(hit->snippet, -1) : g_strdup("");
  pg->marks = g_array_new(FALSE, FALSE, sizeof(HkSearchMark));
  nchars = g_utf8_strlen(pg->snippet, -1);
  for (unsigned i = 0; i < hit->nmarks && pg->marks->len < HK_SEARCH_MARKS_MAX; i++) {
    HkSearchMark m = {hit->marks[i][0], hit->marks[i][1]};
    /* A mark outside its snippet would make a client cut a string at a
     * wrong place: dropped. */
    if (m.len == 0 || m.start > (unsigned long)nchars || m.len > (unsigned long)nchars - m.start)
      continue;
    g_array_append_val(pg->marks, m);
  }
  g_ptr_array_add(d->pages, pg);
out:
  return stop;
}

void
hk_search_matches_json(GString *g, const HkSearchDoc *hit)
{
  hk_jw_begin(g, "matches", '[');
  for (guint i = 0; i < hit->pages->len; i++) {
    const HkSearchPage *pg = hit->pages->pdata[i];
    hk_jw_begin(g, NULL, '{');
    hk_jw_int(g, "page", pg->page);
    hk_jw_str(g, "snippet", pg->snippet);
    hk_jw_begin(g, "marks", '[');
    for (guint j = 0; j < pg->marks->len; j++) {
      const HkSearchMark *m = &g_array_index(pg->marks, HkSearchMark, j);
      hk_jw_begin(g, NULL, '[');
      hk_jw_int(g, NULL, m->start);
      hk_jw_int(g, NULL, m->len);
      hk_jw_end(g, ']');
    }
    hk_jw_end(g, ']');
    hk_jw_end(g, '}');
  }
  hk_jw_end(g, ']');
}

/* Whether row shows the version that hit, filed under the patient the
 * index named (and, when patient is given, that one). */
static bool
hk_search_row_current(const HkRow *row, const HkSearchDoc *d, const char *patient)
{
  size_t n = strlen(d->patient);

  return row->version == d->version && row->patient_id.len == n &&
         memcmp(row->patient_id.p, d->patient, n) == 0 &&
         (!patient || strcmp(patient, d->patient) == 0);
}

/* Whether the q parameter of the raw (still percent-encoded) query holds
 * an encoded NUL. */
static bool
hk_search_raw_q_has_nul(const char *raw)
{
  char **params = raw ? g_strsplit(raw, "&", -1) : NULL;
  bool nul = false;

  for (char **p = params; p && *p && !nul; p++)
    if (g_str_has_prefix(*p, "q="))
      nul = strstr(*p, "%00") != NULL;
  g_strfreev(params);
  return nul;
}

/* q of a search, parsed for the index, or a 400 naming the problem. A NUL
 * (%00) would end the decoded text early and search for less than was
 * asked, so the raw query is checked for it.
 * \return 0, or -HK_EINVAL after answering. */
static int
hk_search_parse(HkRequest *r, const char *q, HkFtsQuery **out)
{
  const char *raw = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
  char *message = NULL;
  int ret = 0;

  if (hk_search_raw_q_has_nul(raw)) {
    hk_reply_error(r, 400, "bad_request", "q: control characters are not allowed (a NUL)");
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_fts_query_parse(q, out, &message);
  if (ret < 0) {
    char *m = g_strdup_printf("q: %s", message ? message : "not a valid search text");
    hk_reply_error(r, 400, "bad_request", m);
    g_free(m);
    ret = -HK_EINVAL;
  }
out:
  g_free(message);
  return ret;
}

/* Ask the worker's index. \return 0 (hits filled, *through set); <0 after
 * answering 503 search_unavailable, audited with the text (a search was
 * asked for, even if none could run). */
static int
hk_search_run(HkRequest *r, const char *patient, const char *q, const HkFtsQuery *fq,
              unsigned max_docs, HkSearchHits *hits, uint64_t *through)
{
  hk_fts *f = NULL;
  const char *why = NULL;
  char buf[512];
  int ret = hk_worker_fts(r->req, &f, &why);

  if (ret == 0)
    ret = hk_fts_through(f, through);
  if (ret == 0)
    ret = hk_fts_search(f, patient, fq, max_docs, hk_search_collect, hits);
  if (ret < 0 && f) {
    /* Opened, then failed to read: perhaps removed or damaged since. The
     * reason is the index's own (it holds no document text). */
    const char *reason = hk_fts_reason(f);
    g_snprintf(buf, sizeof buf,
               "the search index could not be read%s%s (hikae-admin reindex "
               "rebuilds it)",
               *reason ? ": " : "", reason);
    why = buf;
    hk_worker_fts_failed(r->req, ret);
  }
  if (ret < 0) {
    HkAuditEvent e = {.action = "document.search",
                      .patient = patient,
                      .outcome = "failure",
                      .status = 503,
                      .query = q,
                      .detail = why};
    if (hk_request_audit(r, &e) == 0)
      hk_reply_error(r, 503, "search_unavailable", why);
  }
  return ret;
}

/* Texts the index does not answer for yet: waiting for extraction, plus
 * stored but not indexed. */
static int
hk_search_unsearched(hk_txn *t, uint64_t through, uint64_t *out)
{
  uint64_t seq = 0, queued = 0;
  int ret = hk_store_text_seq(t, &seq);

  if (ret == -HK_ENOTFOUND) {
    seq = 0;
    ret = 0;
  }
  if (ret == 0)
    ret = hk_store_textq_count(t, &queued);
  if (ret == 0)
    *out = queued + (seq > through ? seq - through : 0);
  return ret;
}

/* ---- the timeline with q ---- */

typedef struct {
  GString *g;
  const char *pid;
  HkSearchHits *hits;
  unsigned limit;   /* documents to answer at most */
  unsigned kept;    /* answered so far */
  unsigned targets; /* hits of this patient the walk may meet */
  unsigned seen;    /* of which met */
  unsigned pos;     /* entries walked in this chunk */
  unsigned stop_at; /* the entry of the chunk that filled the page */
} HkSearchWalk;

enum { HK_WALK_FULL = 1, HK_WALK_ALL_SEEN = 2 };

static int
hk_search_walk_entry(const HkRow *row, void *data)
{
  HkSearchWalk *w = data;
  char id[HK_DOC_ID_LEN + 1];
  HkSearchDoc *d;
  int ret = 0;

  w->pos++;
  hk_version_doc_id_hex(row->doc_id, id);
  d = g_hash_table_lookup(w->hits->docs, id);
  if (!d || !hk_search_row_current(row, d, w->pid))
    goto out;
  hk_row_json(w->g, row, w->pid, d);
  w->kept++;
  w->seen++;
  if (w->seen == w->targets) {
    ret = HK_WALK_ALL_SEEN; /* nothing further down can hit */
  } else if (w->kept == w->limit) {
    w->stop_at = w->pos;
    ret = HK_WALK_FULL;
  }
out:
  return ret;
}

static int
hk_search_walk_none(const HkRow *row, void *data)
{
  (void)row;
  (void)data;
  return 0;
}

/* Walk the timeline as tq asks, 1,000 entries at a time, writing the rows
 * that hit, until tq->limit of them or the end. The cursor of a full page
 * is the store's own, taken by walking that chunk again up to the entry
 * that filled it: the same format and order as a plain timeline's. */
static int
hk_search_walk(hk_txn *t, HkSearchWalk *w, const HkTimelineQuery *tq, char **next)
{
  HkTimelineQuery chunk = *tq;
  char *cursor = tq->cursor ? g_strdup(tq->cursor) : NULL;
  char *after = NULL;
  int ret = 0;

  *next = NULL;
  chunk.limit = 1000;
  while (w->targets > 0) {
    chunk.cursor = cursor;
    w->pos = 0;
    ret = hk_store_timeline_rows(t, w->pid, &chunk, hk_search_walk_entry, w, &after);
    if (ret == HK_WALK_ALL_SEEN) {
      ret = 0;
      break;
    }
    if (ret == HK_WALK_FULL) {
      HkTimelineQuery upto = chunk;
      upto.limit = w->stop_at;
      ret = hk_store_timeline_rows(t, w->pid, &upto, hk_search_walk_none, NULL, next);
      break;
    }
    if (ret < 0 || !after)
      break;
    g_free(cursor);
    cursor = after;
    after = NULL;
  }
  g_free(cursor);
  g_free(after);
  if (ret < 0)
    g_clear_pointer(next, g_free);
  return ret;
}

void
hk_search_timeline(HkRequest *r, const char *pid, const char *q, const HkTimelineQuery *tq)
{
  HkSearchHits hits;
  HkSearchWalk w = {.pid = pid, .limit = tq->limit};
  HkFtsQuery *fq = NULL;
  uint64_t through = 0, unsearched = 0;
  char *next = NULL;
  hk_txn *t = NULL;
  int ret;

  hk_search_hits_init(&hits);
  w.hits = &hits;
  if (hk_search_parse(r, q, &fq) < 0)
    goto out;
  if (hk_search_run(r, pid, q, fq, HK_SEARCH_PATIENT_DOCS, &hits, &through) < 0)
    goto out;
  if (hits.order->len >= HK_SEARCH_PATIENT_DOCS)
    hk_warn("search: patient %s has %u or more documents matching a search: some may be "
            "missing from the answer",
            pid, HK_SEARCH_PATIENT_DOCS);
  for (guint i = 0; i < hits.order->len; i++)
    if (strcmp(((HkSearchDoc *)hits.order->pdata[i])->patient, pid) == 0)
      w.targets++;
  ret = hk_txn_begin(r->srv->store, false, &t);
  if (ret < 0) {
    hk_error("store: cannot begin a read transaction: %s", hk_strerror(ret));
    hk_reply_error(r, 503, "store_unavailable", "the archive cannot be read right now");
    goto out;
  }
  w.g = g_string_sized_new(16384);
  hk_jw_begin(w.g, NULL, '{');
  hk_jw_begin(w.g, "documents", '[');
  ret = hk_store_has_patient(t, pid);
  if (ret == 0)
    ret = hk_search_walk(t, &w, tq, &next);
  if (ret == 0)
    ret = hk_search_unsearched(t, through, &unsearched);
  hk_txn_abort(t);
  if (ret == -HK_EINVAL) {
    hk_reply_error(r, 400, "bad_request", "malformed cursor");
    goto out;
  }
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_error("search: store read failed: %s", hk_strerror(ret));
    hk_reply_error(r, 500, "internal", "the archive could not be read");
    goto out;
  }
  {
    const char *raw = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
    char *detail = g_strdup_printf("%u documents; %s", w.kept, raw ? raw : "");
    HkAuditEvent e = {.action = "document.search",
                      .patient = pid,
                      .outcome = ret == 0 ? "success" : "not_found",
                      .status = ret == 0 ? 200 : 404,
                      .query = q,
                      .detail = detail};
    int aret = hk_request_audit(r, &e);
    g_free(detail);
    if (aret < 0)
      goto out;
  }
  if (ret < 0) {
    hk_reply_error(r, 404, "not_found", "no such patient");
    goto out;
  }
  hk_jw_end(w.g, ']');
  hk_jw_str(w.g, "next_cursor", next);
  hk_jw_int(w.g, "unsearched", (int64_t)unsearched);
  hk_jw_end(w.g, '}');
  hk_reply_jw(r, 200, w.g);
  w.g = NULL;
out:
  if (w.g)
    g_string_free(w.g, TRUE);
  g_free(next);
  hk_fts_query_free(fq);
  hk_search_hits_clear(&hits);
}

/* ---- across patients ---- */

/* One patient of a cross-patient answer. */
typedef struct {
  char *id;
  GString *json;   /* the "patient" object */
  GPtrArray *docs; /* HkSearchDoc* (borrowed), newest first */
} HkSearchPatient;

static void
hk_search_patient_free(gpointer p)
{
  HkSearchPatient *sp = p;

  g_free(sp->id);
  if (sp->json)
    g_string_free(sp->json, TRUE);
  g_ptr_array_unref(sp->docs);
  g_free(sp);
}

static gint
hk_search_doc_newest_first(gconstpointer a, gconstpointer b)
{
  const HkSearchDoc *x = *(HkSearchDoc *const *)a, *y = *(HkSearchDoc *const *)b;

  if (x->created_usec != y->created_usec)
    return x->created_usec > y->created_usec ? -1 : 1;
  return strcmp(x->doc_id, y->doc_id);
}

static void
hk_jw_prow(GString *g, const char *name, const HkRowStr *v)
{
  hk_jw_strn(g, name, v->p, v->len);
}

/* Check every hit against the store and write what passes (its row, and
 * its patient's identity) while the transaction is open: rows point into
 * the map. Fills valid (HkSearchDoc*, borrowed) and patients (by ID). */
static int
hk_search_check_all(hk_txn *t, HkSearchHits *hits, GPtrArray *valid, GHashTable *patients)
{
  GPtrArray *keep = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
  int ret = 0;

  for (guint i = 0; ret == 0 && i < hits->order->len; i++) {
    HkSearchDoc *d = hits->order->pdata[i];
    HkSearchPatient *sp;
    HkRow row;
    ret = hk_store_get_row(t, d->doc_id, &row);
    if (ret == -HK_ENOTFOUND || ret == -HK_ECORRUPT) {
      /* Not in this store (the index is another's, or ahead of this
       * snapshot), or a damaged row that verify names: not shown. */
      ret = 0;
      continue;
    }
    if (ret < 0 || !hk_search_row_current(&row, d, NULL))
      continue;
    sp = g_hash_table_lookup(patients, d->patient);
    if (!sp) {
      HkPatientRow pr;
      int pret = hk_store_get_patient_row(t, d->patient, &pr, keep);
      if (pret == -HK_ENOTFOUND)
        continue;
      if (pret < 0) {
        ret = pret;
        continue;
      }
      sp = g_new0(HkSearchPatient, 1);
      sp->id = g_strdup(d->patient);
      sp->docs = g_ptr_array_new();
      sp->json = g_string_sized_new(256);
      hk_jw_begin(sp->json, "patient", '{');
      hk_jw_prow(sp->json, "id", &pr.id);
      hk_jw_prow(sp->json, "name", &pr.name);
      hk_jw_prow(sp->json, "kana", &pr.kana);
      hk_jw_prow(sp->json, "birth_date", &pr.birth_date);
      hk_jw_prow(sp->json, "sex", &pr.sex);
      hk_jw_end(sp->json, '}');
      g_hash_table_insert(patients, sp->id, sp);
    }
    d->created_usec = row.created_usec;
    d->json = g_string_sized_new(2048);
    hk_row_json(d->json, &row, d->patient, d);
    g_ptr_array_add(valid, d);
  }
  g_ptr_array_unref(keep);
  return ret;
}

void
hk_route_search(HkRequest *r)
{
  const char *q = hk_query(r, "q");
  HkSearchHits hits;
  HkFtsQuery *fq = NULL;
  GPtrArray *valid = g_ptr_array_new();
  GPtrArray *order = g_ptr_array_new(); /* HkSearchPatient*, borrowed */
  GHashTable *patients =
      g_hash_table_new_full(g_str_hash, g_str_equal, NULL, hk_search_patient_free);
  HkAuditEvent *ev = NULL;
  GPtrArray *details = g_ptr_array_new_with_free_func(g_free);
  uint64_t through = 0, unsearched = 0;
  unsigned limit = 0, shown = 0;
  bool more = false;
  GString *g = NULL;
  hk_txn *t = NULL;
  int ret;

  hk_search_hits_init(&hits);
  if (!q) {
    hk_reply_error(r, 400, "bad_request", "q: the text to search for is required");
    goto out;
  }
  if (hk_query_uint(r, "limit", 1, 100, 20, &limit) < 0) {
    hk_reply_error(r, 400, "bad_request", "limit: 1-100");
    goto out;
  }
  if (hk_search_parse(r, q, &fq) < 0)
    goto out;
  ret = hk_txn_begin(r->srv->store, false, &t);
  if (ret < 0) {
    hk_error("store: cannot begin a read transaction: %s", hk_strerror(ret));
    hk_reply_error(r, 503, "store_unavailable", "the archive cannot be read right now");
    goto out;
  }
  /* The index stops after limit + 1 current documents (one more than
   * shown says whether there is more), and is asked for at most twice the
   * limit: hits of replaced versions, dropped below, must not leave the
   * answer short when more current ones exist. */
  hits.t = t;
  hits.want = limit + 1;
  if (hk_search_run(r, NULL, q, fq, MAX(limit * 2, limit + 1), &hits, &through) < 0)
    goto out;
  ret = hk_search_check_all(t, &hits, valid, patients);
  if (ret == 0)
    ret = hk_search_unsearched(t, through, &unsearched);
  hk_txn_abort(t);
  t = NULL;
  if (ret < 0) {
    hk_error("search: store read failed: %s", hk_strerror(ret));
    hk_reply_error(r, 500, "internal", "the archive could not be read");
    goto out;
  }
  /* The newest documents first, grouped by patient in the order of each
   * one's newest document. */
  g_ptr_array_sort(valid, hk_search_doc_newest_first);
  more = valid->len > limit || hits.order->len >= limit * 2;
  for (guint i = 0; i < valid->len && shown < limit; i++, shown++) {
    HkSearchDoc *d = valid->pdata[i];
    HkSearchPatient *sp = g_hash_table_lookup(patients, d->patient);
    if (sp->docs->len == 0)
      g_ptr_array_add(order, sp);
    g_ptr_array_add(sp->docs, d);
  }
  /* One record per patient shown (IHE BALP: each patient whose data was
   * disclosed), or one for the search itself when nothing was. */
  ev = g_new0(HkAuditEvent, MAX(1, order->len));
  for (guint i = 0; i < MAX(1, order->len); i++) {
    HkSearchPatient *sp = order->len ? order->pdata[i] : NULL;
    char *detail = sp ? g_strdup_printf("across patients: %u documents (patient %u of %u)",
                                        sp->docs->len, i + 1, order->len)
                      : g_strdup("across patients: no result");
    g_ptr_array_add(details, detail);
    ev[i] = (HkAuditEvent){.action = "document.search",
                           .user = r->session.user,
                           .client = r->client,
                           .patient = sp ? sp->id : NULL,
                           .outcome = "success",
                           .status = 200,
                           .query = q,
                           .detail = detail};
  }
  /* All in one write: the log never holds part of a search. */
  if (hk_audit_append_many_nowait(r->srv->audit, ev, MAX(1, order->len), NULL, &r->audit_end) < 0) {
    hk_error("audit log write failed: refusing to answer a search");
    hk_reply_error(r, 503, "audit_unavailable",
                   "the audit log cannot be written; nothing is served unaudited");
    goto out;
  }
  g = g_string_sized_new(1024 + 2048 * shown);
  hk_jw_begin(g, NULL, '{');
  hk_jw_begin(g, "results", '[');
  for (guint i = 0; i < order->len; i++) {
    HkSearchPatient *sp = order->pdata[i];
    hk_jw_begin(g, NULL, '{');
    g_string_append_len(g, sp->json->str, (gssize)sp->json->len);
    hk_jw_begin(g, "documents", '[');
    for (guint j = 0; j < sp->docs->len; j++) {
      const HkSearchDoc *d = sp->docs->pdata[j];
      g_string_append_len(g, d->json->str, (gssize)d->json->len);
    }
    hk_jw_end(g, ']');
    hk_jw_end(g, '}');
  }
  hk_jw_end(g, ']');
  hk_jw_bool(g, "more", more);
  hk_jw_int(g, "unsearched", (int64_t)unsearched);
  hk_jw_end(g, '}');
  hk_reply_jw(r, 200, g);
  g = NULL;
out:
  if (t)
    hk_txn_abort(t);
  if (g)
    g_string_free(g, TRUE);
  g_free(ev);
  g_ptr_array_unref(details);
  g_ptr_array_unref(order);
  g_ptr_array_unref(valid);
  g_hash_table_unref(patients);
  hk_fts_query_free(fq);
  hk_search_hits_clear(&hits);
}

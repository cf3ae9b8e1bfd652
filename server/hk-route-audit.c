/* POST /api/v1/print-events and GET /api/v1/audit. */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-time.h"

#include <event2/buffer.h>
#include <string.h>

/* A transfer pack is tens of documents; 1,000 bounds the body (about 20 KB,
 * under HK_BODY_MAX) and the records one print writes (20). */
#define HK_PRINT_DOCS_MAX 1000
/* Document IDs per print record: 50 x 17 bytes stays under the audit's
 * field limit (1,024 bytes), so no ID is ever cut off. */
#define HK_PRINT_DOCS_PER_RECORD 50
/* A ward list prints a line (ID, name, bed) for each inpatient and no
 * document: the viewer records it as one event per listed patient with no
 * documents. Only this purpose may name none, so that an empty list never
 * passes for a document print. */
#define HK_PRINT_PURPOSE_WARD_LIST "ward_list"

void
hk_route_print_event(HkRequest *r)
{
  JsonParser *p = NULL;
  JsonObject *o = NULL;
  JsonArray *ids = NULL;
  JsonNode *n;
  GPtrArray *docs = g_ptr_array_new_with_free_func(g_free);
  HkAuditEvent *ev = NULL;
  char *print_id = NULL;
  const char *pid = NULL, *purpose = NULL;
  hk_txn *t = NULL;
  bool bad = false, ward_list = false;
  int ret = 0;

  if (hk_request_json(r, &p, &o) < 0)
    bad = true;
  if (!bad) {
    n = json_object_get_member(o, "patient_id");
    pid = n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
              ? json_node_get_string(n)
              : NULL;
    n = json_object_get_member(o, "purpose");
    purpose = n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
                  ? json_node_get_string(n)
                  : NULL;
    n = json_object_get_member(o, "doc_ids");
    ids = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
    ward_list = g_strcmp0(purpose, HK_PRINT_PURPOSE_WARD_LIST) == 0;
    bad = !pid || !hk_patient_id_valid(pid) || !ids ||
          (json_array_get_length(ids) == 0 && !ward_list) ||
          json_array_get_length(ids) > HK_PRINT_DOCS_MAX || (purpose && strlen(purpose) > 256);
  }
  for (guint i = 0; !bad && i < json_array_get_length(ids); i++) {
    JsonNode *e = json_array_get_element(ids, i);
    const char *id = JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING
                         ? json_node_get_string(e)
                         : NULL;
    if (!id || strlen(id) != HK_DOC_ID_LEN || strspn(id, "0123456789abcdef") != HK_DOC_ID_LEN)
      bad = true;
  }
  if (bad) {
    hk_reply_error(r, 400, "bad_request",
                   "expected {\"patient_id\", \"doc_ids\": [1-1000 IDs], \"purpose\"} "
                   "(doc_ids may be empty only for purpose \"ward_list\")");
    goto out;
  }
  /* Every ID is recorded: a long list is split over several records, each
   * with the same print_id and its part k of n. */
  for (guint i = 0; i < json_array_get_length(ids); i += HK_PRINT_DOCS_PER_RECORD) {
    GString *chunk = g_string_new(NULL);
    for (guint j = i; j < MIN(i + HK_PRINT_DOCS_PER_RECORD, json_array_get_length(ids)); j++)
      g_string_append_printf(chunk, "%s%s", j > i ? "," : "",
                             json_array_get_string_element(ids, j));
    g_ptr_array_add(docs, g_string_free(chunk, FALSE));
  }
  /* Every printed document must be this patient's: the record then tells
   * exactly whose pages left the building. A list without documents must at
   * least name a patient the archive knows. */
  ret = hk_txn_begin(r->srv->store, false, &t);
  if (ret == 0 && json_array_get_length(ids) == 0) {
    HkPatient *pt = NULL;
    ret = hk_store_get_patient(t, pid, &pt);
    hk_patient_free(pt);
  }
  for (guint i = 0; ret == 0 && i < json_array_get_length(ids); i++) {
    HkVersion *v = NULL;
    ret = hk_store_get_version(t, json_array_get_string_element(ids, i), 0, &v);
    if (ret == 0 && strcmp(v->patient_id, pid) != 0)
      ret = -HK_ENOTFOUND;
    hk_version_free(v);
  }
  hk_txn_abort(t);
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_reply_error(r, 503, "store_unavailable", "the archive cannot be read right now");
    goto out;
  }
  {
    guint nrec = MAX(1, docs->len);
    ev = g_new0(HkAuditEvent, nrec);
    if (docs->len > 1)
      print_id = g_uuid_string_random();
    for (guint i = 0; i < nrec; i++) {
      ev[i] = (HkAuditEvent){.action = "print",
                             .user = r->session.user,
                             .client = r->client,
                             .patient = pid,
                             .document = docs->len ? docs->pdata[i] : NULL,
                             .outcome = ret == 0 ? "success" : "failure",
                             .status = ret == 0 ? 204 : 404,
                             .detail = purpose,
                             .print_id = print_id,
                             .part = print_id ? i + 1 : 0,
                             .parts = print_id ? nrec : 0};
    }
    /* All parts in one write: the log never holds half a print. */
    if (hk_audit_append_many_nowait(r->srv->audit, ev, nrec, NULL, &r->audit_end) < 0) {
      hk_error("audit log write failed: refusing to answer print");
      hk_reply_error(r, 503, "audit_unavailable",
                     "the audit log cannot be written; nothing is served unaudited");
      goto out;
    }
  }
  if (ret < 0)
    hk_reply_error(r, 404, "not_found",
                   "the patient or a document does not exist, or a document is not this "
                   "patient's");
  else
    hk_reply_empty(r, 204);
out:
  g_free(ev);
  g_free(print_id);
  g_ptr_array_unref(docs);
  if (p)
    g_object_unref(p);
}

/* Bounds of one GET /api/v1/audit (docs/api.md): at most HK_AUDIT_PAGE_MAX
 * records returned and HK_AUDIT_SCAN_MAX read per request, so one request
 * costs the event loop a few milliseconds whatever the log's size; the
 * client follows next_cursor for the rest. */
#define HK_AUDIT_PAGE_DEFAULT 1000
#define HK_AUDIT_PAGE_MAX 1000
#define HK_AUDIT_SCAN_MAX 5000

static int
hk_audit_emit(JsonObject *o, const char *line, void *data)
{
  struct evbuffer *body = data;

  /* The records are already JSON objects: pass them through verbatim (with
   * their hashes, so an auditor can check them). */
  evbuffer_add_printf(body, "%s%s",
                      evbuffer_get_length(body) > strlen("{\"records\":[") ? ",\n" : "\n", line);
  return 0;
}

void
hk_route_audit(HkRequest *r)
{
  HkAuditPage q = {.from = INT64_MIN,
                   .to = INT64_MAX,
                   .user = hk_query(r, "user"),
                   .patient = hk_query(r, "patient"),
                   .scan_max = HK_AUDIT_SCAN_MAX};
  const char *from = hk_query(r, "from"), *to = hk_query(r, "to"), *cur = hk_query(r, "cursor");
  struct evbuffer *body = evbuffer_new();
  gint64 cursor = -1, next = -1;
  int ret;

  if (hk_parse_bound(from, false, &q.from) < 0 || hk_parse_bound(to, true, &q.to) < 0 ||
      hk_query_uint(r, "limit", 1, HK_AUDIT_PAGE_MAX, HK_AUDIT_PAGE_DEFAULT, &q.limit) < 0 ||
      (cur && !g_ascii_string_to_signed(cur, 10, 0, G_MAXINT64, &cursor, NULL))) {
    hk_reply_error(r, 400, "bad_request",
                   "from, to: RFC 3339 or YYYY-MM-DD (a Japan day); limit: 1-1000; cursor: a next_cursor from before");
    goto out;
  }
  {
    HkAuditEvent e = {.action = "audit.read",
                      .status = 200,
                      .patient = q.patient,
                      .query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req))};
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  evbuffer_add_printf(body, "{\"records\":[");
  ret = hk_audit_page(r->srv->opt.state_dir, &q, cursor, hk_audit_emit, body, &next);
  if (ret == -HK_EINVAL) {
    hk_reply_error(r, 400, "bad_cursor", "cursor is not the start of a record of this log");
    goto out;
  }
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_reply_error(r, 500, "audit_unreadable", "the audit log cannot be read; run audit verify");
    goto out;
  }
  if (next >= 0)
    evbuffer_add_printf(body, "\n],\"next_cursor\":\"%" G_GINT64_FORMAT "\"}\n", next);
  else
    evbuffer_add_printf(body, "\n],\"next_cursor\":null}\n");
  hk_reply_bytes(r, 200, "application/json; charset=utf-8", body);
out:
  evbuffer_free(body);
}

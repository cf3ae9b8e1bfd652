/* POST /api/v1/print-events and GET /api/v1/audit. */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-time.h"

#include <event2/buffer.h>
#include <string.h>

#define HK_PRINT_DOCS_MAX 200
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
  GString *docs = g_string_new(NULL);
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
    else
      g_string_append_printf(docs, "%s%s", i ? "," : "", id);
  }
  if (bad) {
    hk_reply_error(r, 400, "bad_request",
                   "expected {\"patient_id\", \"doc_ids\": [1-200 IDs], \"purpose\"} "
                   "(doc_ids may be empty only for purpose \"ward_list\")");
    goto out;
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
    HkAuditEvent e = {.action = "print",
                      .patient = pid,
                      .document = docs->len ? docs->str : NULL,
                      .outcome = ret == 0 ? "success" : "failure",
                      .status = ret == 0 ? 204 : 404,
                      .detail = purpose};
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  if (ret < 0)
    hk_reply_error(r, 404, "not_found",
                   "the patient or a document does not exist, or a document is not this "
                   "patient's");
  else
    hk_reply_empty(r, 204);
out:
  g_string_free(docs, TRUE);
  if (p)
    g_object_unref(p);
}

typedef struct {
  int64_t from, to;
  const char *user, *patient;
  unsigned limit;
  GQueue lines; /* the newest `limit` matching lines (char*) */
} HkAuditQuery;

static int
hk_audit_collect(JsonObject *o, const char *line, void *data)
{
  HkAuditQuery *q = data;
  int64_t when = 0;

  if (q->user && g_strcmp0(json_object_get_string_member_with_default(o, "user", NULL), q->user))
    return 0;
  if (q->patient &&
      g_strcmp0(json_object_get_string_member_with_default(o, "patient", NULL), q->patient))
    return 0;
  if (q->from != INT64_MIN || q->to != INT64_MAX) {
    if (hk_time_parse(json_object_get_string_member_with_default(o, "time", ""), &when) < 0)
      return 0;
    if (when < q->from || when > q->to)
      return 0;
  }
  g_queue_push_tail(&q->lines, g_strdup(line));
  if (q->lines.length > q->limit)
    g_free(g_queue_pop_head(&q->lines));
  return 0;
}

void
hk_route_audit(HkRequest *r)
{
  HkAuditQuery q = {.from = INT64_MIN,
                    .to = INT64_MAX,
                    .user = hk_query(r, "user"),
                    .patient = hk_query(r, "patient")};
  const char *from = hk_query(r, "from"), *to = hk_query(r, "to");
  struct evbuffer *body = evbuffer_new();
  char *line;
  bool first = true;
  int ret;

  g_queue_init(&q.lines);
  if ((from && hk_time_parse(from, &q.from) < 0) || (to && hk_time_parse(to, &q.to) < 0) ||
      hk_query_uint(r, "limit", 1, 10000, 1000, &q.limit) < 0) {
    hk_reply_error(r, 400, "bad_request", "from, to: RFC 3339; limit: 1-10000");
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
  ret = hk_audit_foreach(r->srv->opt.state_dir, hk_audit_collect, &q);
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_reply_error(r, 500, "audit_unreadable", "the audit log cannot be read; run audit verify");
    goto out;
  }
  /* The records are already JSON objects: pass them through verbatim (with
   * their hashes, so an auditor can check them). */
  evbuffer_add_printf(body, "{\"records\":[");
  while ((line = g_queue_pop_head(&q.lines))) {
    evbuffer_add_printf(body, "%s%s", first ? "\n" : ",\n", line);
    first = false;
    g_free(line);
  }
  evbuffer_add_printf(body, "\n]}\n");
  hk_reply_bytes(r, 200, "application/json; charset=utf-8", body);
out:
  g_queue_clear_full(&q.lines, g_free);
  evbuffer_free(body);
}

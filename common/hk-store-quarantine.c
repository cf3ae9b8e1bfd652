/* hk-store-quarantine.c: the quarantine and the refusals it records on documents.
 * See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-json.h"
#include "hk-time.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* ---- quarantine ---- */

void
hk_quarantine_free(HkQuarantine *q)
{
  if (!q)
    return;
  g_free(q->source);
  g_free(q->kind);
  g_free(q->reason);
  g_free(q->sha256);
  g_free(q->source_id);
  g_free(q->source_name);
  g_free(q->doc_id);
  g_free(q);
}

/* Record on the document that a newer version was refused as suspect. */
static int
hk_refusal_add(hk_txn *t, const char *doc_id, uint64_t seq, const HkQuarantine *q, int64_t at)
{
  JsonBuilder *b = json_builder_new();
  uint8_t key[16];
  char *json;
  int ret = hk_version_doc_id_bin(doc_id, key);

  hk_be64(key + 8, seq);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "at_usec");
  json_builder_add_int_value(b, at);
  json_builder_set_member_name(b, "reason");
  json_builder_add_string_value(b, q->reason ? q->reason : "");
  if (q->sha256) {
    json_builder_set_member_name(b, "sha256");
    json_builder_add_string_value(b, q->sha256);
  }
  json_builder_set_member_name(b, "quarantine_seq");
  json_builder_add_int_value(b, (int64_t)seq);
  json_builder_end_object(b);
  json = hk_json_to_text(b);
  if (ret == 0)
    ret = hk_put(t, DB_REFUSED, key, sizeof key, json, strlen(json), MDB_NOOVERWRITE);
  /* The document's row lists its refusals. */
  if (ret == 0)
    ret = hk_row_refresh(t, key);
  g_object_unref(b);
  g_free(json);
  return ret;
}

int
hk_store_quarantine_add(hk_txn *t, const HkQuarantine *q)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  uint8_t key[8];
  uint64_t seq = 1;
  JsonBuilder *b = json_builder_new();
  char *json = NULL, doc_id[HK_DOC_ID_LEN + 1] = "";
  const char *name = q->source_name ? q->source_name : hk_source_default_name(q->source_id);
  int64_t at = q->at ? q->at : hk_time_now();
  int rc, ret;

  ret = hk_cursor(t, DB_QUARANTINE, &c);
  if (ret)
    goto out;
  rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  if (rc == 0 && k.mv_size == 8)
    seq = hk_rd64(k.mv_data) + 1;
  hk_be64(key, seq);
  /* Suspect bytes of a document we hold: the document itself must say a
   * newer version was refused, whichever source path refused it. */
  if (q->kind && strcmp(q->kind, "suspect") == 0 && q->source_id &&
      hk_store_find_doc(t, name, q->source_id, doc_id) != 0)
    doc_id[0] = 0;
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "source");
  json_builder_add_string_value(b, q->source ? q->source : "");
  json_builder_set_member_name(b, "kind");
  json_builder_add_string_value(b, q->kind);
  json_builder_set_member_name(b, "reason");
  json_builder_add_string_value(b, q->reason);
  json_builder_set_member_name(b, "at_usec");
  json_builder_add_int_value(b, at);
  if (q->sha256) {
    json_builder_set_member_name(b, "sha256");
    json_builder_add_string_value(b, q->sha256);
  }
  if (q->source_id) {
    json_builder_set_member_name(b, "source_id");
    json_builder_add_string_value(b, q->source_id);
    json_builder_set_member_name(b, "source_name");
    json_builder_add_string_value(b, name);
  }
  if (doc_id[0]) {
    json_builder_set_member_name(b, "doc_id");
    json_builder_add_string_value(b, doc_id);
  }
  json_builder_end_object(b);
  json = hk_json_to_text(b);
  ret = hk_put(t, DB_QUARANTINE, key, sizeof key, json, strlen(json), MDB_NOOVERWRITE);
  if (ret == 0 && doc_id[0])
    ret = hk_refusal_add(t, doc_id, seq, q, at);
out:
  if (c)
    mdb_cursor_close(c);
  g_object_unref(b);
  g_free(json);
  return ret;
}

int
hk_store_get_refusals(hk_txn *t, const char *doc_id, GPtrArray *out)
{
  MDB_cursor *c = NULL;
  uint8_t key[16] = {0};
  MDB_val k = {sizeof key, key}, v;
  JsonParser *p = json_parser_new_immutable();
  int rc, ret = hk_version_doc_id_bin(doc_id, key);

  if (ret)
    goto out;
  ret = hk_cursor(t, DB_REFUSED, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkRefusal *r;
    JsonObject *o;
    if (k.mv_size != 16 || memcmp(k.mv_data, key, 8) != 0)
      break;
    if (!json_parser_load_from_data(p, v.mv_data, (gssize)v.mv_size, NULL) ||
        !json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
      ret = -HK_ECORRUPT;
      break;
    }
    o = json_node_get_object(json_parser_get_root(p));
    r = g_new0(HkRefusal, 1);
    r->at = json_object_get_int_member_with_default(o, "at_usec", 0);
    r->reason = g_strdup(json_object_get_string_member_with_default(o, "reason", ""));
    r->sha256 = g_strdup(json_object_get_string_member_with_default(o, "sha256", NULL));
    r->quarantine_seq = (uint64_t)json_object_get_int_member_with_default(o, "quarantine_seq", 0);
    g_ptr_array_add(out, r);
  }
  if (ret == 0 && rc && rc != MDB_NOTFOUND)
    ret = hk_mdb_err(rc);
out:
  if (c)
    mdb_cursor_close(c);
  g_object_unref(p);
  return ret;
}

int
hk_store_quarantine_foreach(hk_txn *t, HkQuarantineFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  JsonParser *p = json_parser_new_immutable();
  int rc, ret;

  ret = hk_cursor(t, DB_QUARANTINE, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkQuarantine q = {0};
    JsonObject *o;
    if (!json_parser_load_from_data(p, v.mv_data, (gssize)v.mv_size, NULL) ||
        !json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
      ret = -HK_ECORRUPT;
      break;
    }
    o = json_node_get_object(json_parser_get_root(p));
    q.source = (char *)json_object_get_string_member_with_default(o, "source", "");
    q.kind = (char *)json_object_get_string_member_with_default(o, "kind", "");
    q.reason = (char *)json_object_get_string_member_with_default(o, "reason", "");
    q.sha256 = (char *)json_object_get_string_member_with_default(o, "sha256", NULL);
    q.source_id = (char *)json_object_get_string_member_with_default(o, "source_id", NULL);
    q.source_name = (char *)json_object_get_string_member_with_default(o, "source_name", NULL);
    q.doc_id = (char *)json_object_get_string_member_with_default(o, "doc_id", NULL);
    q.at = json_object_get_int_member_with_default(o, "at_usec", 0);
    q.seq = k.mv_size == 8 ? hk_rd64(k.mv_data) : 0;
    ret = fn(&q, data);
  }
out:
  if (c)
    mdb_cursor_close(c);
  g_object_unref(p);
  return ret;
}

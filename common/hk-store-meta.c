/* hk-store-meta.c: meta: the indexer's state, archive freshness, and the store's statistics.
 * See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-json.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

/* ---- meta ---- */

void
hk_indexer_info_clear(HkIndexerInfo *i)
{
  g_clear_pointer(&i->reason, g_free);
}

HkIndexerState
hk_indexer_effective_state(const HkIndexerInfo *i, int64_t now, int stale_s)
{
  HkIndexerState s = i->state;

  if (s == HK_INDEXER_RUNNING && now - i->heartbeat_at > (int64_t)stale_s * G_USEC_PER_SEC)
    s = HK_INDEXER_STOPPED;
  return s;
}

const char *
hk_indexer_state_name(HkIndexerState s)
{
  return s == HK_INDEXER_RUNNING ? "running" : s == HK_INDEXER_SEALED ? "sealed" : "stopped";
}

int
hk_store_get_indexer(hk_txn *t, HkIndexerInfo *out)
{
  JsonParser *p = NULL;
  MDB_val v;
  int ret;

  memset(out, 0, sizeof *out);
  ret = hk_get(t, DB_META, "indexer", 7, &v);
  if (ret == -HK_ENOTFOUND) {
    ret = 0;
    goto out;
  }
  if (ret)
    goto out;
  p = json_parser_new_immutable();
  if (!json_parser_load_from_data(p, v.mv_data, (gssize)v.mv_size, NULL) ||
      !json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    ret = -HK_ECORRUPT;
    goto out;
  }
  JsonObject *o = json_node_get_object(json_parser_get_root(p));
  const char *st = json_object_get_string_member_with_default(o, "state", "stopped");
  out->state = strcmp(st, "running") == 0  ? HK_INDEXER_RUNNING
               : strcmp(st, "sealed") == 0 ? HK_INDEXER_SEALED
                                           : HK_INDEXER_STOPPED;
  out->reason = g_strdup(json_object_get_string_member_with_default(o, "reason", NULL));
  out->heartbeat_at = json_object_get_int_member_with_default(o, "heartbeat_usec", 0);
  out->sealed_at = json_object_get_int_member_with_default(o, "sealed_usec", 0);
  out->pid = (int)json_object_get_int_member_with_default(o, "pid", 0);
out:
  if (p)
    g_object_unref(p);
  return ret;
}

int
hk_store_set_indexer(hk_txn *t, const HkIndexerInfo *in)
{
  JsonBuilder *b = json_builder_new();
  char *json;
  int ret;

  json_builder_begin_object(b);
  json_builder_set_member_name(b, "state");
  json_builder_add_string_value(b, hk_indexer_state_name(in->state));
  if (in->reason) {
    json_builder_set_member_name(b, "reason");
    json_builder_add_string_value(b, in->reason);
  }
  json_builder_set_member_name(b, "heartbeat_usec");
  json_builder_add_int_value(b, in->heartbeat_at);
  json_builder_set_member_name(b, "sealed_usec");
  json_builder_add_int_value(b, in->sealed_at);
  json_builder_set_member_name(b, "pid");
  json_builder_add_int_value(b, in->pid);
  json_builder_end_object(b);
  json = hk_json_to_text(b);
  ret = hk_put(t, DB_META, "indexer", 7, json, strlen(json), 0);
  g_object_unref(b);
  g_free(json);
  return ret;
}

int
hk_store_check_unsealed(hk_txn *t)
{
  HkIndexerInfo info;
  int ret = hk_store_get_indexer(t, &info);

  if (ret == 0 && info.state == HK_INDEXER_SEALED)
    ret = -HK_ESEALED;
  hk_indexer_info_clear(&info);
  return ret;
}

static int
hk_meta_time(hk_txn *t, const char *key, int64_t *usec)
{
  MDB_val v;
  char buf[32];
  int ret = hk_get(t, DB_META, key, strlen(key), &v);

  *usec = 0;
  if (ret == -HK_ENOTFOUND)
    ret = 0;
  else if (ret == 0 && v.mv_size < sizeof buf) {
    memcpy(buf, v.mv_data, v.mv_size);
    buf[v.mv_size] = 0;
    *usec = g_ascii_strtoll(buf, NULL, 10);
  }
  return ret;
}

int
hk_store_get_archive_as_of(hk_txn *t, int64_t *usec)
{
  return hk_meta_time(t, "archive_as_of", usec);
}

int
hk_store_set_archive_as_of(hk_txn *t, int64_t usec)
{
  char buf[32];

  snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, usec);
  return hk_put(t, DB_META, "archive_as_of", 13, buf, strlen(buf), 0);
}

int
hk_store_get_last_document_at(hk_txn *t, int64_t *usec)
{
  return hk_meta_time(t, "last_document_at", usec);
}

int
hk_store_stats(hk_txn *t, HkStoreStats *st)
{
  int ret;

  memset(st, 0, sizeof *st);
  st->documents = hk_entries(t, DB_DOCS);
  st->versions = hk_entries(t, DB_VERSIONS);
  st->patients = hk_entries(t, DB_PATIENTS);
  st->blobs = hk_entries(t, DB_BLOBS);
  st->thumbnails = hk_entries(t, DB_THUMBS);
  st->thumbnails_pending = hk_entries(t, DB_THUMBQ);
  st->quarantined = hk_entries(t, DB_QUARANTINE);
  st->withdrawn = hk_entries(t, DB_WITHDRAWN);
  st->inpatients = hk_entries(t, DB_CENSUS);
  ret = hk_store_get_archive_as_of(t, &st->archive_as_of);
  if (ret == 0)
    ret = hk_store_get_last_document_at(t, &st->last_document_at);
  if (ret == 0)
    ret = hk_store_get_indexer(t, &st->indexer);
  return ret;
}

/* hk-store-versions.c: documents and their versions: appending, reading, withdrawing, walking.
 * See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-json.h"
#include "hk-log.h"
#include "hk-sha256.h"
#include "hk-time.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

/* ---- documents and versions ---- */

/* Load the newest version of a document (binary ID), or -HK_ENOTFOUND. */
int
hk_current_version(hk_txn *t, const uint8_t id[8], HkVersion **out)
{
  MDB_cursor *c = NULL;
  uint8_t key[12];
  MDB_val k = {sizeof key, key}, v;
  int rc, ret;

  *out = NULL;
  ret = hk_cursor(t, DB_VERSIONS, &c);
  if (ret)
    goto out;
  memcpy(key, id, 8);
  hk_be32(key + 8, UINT32_MAX);
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND)
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  else if (rc == 0)
    rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
  if (rc) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  if (k.mv_size != 12 || memcmp(k.mv_data, id, 8) != 0) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_version_from_json(v.mv_data, v.mv_size, out);
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

static bool
hk_same_version(const HkVersion *a, const HkVersion *b)
{
  return strcmp(a->sha256, b->sha256) == 0 && g_strcmp0(a->patient_id, b->patient_id) == 0 &&
         g_strcmp0(a->type, b->type) == 0 && g_strcmp0(a->title, b->title) == 0 &&
         g_strcmp0(a->created_at, b->created_at) == 0 && g_strcmp0(a->author, b->author) == 0 &&
         g_strcmp0(a->department, b->department) == 0 &&
         g_strcmp0(a->content_type, b->content_type) == 0;
}

/* The registry key of a source's document: name NUL source_id, or name
 * NUL '#' SHA-256(source_id) in hex if that would pass LMDB's key limit. */
size_t
hk_source_key(uint8_t *buf, size_t cap, const char *name, const char *source_id)
{
  size_t nl = strlen(name), sl = strlen(source_id);

  memcpy(buf, name, nl);
  buf[nl] = 0;
  if (nl + 1 + sl <= cap && nl + 1 + sl <= 500) {
    memcpy(buf + nl + 1, source_id, sl);
    return nl + 1 + sl;
  }
  {
    uint8_t d[HK_SHA256_LEN];
    char hex[HK_SHA256_HEX_LEN + 1];
    hk_sha256(source_id, sl, d);
    hk_sha256_hex(d, hex);
    buf[nl + 1] = '#';
    memcpy(buf + nl + 2, hex, HK_SHA256_HEX_LEN);
    return nl + 2 + HK_SHA256_HEX_LEN;
  }
}

int
hk_store_find_doc(hk_txn *t, const char *source_name, const char *source_id,
                  char doc_id[HK_DOC_ID_LEN + 1])
{
  uint8_t key[HK_SOURCE_KEY_MAX];
  size_t klen;
  MDB_val v;
  int ret = -HK_ENOTFOUND;

  doc_id[0] = 0;
  if (!source_id || !hk_source_name_valid(source_name))
    goto out;
  klen = hk_source_key(key, sizeof key, source_name, source_id);
  ret = hk_get(t, DB_SOURCES, key, klen, &v);
  if (ret == 0 && v.mv_size != 8)
    ret = -HK_ECORRUPT;
  if (ret == 0)
    hk_version_doc_id_hex(v.mv_data, doc_id);
out:
  return ret;
}

int
hk_store_find_source(hk_txn *t, const char *source_id, char doc_id[HK_DOC_ID_LEN + 1])
{
  return hk_store_find_doc(t, hk_source_default_name(source_id), source_id, doc_id);
}

/* Delete the timeline entry of the newest version of d that belongs to
 * patient_id, if any. */
static void
hk_timeline_forget(hk_txn *t, const HkDocument *d, const char *patient_id, const uint8_t id[8])
{
  uint8_t tkey[HK_PATIENT_ID_MAX + 17];

  for (guint i = d->versions->len; i > 0; i--) {
    const HkVersion *o = d->versions->pdata[i - 1];
    if (g_strcmp0(o->patient_id, patient_id) == 0) {
      size_t tlen = hk_timeline_key(tkey, o->patient_id, o->created_usec, id);
      hk_del(t, DB_TIMELINE, tkey, tlen);
      break;
    }
  }
}

int
hk_store_add_version(hk_txn *t, HkVersion *v, bool *added)
{
  uint8_t id[8], vkey[12], tkey[HK_PATIENT_ID_MAX + 17], skey[HK_SOURCE_KEY_MAX];
  HkDocument *d = NULL;
  const HkVersion *cur = NULL;
  MDB_val existing;
  char *json = NULL, meta[32];
  size_t tlen, slen;
  int ret;

  *added = false;
  if (!v->source_id || !hk_patient_id_valid(v->patient_id)) {
    ret = -HK_EINVAL;
    goto out;
  }
  if (!v->source_name)
    v->source_name = g_strdup(hk_source_default_name(v->source_id));
  if (!hk_source_name_valid(v->source_name)) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_store_find_doc(t, v->source_name, v->source_id, v->doc_id);
  if (ret == 0) {
    hk_version_doc_id_bin(v->doc_id, id);
    ret = hk_store_get_document(t, v->doc_id, &d);
    if (ret == -HK_ENOTFOUND)
      ret = t->ret = -HK_ECORRUPT; /* registered but no version */
    if (ret)
      goto out;
    cur = hk_document_current(d);
    if (hk_same_version(cur, v))
      goto out;
    v->version = cur->version + 1;
  } else if (ret == -HK_ENOTFOUND) {
    GByteArray *val = g_byte_array_new();
    hk_version_doc_id_named(v->source_name, v->source_id, v->doc_id);
    hk_version_doc_id_bin(v->doc_id, id);
    ret = hk_get(t, DB_DOCS, id, 8, &existing);
    if (ret == 0) {
      /* 64-bit IDs from SHA-256: a collision is astronomically unlikely, but
       * it would show one document's bytes under another's name. */
      hk_error("document ID %s collides for source IDs; refusing", v->doc_id);
      ret = t->ret = -HK_ECORRUPT;
    } else if (ret == -HK_ENOTFOUND) {
      g_byte_array_append(val, (const guint8 *)v->source_name, (guint)strlen(v->source_name) + 1);
      g_byte_array_append(val, (const guint8 *)v->source_id, (guint)strlen(v->source_id));
      ret = hk_put(t, DB_DOCS, id, 8, val->data, val->len, MDB_NOOVERWRITE);
      slen = hk_source_key(skey, sizeof skey, v->source_name, v->source_id);
      if (ret == 0)
        ret = hk_put(t, DB_SOURCES, skey, slen, id, 8, MDB_NOOVERWRITE);
      if (ret == -HK_EEXIST)
        ret = t->ret = -HK_ECORRUPT;
    }
    g_byte_array_unref(val);
    if (ret)
      goto out;
    v->version = 1;
  } else {
    goto out;
  }
  if (!v->ingested_at)
    v->ingested_at = hk_time_now();
  memcpy(vkey, id, 8);
  hk_be32(vkey + 8, v->version);
  json = hk_version_to_json(v);
  ret = hk_put(t, DB_VERSIONS, vkey, sizeof vkey, json, strlen(json), MDB_NOOVERWRITE);
  if (ret == -HK_EEXIST)
    ret = t->ret = -HK_ECORRUPT;
  if (ret)
    goto out;
  /* The timeline is an index, not the record: it follows the newest
   * version's patient and date. A document that moves to another patient
   * keeps its row on the old patient's timeline (marked "moved to" when
   * read), so a clinician who saw it there can still find it; a move back
   * replaces that patient's old row. */
  if (cur && strcmp(cur->patient_id, v->patient_id) == 0) {
    tlen = hk_timeline_key(tkey, cur->patient_id, cur->created_usec, id);
    hk_del(t, DB_TIMELINE, tkey, tlen);
  } else if (cur) {
    hk_timeline_forget(t, d, v->patient_id, id);
  }
  /* The row, from the document as just read plus the new version as its
   * record reads back (what verify will compare it with): no second read
   * of the older records. A new version is not withdrawn. hk_row_store
   * writes it under the new version's timeline entry too. */
  {
    HkVersion *back = NULL;
    ret = hk_version_from_json(json, strlen(json), &back);
    if (ret == 0) {
      if (!d) {
        d = hk_document_new();
        d->source_name = g_strdup(v->source_name);
      }
      g_ptr_array_add(d->versions, back);
      d->withdrawn = false;
      ret = hk_row_store(t, id, d);
    }
  }
  snprintf(meta, sizeof meta, "%" G_GINT64_FORMAT, v->ingested_at);
  if (ret == 0)
    ret = hk_put(t, DB_META, "last_document_at", 16, meta, strlen(meta), 0);
  /* Text is extracted after this commit, never in its way; queued here so
   * that every source's versions are, and a crash loses none. */
  if (ret == 0)
    ret = hk_text_queue(t, id, v->version);
  if (ret == 0)
    *added = true;
out:
  hk_document_free(d);
  g_free(json);
  return ret;
}

static int
hk_load_withdrawn(hk_txn *t, const uint8_t id[8], uint32_t version, HkDocument *d)
{
  uint8_t key[12];
  MDB_val v;
  JsonParser *p = NULL;
  int ret;

  memcpy(key, id, 8);
  hk_be32(key + 8, version);
  ret = hk_get(t, DB_WITHDRAWN, key, sizeof key, &v);
  if (ret == -HK_ENOTFOUND) {
    ret = 0;
    goto out;
  }
  if (ret)
    goto out;
  d->withdrawn = true;
  p = json_parser_new_immutable();
  if (json_parser_load_from_data(p, v.mv_data, (gssize)v.mv_size, NULL) &&
      json_parser_get_root(p) && JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    d->withdrawn_reason = g_strdup(json_object_get_string_member_with_default(o, "reason", ""));
    d->withdrawn_at = json_object_get_int_member_with_default(o, "at", 0);
  }
out:
  if (p)
    g_object_unref(p);
  return ret;
}

int
hk_store_get_document(hk_txn *t, const char *doc_id, HkDocument **out)
{
  HkDocument *d = NULL;
  MDB_cursor *c = NULL;
  uint8_t id[8], key[12];
  MDB_val k = {sizeof key, key}, v;
  MDB_cursor_op op = MDB_SET_RANGE;
  int rc, ret;

  *out = NULL;
  ret = hk_version_doc_id_bin(doc_id, id);
  if (ret) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_cursor(t, DB_VERSIONS, &c);
  if (ret)
    goto out;
  d = hk_document_new();
  memcpy(key, id, 8);
  hk_be32(key + 8, 0);
  while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
    HkVersion *ver = NULL;
    op = MDB_NEXT;
    if (k.mv_size != 12 || memcmp(k.mv_data, id, 8) != 0)
      break;
    ret = hk_version_from_json(v.mv_data, v.mv_size, &ver);
    if (ret)
      goto out;
    g_ptr_array_add(d->versions, ver);
  }
  if (rc && rc != MDB_NOTFOUND) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  if (d->versions->len == 0) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_load_withdrawn(t, id, hk_document_current(d)->version, d);
  if (ret == 0)
    ret = hk_get(t, DB_DOCS, id, 8, &v);
  if (ret == 0) {
    const char *nul = memchr(v.mv_data, 0, v.mv_size);
    /* format 2: name NUL source_id */
    if (nul)
      d->source_name = g_strndup(v.mv_data, (gsize)(nul - (const char *)v.mv_data));
  } else if (ret == -HK_ENOTFOUND) {
    ret = 0;
  }
  if (ret == 0)
    ret = hk_store_get_refusals(t, doc_id, d->refused);
  if (ret)
    goto out;
  *out = d;
  d = NULL;
out:
  if (c)
    mdb_cursor_close(c);
  hk_document_free(d);
  return ret;
}

int
hk_store_get_version(hk_txn *t, const char *doc_id, uint32_t version, HkVersion **out)
{
  uint8_t id[8], key[12];
  MDB_val v;
  int ret;

  *out = NULL;
  if (hk_version_doc_id_bin(doc_id, id) != 0) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  if (version == 0) {
    ret = hk_current_version(t, id, out);
    goto out;
  }
  memcpy(key, id, 8);
  hk_be32(key + 8, version);
  ret = hk_get(t, DB_VERSIONS, key, sizeof key, &v);
  if (ret == 0)
    ret = hk_version_from_json(v.mv_data, v.mv_size, out);
out:
  return ret;
}

int
hk_store_withdraw(hk_txn *t, const char *doc_id, const char *reason)
{
  HkVersion *cur = NULL;
  uint8_t id[8], key[12];
  char *json = NULL;
  int ret;

  ret = hk_version_doc_id_bin(doc_id, id);
  if (ret)
    goto out;
  ret = hk_current_version(t, id, &cur);
  if (ret)
    goto out;
  memcpy(key, id, 8);
  hk_be32(key + 8, cur->version);
  {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "reason");
    json_builder_add_string_value(b, reason ? reason : "");
    json_builder_set_member_name(b, "at");
    json_builder_add_int_value(b, hk_time_now());
    json_builder_end_object(b);
    json = hk_json_to_text(b);
    g_object_unref(b);
  }
  ret = hk_put(t, DB_WITHDRAWN, key, sizeof key, json, strlen(json), MDB_NOOVERWRITE);
  if (ret == -HK_EEXIST)
    ret = 0;
  else if (ret == 0)
    ret = hk_row_refresh(t, id);
out:
  hk_version_free(cur);
  g_free(json);
  return ret;
}

static bool
hk_is_withdrawn(hk_txn *t, const uint8_t key[12])
{
  MDB_val v;
  MDB_val k = {12, (void *)key};

  return mdb_get(t->txn, t->store->dbi[DB_WITHDRAWN], &k, &v) == 0;
}

/* Walk versions of one document (by binary ID prefix) or all. */
static int
hk_foreach_in(hk_txn *t, const uint8_t *prefix, HkVersionFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  uint8_t start[12] = {0};
  MDB_val k = {sizeof start, start}, v;
  MDB_cursor_op op = prefix ? MDB_SET_RANGE : MDB_FIRST;
  HkVersion *prev = NULL;
  uint8_t prevkey[12];
  int rc, ret;

  if (prefix)
    memcpy(start, prefix, 8);
  ret = hk_cursor(t, DB_VERSIONS, &c);
  if (ret)
    goto out;
  /* Hold one version back so we know whether it is the document's last. */
  while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
    HkVersion *ver = NULL;
    op = MDB_NEXT;
    if (k.mv_size != 12 || (prefix && memcmp(k.mv_data, prefix, 8) != 0))
      break;
    ret = hk_version_from_json(v.mv_data, v.mv_size, &ver);
    if (ret)
      goto out;
    if (prev) {
      bool current = memcmp(prevkey, k.mv_data, 8) != 0;
      ret = fn(prev, current, current && hk_is_withdrawn(t, prevkey), data);
      hk_version_free(prev);
      prev = NULL;
      if (ret) {
        hk_version_free(ver);
        goto out;
      }
    }
    prev = ver;
    memcpy(prevkey, k.mv_data, 12);
  }
  if (rc && rc != MDB_NOTFOUND) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  if (prev)
    ret = fn(prev, true, hk_is_withdrawn(t, prevkey), data);
out:
  hk_version_free(prev);
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_foreach_version(hk_txn *t, const char *patient_id, HkVersionFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  uint8_t key[HK_PATIENT_ID_MAX + 17];
  MDB_val k, v;
  size_t plen;
  int rc, ret = 0;

  if (!patient_id) {
    ret = hk_foreach_in(t, NULL, fn, data);
    goto out;
  }
  plen = strlen(patient_id);
  if (plen > HK_PATIENT_ID_MAX) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_cursor(t, DB_TIMELINE, &c);
  if (ret)
    goto out;
  memcpy(key, patient_id, plen);
  key[plen] = 0;
  k.mv_data = key;
  k.mv_size = plen + 1;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != plen + 17 || memcmp(k.mv_data, key, plen + 1) != 0)
      break;
    uint8_t id[8];
    memcpy(id, (uint8_t *)k.mv_data + plen + 9, 8);
    ret = hk_foreach_in(t, id, fn, data);
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

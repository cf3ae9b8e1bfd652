#include "hk-store-v1.h"

#include "hk-patient.h"
#include "hk-sha256.h"
#include "hk-time.h"
#include "hk-version.h"

#include <glib.h>
#include <lmdb.h>
#include <string.h>

/* The databases of format 1 (no "sources", no "refused"). */
static const char *const hk_v1_dbs[] = {
    "meta",   "docs",     "versions", "withdrawn", "blobs",      "thumbs", "patients",
    "pindex", "timeline", "census",   "files",     "quarantine", "thumbq",
};

static void
hk_be64(uint8_t *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static int
hk_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl)
{
  MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};

  return mdb_put(txn, dbi, &key, &val, 0);
}

int
hk_store_v1_write(const char *dir, const HkV1Doc *docs, unsigned n)
{
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi[G_N_ELEMENTS(hk_v1_dbs)];
  GHashTable *versions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  int rc;

  g_mkdir_with_parents(dir, 0750);
  rc = mdb_env_create(&env);
  if (!rc)
    rc = mdb_env_set_maxdbs(env, 20);
  if (!rc)
    rc = mdb_env_set_mapsize(env, 16u << 20);
  if (!rc)
    rc = mdb_env_open(env, dir, MDB_NOTLS, 0640);
  if (!rc)
    rc = mdb_txn_begin(env, NULL, 0, &txn);
  for (size_t i = 0; !rc && i < G_N_ELEMENTS(hk_v1_dbs); i++)
    rc = mdb_dbi_open(txn, hk_v1_dbs[i], MDB_CREATE, &dbi[i]);
  if (!rc)
    rc = hk_put(txn, dbi[0], "format", 6, "1", 1);
  for (unsigned i = 0; !rc && i < n; i++) {
    const HkV1Doc *d = &docs[i];
    HkVersion *v = hk_version_new();
    HkPatient *p = hk_patient_new(d->patient_id);
    uint8_t digest[HK_SHA256_LEN], id[8], vkey[12], tkey[64 + 17];
    uint64_t idv = 0;
    size_t plen = strlen(d->patient_id);
    char *json, *pjson;
    guint ver = GPOINTER_TO_UINT(g_hash_table_lookup(versions, d->source_id)) + 1;

    g_hash_table_insert(versions, g_strdup(d->source_id), GUINT_TO_POINTER(ver));
    hk_version_doc_id(d->source_id, v->doc_id); /* the format-1 ID */
    for (int j = 0; j < HK_DOC_ID_LEN; j++)
      idv = idv << 4 | (uint64_t)g_ascii_xdigit_value(v->doc_id[j]);
    hk_be64(id, idv);
    v->version = ver;
    v->patient_id = g_strdup(d->patient_id);
    v->source_id = g_strdup(d->source_id);
    v->type = g_strdup(d->type);
    v->title = g_strdup("format-1 document");
    v->content_type = g_strdup("text/plain");
    v->created_at = g_strdup(d->created_at);
    hk_time_parse(d->created_at, &v->created_usec);
    v->ingested_at = hk_time_now();
    hk_sha256(d->text, strlen(d->text), digest);
    hk_sha256_hex(digest, v->sha256);
    v->size = strlen(d->text);
    v->source = g_strdup_printf("/legacy/%s", d->source_id);
    json = hk_version_to_json(v);
    memcpy(vkey, id, 8);
    vkey[8] = (uint8_t)(ver >> 24);
    vkey[9] = (uint8_t)(ver >> 16);
    vkey[10] = (uint8_t)(ver >> 8);
    vkey[11] = (uint8_t)ver;
    memcpy(tkey, d->patient_id, plen);
    tkey[plen] = 0;
    hk_be64(tkey + plen + 1, (uint64_t)v->created_usec ^ (1ull << 63));
    memcpy(tkey + plen + 9, id, 8);
    pjson = hk_patient_to_json(p);
    rc = hk_put(txn, dbi[1], id, 8, d->source_id, strlen(d->source_id));
    if (!rc)
      rc = hk_put(txn, dbi[2], vkey, 12, json, strlen(json));
    if (!rc)
      rc = hk_put(txn, dbi[4], digest, 32, d->text, strlen(d->text));
    if (!rc)
      rc = hk_put(txn, dbi[8], tkey, plen + 17, d->type, strlen(d->type));
    if (!rc)
      rc = hk_put(txn, dbi[6], d->patient_id, plen, pjson, strlen(pjson));
    g_free(json);
    g_free(pjson);
    hk_patient_free(p);
    hk_version_free(v);
  }
  if (!rc)
    rc = mdb_txn_commit(txn);
  else if (txn)
    mdb_txn_abort(txn);
  if (env)
    mdb_env_close(env);
  g_hash_table_unref(versions);
  return rc;
}

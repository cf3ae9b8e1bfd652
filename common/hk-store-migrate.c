/* hk-store-migrate.c: the migration of a format-1 to -4 store to the
 * current format (1 to 2: the source registry; 2 to 3: document rows; 3 to
 * 4: patient rows; 4 to 5: rows inside the timeline entries).
 * See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-log.h"

#include <stdio.h>
#include <string.h>

/* Format 1 to 2 inside t: register every document under a source name. */
static int
hk_migrate_txn(hk_txn *t, const char *drop_name, const char *ssmix2_name, uint64_t *migrated)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *sids = g_ptr_array_new_with_free_func(g_free);
  int rc, ret;

  *migrated = 0;
  ret = hk_cursor(t, DB_DOCS, &c);
  if (ret)
    goto out;
  /* Collect first: the docs values are rewritten below. */
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8 || memchr(v.mv_data, 0, v.mv_size))
      continue; /* not a format-1 entry */
    g_ptr_array_add(ids, g_memdup2(k.mv_data, 8));
    g_ptr_array_add(sids, g_strndup(v.mv_data, v.mv_size));
  }
  mdb_cursor_close(c);
  c = NULL;
  for (guint i = 0; ret == 0 && i < ids->len; i++) {
    const char *sid = sids->pdata[i];
    const char *name = g_str_has_prefix(sid, "SSMIX2:") ? ssmix2_name : drop_name;
    uint8_t skey[HK_SOURCE_KEY_MAX];
    size_t slen = hk_source_key(skey, sizeof skey, name, sid);
    GByteArray *val = g_byte_array_new();
    g_byte_array_append(val, (const guint8 *)name, (guint)strlen(name) + 1);
    g_byte_array_append(val, (const guint8 *)sid, (guint)strlen(sid));
    ret = hk_put(t, DB_SOURCES, skey, slen, ids->pdata[i], 8, MDB_NOOVERWRITE);
    if (ret == -HK_EEXIST) {
      hk_error("migrate: %s/%s is registered twice; refusing", name, sid);
      ret = t->ret = -HK_ECORRUPT;
    }
    /* The registry entry of a document names its source too. */
    if (ret == 0)
      ret = hk_put(t, DB_DOCS, ids->pdata[i], 8, val->data, val->len, 0);
    g_byte_array_unref(val);
    if (ret == 0)
      (*migrated)++;
  }
  if (ret == 0)
    ret = hk_put(t, DB_META, "format", 6, "2", 1, 0);
out:
  if (c)
    mdb_cursor_close(c);
  g_ptr_array_unref(ids);
  g_ptr_array_unref(sids);
  return ret;
}

typedef struct {
  const char *drop_name, *ssmix2_name;
  uint64_t *migrated;
} HkMigrateRun;

static int
hk_migrate_run(hk_txn *t, void *data)
{
  HkMigrateRun *m = data;
  return hk_migrate_txn(t, m->drop_name, m->ssmix2_name, m->migrated);
}

/* Rows are built this many documents per transaction: one transaction
 * for a million documents would pass LMDB's limit of dirty pages. */
#define HK_ROWS_BATCH 5000

typedef struct {
  uint8_t after[8]; /* in: the last document done, if started */
  bool started;
  uint8_t last[8]; /* out: the last document of this batch */
  guint count;     /* out: how many documents it held */
} HkRowsRun;

/* Format 2 to 3, one batch inside t: the rows of the next documents after
 * r->after, and format 3 with the last of them. Rows are overwritten, so a
 * batch redone (after a growth of the map, or by a second run of a
 * migration cut short) writes the same bytes. */
static int
hk_rows_batch(hk_txn *t, void *data)
{
  HkRowsRun *r = data;
  MDB_cursor *c = NULL;
  MDB_val k = {8, r->after}, v;
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  int rc, ret;

  ret = hk_cursor(t, DB_DOCS, &c);
  if (ret)
    goto out;
  rc = r->started ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
  if (rc == 0 && r->started && k.mv_size == 8 && memcmp(k.mv_data, r->after, 8) == 0)
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  for (; rc == 0 && ids->len < HK_ROWS_BATCH; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    if (k.mv_size == 8)
      g_ptr_array_add(ids, g_memdup2(k.mv_data, 8));
  if (rc && rc != MDB_NOTFOUND) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  mdb_cursor_close(c);
  c = NULL;
  for (guint i = 0; ret == 0 && i < ids->len; i++)
    ret = hk_row_refresh(t, ids->pdata[i]);
  if (ret == 0 && ids->len < HK_ROWS_BATCH)
    ret = hk_put(t, DB_META, "format", 6, "3", 1, 0);
out:
  if (c)
    mdb_cursor_close(c);
  /* Only outputs change: hk_store_write may run the batch again. */
  r->count = ids->len;
  if (ids->len)
    memcpy(r->last, ids->pdata[ids->len - 1], 8);
  g_ptr_array_unref(ids);
  return ret;
}

typedef struct {
  char *after; /* in: the last patient done, NULL at the start (g_free) */
  guint count; /* out: how many patients this batch held */
  char *last;  /* out: the last of them (g_free) */
} HkPatientRowsRun;

/* Format 3 to 4, one batch inside t: the rows of the next patients after
 * r->after, and format 4 with the last of them. As with the document rows,
 * a batch redone writes the same bytes. */
static int
hk_patient_rows_batch(hk_txn *t, void *data)
{
  HkPatientRowsRun *r = data;
  MDB_cursor *c = NULL;
  MDB_val k = {r->after ? strlen(r->after) : 0, r->after}, v;
  GPtrArray *pats = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_free);
  int rc, ret;

  ret = hk_cursor(t, DB_PATIENTS, &c);
  if (ret)
    goto out;
  rc = r->after ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
  if (rc == 0 && r->after && k.mv_size == strlen(r->after) &&
      memcmp(k.mv_data, r->after, k.mv_size) == 0)
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  for (; rc == 0 && ret == 0 && pats->len < HK_ROWS_BATCH;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkPatient *p = NULL;
    ret = hk_patient_from_json(v.mv_data, v.mv_size, &p);
    if (ret) {
      char *id = g_strndup(k.mv_data, k.mv_size);
      hk_error("migrate: the record of patient %s does not parse; refusing", id);
      g_free(id);
      ret = t->ret = -HK_ECORRUPT;
      break;
    }
    g_ptr_array_add(pats, p);
  }
  if (ret == 0 && rc && rc != MDB_NOTFOUND)
    ret = hk_mdb_err(rc);
  mdb_cursor_close(c);
  c = NULL;
  for (guint i = 0; ret == 0 && i < pats->len; i++)
    ret = hk_patient_row_store(t, pats->pdata[i]);
  if (ret == 0 && pats->len < HK_ROWS_BATCH)
    ret = hk_put(t, DB_META, "format", 6, "4", 1, 0);
out:
  if (c)
    mdb_cursor_close(c);
  /* Only outputs change: hk_store_write may run the batch again. */
  r->count = pats->len;
  g_free(r->last);
  r->last = pats->len ? g_strdup(((HkPatient *)pats->pdata[pats->len - 1])->id) : NULL;
  g_ptr_array_unref(pats);
  return ret;
}

typedef struct {
  GByteArray *after; /* in: the last timeline key done, empty at the start */
  guint count;       /* out: how many entries this batch held */
  GByteArray *last;  /* out: the last of them */
} HkTimelineRowsRun;

/* Format 4 to 5, one batch inside t: the next timeline entries after
 * r->after take their document's row as their value, and format 5 with
 * the last of them. The rows were checked against the records by verify
 * in format 4; a document without one has its row made from its records.
 * A batch redone writes the same bytes. */
static int
hk_timeline_rows_batch(hk_txn *t, void *data)
{
  HkTimelineRowsRun *r = data;
  MDB_cursor *c = NULL;
  MDB_val k = {r->after->len, r->after->data}, v;
  GPtrArray *keys = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  int rc, ret;

  ret = hk_cursor(t, DB_TIMELINE, &c);
  if (ret)
    goto out;
  rc = r->after->len ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)
                     : mdb_cursor_get(c, &k, &v, MDB_FIRST);
  if (rc == 0 && r->after->len && k.mv_size == r->after->len &&
      memcmp(k.mv_data, r->after->data, k.mv_size) == 0)
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  for (; rc == 0 && keys->len < HK_ROWS_BATCH; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    g_ptr_array_add(keys, g_bytes_new(k.mv_data, k.mv_size));
  if (rc && rc != MDB_NOTFOUND) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  mdb_cursor_close(c);
  c = NULL;
  /* Collected first: a put may move the pages the cursor stood on. */
  for (guint i = 0; ret == 0 && i < keys->len; i++) {
    gsize klen;
    const uint8_t *key = g_bytes_get_data(keys->pdata[i], &klen);
    const uint8_t *id = key + klen - 8;
    MDB_val row;
    if (klen < 18) {
      hk_error("migrate: a timeline key of %zu bytes; refusing", (size_t)klen);
      ret = t->ret = -HK_ECORRUPT;
      break;
    }
    ret = hk_get(t, DB_ROWS, id, 8, &row);
    if (ret == -HK_ENOTFOUND)
      ret = hk_row_refresh(t, id);
    else if (ret == 0)
      ret = hk_put(t, DB_TIMELINE, key, klen, row.mv_data, row.mv_size, 0);
  }
  if (ret == 0 && keys->len < HK_ROWS_BATCH)
    ret = hk_put(t, DB_META, "format", 6, "5", 1, 0);
out:
  if (c)
    mdb_cursor_close(c);
  /* Only outputs change: hk_store_write may run the batch again. */
  r->count = keys->len;
  g_byte_array_set_size(r->last, 0);
  if (keys->len) {
    gsize klen;
    const uint8_t *key = g_bytes_get_data(keys->pdata[keys->len - 1], &klen);
    g_byte_array_append(r->last, key, (guint)klen);
  }
  g_ptr_array_unref(keys);
  return ret;
}

int
hk_store_migrate(hk_store *s, const char *drop_name, const char *ssmix2_name, uint64_t *migrated)
{
  HkMigrateRun m = {drop_name, ssmix2_name, migrated};
  HkRowsRun r = {{0}, false, {0}, 0};
  HkPatientRowsRun pr = {NULL, 0, NULL};
  HkTimelineRowsRun tr = {g_byte_array_new(), 0, g_byte_array_new()};
  bool done = false;
  int ret = 0;

  *migrated = 0;
  if (!hk_source_name_valid(drop_name) || !hk_source_name_valid(ssmix2_name)) {
    ret = -HK_EINVAL;
    goto out;
  }
  if (s->format == HK_STORE_FORMAT)
    goto out;
  if (!hk_store_format_migratable(s->format) || s->rdonly) {
    ret = -HK_EFORMAT;
    goto out;
  }
  if (s->format == 1) {
    ret = hk_store_write(s, 16, hk_migrate_run, &m);
    if (ret)
      goto out;
    s->format = 2;
  }
  while (ret == 0 && !done && s->format < 3) {
    ret = hk_store_write(s, 16, hk_rows_batch, &r);
    /* Committed: the next batch starts after this one. */
    done = r.count < HK_ROWS_BATCH;
    memcpy(r.after, r.last, 8);
    r.started = true;
  }
  if (ret == 0)
    s->format = 3;
  done = false;
  while (ret == 0 && !done && s->format < 4) {
    ret = hk_store_write(s, 16, hk_patient_rows_batch, &pr);
    done = pr.count < HK_ROWS_BATCH;
    g_free(pr.after);
    pr.after = g_steal_pointer(&pr.last);
  }
  g_free(pr.after);
  g_free(pr.last);
  if (ret == 0)
    s->format = 4;
  done = false;
  while (ret == 0 && !done) {
    ret = hk_store_write(s, 16, hk_timeline_rows_batch, &tr);
    done = tr.count < HK_ROWS_BATCH;
    g_byte_array_set_size(tr.after, 0);
    g_byte_array_append(tr.after, tr.last->data, tr.last->len);
  }
  if (ret == 0)
    s->format = HK_STORE_FORMAT;
out:
  g_byte_array_unref(tr.after);
  g_byte_array_unref(tr.last);
  return ret;
}

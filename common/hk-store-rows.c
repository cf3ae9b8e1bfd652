/* hk-store-rows.c: the `rows` table, one binary list record per document
 * (hk-row.h, docs/store.md "Rows"), kept in step with the version records
 * in the same write transactions, and checked against them. */

#include "hk-store-private.h"

#include "hk-error.h"

#include <stdio.h>
#include <string.h>

int
hk_row_store(hk_txn *t, const uint8_t id[8], const HkDocument *d)
{
  GByteArray *row = g_byte_array_sized_new(512);
  int ret = hk_row_encode(d, row);

  if (ret)
    t->ret = ret; /* a record we cannot list must not commit */
  else
    ret = hk_put(t, DB_ROWS, id, 8, row->data, row->len, 0);
  g_byte_array_unref(row);
  return ret;
}

int
hk_row_refresh(hk_txn *t, const uint8_t id[8])
{
  char hex[HK_DOC_ID_LEN + 1];
  HkDocument *d = NULL;
  int ret;

  hk_version_doc_id_hex(id, hex);
  ret = hk_store_get_document(t, hex, &d);
  if (ret == 0)
    ret = hk_row_store(t, id, d);
  hk_document_free(d);
  return ret;
}

int
hk_store_get_row(hk_txn *t, const char *doc_id, HkRow *out)
{
  uint8_t id[8];
  MDB_val v;
  int ret = -HK_ENOTFOUND;

  if (hk_version_doc_id_bin(doc_id, id) != 0)
    goto out;
  ret = hk_get(t, DB_ROWS, id, 8, &v);
  if (ret == 0)
    ret = hk_row_decode(v.mv_data, v.mv_size, out);
out:
  return ret;
}

static int
hk_row_decodes(const void *data, size_t len)
{
  HkRow r;

  return hk_row_decode(data, len, &r);
}

int
hk_row_check_one(hk_txn *t, int db, const void *key, size_t klen, const GByteArray *want,
                 int (*decodes)(const void *, size_t), const char *label, const char *name,
                 const char *missing_hint, FILE *err, uint64_t *bad)
{
  MDB_val row;
  int ret = hk_get(t, db, key, klen, &row);

  if (ret == -HK_ENOTFOUND) {
    fprintf(err, "%s %s: missing (%s)\n", label, name, missing_hint);
    (*bad)++;
    ret = 0;
  } else if (ret == 0 && decodes(row.mv_data, row.mv_size) != 0) {
    fprintf(err, "%s %s: does not decode (%zu bytes)\n", label, name, row.mv_size);
    (*bad)++;
  } else if (ret == 0 && (!want || want->len != row.mv_size ||
                          memcmp(want->data, row.mv_data, want->len) != 0)) {
    fprintf(err, "%s %s: differs from its %s\n", label, name,
            db == DB_ROWS ? "version records" : "record");
    (*bad)++;
  }
  return ret;
}

int
hk_store_check_rows(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  GByteArray *want = g_byte_array_new();
  int rc, ret;

  *checked = *bad = 0;
  ret = hk_cursor(t, DB_DOCS, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char hex[HK_DOC_ID_LEN + 1];
    HkDocument *d = NULL;
    if (k.mv_size != 8)
      continue; /* named by hk_store_check_sources */
    (*checked)++;
    hk_version_doc_id_hex(k.mv_data, hex);
    ret = hk_store_get_document(t, hex, &d);
    if (ret == -HK_ENOTFOUND || ret == -HK_ECORRUPT) {
      ret = 0; /* no readable versions: verify names those */
      continue;
    }
    if (ret)
      break;
    g_byte_array_set_size(want, 0);
    ret = hk_row_check_one(t, DB_ROWS, k.mv_data, 8, hk_row_encode(d, want) == 0 ? want : NULL,
                           hk_row_decodes, "ROW", hex, "run `hikae-admin migrate`?", err, bad);
    hk_document_free(d);
  }
  if (ret == 0 && hk_entries(t, DB_ROWS) > *checked) {
    fprintf(err, "ROWS %" G_GUINT64_FORMAT " rows for %" G_GUINT64_FORMAT " documents\n",
            hk_entries(t, DB_ROWS), *checked);
    (*bad)++;
  }
out:
  if (c)
    mdb_cursor_close(c);
  g_byte_array_unref(want);
  return ret;
}

/* hk-store-rows.c: the `rows` table, one binary list record per document
 * (hk-row.h, docs/store.md "Rows"), kept in step with the version records
 * in the same write transactions, and checked against them. */

#include "hk-store-private.h"

#include "hk-error.h"

#include <stdio.h>
#include <string.h>

/* Put row under every timeline entry of d (binary ID id): the current
 * version's, which every document has, and, for each patient it moved
 * away from, the entry of its newest version for that patient, if the
 * timeline holds it (hk_store_add_version keeps one entry per patient
 * there). A timeline then reads its rows with its keys, in the pages
 * its cursor walks, not with one B-tree lookup per entry. */
static int
hk_row_store_timeline(hk_txn *t, const uint8_t id[8], const HkDocument *d, const GByteArray *row)
{
  const HkVersion *cur = hk_document_current(d);
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  uint8_t tkey[HK_PATIENT_ID_MAX + 17];
  int ret = 0;

  for (guint i = d->versions->len; ret == 0 && i > 0; i--) {
    const HkVersion *v = d->versions->pdata[i - 1];
    MDB_val old;
    size_t tlen;
    if (!v->patient_id || strlen(v->patient_id) > HK_PATIENT_ID_MAX ||
        !g_hash_table_add(seen, v->patient_id))
      continue;
    tlen = hk_timeline_key(tkey, v->patient_id, v->created_usec, id);
    if (v != cur) {
      ret = hk_get(t, DB_TIMELINE, tkey, tlen, &old);
      if (ret == -HK_ENOTFOUND) {
        ret = 0;
        continue;
      }
    }
    if (ret == 0)
      ret = hk_put(t, DB_TIMELINE, tkey, tlen, row->data, row->len, 0);
  }
  g_hash_table_unref(seen);
  return ret;
}

int
hk_row_store(hk_txn *t, const uint8_t id[8], const HkDocument *d)
{
  GByteArray *row = g_byte_array_sized_new(512);
  int ret = hk_row_encode(d, row);

  if (ret)
    t->ret = ret; /* a record we cannot list must not commit */
  else
    ret = hk_put(t, DB_ROWS, id, 8, row->data, row->len, 0);
  if (ret == 0)
    ret = hk_row_store_timeline(t, id, d, row);
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
            db == DB_PROWS ? "record" : "version records");
    (*bad)++;
  }
  return ret;
}

/* For verify: the row under each timeline entry of document d (binary ID
 * id) must be want, as hk_row_store_timeline writes it; the current
 * version's entry must exist. *entries counts the entries seen. */
static int
hk_timeline_check(hk_txn *t, const uint8_t id[8], const HkDocument *d, const GByteArray *want,
                  const char *hex, FILE *err, uint64_t *entries, uint64_t *bad)
{
  const HkVersion *cur = hk_document_current(d);
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  uint8_t tkey[HK_PATIENT_ID_MAX + 17];
  int ret = 0;

  for (guint i = d->versions->len; ret == 0 && i > 0; i--) {
    const HkVersion *v = d->versions->pdata[i - 1];
    MDB_val old;
    size_t tlen;
    char *name;
    if (!v->patient_id || strlen(v->patient_id) > HK_PATIENT_ID_MAX ||
        !g_hash_table_add(seen, v->patient_id))
      continue;
    tlen = hk_timeline_key(tkey, v->patient_id, v->created_usec, id);
    if (v != cur && hk_get(t, DB_TIMELINE, tkey, tlen, &old) == -HK_ENOTFOUND)
      continue;
    (*entries)++;
    name = g_strdup_printf("%s %s", v->patient_id, hex);
    ret = hk_row_check_one(t, DB_TIMELINE, tkey, tlen, want, hk_row_decodes, "TIMELINE", name,
                           "run `hikae-admin migrate`?", err, bad);
    g_free(name);
  }
  g_hash_table_unref(seen);
  return ret;
}

int
hk_store_check_rows(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad)
{
  uint64_t entries = 0, unreadable = 0;
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
    const GByteArray *enc;
    if (k.mv_size != 8)
      continue; /* named by hk_store_check_sources */
    (*checked)++;
    hk_version_doc_id_hex(k.mv_data, hex);
    ret = hk_store_get_document(t, hex, &d);
    if (ret == -HK_ENOTFOUND || ret == -HK_ECORRUPT) {
      ret = 0; /* no readable versions: verify names those */
      unreadable++;
      continue;
    }
    if (ret)
      break;
    g_byte_array_set_size(want, 0);
    enc = hk_row_encode(d, want) == 0 ? want : NULL;
    ret = hk_row_check_one(t, DB_ROWS, k.mv_data, 8, enc, hk_row_decodes, "ROW", hex,
                           "run `hikae-admin migrate`?", err, bad);
    if (ret == 0)
      ret = hk_timeline_check(t, k.mv_data, d, enc, hex, err, &entries, bad);
    hk_document_free(d);
  }
  if (ret == 0 && hk_entries(t, DB_ROWS) > *checked) {
    fprintf(err, "ROWS %" G_GUINT64_FORMAT " rows for %" G_GUINT64_FORMAT " documents\n",
            hk_entries(t, DB_ROWS), *checked);
    (*bad)++;
  }
  /* An entry no document's versions lead to would list a document under
   * a patient its records never named (unreadable documents' entries are
   * not counted, and those documents are named already). */
  if (ret == 0 && unreadable == 0 && hk_entries(t, DB_TIMELINE) > entries) {
    fprintf(err,
            "TIMELINE %" G_GUINT64_FORMAT " entries, %" G_GUINT64_FORMAT
            " of them those of the documents' versions\n",
            hk_entries(t, DB_TIMELINE), entries);
    (*bad)++;
  }
out:
  if (c)
    mdb_cursor_close(c);
  g_byte_array_unref(want);
  return ret;
}

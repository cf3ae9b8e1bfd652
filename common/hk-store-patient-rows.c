/* hk-store-patient-rows.c: the `patient_rows` table, one binary list record
 * per patient (hk-patient-row.h, docs/store.md "Patient rows"), written with
 * the patient's record in the same write transaction, read by patient
 * search and the census, and checked against the records. */

#include "hk-store-private.h"

#include "hk-error.h"

#include <stdio.h>
#include <string.h>

int
hk_patient_row_store(hk_txn *t, const HkPatient *p)
{
  GByteArray *row = g_byte_array_sized_new(256);
  int ret;

  hk_patient_row_encode(p, row);
  ret = hk_put(t, DB_PROWS, p->id, strlen(p->id), row->data, row->len, 0);
  g_byte_array_unref(row);
  return ret;
}

/* The row of patient id, into out. A missing or undecodable row is made
 * from the record instead (its bytes kept in keep). \return 0,
 * -HK_ENOTFOUND if there is no such patient, or a store error. */
static int
hk_patient_row_get(hk_txn *t, const char *id, HkPatientRow *out, GPtrArray *keep)
{
  HkPatient *p = NULL;
  GByteArray *made;
  MDB_val v;
  int ret = hk_get(t, DB_PROWS, id, strlen(id), &v);

  if (ret == 0 && hk_patient_row_decode(v.mv_data, v.mv_size, out) == 0)
    goto out;
  if (ret && ret != -HK_ENOTFOUND)
    goto out;
  ret = hk_store_get_patient(t, id, &p);
  if (ret)
    goto out;
  made = g_byte_array_new();
  hk_patient_row_encode(p, made);
  g_ptr_array_add(keep, made);
  ret = hk_patient_row_decode(made->data, made->len, out);
out:
  hk_patient_free(p);
  return ret;
}

int
hk_store_search_patient_rows(hk_txn *t, const char *query, unsigned limit, GArray *out,
                             GPtrArray *keep)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  int ret = hk_search_patient_ids(t, query, limit, ids);

  for (guint i = 0; ret == 0 && i < ids->len; i++) {
    HkPatientRow r;
    if (hk_patient_row_get(t, ids->pdata[i], &r, keep) == 0)
      g_array_append_val(out, r);
  }
  g_ptr_array_unref(ids);
  return ret;
}

int
hk_store_get_patient_row(hk_txn *t, const char *id, HkPatientRow *out, GPtrArray *keep)
{
  return hk_patient_row_get(t, id, out, keep);
}

/* g_strcmp0 on row strings: null first, then bytes, then length. */
static int
hk_rowstr_cmp(const HkRowStr *a, const HkRowStr *b)
{
  int r;

  if (!a->p || !b->p)
    return (a->p != NULL) - (b->p != NULL);
  r = memcmp(a->p, b->p, MIN(a->len, b->len));
  return r ? r : (a->len > b->len) - (a->len < b->len);
}

/* The order of hk_store_census: ward, room, bed, ID. */
static gint
hk_census_row_cmp(gconstpointer pa, gconstpointer pb)
{
  const HkPatientRow *a = pa, *b = pb;
  int r = hk_rowstr_cmp(&a->ward, &b->ward);

  if (!r)
    r = hk_rowstr_cmp(&a->room, &b->room);
  if (!r)
    r = hk_rowstr_cmp(&a->bed, &b->bed);
  if (!r)
    r = hk_rowstr_cmp(&a->id, &b->id);
  return r;
}

int
hk_store_census_rows(hk_txn *t, const char *ward, GArray *out, GPtrArray *keep)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  int ret = hk_census_ids(t, ward, ids);

  for (guint i = 0; ret == 0 && i < ids->len; i++) {
    HkPatientRow r;
    if (hk_patient_row_get(t, ids->pdata[i], &r, keep) == 0 && (r.flags & HK_PROW_ADMITTED))
      g_array_append_val(out, r);
  }
  g_array_sort(out, hk_census_row_cmp);
  g_ptr_array_unref(ids);
  return ret;
}

static int
hk_patient_row_decodes(const void *data, size_t len)
{
  HkPatientRow r;

  return hk_patient_row_decode(data, len, &r);
}

int
hk_store_check_patient_rows(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  GByteArray *want = g_byte_array_new();
  int rc, ret;

  *checked = *bad = 0;
  ret = hk_cursor(t, DB_PATIENTS, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char *id = g_strndup(k.mv_data, k.mv_size);
    HkPatient *p = NULL;
    (*checked)++;
    if (hk_patient_from_json(v.mv_data, v.mv_size, &p) != 0) {
      fprintf(err, "PATIENT %s: its record does not parse\n", id);
      (*bad)++;
      g_free(id);
      continue;
    }
    g_byte_array_set_size(want, 0);
    hk_patient_row_encode(p, want);
    ret = hk_row_check_one(t, DB_PROWS, k.mv_data, k.mv_size, want, hk_patient_row_decodes, "PROW",
                           id, "run `hikae-admin migrate`?", err, bad);
    hk_patient_free(p);
    g_free(id);
  }
  if (ret == 0 && hk_entries(t, DB_PROWS) > *checked) {
    fprintf(err, "PROWS %" G_GUINT64_FORMAT " rows for %" G_GUINT64_FORMAT " patients\n",
            hk_entries(t, DB_PROWS), *checked);
    (*bad)++;
  }
out:
  if (c)
    mdb_cursor_close(c);
  g_byte_array_unref(want);
  return ret;
}

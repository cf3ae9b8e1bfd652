/* hk-store-census.c: the census: current inpatients by ward, room and bed.
 * See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include <string.h>

static gint
hk_census_cmp(gconstpointer a, gconstpointer b)
{
  const HkPatient *pa = *(HkPatient *const *)a, *pb = *(HkPatient *const *)b;
  int r = g_strcmp0(pa->admission->ward, pb->admission->ward);

  if (!r)
    r = g_strcmp0(pa->admission->room, pb->admission->room);
  if (!r)
    r = g_strcmp0(pa->admission->bed, pb->admission->bed);
  if (!r)
    r = g_strcmp0(pa->id, pb->id);
  return r;
}

int
hk_census_ids(hk_txn *t, const char *ward, GPtrArray *ids)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_CENSUS, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (ward && (v.mv_size != strlen(ward) || memcmp(v.mv_data, ward, v.mv_size) != 0))
      continue;
    g_ptr_array_add(ids, g_strndup(k.mv_data, k.mv_size));
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_census(hk_txn *t, const char *ward, GPtrArray *out)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  int ret = hk_census_ids(t, ward, ids);

  for (guint i = 0; ret == 0 && i < ids->len; i++) {
    HkPatient *p = NULL;
    if (hk_store_get_patient(t, ids->pdata[i], &p) == 0 && p->admission)
      g_ptr_array_add(out, p);
    else
      hk_patient_free(p);
  }
  g_ptr_array_sort(out, hk_census_cmp);
  g_ptr_array_unref(ids);
  return ret;
}

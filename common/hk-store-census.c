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
hk_store_census(hk_txn *t, const char *ward, GPtrArray *out)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_CENSUS, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkPatient *p = NULL;
    if (ward && (v.mv_size != strlen(ward) || memcmp(v.mv_data, ward, v.mv_size) != 0))
      continue;
    char *id = g_strndup(k.mv_data, k.mv_size);
    if (hk_store_get_patient(t, id, &p) == 0 && p->admission)
      g_ptr_array_add(out, p);
    else
      hk_patient_free(p);
    g_free(id);
  }
  g_ptr_array_sort(out, hk_census_cmp);
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

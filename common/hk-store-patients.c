/* hk-store-patients.c: patients and their search keys (`pindex`).
 * See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-kana.h"
#include "hk-time.h"

#include <stdio.h>
#include <string.h>

/* ---- patients, their search index and the census ---- */

/* LMDB keys stop at 511 bytes; a name longer than any real one (a broken
 * HL7 field) is indexed by its first 400 bytes rather than failing the
 * whole batch it came in. */
#define HK_INDEX_TEXT_MAX 400

static char *
hk_index_text(const char *text)
{
  char *k = hk_kana_fold(text);

  if (k && strlen(k) > HK_INDEX_TEXT_MAX) {
    const char *end = k + HK_INDEX_TEXT_MAX;
    while (end > k && (*end & 0xC0) == 0x80)
      end--;
    k[end - k] = 0;
  }
  return k;
}

/* Index keys: one kind byte, the folded text, NUL, the patient ID. */
static GPtrArray *
hk_patient_index_keys(const HkPatient *p)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
  char *kana = hk_index_text(p->kana), *name = hk_index_text(p->name);

  if (kana && *kana)
    g_ptr_array_add(keys, g_strdup_printf("k%s", kana));
  if (name && *name)
    g_ptr_array_add(keys, g_strdup_printf("n%s", name));
  if (p->birth_date && hk_time_is_date(p->birth_date))
    g_ptr_array_add(keys, g_strdup_printf("b%s", p->birth_date));
  g_free(kana);
  g_free(name);
  return keys;
}

static void
hk_index_key(GByteArray *buf, const char *k, const char *id)
{
  g_byte_array_set_size(buf, 0);
  g_byte_array_append(buf, (const guint8 *)k, (guint)strlen(k) + 1);
  g_byte_array_append(buf, (const guint8 *)id, (guint)strlen(id));
}

int
hk_store_put_patient(hk_txn *t, HkPatient *p)
{
  HkPatient *old = NULL;
  GPtrArray *oldkeys = NULL, *newkeys = NULL;
  GByteArray *buf = g_byte_array_new();
  char *json = NULL;
  int ret;

  if (!hk_patient_id_valid(p->id)) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_store_get_patient(t, p->id, &old);
  if (ret && ret != -HK_ENOTFOUND)
    goto out;
  if (old) {
    oldkeys = hk_patient_index_keys(old);
    for (guint i = 0; i < oldkeys->len; i++) {
      hk_index_key(buf, g_ptr_array_index(oldkeys, i), p->id);
      hk_del(t, DB_PINDEX, buf->data, buf->len);
    }
  }
  p->updated_at = hk_time_now();
  json = hk_patient_to_json(p);
  ret = hk_put(t, DB_PATIENTS, p->id, strlen(p->id), json, strlen(json), 0);
  newkeys = hk_patient_index_keys(p);
  for (guint i = 0; ret == 0 && i < newkeys->len; i++) {
    hk_index_key(buf, g_ptr_array_index(newkeys, i), p->id);
    ret = hk_put(t, DB_PINDEX, buf->data, buf->len, "", 0, 0);
  }
  if (ret)
    goto out;
  if (p->admission && p->admission->ward)
    ret = hk_put(t, DB_CENSUS, p->id, strlen(p->id), p->admission->ward, strlen(p->admission->ward),
                 0);
  else
    hk_del(t, DB_CENSUS, p->id, strlen(p->id));
  if (ret == 0)
    ret = hk_patient_row_store(t, p);
  if (ret == 0)
    ret = t->ret;
out:
  hk_patient_free(old);
  if (oldkeys)
    g_ptr_array_unref(oldkeys);
  if (newkeys)
    g_ptr_array_unref(newkeys);
  g_byte_array_unref(buf);
  g_free(json);
  return ret;
}

int
hk_store_get_patient(hk_txn *t, const char *id, HkPatient **out)
{
  MDB_val v;
  int ret;

  *out = NULL;
  if (!hk_patient_id_valid(id)) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_get(t, DB_PATIENTS, id, strlen(id), &v);
  if (ret == 0)
    ret = hk_patient_from_json(v.mv_data, v.mv_size, out);
out:
  return ret;
}

int
hk_store_has_patient(hk_txn *t, const char *id)
{
  MDB_val v;

  return hk_patient_id_valid(id) ? hk_get(t, DB_PATIENTS, id, strlen(id), &v) : -HK_ENOTFOUND;
}

static bool
hk_has_id(GPtrArray *ids, const char *id)
{
  for (guint i = 0; i < ids->len; i++)
    if (strcmp(g_ptr_array_index(ids, i), id) == 0)
      return true;
  return false;
}

/* Add the IDs of index entries whose key (kind + folded text) starts with
 * prefix (or, for substring, contains needle) and whose patient exists. */
static int
hk_search_index(hk_txn *t, char kind, const char *prefix, const char *needle, unsigned limit,
                GPtrArray *ids)
{
  MDB_cursor *c = NULL;
  char *start = g_strdup_printf("%c%s", kind, prefix ? prefix : "");
  size_t slen = strlen(start);
  MDB_val k = {slen, start}, v;
  int rc, ret;

  ret = hk_cursor(t, DB_PINDEX, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && ids->len < limit;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const char *kp = k.mv_data;
    const char *nul = memchr(kp, 0, k.mv_size);
    if (k.mv_size < slen || memcmp(kp, start, slen) != 0 || !nul)
      break;
    if (needle && !strstr(kp + 1, needle))
      continue;
    char *id = g_strndup(nul + 1, k.mv_size - (size_t)(nul + 1 - kp));
    if (!hk_has_id(ids, id) && hk_store_has_patient(t, id) == 0)
      g_ptr_array_add(ids, g_steal_pointer(&id));
    g_free(id);
  }
out:
  if (c)
    mdb_cursor_close(c);
  g_free(start);
  return ret;
}

int
hk_search_patient_ids(hk_txn *t, const char *query, unsigned limit, GPtrArray *ids)
{
  char *folded = NULL, *q = NULL;
  int ret = 0;

  if (!query || !g_utf8_validate(query, -1, NULL)) {
    ret = -HK_EINVAL;
    goto out;
  }
  q = g_strstrip(g_strdup(query));
  if (!*q || limit == 0)
    goto out;
  /* The ID first: it is what a wristband or a referral letter gives. An
   * exact ID is the answer alone: a scan must show that one patient, not
   * others whose names hold the text, and must not read every name key
   * to look for them (at a million patients that scan was most of an ID
   * search's time). */
  if (hk_patient_id_valid(q) && hk_store_has_patient(t, q) == 0) {
    g_ptr_array_add(ids, g_strdup(q));
    goto out;
  }
  if (hk_time_is_date(q)) {
    ret = hk_search_index(t, 'b', q, NULL, limit, ids);
    goto out;
  }
  folded = hk_kana_fold(q);
  if (!folded || !*folded)
    goto out;
  if (hk_kana_is_kana(q))
    ret = hk_search_index(t, 'k', folded, NULL, limit, ids);
  if (ret == 0 && ids->len < limit)
    ret = hk_search_index(t, 'n', NULL, folded, limit, ids);
out:
  g_free(folded);
  g_free(q);
  return ret;
}

int
hk_store_search_patients(hk_txn *t, const char *query, unsigned limit, GPtrArray *out)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  int ret = hk_search_patient_ids(t, query, limit, ids);

  for (guint i = 0; ret == 0 && i < ids->len; i++) {
    HkPatient *p = NULL;
    if (hk_store_get_patient(t, ids->pdata[i], &p) == 0)
      g_ptr_array_add(out, p);
  }
  g_ptr_array_unref(ids);
  return ret;
}

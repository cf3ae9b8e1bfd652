/* hk-store-sources.c: the source registry (`sources`): walking it and checking it against the
 * documents. See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"

#include <stdio.h>
#include <string.h>

/* Split a registry key (name NUL source_id) into its two parts. */
static bool
hk_split_source(const MDB_val *k, char **name, char **sid)
{
  const char *nul = memchr(k->mv_data, 0, k->mv_size);

  if (!nul)
    return false;
  *name = g_strndup(k->mv_data, (gsize)(nul - (const char *)k->mv_data));
  *sid = g_strndup(nul + 1, k->mv_size - (gsize)(nul - (const char *)k->mv_data) - 1);
  return true;
}

int
hk_store_foreach_source(hk_txn *t, HkSourceFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_SOURCES, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char *name = NULL, *sid = NULL, hex[HK_DOC_ID_LEN + 1];
    if (v.mv_size != 8 || !hk_split_source(&k, &name, &sid)) {
      ret = -HK_ECORRUPT;
      break;
    }
    hk_version_doc_id_hex(v.mv_data, hex);
    ret = fn(name, sid, hex, data);
    g_free(name);
    g_free(sid);
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_check_sources(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  uint64_t registered = 0;
  int rc, ret;

  *checked = *bad = 0;
  ret = hk_cursor(t, DB_DOCS, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char hex[HK_DOC_ID_LEN + 1], found[HK_DOC_ID_LEN + 1];
    char *name = NULL, *sid = NULL;
    HkVersion *cur = NULL;
    (*checked)++;
    if (k.mv_size != 8) {
      fprintf(err, "BADKEY docs entry of %zu bytes\n", k.mv_size);
      (*bad)++;
      continue;
    }
    hk_version_doc_id_hex(k.mv_data, hex);
    if (!hk_split_source(&v, &name, &sid)) {
      fprintf(err, "UNREGISTERED %s: no source name (a format-1 entry)\n", hex);
      (*bad)++;
      continue;
    }
    if (hk_store_find_doc(t, name, sid, found) != 0 || strcmp(found, hex) != 0) {
      fprintf(err, "UNREGISTERED %s: source %s has no registry entry for it\n", hex, name);
      (*bad)++;
    } else if (hk_current_version(t, k.mv_data, &cur) != 0 || strcmp(cur->source_id, sid) != 0) {
      fprintf(err, "MISMATCH %s: registry source_id differs from its versions'\n", hex);
      (*bad)++;
    }
    hk_version_free(cur);
    g_free(name);
    g_free(sid);
  }
  registered = hk_entries(t, DB_SOURCES);
  if (registered != *checked) {
    fprintf(err, "REGISTRY %" G_GUINT64_FORMAT " entries for %" G_GUINT64_FORMAT " documents\n",
            registered, *checked);
    (*bad)++;
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

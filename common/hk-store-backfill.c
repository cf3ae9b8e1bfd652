/* hk-store-backfill.c: queue for text extraction the versions stored before
 * it existed (text status "none"), a bounded step at a time, with a cursor
 * in `meta` so that a restart goes on where it stopped. See
 * hk-store-private.h for what the files of the store share, docs/search.md
 * ("Backfill") for why in this order. */

#include "hk-store-private.h"

#include "hk-error.h"

#include <string.h>

#define HK_BACKFILL_KEY "text_backfill"
#define HK_BACKFILL_VKEY 12 /* document ID (8) + version (4), as `versions` */

/* The cursor, as text: "current:<key hex>" (the last version of each
 * document first: what clinicians read), "all:<key hex>" (then every
 * version), "done". A pass without a key starts at the beginning. */
typedef enum { HK_BF_CURRENT, HK_BF_ALL, HK_BF_DONE } HkBackfillPass;

static int
hk_backfill_get(hk_txn *t, HkBackfillPass *pass, uint8_t key[HK_BACKFILL_VKEY], bool *have_key)
{
  MDB_val v;
  char buf[64];
  const char *hex = NULL;
  int ret = hk_get(t, DB_META, HK_BACKFILL_KEY, strlen(HK_BACKFILL_KEY), &v);

  *pass = HK_BF_CURRENT;
  *have_key = false;
  if (ret == -HK_ENOTFOUND) {
    ret = 0;
    goto out;
  }
  /* A cursor that does not parse starts the walk again: it only costs
   * time, and queues nothing twice. */
  if (ret || v.mv_size >= sizeof buf)
    goto out;
  memcpy(buf, v.mv_data, v.mv_size);
  buf[v.mv_size] = '\0';
  if (strcmp(buf, "done") == 0)
    *pass = HK_BF_DONE;
  else if (g_str_has_prefix(buf, "all:"))
    *pass = HK_BF_ALL, hex = buf + 4;
  else if (g_str_has_prefix(buf, "current:"))
    hex = buf + 8;
  if (hex && strlen(hex) == 2 * HK_BACKFILL_VKEY) {
    *have_key = true;
    for (int i = 0; i < HK_BACKFILL_VKEY && *have_key; i++) {
      int hi = g_ascii_xdigit_value(hex[2 * i]), lo = g_ascii_xdigit_value(hex[2 * i + 1]);
      *have_key = hi >= 0 && lo >= 0;
      key[i] = (uint8_t)(hi << 4 | lo);
    }
  }
out:
  return ret;
}

static int
hk_backfill_set(hk_txn *t, HkBackfillPass pass, const uint8_t *key)
{
  GString *v = g_string_new(pass == HK_BF_DONE      ? "done"
                            : pass == HK_BF_CURRENT ? "current:"
                                                    : "all:");
  int ret;

  for (int i = 0; key && pass != HK_BF_DONE && i < HK_BACKFILL_VKEY; i++)
    g_string_append_printf(v, "%02x", key[i]);
  ret = hk_put(t, DB_META, HK_BACKFILL_KEY, strlen(HK_BACKFILL_KEY), v->str, v->len, 0);
  g_string_free(v, TRUE);
  return ret;
}

/* Queue the version under key if it has neither a text status nor a queue
 * entry. */
static int
hk_backfill_one(hk_txn *t, const void *key, unsigned *queued)
{
  MDB_val v;
  int ret = hk_get(t, DB_TEXTS, key, HK_BACKFILL_VKEY, &v);

  if (ret == -HK_ENOTFOUND)
    ret = hk_get(t, DB_TEXTQ, key, HK_BACKFILL_VKEY, &v);
  if (ret == -HK_ENOTFOUND) {
    ret = hk_put(t, DB_TEXTQ, key, HK_BACKFILL_VKEY, "", 0, 0);
    *queued += ret == 0;
  }
  return ret;
}

int
hk_store_text_backfill(hk_txn *t, unsigned max, unsigned *queued, bool *done)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  HkBackfillPass pass;
  uint8_t key[HK_BACKFILL_VKEY], seek[HK_BACKFILL_VKEY];
  bool have_key;
  unsigned visited = 0;
  int rc = 0, ret;

  *queued = 0;
  *done = false;
  ret = hk_backfill_get(t, &pass, key, &have_key);
  if (ret == 0 && pass != HK_BF_DONE)
    ret = hk_cursor(t, DB_VERSIONS, &c);
  if (ret || pass == HK_BF_DONE)
    goto out;
  while (ret == 0 && pass != HK_BF_DONE && visited < max) {
    if (pass == HK_BF_CURRENT) {
      /* The first version of the next document, then the last of it. */
      if (!have_key) {
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
      } else {
        memcpy(seek, key, 8);
        memset(seek + 8, 0xff, 4);
        k = (MDB_val){sizeof seek, seek};
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
      }
      if (rc == 0 && k.mv_size == HK_BACKFILL_VKEY) {
        memcpy(seek, k.mv_data, 8);
        memset(seek + 8, 0xff, 4);
        k = (MDB_val){sizeof seek, seek};
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc == 0 && memcmp(k.mv_data, seek, sizeof seek) != 0)
          rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
        else if (rc == MDB_NOTFOUND)
          rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
      }
    } else if (!have_key) {
      rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    } else {
      k = (MDB_val){HK_BACKFILL_VKEY, key};
      rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
      if (rc == 0 && k.mv_size == HK_BACKFILL_VKEY && memcmp(k.mv_data, key, sizeof key) == 0)
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
      /* This pass is through: the next one starts at the beginning. */
      pass = pass == HK_BF_CURRENT ? HK_BF_ALL : HK_BF_DONE;
      have_key = false;
      rc = 0;
      continue;
    }
    if (rc)
      break;
    visited++;
    /* verify names a malformed key; the walk steps over it. */
    if (k.mv_size == HK_BACKFILL_VKEY)
      ret = hk_backfill_one(t, k.mv_data, queued);
    memset(key, 0, sizeof key);
    memcpy(key, k.mv_data, MIN(k.mv_size, sizeof key));
    have_key = true;
  }
  if (rc)
    ret = t->ret = hk_mdb_err(rc);
  if (ret == 0)
    ret = hk_backfill_set(t, pass, have_key ? key : NULL);
  *done = ret == 0 && pass == HK_BF_DONE;
out:
  if (c)
    mdb_cursor_close(c);
  if (ret == 0 && pass == HK_BF_DONE)
    *done = true;
  return ret;
}

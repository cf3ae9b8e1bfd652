/* hk-store-blobs.c: blobs (content keyed by its SHA-256) and thumbnails, with the queue of
 * thumbnails still to draw. See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-sha256.h"

#include <string.h>

/* ---- blobs ---- */

int
hk_store_put_blob(hk_txn *t, const char *sha_hex, const void *data, size_t len, bool *created)
{
  uint8_t key[HK_SHA256_LEN];
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    ret = hk_put(t, DB_BLOBS, key, sizeof key, data, len, MDB_NOOVERWRITE);
  if (created)
    *created = ret == 0;
  if (ret == -HK_EEXIST)
    ret = 0;
  return ret;
}

int
hk_store_get_blob(hk_txn *t, const char *sha_hex, const void **data, size_t *len)
{
  uint8_t key[HK_SHA256_LEN];
  MDB_val v;
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    ret = hk_get(t, DB_BLOBS, key, sizeof key, &v);
  if (ret == 0) {
    *data = v.mv_data;
    *len = v.mv_size;
  }
  return ret;
}

int
hk_store_put_thumbnail(hk_txn *t, const char *sha_hex, const void *jpeg, size_t len)
{
  uint8_t key[HK_SHA256_LEN];
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    ret = hk_put(t, DB_THUMBS, key, sizeof key, jpeg, len, MDB_NOOVERWRITE);
  if (ret == -HK_EEXIST)
    ret = 0;
  if (ret == 0)
    hk_del(t, DB_THUMBQ, key, sizeof key);
  return ret ? ret : t->ret;
}

int
hk_store_queue_thumbnail(hk_txn *t, const char *sha_hex)
{
  uint8_t key[HK_SHA256_LEN];
  MDB_val v;
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0 && hk_get(t, DB_THUMBS, key, sizeof key, &v) == -HK_ENOTFOUND)
    ret = hk_put(t, DB_THUMBQ, key, sizeof key, "", 0, 0);
  return ret ? ret : t->ret;
}

int
hk_store_unqueue_thumbnail(hk_txn *t, const char *sha_hex)
{
  uint8_t key[HK_SHA256_LEN];
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    hk_del(t, DB_THUMBQ, key, sizeof key);
  return ret ? ret : t->ret;
}

int
hk_store_thumbnail_queue(hk_txn *t, unsigned max, GPtrArray *out)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_THUMBQ, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && out->len < max;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char hex[HK_SHA256_HEX_LEN + 1];
    if (k.mv_size != HK_SHA256_LEN)
      continue;
    hk_sha256_hex(k.mv_data, hex);
    g_ptr_array_add(out, g_strdup(hex));
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_get_thumbnail(hk_txn *t, const char *sha_hex, const void **jpeg, size_t *len)
{
  uint8_t key[HK_SHA256_LEN];
  MDB_val v;
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    ret = hk_get(t, DB_THUMBS, key, sizeof key, &v);
  if (ret == 0) {
    *jpeg = v.mv_data;
    *len = v.mv_size;
  }
  return ret;
}

/* hk-store-files.c: the state of source files, so that rescans skip what they already did.
 * See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-sha256.h"

#include <stdio.h>
#include <string.h>

/* ---- file state ---- */

/* LMDB's key limit is 511 bytes; longer paths are keyed by their hash. */
static const char *
hk_file_key(const char *key, char hashed[80])
{
  uint8_t d[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];

  if (strlen(key) <= 500)
    return key;
  hk_sha256(key, strlen(key), d);
  hk_sha256_hex(d, hex);
  snprintf(hashed, 80, "#%s", hex);
  return hashed;
}

int
hk_store_get_file_state(hk_txn *t, const char *key, HkFileState *out)
{
  char hashed[80];
  const char *k = hk_file_key(key, hashed);
  MDB_val v;
  int ret = hk_get(t, DB_FILES, k, strlen(k), &v);

  if (ret == 0 && v.mv_size != sizeof *out)
    ret = -HK_ECORRUPT;
  if (ret == 0)
    memcpy(out, v.mv_data, sizeof *out);
  return ret;
}

int
hk_store_put_file_state(hk_txn *t, const char *key, const HkFileState *st)
{
  char hashed[80];
  const char *k = hk_file_key(key, hashed);

  return hk_put(t, DB_FILES, k, strlen(k), st, sizeof *st, 0);
}

/* hk-test-asof STORE AGE_S: set the store's archive_as_of to AGE_S seconds
 * before now, so that tests/server/test-drill.py can show the drill's
 * freshness step failing on an old archive without waiting for one. Run
 * only while no indexer holds the store (it would write its own). */
#include "hk-error.h"
#include "hk-store.h"
#include "hk-time.h"

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
  hk_store *s = NULL;
  hk_txn *t = NULL;
  int ret;

  if (argc != 3) {
    fprintf(stderr, "usage: hk-test-asof STORE AGE_S\n");
    return 2;
  }
  ret = hk_store_open(argv[1], 0, &s);
  if (ret == 0)
    ret = hk_txn_begin(s, true, &t);
  if (ret == 0) {
    ret = hk_store_set_archive_as_of(t, hk_time_now() - atoll(argv[2]) * G_USEC_PER_SEC);
    ret = ret ? (hk_txn_abort(t), ret) : hk_txn_commit(t);
  }
  if (s)
    hk_store_close(s);
  if (ret)
    fprintf(stderr, "hk-test-asof: %s\n", hk_strerror(ret));
  return ret ? 1 : 0;
}

/* hk-test-heartbeat STORE STATE AGE_S: write the indexer's state into a
 * store with a heartbeat AGE_S seconds in the past, so that the tests of
 * the stale -> stopped status need not wait out the staleness limit
 * (tests/server/test-server-surface.py). STATE: running, stopped, sealed. */
#include "hk-error.h"
#include "hk-store.h"
#include "hk-time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
  HkIndexerInfo info = {0};
  hk_store *s = NULL;
  hk_txn *t = NULL;
  int ret;

  if (argc != 4) {
    fprintf(stderr, "usage: hk-test-heartbeat STORE running|stopped|sealed AGE_S\n");
    return 2;
  }
  info.state = strcmp(argv[2], "running") == 0  ? HK_INDEXER_RUNNING
               : strcmp(argv[2], "sealed") == 0 ? HK_INDEXER_SEALED
                                                : HK_INDEXER_STOPPED;
  info.reason = info.state == HK_INDEXER_SEALED ? (char *)"test seal" : NULL;
  info.heartbeat_at = hk_time_now() - atoll(argv[3]) * G_USEC_PER_SEC;
  info.sealed_at = info.state == HK_INDEXER_SEALED ? info.heartbeat_at : 0;
  info.pid = getpid();
  ret = hk_store_open(argv[1], 0, &s);
  if (ret == 0)
    ret = hk_txn_begin(s, true, &t);
  if (ret == 0) {
    ret = hk_store_set_indexer(t, &info);
    ret = ret ? (hk_txn_abort(t), ret) : hk_txn_commit(t);
  }
  if (s)
    hk_store_close(s);
  if (ret)
    fprintf(stderr, "hk-test-heartbeat: %s\n", hk_strerror(ret));
  return ret ? 1 : 0;
}

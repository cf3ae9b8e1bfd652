/* hk-test-reindex STORE: rebuild the full-text index of a store with
 * hk_fts_rebuild, as the writer does (tests/server/test-search-api.py),
 * until hikae-admin reindex and the indexer's own upkeep of the index are
 * merged; then the test uses those and this goes. */
#include "hk-error.h"
#include "hk-fts.h"
#include "hk-store.h"

#include <stdio.h>

int
main(int argc, char **argv)
{
  hk_store *s = NULL;
  uint64_t docs = 0;
  int ret;

  if (argc != 2) {
    fprintf(stderr, "usage: hk-test-reindex STORE\n");
    return 2;
  }
  ret = hk_store_open(argv[1], 0, &s);
  if (ret == 0)
    ret = hk_fts_rebuild(s, &docs);
  if (ret < 0)
    fprintf(stderr, "hk-test-reindex: %s\n", hk_strerror(ret));
  else
    printf("%llu documents indexed\n", (unsigned long long)docs);
  hk_store_close(s);
  return ret < 0 ? 1 : 0;
}

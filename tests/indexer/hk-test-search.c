/* hk-test-search STORE QUERY [PATIENT]: what the search index answers, one
 * line per page ("DOCID vN PATIENT pPAGE"), for the shell tests. Exit 0, 2
 * for a query refused, 3 if the index does not open (its reason on
 * stderr). */
#include "hk-error.h"
#include "hk-fts.h"
#include "hk-store.h"

#include <stdio.h>

static int
hk_print(const HkFtsHit *h, void *data)
{
  (void)data;
  printf("%s v%u %s p%u\n", h->doc_id, h->version, h->patient, h->page);
  return 0;
}

int
main(int argc, char **argv)
{
  hk_store *s = NULL;
  hk_fts *f = NULL;
  HkFtsQuery *q = NULL;
  char *msg = NULL;
  int ret, status = 0;

  if (argc < 3) {
    fprintf(stderr, "usage: %s STORE QUERY [PATIENT]\n", argv[0]);
    return 2;
  }
  if (hk_fts_query_parse(argv[2], &q, &msg) != 0) {
    fprintf(stderr, "%s\n", msg);
    g_free(msg);
    return 2;
  }
  ret = hk_store_open(argv[1], HK_STORE_RDONLY, &s);
  if (ret == 0)
    ret = hk_fts_open(s, false, &f);
  if (ret == 0)
    ret = hk_fts_search(f, argc > 3 ? argv[3] : NULL, q, 1000, hk_print, NULL);
  if (ret) {
    fprintf(stderr, "%s: %s\n", hk_strerror(ret), hk_fts_reason(f));
    status = 3;
  }
  hk_fts_close(f);
  hk_store_close(s);
  hk_fts_query_free(q);
  return status;
}

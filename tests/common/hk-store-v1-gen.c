/* hk-store-v1-gen DIR: write a small format-1 store (hk-store-v1.h) for
 * the migration test (tests/indexer/test-migrate.sh). */
#include "hk-store-v1.h"

#include <lmdb.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
  static const HkV1Doc docs[] = {
      {"0000000001", "EHR:PN:1", "progress_note", "2026-11-20T14:03:00+09:00", "legacy note 1\n"},
      {"0000000001", "EHR:PN:1", "progress_note", "2026-11-20T14:03:00+09:00",
       "legacy note 1, v2\n"},
      {"0000000001", "EHR:TX:1", "nursing_record", "2026-11-21T09:00:00+09:00", "legacy record\n"},
      {"0000000002", "SSMIX2:0000000002:OML-11:1", "lab_report", "2026-11-22T10:00:00+09:00",
       "legacy lab\n"},
  };
  int rc;

  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  rc = hk_store_v1_write(argv[1], docs, sizeof docs / sizeof docs[0]);
  if (rc)
    fprintf(stderr, "%s: %s\n", argv[0], mdb_strerror(rc));
  return rc ? 1 : 0;
}

/* A reader for the torture tests: opens the LMDB store DIR read-only,
 * begins a read transaction, prints "reading <pid>" and waits forever
 * holding it, so that a test can kill -9 or SIGSTOP a process that holds a
 * reader slot (tests/torture/faults.sh, tests/indexer/test-stale-reader.sh). */
#include <lmdb.h>
#include <stdio.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  int rc;

  if (argc != 2) {
    fprintf(stderr, "usage: hk-test-reader STORE_DIR\n");
    return 2;
  }
  rc = mdb_env_create(&env);
  if (!rc)
    rc = mdb_env_set_maxreaders(env, 510); /* hikae's table size */
  if (!rc)
    rc = mdb_env_set_maxdbs(env, 32);
  if (!rc)
    rc = mdb_env_open(env, argv[1], MDB_RDONLY | MDB_NOTLS, 0);
  if (!rc)
    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
  if (rc) {
    fprintf(stderr, "hk-test-reader: %s: %s\n", argv[1], mdb_strerror(rc));
    return 1;
  }
  printf("reading %d txn %zu\n", (int)getpid(), mdb_txn_id(txn));
  fflush(stdout);
  for (;;)
    pause();
}

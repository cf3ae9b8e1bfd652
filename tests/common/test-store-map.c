/* Unit tests of the store's map (issue 10, item 4), over a real LMDB in a
 * private temporary folder:
 *  - the default map is 1 TiB, in writers and readers alike, and a reader
 *    with it never has to remap while the writer grows the store;
 *  - threads reading (and hashing) blobs while another thread of the same
 *    process grows the map 5+ times: the remap waits for their
 *    transactions (before the fix: a use after unmap, SIGSEGV);
 *  - a nested transaction cannot deadlock against a remap, and a growth
 *    under the caller's own transaction is refused;
 *  - a child forked without exec (the indexer's parsers) does not inherit
 *    the terabyte mapping, so its RLIMIT_AS can still be set. */
#include "hk-error.h"
#include "hk-sha256.h"
#include "hk-store.h"
#include "hk-test.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp;
static char *store_dir;

static void
setup(void)
{
  hk_test_store_setup("store-map", &tmp, &store_dir);
}

static void
teardown(void)
{
  hk_test_store_teardown(&tmp, &store_dir);
}

static void
sha_of(const void *data, size_t len, char hex[HK_SHA256_HEX_LEN + 1])
{
  uint8_t d[HK_SHA256_LEN];

  ck_assert_int_eq(hk_sha256(data, len, d), 0);
  hk_sha256_hex(d, hex);
}

/* Store len bytes of pattern seed; grows the map when full. Returns the
 * number of growths it took. */
static unsigned
put(hk_store *s, size_t len, uint32_t seed, char sha[HK_SHA256_HEX_LEN + 1])
{
  uint8_t *buf = g_malloc(len);
  unsigned grown = 0;
  hk_txn *t;
  int ret;

  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)((i * 2654435761u + seed * 40503u) >> 13);
  sha_of(buf, len, sha);
  for (;;) {
    ck_assert_int_eq(hk_txn_begin(s, true, &t), 0);
    hk_store_put_blob(t, sha, buf, len, NULL);
    ret = hk_txn_commit(t);
    if (ret != -HK_ESPACE)
      break;
    ck_assert_int_eq(hk_store_grow(s), 0);
    grown++;
  }
  ck_assert_int_eq(ret, 0);
  g_free(buf);
  return grown;
}

static bool
mapped_in_self(const char *dir)
{
  char *data = g_build_filename(dir, "data.mdb", NULL);
  char *real = realpath(data, NULL);
  FILE *f = fopen("/proc/self/maps", "r");
  char line[4096];
  bool found = false;

  while (real && f && fgets(line, sizeof line, f))
    if (strstr(line, real))
      found = true;
  if (f)
    fclose(f);
  free(real);
  g_free(data);
  return found;
}

START_TEST(test_default_map)
{
  hk_store *w = NULL, *r = NULL;
  char sha[HK_SHA256_HEX_LEN + 1];
  const void *data;
  size_t len;
  hk_txn *t;

  ck_assert_int_eq(hk_store_open_map(store_dir, HK_STORE_CREATE, HK_STORE_MAP_MIN, &w), 0);
  ck_assert_uint_lt(hk_store_map_size(w), 4 * HK_STORE_MAP_MIN);
  ck_assert_int_eq(hk_store_open(store_dir, HK_STORE_RDONLY, &r), 0);
  ck_assert_uint_ge(hk_store_map_size(r), HK_STORE_MAP_DEFAULT);
  ck_assert(mapped_in_self(store_dir));
  /* The writer grows from 1 MiB to 16; the reader's map needs no change. */
  ck_assert_uint_ge(put(w, 12u << 20, 1, sha), 3);
  ck_assert_int_eq(hk_txn_begin(r, false, &t), 0);
  ck_assert_int_eq(hk_store_get_blob(t, sha, &data, &len), 0);
  ck_assert_uint_eq(len, 12u << 20);
  hk_txn_abort(t);
  ck_assert_uint_eq(hk_store_remaps(r), 0);
  ck_assert_uint_ge(hk_store_remaps(w), 3);
  hk_store_close(r);
  hk_store_close(w);
  /* Reopened with the default, the writer maps 1 TiB too. */
  ck_assert_int_eq(hk_store_open(store_dir, 0, &w), 0);
  ck_assert_uint_ge(hk_store_map_size(w), HK_STORE_MAP_DEFAULT);
  hk_store_close(w);
}
END_TEST

typedef struct {
  hk_store *s;
  char sha[HK_SHA256_HEX_LEN + 1];
  size_t len;
  gint stop;
  gint reads;
  gint bad;
} Readers;

static gpointer
reader_thread(gpointer arg)
{
  Readers *rd = arg;

  while (!g_atomic_int_get(&rd->stop)) {
    char sha[HK_SHA256_HEX_LEN + 1];
    const void *data;
    size_t len;
    hk_txn *t = NULL;

    if (hk_txn_begin(rd->s, false, &t) != 0) {
      g_atomic_int_inc(&rd->bad);
      continue;
    }
    /* Hash the bytes in place: every page of the blob is read from the
     * map while a growth may be waiting. */
    if (hk_store_get_blob(t, rd->sha, &data, &len) != 0 || len != rd->len) {
      g_atomic_int_inc(&rd->bad);
    } else {
      uint8_t d[HK_SHA256_LEN];
      hk_sha256(data, len, d);
      hk_sha256_hex(d, sha);
      if (strcmp(sha, rd->sha) != 0)
        g_atomic_int_inc(&rd->bad);
    }
    hk_txn_abort(t);
    g_atomic_int_inc(&rd->reads);
  }
  return NULL;
}

START_TEST(test_grow_under_readers)
{
  Readers rd = {0};
  GThread *th[4];
  unsigned grown = 0;
  char sha[HK_SHA256_HEX_LEN + 1];

  ck_assert_int_eq(hk_store_open_map(store_dir, HK_STORE_CREATE, HK_STORE_MAP_MIN, &rd.s), 0);
  rd.len = 256 * 1024;
  grown += put(rd.s, rd.len, 0, rd.sha);
  for (int i = 0; i < 4; i++)
    th[i] = g_thread_new("reader", reader_thread, &rd);
  /* 40 MiB more from 1 MiB: at least 5 doublings while the readers run. */
  for (uint32_t i = 1; i <= 160; i++)
    grown += put(rd.s, 256 * 1024, i, sha);
  g_atomic_int_set(&rd.stop, 1);
  for (int i = 0; i < 4; i++)
    g_thread_join(th[i]);
  printf("store-map: %u growths under %d reads\n", grown, g_atomic_int_get(&rd.reads));
  ck_assert_uint_ge(grown, 5);
  ck_assert_int_gt(g_atomic_int_get(&rd.reads), 0);
  ck_assert_int_eq(g_atomic_int_get(&rd.bad), 0);
  hk_store_close(rd.s);
}
END_TEST

START_TEST(test_nested_and_own_txn)
{
  hk_store *s = NULL;
  hk_txn *a = NULL, *b = NULL;
  char sha[HK_SHA256_HEX_LEN + 1];

  ck_assert_int_eq(hk_store_open_map(store_dir, HK_STORE_CREATE, HK_STORE_MAP_MIN, &s), 0);
  put(s, 1000, 1, sha);
  ck_assert_int_eq(hk_txn_begin(s, false, &a), 0);
  ck_assert_int_eq(hk_txn_begin(s, false, &b), 0);
  /* A growth under our own transaction would wait for itself. */
  ck_assert_int_eq(hk_store_grow(s), -HK_EBUSY);
  hk_txn_abort(b);
  ck_assert_int_eq(hk_store_grow(s), -HK_EBUSY);
  hk_txn_abort(a);
  ck_assert_int_eq(hk_store_grow(s), 0);
  hk_store_close(s);
}
END_TEST

START_TEST(test_fork_child_unmapped)
{
  hk_store *s = NULL;
  int status = 0;
  pid_t pid;

  ck_assert_int_eq(hk_store_open(store_dir, HK_STORE_CREATE, &s), 0);
  ck_assert(mapped_in_self(store_dir));
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int rc = 0;
    if (mapped_in_self(store_dir))
      rc = 1;
#if !defined(__SANITIZE_ADDRESS__)
    else {
      /* What the parser child does: a 2 GiB address space, then work. */
      struct rlimit mem = {2048ull << 20, 2048ull << 20};
      char *p;
      if (setrlimit(RLIMIT_AS, &mem) != 0)
        rc = 2;
      else if (!(p = malloc(256u << 20)))
        rc = 3;
      else
        memset(p, 1, 256u << 20);
    }
#endif
    _exit(rc);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  ck_assert_msg(WEXITSTATUS(status) == 0, "child: %s",
                WEXITSTATUS(status) == 1 ? "still maps the store"
                                         : "cannot allocate under RLIMIT_AS");
  /* The parent keeps its map. */
  ck_assert(mapped_in_self(store_dir));
  hk_store_close(s);
}
END_TEST

/* hk_store_write runs its function again after each growth, and when the
 * last run still does not fit it answers -HK_ESPACE without growing again
 * (the loops it replaced grew once more and answered 0: a migration that
 * committed nothing was reported done). */
typedef struct {
  int runs, fits_at;
} HkFullRun;

static int
full_until(hk_txn *t, void *data)
{
  HkFullRun *r = data;

  (void)t;
  return ++r->runs >= r->fits_at ? 0 : -HK_ESPACE;
}

START_TEST(test_write_grows_and_retries)
{
  hk_store *s = NULL;
  HkFullRun fits = {0, 3}, never = {0, 1000};
  uint64_t size;

  ck_assert_int_eq(hk_store_open_map(store_dir, HK_STORE_CREATE, HK_STORE_MAP_MIN, &s), 0);
  size = hk_store_map_size(s);
  ck_assert_int_eq(hk_store_write(s, 8, full_until, &fits), 0);
  ck_assert_int_eq(fits.runs, 3);
  ck_assert_uint_eq(hk_store_map_size(s), size * 4);
  size = hk_store_map_size(s);
  ck_assert_int_eq(hk_store_write(s, 2, full_until, &never), -HK_ESPACE);
  ck_assert_int_eq(never.runs, 2);
  ck_assert_uint_eq(hk_store_map_size(s), size * 2);
  hk_store_close(s);
}
END_TEST

static Suite *
suite(void)
{
  Suite *s = suite_create("store-map");
  TCase *tc = tcase_create("map");

  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_default_map);
  tcase_add_test(tc, test_grow_under_readers);
  tcase_add_test(tc, test_nested_and_own_txn);
  tcase_add_test(tc, test_fork_child_unmapped);
  tcase_add_test(tc, test_write_grows_and_retries);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(suite());
}

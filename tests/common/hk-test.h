/* hk-test.h: what the Check runners of tests/common share: a private
 * temporary folder per test (made with g_dir_make_tmp, removed afterwards, as
 * Knot's test_mkdtemp does), a store opened or the test failed, and the
 * one-line main() of every runner. */
#pragma once

#include "hk-store.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>

/* Remove a folder and everything under it. Tests make only plain files and
 * folders, so no symlink handling is needed. */
static inline void
hk_test_rmtree(const char *path)
{
  GDir *d = g_dir_open(path, 0, NULL);
  const char *name;

  if (!d) {
    g_unlink(path);
    return;
  }
  while ((name = g_dir_read_name(d))) {
    char *child = g_build_filename(path, name, NULL);
    if (g_file_test(child, G_FILE_TEST_IS_DIR))
      hk_test_rmtree(child);
    else
      g_unlink(child);
    g_free(child);
  }
  g_dir_close(d);
  g_rmdir(path);
}

/* The runner's own folder, made in the parent before any test forks: a
 * failed assertion ends a forked test before its teardown, so per-test
 * folders live under this one and the parent removes it at the end. */
static char *hk_test_root;

static inline char *
hk_test_mkdtemp(const char *name)
{
  char *dir;

  if (hk_test_root) {
    char *tmpl = g_strdup_printf("%s-XXXXXX", name);
    dir = g_build_filename(hk_test_root, tmpl, NULL);
    g_free(tmpl);
    if (!g_mkdtemp(dir))
      g_clear_pointer(&dir, g_free);
  } else {
    char *tmpl = g_strdup_printf("hk-%s-XXXXXX", name);
    dir = g_dir_make_tmp(tmpl, NULL);
    g_free(tmpl);
  }
  ck_assert_ptr_nonnull(dir);
  return dir;
}

/* The folder of one store test and the store folder inside it (not made:
 * hk_store_open creates it), as the tests of hk-store set up each test. */
static inline void
hk_test_store_setup(const char *name, char **tmp, char **store_dir)
{
  *tmp = hk_test_mkdtemp(name);
  *store_dir = g_build_filename(*tmp, "store", NULL);
}

/* Open the store in store_dir with flags (HK_STORE_*); a failure fails
 * the test. */
static inline hk_store *
hk_test_store_open(const char *store_dir, unsigned flags)
{
  hk_store *s = NULL;

  ck_assert_int_eq(hk_store_open(store_dir, flags, &s), 0);
  ck_assert_ptr_nonnull(s);
  return s;
}

/* Remove what hk_test_store_setup made and forget both paths. */
static inline void
hk_test_store_teardown(char **tmp, char **store_dir)
{
  hk_test_rmtree(*tmp);
  g_clear_pointer(store_dir, g_free);
  g_clear_pointer(tmp, g_free);
}

/* Run one suite; the exit status is the number of failed tests (0 = pass). */
static inline int
hk_test_run(Suite *s)
{
  SRunner *sr = srunner_create(s);
  int failed;

  /* A g_critical is a contract broken inside the code under test (a NULL
   * handed to json-glib, say): fail the test instead of logging on. */
  g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
  hk_test_root = g_dir_make_tmp("hk-tests-XXXXXX", NULL);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (hk_test_root) {
    hk_test_rmtree(hk_test_root);
    g_clear_pointer(&hk_test_root, g_free);
  }
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

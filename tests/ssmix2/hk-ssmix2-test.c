/* hk-ssmix2-test.c: shared set-up of the SS-MIX2 integration tests. */
#include "hk-ssmix2-test.h"

#include "hk-jis.h"
#include "hk-log.h"

#include <stdlib.h>
#include <string.h>

char *hk_t_tmp, *hk_t_root;

void
hk_t_setup(const char *tmpl)
{
  hk_log_set_level(HK_LOG_ERROR);
  hk_t_tmp = g_dir_make_tmp(tmpl, NULL);
  ck_assert_ptr_nonnull(hk_t_tmp);
  hk_t_root = g_build_filename(hk_t_tmp, "root", NULL);
}

void
hk_t_teardown(void)
{
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", hk_t_tmp);
  ck_assert_int_eq(system(cmd), 0);
  g_clear_pointer(&hk_t_tmp, g_free);
  g_clear_pointer(&hk_t_root, g_free);
}

hk_store *
hk_t_open_store(void)
{
  g_autofree char *dir = g_build_filename(hk_t_tmp, "store", NULL);
  hk_store *s = NULL;
  ck_assert_int_eq(hk_store_open(dir, HK_STORE_CREATE, &s), 0);
  return s;
}

GBytes *
hk_t_jis(const char *text)
{
  char *out = NULL, *why = NULL;
  size_t len = 0;

  ck_assert_msg(hk_jis_encode(text, strlen(text), &out, &len, &why) == 0, "encode: %s", why);
  return g_bytes_new_take(out, len);
}

int
hk_t_run(Suite *suite)
{
  SRunner *sr = srunner_create(suite);
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

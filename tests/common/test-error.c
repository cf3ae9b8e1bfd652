/* Unit tests of hk-error: every code has its own message whatever its sign,
 * and errno values map into the HK_E space. */
#include "hk-error.h"
#include "hk-test.h"

#include <errno.h>
#include <string.h>

START_TEST(test_messages)
{
  for (int e = HK_OK; e < HK_EMAX; e++) {
    const char *m = hk_strerror(e);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(strlen(m) > 0, "code %d has an empty message", e);
    ck_assert_msg(strcmp(m, "unknown error") != 0, "code %d has no message", e);
    ck_assert_str_eq(hk_strerror(-e), m);
    /* Every code says something different. */
    for (int o = HK_OK; o < e; o++)
      ck_assert_msg(strcmp(hk_strerror(o), m) != 0, "codes %d and %d share \"%s\"", o, e, m);
  }
  ck_assert_str_eq(hk_strerror(0), "success");
  ck_assert_str_eq(hk_strerror(-HK_ENOTFOUND), hk_strerror(HK_ENOTFOUND));
}
END_TEST

START_TEST(test_unknown_codes)
{
  static const int codes[] = {HK_EMAX, -HK_EMAX, HK_EMAX + 1, 1000, -1000, INT32_MAX, -INT32_MAX};

  for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
    const char *m = hk_strerror(codes[i]);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m, "unknown error");
  }
  /* INT_MIN has no positive counterpart; it must still not crash. */
  ck_assert_ptr_nonnull(hk_strerror(INT32_MIN));
}
END_TEST

START_TEST(test_errno)
{
  ck_assert_int_eq(hk_err_from_errno(0), 0);
  ck_assert_int_eq(hk_err_from_errno(ENOMEM), -HK_ENOMEM);
  ck_assert_int_eq(hk_err_from_errno(ENOENT), -HK_ENOTFOUND);
  ck_assert_int_eq(hk_err_from_errno(EEXIST), -HK_EEXIST);
  ck_assert_int_eq(hk_err_from_errno(EACCES), -HK_EPERM);
  ck_assert_int_eq(hk_err_from_errno(EPERM), -HK_EPERM);
  ck_assert_int_eq(hk_err_from_errno(EROFS), -HK_EPERM);
  ck_assert_int_eq(hk_err_from_errno(ENOSPC), -HK_ESPACE);
  ck_assert_int_eq(hk_err_from_errno(EINVAL), -HK_EINVAL);
  ck_assert_int_eq(hk_err_from_errno(EFBIG), -HK_ETOOBIG);
  ck_assert_int_eq(hk_err_from_errno(EBUSY), -HK_EBUSY);
  ck_assert_int_eq(hk_err_from_errno(ETIMEDOUT), -HK_ETIMEOUT);
  /* Anything else is an I/O error, and always negative. */
  ck_assert_int_eq(hk_err_from_errno(EIO), -HK_EIO);
  ck_assert_int_eq(hk_err_from_errno(EBADF), -HK_EIO);
  ck_assert_int_eq(hk_err_from_errno(EXDEV), -HK_EIO);
  for (int e = 1; e < 140; e++) {
    int r = hk_err_from_errno(e);
    ck_assert_msg(r < 0 && r > -HK_EMAX, "errno %d -> %d", e, r);
  }
}
END_TEST

static Suite *
error_suite(void)
{
  Suite *s = suite_create("error");
  TCase *tc = tcase_create("error");

  tcase_add_test(tc, test_messages);
  tcase_add_test(tc, test_unknown_codes);
  tcase_add_test(tc, test_errno);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(error_suite());
}

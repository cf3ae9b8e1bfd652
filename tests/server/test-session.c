/* Unit tests of hk-session: token shape, idle and absolute expiry, ending,
 * the size cap. */
#include "hk-error.h"
#include "hk-session.h"

#include <check.h>
#include <glib.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SEC ((int64_t)G_USEC_PER_SEC)

START_TEST(test_token_and_check)
{
  HkSessions *s = hk_sessions_new(30 * 60 * SEC, 12 * 3600 * SEC, 100);
  char tok[HK_TOKEN_TEXT_LEN + 1], tok2[HK_TOKEN_TEXT_LEN + 1];
  HkSessionInfo i;

  ck_assert_int_eq(hk_sessions_create(s, "alice", HK_ROLE_VIEWER, 1000 * SEC, tok, &i), 0);
  ck_assert_uint_eq(strlen(tok), 43); /* 256 bits, base64url */
  ck_assert_int_eq(i.expires_at, 1000 * SEC + 30 * 60 * SEC);
  ck_assert_int_eq(hk_sessions_create(s, "alice", HK_ROLE_VIEWER, 1000 * SEC, tok2, NULL), 0);
  ck_assert_str_ne(tok, tok2);
  ck_assert_int_eq(hk_sessions_check(s, tok, 1001 * SEC, &i), 0);
  ck_assert_str_eq(i.user, "alice");
  ck_assert_int_eq(i.role, HK_ROLE_VIEWER);
  /* Unknown, truncated and non-alphabet tokens. */
  tok2[0] = tok2[0] == 'A' ? 'B' : 'A';
  ck_assert_int_eq(hk_sessions_check(s, tok2, 1001 * SEC, NULL), -HK_EAUTH);
  ck_assert_int_eq(hk_sessions_check(s, "short", 1001 * SEC, NULL), -HK_EAUTH);
  ck_assert_int_eq(hk_sessions_check(s, NULL, 1001 * SEC, NULL), -HK_EAUTH);
  hk_sessions_free(s);
}
END_TEST

START_TEST(test_idle_and_absolute)
{
  HkSessions *s = hk_sessions_new(30 * 60 * SEC, 12 * 3600 * SEC, 100);
  char tok[HK_TOKEN_TEXT_LEN + 1];
  int64_t t = 0;

  ck_assert_int_eq(hk_sessions_create(s, "bob", HK_ROLE_AUDITOR, t, tok, NULL), 0);
  /* Used every 29 minutes: stays alive for almost 12 hours... */
  for (int i = 0; i < 24; i++) {
    t += 29 * 60 * SEC;
    ck_assert_int_eq(hk_sessions_check(s, tok, t, NULL), 0);
  }
  /* ...but not past 12 hours in all. */
  t = 12 * 3600 * SEC;
  ck_assert_int_eq(hk_sessions_check(s, tok, t, NULL), -HK_EAUTH);
  ck_assert_uint_eq(hk_sessions_count(s), 0);

  /* Idle for 30 minutes: gone. */
  ck_assert_int_eq(hk_sessions_create(s, "bob", HK_ROLE_AUDITOR, 0, tok, NULL), 0);
  ck_assert_int_eq(hk_sessions_check(s, tok, 30 * 60 * SEC - 1, NULL), 0);
  ck_assert_int_eq(hk_sessions_check(s, tok, 60 * 60 * SEC - 2, NULL), 0);
  ck_assert_int_eq(hk_sessions_check(s, tok, 90 * 60 * SEC, NULL), -HK_EAUTH);
  hk_sessions_free(s);
}
END_TEST

START_TEST(test_end_and_cap)
{
  HkSessions *s = hk_sessions_new(60 * SEC, 3600 * SEC, 3);
  char a[HK_TOKEN_TEXT_LEN + 1], b[HK_TOKEN_TEXT_LEN + 1], c[HK_TOKEN_TEXT_LEN + 1],
    d[HK_TOKEN_TEXT_LEN + 1];

  ck_assert_int_eq(hk_sessions_create(s, "u1", HK_ROLE_VIEWER, 1, a, NULL), 0);
  ck_assert_int_eq(hk_sessions_create(s, "u2", HK_ROLE_VIEWER, 2, b, NULL), 0);
  ck_assert_int_eq(hk_sessions_create(s, "u2", HK_ROLE_VIEWER, 3, c, NULL), 0);
  ck_assert_int_eq(hk_sessions_end(s, b), 0);
  ck_assert_int_eq(hk_sessions_end(s, b), -HK_EAUTH);
  ck_assert_int_eq(hk_sessions_check(s, b, 4, NULL), -HK_EAUTH);
  ck_assert_int_eq(hk_sessions_create(s, "u3", HK_ROLE_VIEWER, 5, b, NULL), 0);
  /* Full: the least recently used session (a) makes room. */
  ck_assert_int_eq(hk_sessions_create(s, "u4", HK_ROLE_VIEWER, 6, d, NULL), 0);
  ck_assert_uint_eq(hk_sessions_count(s), 3);
  ck_assert_int_eq(hk_sessions_check(s, a, 7, NULL), -HK_EAUTH);
  ck_assert_uint_eq(hk_sessions_end_user(s, "u2"), 1);
  ck_assert_int_eq(hk_sessions_check(s, c, 7, NULL), -HK_EAUTH);
  ck_assert_uint_eq(hk_sessions_prune(s, 5 + 60 * SEC), 1); /* b idle since 5 */
  ck_assert_uint_eq(hk_sessions_count(s), 1);
  hk_sessions_free(s);
}
END_TEST

/* Revocation after a password change, and the users holding sessions. */
START_TEST(test_end_before_and_users)
{
  HkSessions *s = hk_sessions_new(60 * SEC, 3600 * SEC, 10);
  char a[HK_TOKEN_TEXT_LEN + 1], b[HK_TOKEN_TEXT_LEN + 1], c[HK_TOKEN_TEXT_LEN + 1];
  GPtrArray *users;

  ck_assert_int_eq(hk_sessions_create(s, "u1", HK_ROLE_VIEWER, 10, a, NULL), 0);
  ck_assert_int_eq(hk_sessions_create(s, "u1", HK_ROLE_VIEWER, 20, b, NULL), 0);
  ck_assert_int_eq(hk_sessions_create(s, "u2", HK_ROLE_VIEWER, 5, c, NULL), 0);
  users = hk_sessions_users(s);
  ck_assert_uint_eq(users->len, 2);
  g_ptr_array_unref(users);
  /* Password changed at 15: the session of 10 ends, the one of 20 stays. */
  ck_assert_uint_eq(hk_sessions_end_user_before(s, "u1", 15), 1);
  ck_assert_int_eq(hk_sessions_check(s, a, 21, NULL), -HK_EAUTH);
  ck_assert_int_eq(hk_sessions_check(s, b, 21, NULL), 0);
  ck_assert_int_eq(hk_sessions_check(s, c, 21, NULL), 0);
  hk_sessions_free(s);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("session");
  TCase *tc = tcase_create("session");
  SRunner *sr;
  int failed;

  if (sodium_init() < 0)
    return 1;
  tcase_add_test(tc, test_token_and_check);
  tcase_add_test(tc, test_idle_and_absolute);
  tcase_add_test(tc, test_end_and_cap);
  tcase_add_test(tc, test_end_before_and_users);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

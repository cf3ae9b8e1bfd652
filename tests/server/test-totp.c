/* Unit tests of hk-totp: RFC 6238 vectors, Base32, the drift window and the
 * replay guard. */
#include "hk-error.h"
#include "hk-totp.h"

#include <check.h>
#include <glib.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* RFC 6238 appendix B, SHA-1 key "12345678901234567890". */
#define RFC_KEY "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

START_TEST(test_rfc6238_vectors)
{
  static const struct { int64_t t; uint32_t code; } v[] = {
    { 59, 287082 }, { 1111111109, 81804 }, { 1111111111, 50471 },
    { 1234567890, 5924 }, { 2000000000, 279037 }, { 20000000000, 353130 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
    uint32_t c = 0;
    ck_assert_int_eq(hk_totp_code(RFC_KEY, v[i].t / 30, &c), 0);
    ck_assert_uint_eq(c, v[i].code);
  }
}
END_TEST

START_TEST(test_base32_roundtrip)
{
  uint8_t raw[37], back[64];
  size_t n = 0;
  char *b;

  ck_assert_str_eq((b = hk_totp_base32_encode((const uint8_t *)"12345678901234567890", 20)), RFC_KEY);
  g_free(b);
  for (size_t len = 0; len < sizeof raw; len++) {
    randombytes_buf(raw, len);
    b = hk_totp_base32_encode(raw, len);
    ck_assert_int_eq(hk_totp_base32_decode(b, back, sizeof back, &n), 0);
    ck_assert_uint_eq(n, len);
    ck_assert(memcmp(raw, back, len) == 0);
    g_free(b);
  }
  ck_assert_int_eq(hk_totp_base32_decode("ABC1", back, sizeof back, &n), -HK_EINVAL);
  ck_assert_int_eq(hk_totp_base32_decode(RFC_KEY, back, 4, &n), -HK_ETOOBIG);
}
END_TEST

START_TEST(test_verify_window_and_replay)
{
  char *secret = NULL, text[8];
  uint32_t c = 0;
  int64_t now = 1800000000, used = 0;

  ck_assert_int_eq(hk_totp_secret_new(&secret), 0);
  ck_assert_uint_eq(strlen(secret), 32);
  /* A fixed secret: a random one could give two steps the same code (1 in
   * 10^6 per pair), and the drift checks below would then prove nothing. */
  g_free(secret);
  secret = g_strdup(RFC_KEY);
  ck_assert_int_eq(hk_totp_code(secret, now / 30, &c), 0);
  g_snprintf(text, sizeof text, "%06u", c);
  /* Right code, never used: accepted, and the step is reported. */
  ck_assert_int_eq(hk_totp_verify(secret, text, now, 0, &used), 0);
  ck_assert_int_eq(used, now / 30);
  /* The same code again (last_step = used) is a replay. */
  ck_assert_int_eq(hk_totp_verify(secret, text, now, used, &used), -HK_EAUTH);
  /* One step of drift either way is allowed, two are not. Each code is that
   * of another step than the server's, checked to differ from the code of
   * the server's own step, so only the drift window can accept it, and the
   * step reported must be the code's own. */
  for (int d = -2; d <= 2; d++) {
    int64_t at = now + 30 * d; /* the server's clock; the code is of now's step */
    uint32_t own = 0;

    if (d == 0)
      continue;
    ck_assert_int_eq(hk_totp_code(secret, at / 30, &own), 0);
    ck_assert_uint_ne(own, c);
    used = -1;
    if (d == -1 || d == 1) {
      ck_assert_int_eq(hk_totp_verify(secret, text, at, 0, &used), 0);
      ck_assert_int_eq(used, now / 30);
    } else {
      ck_assert_int_eq(hk_totp_verify(secret, text, at, 0, &used), -HK_EAUTH);
      ck_assert_int_eq(used, -1);
    }
  }
  /* Malformed codes. */
  ck_assert_int_eq(hk_totp_verify(secret, "12345", now, 0, &used), -HK_EAUTH);
  ck_assert_int_eq(hk_totp_verify(secret, "12345a", now, 0, &used), -HK_EAUTH);
  ck_assert_int_eq(hk_totp_verify(secret, NULL, now, 0, &used), -HK_EAUTH);
  ck_assert_int_eq(hk_totp_verify("!!", "123456", now, 0, &used), -HK_EINVAL);
  g_free(secret);
}
END_TEST

START_TEST(test_uri)
{
  char *u = hk_totp_uri("hikae", "dr yamada", RFC_KEY);
  ck_assert_str_eq(u, "otpauth://totp/hikae:dr%20yamada?secret=" RFC_KEY
                      "&issuer=hikae&algorithm=SHA1&digits=6&period=30");
  g_free(u);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("totp");
  TCase *tc = tcase_create("totp");
  SRunner *sr;
  int failed;

  if (sodium_init() < 0)
    return 1;
  tcase_add_test(tc, test_rfc6238_vectors);
  tcase_add_test(tc, test_base32_roundtrip);
  tcase_add_test(tc, test_verify_window_and_replay);
  tcase_add_test(tc, test_uri);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

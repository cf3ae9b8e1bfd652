/* Unit tests of hk-sha256: FIPS 180-2 vectors, hex in both directions, and
 * refusal of anything but 64 hex digits (blob keys come from this). */
#include "hk-error.h"
#include "hk-sha256.h"
#include "hk-test.h"

#include <string.h>

static void
assert_vector(const void *data, size_t len, const char *want)
{
  uint8_t d[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];

  ck_assert_int_eq(hk_sha256(data, len, d), 0);
  hk_sha256_hex(d, hex);
  ck_assert_str_eq(hex, want);
}

START_TEST(test_vectors)
{
  char *million = g_strnfill(1000000, 'a');

  assert_vector("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert_vector("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  assert_vector(million, 1000000,
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  /* Embedded NULs are data, not terminators. */
  assert_vector("\0", 1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  g_free(million);
}
END_TEST

START_TEST(test_hex_roundtrip)
{
  uint8_t d[HK_SHA256_LEN], back[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];

  for (int i = 0; i < HK_SHA256_LEN; i++)
    d[i] = (uint8_t)(i * 37 + 5);
  d[0] = 0x00;
  d[1] = 0xff;
  hk_sha256_hex(d, hex);
  ck_assert_uint_eq(strlen(hex), HK_SHA256_HEX_LEN);
  ck_assert(g_str_has_prefix(hex, "00ff"));
  for (int i = 0; i < HK_SHA256_HEX_LEN; i++)
    ck_assert_msg(g_ascii_isxdigit(hex[i]) && !g_ascii_isupper(hex[i]), "char %d", i);
  ck_assert_int_eq(hk_sha256_from_hex(hex, back), 0);
  ck_assert_mem_eq(back, d, HK_SHA256_LEN);

  /* Upper case is hex too and names the same digest. */
  char *upper = g_ascii_strup(hex, -1);
  memset(back, 0, sizeof back);
  ck_assert_int_eq(hk_sha256_from_hex(upper, back), 0);
  ck_assert_mem_eq(back, d, HK_SHA256_LEN);
  g_free(upper);
}
END_TEST

START_TEST(test_from_hex_rejects)
{
  const char *good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  uint8_t d[HK_SHA256_LEN];
  char bad[80];

  ck_assert_int_eq(hk_sha256_from_hex(NULL, d), -HK_EINVAL);
  ck_assert_int_eq(hk_sha256_from_hex("", d), -HK_EINVAL);
  ck_assert_int_eq(hk_sha256_from_hex("abc", d), -HK_EINVAL);
  /* 63 and 65 digits. */
  snprintf(bad, sizeof bad, "%.63s", good);
  ck_assert_int_eq(hk_sha256_from_hex(bad, d), -HK_EINVAL);
  snprintf(bad, sizeof bad, "%s0", good);
  ck_assert_int_eq(hk_sha256_from_hex(bad, d), -HK_EINVAL);
  /* A non-hex character at the start, the middle and the very end. */
  static const char *const chars = "gG -x:\xff";
  for (const char *c = chars; *c; c++) {
    for (int pos = 0; pos < HK_SHA256_HEX_LEN; pos += 31) {
      strcpy(bad, good);
      bad[pos] = *c;
      ck_assert_msg(hk_sha256_from_hex(bad, d) == -HK_EINVAL, "0x%02x at %d accepted",
                    (unsigned char)*c, pos);
    }
    strcpy(bad, good);
    bad[HK_SHA256_HEX_LEN - 1] = *c;
    ck_assert_int_eq(hk_sha256_from_hex(bad, d), -HK_EINVAL);
  }
  ck_assert_int_eq(hk_sha256_from_hex(good, d), 0);
}
END_TEST

static Suite *
sha256_suite(void)
{
  Suite *s = suite_create("sha256");
  TCase *tc = tcase_create("sha256");

  tcase_add_test(tc, test_vectors);
  tcase_add_test(tc, test_hex_roundtrip);
  tcase_add_test(tc, test_from_hex_rejects);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(sha256_suite());
}

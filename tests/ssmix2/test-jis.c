/* test-jis.c: ISO-2022-JP decoding and encoding (common/hk-jis.c). */
#include "hk-error.h"
#include "hk-jis.h"

#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

static int
decode(const char *in, size_t len, unsigned flags, char **out, unsigned *replaced, char **reason)
{
  return hk_jis_decode(in, len, flags, out, NULL, replaced, reason);
}

START_TEST(test_ascii)
{
  g_autofree char *out = NULL;
  ck_assert_int_eq(decode("MSH|^~\\&|\r", 10, 0, &out, NULL, NULL), 0);
  ck_assert_str_eq(out, "MSH|^~\\&|\r");
}
END_TEST

START_TEST(test_kanji)
{
  /* 患者 = 0x3435 0x3C54, as in the corpus ADT-00 PID-5. */
  const char in[] = "A\x1b$B4\x35<T\x1b(B^Z";
  g_autofree char *out = NULL;
  ck_assert_int_eq(decode(in, sizeof in - 1, 0, &out, NULL, NULL), 0);
  ck_assert_str_eq(out, "A患者^Z");
}
END_TEST

START_TEST(test_minus_sign)
{
  /* JIS 0x215D is MINUS SIGN: always U+2212 (see hk-jis.h). */
  const char in[] = "\x1b$B#1!]#3\x1b(B";
  g_autofree char *out = NULL;
  ck_assert_int_eq(decode(in, sizeof in - 1, 0, &out, NULL, NULL), 0);
  ck_assert_str_eq(out, "１\u2212３");
}
END_TEST

START_TEST(test_missing_return_to_ascii)
{
  /* No ESC ( B before the CR: the CR ends the run, what follows is ASCII. */
  const char in[] = "X\x1b$B4\x35\rPID|1";
  g_autofree char *out = NULL;
  ck_assert_int_eq(decode(in, sizeof in - 1, 0, &out, NULL, NULL), 0);
  ck_assert_str_eq(out, "X患\rPID|1");
}
END_TEST

START_TEST(test_halfwidth_kana)
{
  const char in[] = "\x1b(I\x36\x1b(B|"; /* ESC ( I 0x36 = ｶ */
  g_autofree char *out = NULL;
  ck_assert_int_eq(decode(in, sizeof in - 1, 0, &out, NULL, NULL), 0);
  ck_assert_str_eq(out, "ｶ|");
}
END_TEST

START_TEST(test_nec_row13)
{
  /* ① (0x2D21) is an NEC special character outside JIS X 0208 proper. */
  const char in[] = "\x1b$B-!\x1b(B";
  g_autofree char *out = NULL;
  ck_assert_int_eq(decode(in, sizeof in - 1, 0, &out, NULL, NULL), 0);
  ck_assert_str_eq(out, "①");
}
END_TEST

START_TEST(test_stray_high_byte)
{
  const char in[] = "\xfb\xfc";
  g_autofree char *out = NULL, *reason = NULL;
  ck_assert_int_eq(decode(in, 2, 0, &out, NULL, &reason), -HK_EINVAL);
  ck_assert_ptr_null(out);
  ck_assert_ptr_nonnull(reason);
  ck_assert_ptr_nonnull(strstr(reason, "0xFB"));
  ck_assert_ptr_nonnull(strstr(reason, "offset 0"));
}
END_TEST

START_TEST(test_nul_and_bad_escape)
{
  g_autofree char *out = NULL, *r1 = NULL, *r2 = NULL, *r3 = NULL;
  ck_assert_int_eq(decode("A\0B", 3, 0, &out, NULL, &r1), -HK_EINVAL);
  ck_assert_int_eq(decode("A\x1b$Z", 4, 0, &out, NULL, &r2), -HK_EINVAL);
  ck_assert_ptr_nonnull(strstr(r2, "escape"));
  ck_assert_int_eq(decode("A\x1b", 2, 0, &out, NULL, &r3), -HK_EINVAL);
}
END_TEST

START_TEST(test_odd_byte)
{
  const char in[] = "\x1b$B4\x35<\x1b(B";
  g_autofree char *out = NULL, *out2 = NULL, *reason = NULL;
  unsigned replaced = 0;
  ck_assert_int_eq(decode(in, sizeof in - 1, 0, &out, NULL, &reason), -HK_EINVAL);
  ck_assert_ptr_nonnull(strstr(reason, "odd byte"));
  ck_assert_int_eq(decode(in, sizeof in - 1, HK_JIS_REPLACE, &out2, &replaced, NULL), 0);
  ck_assert_str_eq(out2, "患〓");
  ck_assert_uint_eq(replaced, 1);
}
END_TEST

START_TEST(test_unmapped_replace)
{
  /* JIS X 0212 0x2121 is unassigned. */
  const char in[] = "\x1b$(D!!0!\x1b(B";
  g_autofree char *out = NULL, *out2 = NULL, *reason = NULL;
  unsigned replaced = 0;
  ck_assert_int_eq(decode(in, sizeof in - 1, 0, &out, NULL, &reason), -HK_EINVAL);
  ck_assert_ptr_nonnull(strstr(reason, "0x2121"));
  ck_assert_int_eq(decode(in, sizeof in - 1, HK_JIS_REPLACE, &out2, &replaced, NULL), 0);
  ck_assert_str_eq(out2, "〓丂");
  ck_assert_uint_eq(replaced, 1);
}
END_TEST

START_TEST(test_encode_roundtrip)
{
  /* U+FF0D (CP932's minus) folds to U+2212 so the text survives a trip. */
  const char *text = "PID|1||患者^太郎\uFF0D１〜\rOBX|ｶ";
  g_autofree char *jis = NULL, *back = NULL, *reason = NULL;
  size_t jl = 0;
  ck_assert_int_eq(hk_jis_encode(text, strlen(text) - 3, &jis, &jl, &reason), 0);
  for (size_t i = 0; i < jl; i++)
    ck_assert_uint_lt((unsigned char)jis[i], 0x80);
  ck_assert_int_eq(decode(jis, jl, 0, &back, NULL, NULL), 0);
  ck_assert_str_eq(back, "PID|1||患者^太郎\u2212１〜\rOBX|");
  /* Half-width katakana has no JIS X 0208 code. */
  g_autofree char *jis2 = NULL, *reason2 = NULL;
  ck_assert_int_eq(hk_jis_encode("ｶ", 3, &jis2, NULL, &reason2), -HK_EINVAL);
  ck_assert_ptr_nonnull(reason2);
}
END_TEST

START_TEST(test_corpus_file)
{
  const char *corpus = g_getenv("HK_CORPUS_DIR");
  g_autofree char *path = NULL, *data = NULL, *out = NULL;
  g_autoptr(GError) err = NULL;
  gsize len = 0;

  /* The corpus is in the repository (tests/corpus): missing data fails and
   * names the path, it never passes unchecked. */
  ck_assert_msg(corpus != NULL, "HK_CORPUS_DIR is not set: run through meson test");
  path = g_build_filename(corpus, "ssmix2", "nho_testingtool", "standard_root", "999", "901",
                          "9999013", "-", "ADT-00",
                          "9999013_-_ADT-00_999999999999999_20111220224447339_-_1", NULL);
  ck_assert_msg(g_file_get_contents(path, &data, &len, &err), "cannot read %s: %s", path,
                err ? err->message : "?");
  ck_assert_int_eq(decode(data, len, 0, &out, NULL, NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "患者^太郎^^^^^L^I~カンジャ^タロウ"));
  ck_assert_ptr_nonnull(strstr(out, "登呂１\u2212３\u2212５"));
}
END_TEST

static Suite *
jis_suite(void)
{
  Suite *s = suite_create("jis");
  TCase *tc = tcase_create("decode");

  tcase_add_test(tc, test_ascii);
  tcase_add_test(tc, test_kanji);
  tcase_add_test(tc, test_minus_sign);
  tcase_add_test(tc, test_missing_return_to_ascii);
  tcase_add_test(tc, test_halfwidth_kana);
  tcase_add_test(tc, test_nec_row13);
  tcase_add_test(tc, test_stray_high_byte);
  tcase_add_test(tc, test_nul_and_bad_escape);
  tcase_add_test(tc, test_odd_byte);
  tcase_add_test(tc, test_unmapped_replace);
  tcase_add_test(tc, test_encode_roundtrip);
  tcase_add_test(tc, test_corpus_file);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(jis_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

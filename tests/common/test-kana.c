/* Unit tests of hk-kana: every way a keyboard writes a patient's kana folds
 * to one search key, and kana queries are told from names, IDs and dates. */
#include "hk-kana.h"
#include "hk-test.h"

#include <string.h>

#define ck_assert_fold(in, want)                                                                   \
  do {                                                                                             \
    char *got_ = hk_kana_fold(in);                                                                 \
    ck_assert_ptr_nonnull(got_);                                                                   \
    ck_assert_msg(strcmp(got_, (want)) == 0, "fold \"%s\": got \"%s\", want \"%s\"", (in), got_,   \
                  (want));                                                                         \
    g_free(got_);                                                                                  \
  } while (0)

/* a and b must fold to the same key. */
static void
assert_same_key(const char *a, const char *b)
{
  char *ka = hk_kana_fold(a), *kb = hk_kana_fold(b);

  ck_assert_ptr_nonnull(ka);
  ck_assert_ptr_nonnull(kb);
  ck_assert_msg(strcmp(ka, kb) == 0, "\"%s\" -> \"%s\" but \"%s\" -> \"%s\"", a, ka, b, kb);
  g_free(ka);
  g_free(kb);
}

START_TEST(test_fold_forms)
{
  /* Hiragana, full-width katakana and half-width katakana. */
  ck_assert_fold("やまだ はなこ", "ヤマダハナコ");
  ck_assert_fold("ヤマダ ハナコ", "ヤマダハナコ");
  ck_assert_fold("ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダハナコ");
  assert_same_key("やまだ", "ﾔﾏﾀﾞ");
  assert_same_key("ヤマダ", "ﾔﾏﾀﾞ");
  /* Voiced and semi-voiced marks compose with their half-width base. */
  ck_assert_fold("ﾀﾞ", "ダ");
  ck_assert_fold("ﾊﾟﾋﾞﾌﾞ", "パビブ");
  ck_assert_fold("ｳﾞ", "ヴ");
  ck_assert_fold("ぱぴぷ", "パピプ");
  /* Small kana and the prolonged sound mark survive. */
  ck_assert_fold("きょうこ", "キョウコ");
  ck_assert_fold("ｷｮｳｺ", "キョウコ");
  ck_assert_fold("ﾕｰｺ", "ユーコ");
  ck_assert_fold("ゆーこ", "ユーコ");
  /* Iteration marks follow the script too. */
  ck_assert_fold("すゞき", "スヾキ");
}
END_TEST

START_TEST(test_fold_spaces_and_width)
{
  /* ASCII spaces, ideographic spaces (U+3000) and tabs all go. */
  ck_assert_fold("ヤマダ　ハナコ", "ヤマダハナコ");
  ck_assert_fold("  ヤマダ \t ハナコ  ", "ヤマダハナコ");
  ck_assert_fold("　", "");
  ck_assert_fold("", "");
  /* Names are folded the same way: kanji stay, spaces go. */
  ck_assert_fold("山田 花子", "山田花子");
  ck_assert_fold("山田　花子", "山田花子");
  /* Full-width Latin and digits become ASCII. */
  ck_assert_fold("ＡＢＣ１２３", "ABC123");
  assert_same_key("ｙａｍａｄａ", "yamada");
}
END_TEST

START_TEST(test_fold_invalid)
{
  ck_assert_ptr_null(hk_kana_fold(NULL));
  ck_assert_ptr_null(hk_kana_fold("\xff"));
  ck_assert_ptr_null(hk_kana_fold("ヤマダ\xe3\x83")); /* truncated sequence */
  ck_assert_ptr_null(hk_kana_fold("\xc0\xaf"));       /* overlong '/' */
  ck_assert_ptr_null(hk_kana_fold("\xed\xa0\x80"));   /* UTF-16 surrogate */
  /* Shift_JIS bytes for ヤマダ: what a mis-decoded HL7 field would give. */
  ck_assert_ptr_null(hk_kana_fold("\x83\x84\x83\x7d\x83\x5f"));
}
END_TEST

START_TEST(test_is_kana)
{
  ck_assert(hk_kana_is_kana("やまだ"));
  ck_assert(hk_kana_is_kana("ヤマダ ハナコ"));
  ck_assert(hk_kana_is_kana("ﾔﾏﾀﾞ"));
  ck_assert(hk_kana_is_kana("ヤマダ　ハナコ"));
  ck_assert(hk_kana_is_kana("ユーコ"));
  ck_assert(hk_kana_is_kana("ジョン・スミス"));
  ck_assert(hk_kana_is_kana("ヴ"));

  ck_assert(!hk_kana_is_kana("山田"));
  ck_assert(!hk_kana_is_kana("山田 はなこ"));
  ck_assert(!hk_kana_is_kana("やまだ1"));
  ck_assert(!hk_kana_is_kana("0001234567"));
  ck_assert(!hk_kana_is_kana("1950-05-04"));
  ck_assert(!hk_kana_is_kana("１２３"));
  ck_assert(!hk_kana_is_kana("YAMADA"));
  ck_assert(!hk_kana_is_kana(""));
  ck_assert(!hk_kana_is_kana("  　"));
  ck_assert(!hk_kana_is_kana(NULL));
  ck_assert(!hk_kana_is_kana("\xff"));
}
END_TEST

static Suite *
kana_suite(void)
{
  Suite *s = suite_create("kana");
  TCase *tc = tcase_create("kana");

  tcase_add_test(tc, test_fold_forms);
  tcase_add_test(tc, test_fold_spaces_and_width);
  tcase_add_test(tc, test_fold_invalid);
  tcase_add_test(tc, test_is_kana);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(kana_suite());
}

/* test-hl7.c: the HL7 v2.5 reader (common/hk-hl7.c). */
#include "hk-error.h"
#include "hk-hl7.h"
#include "hk-jis.h"

#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#define MSH "MSH|^~\\&|HIS|SEND|GW|RCV|20111220224447.3399||ADT^A08^ADT_A01|1|P|2.5||||||~ISO IR87"

static HkHl7Msg *
parse_ok(const char *text, size_t len)
{
  HkHl7Msg *m = NULL;
  g_autofree char *reason = NULL;
  int r = hk_hl7_parse(text, len, 0, &m, &reason);
  ck_assert_msg(r == 0, "parse failed: %s", reason ? reason : "?");
  return m;
}

static int
parse_fail(const char *text, size_t len, const char *want)
{
  HkHl7Msg *m = NULL;
  g_autofree char *reason = NULL;
  int r = hk_hl7_parse(text, len, 0, &m, &reason);
  ck_assert_int_lt(r, 0);
  ck_assert_ptr_null(m);
  ck_assert_ptr_nonnull(reason);
  if (want)
    ck_assert_msg(strstr(reason, want), "reason \"%s\" lacks \"%s\"", reason, want);
  return r;
}

START_TEST(test_basic)
{
  const char *t =
      MSH "\rPID|0001||9999013^^^^PI||患者^太郎^^^^^L^I~カンジャ^タロウ^^^^^L^P||19480405|M\r"
          "AL1|1|DA^薬剤アレルギー^HL70127|1^ペニシリン^99XYZ\r";
  HkHl7Msg *m = parse_ok(t, strlen(t));
  ck_assert_uint_eq(hk_hl7_n_segments(m), 3);
  ck_assert_str_eq(hk_hl7_segment_name(m, 1), "PID");
  ck_assert_str_eq(hk_hl7_get(m, "MSH", 0, 1, 1, 1, 1), "|");
  ck_assert_str_eq(hk_hl7_get(m, "MSH", 0, 2, 1, 1, 1), "^~\\&");
  ck_assert_str_eq(hk_hl7_get(m, "MSH", 0, 3, 1, 1, 1), "HIS");
  ck_assert_str_eq(hk_hl7_get(m, "MSH", 0, 9, 1, 2, 0), "A08");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 3, 1, 1, 0), "9999013");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 3, 1, 5, 0), "PI");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 5, 1, 1, 0), "患者");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 5, 2, 2, 0), "タロウ");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 5, 2, 8, 0), "P");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 5, 1, 0, 0), "患者^太郎^^^^^L^I");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 7, 1, 1, 0), "19480405");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 8, 1, 1, 0), "M");
  ck_assert_uint_eq(hk_hl7_reps_at(m, 1, 5), 2);
  ck_assert_uint_eq(hk_hl7_reps_at(m, 1, 6), 0);
  ck_assert_ptr_null(hk_hl7_get(m, "PID", 0, 5, 3, 1, 0));
  ck_assert_ptr_null(hk_hl7_get(m, "PID", 0, 5, 1, 20, 0));
  ck_assert_ptr_null(hk_hl7_get(m, "PID", 0, 99, 1, 1, 0));
  ck_assert_ptr_null(hk_hl7_get(m, "PID", 1, 3, 1, 1, 0));
  ck_assert_ptr_null(hk_hl7_get(m, "OBX", 0, 3, 1, 1, 0));
  ck_assert_ptr_null(hk_hl7_get(m, "PID", 0, 0, 1, 1, 0));
  ck_assert_str_eq(hk_hl7_get(m, "AL1", 0, 3, 1, 2, 0), "ペニシリン");
  ck_assert_str_eq(hk_hl7_charset(m), "ISO IR87");
  ck_assert_uint_eq(hk_hl7_count(m, "AL1"), 1);
  ck_assert_int_eq(hk_hl7_find(m, "AL1", 0), 2);
  ck_assert_int_eq(hk_hl7_find(m, "AL1", 1), -1);
  hk_hl7_free(m);
}
END_TEST

START_TEST(test_line_ends)
{
  const char *variants[] = {
      MSH "\nPID|1||42\n",   MSH "\r\nPID|1||42\r\n", "\x0b" MSH "\rPID|1||42\x1c\r",
      MSH "\rPID|1||42\x1c", MSH "\r\rPID|1||42",
  };
  for (unsigned i = 0; i < G_N_ELEMENTS(variants); i++) {
    HkHl7Msg *m = parse_ok(variants[i], strlen(variants[i]));
    ck_assert_uint_eq(hk_hl7_n_segments(m), 2);
    ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 3, 1, 1, 0), "42");
    hk_hl7_free(m);
  }
}
END_TEST

START_TEST(test_escapes)
{
  const char *t = MSH "\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X414243\\g\\.br\\h\\H\\i\\N\\|"
                      "x&y^z|\"\"|\\Q\\|\\unterminated\r";
  HkHl7Msg *m = parse_ok(t, strlen(t));
  ck_assert_str_eq(hk_hl7_get(m, "NTE", 0, 3, 1, 1, 0), "a|b^c&d~e\\fABCg\nhi");
  ck_assert_str_eq(hk_hl7_get(m, "NTE", 0, 4, 1, 1, 1), "x");
  ck_assert_str_eq(hk_hl7_get(m, "NTE", 0, 4, 1, 1, 2), "y");
  ck_assert_str_eq(hk_hl7_get(m, "NTE", 0, 4, 1, 1, 0), "x&y");
  ck_assert_str_eq(hk_hl7_get(m, "NTE", 0, 4, 1, 2, 1), "z");
  ck_assert_ptr_null(hk_hl7_get(m, "NTE", 0, 5, 1, 1, 0));
  ck_assert_str_eq(hk_hl7_get(m, "NTE", 0, 6, 1, 1, 0), "\\Q\\");
  ck_assert_str_eq(hk_hl7_get(m, "NTE", 0, 7, 1, 1, 0), "\\unterminated");
  hk_hl7_free(m);
}
END_TEST

START_TEST(test_other_delimiters)
{
  const char *t = "MSH#*@!%#A\rPID#1##12*34@5@6";
  HkHl7Msg *m = parse_ok(t, strlen(t));
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 3, 1, 2, 0), "34");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 3, 2, 1, 0), "5");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 3, 3, 1, 0), "6");
  hk_hl7_free(m);
}
END_TEST

START_TEST(test_charset_forms)
{
  const char *a = "MSH|^~\\&"
                  "||||||||||||||||"
                  "~ISOIR87\r";
  const char *b = "MSH|^~\\&"
                  "||||||||||||||||"
                  "ISO IR87\r";
  const char *c = "MSH|^~\\&"
                  "||||||||||||||||"
                  "UNICODE UTF-8\rPID|1||あ\r";
  HkHl7Msg *m = parse_ok(a, strlen(a));
  ck_assert_str_eq(hk_hl7_charset(m), "ISO IR87");
  hk_hl7_free(m);
  m = parse_ok(b, strlen(b));
  ck_assert_str_eq(hk_hl7_charset(m), "ISO IR87");
  hk_hl7_free(m);
  m = parse_ok(c, strlen(c));
  ck_assert_str_eq(hk_hl7_charset(m), "UTF-8");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 3, 1, 1, 0), "あ");
  hk_hl7_free(m);
}
END_TEST

START_TEST(test_jis_message)
{
  /* Each delimiter byte appears inside a JIS X 0208 run and must not split:
   * 淫 0x307C ('|' second byte), 緯 0x305E ('^'), 愛 0x3026 ('&'),
   * 蔭 0x307E ('~'), 移 0x305C ('\'), 檄 0x5C7C ('\' then '|'),
   * Ζ 0x2626 ('&' twice). Written as raw bytes so the test does not rest on
   * the encoder; Python's iso2022_jp decodes them to the same characters. */
  static const char jis[] = MSH "\rPID|1||7||"
                                "\x1b$B0|0^0&0~0\\\x1b(B^\x1b$B\\|\x1b(B~\x1b$B&&\x1b(B|\r";
  const char *run = strstr(jis, "\x1b$B0|");
  HkHl7Msg *m;

  /* The claim needs the delimiters really inside the JIS runs. */
  ck_assert_ptr_nonnull(run);
  ck_assert_ptr_nonnull(memchr(run, '|', 5));
  ck_assert_ptr_nonnull(memchr(run, '^', 7));
  ck_assert_ptr_nonnull(memchr(run, '&', 9));
  ck_assert_ptr_nonnull(memchr(run, '~', 11));
  ck_assert_ptr_nonnull(memchr(run, '\\', 13));
  m = parse_ok(jis, sizeof jis - 1);
  /* PID-5 has two repetitions; the first has two components of one
   * subcomponent each. */
  ck_assert_uint_eq(hk_hl7_reps_at(m, 1, 5), 2);
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 5, 1, 0, 0), "淫緯愛蔭移^檄");
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 5, 1, 1, 1), "淫緯愛蔭移");
  ck_assert_ptr_null(hk_hl7_get(m, "PID", 0, 5, 1, 1, 2));
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 5, 1, 2, 0), "檄");
  ck_assert_ptr_null(hk_hl7_get(m, "PID", 0, 5, 1, 3, 0));
  ck_assert_str_eq(hk_hl7_get(m, "PID", 0, 5, 2, 1, 0), "Ζ");
  hk_hl7_free(m);
}
END_TEST

START_TEST(test_malformed)
{
  char *big;
  GString *many;

  parse_fail("", 0, "empty");
  parse_fail("PID|1\r", 6, "MSH");
  parse_fail("MSH|\r", 5, "MSH");
  parse_fail("MSH|^|ABCD\r", 11, "MSH-2");
  parse_fail("MSH|^^\\&|\r", 10, "twice");
  parse_fail("MSH|^~a&|\r", 10, "printable");
  parse_fail(MSH "\rpid|1\r", strlen(MSH) + 7, "segment name");
  parse_fail(MSH "\rPI|1\r", strlen(MSH) + 6, "segment name");
  parse_fail(MSH "\r" MSH "\r", strlen(MSH) * 2 + 2, "second MSH");
  parse_fail("\xfb\xfc", 2, "0xFB");
  parse_fail("MSH|^~\\&|\x1b$B4", 13, "ISO-2022-JP");
  big = g_malloc0(HK_HL7_MAX_MESSAGE + 1);
  memset(big, 'A', HK_HL7_MAX_MESSAGE + 1);
  ck_assert_int_eq(parse_fail(big, HK_HL7_MAX_MESSAGE + 1, "limit"), -HK_ETOOBIG);
  g_free(big);
  many = g_string_new(MSH "\r");
  for (unsigned i = 0; i < HK_HL7_MAX_SEGMENTS; i++)
    g_string_append(many, "NTE|1\r");
  ck_assert_int_eq(parse_fail(many->str, many->len, "segments"), -HK_ETOOBIG);
  g_string_free(many, TRUE);
  many = g_string_new(MSH "\rNTE");
  for (unsigned i = 0; i < HK_HL7_MAX_FIELDS; i++)
    g_string_append(many, "|");
  parse_fail(many->str, many->len, "fields");
  g_string_free(many, TRUE);
}
END_TEST

/* Random and mutated input must never crash or read out of bounds (run
 * under valgrind or ASan to make that a hard check). */
START_TEST(test_garbage)
{
  GRand *rng = g_rand_new_with_seed(3);
  const char *seed = MSH "\rPID|0001||9999013^^^^PI||\x1b$B4\x35<T\x1b(B^X~Y||19480405|M\r"
                         "OBX|1|NM|a^b||1.2|g\\S\\dl|1-2|H\r";
  size_t sl = strlen(seed);
  char *buf = g_malloc(sl + 64);

  for (int i = 0; i < 20000; i++) {
    HkHl7Msg *m = NULL;
    char *reason = NULL;
    size_t len = sl;
    memcpy(buf, seed, sl);
    for (int k = 0; k < 1 + (i % 8); k++)
      buf[g_rand_int_range(rng, 0, (gint32)sl)] = (char)g_rand_int_range(rng, 0, 256);
    if (i % 3 == 0)
      len = (size_t)g_rand_int_range(rng, 0, (gint32)sl);
    if (hk_hl7_parse(buf, len, i % 2 ? HK_HL7_REPLACE : 0, &m, &reason) == 0) {
      for (unsigned s = 0; s < hk_hl7_n_segments(m) + 1; s++)
        for (unsigned f = 0; f < 12; f++)
          for (unsigned r = 0; r < 3; r++)
            for (unsigned c = 0; c < 4; c++)
              (void)hk_hl7_get_at(m, s, f, r, c, c % 3);
      hk_hl7_free(m);
    } else {
      ck_assert_ptr_nonnull(reason);
      ck_assert(g_utf8_validate(reason, -1, NULL));
    }
    g_free(reason);
  }
  g_free(buf);
  g_rand_free(rng);
}
END_TEST

START_TEST(test_timestamps)
{
  struct {
    const char *in, *want;
  } cases[] = {
      {"20111220224447.3399", "2011-12-20T22:44:47.339+09:00"},
      {"201601011500.321", "2016-01-01T15:00:00+09:00"},
      {"20111219", "2011-12-19T00:00:00+09:00"},
      {"201112191500", "2011-12-19T15:00:00+09:00"},
      {"20111219150000+0000", "2011-12-19T15:00:00+00:00"},
      {"20111332", NULL},
      {"abc", NULL},
      {"", NULL},
  };
  for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = hk_hl7_ts_to_rfc3339(cases[i].in);
    if (cases[i].want)
      ck_assert_str_eq(got, cases[i].want);
    else
      ck_assert_ptr_null(got);
  }
  g_autofree char *d = hk_hl7_ts_to_date("19480405");
  ck_assert_str_eq(d, "1948-04-05");
  ck_assert_ptr_null(hk_hl7_ts_to_date("1948"));
}
END_TEST

static Suite *
hl7_suite(void)
{
  Suite *s = suite_create("hl7");
  TCase *tc = tcase_create("reader");

  tcase_add_test(tc, test_basic);
  tcase_add_test(tc, test_line_ends);
  tcase_add_test(tc, test_escapes);
  tcase_add_test(tc, test_other_delimiters);
  tcase_add_test(tc, test_charset_forms);
  tcase_add_test(tc, test_jis_message);
  tcase_add_test(tc, test_malformed);
  tcase_add_test(tc, test_garbage);
  tcase_add_test(tc, test_timestamps);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(hl7_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

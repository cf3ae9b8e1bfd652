/* Unit tests of hk-json-writer: the digits and timestamps it writes by hand
 * must be exactly what printf and hk_time_format write, at the edges of the
 * calendar (leap days, centuries, before 1970, the year 9999) and at
 * random times. */
#include "hk-json-writer.h"
#include "hk-test.h"
#include "hk-time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SEC ((int64_t)G_USEC_PER_SEC)

/* The text hk_jw_time writes for usec, without the member name. */
static char *
jw_time(int64_t usec)
{
  GString *g = g_string_new(NULL);

  hk_jw_time(g, NULL, usec);
  hk_jw_finish(g);
  return g_string_free(g, FALSE);
}

static void
check_time(int64_t usec, const char *want)
{
  char *got = jw_time(usec);
  char *quoted = g_strdup_printf("\"%s\"", want);

  ck_assert_msg(strcmp(got, quoted) == 0, "%" PRId64 ": got %s, want %s", usec, got, quoted);
  g_free(quoted);
  g_free(got);
}

START_TEST(test_time_edges)
{
  char *null = jw_time(0);

  /* 0 is "no time" (null), as before. */
  ck_assert_str_eq(null, "null");
  g_free(null);
  check_time(1, "1970-01-01T00:00:00.000Z");
  check_time(-1, "1969-12-31T23:59:59.999Z");
  check_time(-SEC, "1969-12-31T23:59:59.000Z");
  check_time((int64_t)951782400 * SEC, "2000-02-29T00:00:00.000Z");
  check_time((int64_t)951868800 * SEC - 1000, "2000-02-29T23:59:59.999Z");
  check_time((int64_t)-2203891200 * SEC, "1900-03-01T00:00:00.000Z");
  check_time((int64_t)-2203977600 * SEC, "1900-02-28T00:00:00.000Z");
  check_time((int64_t)4107542400 * SEC, "2100-03-01T00:00:00.000Z");
  check_time((int64_t)1795150980 * SEC + 123456, "2026-11-20T05:03:00.123Z");
  check_time((int64_t)253402300799 * SEC + 999999, "9999-12-31T23:59:59.999Z");
  check_time((int64_t)-62135596800 * SEC, "0001-01-01T00:00:00.000Z");
}
END_TEST

/* Every time from year 1000 to 9999 that a random draw gives: the same
 * text as hk_time_format (GDateTime), which the store's JSON records use.
 * (Before 1000 GDateTime's %Y has fewer than four digits; hk_jw_time pads,
 * as RFC 3339 asks: the edge test above checks year 1.) */
START_TEST(test_time_random)
{
  GRand *r = g_rand_new_with_seed(20261202);
  const int64_t lo = (int64_t)-30610224000 * SEC, hi = (int64_t)253402300799 * SEC;

  for (int i = 0; i < 200000; i++) {
    int64_t usec = lo + (int64_t)(g_rand_double(r) * (double)(hi - lo));
    char *want = hk_time_format(usec);
    if (usec != 0)
      check_time(usec, want);
    g_free(want);
  }
  g_rand_free(r);
}
END_TEST

START_TEST(test_int)
{
  static const int64_t values[] = {0,          1,         -1,       9, 10, -10, 1234567890123,
                                   -987654321, INT64_MAX, INT64_MIN};

  for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
    GString *g = g_string_new(NULL);
    char want[32];
    hk_jw_int(g, "n", values[i]);
    snprintf(want, sizeof want, "\"n\":%" PRId64 ",", values[i]);
    ck_assert_str_eq(g->str, want);
    g_string_free(g, TRUE);
  }
}
END_TEST

/* A string that is not UTF-8 (a reason a parser worker wrote from a hostile
 * file, a name from a broken SS-MIX2 message) must still give valid JSON:
 * each bad byte becomes U+FFFD, a NUL stays \u0000, good text is kept. */
START_TEST(test_str_not_utf8)
{
  static const struct {
    const char *in;
    size_t len;
    const char *want;
  } cases[] = {
      {"ok \xe7\x99\x8c", 6, "\"s\":\"ok \xe7\x99\x8c\","},
      {"a\xff"
       "b",
       3,
       "\"s\":\"a\xef\xbf\xbd"
       "b\","},
      {"\xe7\x99", 2, "\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\","},
      {"\xc0\xaf", 2, "\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\","},
      {"\xed\xa0\x80x", 4, "\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\","},
      {"n\0\"\x01\xfe", 5, "\"s\":\"n\\u0000\\\"\\u0001\xef\xbf\xbd\","},
  };

  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GString *g = g_string_new(NULL);
    hk_jw_strn(g, "s", cases[i].in, cases[i].len);
    ck_assert_msg(g_utf8_validate(g->str, (gssize)g->len, NULL), "case %zu: not UTF-8", i);
    ck_assert_msg(strcmp(g->str, cases[i].want) == 0, "case %zu: got %s", i, g->str);
    g_string_free(g, TRUE);
  }
}
END_TEST

static Suite *
json_writer_suite(void)
{
  Suite *s = suite_create("json-writer");
  TCase *tc = tcase_create("json-writer");

  tcase_add_test(tc, test_time_edges);
  tcase_add_test(tc, test_time_random);
  tcase_add_test(tc, test_int);
  tcase_add_test(tc, test_str_not_utf8);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(json_writer_suite());
}

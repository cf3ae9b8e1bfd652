/* Unit tests of hk-audit: append and chain, verify detects a flip of any
 * single byte, removed, reordered and truncated records; appends from two
 * handles (server and admin) continue one chain; a torn tail is cut. */
#include "hk-audit.h"
#include "hk-error.h"

#include <check.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmp;

static void
setup(void)
{
  tmp = g_dir_make_tmp("hk-audit-XXXXXX", NULL);
  ck_assert_ptr_nonnull(tmp);
}

static void
teardown(void)
{
  char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  g_free(tmp);
}

static void
write_some(int n)
{
  HkAudit *a = NULL;
  ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
  for (int i = 0; i < n; i++) {
    char doc[17];
    uint64_t seq = 0;
    g_snprintf(doc, sizeof doc, "%016x", i);
    HkAuditEvent e = { .user = "alice", .client = "127.0.0.1", .action = "document.content",
                       .patient = "0001234567", .document = doc, .version = 1,
                       .outcome = "success", .status = 200,
                       .detail = i == 1 ? "日本語 \"quoted\"\n" : NULL };
    ck_assert_int_eq(hk_audit_append(a, &e, &seq), 0);
  }
  hk_audit_close(a);
}

static char *
log_path(void)
{
  return g_build_filename(tmp, "audit.log", NULL);
}

static int
verify(void)
{
  HkAuditReport r;
  int ret = hk_audit_verify(tmp, NULL, 0, &r);
  hk_audit_report_clear(&r);
  return ret;
}

START_TEST(test_append_verify)
{
  HkAuditReport r;
  write_some(5);
  ck_assert_int_eq(hk_audit_verify(tmp, NULL, 0, &r), 0);
  ck_assert_uint_eq(r.records, 5);
  hk_audit_report_clear(&r);
  /* Reopen continues the chain. */
  write_some(3);
  ck_assert_int_eq(hk_audit_verify(tmp, NULL, 0, &r), 0);
  ck_assert_uint_eq(r.records, 8);
  hk_audit_report_clear(&r);
}
END_TEST

START_TEST(test_every_byte_flip)
{
  char *path = log_path(), *orig = NULL;
  gsize len = 0;

  write_some(4);
  ck_assert(g_file_get_contents(path, &orig, &len, NULL));
  for (gsize i = 0; i < len; i++) {
    char *copy = g_memdup2(orig, len);
    copy[i] ^= 0x01;
    ck_assert(g_file_set_contents(path, copy, (gssize)len, NULL));
    ck_assert_msg(verify() == -HK_ECORRUPT, "flip at byte %zu not detected", i);
    g_free(copy);
  }
  ck_assert(g_file_set_contents(path, orig, (gssize)len, NULL));
  ck_assert_int_eq(verify(), 0);
  g_free(orig);
  g_free(path);
}
END_TEST

START_TEST(test_remove_reorder_truncate)
{
  char *path = log_path(), *orig = NULL;
  gsize len = 0;
  char **lines;
  GString *s;

  write_some(4);
  ck_assert(g_file_get_contents(path, &orig, &len, NULL));
  lines = g_strsplit(orig, "\n", -1); /* 4 lines + "" */
  ck_assert_uint_eq(g_strv_length(lines), 5);
  /* Remove record 2. */
  s = g_string_new(NULL);
  g_string_append_printf(s, "%s\n%s\n%s\n", lines[0], lines[2], lines[3]);
  ck_assert(g_file_set_contents(path, s->str, (gssize)s->len, NULL));
  ck_assert_int_eq(verify(), -HK_ECORRUPT);
  /* Swap records 2 and 3. */
  g_string_printf(s, "%s\n%s\n%s\n%s\n", lines[0], lines[2], lines[1], lines[3]);
  ck_assert(g_file_set_contents(path, s->str, (gssize)s->len, NULL));
  ck_assert_int_eq(verify(), -HK_ECORRUPT);
  /* Remove the first record. */
  g_string_printf(s, "%s\n%s\n%s\n", lines[1], lines[2], lines[3]);
  ck_assert(g_file_set_contents(path, s->str, (gssize)s->len, NULL));
  ck_assert_int_eq(verify(), -HK_ECORRUPT);
  /* Remove the last record: the head catches it. */
  g_string_printf(s, "%s\n%s\n%s\n", lines[0], lines[1], lines[2]);
  ck_assert(g_file_set_contents(path, s->str, (gssize)s->len, NULL));
  ck_assert_int_eq(verify(), -HK_ECORRUPT);
  /* Empty the log. */
  ck_assert(g_file_set_contents(path, "", 0, NULL));
  ck_assert_int_eq(verify(), -HK_ECORRUPT);
  /* Intact again. */
  ck_assert(g_file_set_contents(path, orig, (gssize)len, NULL));
  ck_assert_int_eq(verify(), 0);
  g_string_free(s, TRUE);
  g_strfreev(lines);
  g_free(orig);
  g_free(path);
}
END_TEST

START_TEST(test_two_writers)
{
  HkAudit *a = NULL, *b = NULL;
  HkAuditEvent e = { .user = "x", .action = "login", .outcome = "success" };
  uint64_t seq = 0;

  ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
  ck_assert_int_eq(hk_audit_open(tmp, &b), 0);
  ck_assert_int_eq(hk_audit_append(a, &e, &seq), 0);
  ck_assert_uint_eq(seq, 1);
  ck_assert_int_eq(hk_audit_append(b, &e, &seq), 0);
  ck_assert_uint_eq(seq, 2);
  ck_assert_int_eq(hk_audit_append(a, &e, &seq), 0);
  ck_assert_uint_eq(seq, 3);
  ck_assert_int_eq(verify(), 0);
  hk_audit_close(a);
  hk_audit_close(b);
}
END_TEST

START_TEST(test_torn_tail)
{
  char *path = log_path();
  FILE *f;
  HkAudit *a = NULL;
  HkAuditEvent e = { .action = "login" };
  uint64_t seq = 0;

  write_some(2);
  f = fopen(path, "a");
  fputs("{\"seq\":3,\"ti", f);
  fclose(f);
  ck_assert_int_eq(verify(), -HK_ECORRUPT);
  ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
  ck_assert_int_eq(hk_audit_append(a, &e, &seq), 0);
  ck_assert_uint_eq(seq, 3);
  hk_audit_close(a);
  ck_assert_int_eq(verify(), 0);
  g_free(path);
}
END_TEST

static int
count_fn(JsonObject *o, const char *line, void *data)
{
  (*(int *)data)++;
  ck_assert_str_eq(json_object_get_string_member(o, "action"), "document.content");
  return 0;
}

START_TEST(test_foreach_and_missing)
{
  int n = 0;
  HkAuditReport r;
  ck_assert_int_eq(hk_audit_verify(tmp, NULL, 0, &r), -HK_ENOTFOUND);
  hk_audit_report_clear(&r);
  write_some(3);
  ck_assert_int_eq(hk_audit_foreach(tmp, count_fn, &n), 0);
  ck_assert_int_eq(n, 3);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("audit");
  TCase *tc = tcase_create("audit");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_append_verify);
  tcase_add_test(tc, test_every_byte_flip);
  tcase_add_test(tc, test_remove_reorder_truncate);
  tcase_add_test(tc, test_two_writers);
  tcase_add_test(tc, test_torn_tail);
  tcase_add_test(tc, test_foreach_and_missing);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Unit tests of hk-audit: append and chain, verify detects a flip of any
 * single byte, removed, reordered and truncated records; appends from two
 * handles (server and admin) continue one chain; a torn tail is cut; a log
 * cut and then written again never verifies (issue 10 item 8); split
 * records; bounded pages with cursors (item 10). */
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

/* Cut the last n lines of the log (as an attacker with the file would). */
static void
cut_tail(int n)
{
  char *path = log_path(), *text = NULL;
  gsize len = 0;

  ck_assert(g_file_get_contents(path, &text, &len, NULL));
  for (int i = 0; i <= n; i++) {
    char *nl = g_strrstr_len(text, (gssize)len, "\n");
    ck_assert_ptr_nonnull(nl);
    len = (gsize)(nl - text) + (i == n ? 1 : 0);
    if (i < n)
      *nl = 0;
  }
  ck_assert_int_eq(truncate(path, (off_t)len), 0);
  g_free(text);
  g_free(path);
}

START_TEST(test_cut_then_write_again)
{
  HkAuditReport r;
  HkAudit *a = NULL;
  HkAuditEvent e = {.user = "alice", .action = "patient.read", .patient = "0001234567"};

  write_some(20);
  cut_tail(5);
  /* Cut alone: the anchor names record 20, the log ends at 15. */
  ck_assert_int_eq(hk_audit_verify(tmp, NULL, 0, &r), -HK_ECORRUPT);
  ck_assert_uint_eq(r.missing, 5);
  ck_assert_ptr_nonnull(strstr(r.reason, "log ends at seq 15, anchor says 20: 5 records missing"));
  hk_audit_report_clear(&r);
  /* Reopened and written again (today's main rewrote the head here and the
   * chain verified): the gap is recorded and verify names it for good. */
  ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
  ck_assert_int_eq(hk_audit_append(a, &e, NULL), 0);
  hk_audit_close(a);
  ck_assert_int_eq(hk_audit_verify(tmp, NULL, 0, &r), -HK_ECORRUPT);
  ck_assert_uint_eq(r.bad_line, 16);
  ck_assert_ptr_nonnull(strstr(r.reason, "TRUNCATED"));
  ck_assert_ptr_nonnull(strstr(r.reason, "log ends at seq 15, anchor says 20: 5 records missing"));
  hk_audit_report_clear(&r);
}
END_TEST

START_TEST(test_cut_and_rewritten)
{
  HkAuditReport r;
  HkAudit *a = NULL;
  HkAuditEvent e = {.user = "mallory", .action = "patient.read"};

  /* Cut 3 records and forge 6 new ones in their place: the log is longer
   * than the anchor, but the anchor's record is not there any more. */
  write_some(10);
  cut_tail(3);
  {
    char *head = g_build_filename(tmp, "audit.head", NULL), *saved = NULL;
    gsize len = 0;
    ck_assert(g_file_get_contents(head, &saved, &len, NULL));
    unlink(head); /* as if the forger wrote without the anchor */
    ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
    for (int i = 0; i < 6; i++)
      ck_assert_int_eq(hk_audit_append(a, &e, NULL), 0);
    hk_audit_close(a);
    /* The first append noted the missing anchor; put the old anchor back
     * and reopen as the server would: it must see the rewrite. */
    ck_assert(g_file_set_contents(head, saved, (gssize)len, NULL));
    g_free(saved);
    g_free(head);
  }
  ck_assert_int_eq(hk_audit_verify(tmp, NULL, 0, &r), -HK_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(r.reason, "TRUNCATED"));
  hk_audit_report_clear(&r);
  ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
  hk_audit_close(a);
  {
    int n = 0;
    char *path = log_path(), *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    for (char *p = strstr(text, HK_AUDIT_TRUNCATED); p; p = strstr(p + 1, HK_AUDIT_TRUNCATED))
      n++;
    ck_assert_int_eq(n, 2); /* anchor missing, then anchor's record rewritten */
    ck_assert_ptr_nonnull(strstr(text, "the log was cut and rewritten"));
    g_free(text);
    g_free(path);
  }
}
END_TEST

START_TEST(test_shrinks_while_open)
{
  HkAuditReport r;
  HkAudit *a = NULL;
  HkAuditEvent e = {.user = "alice", .action = "patient.read"};

  ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
  for (int i = 0; i < 8; i++)
    ck_assert_int_eq(hk_audit_append(a, &e, NULL), 0);
  cut_tail(4);
  ck_assert_int_eq(hk_audit_append(a, &e, NULL), 0);
  hk_audit_close(a);
  ck_assert_int_eq(hk_audit_verify(tmp, NULL, 0, &r), -HK_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(r.reason, "4 records missing"));
  hk_audit_report_clear(&r);
}
END_TEST

START_TEST(test_checkpoints)
{
  HkAuditReport r;
  HkAuditCheckpoint cp, bad;
  char *path = log_path(), *text = NULL, *line;
  char text_cp[128];

  write_some(12);
  /* Take record 10 as the journal would have it. */
  ck_assert(g_file_get_contents(path, &text, NULL, NULL));
  line = text;
  for (int i = 1; i < 10; i++)
    line = strchr(line, '\n') + 1;
  {
    char *h = strstr(line, "\"hash\":\"") + 8;
    g_snprintf(text_cp, sizeof text_cp, "10:%.64s", h);
  }
  ck_assert_int_eq(hk_audit_checkpoint_parse(text_cp, &cp), 0);
  ck_assert_int_eq(hk_audit_checkpoint_parse("10:xyz", &bad), -HK_EINVAL);
  ck_assert_int_eq(hk_audit_checkpoint_parse("abc", &bad), -HK_EINVAL);
  ck_assert_int_eq(hk_audit_verify(tmp, &cp, 1, &r), 0);
  hk_audit_report_clear(&r);
  /* Cut 5 and forge the anchor to match the cut log: only the journal's
   * checkpoint still knows. */
  cut_tail(5);
  {
    char *head = g_build_filename(tmp, "audit.head", NULL);
    unlink(head);
    g_free(head);
  }
  ck_assert_int_eq(hk_audit_verify(tmp, &cp, 1, &r), -HK_ECORRUPT);
  ck_assert_ptr_nonnull(
      strstr(r.reason, "log ends at seq 7, checkpoint says 10: 3 records missing"));
  hk_audit_report_clear(&r);
  g_free(text);
  g_free(path);
}
END_TEST

START_TEST(test_split_records)
{
  HkAudit *a = NULL;
  HkAuditEvent e[3];
  int64_t end = 0;
  uint64_t seq = 0;
  char *path = log_path(), *text = NULL;

  ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
  for (int i = 0; i < 3; i++)
    e[i] = (HkAuditEvent){.action = "print",
                          .document = "0000000000000001",
                          .print_id = "p-1",
                          .part = (unsigned)i + 1,
                          .parts = 3};
  ck_assert_int_eq(hk_audit_append_many_nowait(a, e, 3, &seq, &end), 0);
  ck_assert_uint_eq(seq, 3);
  ck_assert_int_eq(hk_audit_sync(a, end), 0);
  hk_audit_close(a);
  ck_assert_int_eq(verify(), 0);
  ck_assert(g_file_get_contents(path, &text, NULL, NULL));
  ck_assert_ptr_nonnull(strstr(text, "\"print_id\":\"p-1\",\"part\":3,\"parts\":3"));
  g_free(text);
  g_free(path);
}
END_TEST

typedef struct {
  GHashTable *seen;
  unsigned n;
} PageSeen;

static int
page_fn(JsonObject *o, const char *line, void *data)
{
  PageSeen *ps = data;
  gint64 seq = json_object_get_int_member(o, "seq");
  ck_assert_msg(!g_hash_table_contains(ps->seen, GINT_TO_POINTER(seq)), "seq %ld twice", (long)seq);
  g_hash_table_add(ps->seen, GINT_TO_POINTER(seq));
  ps->n++;
  return 0;
}

START_TEST(test_pages)
{
  HkAudit *a = NULL;
  HkAuditPage q = {.from = INT64_MIN, .to = INT64_MAX, .limit = 300, .scan_max = 1000};
  PageSeen ps = {.seen = g_hash_table_new(NULL, NULL)};
  int64_t cursor = -1, next = 0, t0 = 1700000000LL * G_USEC_PER_SEC;
  unsigned pages = 0;

  ck_assert_int_eq(hk_audit_open(tmp, &a), 0);
  for (int i = 0; i < 4000; i++) {
    HkAuditEvent e = {.time = t0 + (int64_t)i * G_USEC_PER_SEC,
                      .action = "patient.read",
                      .user = i % 10 == 0 ? "bob" : "alice",
                      .patient = "0001234567"};
    int64_t end;
    ck_assert_int_eq(hk_audit_append_nowait(a, &e, NULL, &end), 0);
  }
  ck_assert_int_eq(hk_audit_sync(a, -1), 0);
  hk_audit_close(a);
  /* Every record once, at most limit per page. */
  do {
    unsigned before = ps.n;
    ck_assert_int_eq(hk_audit_page(tmp, &q, cursor, page_fn, &ps, &next), 0);
    ck_assert_uint_le(ps.n - before, 300);
    cursor = next;
    pages++;
  } while (next >= 0 && pages < 100);
  ck_assert_uint_eq(ps.n, 4000);
  ck_assert_uint_eq(pages, 14);
  /* A rare filter: a page reads at most scan_max records, then hands back a
   * cursor (bounded work), and the cursors still reach every match. */
  g_hash_table_remove_all(ps.seen);
  ps.n = 0;
  q.user = "bob";
  ck_assert_int_eq(hk_audit_page(tmp, &q, -1, page_fn, &ps, &next), 0);
  ck_assert_uint_eq(ps.n, 100);
  ck_assert_int_gt(next, 0);
  for (pages = 1; next >= 0 && pages < 100; pages++)
    ck_assert_int_eq(hk_audit_page(tmp, &q, next, page_fn, &ps, &next), 0);
  ck_assert_uint_eq(ps.n, 400);
  ck_assert_uint_eq(pages, 4);
  /* from: found by bisection; the first record handed is the first at or
   * after it. */
  g_hash_table_remove_all(ps.seen);
  ps.n = 0;
  q.user = NULL;
  q.limit = 5;
  q.from = t0 + 3210LL * G_USEC_PER_SEC;
  ck_assert_int_eq(hk_audit_page(tmp, &q, -1, page_fn, &ps, &next), 0);
  ck_assert_uint_eq(ps.n, 5);
  ck_assert(g_hash_table_contains(ps.seen, GINT_TO_POINTER(3211)));
  ck_assert(!g_hash_table_contains(ps.seen, GINT_TO_POINTER(3210)));
  /* A cursor that is not the start of a record. */
  ck_assert_int_eq(hk_audit_page(tmp, &q, 7, page_fn, &ps, &next), -HK_EINVAL);
  ck_assert_int_eq(hk_audit_page(tmp, &q, 1LL << 40, page_fn, &ps, &next), -HK_EINVAL);
  g_hash_table_unref(ps.seen);
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
  tcase_add_test(tc, test_cut_then_write_again);
  tcase_add_test(tc, test_cut_and_rewritten);
  tcase_add_test(tc, test_shrinks_while_open);
  tcase_add_test(tc, test_checkpoints);
  tcase_add_test(tc, test_split_records);
  tcase_add_test(tc, test_pages);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

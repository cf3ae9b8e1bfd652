/* test-extended.c: SS-MIX2 extended storage (issue 10, items 2 and 14).
 *
 * - A content folder that holds only a PDF or a JPEG, with no
 *   main_document.hl7, is archived: each attachment a document typed from
 *   the data-type folder, identified by the folder name's order number. A
 *   folder with nothing usable is refused with a reason naming what is
 *   missing, not an errno.
 * - An attachment that was encrypted, renamed or removed, or whose type
 *   changed, never makes a new current version (today the message's text
 *   became current): it is quarantined as suspect and the PDF stays
 *   current. A valid replacement still replaces, and a PDF that arrives
 *   after its message's text still supersedes the text.
 * Real LMDB in a temporary folder. */
#include "hk-error.h"
#include "hk-ssmix2.h"
#include "hk-ssmix2-test.h"
#include "hk-store.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#define PID "P0020077"
#define NOTE "11506-3^経過記録^LN"
#define SUMMARY "18842-5^退院時サマリー^LN"

/* root/P00/200/PID/date/type/<pid_date_type_order_ts_flag>/ */
static char *
content_folder(const char *date, const char *type, const char *order, const char *ts)
{
  g_autofree char *name = g_strdup_printf("%s_%s_%s_%s_%s_1", PID, date, type, order, ts);
  char *dir = g_build_filename(hk_t_root, "P00", "200", PID, date, type, name, NULL);
  ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
  return dir;
}

static void
put_file(const char *dir, const char *name, const void *data, size_t len)
{
  g_autofree char *p = g_build_filename(dir, name, NULL);
  g_autofree char *t = g_strdup_printf("%s.part", p);
  /* Written aside and renamed, as gateways (and ransomware) do: the
   * folder's own times change. */
  ck_assert(g_file_set_contents(t, data, (gssize)len, NULL));
  ck_assert_int_eq(g_rename(t, p), 0);
}

static const char pdf1[] = "%PDF-1.4\n% first report\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
static const char pdf2[] =
    "%PDF-1.4\n% corrected report\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
static const char jpeg[] = "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                           "\xff\xd9";
static const char encrypted[] = "\x93\x1f\xa8\x00\x7e\xc2 RANSOM \x01\xff\x10\x44";

static void
put_main(const char *dir)
{
  const char *text =
      "MSH|^~\\&|HIS||HIS||20240301120000||ORU^R01^ORU_R01|1|P|2.5||||||~ISO IR87||ISO "
      "2022-1994\r"
      "PID|0001||" PID "^^^^PI||患者^次郎^^^^^L^I||19600101|M\r"
      "OBR|1|||11506-3^経過記録^LN|||20240301120000\r"
      "OBX|1|ST|TXT^本文||経過良好||||||F\r";
  g_autoptr(GBytes) b = hk_t_jis(text);

  put_file(dir, "main_document.hl7", g_bytes_get_data(b, NULL), g_bytes_get_size(b));
}

static HkDocument *
doc_of(hk_store *s, const char *source_id)
{
  hk_txn *t = NULL;
  char doc_id[HK_DOC_ID_LEN + 1];
  HkDocument *d = NULL;

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ck_assert_msg(hk_store_find_source(t, source_id, doc_id) == 0, "no document %s", source_id);
  ck_assert_int_eq(hk_store_get_document(t, doc_id, &d), 0);
  hk_txn_abort(t);
  return d;
}

static bool
has_source(hk_store *s, const char *source_id)
{
  hk_txn *t = NULL;
  char doc_id[HK_DOC_ID_LEN + 1];
  int r;

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  r = hk_store_find_source(t, source_id, doc_id);
  hk_txn_abort(t);
  return r == 0;
}

typedef struct {
  const char *source;
  char *kind, *reason;
  guint n;
} QFind;

static int
q_find(const HkQuarantine *q, void *data)
{
  QFind *f = data;
  if (!*f->source || strcmp(q->source, f->source) == 0) {
    f->n++;
    if (!f->reason) {
      f->kind = g_strdup(q->kind);
      f->reason = g_strdup(q->reason);
    }
  }
  return 0;
}

/* The first quarantine record of path. */
static void
assert_quarantined(hk_store *s, const char *path, const char *kind, const char *reason)
{
  hk_txn *t = NULL;
  QFind f = {path, NULL, NULL, 0};

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ck_assert_int_eq(hk_store_quarantine_foreach(t, q_find, &f), 0);
  hk_txn_abort(t);
  ck_assert_msg(f.reason, "%s was not quarantined", path);
  ck_assert_msg(strcmp(f.kind, kind) == 0, "%s: kind %s, want %s (%s)", path, f.kind, kind,
                f.reason);
  ck_assert_msg(strstr(f.reason, reason), "reason \"%s\" lacks \"%s\"", f.reason, reason);
  g_free(f.kind);
  g_free(f.reason);
}

static guint
n_quarantined(hk_store *s)
{
  hk_txn *t = NULL;
  QFind f = {"", NULL, NULL, 0};

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ck_assert_int_eq(hk_store_quarantine_foreach(t, q_find, &f), 0);
  hk_txn_abort(t);
  g_free(f.kind);
  g_free(f.reason);
  return f.n;
}

static void
assert_current(hk_store *s, const char *sid, const char *ct, guint version, const char *bytes)
{
  g_autoptr(HkDocument) d = doc_of(s, sid);
  const HkVersion *v = hk_document_current(d);
  hk_txn *t = NULL;
  const void *data;
  size_t len;

  ck_assert_str_eq(v->content_type, ct);
  ck_assert_uint_eq(v->version, version);
  ck_assert(!d->withdrawn);
  if (bytes) {
    ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
    ck_assert_int_eq(hk_store_get_blob(t, v->sha256, &data, &len), 0);
    ck_assert_uint_eq(len, strlen(bytes));
    ck_assert(memcmp(data, bytes, len) == 0);
    hk_txn_abort(t);
  }
}

/* Item 14: folders with attachments and no main message. */
START_TEST(test_folder_without_main_message)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  g_autofree char *f1 = content_folder("20240301", NOTE, "000000000000101", "20240301120000000");
  g_autofree char *f2 = content_folder("20240302", SUMMARY, "000000000000102", "20240302090000000");
  g_autofree char *f3 = content_folder("20240303", NOTE, "000000000000103", "20240303090000000");
  g_autofree char *f4 = content_folder("20240304", NOTE, "000000000000104", "20240304090000000");
  const char *sid1 = "SSMIX2:" PID ":" NOTE ":000000000000101";
  const char *sid2 = "SSMIX2:" PID ":" SUMMARY ":000000000000102";
  const char *sid3 = "SSMIX2:" PID ":" NOTE ":000000000000103";

  put_file(f1, "report.pdf", pdf1, strlen(pdf1));
  put_file(f2, "scan.jpg", jpeg, sizeof jpeg - 1);
  put_file(f3, "a.pdf", pdf1, strlen(pdf1));
  put_file(f3, "b.jpg", jpeg, sizeof jpeg - 1);
  put_file(f4, "notes.bin", encrypted, sizeof encrypted - 1);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);

  {
    g_autoptr(HkDocument) d = doc_of(s, sid1);
    const HkVersion *v = hk_document_current(d);
    ck_assert_str_eq(v->type, "progress_note");
    ck_assert_str_eq(v->content_type, "application/pdf");
    ck_assert_str_eq(v->title, "経過記録");
    ck_assert_str_eq(v->code, "11506-3");
    ck_assert_str_eq(v->patient_id, PID);
    ck_assert_str_eq(v->created_at, "2024-03-01T12:00:00+09:00");
  }
  {
    g_autoptr(HkDocument) d = doc_of(s, sid2);
    ck_assert_str_eq(hk_document_current(d)->type, "discharge_summary");
    ck_assert_str_eq(hk_document_current(d)->content_type, "image/jpeg");
  }
  assert_current(s, sid3, "application/pdf", 1, pdf1);
  {
    g_autofree char *sid3b = g_strdup_printf("%s:b.jpg", sid3);
    assert_current(s, sid3b, "image/jpeg", 1, NULL);
  }
  /* Nothing usable: refused, naming what is missing. */
  assert_quarantined(s, f4, "bad_input", "without main_document.hl7");
  {
    hk_txn *t = NULL;
    QFind f = {f4, NULL, NULL, 0};
    ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
    ck_assert_int_eq(hk_store_quarantine_foreach(t, q_find, &f), 0);
    hk_txn_abort(t);
    ck_assert_msg(!strstr(f.reason, "No such file"), "errno in reason: %s", f.reason);
    g_free(f.kind);
    g_free(f.reason);
  }
  {
    /* The patient exists, to be found by ID. */
    hk_txn *t = NULL;
    g_autoptr(HkPatient) p = NULL;
    ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
    ck_assert_int_eq(hk_store_get_patient(t, PID, &p), 0);
    hk_txn_abort(t);
  }
  /* A second walk finds nothing new. */
  memset(&st, 0, sizeof st);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.added + st.quarantined + st.suspect, 0);
  hk_store_close(s);
}
END_TEST

/* Item 2: what happens to a stored PDF's file, and what must follow. */
typedef enum {
  ATT_ENCRYPTED, /* rewritten with bytes that are not a PDF */
  ATT_RENAMED,   /* report.pdf -> report.pdf.locked, encrypted */
  ATT_REMOVED,   /* gone, the message stays */
  ATT_RETYPED,   /* report.pdf gone, report.jpg instead */
  N_ATT
} AttChange;

static const char *att_reason[N_ATT] = {
    "no longer reads as application/pdf",
    "attachment missing: report.pdf",
    "attachment missing: report.pdf",
    "attachment missing: report.pdf",
};

START_TEST(test_attachment_change_never_becomes_current)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  g_autofree char *f = content_folder("20240301", NOTE, "000000000000201", "20240301120000000");
  g_autofree char *pdf_path = g_build_filename(f, "report.pdf", NULL);
  const char *sid = "SSMIX2:" PID ":" NOTE ":000000000000201";

  put_main(f);
  put_file(f, "report.pdf", pdf1, strlen(pdf1));
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  assert_current(s, sid, "application/pdf", 1, pdf1);

  switch ((AttChange)_i) {
  case ATT_ENCRYPTED:
    put_file(f, "report.pdf", encrypted, sizeof encrypted - 1);
    break;
  case ATT_RENAMED: {
    g_autofree char *locked = g_build_filename(f, "report.pdf.locked", NULL);
    ck_assert(g_file_set_contents(pdf_path, encrypted, sizeof encrypted - 1, NULL));
    ck_assert_int_eq(g_rename(pdf_path, locked), 0);
    break;
  }
  case ATT_REMOVED:
    ck_assert_int_eq(g_unlink(pdf_path), 0);
    break;
  case ATT_RETYPED:
    ck_assert_int_eq(g_unlink(pdf_path), 0);
    put_file(f, "report.jpg", jpeg, sizeof jpeg - 1);
    break;
  default:
    ck_abort();
  }
  memset(&st, 0, sizeof st);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  /* The PDF stays current: neither the message's text nor anything else
   * took its place. */
  assert_current(s, sid, "application/pdf", 1, pdf1);
  ck_assert_uint_eq(st.suspect, 1);
  assert_quarantined(s, pdf_path, "suspect", att_reason[_i]);
  if (_i == ATT_RENAMED) {
    g_autofree char *locked = g_build_filename(f, "report.pdf.locked", NULL);
    assert_quarantined(s, locked, "bad_input", "not PDF, JPEG or UTF-8 text");
  }
  hk_store_close(s);
}
END_TEST

/* Valid changes still go through: a corrected PDF replaces the PDF, and a
 * PDF that arrives after its message's text supersedes the text. */
START_TEST(test_valid_attachment_changes)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  g_autofree char *f = content_folder("20240301", NOTE, "000000000000301", "20240301120000000");
  g_autofree char *g = content_folder("20240302", NOTE, "000000000000302", "20240302120000000");
  const char *sid_f = "SSMIX2:" PID ":" NOTE ":000000000000301";
  const char *sid_g = "SSMIX2:" PID ":" NOTE ":000000000000302";

  put_main(f);
  put_file(f, "report.pdf", pdf1, strlen(pdf1));
  put_main(g);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  assert_current(s, sid_f, "application/pdf", 1, pdf1);
  assert_current(s, sid_g, "text/plain", 1, NULL);

  put_file(f, "report.pdf", pdf2, strlen(pdf2));
  put_file(g, "late.pdf", pdf1, strlen(pdf1));
  memset(&st, 0, sizeof st);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.suspect + st.quarantined, 0);
  ck_assert_uint_eq(n_quarantined(s), 0);
  assert_current(s, sid_f, "application/pdf", 2, pdf2);
  assert_current(s, sid_g, "application/pdf", 2, pdf1);
  ck_assert(!has_source(s, "SSMIX2:" PID ":" NOTE ":000000000000302:late.pdf"));
  hk_store_close(s);
}
END_TEST

static void
extended_setup(void)
{
  hk_t_setup("hk-ssmix2-ext-XXXXXX");
}

static Suite *
extended_suite(void)
{
  Suite *s = suite_create("ssmix2-extended");
  TCase *tc = tcase_create("extended");

  tcase_add_checked_fixture(tc, extended_setup, hk_t_teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_folder_without_main_message);
  tcase_add_loop_test(tc, test_attachment_change_never_becomes_current, 0, N_ATT);
  tcase_add_test(tc, test_valid_attachment_changes);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_t_run(extended_suite());
}

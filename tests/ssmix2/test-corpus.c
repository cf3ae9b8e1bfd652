/* test-corpus.c: import every SS-MIX2 file of tests/corpus/ssmix2 into
 * a real store and check each against its row in docs/ssmix2.md (the
 * table is the specification; a corpus file without a row fails). */
#include "hk-error.h"
#include "hk-log.h"
#include "hk-ssmix2.h"
#include "hk-store.h"

#include <check.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *file;  /* relative to the corpus's ssmix2 folder */
  char *check; /* the check column */
} Row;

static char *corpus;
static char *tmp;
static hk_store *store;
static GPtrArray *rows;

static void
row_free(Row *r)
{
  g_free(r->file);
  g_free(r->check);
  g_free(r);
}

/* The table rows: "| `file` | outcome | `check` |". */
static GPtrArray *
read_table(const char *md_path)
{
  g_autofree char *md = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)row_free);
  bool in_corpus = false;

  ck_assert(g_file_get_contents(md_path, &md, NULL, NULL));
  lines = g_strsplit(md, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    const char *l = lines[i];
    if (g_str_has_prefix(l, "## "))
      in_corpus = g_str_has_prefix(l, "## The corpus");
    if (!in_corpus || !g_str_has_prefix(l, "| `"))
      continue;
    const char *a = l + 3, *b = strchr(a, '`');
    const char *c_end = strrchr(l, '`');
    const char *c_start = c_end ? g_strrstr_len(l, c_end - l, "| `") : NULL;
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c_start);
    Row *r = g_new0(Row, 1);
    r->file = g_strndup(a, b - a);
    r->check = g_strndup(c_start + 3, c_end - (c_start + 3));
    g_ptr_array_add(out, r);
  }
  return out;
}

static void
setup(void)
{
  const char *cdir = g_getenv("HK_CORPUS_DIR");
  const char *src = g_getenv("HK_SOURCE_DIR");
  g_autofree char *md = NULL, *sdir = NULL;
  const char *roots[] = {"nho_testingtool/standard_root", "nho_support/standard_root",
                         "nho_support/extended_root"};

  hk_log_set_level(HK_LOG_ERROR);
  ck_assert_ptr_nonnull(cdir);
  ck_assert_ptr_nonnull(src);
  corpus = g_build_filename(cdir, "ssmix2", NULL);
  md = g_build_filename(src, "docs", "ssmix2.md", NULL);
  rows = read_table(md);
  tmp = g_dir_make_tmp("hk-ssmix2-corpus-XXXXXX", NULL);
  sdir = g_build_filename(tmp, "store", NULL);
  ck_assert_int_eq(hk_store_open(sdir, HK_STORE_CREATE, &store), 0);
  for (size_t i = 0; i < G_N_ELEMENTS(roots); i++) {
    g_autofree char *root = g_build_filename(corpus, roots[i], NULL);
    HkSsmix2Stats st = {0};
    ck_assert_msg(g_file_test(root, G_FILE_TEST_IS_DIR), "missing corpus folder %s", root);
    ck_assert_int_eq(hk_ssmix2_scan(store, root, &st), 0);
  }
}

static void
teardown(void)
{
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
  hk_store_close(store);
  ck_assert_int_eq(system(cmd), 0);
  g_clear_pointer(&tmp, g_free);
  g_clear_pointer(&corpus, g_free);
  g_clear_pointer(&rows, g_ptr_array_unref);
}

static void
list_files(const char *dir, const char *rel, GPtrArray *out)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *n;

  while (d && (n = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, n, NULL);
    g_autofree char *r = rel ? g_build_filename(rel, n, NULL) : g_strdup(n);
    if (g_file_test(p, G_FILE_TEST_IS_DIR))
      list_files(p, r, out);
    else
      g_ptr_array_add(out, g_steal_pointer(&r));
  }
}

/* The source path hikae records: the file, or its extended content folder. */
static char *
source_of(const char *rel)
{
  g_autofree char *abs = g_build_filename(corpus, rel, NULL);
  if (g_str_has_suffix(abs, "/main_document.hl7"))
    return g_path_get_dirname(abs);
  return g_steal_pointer(&abs);
}

typedef struct {
  const char *source;
  char *reason;
} QFind;

static int
q_find(const HkQuarantine *q, void *data)
{
  QFind *f = data;
  if (strcmp(q->source, f->source) == 0 && !f->reason)
    f->reason = g_strdup(q->reason);
  return 0;
}

typedef struct {
  const char *source;
  HkVersion *v;
  bool withdrawn;
} VFind;

static int
v_find(const HkVersion *v, bool current, bool withdrawn, void *data)
{
  VFind *f = data;
  if (current && g_strcmp0(v->source, f->source) == 0 && !f->v) {
    f->v = hk_version_copy(v);
    f->withdrawn = withdrawn;
  }
  return 0;
}

static void
check_patient_field(const HkPatient *p, const char *k, const char *v, const char *file)
{
  if (strcmp(k, "name") == 0)
    ck_assert_str_eq(p->name, v);
  else if (strcmp(k, "kana") == 0)
    ck_assert_str_eq(p->kana, v);
  else if (strcmp(k, "birth_date") == 0)
    ck_assert_str_eq(p->birth_date, v);
  else if (strcmp(k, "sex") == 0)
    ck_assert_str_eq(p->sex, v);
  else if (strcmp(k, "allergies") == 0)
    ck_assert_int_eq((int)p->allergies->len, atoi(v));
  else if (strcmp(k, "problems") == 0)
    ck_assert_int_eq((int)p->problems->len, atoi(v));
  else if (strcmp(k, "allergies_status") == 0)
    ck_assert_str_eq(hk_fact_status(p->allergies->len > 0, &p->allergies_unreadable), v);
  else if (strcmp(k, "problems_status") == 0)
    ck_assert_str_eq(hk_fact_status(p->problems->len > 0, &p->problems_unreadable), v);
  else if (strcmp(k, "admission_status") == 0)
    ck_assert_str_eq(hk_fact_status(p->admission != NULL, &p->admission_unreadable), v);
  else if (strcmp(k, "allergy") == 0) {
    bool found = false;
    for (guint i = 0; i < p->allergies->len; i++)
      found |= strcmp(((HkAllergy *)p->allergies->pdata[i])->allergen, v) == 0;
    ck_assert_msg(found, "%s: no allergy %s", file, v);
  } else if (strcmp(k, "admission") == 0) {
    if (strcmp(v, "none") == 0) {
      ck_assert_msg(p->admission == NULL, "%s: %s should not be an inpatient", file, p->id);
    } else {
      g_autofree char *loc = NULL;
      ck_assert_ptr_nonnull(p->admission);
      loc = g_strdup_printf("%s/%s/%s", p->admission->ward, p->admission->room, p->admission->bed);
      ck_assert_str_eq(loc, v);
    }
  } else
    ck_abort_msg("%s: unknown check %s", file, k);
}

static void
check_row(hk_txn *t, const Row *r)
{
  g_auto(GStrv) parts = g_strsplit(r->check, "; ", -1);
  g_autofree char *source = source_of(r->file);
  QFind qf = {source, NULL};
  const char *head = parts[0];

  ck_assert_int_eq(hk_store_quarantine_foreach(t, q_find, &qf), 0);
  if (strcmp(head, "quarantine") == 0) {
    ck_assert_msg(qf.reason, "%s was not quarantined", r->file);
    ck_assert_msg(strstr(qf.reason, parts[1]), "%s: reason \"%s\" lacks \"%s\"", r->file, qf.reason,
                  parts[1]);
    g_free(qf.reason);
    return;
  }
  ck_assert_msg(!qf.reason, "%s was quarantined: %s", r->file, qf.reason);
  if (g_str_has_prefix(head, "patient ") || g_str_has_prefix(head, "census ")) {
    g_autoptr(HkPatient) p = NULL;
    ck_assert_int_eq(hk_store_get_patient(t, strchr(head, ' ') + 1, &p), 0);
    for (guint i = 1; parts[i]; i++) {
      g_auto(GStrv) kv = g_strsplit(parts[i], "=", 2);
      check_patient_field(p, kv[0], kv[1], r->file);
    }
  } else if (g_str_has_prefix(head, "document ")) {
    VFind vf = {source, NULL, false};
    const void *data;
    size_t len;
    g_autofree char *text = NULL;
    ck_assert_int_eq(hk_store_foreach_version(t, NULL, v_find, &vf), 0);
    ck_assert_msg(vf.v, "%s: no document", r->file);
    ck_assert_str_eq(vf.v->type, head + 9);
    ck_assert_int_eq(hk_store_get_blob(t, vf.v->sha256, &data, &len), 0);
    text = g_strndup(data, len);
    for (guint i = 1; parts[i]; i++) {
      g_auto(GStrv) kv = g_strsplit(parts[i], "=", 2);
      if (strcmp(kv[0], "source_id") == 0)
        ck_assert_str_eq(vf.v->source_id, kv[1]);
      else if (strcmp(kv[0], "content_type") == 0)
        ck_assert_str_eq(vf.v->content_type, kv[1]);
      else if (strcmp(kv[0], "code") == 0)
        ck_assert_str_eq(vf.v->code, kv[1]);
      else if (strcmp(kv[0], "title") == 0)
        ck_assert_str_eq(vf.v->title, kv[1]);
      else if (strcmp(kv[0], "contains") == 0)
        ck_assert_msg(strstr(text, kv[1]), "%s: text lacks \"%s\":\n%s", r->file, kv[1], text);
      else
        ck_abort_msg("%s: unknown check %s", r->file, kv[0]);
    }
    hk_version_free(vf.v);
  } else {
    ck_abort_msg("%s: unknown check \"%s\"", r->file, r->check);
  }
}

START_TEST(test_every_row)
{
  hk_txn *t = NULL;

  ck_assert_uint_gt(rows->len, 0);
  ck_assert_int_eq(hk_txn_begin(store, false, &t), 0);
  for (guint i = 0; i < rows->len; i++)
    check_row(t, rows->pdata[i]);
  hk_txn_abort(t);
}
END_TEST

START_TEST(test_every_file_has_a_row)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);

  list_files(corpus, NULL, files);
  ck_assert_uint_gt(files->len, 0);
  for (guint i = 0; i < files->len; i++) {
    bool found = false;
    for (guint k = 0; k < rows->len && !found; k++)
      found = strcmp(((Row *)rows->pdata[k])->file, files->pdata[i]) == 0;
    ck_assert_msg(found, "docs/ssmix2.md has no row for %s", (char *)files->pdata[i]);
  }
  ck_assert_uint_eq(files->len, rows->len);
}
END_TEST

START_TEST(test_totals_and_rescan)
{
  hk_txn *t = NULL;
  HkStoreStats st = {0};
  HkSsmix2Stats again = {0};
  g_autofree char *root = g_build_filename(corpus, "nho_testingtool/standard_root", NULL);

  ck_assert_int_eq(hk_txn_begin(store, false, &t), 0);
  ck_assert_int_eq(hk_store_stats(t, &st), 0);
  hk_txn_abort(t);
  ck_assert_uint_eq(st.documents, 4);
  ck_assert_uint_eq(st.patients, 2);
  ck_assert_uint_eq(st.quarantined, 6);
  ck_assert_uint_eq(st.inpatients, 0);
  hk_indexer_info_clear(&st.indexer);
  ck_assert_int_eq(hk_ssmix2_scan(store, root, &again), 0);
  ck_assert_uint_eq(again.unchanged, again.files);
  ck_assert_uint_eq(again.quarantined + again.added + again.patients, 0);
}
END_TEST

static Suite *
corpus_suite(void)
{
  Suite *s = suite_create("ssmix2-corpus");
  TCase *tc = tcase_create("corpus");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_every_row);
  tcase_add_test(tc, test_every_file_has_a_row);
  tcase_add_test(tc, test_totals_and_rescan);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr;
  int failed;

  /* The corpus is in the repository: without it this fails, never skips. */
  if (!g_getenv("HK_CORPUS_DIR")) {
    fprintf(stderr, "test-corpus: HK_CORPUS_DIR is not set: run through meson test\n");
    return EXIT_FAILURE;
  }
  sr = srunner_create(corpus_suite());
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test-generated.c: import a storage written by hikae-samples --ssmix2 into
 * a real store and check it holds exactly what the generator's
 * expectations file lists: patients (identity, allergies, problems,
 * admission), the census, every document with its versions, withdrawn
 * flag and text. Then change the storage as an SS-MIX2 gateway would
 * (1 -> 2 plus a new 1, 1 -> 0, a discharge) and check a rescan follows. */
#include "hk-error.h"
#include "hk-ssmix2.h"
#include "hk-ssmix2-test.h"
#include "hk-store.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

static JsonObject *expected;
static JsonParser *parser;

static void
setup(void)
{
  const char *build = g_getenv("HK_BUILD_DIR");
  g_autofree char *samples = NULL, *out = NULL, *exp_path = NULL;
  g_autofree char *std_out = NULL, *std_err = NULL;
  gint status = 0;

  hk_t_setup("hk-ssmix2-gen-XXXXXX");
  ck_assert_ptr_nonnull(build);
  samples = g_build_filename(build, "samples", "hikae-samples", NULL);
  out = g_build_filename(hk_t_tmp, "gen", NULL);
  const char *argv[] = {samples, "--out",  out, "--patients", "60", "--docs-per-patient",
                        "1",     "--seed", "7", "--ssmix2",   NULL};
  ck_assert(
      g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &std_out, &std_err, &status, NULL));
  ck_assert_msg(g_spawn_check_wait_status(status, NULL), "hikae-samples failed: %s", std_err);
  g_free(hk_t_root);
  hk_t_root = g_build_filename(out, "ssmix2", NULL);
  exp_path = g_build_filename(out, "ssmix2-expected.json", NULL);
  parser = json_parser_new();
  ck_assert(json_parser_load_from_file(parser, exp_path, NULL));
  expected = json_node_get_object(json_parser_get_root(parser));
}

static void
teardown(void)
{
  hk_t_teardown();
  g_clear_object(&parser);
}

static const char *
jstr(JsonObject *o, const char *k)
{
  return json_object_has_member(o, k) && !json_object_get_null_member(o, k)
             ? json_object_get_string_member(o, k)
             : NULL;
}

static bool
allergy_in(GPtrArray *list, JsonObject *a)
{
  for (guint i = 0; i < list->len; i++) {
    HkAllergy *x = list->pdata[i];
    if (g_strcmp0(x->allergen, jstr(a, "allergen")) == 0 &&
        g_strcmp0(x->type, jstr(a, "type")) == 0 &&
        g_strcmp0(x->reaction, jstr(a, "reaction")) == 0 &&
        g_strcmp0(x->severity, jstr(a, "severity")) == 0)
      return true;
  }
  return false;
}

static bool
problem_in(GPtrArray *list, JsonObject *p)
{
  for (guint i = 0; i < list->len; i++) {
    HkProblem *x = list->pdata[i];
    if (g_strcmp0(x->code, jstr(p, "code")) == 0 && g_strcmp0(x->name, jstr(p, "name")) == 0 &&
        g_strcmp0(x->onset, jstr(p, "onset")) == 0)
      return true;
  }
  return false;
}

static void
check_patients(hk_txn *t)
{
  JsonArray *pats = json_object_get_array_member(expected, "patients");

  for (guint i = 0; i < json_array_get_length(pats); i++) {
    JsonObject *e = json_array_get_object_element(pats, i);
    const char *id = jstr(e, "id");
    g_autoptr(HkPatient) p = NULL;
    JsonArray *al = json_object_get_array_member(e, "allergies");
    JsonArray *pr = json_object_get_array_member(e, "problems");

    ck_assert_int_eq(hk_store_get_patient(t, id, &p), 0);
    ck_assert_str_eq(p->name, jstr(e, "name"));
    ck_assert_str_eq(p->kana, jstr(e, "kana"));
    ck_assert_str_eq(p->birth_date, jstr(e, "birth_date"));
    ck_assert_str_eq(p->sex, jstr(e, "sex"));
    ck_assert_msg(p->allergies->len == json_array_get_length(al), "%s: %u allergies, want %u", id,
                  p->allergies->len, json_array_get_length(al));
    for (guint k = 0; k < json_array_get_length(al); k++)
      ck_assert_msg(allergy_in(p->allergies, json_array_get_object_element(al, k)),
                    "%s lacks allergy %u", id, k);
    ck_assert_msg(p->problems->len == json_array_get_length(pr), "%s: %u problems, want %u", id,
                  p->problems->len, json_array_get_length(pr));
    for (guint k = 0; k < json_array_get_length(pr); k++)
      ck_assert_msg(problem_in(p->problems, json_array_get_object_element(pr, k)),
                    "%s lacks problem %u", id, k);
    if (json_object_get_null_member(e, "admission")) {
      ck_assert_msg(p->admission == NULL, "%s should not be an inpatient", id);
    } else {
      JsonObject *a = json_object_get_object_member(e, "admission");
      ck_assert_msg(p->admission != NULL, "%s should be an inpatient", id);
      ck_assert_str_eq(p->admission->ward, jstr(a, "ward"));
      ck_assert_str_eq(p->admission->room, jstr(a, "room"));
      ck_assert_str_eq(p->admission->bed, jstr(a, "bed"));
      ck_assert_str_eq(p->admission->admitted_at, jstr(a, "admitted_at"));
    }
  }
}

static void
check_census(hk_txn *t, int minus)
{
  JsonArray *c = json_object_get_array_member(expected, "census");
  g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_free);

  ck_assert_int_eq(hk_store_census(t, NULL, got), 0);
  ck_assert_int_eq((int)got->len, (int)json_array_get_length(c) - minus);
  if (minus)
    return;
  for (guint i = 0; i < json_array_get_length(c); i++) {
    JsonObject *e = json_array_get_object_element(c, i);
    bool found = false;
    for (guint k = 0; k < got->len && !found; k++) {
      HkPatient *p = got->pdata[k];
      found = strcmp(p->id, jstr(e, "patient_id")) == 0 &&
              g_strcmp0(p->admission->ward, jstr(e, "ward")) == 0 &&
              g_strcmp0(p->admission->room, jstr(e, "room")) == 0 &&
              g_strcmp0(p->admission->bed, jstr(e, "bed")) == 0;
    }
    ck_assert_msg(found, "census lacks %s", jstr(e, "patient_id"));
  }
}

static int
count_doc(const HkVersion *v, bool current, bool withdrawn, void *data)
{
  if (current)
    (*(guint *)data)++;
  return 0;
}

static void
check_documents(hk_txn *t)
{
  JsonArray *docs = json_object_get_array_member(expected, "documents");
  guint n_docs = 0;

  for (guint i = 0; i < json_array_get_length(docs); i++) {
    JsonObject *e = json_array_get_object_element(docs, i);
    char doc_id[HK_DOC_ID_LEN + 1];
    g_autoptr(HkDocument) d = NULL;
    const HkVersion *cur;
    const void *data;
    size_t len;
    JsonArray *contains = json_object_get_array_member(e, "contains");

    ck_assert_msg(hk_store_find_source(t, jstr(e, "source_id"), doc_id) == 0, "no document %s",
                  jstr(e, "source_id"));
    ck_assert_int_eq(hk_store_get_document(t, doc_id, &d), 0);
    cur = hk_document_current(d);
    ck_assert_str_eq(cur->patient_id, jstr(e, "patient_id"));
    ck_assert_str_eq(cur->type, jstr(e, "type"));
    ck_assert_str_eq(cur->content_type, jstr(e, "content_type"));
    if (jstr(e, "code"))
      ck_assert_str_eq(cur->code, jstr(e, "code"));
    if (jstr(e, "title"))
      ck_assert_str_eq(cur->title, jstr(e, "title"));
    ck_assert_msg((gint64)d->versions->len == json_object_get_int_member(e, "versions"),
                  "%s: %u versions", jstr(e, "source_id"), d->versions->len);
    ck_assert_msg(d->withdrawn == json_object_get_boolean_member(e, "withdrawn"),
                  "%s: withdrawn %d", jstr(e, "source_id"), d->withdrawn);
    /* Withdrawn or not, every version's bytes stay readable. */
    ck_assert_int_eq(hk_store_get_blob(t, cur->sha256, &data, &len), 0);
    for (guint k = 0; k < json_array_get_length(contains); k++) {
      const char *want = json_array_get_string_element(contains, k);
      g_autofree char *text = g_strndup(data, len);
      ck_assert_msg(strstr(text, want), "%s lacks \"%s\":\n%s", jstr(e, "source_id"), want, text);
    }
  }
  ck_assert_int_eq(hk_store_foreach_version(t, NULL, count_doc, &n_docs), 0);
  ck_assert_uint_eq(n_docs, json_array_get_length(docs));
}

START_TEST(test_generated_storage)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0}, st2 = {0};
  hk_txn *t = NULL;

  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.files, (guint64)json_object_get_int_member(expected, "messages"));
  ck_assert_uint_eq(st.quarantined + st.suspect, 0);
  ck_assert_uint_gt(st.withdrawn, 0);
  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  check_patients(t);
  check_census(t, 0);
  check_documents(t);
  hk_txn_abort(t);
  /* A second walk finds nothing new. */
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st2), 0);
  ck_assert_uint_eq(st2.unchanged, st.files);
  ck_assert_uint_eq(st2.added + st2.patients + st2.messages, 0);
  hk_store_close(s);
}
END_TEST

/* The first file under root whose path contains part and ends in _1. */
static char *
find_file(const char *dir, const char *part)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *n;
  char *found = NULL;

  while (d && !found && (n = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, n, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR))
      found = find_file(p, part);
    else if (strstr(p, part) && g_str_has_suffix(p, "_1"))
      found = g_strdup(p);
  }
  return found;
}

static char *
with_flag(const char *path, char flag)
{
  char *p = g_strdup(path);
  p[strlen(p) - 1] = flag;
  return p;
}

START_TEST(test_live_changes)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  hk_txn *t = NULL;
  g_autofree char *rx = find_file(hk_t_root, "_OMP-01_"), *lab = find_file(hk_t_root, "_OML-11_");
  g_autofree char *rx0 = NULL, *lab2 = NULL, *lab_new = NULL, *bytes = NULL;
  g_autofree char *rx_sid = NULL, *lab_sid = NULL;
  g_auto(GStrv) rx_parts = NULL, lab_parts = NULL;
  char doc_id[HK_DOC_ID_LEN + 1];
  gsize len = 0;

  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_ptr_nonnull(rx);
  ck_assert_ptr_nonnull(lab);
  {
    g_autofree char *b1 = g_path_get_basename(rx), *b2 = g_path_get_basename(lab);
    rx_parts = g_strsplit(b1, "_", -1);
    lab_parts = g_strsplit(b2, "_", -1);
  }
  rx_sid = g_strdup_printf("SSMIX2:%s:OMP-01:%s", rx_parts[0], rx_parts[3]);
  lab_sid = g_strdup_printf("SSMIX2:%s:OML-11:%s", lab_parts[0], lab_parts[3]);

  /* The gateway deletes a prescription (1 -> 0) and updates a lab report
   * (1 -> 2, and a new 1 with a later time stamp). */
  rx0 = with_flag(rx, '0');
  ck_assert_int_eq(g_rename(rx, rx0), 0);
  lab2 = with_flag(lab, '2');
  ck_assert(g_file_get_contents(lab, &bytes, &len, NULL));
  ck_assert_int_eq(g_rename(lab, lab2), 0);
  {
    g_autofree char *dir = g_path_get_dirname(lab);
    g_autofree char *name = g_strdup_printf("%s_%s_%s_%s_29991231235959000_%s_1", lab_parts[0],
                                            lab_parts[1], lab_parts[2], lab_parts[3], lab_parts[5]);
    GString *b = g_string_new_len(bytes, (gssize)len);
    g_string_append(b, "NTE|1||corrected report\r");
    lab_new = g_build_filename(dir, name, NULL);
    ck_assert(g_file_set_contents(lab_new, b->str, (gssize)b->len, NULL));
    g_string_free(b, TRUE);
  }
  memset(&st, 0, sizeof st);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.withdrawn, 1);
  ck_assert_uint_eq(st.history, 1);
  ck_assert_uint_eq(st.added, 1);
  ck_assert_uint_eq(st.quarantined, 0);

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  {
    g_autoptr(HkDocument) d = NULL;
    const void *data;
    size_t dl;
    ck_assert_int_eq(hk_store_find_source(t, rx_sid, doc_id), 0);
    ck_assert_int_eq(hk_store_get_document(t, doc_id, &d), 0);
    ck_assert(d->withdrawn);
    ck_assert_int_eq(hk_store_get_blob(t, hk_document_current(d)->sha256, &data, &dl), 0);
  }
  {
    g_autoptr(HkDocument) d = NULL;
    g_autofree char *text = NULL;
    const void *data;
    size_t dl;
    ck_assert_int_eq(hk_store_find_source(t, lab_sid, doc_id), 0);
    ck_assert_int_eq(hk_store_get_document(t, doc_id, &d), 0);
    ck_assert(!d->withdrawn);
    ck_assert_uint_ge(d->versions->len, 2);
    ck_assert_int_eq(hk_store_get_blob(t, hk_document_current(d)->sha256, &data, &dl), 0);
    text = g_strndup(data, dl);
    ck_assert_ptr_nonnull(strstr(text, "corrected report"));
  }
  hk_txn_abort(t);
  hk_store_close(s);
}
END_TEST

START_TEST(test_discharge_leaves_census)
{
  hk_store *s = hk_t_open_store();
  HkSsmix2Stats st = {0};
  hk_txn *t = NULL;
  JsonArray *c = json_object_get_array_member(expected, "census");
  JsonObject *first;
  const char *pid;
  g_autofree char *adm = NULL, *bytes = NULL;
  gsize len = 0;

  ck_assert_uint_gt(json_array_get_length(c), 0);
  first = json_array_get_object_element(c, 0);
  pid = jstr(first, "patient_id");
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  /* Turn the patient's admission message into a discharge one day in
   * the future: ADT^A01 -> ADT^A03 and EVN-6 later. */
  {
    g_autofree char *needle = g_strdup_printf("%s_", pid);
    g_autofree char *pdir = g_build_filename(hk_t_root, (char[]){pid[0], pid[1], pid[2], 0},
                                             (char[]){pid[3], pid[4], pid[5], 0}, pid, NULL);
    adm = find_file(pdir, "_ADT-22_");
    ck_assert_ptr_nonnull(adm);
    ck_assert(g_file_get_contents(adm, &bytes, &len, NULL));
    GString *b = g_string_new(NULL);
    char *a01 = strstr(bytes, "ADT^A01^ADT_A01");
    char *evn = strstr(bytes, "\rEVN||");
    ck_assert_ptr_nonnull(a01);
    ck_assert_ptr_nonnull(evn);
    g_string_append_len(b, bytes, a01 - bytes);
    g_string_append(b, "ADT^A03^ADT_A03");
    g_string_append_len(b, a01 + 15, evn - (a01 + 15));
    g_string_append(b, "\rEVN||299912312359||||299912312359");
    g_string_append(b, strchr(evn + 1, '\r'));
    g_autofree char *dir = g_build_filename(pdir, "29991231", "ADT-52", NULL);
    g_autofree char *name =
        g_strdup_printf("%s_29991231_ADT-52_999999999999999_29991231235900000_01_1", pid);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
    ck_assert(g_file_set_contents(path, b->str, (gssize)b->len, NULL));
    g_string_free(b, TRUE);
  }
  memset(&st, 0, sizeof st);
  ck_assert_int_eq(hk_ssmix2_scan(s, hk_t_root, &st), 0);
  ck_assert_uint_eq(st.quarantined, 0);
  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  check_census(t, 1);
  {
    g_autoptr(HkPatient) p = NULL;
    ck_assert_int_eq(hk_store_get_patient(t, pid, &p), 0);
    ck_assert_ptr_null(p->admission);
  }
  hk_txn_abort(t);
  hk_store_close(s);
}
END_TEST

static Suite *
generated_suite(void)
{
  Suite *s = suite_create("ssmix2-generated");
  TCase *tc = tcase_create("import");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_generated_storage);
  tcase_add_test(tc, test_live_changes);
  tcase_add_test(tc, test_discharge_leaves_census);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_t_run(generated_suite());
}

/* Unit tests of hk-version: the JSON a version is stored as (every field
 * survives, anything else is refused as corrupt), document IDs, and the
 * document types of interfaces.md with their LOINC codes. */
#include "hk-error.h"
#include "hk-test.h"
#include "hk-version.h"

#include <string.h>

static HkVersion *
full_version(void)
{
  HkVersion *v = hk_version_new();

  hk_version_doc_id("EHR:PN:998877", v->doc_id);
  v->version = 7;
  v->patient_id = g_strdup("0001234567");
  v->source_id = g_strdup("EHR:PN:998877");
  v->type = g_strdup("progress_note");
  v->title = g_strdup("経過記録 \"引用\" \\ 改行\n");
  v->author = g_strdup("山田 太郎");
  v->department = g_strdup("外科");
  v->content_type = g_strdup("application/pdf");
  v->created_at = g_strdup("2026-11-20T14:03:00+09:00");
  v->created_usec = 1795150980000000;
  v->ingested_at = 1795150999123456;
  strcpy(v->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  v->size = 5000000000ull; /* over 4 GiB: must not be cut to 32 bits */
  v->source = g_strdup("/drop/ward5/note-0001.pdf");
  v->code = g_strdup("11506-3");
  v->code_name = g_strdup("Progress note");
  return v;
}

static void
assert_same(const HkVersion *a, const HkVersion *b)
{
  ck_assert_str_eq(a->doc_id, b->doc_id);
  ck_assert_uint_eq(a->version, b->version);
  ck_assert_str_eq(a->patient_id, b->patient_id);
  ck_assert_str_eq(a->source_id, b->source_id);
  ck_assert_str_eq(a->type, b->type);
  ck_assert_pstr_eq(a->title, b->title);
  ck_assert_pstr_eq(a->author, b->author);
  ck_assert_pstr_eq(a->department, b->department);
  ck_assert_str_eq(a->content_type, b->content_type);
  ck_assert_pstr_eq(a->created_at, b->created_at);
  ck_assert_int_eq(a->created_usec, b->created_usec);
  ck_assert_int_eq(a->ingested_at, b->ingested_at);
  ck_assert_str_eq(a->sha256, b->sha256);
  ck_assert_uint_eq(a->size, b->size);
  ck_assert_pstr_eq(a->source, b->source);
  ck_assert_pstr_eq(a->code, b->code);
  ck_assert_pstr_eq(a->code_name, b->code_name);
}

START_TEST(test_json_roundtrip)
{
  HkVersion *v = full_version(), *back = NULL, *copy;
  char *json = hk_version_to_json(v);

  ck_assert_ptr_nonnull(json);
  ck_assert_int_eq(hk_version_from_json(json, strlen(json), &back), 0);
  assert_same(v, back);
  hk_version_free(back);
  g_free(json);

  /* Optional fields absent stay absent (NULL, not ""). */
  g_clear_pointer(&v->author, g_free);
  g_clear_pointer(&v->department, g_free);
  g_clear_pointer(&v->code, g_free);
  g_clear_pointer(&v->code_name, g_free);
  g_clear_pointer(&v->source, g_free);
  v->created_usec = -86400000000; /* before 1970 */
  json = hk_version_to_json(v);
  ck_assert_int_eq(hk_version_from_json(json, strlen(json), &back), 0);
  assert_same(v, back);
  ck_assert_ptr_null(back->author);
  ck_assert_ptr_null(back->code);
  hk_version_free(back);
  g_free(json);

  /* A copy is deep and equal. */
  copy = hk_version_copy(v);
  ck_assert_ptr_ne(copy->title, v->title);
  assert_same(v, copy);
  hk_version_free(copy);
  hk_version_free(v);
  hk_version_free(NULL);
}
END_TEST

START_TEST(test_json_rejects)
{
  HkVersion *v = full_version(), *back = NULL;
  char *json = hk_version_to_json(v);
  size_t len = strlen(json);
  static const char *const bad[] = {
      "",
      "null",
      "[]",
      "\"a string\"",
      "{}",
      "{\"id\":\"0123456789abcdef\"",
      /* a required field missing or of the wrong type */
      "{\"id\":\"0123456789abcdef\",\"version\":1,\"patient_id\":\"P\",\"source_id\":\"S\","
      "\"type\":\"other\",\"content_type\":\"text/plain\"}",
      "{\"id\":\"0123456789abcdef\",\"version\":1,\"patient_id\":\"P\",\"source_id\":\"S\","
      "\"type\":\"other\",\"content_type\":\"text/plain\",\"sha256\":\"abc\"}",
      "{\"id\":\"0123\",\"version\":1,\"patient_id\":\"P\",\"source_id\":\"S\","
      "\"type\":\"other\",\"content_type\":\"text/plain\","
      "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}",
      "{\"id\":\"0123456789abcdef\",\"version\":0,\"patient_id\":\"P\",\"source_id\":\"S\","
      "\"type\":\"other\",\"content_type\":\"text/plain\","
      "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}",
      "{\"id\":\"0123456789abcdef\",\"version\":1,\"patient_id\":7,\"source_id\":\"S\","
      "\"type\":\"other\",\"content_type\":\"text/plain\","
      "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}",
  };
  const char *good_min =
      "{\"id\":\"0123456789abcdef\",\"version\":1,\"patient_id\":\"P\",\"source_id\":\"S\","
      "\"type\":\"other\",\"content_type\":\"text/plain\","
      "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}";

  /* Every truncation of a valid record is refused. */
  for (size_t n = 0; n < len; n++) {
    back = NULL;
    ck_assert_msg(hk_version_from_json(json, n, &back) == -HK_ECORRUPT,
                  "truncated to %zu bytes accepted", n);
    ck_assert_ptr_null(back);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    ck_assert_msg(hk_version_from_json(bad[i], strlen(bad[i]), &back) == -HK_ECORRUPT,
                  "accepted: %s", bad[i]);
  ck_assert_int_eq(hk_version_from_json("\xff\xfe{", 3, &back), -HK_ECORRUPT);
  /* The smallest valid record, for contrast with the ones above. */
  ck_assert_int_eq(hk_version_from_json(good_min, strlen(good_min), &back), 0);
  ck_assert_str_eq(back->doc_id, "0123456789abcdef");
  hk_version_free(back);
  g_free(json);
  hk_version_free(v);
}
END_TEST

START_TEST(test_doc_id)
{
  char a[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1], c[HK_DOC_ID_LEN + 1];

  memset(a, 'X', sizeof a);
  hk_version_doc_id("EHR:PN:998877", a);
  ck_assert_uint_eq(strlen(a), HK_DOC_ID_LEN);
  for (int i = 0; i < HK_DOC_ID_LEN; i++)
    ck_assert(g_ascii_isxdigit(a[i]) && !g_ascii_isupper(a[i]));
  /* Stable: the first 8 bytes of SHA-256("abc") for "abc", every time. */
  hk_version_doc_id("EHR:PN:998877", b);
  ck_assert_str_eq(a, b);
  hk_version_doc_id("abc", c);
  ck_assert_str_eq(c, "ba7816bf8f01cfea");
  hk_version_doc_id("", c);
  ck_assert_str_eq(c, "e3b0c44298fc1c14");
  hk_version_doc_id("EHR:PN:998878", c);
  ck_assert_str_ne(a, c);
}
END_TEST

START_TEST(test_types)
{
  static const struct {
    const char *type, *loinc;
  } types[] = {
      {"progress_note", "11506-3"},
      {"nursing_record", "34746-8"},
      {"discharge_summary", "18842-5"},
      {"referral_letter", "57133-1"},
      {"consent", "59284-0"},
      {"lab_report", "11502-2"},
      {"imaging_report", "18748-4"},
      {"operative_note", "11504-8"},
      {"anesthesia_record", "59282-4"},
      {"prescription", "57833-6"},
      {"ecg", "11524-6"},
      {"other", "34133-9"},
  };
  static const char *const invalid[] = {
      "",        "Progress_note", "progress_note ", "progress", "note",
      "unknown", "PROGRESS_NOTE", "lab-report",     "ECG",
  };
  const char *name;

  for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
    ck_assert_msg(hk_version_type_valid(types[i].type), "%s refused", types[i].type);
    name = NULL;
    ck_assert_pstr_eq(hk_version_type_loinc(types[i].type, &name), types[i].loinc);
    ck_assert_ptr_nonnull(name);
    ck_assert_uint_gt(strlen(name), 0);
    ck_assert_pstr_eq(hk_version_type_loinc(types[i].type, NULL), types[i].loinc);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(invalid); i++) {
    ck_assert_msg(!hk_version_type_valid(invalid[i]), "\"%s\" accepted", invalid[i]);
    name = "untouched";
    ck_assert_ptr_null(hk_version_type_loinc(invalid[i], &name));
  }
  ck_assert(!hk_version_type_valid(NULL));
  ck_assert_ptr_null(hk_version_type_loinc(NULL, NULL));
  hk_version_type_loinc("progress_note", &name);
  ck_assert_str_eq(name, "Progress note");
}
END_TEST

START_TEST(test_document)
{
  HkDocument *d = hk_document_new();
  HkVersion *v1 = full_version(), *v2 = full_version();

  ck_assert_ptr_null(hk_document_current(d));
  v1->version = 1;
  v2->version = 2;
  g_ptr_array_add(d->versions, v1);
  ck_assert_ptr_eq(hk_document_current(d), v1);
  g_ptr_array_add(d->versions, v2);
  ck_assert_ptr_eq(hk_document_current(d), v2);
  ck_assert(!d->withdrawn);
  hk_document_free(d);
  hk_document_free(NULL);
}
END_TEST

static Suite *
version_suite(void)
{
  Suite *s = suite_create("version");
  TCase *tc = tcase_create("version");

  tcase_add_test(tc, test_json_roundtrip);
  tcase_add_test(tc, test_json_rejects);
  tcase_add_test(tc, test_doc_id);
  tcase_add_test(tc, test_types);
  tcase_add_test(tc, test_document);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(version_suite());
}

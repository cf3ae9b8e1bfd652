/* Unit tests of hk-patient: the ID rule of interfaces.md, the JSON a patient
 * is stored and served as, and which source may change a patient's identity
 * (an SS-MIX2 patient master outranks a drop-folder sidecar). */
#include "hk-error.h"
#include "hk-patient.h"
#include "hk-test.h"

#include <string.h>

START_TEST(test_id_valid)
{
  char id[40];

  ck_assert(hk_patient_id_valid("0001234567"));
  ck_assert(hk_patient_id_valid("a"));
  ck_assert(hk_patient_id_valid("A-77_x"));
  ck_assert(hk_patient_id_valid("-"));
  ck_assert(hk_patient_id_valid("_"));
  memset(id, 'Z', 32);
  id[32] = 0;
  ck_assert(hk_patient_id_valid(id));
  id[32] = '9';
  id[33] = 0;
  ck_assert(!hk_patient_id_valid(id)); /* 33 */

  ck_assert(!hk_patient_id_valid(NULL));
  ck_assert(!hk_patient_id_valid(""));
  static const char *const bad[] = {
      "has space", "a.b", "a/b", "../etc", "a\\b", "é",   "山田", "１２３", "a\tb",
      "a\nb",      "a:b", "a+b", "a@b",    "a%b",  "a*b", "a;b",  "a\"b",   "\xff",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    ck_assert_msg(!hk_patient_id_valid(bad[i]), "\"%s\" accepted", bad[i]);
}
END_TEST

static HkPatient *
full_patient(void)
{
  HkPatient *p = hk_patient_new("0001234567");

  p->name = g_strdup("山田 花子");
  p->kana = g_strdup("ヤマダ ハナコ");
  p->birth_date = g_strdup("1950-05-04");
  p->sex = g_strdup("F");
  p->origin = HK_PATIENT_FROM_SSMIX2;
  p->updated_at = 1795150980123456;
  g_ptr_array_add(p->allergies, hk_allergy_new("ペニシリン", "drug", "発疹", "severe"));
  g_ptr_array_add(p->allergies, hk_allergy_new("そば", NULL, NULL, NULL));
  g_ptr_array_add(p->problems, hk_problem_new("I10", "高血圧症", "2010-04-01"));
  g_ptr_array_add(p->problems, hk_problem_new(NULL, "\"quoted\" \\ name", NULL));
  p->admission = hk_admission_new("5W", "502", "1", "2026-11-18T10:00:00+09:00");
  return p;
}

static void
assert_same(const HkPatient *a, const HkPatient *b)
{
  ck_assert_str_eq(a->id, b->id);
  ck_assert_pstr_eq(a->name, b->name);
  ck_assert_pstr_eq(a->kana, b->kana);
  ck_assert_pstr_eq(a->birth_date, b->birth_date);
  ck_assert_pstr_eq(a->sex, b->sex);
  ck_assert_int_eq(a->origin, b->origin);
  ck_assert_int_eq(a->updated_at, b->updated_at);
  ck_assert_uint_eq(a->allergies->len, b->allergies->len);
  for (guint i = 0; i < a->allergies->len; i++) {
    const HkAllergy *x = g_ptr_array_index(a->allergies, i),
                    *y = g_ptr_array_index(b->allergies, i);
    ck_assert_pstr_eq(x->allergen, y->allergen);
    ck_assert_pstr_eq(x->type, y->type);
    ck_assert_pstr_eq(x->reaction, y->reaction);
    ck_assert_pstr_eq(x->severity, y->severity);
  }
  ck_assert_uint_eq(a->problems->len, b->problems->len);
  for (guint i = 0; i < a->problems->len; i++) {
    const HkProblem *x = g_ptr_array_index(a->problems, i), *y = g_ptr_array_index(b->problems, i);
    ck_assert_pstr_eq(x->code, y->code);
    ck_assert_pstr_eq(x->name, y->name);
    ck_assert_pstr_eq(x->onset, y->onset);
  }
  ck_assert_int_eq(a->admission == NULL, b->admission == NULL);
  if (a->admission) {
    ck_assert_pstr_eq(a->admission->ward, b->admission->ward);
    ck_assert_pstr_eq(a->admission->room, b->admission->room);
    ck_assert_pstr_eq(a->admission->bed, b->admission->bed);
    ck_assert_pstr_eq(a->admission->admitted_at, b->admission->admitted_at);
  }
}

START_TEST(test_json_roundtrip)
{
  HkPatient *p = full_patient(), *back = NULL;
  char *json = hk_patient_to_json(p);

  ck_assert_int_eq(hk_patient_from_json(json, strlen(json), &back), 0);
  assert_same(p, back);
  hk_patient_free(back);
  g_free(json);

  /* A drop-folder patient with nothing but an ID, and no admission. */
  HkPatient *bare = hk_patient_new("X_1");
  json = hk_patient_to_json(bare);
  /* The API shape: absent text is null and the key is always there. */
  ck_assert_ptr_nonnull(strstr(json, "\"name\":null"));
  ck_assert_ptr_nonnull(strstr(json, "\"admission\":null"));
  ck_assert_ptr_nonnull(strstr(json, "\"allergies\":[]"));
  ck_assert_int_eq(hk_patient_from_json(json, strlen(json), &back), 0);
  assert_same(bare, back);
  ck_assert_ptr_null(back->name);
  ck_assert_ptr_null(back->admission);
  ck_assert_int_eq(back->origin, HK_PATIENT_FROM_DROP);
  hk_patient_free(back);
  hk_patient_free(bare);
  g_free(json);
  hk_patient_free(p);
  hk_patient_free(NULL);
}
END_TEST

/* The "could not be read" marks survive the store's record, an old record
 * without them reads as readable, and a malformed mark is corruption. */
START_TEST(test_json_unreadable_marks)
{
  HkPatient *p = full_patient(), *back = NULL;
  char *json;

  hk_fact_set_unreadable(&p->allergies_unreadable, "ADT-61 x: cut", 1764000000000000);
  hk_fact_set_unreadable(&p->allergies_unreadable, "ADT-61 y: cut", 1764000099000000);
  ck_assert_int_eq(p->allergies_unreadable.since, 1764000000000000); /* the first time */
  ck_assert_str_eq(hk_fact_status(true, &p->allergies_unreadable), "unreadable");
  ck_assert_str_eq(hk_fact_status(false, &p->problems_unreadable), "none_recorded");
  ck_assert_str_eq(hk_fact_status(true, &p->problems_unreadable), "recorded");
  json = hk_patient_to_json(p);
  ck_assert_ptr_nonnull(strstr(json, "\"allergies_status\":\"unreadable\""));
  ck_assert_ptr_nonnull(strstr(json, "\"problems_unreadable\":null"));
  ck_assert_int_eq(hk_patient_from_json(json, strlen(json), &back), 0);
  ck_assert_str_eq(back->allergies_unreadable.reason, "ADT-61 y: cut");
  ck_assert_int_eq(back->allergies_unreadable.since, 1764000000000000);
  ck_assert_ptr_null(back->problems_unreadable.reason);
  hk_patient_free(back);
  g_free(json);

  json = g_strdup("{\"id\":\"P1\",\"allergies\":[]}");
  ck_assert_int_eq(hk_patient_from_json(json, strlen(json), &back), 0);
  ck_assert_ptr_null(back->allergies_unreadable.reason);
  hk_patient_free(back);
  g_free(json);
  back = NULL;
  json = g_strdup("{\"id\":\"P1\",\"allergies_unreadable\":{\"reason\":\"x\"}}");
  ck_assert_int_eq(hk_patient_from_json(json, strlen(json), &back), -HK_ECORRUPT);
  ck_assert_ptr_null(back);
  g_free(json);
  hk_fact_clear(&p->allergies_unreadable);
  ck_assert_ptr_null(p->allergies_unreadable.reason);
  hk_patient_free(p);
}
END_TEST

START_TEST(test_json_rejects)
{
  HkPatient *p = full_patient(), *back = NULL;
  char *json = hk_patient_to_json(p);
  static const char *const bad[] = {
      "",       "  ", "null",          "[]",         "42",
      "\"P1\"", "{}", "{\"id\":null}", "{\"id\":7}", "{\"name\":\"x\"}",
      /* A clinical list or the admission in another shape is damage, not
       * "none": reading it as none would show no allergy, or no ward. */
      "{\"id\":\"P1\",\"allergies\":[1]}",
      "{\"id\":\"P1\",\"allergies\":[{\"allergen\":\"x\"},null]}",
      "{\"id\":\"P1\",\"allergies\":\"penicillin\"}",
      "{\"id\":\"P1\",\"allergies\":{}}",
      "{\"id\":\"P1\",\"problems\":[[]]}",
      "{\"id\":\"P1\",\"problems\":7}",
      "{\"id\":\"P1\",\"admission\":\"W01\"}",
      "{\"id\":\"P1\",\"admission\":[]}",
  };

  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    back = NULL;
    ck_assert_msg(hk_patient_from_json(bad[i], strlen(bad[i]), &back) == -HK_ECORRUPT,
                  "accepted: %s", bad[i]);
    ck_assert_ptr_null(back);
  }
  /* Every truncation that cuts the object open is refused. */
  for (size_t n = 0; n + 1 < strlen(json); n++)
    ck_assert_msg(hk_patient_from_json(json, n, &back) == -HK_ECORRUPT, "cut at %zu accepted", n);
  g_free(json);
  hk_patient_free(p);
}
END_TEST

static HkPatient *
identity(const char *name, const char *kana, const char *birth, const char *sex,
         HkPatientOrigin origin)
{
  HkPatient *p = hk_patient_new("0001234567");

  p->name = g_strdup(name);
  p->kana = g_strdup(kana);
  p->birth_date = g_strdup(birth);
  p->sex = g_strdup(sex);
  p->origin = origin;
  return p;
}

START_TEST(test_merge_ssmix2_overrides_drop)
{
  HkPatient *dst = identity("山田 花子", "ヤマダ ハナコ", "1950-05-04", "F", HK_PATIENT_FROM_DROP);
  HkPatient *src =
      identity("山田 華子", "ヤマダ ハナコ", "1950-05-14", NULL, HK_PATIENT_FROM_SSMIX2);

  g_ptr_array_add(dst->allergies, hk_allergy_new("そば", NULL, NULL, NULL));
  dst->admission = hk_admission_new("5W", "502", "1", NULL);
  hk_patient_merge_identity(dst, src);
  ck_assert_str_eq(dst->name, "山田 華子");
  ck_assert_str_eq(dst->birth_date, "1950-05-14");
  /* A field the master does not give is kept. */
  ck_assert_str_eq(dst->sex, "F");
  ck_assert_int_eq(dst->origin, HK_PATIENT_FROM_SSMIX2);
  /* Clinical facts are not identity. */
  ck_assert_uint_eq(dst->allergies->len, 1);
  ck_assert_ptr_nonnull(dst->admission);
  hk_patient_free(src);
  hk_patient_free(dst);
}
END_TEST

START_TEST(test_merge_drop_fills_gaps_only)
{
  HkPatient *dst = identity("山田 花子", NULL, "1950-05-04", NULL, HK_PATIENT_FROM_SSMIX2);
  HkPatient *src = identity("ヤマダ", "ヤマダ ハナコ", "2000-01-01", "F", HK_PATIENT_FROM_DROP);

  hk_patient_merge_identity(dst, src);
  ck_assert_str_eq(dst->name, "山田 花子");
  ck_assert_str_eq(dst->birth_date, "1950-05-04");
  ck_assert_str_eq(dst->kana, "ヤマダ ハナコ");
  ck_assert_str_eq(dst->sex, "F");
  /* Filling gaps does not make the patient a drop-folder one. */
  ck_assert_int_eq(dst->origin, HK_PATIENT_FROM_SSMIX2);
  hk_patient_free(src);
  hk_patient_free(dst);
}
END_TEST

START_TEST(test_merge_same_origin)
{
  /* Equal origin: the newer sidecar wins, but an empty value erases nothing. */
  HkPatient *dst = identity("山田 花子", "ヤマダ ハナコ", "1950-05-04", "F", HK_PATIENT_FROM_DROP);
  HkPatient *src = identity("山田 はな子", "", NULL, "O", HK_PATIENT_FROM_DROP);

  hk_patient_merge_identity(dst, src);
  ck_assert_str_eq(dst->name, "山田 はな子");
  ck_assert_str_eq(dst->kana, "ヤマダ ハナコ");
  ck_assert_str_eq(dst->birth_date, "1950-05-04");
  ck_assert_str_eq(dst->sex, "O");
  ck_assert_int_eq(dst->origin, HK_PATIENT_FROM_DROP);
  hk_patient_free(src);

  /* SS-MIX2 over SS-MIX2 (a later ADT-00) overrides too. */
  dst->origin = HK_PATIENT_FROM_SSMIX2;
  src = identity("佐藤 花子", NULL, NULL, NULL, HK_PATIENT_FROM_SSMIX2);
  hk_patient_merge_identity(dst, src);
  ck_assert_str_eq(dst->name, "佐藤 花子");
  ck_assert_str_eq(dst->kana, "ヤマダ ハナコ");
  hk_patient_free(src);
  hk_patient_free(dst);
}
END_TEST

static Suite *
patient_suite(void)
{
  Suite *s = suite_create("patient");
  TCase *tc = tcase_create("patient");

  tcase_add_test(tc, test_id_valid);
  tcase_add_test(tc, test_json_roundtrip);
  tcase_add_test(tc, test_json_rejects);
  tcase_add_test(tc, test_json_unreadable_marks);
  tcase_add_test(tc, test_merge_ssmix2_overrides_drop);
  tcase_add_test(tc, test_merge_drop_fills_gaps_only);
  tcase_add_test(tc, test_merge_same_origin);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(patient_suite());
}

#include "hk-patient.h"

#include "hk-error.h"
#include "hk-json.h"
#include "hk-time.h"

#include <json-glib/json-glib.h>
#include <string.h>

bool
hk_patient_id_valid(const char *id)
{
  size_t n = id ? strlen(id) : 0;
  bool ok = n >= 1 && n <= HK_PATIENT_ID_MAX;

  for (size_t i = 0; ok && i < n; i++)
    ok = g_ascii_isalnum(id[i]) || id[i] == '-' || id[i] == '_';
  return ok;
}

HkPatient *
hk_patient_new(const char *id)
{
  HkPatient *p = g_new0(HkPatient, 1);

  p->id = g_strdup(id);
  p->allergies = g_ptr_array_new_with_free_func((GDestroyNotify)hk_allergy_free);
  p->problems = g_ptr_array_new_with_free_func((GDestroyNotify)hk_problem_free);
  return p;
}

void
hk_patient_free(HkPatient *p)
{
  if (!p)
    return;
  g_free(p->id);
  g_free(p->name);
  g_free(p->kana);
  g_free(p->birth_date);
  g_free(p->sex);
  g_ptr_array_unref(p->allergies);
  g_ptr_array_unref(p->problems);
  hk_admission_free(p->admission);
  hk_fact_clear(&p->allergies_unreadable);
  hk_fact_clear(&p->problems_unreadable);
  hk_fact_clear(&p->admission_unreadable);
  g_free(p);
}

const char *
hk_fact_status(bool has_data, const HkFactUnreadable *u)
{
  if (u && u->reason)
    return "unreadable";
  return has_data ? "recorded" : "none_recorded";
}

void
hk_fact_set_unreadable(HkFactUnreadable *u, const char *reason, int64_t now)
{
  char *r = g_strdup(reason ? reason : "unreadable");

  /* "since" is when the fact stopped being known, not the latest rescan. */
  if (!u->reason || u->since <= 0)
    u->since = now;
  g_free(u->reason);
  u->reason = r;
}

void
hk_fact_clear(HkFactUnreadable *u)
{
  g_clear_pointer(&u->reason, g_free);
  u->since = 0;
}

HkAllergy *
hk_allergy_new(const char *allergen, const char *type, const char *reaction,
               const char *severity)
{
  HkAllergy *a = g_new0(HkAllergy, 1);

  a->allergen = g_strdup(allergen);
  a->type = g_strdup(type);
  a->reaction = g_strdup(reaction);
  a->severity = g_strdup(severity);
  return a;
}

void
hk_allergy_free(HkAllergy *a)
{
  if (!a)
    return;
  g_free(a->allergen);
  g_free(a->type);
  g_free(a->reaction);
  g_free(a->severity);
  g_free(a);
}

HkProblem *
hk_problem_new(const char *code, const char *name, const char *onset)
{
  HkProblem *p = g_new0(HkProblem, 1);

  p->code = g_strdup(code);
  p->name = g_strdup(name);
  p->onset = g_strdup(onset);
  return p;
}

void
hk_problem_free(HkProblem *p)
{
  if (!p)
    return;
  g_free(p->code);
  g_free(p->name);
  g_free(p->onset);
  g_free(p);
}

HkAdmission *
hk_admission_new(const char *ward, const char *room, const char *bed, const char *admitted_at)
{
  HkAdmission *a = g_new0(HkAdmission, 1);

  a->ward = g_strdup(ward);
  a->room = g_strdup(room);
  a->bed = g_strdup(bed);
  a->admitted_at = g_strdup(admitted_at);
  return a;
}

void
hk_admission_free(HkAdmission *a)
{
  if (!a)
    return;
  g_free(a->ward);
  g_free(a->room);
  g_free(a->bed);
  g_free(a->admitted_at);
  g_free(a);
}

/* Absent text is written as JSON null so that clients always see the key. */
static void
hk_set(JsonBuilder *b, const char *k, const char *v)
{
  json_builder_set_member_name(b, k);
  if (v)
    json_builder_add_string_value(b, v);
  else
    json_builder_add_null_value(b);
}

static void
hk_fact_json(JsonBuilder *b, const char *name, bool has_data, const HkFactUnreadable *u)
{
  g_autofree char *status_key = g_strdup_printf("%s_status", name);
  g_autofree char *unreadable_key = g_strdup_printf("%s_unreadable", name);

  json_builder_set_member_name(b, status_key);
  json_builder_add_string_value(b, hk_fact_status(has_data, u));
  json_builder_set_member_name(b, unreadable_key);
  if (u->reason) {
    g_autofree char *since = hk_time_format(u->since);
    json_builder_begin_object(b);
    hk_set(b, "since", since);
    hk_set(b, "reason", u->reason);
    json_builder_end_object(b);
  } else {
    json_builder_add_null_value(b);
  }
}

void
hk_patient_build_json(JsonBuilder *b, const HkPatient *p, HkPatientJsonShape shape)
{
  hk_set(b, "id", p->id);
  hk_set(b, "name", p->name);
  hk_set(b, "kana", p->kana);
  hk_set(b, "birth_date", p->birth_date);
  hk_set(b, "sex", p->sex);
  if (shape == HK_PATIENT_JSON_STORE) {
    json_builder_set_member_name(b, "origin");
    json_builder_add_string_value(b, p->origin == HK_PATIENT_FROM_SSMIX2 ? "ssmix2" : "drop");
  }
  json_builder_set_member_name(b, "allergies");
  json_builder_begin_array(b);
  for (guint i = 0; p->allergies && i < p->allergies->len; i++) {
    HkAllergy *a = g_ptr_array_index(p->allergies, i);
    json_builder_begin_object(b);
    hk_set(b, "allergen", a->allergen);
    hk_set(b, "type", a->type);
    hk_set(b, "reaction", a->reaction);
    hk_set(b, "severity", a->severity);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "problems");
  json_builder_begin_array(b);
  for (guint i = 0; p->problems && i < p->problems->len; i++) {
    HkProblem *pr = g_ptr_array_index(p->problems, i);
    json_builder_begin_object(b);
    hk_set(b, "code", pr->code);
    hk_set(b, "name", pr->name);
    hk_set(b, "onset", pr->onset);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "admission");
  if (p->admission) {
    json_builder_begin_object(b);
    hk_set(b, "ward", p->admission->ward);
    hk_set(b, "room", p->admission->room);
    hk_set(b, "bed", p->admission->bed);
    hk_set(b, "admitted_at", p->admission->admitted_at);
    json_builder_end_object(b);
  } else {
    json_builder_add_null_value(b);
  }
  hk_fact_json(b, "allergies", p->allergies && p->allergies->len > 0, &p->allergies_unreadable);
  hk_fact_json(b, "problems", p->problems && p->problems->len > 0, &p->problems_unreadable);
  hk_fact_json(b, "admission", p->admission != NULL, &p->admission_unreadable);
  if (shape == HK_PATIENT_JSON_STORE) {
    json_builder_set_member_name(b, "updated_usec");
    json_builder_add_int_value(b, p->updated_at);
  }
}

char *
hk_patient_to_json(const HkPatient *p)
{
  JsonBuilder *b = json_builder_new();
  char *res;

  json_builder_begin_object(b);
  hk_patient_build_json(b, p, HK_PATIENT_JSON_STORE);
  json_builder_end_object(b);
  res = hk_json_to_text(b);
  g_object_unref(b);
  return res;
}

static char *
hk_str(JsonObject *o, const char *k)
{
  JsonNode *n = o ? json_object_get_member(o, k) : NULL;

  if (!n || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return g_strdup(json_node_get_string(n));
}

/* The list member k: *out is NULL when it is absent (a record written
 * before it existed). Present in another shape, or with an element that is
 * not an object, it is damage: reading it as "none" would show a patient
 * with no allergy where the record held one. */
static int
hk_object_list(JsonObject *o, const char *k, JsonArray **out)
{
  JsonNode *n = json_object_get_member(o, k);
  int ret = 0;

  *out = NULL;
  if (!n)
    goto out;
  if (!JSON_NODE_HOLDS_ARRAY(n)) {
    ret = -HK_ECORRUPT;
    goto out;
  }
  *out = json_node_get_array(n);
  for (guint i = 0; i < json_array_get_length(*out); i++)
    if (!JSON_NODE_HOLDS_OBJECT(json_array_get_element(*out, i)))
      ret = -HK_ECORRUPT;
out:
  return ret;
}

/* A record without the member (written before it existed) is readable. */
static int
hk_fact_from_json(JsonObject *o, const char *key, HkFactUnreadable *u)
{
  JsonNode *n = json_object_get_member(o, key);
  JsonObject *f;
  g_autofree char *since = NULL;
  int ret = 0;

  if (!n || JSON_NODE_HOLDS_NULL(n))
    goto out;
  ret = -HK_ECORRUPT;
  if (!JSON_NODE_HOLDS_OBJECT(n))
    goto out;
  f = json_node_get_object(n);
  u->reason = hk_str(f, "reason");
  since = hk_str(f, "since");
  if (!u->reason || !since || hk_time_parse(since, &u->since) < 0) {
    hk_fact_clear(u);
    goto out;
  }
  ret = 0;
out:
  return ret;
}

int
hk_patient_from_json(const char *json, size_t len, HkPatient **out)
{
  JsonParser *parser = json_parser_new_immutable();
  JsonObject *o;
  JsonArray *arr;
  JsonNode *adm;
  HkPatient *p = NULL;
  char *id = NULL, *origin = NULL;
  int ret = -HK_ECORRUPT;

  if (!json_parser_load_from_data(parser, json, (gssize)len, NULL) ||
      !json_parser_get_root(parser) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
    goto out;
  o = json_node_get_object(json_parser_get_root(parser));
  id = hk_str(o, "id");
  if (!id)
    goto out;
  p = hk_patient_new(id);
  p->name = hk_str(o, "name");
  p->kana = hk_str(o, "kana");
  p->birth_date = hk_str(o, "birth_date");
  p->sex = hk_str(o, "sex");
  origin = hk_str(o, "origin");
  p->origin = g_strcmp0(origin, "ssmix2") == 0 ? HK_PATIENT_FROM_SSMIX2 : HK_PATIENT_FROM_DROP;
  p->updated_at = json_object_get_int_member_with_default(o, "updated_usec", 0);
  if (hk_object_list(o, "allergies", &arr) < 0)
    goto out;
  for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
    JsonObject *a = json_array_get_object_element(arr, i);
    HkAllergy *al = g_new0(HkAllergy, 1);
    al->allergen = hk_str(a, "allergen");
    al->type = hk_str(a, "type");
    al->reaction = hk_str(a, "reaction");
    al->severity = hk_str(a, "severity");
    g_ptr_array_add(p->allergies, al);
  }
  if (hk_object_list(o, "problems", &arr) < 0)
    goto out;
  for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
    JsonObject *a = json_array_get_object_element(arr, i);
    HkProblem *pr = g_new0(HkProblem, 1);
    pr->code = hk_str(a, "code");
    pr->name = hk_str(a, "name");
    pr->onset = hk_str(a, "onset");
    g_ptr_array_add(p->problems, pr);
  }
  adm = json_object_get_member(o, "admission");
  if (adm && !JSON_NODE_HOLDS_OBJECT(adm) && !JSON_NODE_HOLDS_NULL(adm))
    goto out; /* no admission is null; anything else is damage */
  if (adm && JSON_NODE_HOLDS_OBJECT(adm)) {
    JsonObject *a = json_node_get_object(adm);
    p->admission = g_new0(HkAdmission, 1);
    p->admission->ward = hk_str(a, "ward");
    p->admission->room = hk_str(a, "room");
    p->admission->bed = hk_str(a, "bed");
    p->admission->admitted_at = hk_str(a, "admitted_at");
  }
  ret = hk_fact_from_json(o, "allergies_unreadable", &p->allergies_unreadable);
  if (ret == 0)
    ret = hk_fact_from_json(o, "problems_unreadable", &p->problems_unreadable);
  if (ret == 0)
    ret = hk_fact_from_json(o, "admission_unreadable", &p->admission_unreadable);
  if (ret < 0)
    goto out;
  *out = p;
  p = NULL;
  ret = 0;
out:
  hk_patient_free(p);
  g_free(id);
  g_free(origin);
  g_object_unref(parser);
  return ret;
}

static void
hk_take(char **dst, const char *src, bool override)
{
  if (!src || !*src)
    return;
  if (*dst && !override)
    return;
  g_free(*dst);
  *dst = g_strdup(src);
}

void
hk_patient_merge_identity(HkPatient *dst, const HkPatient *src)
{
  bool override = src->origin >= dst->origin;

  hk_take(&dst->name, src->name, override);
  hk_take(&dst->kana, src->kana, override);
  hk_take(&dst->birth_date, src->birth_date, override);
  hk_take(&dst->sex, src->sex, override);
  if (src->origin > dst->origin)
    dst->origin = src->origin;
}

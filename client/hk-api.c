#include "hk-api.h"

#include <json-glib/json-glib.h>
#include <string.h>

G_DEFINE_QUARK(hk - api - error - quark, hk_api_error)

/* Borrowed string member, or NULL when absent, null or not a string. */
static const char *
member_str(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  const char *res = NULL;

  if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
    res = json_node_get_string(n);
  return res;
}

static char *
member_dup(JsonObject *o, const char *name)
{
  const char *s = member_str(o, name);

  /* An empty string carries no information: treat it as absent so that the
   * UI shows its "not recorded" text instead of a blank. */
  return (s && *s) ? g_strdup(s) : NULL;
}

static gint64
member_int(JsonObject *o, const char *name, gint64 dflt)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  gint64 res = dflt;

  if (n && JSON_NODE_HOLDS_VALUE(n)) {
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_INT64)
      res = json_node_get_int(n);
    else if (t == G_TYPE_DOUBLE)
      res = (gint64)json_node_get_double(n);
    else if (t == G_TYPE_STRING) {
      /* Some servers quote big numbers; accept digits only. */
      const char *s = json_node_get_string(n);
      char *end = NULL;
      gint64 v = g_ascii_strtoll(s, &end, 10);
      if (end && end != s && *end == '\0')
        res = v;
    }
  }
  return res;
}

static gboolean
member_bool(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;

  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
         json_node_get_boolean(n);
}

static GDateTime *
member_time(JsonObject *o, const char *name)
{
  const char *s = member_str(o, name);
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
  GDateTime *res = NULL;

  if (s && *s)
    res = g_date_time_new_from_iso8601(s, utc);
  return res;
}

static JsonArray *
member_array(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;

  return (n && JSON_NODE_HOLDS_ARRAY(n)) ? json_node_get_array(n) : NULL;
}

static JsonObject *
member_object(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;

  return (n && JSON_NODE_HOLDS_OBJECT(n)) ? json_node_get_object(n) : NULL;
}

/* Parse body into a root object. The parser is returned so that the object
 * stays alive while the caller reads it. */
static JsonParser *
parse_root(const char *body, gssize len, JsonObject **root, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) local = NULL;
  JsonParser *res = NULL;
  JsonNode *node;

  *root = NULL;
  if (!body) {
    g_set_error_literal(error, HK_API_ERROR, HK_API_ERROR_PARSE, "empty answer");
    goto out;
  }
  if (!json_parser_load_from_data(parser, body, len, &local)) {
    g_set_error(error, HK_API_ERROR, HK_API_ERROR_PARSE, "answer is not JSON: %s", local->message);
    goto out;
  }
  node = json_parser_get_root(parser);
  if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
    g_set_error_literal(error, HK_API_ERROR, HK_API_ERROR_PARSE, "answer is not a JSON object");
    goto out;
  }
  *root = json_node_get_object(node);
  res = g_steal_pointer(&parser);
out:
  return res;
}

void
hk_status_info_free(HkStatusInfo *s)
{
  if (!s)
    return;
  g_clear_pointer(&s->archive_as_of, g_date_time_unref);
  g_clear_pointer(&s->last_document_at, g_date_time_unref);
  g_free(s->indexer);
  g_free(s->sealed_reason);
  g_free(s);
}

HkStatusInfo *
hk_status_info_copy(const HkStatusInfo *s)
{
  HkStatusInfo *c = g_new0(HkStatusInfo, 1);

  c->documents = s->documents;
  c->patients = s->patients;
  c->archive_as_of = s->archive_as_of ? g_date_time_ref(s->archive_as_of) : NULL;
  c->last_document_at = s->last_document_at ? g_date_time_ref(s->last_document_at) : NULL;
  c->indexer = g_strdup(s->indexer);
  c->sealed_reason = g_strdup(s->sealed_reason);
  return c;
}

void
hk_allergy_info_free(HkAllergyInfo *a)
{
  if (!a)
    return;
  g_free(a->allergen);
  g_free(a->reaction);
  g_free(a->severity);
  g_free(a);
}

void
hk_problem_info_free(HkProblemInfo *p)
{
  if (!p)
    return;
  g_free(p->code);
  g_free(p->name);
  g_free(p->onset);
  g_free(p);
}

static void
fact_clear(HkFactInfo *f)
{
  g_clear_pointer(&f->reason, g_free);
  g_clear_pointer(&f->since, g_date_time_unref);
  f->unreadable = FALSE;
}

static void
fact_copy(HkFactInfo *to, const HkFactInfo *from)
{
  to->unreadable = from->unreadable;
  to->reason = g_strdup(from->reason);
  to->since = from->since ? g_date_time_ref(from->since) : NULL;
}

void
hk_patient_info_free(HkPatientInfo *p)
{
  if (!p)
    return;
  g_free(p->id);
  g_free(p->name);
  g_free(p->kana);
  g_free(p->birth_date);
  g_free(p->sex);
  g_clear_pointer(&p->allergies, g_ptr_array_unref);
  g_clear_pointer(&p->problems, g_ptr_array_unref);
  g_free(p->ward);
  g_free(p->room);
  g_free(p->bed);
  g_clear_pointer(&p->admitted_at, g_date_time_unref);
  fact_clear(&p->allergies_state);
  fact_clear(&p->problems_state);
  fact_clear(&p->admission_state);
  g_free(p);
}

HkPatientInfo *
hk_patient_info_copy(const HkPatientInfo *p)
{
  HkPatientInfo *c = g_new0(HkPatientInfo, 1);

  c->id = g_strdup(p->id);
  c->name = g_strdup(p->name);
  c->kana = g_strdup(p->kana);
  c->birth_date = g_strdup(p->birth_date);
  c->sex = g_strdup(p->sex);
  if (p->allergies) {
    c->allergies = g_ptr_array_new_with_free_func((GDestroyNotify)hk_allergy_info_free);
    for (guint i = 0; i < p->allergies->len; i++) {
      const HkAllergyInfo *a = g_ptr_array_index(p->allergies, i);
      HkAllergyInfo *ca = g_new0(HkAllergyInfo, 1);
      ca->allergen = g_strdup(a->allergen);
      ca->reaction = g_strdup(a->reaction);
      ca->severity = g_strdup(a->severity);
      g_ptr_array_add(c->allergies, ca);
    }
  }
  if (p->problems) {
    c->problems = g_ptr_array_new_with_free_func((GDestroyNotify)hk_problem_info_free);
    for (guint i = 0; i < p->problems->len; i++) {
      const HkProblemInfo *q = g_ptr_array_index(p->problems, i);
      HkProblemInfo *cq = g_new0(HkProblemInfo, 1);
      cq->code = g_strdup(q->code);
      cq->name = g_strdup(q->name);
      cq->onset = g_strdup(q->onset);
      g_ptr_array_add(c->problems, cq);
    }
  }
  c->admitted = p->admitted;
  c->ward = g_strdup(p->ward);
  c->room = g_strdup(p->room);
  c->bed = g_strdup(p->bed);
  c->admitted_at = p->admitted_at ? g_date_time_ref(p->admitted_at) : NULL;
  fact_copy(&c->allergies_state, &p->allergies_state);
  fact_copy(&c->problems_state, &p->problems_state);
  fact_copy(&c->admission_state, &p->admission_state);
  return c;
}

int
hk_patient_info_compare_bed(gconstpointer a, gconstpointer b)
{
  const HkPatientInfo *x = *(HkPatientInfo *const *)a;
  const HkPatientInfo *y = *(HkPatientInfo *const *)b;
  int c = g_strcmp0(x->ward, y->ward);

  if (!c)
    c = g_strcmp0(x->room, y->room);
  if (!c)
    c = g_strcmp0(x->bed, y->bed);
  return c;
}

void
hk_version_info_free(HkVersionInfo *v)
{
  if (!v)
    return;
  g_clear_pointer(&v->ingested_at, g_date_time_unref);
  g_free(v->sha256);
  g_free(v);
}

void
hk_doc_info_free(HkDocInfo *d)
{
  if (!d)
    return;
  g_free(d->id);
  g_free(d->patient_id);
  g_free(d->source_id);
  g_free(d->type);
  g_free(d->title);
  g_free(d->author);
  g_free(d->department);
  g_clear_pointer(&d->created_at, g_date_time_unref);
  g_clear_pointer(&d->ingested_at, g_date_time_unref);
  g_free(d->content_type);
  g_free(d->sha256);
  g_free(d->withdrawn_reason);
  g_free(d->moved_direction);
  g_free(d->moved_patient);
  g_clear_pointer(&d->moved_at, g_date_time_unref);
  g_clear_pointer(&d->refused_at, g_date_time_unref);
  g_free(d->refused_reason);
  g_clear_pointer(&d->versions, g_ptr_array_unref);
  g_clear_pointer(&d->matches, g_ptr_array_unref);
  g_free(d);
}

static void
hk_text_hit_free(HkTextHit *h)
{
  g_clear_pointer(&h->patient, hk_patient_info_free);
  g_clear_pointer(&h->doc, hk_doc_info_free);
  g_free(h);
}

void
hk_text_search_free(HkTextSearch *s)
{
  if (s) {
    g_clear_pointer(&s->hits, g_ptr_array_unref);
    g_free(s);
  }
}

void
hk_doc_match_free(HkDocMatch *m)
{
  g_free(m->snippet);
  g_clear_pointer(&m->marks, g_array_unref);
  g_free(m);
}

char *
hk_doc_match_dup_term(const HkDocMatch *m)
{
  const char *a;
  char *res = NULL;

  if (m->marks && m->marks->len >= 2) {
    a = g_utf8_offset_to_pointer(m->snippet, g_array_index(m->marks, guint, 0));
    res = g_strndup(a, g_utf8_offset_to_pointer(a, g_array_index(m->marks, guint, 1)) - a);
  }
  return res;
}

static gpointer
hk_doc_match_copy(gconstpointer src, gpointer unused)
{
  const HkDocMatch *m = src;
  HkDocMatch *c = g_new0(HkDocMatch, 1);

  (void)unused;
  c->page = m->page;
  c->snippet = g_strdup(m->snippet);
  c->marks = g_array_copy(m->marks);
  return c;
}

HkDocInfo *
hk_doc_info_copy(const HkDocInfo *d)
{
  HkDocInfo *c = g_new0(HkDocInfo, 1);

  c->id = g_strdup(d->id);
  c->patient_id = g_strdup(d->patient_id);
  c->source_id = g_strdup(d->source_id);
  c->type = g_strdup(d->type);
  c->title = g_strdup(d->title);
  c->author = g_strdup(d->author);
  c->department = g_strdup(d->department);
  c->created_at = d->created_at ? g_date_time_ref(d->created_at) : NULL;
  c->ingested_at = d->ingested_at ? g_date_time_ref(d->ingested_at) : NULL;
  c->content_type = g_strdup(d->content_type);
  c->size = d->size;
  c->sha256 = g_strdup(d->sha256);
  c->version = d->version;
  c->latest_version = d->latest_version;
  c->withdrawn = d->withdrawn;
  c->withdrawn_reason = g_strdup(d->withdrawn_reason);
  c->moved_direction = g_strdup(d->moved_direction);
  c->moved_patient = g_strdup(d->moved_patient);
  c->moved_at = d->moved_at ? g_date_time_ref(d->moved_at) : NULL;
  c->refused_count = d->refused_count;
  c->refused_at = d->refused_at ? g_date_time_ref(d->refused_at) : NULL;
  c->refused_reason = g_strdup(d->refused_reason);
  c->versions = g_ptr_array_new_with_free_func((GDestroyNotify)hk_version_info_free);
  for (guint i = 0; d->versions && i < d->versions->len; i++) {
    const HkVersionInfo *v = g_ptr_array_index(d->versions, i);
    HkVersionInfo *cv = g_new0(HkVersionInfo, 1);
    cv->version = v->version;
    cv->ingested_at = v->ingested_at ? g_date_time_ref(v->ingested_at) : NULL;
    cv->size = v->size;
    cv->sha256 = g_strdup(v->sha256);
    g_ptr_array_add(c->versions, cv);
  }
  if (d->matches)
    c->matches = g_ptr_array_copy(d->matches, hk_doc_match_copy, NULL);
  return c;
}

gboolean
hk_doc_info_is_old_version(const HkDocInfo *d)
{
  return d->latest_version > d->version;
}

HkStatusInfo *
hk_api_parse_status(const char *body, gssize len, GError **error)
{
  JsonObject *o = NULL;
  g_autoptr(JsonParser) parser = parse_root(body, len, &o, error);
  HkStatusInfo *s = NULL;

  if (!parser)
    goto out;
  s = g_new0(HkStatusInfo, 1);
  s->documents = member_int(o, "documents", 0);
  s->patients = member_int(o, "patients", 0);
  s->archive_as_of = member_time(o, "archive_as_of");
  s->last_document_at = member_time(o, "last_document_at");
  s->indexer = member_dup(o, "indexer");
  if (!s->indexer)
    s->indexer = g_strdup("stopped"); /* unknown state: assume the worst */
  s->sealed_reason = member_dup(o, "sealed_reason");
out:
  return s;
}

/* "<name>_status" and "<name>_unreadable" of a patient record. An
 * unreadable object without the status still counts: better a warning too
 * many than a missing one. */
static void
fact_from_object(JsonObject *o, const char *name, HkFactInfo *f)
{
  g_autofree char *status_key = g_strdup_printf("%s_status", name);
  g_autofree char *unreadable_key = g_strdup_printf("%s_unreadable", name);
  JsonObject *u = member_object(o, unreadable_key);

  f->unreadable = g_strcmp0(member_str(o, status_key), "unreadable") == 0 || u != NULL;
  if (u) {
    f->reason = member_dup(u, "reason");
    f->since = member_time(u, "since");
  }
}

static HkPatientInfo *
patient_from_object(JsonObject *o)
{
  HkPatientInfo *p = g_new0(HkPatientInfo, 1);
  JsonArray *arr;
  JsonObject *adm;

  p->id = member_dup(o, "id");
  if (!p->id)
    p->id = member_dup(o, "patient_id"); /* census lines */
  p->name = member_dup(o, "name");
  p->kana = member_dup(o, "kana");
  p->birth_date = member_dup(o, "birth_date");
  p->sex = member_dup(o, "sex");

  arr = member_array(o, "allergies");
  if (arr) {
    p->allergies = g_ptr_array_new_with_free_func((GDestroyNotify)hk_allergy_info_free);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
      JsonNode *n = json_array_get_element(arr, i);
      HkAllergyInfo *a;
      if (!JSON_NODE_HOLDS_OBJECT(n))
        continue;
      a = g_new0(HkAllergyInfo, 1);
      a->allergen = member_dup(json_node_get_object(n), "allergen");
      a->reaction = member_dup(json_node_get_object(n), "reaction");
      a->severity = member_dup(json_node_get_object(n), "severity");
      /* An allergy whose allergen is unknown is still an allergy: show it. */
      if (!a->allergen)
        a->allergen = g_strdup("?");
      g_ptr_array_add(p->allergies, a);
    }
  }
  arr = member_array(o, "problems");
  if (arr) {
    p->problems = g_ptr_array_new_with_free_func((GDestroyNotify)hk_problem_info_free);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
      JsonNode *n = json_array_get_element(arr, i);
      HkProblemInfo *q = g_new0(HkProblemInfo, 1);
      if (JSON_NODE_HOLDS_OBJECT(n)) {
        JsonObject *po = json_node_get_object(n);
        q->code = member_dup(po, "code");
        q->name = member_dup(po, "name");
        q->onset = member_dup(po, "onset");
      } else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
        q->name = g_strdup(json_node_get_string(n));
      }
      if (!q->name)
        q->name = g_strdup(q->code ? q->code : "?");
      g_ptr_array_add(p->problems, q);
    }
  }
  /* Full record: "admission" object or null. Census line: the bed fields
   * sit at the top level. */
  adm = member_object(o, "admission");
  if (!adm && member_str(o, "ward"))
    adm = o;
  if (adm) {
    p->admitted = TRUE;
    p->ward = member_dup(adm, "ward");
    p->room = member_dup(adm, "room");
    p->bed = member_dup(adm, "bed");
    p->admitted_at = member_time(adm, "admitted_at");
  }
  fact_from_object(o, "allergies", &p->allergies_state);
  fact_from_object(o, "problems", &p->problems_state);
  fact_from_object(o, "admission", &p->admission_state);
  return p;
}

static GPtrArray *
parse_patient_list(const char *body, gssize len, const char *key, GError **error)
{
  JsonObject *o = NULL;
  g_autoptr(JsonParser) parser = parse_root(body, len, &o, error);
  GPtrArray *res = NULL;
  JsonArray *arr;

  if (!parser)
    goto out;
  arr = member_array(o, key);
  if (!arr) {
    g_set_error(error, HK_API_ERROR, HK_API_ERROR_PARSE, "answer has no \"%s\" list", key);
    goto out;
  }
  res = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_info_free);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    HkPatientInfo *p;
    if (!JSON_NODE_HOLDS_OBJECT(n))
      continue;
    p = patient_from_object(json_node_get_object(n));
    /* A line without an ID cannot be opened; showing it would invite a
     * wrong-patient mistake. */
    if (!p->id) {
      hk_patient_info_free(p);
      continue;
    }
    g_ptr_array_add(res, p);
  }
out:
  return res;
}

GPtrArray *
hk_api_parse_patients(const char *body, gssize len, GError **error)
{
  return parse_patient_list(body, len, "patients", error);
}

GPtrArray *
hk_api_parse_census(const char *body, gssize len, GError **error)
{
  return parse_patient_list(body, len, "inpatients", error);
}

HkPatientInfo *
hk_api_parse_patient(const char *body, gssize len, GError **error)
{
  JsonObject *o = NULL;
  g_autoptr(JsonParser) parser = parse_root(body, len, &o, error);
  HkPatientInfo *res = NULL;

  if (!parser)
    goto out;
  res = patient_from_object(o);
  if (!res->id) {
    g_set_error_literal(error, HK_API_ERROR, HK_API_ERROR_PARSE, "patient has no id");
    g_clear_pointer(&res, hk_patient_info_free);
    goto out;
  }
  /* The full record always lists allergies; an absent list means "none
   * recorded", which the banner says in words. */
  if (!res->allergies)
    res->allergies = g_ptr_array_new_with_free_func((GDestroyNotify)hk_allergy_info_free);
  if (!res->problems)
    res->problems = g_ptr_array_new_with_free_func((GDestroyNotify)hk_problem_info_free);
out:
  return res;
}

/* An integer element of arr, or -1 for anything else. */
static gint64
element_int(JsonArray *arr, guint i)
{
  JsonNode *n = json_array_get_element(arr, i);

  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64
             ? json_node_get_int(n)
             : -1;
}

/* "matches" of a search hit. A mark outside its snippet is dropped, not
 * drawn somewhere else: the server's offsets are not trusted to be right. */
static GPtrArray *
matches_from_array(JsonArray *arr)
{
  GPtrArray *res = g_ptr_array_new_with_free_func((GDestroyNotify)hk_doc_match_free);

  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    JsonObject *mo;
    JsonArray *marks;
    HkDocMatch *m;
    glong chars;
    if (!JSON_NODE_HOLDS_OBJECT(n))
      continue;
    mo = json_node_get_object(n);
    m = g_new0(HkDocMatch, 1);
    m->page = (guint)CLAMP(member_int(mo, "page", 1), 1, G_MAXINT);
    m->snippet = member_dup(mo, "snippet");
    if (!m->snippet)
      m->snippet = g_strdup("");
    chars = g_utf8_strlen(m->snippet, -1);
    m->marks = g_array_new(FALSE, FALSE, sizeof(guint));
    marks = member_array(mo, "marks");
    for (guint k = 0; marks && k < json_array_get_length(marks); k++) {
      JsonNode *pn = json_array_get_element(marks, k);
      JsonArray *pair = JSON_NODE_HOLDS_ARRAY(pn) ? json_node_get_array(pn) : NULL;
      gint64 start, len;
      guint v[2];
      if (!pair || json_array_get_length(pair) != 2)
        continue;
      start = element_int(pair, 0);
      len = element_int(pair, 1);
      if (start < 0 || len <= 0 || start + len > chars)
        continue;
      v[0] = (guint)start;
      v[1] = (guint)len;
      g_array_append_vals(m->marks, v, 2);
    }
    g_ptr_array_add(res, m);
  }
  return res;
}

static HkDocInfo *
doc_from_object(JsonObject *o)
{
  HkDocInfo *d = g_new0(HkDocInfo, 1);
  JsonArray *arr;

  d->id = member_dup(o, "id");
  d->patient_id = member_dup(o, "patient_id");
  d->source_id = member_dup(o, "source_id");
  d->type = member_dup(o, "type");
  if (!d->type)
    d->type = g_strdup("other");
  d->title = member_dup(o, "title");
  if (!d->title)
    d->title = g_strdup(d->type);
  d->author = member_dup(o, "author");
  d->department = member_dup(o, "department");
  d->created_at = member_time(o, "created_at");
  d->ingested_at = member_time(o, "ingested_at");
  d->content_type = member_dup(o, "content_type");
  if (!d->content_type)
    d->content_type = g_strdup("application/octet-stream");
  d->size = member_int(o, "size", 0);
  d->sha256 = member_dup(o, "sha256");
  if (!d->sha256)
    d->sha256 = g_strdup("");
  d->version = (guint)MAX(member_int(o, "version", 1), 1);
  d->latest_version = d->version;
  d->withdrawn = member_bool(o, "withdrawn");
  d->withdrawn_reason = member_dup(o, "withdrawn_reason");
  {
    JsonNode *mn = json_object_get_member(o, "moved");
    JsonArray *rf = member_array(o, "refused_versions");
    if (mn && JSON_NODE_HOLDS_OBJECT(mn)) {
      JsonObject *mo = json_node_get_object(mn);
      d->moved_direction = member_dup(mo, "direction");
      d->moved_patient = member_dup(mo, "patient_id");
      d->moved_at = member_time(mo, "at");
      if (g_strcmp0(d->moved_direction, "to") != 0 && g_strcmp0(d->moved_direction, "from") != 0)
        g_clear_pointer(&d->moved_direction, g_free);
    }
    d->refused_count = rf ? json_array_get_length(rf) : 0;
    if (d->refused_count) {
      JsonNode *last = json_array_get_element(rf, d->refused_count - 1);
      if (JSON_NODE_HOLDS_OBJECT(last)) {
        d->refused_at = member_time(json_node_get_object(last), "at");
        d->refused_reason = member_dup(json_node_get_object(last), "reason");
      }
    }
  }
  d->versions = g_ptr_array_new_with_free_func((GDestroyNotify)hk_version_info_free);
  arr = member_array(o, "versions");
  for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    JsonObject *vo;
    HkVersionInfo *v;
    if (!JSON_NODE_HOLDS_OBJECT(n))
      continue;
    vo = json_node_get_object(n);
    v = g_new0(HkVersionInfo, 1);
    v->version = (guint)MAX(member_int(vo, "version", 1), 1);
    v->ingested_at = member_time(vo, "ingested_at");
    v->size = member_int(vo, "size", 0);
    v->sha256 = member_dup(vo, "sha256");
    if (!v->sha256)
      v->sha256 = g_strdup("");
    d->latest_version = MAX(d->latest_version, v->version);
    g_ptr_array_add(d->versions, v);
  }
  arr = member_array(o, "matches");
  if (arr)
    d->matches = matches_from_array(arr);
  /* "latest_version" or "current": false also say this is an old version. */
  d->latest_version = MAX(d->latest_version, (guint)MAX(member_int(o, "latest_version", 0), 0));
  if (json_object_has_member(o, "current") && !member_bool(o, "current") &&
      d->latest_version == d->version)
    d->latest_version = d->version + 1;
  return d;
}

GPtrArray *
hk_api_parse_documents(const char *body, gssize len, char **next_cursor, gint64 *unsearched,
                       GError **error)
{
  JsonObject *o = NULL;
  g_autoptr(JsonParser) parser = parse_root(body, len, &o, error);
  GPtrArray *res = NULL;
  JsonArray *arr;

  if (next_cursor)
    *next_cursor = NULL;
  if (unsearched)
    *unsearched = 0;
  if (!parser)
    goto out;
  arr = member_array(o, "documents");
  if (!arr) {
    g_set_error_literal(error, HK_API_ERROR, HK_API_ERROR_PARSE,
                        "answer has no \"documents\" list");
    goto out;
  }
  res = g_ptr_array_new_with_free_func((GDestroyNotify)hk_doc_info_free);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    HkDocInfo *d;
    if (!JSON_NODE_HOLDS_OBJECT(n))
      continue;
    d = doc_from_object(json_node_get_object(n));
    if (!d->id) {
      hk_doc_info_free(d);
      continue;
    }
    g_ptr_array_add(res, d);
  }
  if (next_cursor)
    *next_cursor = member_dup(o, "next_cursor");
  if (unsearched)
    *unsearched = MAX(member_int(o, "unsearched", 0), 0);
out:
  return res;
}

HkDocInfo *
hk_api_parse_document(const char *body, gssize len, GError **error)
{
  JsonObject *o = NULL;
  g_autoptr(JsonParser) parser = parse_root(body, len, &o, error);
  HkDocInfo *res = NULL;

  if (!parser)
    goto out;
  res = doc_from_object(o);
  if (!res->id) {
    g_set_error_literal(error, HK_API_ERROR, HK_API_ERROR_PARSE, "document has no id");
    g_clear_pointer(&res, hk_doc_info_free);
  }
out:
  return res;
}

void
hk_api_parse_error(const char *body, gssize len, char **code, char **message, gint64 *retry_after_s)
{
  JsonObject *o = NULL;
  g_autoptr(JsonParser) parser = NULL;

  *code = NULL;
  *message = NULL;
  *retry_after_s = -1;
  if (!body || len == 0)
    return;
  parser = parse_root(body, len, &o, NULL);
  if (!parser)
    return;
  *code = member_dup(o, "error");
  *message = member_dup(o, "message");
  *retry_after_s = member_int(o, "retry_after_s", -1);
}

gboolean
hk_api_sha256_matches(GBytes *bytes, const char *sha256)
{
  g_autofree char *sha = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, bytes);

  return sha && sha256 && g_ascii_strcasecmp(sha, sha256) == 0;
}

HkTextSearch *
hk_api_parse_text_search(const char *body, gssize len, GError **error)
{
  JsonObject *o = NULL;
  g_autoptr(JsonParser) parser = parse_root(body, len, &o, error);
  HkTextSearch *res = NULL;
  JsonArray *results;

  if (!parser)
    goto out;
  results = member_array(o, "results");
  if (!results) {
    g_set_error_literal(error, HK_API_ERROR, HK_API_ERROR_PARSE, "answer has no \"results\" list");
    goto out;
  }
  res = g_new0(HkTextSearch, 1);
  res->hits = g_ptr_array_new_with_free_func((GDestroyNotify)hk_text_hit_free);
  res->unsearched = MAX(member_int(o, "unsearched", 0), 0);
  for (guint i = 0; i < json_array_get_length(results); i++) {
    JsonNode *n = json_array_get_element(results, i);
    JsonObject *ro = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
    JsonObject *po = member_object(ro, "patient");
    JsonArray *docs = member_array(ro, "documents");
    g_autoptr(HkPatientInfo) p = po ? patient_from_object(po) : NULL;
    if (!p || !p->id || !docs)
      continue;
    for (guint k = 0; k < json_array_get_length(docs); k++) {
      JsonNode *dn = json_array_get_element(docs, k);
      HkTextHit *h;
      HkDocInfo *d;
      if (!JSON_NODE_HOLDS_OBJECT(dn))
        continue;
      d = doc_from_object(json_node_get_object(dn));
      if (!d->id) {
        hk_doc_info_free(d);
        continue;
      }
      h = g_new0(HkTextHit, 1);
      h->patient = hk_patient_info_copy(p);
      h->doc = d;
      g_ptr_array_add(res->hits, h);
    }
  }
out:
  return res;
}

GArray *
hk_api_parse_highlights(const char *body, gssize len, GError **error)
{
  JsonObject *o = NULL;
  g_autoptr(JsonParser) parser = parse_root(body, len, &o, error);
  GArray *res = NULL;
  JsonArray *boxes;
  gint64 units;
  guint n;

  if (!parser)
    goto out;
  units = json_object_has_member(o, "units") ? json_object_get_int_member(o, "units") : 0;
  boxes = json_object_has_member(o, "boxes") ? json_object_get_array_member(o, "boxes") : NULL;
  n = boxes ? json_array_get_length(boxes) : 0;
  if (units <= 0 || !boxes || n > HK_API_HIGHLIGHTS_MAX) {
    g_set_error_literal(error, HK_API_ERROR, HK_API_ERROR_PARSE,
                        "highlights: no units, no boxes, or too many");
    goto out;
  }
  res = g_array_sized_new(FALSE, FALSE, sizeof(HkHighlightBox), n);
  for (guint i = 0; i < n; i++) {
    JsonNode *node = json_array_get_element(boxes, i);
    JsonArray *a = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
    gint64 v[4];
    gboolean ok = a && json_array_get_length(a) == 4;
    for (guint k = 0; ok && k < 4; k++) {
      JsonNode *e = json_array_get_element(a, k);
      ok = JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_INT64;
      v[k] = ok ? json_node_get_int(e) : 0;
      ok = ok && v[k] >= 0 && v[k] <= units;
    }
    if (!ok || v[0] > v[2] || v[1] > v[3]) {
      g_set_error(error, HK_API_ERROR, HK_API_ERROR_PARSE, "highlights: box %u is not a rectangle",
                  i);
      g_clear_pointer(&res, g_array_unref);
      goto out;
    }
    HkHighlightBox b = {(double)v[0] / (double)units, (double)v[1] / (double)units,
                        (double)v[2] / (double)units, (double)v[3] / (double)units};
    g_array_append_val(res, b);
  }
out:
  return res;
}

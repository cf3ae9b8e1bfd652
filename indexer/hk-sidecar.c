#include "hk-sidecar.h"

#include "hk-time.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const char *
hk_member_str(JsonObject *o, const char *k, size_t maxlen, bool required, char **reason)
{
  JsonNode *n = json_object_get_member(o, k);
  const char *v;

  if (!n || JSON_NODE_HOLDS_NULL(n)) {
    if (required && !*reason)
      *reason = g_strdup_printf("sidecar: missing required field \"%s\"", k);
    return NULL;
  }
  if (json_node_get_value_type(n) != G_TYPE_STRING) {
    if (!*reason)
      *reason = g_strdup_printf("sidecar: field \"%s\" must be a string", k);
    return NULL;
  }
  v = json_node_get_string(n);
  if ((required && !*v) || strlen(v) > maxlen) {
    if (!*reason)
      *reason = g_strdup_printf("sidecar: field \"%s\" must be 1-%zu bytes", k, maxlen);
    return NULL;
  }
  return v;
}

void
hk_sidecar_parse(GBytes *bytes, HkVersion *v, HkPatient **patient, char **reason)
{
  JsonParser *p = json_parser_new_immutable();
  GError *err = NULL;
  JsonObject *o;
  JsonNode *pn;
  gsize len;
  const char *data = g_bytes_get_data(bytes, &len);
  const char *s;

  /* An empty file is the likeliest broken sidecar of all (a writer that
   * died); json-glib takes no NULL data, so name it here. */
  if (!data || len == 0) {
    *reason = g_strdup("sidecar is empty");
    goto out;
  }
  if (!json_parser_load_from_data(p, data, (gssize)len, &err)) {
    *reason = g_strdup_printf("sidecar is not valid JSON: %s", err ? err->message : "?");
    goto out;
  }
  if (!json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    *reason = g_strdup("sidecar is not a JSON object");
    goto out;
  }
  o = json_node_get_object(json_parser_get_root(p));
  if ((s = hk_member_str(o, "source_id", 256, true, reason)))
    v->source_id = g_strdup(s);
  if ((s = hk_member_str(o, "patient_id", 32, true, reason))) {
    if (!hk_patient_id_valid(s) && !*reason)
      *reason = g_strdup("sidecar: patient_id must be 1-32 of A-Za-z0-9-_");
    v->patient_id = g_strdup(s);
  }
  if ((s = hk_member_str(o, "type", 64, true, reason))) {
    if (!hk_version_type_valid(s) && !*reason)
      *reason = g_strdup_printf("sidecar: unknown document type \"%s\"", s);
    v->type = g_strdup(s);
  }
  if ((s = hk_member_str(o, "title", 1024, true, reason)))
    v->title = g_strdup(s);
  if ((s = hk_member_str(o, "created_at", 64, true, reason))) {
    if (hk_time_parse(s, &v->created_usec) != 0 && !*reason)
      *reason = g_strdup_printf("sidecar: created_at \"%s\" is not an RFC 3339 date-time", s);
    v->created_at = g_strdup(s);
  }
  if ((s = hk_member_str(o, "author", 256, false, reason)))
    v->author = g_strdup(s);
  if ((s = hk_member_str(o, "department", 256, false, reason)))
    v->department = g_strdup(s);
  if ((s = hk_member_str(o, "content_type", 128, false, reason))) {
    /* Parameters such as "; charset=utf-8" do not change what we check. */
    char *ct = g_ascii_strdown(s, -1), *semi = strchr(ct, ';');
    if (semi)
      *semi = 0;
    v->content_type = g_strdup(g_strstrip(ct));
    g_free(ct);
  }
  pn = json_object_get_member(o, "patient");
  if (pn && !*reason && !JSON_NODE_HOLDS_NULL(pn)) {
    if (!JSON_NODE_HOLDS_OBJECT(pn)) {
      *reason = g_strdup("sidecar: \"patient\" must be an object");
      goto out;
    }
    JsonObject *po = json_node_get_object(pn);
    HkPatient *pt = hk_patient_new(v->patient_id);
    if ((s = hk_member_str(po, "name", 256, false, reason)))
      pt->name = g_strdup(s);
    if ((s = hk_member_str(po, "kana", 256, false, reason)))
      pt->kana = g_strdup(s);
    if ((s = hk_member_str(po, "birth_date", 10, false, reason))) {
      if (!hk_time_is_date(s) && !*reason)
        *reason = g_strdup_printf("sidecar: patient.birth_date \"%s\" is not YYYY-MM-DD", s);
      pt->birth_date = g_strdup(s);
    }
    if ((s = hk_member_str(po, "sex", 1, false, reason))) {
      if (!strchr("FMOU", s[0]) && !*reason)
        *reason = g_strdup_printf("sidecar: patient.sex \"%s\" is not F, M, O or U", s);
      pt->sex = g_strdup(s);
    }
    pt->origin = HK_PATIENT_FROM_DROP;
    *patient = pt;
  }
out:
  g_clear_error(&err);
  g_object_unref(p);
}


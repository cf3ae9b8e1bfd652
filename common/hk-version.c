#include "hk-version.h"

#include "hk-error.h"
#include "hk-json.h"
#include "hk-sha256.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const struct {
  const char *type;
  const char *loinc;
  const char *name;
} hk_types[] = {
  { "progress_note", "11506-3", "Progress note" },
  { "nursing_record", "34746-8", "Nurse Note" },
  { "discharge_summary", "18842-5", "Discharge summary" },
  { "referral_letter", "57133-1", "Referral note" },
  { "consent", "59284-0", "Consent Document" },
  { "lab_report", "11502-2", "Laboratory report" },
  { "imaging_report", "18748-4", "Diagnostic imaging study" },
  { "operative_note", "11504-8", "Surgical operation note" },
  { "anesthesia_record", "59282-4", "Anesthesia record" },
  { "prescription", "57833-6", "Prescription for medication" },
  { "ecg", "11524-6", "EKG study" },
  { "other", "34133-9", "Summary of episode note" },
};

bool
hk_version_type_valid(const char *type)
{
  bool ok = false;

  for (size_t i = 0; type && !ok && i < G_N_ELEMENTS(hk_types); i++)
    ok = strcmp(type, hk_types[i].type) == 0;
  return ok;
}

const char *
hk_version_type_loinc(const char *type, const char **name)
{
  const char *code = NULL;

  for (size_t i = 0; type && !code && i < G_N_ELEMENTS(hk_types); i++) {
    if (strcmp(type, hk_types[i].type) == 0) {
      code = hk_types[i].loinc;
      if (name)
        *name = hk_types[i].name;
    }
  }
  return code;
}

void
hk_version_doc_id(const char *source_id, char out[HK_DOC_ID_LEN + 1])
{
  uint8_t d[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];

  hk_sha256(source_id, strlen(source_id), d);
  hk_sha256_hex(d, hex);
  memcpy(out, hex, HK_DOC_ID_LEN);
  out[HK_DOC_ID_LEN] = '\0';
}

void
hk_version_doc_id_named(const char *source_name, const char *source_id, char out[HK_DOC_ID_LEN + 1])
{
  uint8_t d[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];
  GByteArray *buf = g_byte_array_new();

  /* NUL between the two: no name/ID split can collide with another. */
  g_byte_array_append(buf, (const guint8 *)source_name, (guint)strlen(source_name) + 1);
  g_byte_array_append(buf, (const guint8 *)source_id, (guint)strlen(source_id));
  hk_sha256(buf->data, buf->len, d);
  hk_sha256_hex(d, hex);
  memcpy(out, hex, HK_DOC_ID_LEN);
  out[HK_DOC_ID_LEN] = '\0';
  g_byte_array_unref(buf);
}

bool
hk_source_name_valid(const char *name)
{
  size_t n = name ? strlen(name) : 0;
  bool ok = n >= 1 && n <= HK_SOURCE_NAME_MAX && name[0] != '.' && name[0] != '-';

  for (size_t i = 0; ok && i < n; i++)
    ok = g_ascii_isalnum(name[i]) || name[i] == '.' || name[i] == '_' || name[i] == '-';
  return ok;
}

const char *
hk_source_default_name(const char *source_id)
{
  return source_id && g_str_has_prefix(source_id, "SSMIX2:") ? HK_SOURCE_SSMIX2_DEFAULT
                                                             : HK_SOURCE_DROP_DEFAULT;
}

HkVersion *
hk_version_new(void)
{
  return g_new0(HkVersion, 1);
}

void
hk_version_free(HkVersion *v)
{
  if (!v)
    return;
  g_free(v->patient_id);
  g_free(v->source_id);
  g_free(v->type);
  g_free(v->title);
  g_free(v->author);
  g_free(v->department);
  g_free(v->content_type);
  g_free(v->created_at);
  g_free(v->source);
  g_free(v->code);
  g_free(v->code_name);
  g_free(v->source_name);
  g_free(v);
}

HkVersion *
hk_version_copy(const HkVersion *v)
{
  HkVersion *c = g_new0(HkVersion, 1);

  *c = *v;
  c->patient_id = g_strdup(v->patient_id);
  c->source_id = g_strdup(v->source_id);
  c->type = g_strdup(v->type);
  c->title = g_strdup(v->title);
  c->author = g_strdup(v->author);
  c->department = g_strdup(v->department);
  c->content_type = g_strdup(v->content_type);
  c->created_at = g_strdup(v->created_at);
  c->source = g_strdup(v->source);
  c->code = g_strdup(v->code);
  c->code_name = g_strdup(v->code_name);
  c->source_name = g_strdup(v->source_name);
  return c;
}

static void
hk_add_str(JsonBuilder *b, const char *k, const char *v)
{
  if (!v)
    return;
  json_builder_set_member_name(b, k);
  json_builder_add_string_value(b, v);
}

static void
hk_add_int(JsonBuilder *b, const char *k, int64_t v)
{
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}

char *
hk_version_to_json(const HkVersion *v)
{
  JsonBuilder *b = json_builder_new();
  char *res;

  json_builder_begin_object(b);
  hk_add_str(b, "id", v->doc_id);
  hk_add_int(b, "version", v->version);
  hk_add_str(b, "patient_id", v->patient_id);
  hk_add_str(b, "source_id", v->source_id);
  hk_add_str(b, "type", v->type);
  hk_add_str(b, "title", v->title);
  hk_add_str(b, "author", v->author);
  hk_add_str(b, "department", v->department);
  hk_add_str(b, "content_type", v->content_type);
  hk_add_str(b, "created_at", v->created_at);
  hk_add_int(b, "created_usec", v->created_usec);
  hk_add_int(b, "ingested_usec", v->ingested_at);
  hk_add_str(b, "sha256", v->sha256);
  hk_add_int(b, "size", (int64_t)v->size);
  hk_add_str(b, "source", v->source);
  hk_add_str(b, "code", v->code);
  hk_add_str(b, "code_name", v->code_name);
  hk_add_str(b, "source_name", v->source_name);
  json_builder_end_object(b);
  res = hk_json_to_text(b);
  g_object_unref(b);
  return res;
}

static char *
hk_get_str(JsonObject *o, const char *k)
{
  JsonNode *n = json_object_get_member(o, k);

  if (!n || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return g_strdup(json_node_get_string(n));
}

int
hk_version_from_json(const char *json, size_t len, HkVersion **out)
{
  JsonParser *p = json_parser_new_immutable();
  JsonObject *o;
  HkVersion *v = NULL;
  char *sha = NULL, *id = NULL;
  int ret = -HK_ECORRUPT;

  if (!json_parser_load_from_data(p, json, (gssize)len, NULL))
    goto out;
  if (!json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
    goto out;
  o = json_node_get_object(json_parser_get_root(p));
  v = hk_version_new();
  id = hk_get_str(o, "id");
  sha = hk_get_str(o, "sha256");
  v->patient_id = hk_get_str(o, "patient_id");
  v->source_id = hk_get_str(o, "source_id");
  v->type = hk_get_str(o, "type");
  v->title = hk_get_str(o, "title");
  v->author = hk_get_str(o, "author");
  v->department = hk_get_str(o, "department");
  v->content_type = hk_get_str(o, "content_type");
  v->created_at = hk_get_str(o, "created_at");
  v->source = hk_get_str(o, "source");
  v->code = hk_get_str(o, "code");
  v->code_name = hk_get_str(o, "code_name");
  v->source_name = hk_get_str(o, "source_name");
  v->version = (uint32_t)json_object_get_int_member_with_default(o, "version", 0);
  v->created_usec = json_object_get_int_member_with_default(o, "created_usec", 0);
  v->ingested_at = json_object_get_int_member_with_default(o, "ingested_usec", 0);
  v->size = (uint64_t)json_object_get_int_member_with_default(o, "size", 0);
  if (!id || strlen(id) != HK_DOC_ID_LEN || !sha || strlen(sha) != 64 || !v->patient_id ||
      !v->source_id || !v->type || !v->content_type || v->version == 0)
    goto out;
  memcpy(v->doc_id, id, HK_DOC_ID_LEN + 1);
  memcpy(v->sha256, sha, 65);
  *out = v;
  v = NULL;
  ret = 0;
out:
  hk_version_free(v);
  g_free(sha);
  g_free(id);
  g_object_unref(p);
  return ret;
}

HkDocument *
hk_document_new(void)
{
  HkDocument *d = g_new0(HkDocument, 1);

  d->versions = g_ptr_array_new_with_free_func((GDestroyNotify)hk_version_free);
  d->refused = g_ptr_array_new_with_free_func((GDestroyNotify)hk_refusal_free);
  return d;
}

void
hk_document_free(HkDocument *d)
{
  if (!d)
    return;
  g_ptr_array_unref(d->versions);
  g_free(d->withdrawn_reason);
  g_free(d->source_name);
  g_ptr_array_unref(d->refused);
  g_free(d);
}

const HkVersion *
hk_document_current(const HkDocument *d)
{
  return d->versions->len ? g_ptr_array_index(d->versions, d->versions->len - 1) : NULL;
}

void
hk_refusal_free(HkRefusal *r)
{
  if (!r)
    return;
  g_free(r->reason);
  g_free(r->sha256);
  g_free(r);
}

bool
hk_document_has_patient(const HkDocument *d, const char *patient_id)
{
  bool found = false;

  for (guint i = 0; patient_id && !found && i < d->versions->len; i++)
    found = g_strcmp0(((const HkVersion *)d->versions->pdata[i])->patient_id, patient_id) == 0;
  return found;
}

void
hk_document_move(const HkDocument *d, const char *shown_under, HkMove *out)
{
  const HkVersion *cur = hk_document_current(d);
  guint i;

  memset(out, 0, sizeof *out);
  if (!cur || !shown_under)
    return;
  /* The run of versions that ends with the current one: its first version
   * is the one that moved the document to the current patient. */
  for (i = d->versions->len - 1; i > 0; i--) {
    const HkVersion *prev = d->versions->pdata[i - 1];
    if (g_strcmp0(prev->patient_id, cur->patient_id) != 0)
      break;
  }
  if (i == 0)
    return; /* never changed patient */
  out->at = ((const HkVersion *)d->versions->pdata[i])->ingested_at;
  if (g_strcmp0(cur->patient_id, shown_under) != 0) {
    out->kind = HK_MOVE_TO;
    out->other_patient = cur->patient_id;
  } else {
    out->kind = HK_MOVE_FROM;
    out->other_patient = ((const HkVersion *)d->versions->pdata[i - 1])->patient_id;
  }
}

int
hk_version_doc_id_bin(const char *hex, uint8_t out[8])
{
  uint64_t v = 0;
  int ret = -HK_EINVAL;

  if (!hex || strlen(hex) != HK_DOC_ID_LEN)
    goto out;
  for (int i = 0; i < HK_DOC_ID_LEN; i++) {
    char c = hex[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      goto out;
    v = v << 4 | (uint64_t)d;
  }
  for (int i = 7; i >= 0; i--, v >>= 8)
    out[i] = (uint8_t)v;
  ret = 0;
out:
  return ret;
}

void
hk_version_doc_id_hex(const uint8_t bin[8], char out[HK_DOC_ID_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";

  for (int i = 0; i < 8; i++) {
    out[2 * i] = hex[bin[i] >> 4];
    out[2 * i + 1] = hex[bin[i] & 15];
  }
  out[HK_DOC_ID_LEN] = 0;
}

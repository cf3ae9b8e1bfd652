/* hikae-admin drill: a downtime drill against a live server, through its
 * public HTTPS API only, as staff would use it: health, login, freshness,
 * census, patient search by ID and by kana, timeline, a document fetch
 * with its SHA-256 checked, logout. Each step is timed on the monotonic
 * clock and passes or fails with a reason; the findings go to a PDF and a
 * JSON report (hk-drill-report.h). Exit 0 only if every step passed.
 *
 * Which patient: --patient ID, else the first inpatient of the census (the
 * census is the first thing printed in a real downtime). Which document:
 * the newest not-withdrawn one on that patient's timeline. */
#include "hk-admin.h"
#include "hk-drill-http.h"
#include "hk-drill-report.h"

#include "hk-config.h"
#include "hk-error.h"
#include "hk-time.h"
#include "hk-totp.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define HK_DRILL_MAX_AGE_MIN 15
#define HK_DRILL_TIMEOUT_S 30
/* An archive_as_of this far ahead of the drill's clock is a clock fault. */
#define HK_DRILL_FUTURE_S 300

typedef struct {
  HkDrillReport rep;
  HkDrillHttp *http;
  /* Options */
  char *password_file, *totp_file, *ca;
  /* Found along the way */
  char *token; /* wiped when freed */
  char *role;
  char *patient_id;
  char *kana;
  char *doc_id;
  gboolean patient_found;
} HkDrill;

typedef gboolean (*HkDrillFn)(HkDrill *d, HkDrillStep *s);

/* An ID the server gave (or --patient) that may go into a URL path: the
 * server refuses anything but these characters in a path. */
static gboolean
hk_drill_id_ok(const char *id)
{
  size_t n = id ? strlen(id) : 0;

  if (n == 0 || n > 64)
    return FALSE;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum(id[i]) && id[i] != '-' && id[i] != '_')
      return FALSE;
  return TRUE;
}

static void
hk_wipe(char **s)
{
  if (*s) {
    explicit_bzero(*s, strlen(*s));
    g_clear_pointer(s, g_free);
  }
}

static void hk_step_fail(HkDrillStep *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
hk_step_fail(HkDrillStep *s, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  g_free(s->reason);
  s->reason = g_strdup_vprintf(fmt, ap);
  va_end(ap);
}

/* The error code and message of a JSON error answer, for a reason. */
static char *
hk_http_error_text(const HkDrillAnswer *a)
{
  JsonParser *p = json_parser_new();
  const char *code = NULL, *msg = NULL;
  char *res;

  if (a->body &&
      json_parser_load_from_data(p, g_bytes_get_data(a->body, NULL),
                                 (gssize)g_bytes_get_size(a->body), NULL) &&
      JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    code = json_object_get_string_member_with_default(o, "error", NULL);
    msg = json_object_get_string_member_with_default(o, "message", NULL);
  }
  res = g_strdup_printf("HTTP %u%s%s%s%s", a->status, code ? " " : "", code ? code : "",
                        msg ? ": " : "", msg ? msg : "");
  g_object_unref(p);
  return res;
}

/* One request whose answer must be `want` with a JSON object body. On
 * success \return the parser (its root is the object); else NULL with the
 * step failed and its reason set. */
static JsonParser *
hk_drill_json(HkDrill *d, HkDrillStep *s, const char *method, const char *path, const char *body,
              guint want)
{
  HkDrillAnswer a = {0};
  JsonParser *p = NULL, *res = NULL;
  GError *err = NULL;
  char *why = NULL;

  if (hk_drill_http_request(d->http, method, path, body, d->token, FALSE, &a, &why) != 0) {
    hk_step_fail(s, "%s", why);
    goto out;
  }
  if (a.status != want) {
    char *e = hk_http_error_text(&a);
    hk_step_fail(s, "%s %s: %s (expected %u)", method, path, e, want);
    g_free(e);
    goto out;
  }
  p = json_parser_new();
  if (!json_parser_load_from_data(p, g_bytes_get_data(a.body, NULL),
                                  (gssize)g_bytes_get_size(a.body), &err) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    hk_step_fail(s, "%s %s: the answer is not a JSON object%s%s", method, path, err ? ": " : "",
                 err ? err->message : "");
    goto out;
  }
  res = g_steal_pointer(&p);
out:
  hk_drill_answer_clear(&a);
  g_clear_object(&p);
  g_clear_error(&err);
  g_free(why);
  return res;
}

static JsonObject *
hk_root(JsonParser *p)
{
  return json_node_get_object(json_parser_get_root(p));
}

/* The array member name of o, or NULL. */
static JsonArray *
hk_array(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);

  return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static const char *
hk_str(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;

  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
             ? json_node_get_string(n)
             : NULL;
}

static JsonObject *
hk_elem(JsonArray *a, guint i)
{
  JsonNode *n = json_array_get_element(a, i);

  return JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* 1. The server answers /health over TLS verified against --ca. */
static gboolean
hk_step_health(HkDrill *d, HkDrillStep *s)
{
  JsonParser *p = hk_drill_json(d, s, "GET", "/api/v1/health", NULL, 200);
  gboolean ok = FALSE;

  if (!p)
    goto out;
  if (g_strcmp0(hk_str(hk_root(p), "status"), "ok") != 0) {
    hk_step_fail(s, "/api/v1/health: status is not \"ok\"");
    goto out;
  }
  s->detail = g_strdup("TLS verified against --ca; status ok");
  ok = TRUE;
out:
  g_clear_object(&p);
  return ok;
}

/* Read a secret from the first line of a file. */
static char *
hk_read_secret(const char *path, const char *what, char **reason)
{
  char *text = NULL, *res = NULL;
  GError *err = NULL;
  size_t n;

  if (!g_file_get_contents(path, &text, &n, &err)) {
    *reason = g_strdup_printf("cannot read %s %s: %s", what, path, err->message);
    goto out;
  }
  if (strlen(text) != n) {
    *reason = g_strdup_printf("%s %s holds a NUL byte", what, path);
    goto out;
  }
  /* The first line is the secret; its line end is the file's. */
  {
    size_t len = strcspn(text, "\n");
    if (len && text[len - 1] == '\r')
      len--;
    explicit_bzero(text + len, n - len);
    n = len;
  }
  if (n == 0) {
    *reason = g_strdup_printf("%s %s is empty", what, path);
    goto out;
  }
  res = g_steal_pointer(&text);
out:
  if (text) {
    explicit_bzero(text, n);
    g_free(text);
  }
  g_clear_error(&err);
  return res;
}

/* 2. POST /session with the password (and a TOTP code when a secret file
 * is given); the account must be a viewer to read clinical data. */
static gboolean
hk_step_login(HkDrill *d, HkDrillStep *s)
{
  char *password = NULL, *secret = NULL, *why = NULL, *body = NULL;
  char otp[16] = "";
  JsonBuilder *b = NULL;
  JsonParser *p = NULL;
  const char *token, *role;
  gboolean ok = FALSE;

  password = hk_read_secret(d->password_file, "the password file", &why);
  if (!password) {
    hk_step_fail(s, "%s", why);
    goto out;
  }
  if (d->totp_file) {
    uint32_t code = 0;
    int ret;
    secret = hk_read_secret(d->totp_file, "the TOTP secret file", &why);
    if (!secret) {
      hk_step_fail(s, "%s", why);
      goto out;
    }
    g_strstrip(secret);
    ret = hk_totp_code(secret, g_get_real_time() / G_USEC_PER_SEC / HK_TOTP_STEP_SEC, &code);
    if (ret) {
      hk_step_fail(s, "the TOTP secret in %s is not Base32: %s", d->totp_file, hk_strerror(ret));
      goto out;
    }
    g_snprintf(otp, sizeof otp, "%06u", code);
  }
  b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "user");
  json_builder_add_string_value(b, d->rep.user);
  json_builder_set_member_name(b, "password");
  json_builder_add_string_value(b, password);
  if (*otp) {
    json_builder_set_member_name(b, "otp");
    json_builder_add_string_value(b, otp);
  }
  json_builder_end_object(b);
  {
    JsonGenerator *g = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    body = json_generator_to_data(g, NULL);
    json_node_unref(root);
    g_object_unref(g);
  }
  p = hk_drill_json(d, s, "POST", "/api/v1/session", body, 201);
  if (!p)
    goto out;
  token = hk_str(hk_root(p), "token");
  role = hk_str(hk_root(p), "role");
  if (!token || !*token) {
    hk_step_fail(s, "POST /api/v1/session: no token in the answer");
    goto out;
  }
  d->token = g_strdup(token);
  d->role = g_strdup(role);
  /* Clinical reads need a clinical role (viewer, or clinician_search,
   * which is a viewer that may also search across patients); an auditor
   * would fail every later step with 403, which says less than this. */
  if (g_strcmp0(role, "viewer") != 0 && g_strcmp0(role, "clinician_search") != 0) {
    hk_step_fail(s, "account %s has role %s: the drill needs a viewer account", d->rep.user,
                 role ? role : "(none)");
    goto out;
  }
  s->detail = g_strdup_printf("session opened as %s (role %s%s)", d->rep.user, role,
                              *otp ? ", with a TOTP code" : "");
  ok = TRUE;
out:
  hk_wipe(&password);
  hk_wipe(&secret);
  hk_wipe(&body);
  explicit_bzero(otp, sizeof otp);
  g_clear_object(&b);
  g_clear_object(&p);
  g_free(why);
  return ok;
}

static char *
hk_age_words(int64_t s)
{
  return s >= 120 ? g_strdup_printf("%" G_GINT64_FORMAT " min", s / 60)
                  : g_strdup_printf("%" G_GINT64_FORMAT " s", s);
}

/* 3. /status: the archive is as current as --max-age and the indexer
 * is running (sealed or stopped means nothing new arrives). */
static gboolean
hk_step_freshness(HkDrill *d, HkDrillStep *s)
{
  JsonParser *p = hk_drill_json(d, s, "GET", "/api/v1/status", NULL, 200);
  GString *bad = g_string_new(NULL);
  const char *as_of, *ix;
  int64_t now = g_get_real_time(), max_s = (int64_t)d->rep.max_age_min * 60, usec;
  char *age = NULL;
  gboolean ok = FALSE;

  if (!p)
    goto out;
  as_of = hk_str(hk_root(p), "archive_as_of");
  ix = hk_str(hk_root(p), "indexer");
  d->rep.archive_as_of = g_strdup(as_of);
  d->rep.indexer = g_strdup(ix);
  d->rep.sealed_reason = g_strdup(hk_str(hk_root(p), "sealed_reason"));
  d->rep.server_time = g_strdup(hk_str(hk_root(p), "server_time"));
  if (g_strcmp0(ix, "sealed") == 0)
    g_string_append_printf(bad,
                           "; indexer sealed (%s): nothing new is archived until "
                           "hikae-admin unseal",
                           d->rep.sealed_reason ? d->rep.sealed_reason : "no reason given");
  else if (g_strcmp0(ix, "stopped") == 0)
    g_string_append(bad, "; indexer stopped: nothing new is being archived");
  else if (g_strcmp0(ix, "running") != 0)
    g_string_append_printf(bad, "; indexer state %s unknown", ix ? ix : "missing");
  if (!as_of) {
    g_string_append(bad, "; no archive_as_of: the indexer never finished a scan");
  } else if (hk_time_parse(as_of, &usec) != 0) {
    g_string_append_printf(bad, "; archive_as_of \"%s\" is not an RFC 3339 time", as_of);
  } else {
    d->rep.as_of_usec = usec;
    d->rep.have_age = TRUE;
    d->rep.age_s = (now - usec) / G_USEC_PER_SEC;
    age = hk_age_words(d->rep.age_s);
    if (d->rep.age_s > max_s)
      g_string_append_printf(bad, "; archive as of %s is %s old (limit %d min)", as_of, age,
                             d->rep.max_age_min);
    else if (d->rep.age_s < -HK_DRILL_FUTURE_S)
      g_string_append_printf(bad,
                             "; archive as of %s is %" G_GINT64_FORMAT
                             " s ahead of this host's clock: check the clocks",
                             as_of, -d->rep.age_s);
  }
  if (bad->len) {
    hk_step_fail(s, "%s", bad->str + 2);
    goto out;
  }
  s->detail = g_strdup_printf("archive as of %s, %s old (limit %d min), indexer running", as_of,
                              age, d->rep.max_age_min);
  ok = TRUE;
out:
  g_string_free(bad, TRUE);
  g_clear_object(&p);
  g_free(age);
  return ok;
}

/* 4. The census; without --patient its first inpatient is the drill's. */
static gboolean
hk_step_census(HkDrill *d, HkDrillStep *s)
{
  JsonParser *p = hk_drill_json(d, s, "GET", "/api/v1/census", NULL, 200);
  JsonArray *a;
  gboolean ok = FALSE;
  guint n;

  if (!p)
    goto out;
  a = hk_array(hk_root(p), "inpatients");
  if (!a) {
    hk_step_fail(s, "/api/v1/census: no \"inpatients\" list");
    goto out;
  }
  n = json_array_get_length(a);
  if (!d->patient_id && n > 0) {
    const char *id = hk_str(hk_elem(a, 0), "patient_id");
    if (!hk_drill_id_ok(id)) {
      hk_step_fail(s, "/api/v1/census: the first inpatient has no usable patient_id");
      goto out;
    }
    d->patient_id = g_strdup(id);
    d->rep.patient_id = g_strdup(id);
    d->rep.patient_source = g_strdup("census");
  }
  s->detail = g_strdup_printf("%u inpatient%s listed", n, n == 1 ? "" : "s");
  ok = TRUE;
out:
  g_clear_object(&p);
  return ok;
}

static gboolean
hk_need_patient(HkDrill *d, HkDrillStep *s)
{
  if (!d->patient_id)
    hk_step_fail(s, "no patient to look for: the census is empty and no --patient ID was given");
  return d->patient_id != NULL;
}

/* Does a /patients answer list the drill's patient? \return the match. */
static JsonObject *
hk_find_patient(JsonParser *p, const char *id, guint *n)
{
  JsonArray *a = hk_array(hk_root(p), "patients");

  *n = a ? json_array_get_length(a) : 0;
  for (guint i = 0; i < *n; i++)
    if (g_strcmp0(hk_str(hk_elem(a, i), "id"), id) == 0)
      return hk_elem(a, i);
  return NULL;
}

/* 5. Search by the exact ID, then open the patient's record. */
static gboolean
hk_step_patient_id(HkDrill *d, HkDrillStep *s)
{
  JsonParser *p = NULL, *rec = NULL;
  JsonObject *hit;
  char *path = NULL;
  gboolean ok = FALSE;
  guint n;

  if (!hk_need_patient(d, s))
    goto out;
  path = g_strdup_printf("/api/v1/patients?q=%s&limit=100", d->patient_id);
  p = hk_drill_json(d, s, "GET", path, NULL, 200);
  if (!p)
    goto out;
  hit = hk_find_patient(p, d->patient_id, &n);
  if (!hit) {
    hk_step_fail(s, "search by ID %s: not found (%u other result%s)", d->patient_id, n,
                 n == 1 ? "" : "s");
    goto out;
  }
  d->kana = g_strdup(hk_str(hit, "kana"));
  g_free(path);
  path = g_strdup_printf("/api/v1/patients/%s", d->patient_id);
  rec = hk_drill_json(d, s, "GET", path, NULL, 200);
  if (!rec)
    goto out;
  if (g_strcmp0(hk_str(hk_root(rec), "id"), d->patient_id) != 0) {
    hk_step_fail(s, "%s: the record is of another patient", path);
    goto out;
  }
  d->patient_found = TRUE;
  s->detail = g_strdup_printf("patient %s found by ID; record opened", d->patient_id);
  ok = TRUE;
out:
  g_clear_object(&p);
  g_clear_object(&rec);
  g_free(path);
  return ok;
}

/* Katakana to hiragana (ァ..ヶ -> ぁ..ゖ): staff type hiragana, the
 * archive stores katakana, and the search must match them to each other. */
static char *
hk_hiragana(const char *kana)
{
  GString *out = g_string_new(NULL);

  for (const char *c = kana; *c; c = g_utf8_next_char(c)) {
    gunichar u = g_utf8_get_char(c);
    g_string_append_unichar(out, u >= 0x30A1 && u <= 0x30F6 ? u - 0x60 : u);
  }
  return g_string_free(out, FALSE);
}

/* 6. Search by the patient's kana, typed in hiragana. The report does not
 * name the kana: a filed page carries no patient's name. */
static gboolean
hk_step_patient_kana(HkDrill *d, HkDrillStep *s)
{
  JsonParser *p = NULL;
  char *hira = NULL, *q = NULL, *path = NULL;
  gboolean ok = FALSE;
  guint n;

  if (!d->kana || !*d->kana) {
    hk_step_fail(s, "patient %s has no kana in the archive to search for", d->patient_id);
    goto out;
  }
  hira = hk_hiragana(d->kana);
  q = g_uri_escape_string(hira, NULL, FALSE);
  path = g_strdup_printf("/api/v1/patients?q=%s&limit=100", q);
  p = hk_drill_json(d, s, "GET", path, NULL, 200);
  if (!p) {
    /* The path holds the kana; say what failed without it. */
    char *why = s->reason;
    s->reason = g_strdup_printf("search by kana: %s",
                                g_str_has_prefix(why, "GET ") ? strstr(why, ": ") + 2 : why);
    g_free(why);
    goto out;
  }
  if (!hk_find_patient(p, d->patient_id, &n)) {
    hk_step_fail(s, "search by the kana of patient %s (in hiragana): not among %u result%s",
                 d->patient_id, n, n == 1 ? "" : "s");
    goto out;
  }
  s->detail = g_strdup_printf("patient %s found by kana typed in hiragana (%u result%s)",
                              d->patient_id, n, n == 1 ? "" : "s");
  ok = TRUE;
out:
  g_clear_object(&p);
  g_free(hira);
  g_free(q);
  g_free(path);
  return ok;
}

/* 7. The patient's timeline; its newest current document is fetched next. */
static gboolean
hk_step_timeline(HkDrill *d, HkDrillStep *s)
{
  JsonParser *p = NULL;
  JsonArray *a;
  char *path = NULL;
  gboolean ok = FALSE;
  guint n;

  path = g_strdup_printf("/api/v1/patients/%s/documents?limit=50", d->patient_id);
  p = hk_drill_json(d, s, "GET", path, NULL, 200);
  if (!p)
    goto out;
  a = hk_array(hk_root(p), "documents");
  if (!a) {
    hk_step_fail(s, "%s: no \"documents\" list", path);
    goto out;
  }
  n = json_array_get_length(a);
  for (guint i = 0; i < n && !d->doc_id; i++) {
    JsonObject *o = hk_elem(a, i);
    if (o && !json_object_get_boolean_member_with_default(o, "withdrawn", FALSE) &&
        hk_drill_id_ok(hk_str(o, "id")))
      d->doc_id = g_strdup(hk_str(o, "id"));
  }
  if (!d->doc_id) {
    hk_step_fail(s,
                 "patient %s has no readable document on the timeline (%u listed): choose "
                 "another with --patient ID",
                 d->patient_id, n);
    goto out;
  }
  d->rep.document_id = g_strdup(d->doc_id);
  s->detail = g_strdup_printf("%u document%s on the first page", n, n == 1 ? "" : "s");
  ok = TRUE;
out:
  g_clear_object(&p);
  g_free(path);
  return ok;
}

/* 8. The document's bytes: their SHA-256 must be the one the metadata
 * and the ETag give, and their length the metadata's size. */
static gboolean
hk_step_document(HkDrill *d, HkDrillStep *s)
{
  JsonParser *p = NULL;
  HkDrillAnswer a = {0};
  char *path = NULL, *why = NULL;
  const char *want;
  gint64 size;
  gboolean ok = FALSE;

  path = g_strdup_printf("/api/v1/documents/%s", d->doc_id);
  p = hk_drill_json(d, s, "GET", path, NULL, 200);
  if (!p)
    goto out;
  want = hk_str(hk_root(p), "sha256");
  size = json_object_get_int_member_with_default(hk_root(p), "size", -1);
  if (!want || strlen(want) != 64) {
    hk_step_fail(s, "%s: no sha256 in the metadata", path);
    goto out;
  }
  g_free(path);
  path = g_strdup_printf("/api/v1/documents/%s/content", d->doc_id);
  if (hk_drill_http_request(d->http, "GET", path, NULL, d->token, TRUE, &a, &why) != 0) {
    hk_step_fail(s, "%s", why);
    goto out;
  }
  if (a.status != 200) {
    hk_step_fail(s, "GET %s: HTTP %u (expected 200)", path, a.status);
    goto out;
  }
  if (g_ascii_strcasecmp(a.sha256, want) != 0) {
    hk_step_fail(s,
                 "document %s: the %" G_GUINT64_FORMAT
                 " bytes received hash to SHA-256 %.16s…, the archive says %.16s…",
                 d->doc_id, a.size, a.sha256, want);
    goto out;
  }
  if (!a.etag || g_ascii_strcasecmp(a.etag, want) != 0) {
    hk_step_fail(s, "document %s: ETag %s differs from the metadata's SHA-256 %s", d->doc_id,
                 a.etag ? a.etag : "(none)", want);
    goto out;
  }
  if (size >= 0 && (guint64)size != a.size) {
    hk_step_fail(
        s, "document %s: %" G_GUINT64_FORMAT " bytes received, the archive says %" G_GINT64_FORMAT,
        d->doc_id, a.size, size);
    goto out;
  }
  s->detail = g_strdup_printf("document %s: %" G_GUINT64_FORMAT " bytes, SHA-256 %.16s… matches "
                              "the metadata and the ETag",
                              d->doc_id, a.size, want);
  ok = TRUE;
out:
  hk_drill_answer_clear(&a);
  g_clear_object(&p);
  g_free(path);
  g_free(why);
  return ok;
}

/* 9. End the session, and check that its token is refused afterwards. */
static gboolean
hk_step_logout(HkDrill *d, HkDrillStep *s)
{
  HkDrillAnswer a = {0};
  char *why = NULL;
  gboolean ok = FALSE;

  if (hk_drill_http_request(d->http, "DELETE", "/api/v1/session", NULL, d->token, FALSE, &a,
                            &why) != 0) {
    hk_step_fail(s, "%s", why);
    goto out;
  }
  if (a.status != 204) {
    char *e = hk_http_error_text(&a);
    hk_step_fail(s, "DELETE /api/v1/session: %s (expected 204)", e);
    g_free(e);
    goto out;
  }
  hk_drill_answer_clear(&a);
  if (hk_drill_http_request(d->http, "GET", "/api/v1/status", NULL, d->token, FALSE, &a, &why) !=
      0) {
    hk_step_fail(s, "%s", why);
    goto out;
  }
  if (a.status != 401) {
    hk_step_fail(s, "after logout the token still answers HTTP %u (expected 401)", a.status);
    goto out;
  }
  s->detail = g_strdup("session ended; its token is refused afterwards (401)");
  ok = TRUE;
out:
  hk_drill_answer_clear(&a);
  g_free(why);
  return ok;
}

/* Run one step on the monotonic clock. */
static gboolean
hk_drill_run(HkDrill *d, HkDrillStep *s, HkDrillFn fn)
{
  gint64 t0 = g_get_monotonic_time();
  gboolean ok;

  g_clear_pointer(&s->reason, g_free);
  s->result = HK_DRILL_FAIL;
  s->reason = g_strdup("failed");
  ok = fn(d, s);
  s->ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
  d->rep.total_ms += s->ms;
  if (ok) {
    s->result = HK_DRILL_PASS;
    g_clear_pointer(&s->reason, g_free);
  }
  return ok;
}

static void
hk_drill_skip(HkDrillStep *s, const char *why)
{
  g_free(s->reason);
  s->reason = g_strdup_printf("not run: %s", why);
}

int
hk_admin_drill_main(int argc, char **argv)
{
  char *server = NULL, *user = NULL, *report_dir = NULL, *patient = NULL, *why = NULL;
  char *pdf = NULL, *json = NULL;
  gint max_age = HK_DRILL_MAX_AGE_MIN, timeout = HK_DRILL_TIMEOUT_S;
  HkDrill d = {0};
  GOptionEntry entries[] = {
      {"server", 0, 0, G_OPTION_ARG_STRING, &server, "The archive's URL (https://HOST:PORT)",
       "URL"},
      {"ca", 0, 0, G_OPTION_ARG_FILENAME, &d.ca, "The archive's CA certificate (the only trust)",
       "FILE"},
      {"user", 0, 0, G_OPTION_ARG_STRING, &user, "The drill's account (role viewer)", "NAME"},
      {"password-file", 0, 0, G_OPTION_ARG_FILENAME, &d.password_file,
       "File whose first line is the account's password", "FILE"},
      {"totp-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &d.totp_file,
       "File holding the account's Base32 TOTP secret, if it has one", "FILE"},
      {"report", 0, 0, G_OPTION_ARG_FILENAME, &report_dir,
       "Folder for the PDF and JSON report (default: the current folder)", "DIR"},
      {"patient", 0, 0, G_OPTION_ARG_STRING, &patient,
       "Patient to search for (default: the census's first inpatient)", "ID"},
      {"max-age", 0, 0, G_OPTION_ARG_INT, &max_age,
       "Fail when the archive is older than this (default 15)", "MINUTES"},
      {"timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
       "Give up on a connection or read after this (default 30)", "SECONDS"},
      {NULL},
  };
  HkDrillStep *health, *login, *fresh, *census, *pid, *kana, *timeline, *doc, *logout;
  const HkDrillStep *failed;
  int ret, status = 1;

  ret = hk_config_parse(HK_ADMIN_PROGRAM, "drill",
                        "Run a downtime drill against a live server; write a PDF and JSON "
                        "report.\nExit 0 only if every step passed.",
                        entries, &argc, &argv);
  if (ret < 0) {
    status = ret == -HK_EINVAL ? 2 : 1;
    goto out;
  }
  if (argc > 1) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "drill: unexpected argument \"%s\"", argv[1]);
    goto out;
  }
  if (!server || !d.ca || !user || !d.password_file) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "drill needs --server URL, --ca FILE, --user NAME "
                                              "and --password-file FILE");
    goto out;
  }
  if (max_age < 1 || max_age > 7 * 24 * 60) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "drill: --max-age must be 1 to 10080 minutes");
    goto out;
  }
  if (timeout < 1 || timeout > 600) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "drill: --timeout must be 1 to 600 seconds");
    goto out;
  }
  if (patient && !hk_drill_id_ok(patient)) {
    status = hk_usage_error(
        HK_ADMIN_PROGRAM, "drill: --patient must be 1-64 of A-Z a-z 0-9 - _ (got \"%s\")", patient);
    goto out;
  }
  if (!g_str_has_prefix(server, "https://")) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "drill: --server must be an https:// URL");
    goto out;
  }

  d.rep.server = g_strdup(server);
  d.rep.user = g_strdup(user);
  d.rep.max_age_min = max_age;
  d.rep.started_at = g_get_real_time();
  if (patient) {
    d.patient_id = g_strdup(patient);
    d.rep.patient_id = g_strdup(patient);
    d.rep.patient_source = g_strdup("--patient");
  }
  health = hk_drill_report_add(&d.rep, "health", "Health", "稼働確認");
  login = hk_drill_report_add(&d.rep, "login", "Login", "ログイン");
  fresh = hk_drill_report_add(&d.rep, "freshness", "Freshness", "鮮度");
  census = hk_drill_report_add(&d.rep, "census", "Census", "入院患者一覧");
  pid = hk_drill_report_add(&d.rep, "patient_id", "Search by ID", "患者検索（ID）");
  kana = hk_drill_report_add(&d.rep, "patient_kana", "Search by kana", "患者検索（カナ）");
  timeline = hk_drill_report_add(&d.rep, "timeline", "Timeline", "文書一覧");
  doc = hk_drill_report_add(&d.rep, "document", "Document + SHA-256", "文書取得・照合");
  logout = hk_drill_report_add(&d.rep, "logout", "Logout", "ログアウト");

  /* A CA file that cannot be loaded fails the first step, with a report:
   * an unattended drill must leave a FAIL on file, not only a log line. */
  health->result = HK_DRILL_FAIL;
  ret = hk_drill_http_new(server, d.ca, (guint)timeout, &d.http, &why);
  if (ret) {
    hk_step_fail(health, "%s", why);
    for (guint i = 1; i < d.rep.nsteps; i++)
      hk_drill_skip(&d.rep.steps[i], "health failed");
    goto report;
  }
  if (!hk_drill_run(&d, health, hk_step_health)) {
    for (guint i = 1; i < d.rep.nsteps; i++)
      hk_drill_skip(&d.rep.steps[i], "health failed");
    goto report;
  }
  if (!hk_drill_run(&d, login, hk_step_login)) {
    for (guint i = 2; i < d.rep.nsteps - 1; i++)
      hk_drill_skip(&d.rep.steps[i], "login failed");
    if (d.token)
      hk_drill_run(&d, logout, hk_step_logout);
    else
      hk_drill_skip(logout, "login failed");
    goto report;
  }
  hk_drill_run(&d, fresh, hk_step_freshness);
  hk_drill_run(&d, census, hk_step_census);
  if (!hk_drill_run(&d, pid, hk_step_patient_id)) {
    hk_drill_skip(kana, "patient search by ID failed");
    hk_drill_skip(timeline, "patient search by ID failed");
    hk_drill_skip(doc, "patient search by ID failed");
  } else {
    hk_drill_run(&d, kana, hk_step_patient_kana);
    if (!hk_drill_run(&d, timeline, hk_step_timeline))
      hk_drill_skip(doc, "timeline failed");
    else
      hk_drill_run(&d, doc, hk_step_document);
  }
  hk_drill_run(&d, logout, hk_step_logout);

report:
  failed = hk_drill_report_failed(&d.rep);
  printf("hikae drill of %s as %s\n", d.rep.server, d.rep.user);
  for (guint i = 0; i < d.rep.nsteps; i++) {
    const HkDrillStep *s = &d.rep.steps[i];
    printf("  %-13s %-7s %8.1f ms  %s\n", s->name, hk_drill_result_name(s->result), s->ms,
           s->result == HK_DRILL_PASS ? (s->detail ? s->detail : "") : s->reason);
  }
  printf("verdict: %s\n", failed ? "FAIL" : "PASS");
  g_clear_pointer(&why, g_free);
  ret = hk_drill_report_write(&d.rep, report_dir ? report_dir : ".", &pdf, &json, &why);
  if (ret) {
    fprintf(stderr, "%s: drill: %s\n", HK_ADMIN_PROGRAM, why);
  } else {
    printf("report: %s\n        %s\n", pdf, json);
  }
  if (failed)
    fprintf(stderr, "%s: drill: FAIL at step %s: %s\n", HK_ADMIN_PROGRAM, failed->name,
            failed->reason);
  status = failed || ret ? 1 : 0;
out:
  hk_drill_http_free(d.http);
  hk_drill_report_clear(&d.rep);
  hk_wipe(&d.token);
  g_free(d.role);
  g_free(d.patient_id);
  g_free(d.kana);
  g_free(d.doc_id);
  g_free(d.password_file);
  g_free(d.totp_file);
  g_free(d.ca);
  g_free(server);
  g_free(user);
  g_free(report_dir);
  g_free(patient);
  g_free(why);
  g_free(pdf);
  g_free(json);
  return status;
}

#include "hk-client.h"

#include "hk-build.h"
#include "hk-client-config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

G_DEFINE_QUARK(hk - client - error - quark, hk_client_error)

struct _HkClient {
  GObject parent_instance;

  /* Owned */
  SoupSession *session;
  char *base_url; /* without a trailing slash */
  char *token;    /* the bearer token; wiped on logout */
  char *user;
  char *role;
  GDateTime *expires_at;
  gint64 retry_after;
};

G_DEFINE_FINAL_TYPE(HkClient, hk_client, G_TYPE_OBJECT)

enum { SIGNAL_SESSION_EXPIRED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* Overwrite a secret before freeing it, so that a token or password does
 * not linger in freed heap memory that a later crash dump could hold. */
static void
wipe_string(char **s)
{
  if (*s) {
    explicit_bzero(*s, strlen(*s));
    g_clear_pointer(s, g_free);
  }
}

static void
clear_session_state(HkClient *self)
{
  wipe_string(&self->token);
  g_clear_pointer(&self->user, g_free);
  g_clear_pointer(&self->role, g_free);
  g_clear_pointer(&self->expires_at, g_date_time_unref);
}

static void
hk_client_finalize(GObject *object)
{
  HkClient *self = HK_CLIENT(object);

  clear_session_state(self);
  g_clear_object(&self->session);
  g_free(self->base_url);
  G_OBJECT_CLASS(hk_client_parent_class)->finalize(object);
}

static void
hk_client_class_init(HkClientClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = hk_client_finalize;
  signals[SIGNAL_SESSION_EXPIRED] =
      g_signal_new("session-expired", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   NULL, G_TYPE_NONE, 0);
}

static void
hk_client_init(HkClient *self)
{
  self->retry_after = -1;
}

HkClient *
hk_client_new(const char *base_url, const char *ca_file, GError **error)
{
  g_autoptr(HkClient) self = NULL;
  g_autoptr(GTlsDatabase) db = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *ua = NULL;
  g_autofree char *abs_ca = NULL;
  HkClient *res = NULL;

  uri = base_url ? g_uri_parse(base_url, G_URI_FLAGS_NONE, &local) : NULL;
  if (!uri || g_strcmp0(g_uri_get_scheme(uri), "https") != 0) {
    /* Plain HTTP would put tokens and patient data on the wire. */
    g_set_error(error, HK_CLIENT_ERROR, HK_CLIENT_ERROR_NETWORK,
                _("The server address must be an https:// URL (got “%s”)."),
                base_url ? base_url : "");
    goto out;
  }
  if (!ca_file || !*ca_file) {
    g_set_error_literal(error, HK_CLIENT_ERROR, HK_CLIENT_ERROR_CERTIFICATE,
                        _("No archive CA certificate was given (--ca FILE)."));
    goto out;
  }
  /* GTlsFileDatabase wants an absolute path; --ca ca.pem is natural. */
  abs_ca = g_canonicalize_filename(ca_file, NULL);
  db = g_tls_file_database_new(abs_ca, &local);
  if (!db) {
    g_set_error(error, HK_CLIENT_ERROR, HK_CLIENT_ERROR_CERTIFICATE,
                _("Cannot load the archive CA certificate %s: %s"), ca_file, local->message);
    goto out;
  }
  self = g_object_new(HK_TYPE_CLIENT, NULL);
  self->base_url = g_strdup(base_url);
  while (g_str_has_suffix(self->base_url, "/"))
    self->base_url[strlen(self->base_url) - 1] = '\0';
  ua = g_strdup_printf("hikae-viewer/%s", HK_VERSION);
  /* Only the archive CA: tls-database replaces the system trust store.
   * No SoupCache, no SoupCookieJar: nothing reaches the disk. */
  self->session = soup_session_new_with_options("tls-database", db, "timeout", 60, "idle-timeout",
                                                60, "user-agent", ua, NULL);
  res = g_steal_pointer(&self);
out:
  return res;
}

const char *
hk_client_get_base_url(HkClient *self)
{
  return self->base_url;
}

const char *
hk_client_get_user(HkClient *self)
{
  return self->user;
}

const char *
hk_client_get_role(HkClient *self)
{
  return self->role;
}

gboolean
hk_client_is_logged_in(HkClient *self)
{
  return self->token != NULL;
}

gint64
hk_client_get_retry_after(HkClient *self)
{
  return self->retry_after;
}

GDateTime *
hk_client_get_expires_at(HkClient *self)
{
  return self->expires_at;
}

/* ---- one request ---------------------------------------------------- */

typedef struct {
  SoupMessage *msg;
  gboolean session_route; /* 401 means bad credentials, not expiry */
} Request;

static void
request_free(Request *r)
{
  g_clear_object(&r->msg);
  g_free(r);
}

typedef struct {
  GBytes *body;
  char *content_type;
} Answer;

static void
answer_free(Answer *a)
{
  if (a->body)
    g_bytes_unref(a->body);
  g_free(a->content_type);
  g_free(a);
}

/* Turn a transport error into what the user must be told. */
static void
set_transport_error(GError **error, const GError *e, SoupMessage *msg)
{
  GTlsCertificateFlags flags = soup_message_get_tls_peer_certificate_errors(msg);

  if (e->domain == G_TLS_ERROR || flags != 0) {
    const char *why = _("it is not signed by the archive CA");
    if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
      why = _("it was issued for another host name");
    else if (flags & G_TLS_CERTIFICATE_EXPIRED)
      why = _("it has expired");
    else if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
      why = _("it is not valid yet (check this laptop's clock)");
    else if (flags & G_TLS_CERTIFICATE_REVOKED)
      why = _("it has been revoked");
    g_set_error(error, HK_CLIENT_ERROR, HK_CLIENT_ERROR_CERTIFICATE,
                _("The server's certificate is not trusted: %s. This may not be the "
                  "archive server. Do not continue; call the information-systems team."),
                why);
  } else {
    g_set_error(error, HK_CLIENT_ERROR, HK_CLIENT_ERROR_NETWORK,
                _("Cannot reach the archive server: %s"), e->message);
  }
}

static void
request_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HkClient *self = g_task_get_source_object(task);
  Request *r = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;
  gint64 retry = -1;
  const char *data = NULL;
  gsize len = 0;
  guint status;

  body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &e);
  if (!body) {
    if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_task_return_error(task, g_steal_pointer(&e));
    } else {
      GError *out = NULL;
      set_transport_error(&out, e, r->msg);
      g_task_return_error(task, out);
    }
    goto out;
  }
  status = soup_message_get_status(r->msg);
  if (status >= 200 && status < 300) {
    Answer *a = g_new0(Answer, 1);
    const char *ct =
        soup_message_headers_get_content_type(soup_message_get_response_headers(r->msg), NULL);
    a->body = g_steal_pointer(&body);
    a->content_type = g_strdup(ct);
    g_task_return_pointer(task, a, (GDestroyNotify)answer_free);
    goto out;
  }
  data = g_bytes_get_data(body, &len);
  hk_api_parse_error(data, (gssize)len, &code, &message, &retry);
  if (status == 401 && r->session_route) {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_CREDENTIALS, "%s",
                            g_strcmp0(code, "otp_required") == 0
                                ? _("This user needs a one-time code (TOTP).")
                                : _("Wrong user name, password or one-time code."));
  } else if (status == 401) {
    gboolean was_in = self->token != NULL;
    clear_session_state(self);
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_EXPIRED, "%s",
                            _("Your session has expired. Please log in again."));
    if (was_in)
      g_signal_emit(self, signals[SIGNAL_SESSION_EXPIRED], 0);
  } else if (status == 429) {
    if (retry < 0) {
      const char *h =
          soup_message_headers_get_one(soup_message_get_response_headers(r->msg), "Retry-After");
      retry = h ? g_ascii_strtoll(h, NULL, 10) : -1;
    }
    self->retry_after = retry;
    if (retry >= 0)
      g_task_return_new_error(
          task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_LOCKED,
          _("This user name is locked after too many failed logins. Try again in %d min %d s."),
          (int)(retry / 60), (int)(retry % 60));
    else
      g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_LOCKED, "%s",
                              _("This user name is locked after too many failed logins."));
  } else if (status == 403) {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_FORBIDDEN, "%s",
                            _("Your role may not do this."));
  } else if (status == 404) {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_NOT_FOUND, "%s",
                            message ? message : _("Not found."));
  } else {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_SERVER,
                            _("The server answered %u: %s"), status,
                            message ? message : (code ? code : _("no details")));
  }
out:
  return;
}

/* Send method path_query (already escaped) with an optional JSON body. */
static void
request_async(HkClient *self, const char *method, const char *path_query, GBytes *json_body,
              gboolean session_route, GCancellable *cancellable, GAsyncReadyCallback callback,
              gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
  g_autofree char *url = g_strconcat(self->base_url, path_query, NULL);
  Request *r = g_new0(Request, 1);

  g_task_set_source_tag(task, request_async);
  g_task_set_task_data(task, r, (GDestroyNotify)request_free);
  r->session_route = session_route;
  if (!session_route && !self->token) {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_NOT_LOGGED_IN, "%s",
                            _("Not logged in."));
    goto out;
  }
  r->msg = soup_message_new(method, url);
  if (!r->msg) {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_NETWORK,
                            _("Bad server address: %s"), url);
    goto out;
  }
  if (self->token) {
    g_autofree char *auth = g_strconcat("Bearer ", self->token, NULL);
    soup_message_headers_replace(soup_message_get_request_headers(r->msg), "Authorization", auth);
    explicit_bzero(auth, strlen(auth));
  }
  soup_message_headers_replace(soup_message_get_request_headers(r->msg), "Accept",
                               "application/json, */*");
  if (json_body)
    soup_message_set_request_body_from_bytes(r->msg, "application/json", json_body);
  soup_session_send_and_read_async(self->session, r->msg, G_PRIORITY_DEFAULT, cancellable,
                                   request_done, g_steal_pointer(&task));
out:
  return;
}

static Answer *
request_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

static GBytes *
json_bytes(JsonBuilder *b)
{
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  gsize len = 0;
  char *text;

  json_generator_set_root(gen, root);
  text = json_generator_to_data(gen, &len);
  return g_bytes_new_take(text, len);
}

static void
set_protocol_error(GError **error, GError *e)
{
  g_set_error(error, HK_CLIENT_ERROR, HK_CLIENT_ERROR_PROTOCOL,
              _("The server's answer does not follow the API: %s"), e->message);
}

/* ---- login / logout ------------------------------------------------- */

static void
login_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  HkClient *self = HK_CLIENT(source);
  g_autoptr(GError) e = NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  Answer *a = request_finish(self, result, &e);
  JsonObject *o = NULL;
  const char *token = NULL;
  gsize len = 0;
  const char *data;

  if (!a) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  data = g_bytes_get_data(a->body, &len);
  if (json_parser_load_from_data(parser, data, (gssize)len, &e) &&
      JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    o = json_node_get_object(json_parser_get_root(parser));
    token = json_object_get_string_member_with_default(o, "token", NULL);
  }
  if (!token || !*token) {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_PROTOCOL, "%s",
                            _("The server's login answer has no token."));
    goto out;
  }
  clear_session_state(self);
  self->token = g_strdup(token);
  self->user =
      g_strdup(json_object_get_string_member_with_default(o, "user", g_task_get_task_data(task)));
  self->role = g_strdup(json_object_get_string_member_with_default(o, "role", "viewer"));
  {
    const char *exp = json_object_get_string_member_with_default(o, "expires_at", NULL);
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    self->expires_at = exp ? g_date_time_new_from_iso8601(exp, utc) : NULL;
  }
  self->retry_after = -1;
  g_task_return_boolean(task, TRUE);
out:
  if (a) {
    /* The answer held the token: wipe our copy of it. */
    gsize n = 0;
    char *d = (char *)g_bytes_get_data(a->body, &n);
    if (d && n)
      explicit_bzero(d, n);
    answer_free(a);
  }
}

void
hk_client_login_async(HkClient *self, const char *user, const char *password, const char *otp,
                      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autoptr(GBytes) body = NULL;

  g_task_set_source_tag(task, hk_client_login_async);
  g_task_set_task_data(task, g_strdup(user), g_free);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "user");
  json_builder_add_string_value(b, user ? user : "");
  json_builder_set_member_name(b, "password");
  json_builder_add_string_value(b, password ? password : "");
  if (otp && *otp) {
    json_builder_set_member_name(b, "otp");
    json_builder_add_string_value(b, otp);
  }
  json_builder_end_object(b);
  body = json_bytes(b);
  request_async(self, "POST", "/api/v1/session", body, TRUE, cancellable, login_done, task);
}

gboolean
hk_client_login_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean(G_TASK(result), error);
}

static void
logout_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Answer *a = request_finish(HK_CLIENT(source), result, NULL);

  if (a)
    answer_free(a);
}

void
hk_client_logout(HkClient *self)
{
  if (self->token) {
    /* The request copies the token into its header now, so the local copy
     * can be wiped at once; the server ends the session when it arrives. */
    request_async(self, "DELETE", "/api/v1/session", NULL, FALSE, NULL, logout_done, NULL);
  }
  clear_session_state(self);
}

/* ---- simple GETs parsed into records -------------------------------- */

typedef gpointer (*ParseFunc)(const char *body, gssize len, GError **error);

typedef struct {
  ParseFunc parse;
  GDestroyNotify free_func;
} GetJob;

static void
get_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GetJob *job = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  Answer *a = request_finish(HK_CLIENT(source), result, &e);
  gpointer rec = NULL;
  gsize len = 0;
  const char *data;

  if (!a) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  data = g_bytes_get_data(a->body, &len);
  rec = job->parse(data, (gssize)len, &e);
  if (!rec) {
    GError *pe = NULL;
    set_protocol_error(&pe, e);
    g_task_return_error(task, pe);
    goto out;
  }
  g_task_return_pointer(task, rec, job->free_func);
out:
  if (a)
    answer_free(a);
}

static void
get_async(HkClient *self, const char *path_query, ParseFunc parse, GDestroyNotify free_func,
          gpointer tag, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  GetJob *job = g_new0(GetJob, 1);

  job->parse = parse;
  job->free_func = free_func;
  g_task_set_source_tag(task, tag);
  g_task_set_task_data(task, job, g_free);
  request_async(self, "GET", path_query, NULL, FALSE, cancellable, get_done, task);
}

static gpointer
get_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

void
hk_client_status_async(HkClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  get_async(self, "/api/v1/status", (ParseFunc)hk_api_parse_status,
            (GDestroyNotify)hk_status_info_free, hk_client_status_async, cancellable, callback,
            user_data);
}

HkStatusInfo *
hk_client_status_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return get_finish(self, result, error);
}

void
hk_client_search_async(HkClient *self, const char *q, guint limit, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree char *eq = g_uri_escape_string(q ? q : "", NULL, FALSE);
  g_autofree char *path = g_strdup_printf("/api/v1/patients?q=%s&limit=%u", eq, limit ? limit : 50);

  get_async(self, path, (ParseFunc)hk_api_parse_patients, (GDestroyNotify)g_ptr_array_unref,
            hk_client_search_async, cancellable, callback, user_data);
}

GPtrArray *
hk_client_search_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return get_finish(self, result, error);
}

void
hk_client_text_search_async(HkClient *self, const char *q, guint limit, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree char *eq = g_uri_escape_string(q ? q : "", NULL, FALSE);
  g_autofree char *path = g_strdup_printf("/api/v1/search?q=%s&limit=%u", eq, limit ? limit : 50);

  get_async(self, path, (ParseFunc)hk_api_parse_text_search, (GDestroyNotify)hk_text_search_free,
            hk_client_text_search_async, cancellable, callback, user_data);
}

HkTextSearch *
hk_client_text_search_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return get_finish(self, result, error);
}

void
hk_client_patient_async(HkClient *self, const char *id, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree char *eid = g_uri_escape_string(id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf("/api/v1/patients/%s", eid);

  get_async(self, path, (ParseFunc)hk_api_parse_patient, (GDestroyNotify)hk_patient_info_free,
            hk_client_patient_async, cancellable, callback, user_data);
}

HkPatientInfo *
hk_client_patient_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return get_finish(self, result, error);
}

void
hk_client_document_async(HkClient *self, const char *doc_id, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree char *eid = g_uri_escape_string(doc_id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf("/api/v1/documents/%s", eid);

  get_async(self, path, (ParseFunc)hk_api_parse_document, (GDestroyNotify)hk_doc_info_free,
            hk_client_document_async, cancellable, callback, user_data);
}

void
hk_client_document_under_async(HkClient *self, const char *doc_id, const char *patient_id,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autofree char *eid = g_uri_escape_string(doc_id, NULL, FALSE);
  g_autofree char *epid = patient_id ? g_uri_escape_string(patient_id, NULL, FALSE) : NULL;
  g_autofree char *path = epid ? g_strdup_printf("/api/v1/documents/%s?patient=%s", eid, epid)
                               : g_strdup_printf("/api/v1/documents/%s", eid);

  /* Same source tag as hk_client_document_async: one finish for both. */
  get_async(self, path, (ParseFunc)hk_api_parse_document, (GDestroyNotify)hk_doc_info_free,
            hk_client_document_async, cancellable, callback, user_data);
}

HkDocInfo *
hk_client_document_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return get_finish(self, result, error);
}

void
hk_client_census_async(HkClient *self, const char *ward, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree char *ew = ward ? g_uri_escape_string(ward, NULL, FALSE) : NULL;
  g_autofree char *path =
      ew ? g_strdup_printf("/api/v1/census?ward=%s", ew) : g_strdup("/api/v1/census");

  get_async(self, path, (ParseFunc)hk_api_parse_census, (GDestroyNotify)g_ptr_array_unref,
            hk_client_census_async, cancellable, callback, user_data);
}

GPtrArray *
hk_client_census_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return get_finish(self, result, error);
}

/* ---- documents: follow the cursor ----------------------------------- */

typedef struct {
  char *base_path; /* /api/v1/patients/{id}/documents?...& */
  GPtrArray *docs;
  guint max_docs;
  gboolean more;     /* stopped at max_docs while the server had more */
  gint64 unsearched; /* with q: the first page's "unsearched" */
} DocsJob;

static void
docs_job_free(DocsJob *j)
{
  g_free(j->base_path);
  g_clear_pointer(&j->docs, g_ptr_array_unref);
  g_free(j);
}

static void docs_fetch(GTask *task, const char *cursor);

static void
docs_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  DocsJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autofree char *next = NULL;
  Answer *a = request_finish(HK_CLIENT(source), result, &e);
  gsize len = 0;
  const char *data;
  gint64 unsearched = 0;

  if (!a) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  data = g_bytes_get_data(a->body, &len);
  page = hk_api_parse_documents(data, (gssize)len, &next, &unsearched, &e);
  if (!page) {
    GError *pe = NULL;
    set_protocol_error(&pe, e);
    g_task_return_error(task, pe);
    goto out;
  }
  /* The count can only grow while the pages are fetched; the largest seen
   * is the one to warn with. */
  j->unsearched = MAX(j->unsearched, unsearched);
  for (guint i = 0; i < page->len; i++)
    g_ptr_array_add(j->docs, g_steal_pointer(&g_ptr_array_index(page, i)));
  g_ptr_array_set_free_func(page, NULL);
  if (next && page->len > 0 && j->docs->len < j->max_docs) {
    docs_fetch(g_steal_pointer(&task), next);
    goto out;
  }
  j->more = next && page->len > 0;
  g_task_return_pointer(task, g_steal_pointer(&j->docs), (GDestroyNotify)g_ptr_array_unref);
out:
  if (a)
    answer_free(a);
}

static void
docs_fetch(GTask *task, const char *cursor)
{
  DocsJob *j = g_task_get_task_data(task);
  g_autofree char *ec = cursor ? g_uri_escape_string(cursor, NULL, FALSE) : NULL;
  g_autofree char *path =
      g_strdup_printf("%slimit=%u%s%s", j->base_path, MIN(j->max_docs - j->docs->len, 200u),
                      ec ? "&cursor=" : "", ec ? ec : "");

  request_async(g_task_get_source_object(task), "GET", path, NULL, FALSE,
                g_task_get_cancellable(task), docs_done, task);
}

void
hk_client_documents_async(HkClient *self, const char *patient_id, const char *type,
                          const char *from, const char *to, const char *q, guint max_docs,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  DocsJob *j = g_new0(DocsJob, 1);
  g_autofree char *eid = g_uri_escape_string(patient_id, NULL, FALSE);
  GString *p = g_string_new(NULL);

  g_string_append_printf(p, "/api/v1/patients/%s/documents?", eid);
  if (type && *type) {
    g_autofree char *v = g_uri_escape_string(type, NULL, FALSE);
    g_string_append_printf(p, "type=%s&", v);
  }
  if (from && *from) {
    g_autofree char *v = g_uri_escape_string(from, NULL, FALSE);
    g_string_append_printf(p, "from=%s&", v);
  }
  if (to && *to) {
    g_autofree char *v = g_uri_escape_string(to, NULL, FALSE);
    g_string_append_printf(p, "to=%s&", v);
  }
  if (q && *q) {
    g_autofree char *v = g_uri_escape_string(q, NULL, FALSE);
    g_string_append_printf(p, "q=%s&", v);
  }
  j->base_path = g_string_free(p, FALSE);
  j->docs = g_ptr_array_new_with_free_func((GDestroyNotify)hk_doc_info_free);
  j->max_docs = max_docs ? max_docs : 2000;
  g_task_set_source_tag(task, hk_client_documents_async);
  g_task_set_task_data(task, j, (GDestroyNotify)docs_job_free);
  docs_fetch(task, NULL);
}

GPtrArray *
hk_client_documents_finish(HkClient *self, GAsyncResult *result, gboolean *more, gint64 *unsearched,
                           GError **error)
{
  DocsJob *j = g_task_get_task_data(G_TASK(result));

  if (more)
    *more = j && j->more;
  if (unsearched)
    *unsearched = j ? j->unsearched : 0;
  return get_finish(self, result, error);
}

/* ---- bytes ---------------------------------------------------------- */

typedef struct {
  GBytes *bytes;
  char *content_type;
} Content;

static void
content_free(Content *c)
{
  if (c->bytes)
    g_bytes_unref(c->bytes);
  g_free(c->content_type);
  g_free(c);
}

static void
bytes_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) e = NULL;
  Answer *a = request_finish(HK_CLIENT(source), result, &e);
  Content *c;

  if (!a) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  c = g_new0(Content, 1);
  c->bytes = g_steal_pointer(&a->body);
  c->content_type = g_steal_pointer(&a->content_type);
  g_task_return_pointer(task, c, (GDestroyNotify)content_free);
  answer_free(a);
out:
  return;
}

void
hk_client_content_async(HkClient *self, const char *doc_id, guint version,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_autofree char *eid = g_uri_escape_string(doc_id, NULL, FALSE);
  g_autofree char *path =
      version ? g_strdup_printf("/api/v1/documents/%s/content?version=%u", eid, version)
              : g_strdup_printf("/api/v1/documents/%s/content", eid);

  g_task_set_source_tag(task, hk_client_content_async);
  request_async(self, "GET", path, NULL, FALSE, cancellable, bytes_done, task);
}

GBytes *
hk_client_content_finish(HkClient *self, GAsyncResult *result, char **content_type, GError **error)
{
  Content *c = g_task_propagate_pointer(G_TASK(result), error);
  GBytes *res = NULL;

  if (content_type)
    *content_type = NULL;
  if (c) {
    res = g_steal_pointer(&c->bytes);
    if (content_type)
      *content_type = g_steal_pointer(&c->content_type);
    content_free(c);
  }
  return res;
}

void
hk_client_highlights_async(HkClient *self, const char *doc_id, guint version, guint page,
                           const char *q, GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autofree char *eid = g_uri_escape_string(doc_id, NULL, FALSE);
  g_autofree char *eq = g_uri_escape_string(q ? q : "", NULL, FALSE);
  g_autofree char *path =
      version ? g_strdup_printf("/api/v1/documents/%s/highlights?page=%u&version=%u&q=%s", eid,
                                page, version, eq)
              : g_strdup_printf("/api/v1/documents/%s/highlights?page=%u&q=%s", eid, page, eq);

  get_async(self, path, (ParseFunc)hk_api_parse_highlights, (GDestroyNotify)g_array_unref,
            hk_client_highlights_async, cancellable, callback, user_data);
}

GArray *
hk_client_highlights_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return get_finish(self, result, error);
}

void
hk_client_thumbnail_async(HkClient *self, const char *doc_id, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_autofree char *eid = g_uri_escape_string(doc_id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf("/api/v1/documents/%s/thumbnail", eid);

  g_task_set_source_tag(task, hk_client_thumbnail_async);
  request_async(self, "GET", path, NULL, FALSE, cancellable, bytes_done, task);
}

GBytes *
hk_client_thumbnail_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return hk_client_content_finish(self, result, NULL, error);
}

/* ---- print events --------------------------------------------------- */

static void
print_event_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) e = NULL;
  Answer *a = request_finish(HK_CLIENT(source), result, &e);

  if (a) {
    answer_free(a);
    g_task_return_boolean(task, TRUE);
  } else {
    g_task_return_error(task, g_steal_pointer(&e));
  }
}

void
hk_client_print_event_async(HkClient *self, const char *patient_id, const char *const *doc_ids,
                            const char *purpose, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autoptr(GBytes) body = NULL;

  g_task_set_source_tag(task, hk_client_print_event_async);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "patient_id");
  json_builder_add_string_value(b, patient_id);
  json_builder_set_member_name(b, "doc_ids");
  json_builder_begin_array(b);
  for (gsize i = 0; doc_ids && doc_ids[i]; i++)
    json_builder_add_string_value(b, doc_ids[i]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "purpose");
  json_builder_add_string_value(b, purpose ? purpose : "print");
  json_builder_end_object(b);
  body = json_bytes(b);
  request_async(self, "POST", "/api/v1/print-events", body, FALSE, cancellable, print_event_done,
                task);
}

gboolean
hk_client_print_event_finish(HkClient *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean(G_TASK(result), error);
}

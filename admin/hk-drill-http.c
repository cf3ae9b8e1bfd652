/* hk-drill-http.c: a small synchronous HTTPS client over libsoup 3 for the
 * drill (see hk-drill-http.h for what it trusts and why). */
#include "hk-drill-http.h"

#include "hk-build.h"
#include "hk-error.h"

#include <libsoup/soup.h>
#include <string.h>

#define HK_DRILL_BODY_MAX (16u << 20)
#define HK_DRILL_CHUNK (64u << 10)

struct HkDrillHttp {
  SoupSession *session;
  char *base_url;
};

int
hk_drill_http_new(const char *base_url, const char *ca_file, guint timeout_s, HkDrillHttp **out,
                  char **reason)
{
  GUri *uri = NULL;
  GTlsDatabase *db = NULL;
  GError *err = NULL;
  char *abs_ca = NULL, *ua = NULL;
  HkDrillHttp *h = NULL;
  int ret = -HK_EINVAL;

  *out = NULL;
  uri = g_uri_parse(base_url, G_URI_FLAGS_NONE, NULL);
  /* Plain HTTP would put the password and patient data on the wire. */
  if (!uri || g_strcmp0(g_uri_get_scheme(uri), "https") != 0 || !g_uri_get_host(uri) ||
      !*g_uri_get_host(uri)) {
    *reason = g_strdup_printf("--server must be an https:// URL (got \"%s\")", base_url);
    goto out;
  }
  /* GTlsFileDatabase wants an absolute path. */
  abs_ca = g_canonicalize_filename(ca_file, NULL);
  db = g_tls_file_database_new(abs_ca, &err);
  if (!db) {
    *reason = g_strdup_printf("TLS: cannot load the CA file %s: %s", ca_file, err->message);
    ret = -HK_ECRYPTO;
    goto out;
  }
  h = g_new0(HkDrillHttp, 1);
  h->base_url = g_strdup(base_url);
  while (g_str_has_suffix(h->base_url, "/"))
    h->base_url[strlen(h->base_url) - 1] = '\0';
  ua = g_strdup_printf("hikae-admin-drill/%s", HK_VERSION);
  /* tls-database replaces the system store: only the archive's CA. */
  h->session = soup_session_new_with_options("tls-database", db, "timeout", timeout_s,
                                             "idle-timeout", timeout_s, "user-agent", ua, NULL);
  /* No proxy from the environment: the drill tests the direct path. */
  soup_session_set_proxy_resolver(h->session, NULL);
  *out = g_steal_pointer(&h);
  ret = 0;
out:
  if (uri)
    g_uri_unref(uri);
  g_clear_object(&db);
  g_clear_error(&err);
  g_free(abs_ca);
  g_free(ua);
  return ret;
}

void
hk_drill_http_free(HkDrillHttp *h)
{
  if (h) {
    g_clear_object(&h->session);
    g_free(h->base_url);
    g_free(h);
  }
}

char *
hk_drill_http_url(HkDrillHttp *h, const char *path)
{
  return g_strconcat(h->base_url, path, NULL);
}

void
hk_drill_answer_clear(HkDrillAnswer *ans)
{
  g_clear_pointer(&ans->body, g_bytes_unref);
  g_clear_pointer(&ans->etag, g_free);
  g_clear_pointer(&ans->sha256, g_free);
  g_clear_pointer(&ans->content_type, g_free);
  ans->status = 0;
  ans->size = 0;
}

/* Why the certificate was refused, in words an operator can act on. */
static char *
hk_tls_errors_text(GTlsCertificateFlags f)
{
  GString *s = g_string_new(NULL);

  if (f & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_string_append(s, ", not signed by the --ca certificate");
  if (f & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_string_append(s, ", its names do not match the server's host name");
  if (f & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    g_string_append(s, ", not valid yet");
  if (f & G_TLS_CERTIFICATE_EXPIRED)
    g_string_append(s, ", expired");
  if (f & G_TLS_CERTIFICATE_REVOKED)
    g_string_append(s, ", revoked");
  if (f & G_TLS_CERTIFICATE_INSECURE)
    g_string_append(s, ", insecure algorithm");
  if (f & G_TLS_CERTIFICATE_GENERIC_ERROR)
    g_string_append(s, ", unusable");
  if (s->len == 0)
    g_string_append(s, ", refused");
  return g_string_free(s, FALSE);
}

/* accept-certificate: never accept what the CA file did not; remember why
 * the certificate failed so that the reason can name it. */
static gboolean
hk_on_accept_certificate(SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors,
                         gpointer data)
{
  *(GTlsCertificateFlags *)data = errors;
  return FALSE;
}

static char *
hk_transport_reason(const GError *err, GTlsCertificateFlags tls_flags, const char *url, int *ret)
{
  char *why = NULL, *res;

  if (tls_flags || err->domain == G_TLS_ERROR) {
    *ret = -HK_ECRYPTO;
    if (tls_flags) {
      why = hk_tls_errors_text(tls_flags);
      res = g_strdup_printf("TLS: the server's certificate was refused%s (%s)", why, err->message);
    } else {
      res = g_strdup_printf("TLS: handshake with %s failed: %s", url, err->message);
    }
  } else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
    *ret = -HK_ETIMEOUT;
    res = g_strdup_printf("timeout: %s: %s", url, err->message);
  } else {
    *ret = -HK_EIO;
    res = g_strdup_printf("connect: %s: %s", url, err->message);
  }
  g_free(why);
  return res;
}

int
hk_drill_http_request(HkDrillHttp *h, const char *method, const char *path, const char *json_body,
                      const char *token, gboolean hash, HkDrillAnswer *ans, char **reason)
{
  char *url = hk_drill_http_url(h, path), *auth = NULL;
  SoupMessage *msg = NULL;
  GInputStream *in = NULL;
  GByteArray *buf = NULL;
  GChecksum *sum = NULL;
  GError *err = NULL;
  GTlsCertificateFlags tls_flags = 0;
  guint8 *chunk = NULL;
  const char *v;
  int ret = -HK_EIO;

  memset(ans, 0, sizeof *ans);
  msg = soup_message_new(method, url);
  if (!msg) {
    *reason = g_strdup_printf("request: not a valid URL: %s", url);
    ret = -HK_EINVAL;
    goto out;
  }
  g_signal_connect(msg, "accept-certificate", G_CALLBACK(hk_on_accept_certificate), &tls_flags);
  if (token) {
    auth = g_strconcat("Bearer ", token, NULL);
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", auth);
  }
  if (json_body) {
    GBytes *b = g_bytes_new(json_body, strlen(json_body));
    soup_message_set_request_body_from_bytes(msg, "application/json", b);
    g_bytes_unref(b);
  }
  in = soup_session_send(h->session, msg, NULL, &err);
  if (!in) {
    /* The query may hold what was searched for (a kana): not in a reason. */
    char *bare = g_strndup(url, strcspn(url, "?"));
    *reason = hk_transport_reason(err, tls_flags, bare, &ret);
    g_free(bare);
    goto out;
  }
  ans->status = soup_message_get_status(msg);
  v = soup_message_headers_get_one(soup_message_get_response_headers(msg), "ETag");
  if (v) {
    /* RFC 9110 quotes an ETag; the hash is what is inside. */
    size_t n = strlen(v);
    ans->etag = n >= 2 && v[0] == '"' && v[n - 1] == '"' ? g_strndup(v + 1, n - 2) : g_strdup(v);
  }
  v = soup_message_headers_get_content_type(soup_message_get_response_headers(msg), NULL);
  ans->content_type = g_strdup(v);
  chunk = g_malloc(HK_DRILL_CHUNK);
  if (hash)
    sum = g_checksum_new(G_CHECKSUM_SHA256);
  else
    buf = g_byte_array_new();
  for (;;) {
    gssize n = g_input_stream_read(in, chunk, HK_DRILL_CHUNK, NULL, &err);
    if (n < 0) {
      *reason = g_strdup_printf("read: %.*s: %s", (int)strcspn(url, "?"), url, err->message);
      ret = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ? -HK_ETIMEOUT : -HK_EIO;
      goto out;
    }
    if (n == 0)
      break;
    ans->size += (guint64)n;
    if (sum) {
      g_checksum_update(sum, chunk, (gsize)n);
    } else if (ans->size > HK_DRILL_BODY_MAX) {
      *reason = g_strdup_printf("read: %.*s: answer over %u MiB", (int)strcspn(url, "?"), url,
                                HK_DRILL_BODY_MAX >> 20);
      ret = -HK_ETOOBIG;
      goto out;
    } else {
      g_byte_array_append(buf, chunk, (guint)n);
    }
  }
  if (sum)
    ans->sha256 = g_strdup(g_checksum_get_string(sum));
  else
    ans->body = g_byte_array_free_to_bytes(g_steal_pointer(&buf));
  ret = 0;
out:
  if (ret)
    hk_drill_answer_clear(ans);
  if (in) {
    g_input_stream_close(in, NULL, NULL);
    g_object_unref(in);
  }
  if (auth) {
    /* The bearer token must not linger in freed memory. */
    explicit_bzero(auth, strlen(auth));
    g_free(auth);
  }
  if (buf)
    g_byte_array_unref(buf);
  if (sum)
    g_checksum_free(sum);
  g_clear_object(&msg);
  g_clear_error(&err);
  g_free(chunk);
  g_free(url);
  return ret;
}

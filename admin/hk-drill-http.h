/* hk-drill-http.h: the HTTPS client of hikae-admin drill.
 *
 * libsoup 3 with a GTlsDatabase made from the --ca file only: the system
 * trust store is never consulted, the server's name is checked against the
 * URL's host, and no proxy is used (a drill tests the direct path staff
 * use). No cache, no cookies. Nothing here links GTK: hikae-admin runs on
 * the archive host. */
#pragma once

#include <glib.h>

typedef struct HkDrillHttp HkDrillHttp;

/* One answer. body is NULL when the request was made with a hash sink. */
typedef struct {
  guint status;
  GBytes *body;
  char *etag;         /* the ETag header without its quotes; may be NULL */
  char *sha256;       /* with a hash sink: SHA-256 (hex) of the bytes read */
  guint64 size;       /* bytes of the body read */
  char *content_type; /* may be NULL */
} HkDrillAnswer;

/* A client for base_url (must be https://...; trailing slashes dropped)
 * that trusts only the certificates in ca_file. timeout_s bounds each
 * connect, TLS handshake and read.
 * \return 0; -HK_EINVAL with *reason set (g_free) for a URL that is not
 * https or a CA file that cannot be loaded. */
int hk_drill_http_new(const char *base_url, const char *ca_file, guint timeout_s, HkDrillHttp **out,
                      char **reason);
void hk_drill_http_free(HkDrillHttp *h);

/* The full URL of path (g_free). */
char *hk_drill_http_url(HkDrillHttp *h, const char *path);

/* Send method path (path starts with "/", query already escaped) with an
 * optional JSON body and bearer token. With hash set, the body is streamed
 * through SHA-256 instead of kept (a document of any size costs 64 KiB);
 * otherwise at most 16 MiB of body are kept.
 * \return 0 when an HTTP answer arrived (any status; *ans filled, free it
 * with hk_drill_answer_clear); -HK_EIO, -HK_ETIMEOUT or -HK_ECRYPTO (TLS)
 * with *reason saying what failed ("connect: ...", "TLS: ..."). */
int hk_drill_http_request(HkDrillHttp *h, const char *method, const char *path,
                          const char *json_body, const char *token, gboolean hash,
                          HkDrillAnswer *ans, char **reason);

void hk_drill_answer_clear(HkDrillAnswer *ans);

/* Replies and request helpers shared by the routes. */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-time.h"

#include <event2/buffer.h>
#include <string.h>
#include <time.h>

static void
hk_reply_common_headers(HkRequest *r)
{
  struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

  /* Patient data must not land in any cache on the clean laptop. */
  evhttp_add_header(h, "Cache-Control", "no-store");
  evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
  evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
  if (g_atomic_int_get(&r->srv->stopping))
    evhttp_add_header(h, "Connection", "close");
}

void
hk_reply_header(HkRequest *r, const char *name, const char *value)
{
  evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

void
hk_reply_bytes(HkRequest *r, int status, const char *content_type, struct evbuffer *body)
{
  g_return_if_fail(!r->replied);
  r->replied = true;
  hk_reply_common_headers(r);
  if (content_type)
    hk_reply_header(r, "Content-Type", content_type);
  hk_worker_send(r->req, status, body, r->audit_end);
}

void
hk_reply_blob(HkRequest *r, int status, const char *content_type, const char *sha, uint64_t first,
              uint64_t len)
{
  g_return_if_fail(!r->replied);
  r->replied = true;
  hk_reply_common_headers(r);
  if (content_type)
    hk_reply_header(r, "Content-Type", content_type);
  hk_worker_send_blob(r->req, status, r->srv->store, sha, first, len, r->audit_end);
}

void
hk_reply_json(HkRequest *r, int status, JsonNode *node)
{
  struct evbuffer *buf = evbuffer_new();
  gsize len = 0;
  char *s = json_to_string(node, FALSE);

  len = strlen(s);
  evbuffer_add(buf, s, len);
  evbuffer_add(buf, "\n", 1);
  hk_reply_bytes(r, status, "application/json; charset=utf-8", buf);
  evbuffer_free(buf);
  g_free(s);
  json_node_unref(node);
}

void
hk_reply_builder(HkRequest *r, int status, JsonBuilder *b)
{
  hk_reply_json(r, status, json_builder_get_root(b));
  g_object_unref(b);
}

void
hk_reply_error(HkRequest *r, int status, const char *code, const char *message)
{
  JsonBuilder *b = json_builder_new();

  json_builder_begin_object(b);
  hk_json_str(b, "error", code);
  hk_json_str(b, "message", message);
  json_builder_end_object(b);
  if (status == 401)
    hk_reply_header(r, "WWW-Authenticate", "Bearer realm=\"hikae\"");
  hk_reply_builder(r, status, b);
}

void
hk_reply_empty(HkRequest *r, int status)
{
  g_return_if_fail(!r->replied);
  r->replied = true;
  hk_reply_common_headers(r);
  hk_worker_send(r->req, status, NULL, r->audit_end);
}

const char *
hk_query(HkRequest *r, const char *name)
{
  return r->query_ok ? evhttp_find_header(&r->query, name) : NULL;
}

const char *
hk_header(HkRequest *r, const char *name)
{
  return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

int
hk_query_uint(HkRequest *r, const char *name, unsigned min, unsigned max, unsigned def,
              unsigned *out)
{
  const char *v = hk_query(r, name);
  guint64 n = 0;
  int ret = 0;

  *out = def;
  if (!v)
    goto out;
  if (!g_ascii_string_to_unsigned(v, 10, min, max, &n, NULL)) {
    ret = -HK_EINVAL;
    goto out;
  }
  *out = (unsigned)n;
out:
  return ret;
}

int
hk_request_json(HkRequest *r, JsonParser **parser, JsonObject **out)
{
  struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
  size_t len = evbuffer_get_length(in);
  JsonParser *p = NULL;
  char *body = NULL;
  int ret = -HK_EINVAL;

  *parser = NULL;
  *out = NULL;
  if (len > HK_BODY_MAX) {
    ret = -HK_ETOOBIG;
    goto out;
  }
  if (len == 0)
    goto out;
  body = g_malloc(len + 1);
  evbuffer_remove(in, body, len);
  body[len] = 0;
  if (memchr(body, 0, len) || !g_utf8_validate(body, (gssize)len, NULL))
    goto out;
  p = json_parser_new();
  if (!json_parser_load_from_data(p, body, (gssize)len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
    goto out;
  *out = json_node_get_object(json_parser_get_root(p));
  *parser = p;
  p = NULL;
  ret = 0;
out:
  if (body) {
    /* The body of a login holds a password. */
    memset(body, 0, len);
    g_free(body);
  }
  if (p)
    g_object_unref(p);
  return ret;
}

int
hk_request_audit(HkRequest *r, HkAuditEvent *e)
{
  int ret;

  if (!e->user && r->authed)
    e->user = r->session.user;
  e->client = r->client;
  /* Written now; the answer leaves only once it is on disk (hk_worker_send). */
  ret = hk_audit_append_nowait(r->srv->audit, e, NULL, &r->audit_end);
  if (ret < 0) {
    hk_error("audit log write failed (%s): refusing to answer %s", hk_strerror(ret),
             e->action);
    hk_reply_error(r, 503, "audit_unavailable",
                   "the audit log cannot be written; nothing is served unaudited");
    ret = -HK_EIO;
  }
  return ret;
}

void
hk_json_str(JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name(b, name);
  if (value)
    json_builder_add_string_value(b, value);
  else
    json_builder_add_null_value(b);
}

void
hk_json_time(JsonBuilder *b, const char *name, int64_t usec)
{
  json_builder_set_member_name(b, name);
  if (usec) {
    char *t = hk_time_format(usec);
    json_builder_add_string_value(b, t);
    g_free(t);
  } else {
    json_builder_add_null_value(b);
  }
}

void
hk_json_int(JsonBuilder *b, const char *name, int64_t value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

static void
hk_jw_escaped(GString *g, const char *v, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const char *run = v, *end = v + len;

  g_string_append_c(g, '"');
  for (; v < end; v++) {
    unsigned char c = (unsigned char)*v;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    g_string_append_len(g, run, v - run);
    run = v + 1;
    if (c == '"' || c == '\\') {
      g_string_append_c(g, '\\');
      g_string_append_c(g, (char)c);
    } else {
      char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
      g_string_append_len(g, u, 6);
    }
  }
  g_string_append_len(g, run, v - run);
  g_string_append_c(g, '"');
}

static void
hk_jw_key(GString *g, const char *name)
{
  if (name) {
    g_string_append_c(g, '"');
    g_string_append(g, name); /* our own member names: nothing to escape */
    g_string_append_len(g, "\":", 2);
  }
}

void
hk_jw_begin(GString *g, const char *name, char open)
{
  hk_jw_key(g, name);
  g_string_append_c(g, open);
}

void
hk_jw_end(GString *g, char close)
{
  if (g->len && g->str[g->len - 1] == ',')
    g->str[g->len - 1] = close;
  else
    g_string_append_c(g, close);
  g_string_append_c(g, ',');
}

void
hk_jw_str(GString *g, const char *name, const char *value)
{
  hk_jw_strn(g, name, value, value ? strlen(value) : 0);
}

void
hk_jw_strn(GString *g, const char *name, const char *value, size_t len)
{
  hk_jw_key(g, name);
  if (value)
    hk_jw_escaped(g, value, len);
  else
    g_string_append_len(g, "null", 4);
  g_string_append_c(g, ',');
}

void
hk_jw_int(GString *g, const char *name, int64_t value)
{
  hk_jw_key(g, name);
  g_string_append_printf(g, "%" G_GINT64_FORMAT ",", (gint64)value);
}

void
hk_jw_bool(GString *g, const char *name, bool value)
{
  hk_jw_key(g, name);
  g_string_append(g, value ? "true," : "false,");
}

void
hk_jw_time(GString *g, const char *name, int64_t usec)
{
  int64_t rem = (usec % G_USEC_PER_SEC + G_USEC_PER_SEC) % G_USEC_PER_SEC;
  time_t secs = (time_t)((usec - rem) / G_USEC_PER_SEC);
  struct tm tm;

  if (!usec) {
    hk_jw_str(g, name, NULL);
  } else if (gmtime_r(&secs, &tm) && tm.tm_year >= -1900 && tm.tm_year <= 9999 - 1900) {
    /* hk_time_format's text without its GDateTime and three allocations. */
    hk_jw_key(g, name);
    g_string_append_printf(g, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",", tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                           (int)(rem / 1000));
  } else {
    char *t = hk_time_format(usec);
    hk_jw_str(g, name, t);
    g_free(t);
  }
}

static void
hk_jw_free_cb(const void *data, size_t len, void *arg)
{
  g_free(arg);
}

void
hk_reply_jw(HkRequest *r, int status, GString *g)
{
  struct evbuffer *buf = evbuffer_new();
  gsize len;
  char *text;

  if (g->len && g->str[g->len - 1] == ',')
    g->str[g->len - 1] = '\n';
  else
    g_string_append_c(g, '\n');
  len = g->len;
  text = g_string_free(g, FALSE);
  /* Handed over, not copied: the buffer frees the text once sent. */
  if (evbuffer_add_reference(buf, text, len, hk_jw_free_cb, text) != 0)
    g_free(text);
  hk_reply_bytes(r, status, "application/json; charset=utf-8", buf);
  evbuffer_free(buf);
}

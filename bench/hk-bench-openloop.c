/* hk-bench-openloop: an open-loop HTTPS load generator (a benchmark tool,
 * not a test).
 *
 * Requests fall due at a fixed rate, whatever the server does: request i is
 * due at t0 + i / rate. A due request goes out on an idle keep-alive
 * connection, or waits in a queue until one is free. Its latency is counted
 * from the moment it was due, not from when it was sent, so a server that
 * stalls is charged for every request that queued behind the stall: no
 * coordinated omission (a closed-loop tool such as wrk sends nothing while
 * its connections wait, and so never measures the requests a stall delays).
 *
 *   hk-bench-openloop --port N --ca FILE [--host 127.0.0.1] [--token T]
 *                     [--rate 1000] [--seconds 10] [--connections 64]
 *                     [--warmup 1] [--ids N --id-prefix P --id-width W]
 *                     PATH...
 *
 * PATHs are used in turn; "{}" in a path is replaced by a random ID in
 * [0, --ids), written as --id-prefix and the number zero-padded to
 * --id-width digits (bench/serve-fill's patients are B0000000...). Requests
 * due in the first --warmup seconds are sent but not counted. Every answer
 * but 200 is an error; requests still unanswered 30 s after the last one
 * fell due are counted as unanswered. Loopback only, and bounded: at most
 * rate x seconds requests.
 *
 * The last line is "RESULT key=value ..." (latencies in ms) for scripts. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <glib.h>
#include <math.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HK_OL_GRACE_S 30
#define HK_OL_MAX_REQUESTS 50000000

typedef struct HkOl HkOl;

typedef struct {
  HkOl *ol;
  struct evhttp_connection *evcon;
  int64_t due_ns; /* of the request in flight */
  gboolean counted;
} HkOlConn;

struct HkOl {
  struct event_base *base;
  SSL_CTX *ctx;
  const char *host;
  int port;
  char *auth;
  char **paths;
  unsigned npaths;
  unsigned ids, id_width;
  const char *id_prefix;
  double rate, seconds, warmup;
  unsigned nconns;
  int64_t t0_ns;
  uint64_t next, total;
  GQueue pending; /* due times (int64 ns, boxed in the pointer) */
  GQueue idle;    /* HkOlConn * */
  unsigned in_flight;
  GArray *lat_ms; /* double */
  uint64_t sent, answered, errors, reconnects;
  int64_t last_answer_ns;
  GRand *rand;
  struct event *tick;
};

static int64_t
hk_ol_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct evhttp_connection *
hk_ol_connect(HkOl *ol)
{
  struct evhttp_connection *evcon = NULL;
  struct bufferevent *bev = NULL;
  SSL *ssl = SSL_new(ol->ctx);

  if (!ssl)
    goto out;
  SSL_set_tlsext_host_name(ssl, ol->host);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ol->host);
  bev = bufferevent_openssl_socket_new(ol->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!bev) {
    SSL_free(ssl);
    goto out;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  evcon =
      evhttp_connection_base_bufferevent_new(ol->base, NULL, bev, ol->host, (ev_uint16_t)ol->port);
  if (!evcon) {
    bufferevent_free(bev);
    goto out;
  }
  evhttp_connection_set_timeout(evcon, HK_OL_GRACE_S);
  evhttp_connection_set_retries(evcon, 0);
out:
  return evcon;
}

static void hk_ol_dispatch(HkOl *ol);

static void
hk_ol_done(struct evhttp_request *req, void *arg)
{
  HkOlConn *c = arg;
  HkOl *ol = c->ol;
  int64_t now = hk_ol_now();
  int code = req ? evhttp_request_get_response_code(req) : 0;

  ol->in_flight--;
  if (code == 200) {
    ol->answered++;
    ol->last_answer_ns = now;
    if (c->counted) {
      double ms = (double)(now - c->due_ns) / 1e6;
      g_array_append_val(ol->lat_ms, ms);
    }
  } else {
    ol->errors++;
  }
  if (code == 0) {
    /* The connection failed: a new one takes its place. The old one is
     * freed by libevent once this callback returns (it is not reused). */
    evhttp_connection_free_on_completion(c->evcon);
    c->evcon = hk_ol_connect(ol);
    ol->reconnects++;
  }
  if (c->evcon)
    g_queue_push_tail(&ol->idle, c);
  hk_ol_dispatch(ol);
}

static void
hk_ol_send(HkOl *ol, HkOlConn *c, int64_t due)
{
  char path[1024];
  const char *tmpl = ol->paths[ol->sent % ol->npaths];
  const char *brace = strstr(tmpl, "{}");
  struct evhttp_request *req = evhttp_request_new(hk_ol_done, c);
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);

  if (brace && ol->ids > 0)
    snprintf(path, sizeof path, "%.*s%s%0*u%s", (int)(brace - tmpl), tmpl, ol->id_prefix,
             (int)ol->id_width, (unsigned)g_rand_int_range(ol->rand, 0, (gint32)ol->ids),
             brace + 2);
  else
    g_strlcpy(path, tmpl, sizeof path);
  evhttp_add_header(h, "Host", ol->host);
  evhttp_add_header(h, "Connection", "keep-alive");
  if (ol->auth)
    evhttp_add_header(h, "Authorization", ol->auth);
  c->due_ns = due;
  c->counted = due >= ol->t0_ns + (int64_t)(ol->warmup * 1e9);
  ol->sent++;
  ol->in_flight++;
  if (evhttp_make_request(c->evcon, req, EVHTTP_REQ_GET, path) != 0) {
    /* libevent has freed req; count it and keep the connection. */
    ol->in_flight--;
    ol->errors++;
    g_queue_push_tail(&ol->idle, c);
  }
}

static void
hk_ol_dispatch(HkOl *ol)
{
  while (!g_queue_is_empty(&ol->pending) && !g_queue_is_empty(&ol->idle)) {
    int64_t due = (int64_t)(intptr_t)g_queue_pop_head(&ol->pending);
    hk_ol_send(ol, g_queue_pop_head(&ol->idle), due);
  }
  if (ol->next >= ol->total && g_queue_is_empty(&ol->pending) && ol->in_flight == 0)
    event_base_loopbreak(ol->base);
}

static void
hk_ol_tick(evutil_socket_t fd, short what, void *arg)
{
  HkOl *ol = arg;
  int64_t now = hk_ol_now();

  (void)fd;
  (void)what;
  while (ol->next < ol->total) {
    int64_t due = ol->t0_ns + (int64_t)((double)ol->next * 1e9 / ol->rate);
    if (due > now)
      break;
    g_queue_push_tail(&ol->pending, (gpointer)(intptr_t)due);
    ol->next++;
  }
  hk_ol_dispatch(ol);
  if (ol->next >= ol->total && now > ol->t0_ns + (int64_t)((ol->seconds + HK_OL_GRACE_S) * 1e9))
    event_base_loopbreak(ol->base);
}

static int
hk_ol_cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static double
hk_ol_pct(const GArray *a, double p)
{
  size_t i;

  if (a->len == 0)
    return 0;
  i = (size_t)ceil(p / 100.0 * a->len);
  i = i > 0 ? i - 1 : 0;
  return g_array_index(a, double, MIN(i, a->len - 1));
}

int
main(int argc, char **argv)
{
  HkOl ol = {.host = "127.0.0.1",
             .rate = 1000,
             .seconds = 10,
             .nconns = 64,
             .warmup = 1,
             .id_prefix = "",
             .id_width = 0};
  char *ca = NULL, *token = NULL;
  int port = 0, ids = 0, id_width = 0, conns = 64, ret = 1;
  char *id_prefix = NULL, *host = NULL;
  GOptionEntry entries[] = {
      {"host", 0, 0, G_OPTION_ARG_STRING, &host, "Server address (127.0.0.1)", "ADDR"},
      {"port", 0, 0, G_OPTION_ARG_INT, &port, "Server port", "N"},
      {"ca", 0, 0, G_OPTION_ARG_FILENAME, &ca, "CA certificate to verify the server", "FILE"},
      {"token", 0, 0, G_OPTION_ARG_STRING, &token, "Bearer token", "T"},
      {"rate", 0, 0, G_OPTION_ARG_DOUBLE, &ol.rate, "Requests per second (1000)", "R"},
      {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &ol.seconds, "Duration (10)", "S"},
      {"warmup", 0, 0, G_OPTION_ARG_DOUBLE, &ol.warmup, "Seconds not counted (1)", "S"},
      {"connections", 0, 0, G_OPTION_ARG_INT, &conns, "Keep-alive connections (64)", "N"},
      {"ids", 0, 0, G_OPTION_ARG_INT, &ids, "Random IDs for {} in a path", "N"},
      {"id-prefix", 0, 0, G_OPTION_ARG_STRING, &id_prefix, "Prefix of an ID", "P"},
      {"id-width", 0, 0, G_OPTION_ARG_INT, &id_width, "Zero-padded digits of an ID", "W"},
      {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionContext *oc = g_option_context_new("PATH... - open-loop HTTPS load");
  GError *err = NULL;
  HkOlConn *cs = NULL;
  double wall;

  g_option_context_add_main_entries(oc, entries, NULL);
  if (!g_option_context_parse(oc, &argc, &argv, &err)) {
    fprintf(stderr, "hk-bench-openloop: %s\n", err->message);
    goto out;
  }
  if (host)
    ol.host = host;
  if (id_prefix)
    ol.id_prefix = id_prefix;
  ol.port = port;
  ol.ids = (unsigned)MAX(ids, 0);
  ol.id_width = (unsigned)CLAMP(id_width, 0, 20);
  ol.nconns = (unsigned)CLAMP(conns, 1, 10000);
  if (argc < 2 || port <= 0 || port > 65535 || !ca || ol.rate <= 0 || ol.seconds <= 0 ||
      ol.rate * ol.seconds > HK_OL_MAX_REQUESTS) {
    fprintf(stderr,
            "hk-bench-openloop: needs --port, --ca, PATH..., and 0 < rate x seconds"
            " <= %d\n",
            HK_OL_MAX_REQUESTS);
    goto out;
  }
  ol.paths = argv + 1;
  ol.npaths = (unsigned)argc - 1;
  ol.total = (uint64_t)llround(ol.rate * ol.seconds);
  ol.auth = token ? g_strdup_printf("Bearer %s", token) : NULL;
  ol.rand = g_rand_new_with_seed(12);
  ol.lat_ms = g_array_sized_new(FALSE, FALSE, sizeof(double), (guint)ol.total);
  ol.ctx = SSL_CTX_new(TLS_client_method());
  if (!ol.ctx || SSL_CTX_load_verify_locations(ol.ctx, ca, NULL) != 1) {
    fprintf(stderr, "hk-bench-openloop: cannot load CA %s\n", ca);
    goto out;
  }
  SSL_CTX_set_verify(ol.ctx, SSL_VERIFY_PEER, NULL);
  {
    /* A precise timer (timerfd under epoll): epoll_wait's own timeout has
     * millisecond steps, which would add up to 1 ms to every due time. */
    struct event_config *cfg = event_config_new();
    if (cfg)
      event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    ol.base = cfg ? event_base_new_with_config(cfg) : NULL;
    if (cfg)
      event_config_free(cfg);
  }
  if (!ol.base) {
    fprintf(stderr, "hk-bench-openloop: cannot make an event base\n");
    goto out;
  }
  cs = g_new0(HkOlConn, ol.nconns);
  for (unsigned i = 0; i < ol.nconns; i++) {
    cs[i].ol = &ol;
    cs[i].evcon = hk_ol_connect(&ol);
    if (!cs[i].evcon) {
      fprintf(stderr, "hk-bench-openloop: cannot make connection %u\n", i);
      goto out;
    }
    g_queue_push_tail(&ol.idle, &cs[i]);
  }
  ol.tick = event_new(ol.base, -1, EV_PERSIST, hk_ol_tick, &ol);
  event_add(ol.tick, &(struct timeval){0, 500});
  ol.t0_ns = hk_ol_now();
  event_base_dispatch(ol.base);
  wall = (double)(ol.last_answer_ns - ol.t0_ns) / 1e9;
  g_array_sort(ol.lat_ms, hk_ol_cmp);
  printf("RESULT rate=%.0f seconds=%.1f connections=%u sent=%" G_GUINT64_FORMAT
         " answered=%" G_GUINT64_FORMAT " errors=%" G_GUINT64_FORMAT
         " unanswered=%" G_GUINT64_FORMAT " reconnects=%" G_GUINT64_FORMAT
         " counted=%u achieved_rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f"
         " p999_ms=%.3f max_ms=%.3f\n",
         ol.rate, ol.seconds, ol.nconns, ol.sent, ol.answered, ol.errors,
         ol.total - ol.answered - ol.errors, ol.reconnects, ol.lat_ms->len,
         wall > 0 ? (double)ol.answered / wall : 0, hk_ol_pct(ol.lat_ms, 50),
         hk_ol_pct(ol.lat_ms, 90), hk_ol_pct(ol.lat_ms, 99), hk_ol_pct(ol.lat_ms, 99.9),
         hk_ol_pct(ol.lat_ms, 100));
  ret = ol.answered + ol.errors == ol.total && ol.errors == 0 ? 0 : 3;
out:
  /* The process ends here: connections and the event base go with it. */
  g_clear_error(&err);
  g_option_context_free(oc);
  return ret;
}

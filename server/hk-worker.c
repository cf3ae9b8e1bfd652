/* Event bases, TLS connections and their limits.
 *
 * Each worker thread owns one event base, one evhttp and one listening
 * socket bound with SO_REUSEPORT to the same address, so the kernel spreads
 * connections over the workers and no lock is shared on the hot path.
 *
 * Every connection gets an HkConn, hung on its SSL object as ex_data: it is
 * freed with the SSL (so with the connection, whatever path evhttp takes),
 * which keeps the per-worker connection count exact. Its deadline timer cuts
 * a connection that has not delivered a complete request within
 * request_timeout_s of its accept or of its previous answer: that stops
 * slowloris clients, which a plain read timeout (reset by every byte) lets
 * through. Stalled writers (slow read) are cut by evhttp's write timeout.
 *
 * Document content is streamed (HkStream): each chunk is copied out of the
 * store under a read transaction of its own that ends before the chunk is
 * queued, and the next chunk is read only once the previous one has left.
 * So no answer holds a snapshot, a reader slot or a pointer into the map
 * while a client reads (slow readers cannot fill LMDB's reader table, and
 * the map can be replaced between chunks), and a slow reader costs at most
 * one chunk of memory: max-connections x HK_STREAM_CHUNK in all. */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-fts.h"
#include "hk-log.h"
#include "hk-sha256.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct hk_worker {
  HkServer *srv;
  int index;
  struct event_base *base;
  struct evhttp *http;
  struct evhttp_bound_socket *bound;
  struct evconnlistener *listener;
  struct event *drain_timer;
  GThread *thread;
  GQueue conns; /* HkConn*, for the graceful stop */
  unsigned nconns;
  unsigned max_conns; /* this worker's share of max_connections */
  bool paused;        /* listener disabled at the cap */
  int64_t drain_until;
  int fd;
  /* Audit records of this loop turn's answers, written together (one
   * flock, one write) by audit_flush before any of the answers leaves. */
  GArray *audit_events; /* HkAuditEvent, strings owned */
  GQueue audit_waiting; /* HkDeferred *, answers whose records are queued */
  struct event *audit_flush;
  int64_t audit_end; /* the log's end after the last batch */
  /* The search index, opened read-only by this thread on first use
   * (hk_worker_fts); when that failed, why and when to try again. */
  hk_fts *fts;
  int fts_err;
  int64_t fts_retry_at;
};

typedef struct hk_deferred HkDeferred;
typedef struct hk_stream HkStream;

typedef struct {
  HkWorker *w;
  struct bufferevent *bev;
  struct event *deadline;
  GList *link;
  bool busy;            /* a request is being answered */
  HkStream *stream;     /* its answer, being streamed from the store */
  HkDeferred *deferred; /* its answer, waiting for the audit sync */
} HkConn;

/* An answer waiting for its audit record to reach the disk. */
struct hk_deferred {
  struct evhttp_request *req;
  HkConn *c; /* NULL once the connection is gone */
  struct event_base *base;
  int status;
  struct evbuffer *body;
  HkStream *stream; /* or the answer is streamed */
  int64_t end;
  int result;
};

/* A body of bytes [offset, offset + left) of a stored blob, sent a chunk
 * at a time. The blob is found again by its SHA-256 for every chunk: the
 * store is append-only, so the bytes under a hash never change. */
struct hk_stream {
  HkConn *c;
  struct evhttp_request *req;
  hk_store *store;
  char sha[HK_SHA256_HEX_LEN + 1];
  uint64_t offset;
  uint64_t left;
  uint64_t len; /* the whole body, for the deadline */
};

static HkDeferred hk_syncer_stop_mark;

static int hk_conn_index = -1;

static void
hk_ssl_errors(const char *what)
{
  unsigned long e;
  char buf[256];

  while ((e = ERR_get_error())) {
    ERR_error_string_n(e, buf, sizeof buf);
    hk_error("%s: %s", what, buf);
  }
}

int
hk_tls_context_new(const char *cert, const char *key, SSL_CTX **out)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  int ret = -HK_ECRYPTO;

  if (!ctx)
    goto out;
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
    goto out;
  /* TLS 1.2 only with forward-secret AEAD suites; TLS 1.3 keeps OpenSSL's
   * (all AEAD) suites and is preferred by the version negotiation itself. */
  if (!SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"))
    goto out;
  if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384"))
    goto out;
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"hikae", 5);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    hk_error("--tls-cert %s: cannot load the certificate chain", cert);
    goto out;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    hk_error("--tls-key %s: cannot load the private key", key);
    goto out;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    hk_error("--tls-key does not match --tls-cert");
    goto out;
  }
  ret = 0;
out:
  if (ret < 0) {
    hk_ssl_errors("TLS");
    SSL_CTX_free(ctx);
    ctx = NULL;
  }
  *out = ctx;
  return ret;
}

static void
hk_conn_shutdown(HkConn *c)
{
  evutil_socket_t fd = c->bev ? bufferevent_getfd(c->bev) : -1;

  /* evhttp owns the connection: closing the socket's both directions makes
   * it see EOF and tear the connection down through its own path. */
  if (fd >= 0)
    shutdown(fd, SHUT_RDWR);
}

static void
hk_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
  HkConn *c = arg;

  hk_debug("connection cut: no complete request in time");
  hk_conn_shutdown(c);
}

static void
hk_conn_arm(HkConn *c)
{
  struct timeval tv = {c->w->srv->opt.request_timeout_s, 0};

  evtimer_add(c->deadline, &tv);
}

/* Slowest rate at which a streamed answer must leave, after the request
 * timeout's grace: a 200 KB document gets 3 s more, a 50 MB scan 13
 * minutes, a client that stops reading is cut by the write timeout. This
 * bounds how long a slow reader keeps its connection slot. */
#define HK_STREAM_MIN_RATE (64 * 1024)

static void
hk_conn_arm_stream(HkConn *c, uint64_t len)
{
  struct timeval tv = {c->w->srv->opt.request_timeout_s + (time_t)(len / HK_STREAM_MIN_RATE), 0};

  evtimer_add(c->deadline, &tv);
}

/* SSL ex_data destructor: the connection is gone. Runs in the worker's
 * thread, from SSL_free inside the bufferevent's free. */
static void
hk_conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
  HkConn *c = ptr;
  HkWorker *w;

  if (!c)
    return;
  w = c->w;
  if (c->deferred)
    c->deferred->c = NULL; /* the sync thread's callback frees it */
  if (c->stream) {
    /* Cut mid-stream: evhttp has let go of the request (its reply was not
     * ended), so it is ours to free, which ending it does. */
    struct evhttp_request *req = c->stream->req;
    g_free(c->stream);
    c->stream = NULL;
    evhttp_send_reply_end(req);
  }
  event_free(c->deadline);
  g_queue_delete_link(&w->conns, c->link);
  w->nconns--;
  if (w->paused && w->nconns < w->max_conns && !g_atomic_int_get(&w->srv->stopping) &&
      w->listener) {
    evconnlistener_enable(w->listener);
    w->paused = false;
  }
  g_free(c);
}

static struct bufferevent *
hk_bevcb(struct event_base *base, void *arg)
{
  HkWorker *w = arg;
  SSL *ssl = SSL_new(w->srv->ssl);
  HkConn *c = NULL;
  struct bufferevent *bev = NULL;

  if (!ssl) {
    hk_ssl_errors("SSL_new");
    goto out;
  }
  c = g_new0(HkConn, 1);
  c->w = w;
  c->deadline = evtimer_new(base, hk_conn_deadline_cb, c);
  g_queue_push_tail(&w->conns, c);
  c->link = w->conns.tail;
  w->nconns++;
  SSL_set_ex_data(ssl, hk_conn_index, c);
  bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!bev) {
    /* bufferevent_openssl frees nothing on failure: do it here. */
    SSL_free(ssl);
    goto out;
  }
  c->bev = bev;
  /* Clients that just close the TCP connection are common; not an error. */
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  hk_conn_arm(c);
  if (w->nconns >= w->max_conns && w->listener && !w->paused) {
    hk_warn("worker %d: %u connections, at its cap: pausing accept", w->index, w->nconns);
    evconnlistener_disable(w->listener);
    w->paused = true;
  }
out:
  return bev;
}

static HkConn *
hk_conn_of(struct evhttp_request *req)
{
  struct evhttp_connection *evcon = evhttp_request_get_connection(req);
  struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
  SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

  return ssl ? SSL_get_ex_data(ssl, hk_conn_index) : NULL;
}

static void
hk_request_done_cb(struct evhttp_request *req, void *arg)
{
  HkConn *c = hk_conn_of(req);

  if (!c)
    return;
  c->busy = false;
  if (g_atomic_int_get(&c->w->srv->stopping))
    hk_conn_shutdown(c);
  else
    hk_conn_arm(c); /* the next request must arrive whole in time, too */
}

void
hk_worker_request_begin(struct evhttp_request *req)
{
  HkConn *c = hk_conn_of(req);

  if (!c)
    return;
  c->busy = true;
  evtimer_del(c->deadline);
  evhttp_request_set_on_complete_cb(req, hk_request_done_cb, NULL);
}

static void hk_stream_start(HkStream *st, int status);

/* Small answers leave as one TLS record: evhttp puts the headers and the
 * body in separate chains of the output buffer, and the TLS bufferevent
 * writes each chain as a record of its own, one write(2) each. Joining
 * them costs a copy of a few KiB, less than a system call. */
#define HK_JOIN_MAX (16 * 1024)

static void
hk_send_whole(struct evhttp_request *req, int status, struct evbuffer *body)
{
  struct evhttp_connection *evcon = evhttp_request_get_connection(req);
  struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
  struct evbuffer *out = bev ? bufferevent_get_output(bev) : NULL;

  evhttp_send_reply(req, status, NULL, body);
  if (out && evbuffer_get_length(out) <= HK_JOIN_MAX)
    evbuffer_pullup(out, -1);
}

/* In the worker's thread, once its record is written (and, if asked,
 * synced): send the answer, or 503. */
static void
hk_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
  HkDeferred *d = arg;

  if (!d->c) {
    /* The client went away while the record was being synced: libevent
     * detached the request from its dead connection without freeing it
     * (evhttp_connection_incoming_fail), leaving the reply to us; there is
     * no one to answer, so free it. */
    evhttp_request_free(d->req);
  } else if (d->stream && d->result >= 0) {
    d->c->deferred = NULL;
    d->stream->c = d->c;
    hk_stream_start(d->stream, d->status);
    d->stream = NULL;
  } else {
    d->c->deferred = NULL;
    if (d->result < 0) {
      struct evkeyvalq *h = evhttp_request_get_output_headers(d->req);
      hk_error("audit log write or sync failed (%s): answering 503", hk_strerror(d->result));
      evhttp_clear_headers(h);
      evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
      evhttp_add_header(h, "Cache-Control", "no-store");
      evbuffer_drain(d->body, evbuffer_get_length(d->body));
      evbuffer_add_printf(d->body,
                          "{\"error\":\"audit_unavailable\",\"message\":"
                          "\"the audit log cannot be written; nothing is served unaudited\"}\n");
      hk_send_whole(d->req, 503, d->body);
    } else {
      hk_send_whole(d->req, d->status, d->body);
    }
  }
  evbuffer_free(d->body);
  g_free(d->stream);
  g_free(d);
}

/* The sync thread with --audit-sync=always: take every waiting answer, one
 * fdatasync for all of them, hand each back to its worker. */
static void
hk_syncer_always(HkServer *srv)
{
  GPtrArray *batch = g_ptr_array_new();
  bool stop = false;

  while (!stop) {
    HkDeferred *d = g_async_queue_pop(srv->syncq);
    int64_t end = 0;
    int ret;

    g_ptr_array_set_size(batch, 0);
    do {
      if (d == &hk_syncer_stop_mark) {
        stop = true;
      } else {
        g_ptr_array_add(batch, d);
        end = MAX(end, d->end);
      }
    } while ((d = g_async_queue_try_pop(srv->syncq)));
    if (batch->len == 0)
      continue;
    ret = hk_audit_flush(srv->audit, end);
    for (guint i = 0; i < batch->len; i++) {
      HkDeferred *x = batch->pdata[i];
      x->result = ret;
      if (event_base_once(x->base, -1, EV_TIMEOUT, hk_deferred_cb, x, NULL) != 0)
        hk_error("cannot hand an answer back to its worker");
    }
    /* The records are durable and their answers gone: now the anchor
     * (its own fdatasync stays off the answers' path). */
    if (ret == 0)
      hk_audit_anchor(srv->audit);
  }
  g_ptr_array_unref(batch);
}

/* The sync thread with --audit-sync=interval: the answers have left once
 * their records were written (in the kernel); make whatever was written
 * durable every interval, so a power loss loses at most one interval of
 * records, never one whose write failed. A failed sync makes every later
 * append fail (hk-audit), so requests answer 503 from then on. */
static void
hk_syncer_interval(HkServer *srv)
{
  guint64 wait = (guint64)srv->opt.audit_sync_ms * 1000;

  for (;;) {
    gpointer m = g_async_queue_timeout_pop(srv->syncq, wait);
    if (hk_audit_sync(srv->audit, -1) < 0)
      hk_error("audit log: interval sync failed: every further request answers 503");
    if (m == &hk_syncer_stop_mark)
      break;
  }
}

static gpointer
hk_syncer_run(gpointer data)
{
  HkServer *srv = data;

  if (srv->opt.audit_sync_always)
    hk_syncer_always(srv);
  else
    hk_syncer_interval(srv);
  return NULL;
}

/* The write callback of a stream: the previous chunk has left. */
static void hk_stream_cb(struct evhttp_connection *evcon, void *arg);

static void
hk_chunk_free(const void *data, size_t len, void *arg)
{
  g_free(arg);
}

/* Queue the next chunk, or end the answer after the last. */
static void
hk_stream_next(HkStream *st)
{
  HkConn *c = st->c;
  struct evhttp_request *req = st->req;
  struct evbuffer *buf = NULL;
  const void *data = NULL;
  size_t len = 0, n = (size_t)MIN(st->left, (uint64_t)HK_STREAM_CHUNK);
  hk_txn *t = NULL;
  int ret;

  if (st->left == 0) {
    /* Ending may free the connection (and run hk_conn_free): let go of
     * the stream first. */
    c->stream = NULL;
    g_free(st);
    evhttp_send_reply_end(req);
    goto out;
  }
  /* A transaction only for the copy: nothing of the map outlives it. */
  ret = hk_txn_begin(st->store, false, &t);
  if (ret == 0)
    ret = hk_store_get_blob(t, st->sha, &data, &len);
  if (ret == 0 && (st->offset > len || len - st->offset < n))
    ret = -HK_ECORRUPT;
  if (ret == 0) {
    /* An exact copy handed over by reference: evbuffer_add would round
     * its chain up to the next power of two (128 KiB for 64 KiB), past
     * malloc's mmap threshold, and fault in fresh pages for every chunk. */
    char *copy = g_malloc(n);
    memcpy(copy, (const char *)data + st->offset, n);
    buf = evbuffer_new();
    if (!buf || evbuffer_add_reference(buf, copy, n, hk_chunk_free, copy) != 0) {
      g_free(copy);
      ret = -HK_ENOMEM;
    }
  }
  hk_txn_abort(t);
  if (ret < 0) {
    /* The status line has gone: all that is left is to cut the answer
     * short, which the client sees as a body shorter than its length. */
    hk_error("content %s: cannot read bytes from %" G_GUINT64_FORMAT ": %s; cutting the answer",
             st->sha, st->offset, hk_strerror(ret));
    hk_conn_shutdown(c);
    goto out;
  }
  st->offset += n;
  st->left -= n;
  evhttp_send_reply_chunk_with_cb(req, buf, hk_stream_cb, st);
out:
  if (buf)
    evbuffer_free(buf);
}

static void
hk_stream_cb(struct evhttp_connection *evcon, void *arg)
{
  hk_stream_next(arg);
}

static void
hk_stream_start(HkStream *st, int status)
{
  st->c->stream = st;
  hk_conn_arm_stream(st->c, st->len);
  evhttp_send_reply_start(st->req, status, NULL);
  hk_stream_next(st);
}

static HkDeferred *
hk_deferred_new(struct evhttp_request *req, HkConn *c, int status, struct evbuffer *body,
                HkStream *st, int64_t end)
{
  HkDeferred *d = g_new0(HkDeferred, 1);

  d->req = req;
  d->c = c;
  d->base = c->w->base;
  d->status = status;
  d->end = end;
  d->body = evbuffer_new();
  d->stream = st;
  if (body)
    evbuffer_add_buffer(d->body, body);
  c->deferred = d;
  return d;
}

static void
hk_audit_event_clear(HkAuditEvent *e)
{
  g_free((char *)e->user);
  g_free((char *)e->client);
  g_free((char *)e->action);
  g_free((char *)e->patient);
  g_free((char *)e->document);
  g_free((char *)e->outcome);
  g_free((char *)e->query);
  g_free((char *)e->detail);
  g_free((char *)e->print_id);
}

int
hk_worker_audit_queue(struct evhttp_request *req, const HkAuditEvent *e)
{
  HkConn *c = hk_conn_of(req);
  HkWorker *w = c ? c->w : NULL;
  HkAuditEvent copy = *e;

  if (!w || !e->action)
    return -HK_EINVAL;
  /* The time the request was answered, not the time of the batch. */
  copy.time = e->time ? e->time : g_get_real_time();
  copy.user = g_strdup(e->user);
  copy.client = g_strdup(e->client);
  copy.action = g_strdup(e->action);
  copy.patient = g_strdup(e->patient);
  copy.document = g_strdup(e->document);
  copy.outcome = g_strdup(e->outcome);
  copy.query = g_strdup(e->query);
  copy.detail = g_strdup(e->detail);
  copy.print_id = g_strdup(e->print_id);
  g_array_append_val(w->audit_events, copy);
  /* Runs after the callbacks already active in this loop turn, so that
   * every answer made in the turn shares the one write. */
  event_active(w->audit_flush, EV_TIMEOUT, 0);
  return 0;
}

/* Write the records queued in this turn in one append (one flock, one
 * fstat, one write), then let their answers go: at once with
 * --audit-sync=interval, through the sync thread with --audit-sync=always,
 * and as 503 if the write failed, so that nothing is served unaudited. */
static void
hk_worker_audit_flush_cb(evutil_socket_t fd, short what, void *arg)
{
  HkWorker *w = arg;
  HkServer *srv = w->srv;
  int64_t end = w->audit_end;
  int ret = 0;
  HkDeferred *d;

  if (w->audit_events->len > 0) {
    guint n = w->audit_events->len;
    ret = hk_audit_append_many_nowait(srv->audit, (HkAuditEvent *)(void *)w->audit_events->data, n,
                                      NULL, &end);
    if (ret < 0)
      hk_error("audit log write failed (%s): refusing to answer %u requests", hk_strerror(ret), n);
    else
      w->audit_end = end;
    for (guint i = 0; i < n; i++)
      hk_audit_event_clear(&g_array_index(w->audit_events, HkAuditEvent, i));
    g_array_set_size(w->audit_events, 0);
  }
  if (ret == 0 && srv->opt.audit_sync_always && !srv->syncq && !g_queue_is_empty(&w->audit_waiting))
    ret = hk_audit_sync(srv->audit, end); /* no sync thread to wait on: sync here */
  while ((d = g_queue_pop_head(&w->audit_waiting))) {
    d->end = end;
    d->result = ret;
    if (ret == 0 && d->c && srv->opt.audit_sync_always && srv->syncq)
      g_async_queue_push(srv->syncq, d);
    else
      hk_deferred_cb(-1, 0, d);
  }
}

/* Send the answer now, or once its audit record is durable. */
static void
hk_worker_reply(struct evhttp_request *req, int status, struct evbuffer *body, HkStream *st,
                int64_t audit_end)
{
  HkConn *c = hk_conn_of(req);
  HkWorker *w = c ? c->w : NULL;
  HkDeferred *d;

  if (st && !c) {
    /* Not one of our connections (cannot happen): nothing to stream on. */
    g_free(st);
    evhttp_send_error(req, 503, "connection unknown");
    return;
  }
  if (st)
    st->c = c;
  if (audit_end == HK_AUDIT_QUEUED && c) {
    /* Its record is in this turn's batch: the answer waits for the write. */
    g_queue_push_tail(&w->audit_waiting, hk_deferred_new(req, c, status, body, st, 0));
    event_active(w->audit_flush, EV_TIMEOUT, 0);
    return;
  }
  if (audit_end <= 0 || (c && !w->srv->opt.audit_sync_always)) {
    /* No record, or the interval policy: the record is written already. */
    if (st)
      hk_stream_start(st, status);
    else
      hk_send_whole(req, status, body);
    return;
  }
  if (!c || !w->srv->syncq) {
    /* No sync thread to wait on: sync here. */
    if (!c || hk_audit_sync(w->srv->audit, audit_end) < 0) {
      g_free(st);
      evhttp_send_error(req, 503, "audit log unavailable");
    } else if (st) {
      hk_stream_start(st, status);
    } else {
      hk_send_whole(req, status, body);
    }
    return;
  }
  d = hk_deferred_new(req, c, status, body, st, audit_end);
  g_async_queue_push(w->srv->syncq, d);
}

void
hk_worker_send(struct evhttp_request *req, int status, struct evbuffer *body, int64_t audit_end)
{
  hk_worker_reply(req, status, body, NULL, audit_end);
}

void
hk_worker_send_blob(struct evhttp_request *req, int status, hk_store *store, const char *sha,
                    uint64_t first, uint64_t len, int64_t audit_end)
{
  HkStream *st = g_new0(HkStream, 1);
  char n[32];

  st->req = req;
  st->store = store;
  g_strlcpy(st->sha, sha, sizeof st->sha);
  st->offset = first;
  st->left = len;
  st->len = len;
  /* With the length known the body goes out as it is, not chunked. */
  g_snprintf(n, sizeof n, "%" G_GUINT64_FORMAT, len);
  evhttp_remove_header(evhttp_request_get_output_headers(req), "Content-Length");
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", n);
  hk_worker_reply(req, status, NULL, st, audit_end);
}

static void
hk_event_log_cb(int severity, const char *msg)
{
  HkLogLevel l = severity == EVENT_LOG_DEBUG  ? HK_LOG_DEBUG
                 : severity == EVENT_LOG_MSG  ? HK_LOG_INFO
                 : severity == EVENT_LOG_WARN ? HK_LOG_WARN
                                              : HK_LOG_ERROR;
  hk_log(l, "libevent: %s", msg);
}

/* A listening socket of host:port with SO_REUSEPORT. */
static int
hk_listen_socket(const char *listen_on, int *fd_out)
{
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  char *host = NULL;
  const char *port;
  const char *colon = strrchr(listen_on, ':');
  int fd = -1, one = 1, ret = -HK_EINVAL;

  if (!colon || colon == listen_on || !colon[1])
    goto out;
  port = colon + 1;
  if (listen_on[0] == '[' && colon[-1] == ']')
    host = g_strndup(listen_on + 1, (gsize)(colon - listen_on - 2));
  else
    host = g_strndup(listen_on, (gsize)(colon - listen_on));
  if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
    goto out;
  ret = -HK_EIO;
  fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto out;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    goto out;
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
    hk_error("--listen %s: cannot bind: %s", listen_on, g_strerror(errno));
    goto out;
  }
  if (listen(fd, 1024) != 0)
    goto out;
  *fd_out = fd;
  fd = -1;
  ret = 0;
out:
  if (fd >= 0)
    close(fd);
  if (res)
    freeaddrinfo(res);
  g_free(host);
  return ret;
}

static const char *
hk_fts_why(int err)
{
  switch (err) {
  case -HK_ENOTFOUND:
    return "the search index does not exist yet (the indexer builds it; hikae-admin reindex "
           "rebuilds it)";
  case -HK_ECORRUPT:
    return "the search index cannot be read or belongs to another store (hikae-admin reindex "
           "rebuilds it)";
  case -HK_EPERM:
    return "the search index's files may not be opened by the server (see docs/search.md, "
           "\"Index\")";
  default: return "the search index cannot be opened right now";
  }
}

int
hk_worker_fts(struct evhttp_request *req, hk_fts **out, const char **why)
{
  HkConn *c = hk_conn_of(req);
  HkWorker *w = c ? c->w : NULL;
  int64_t now = g_get_monotonic_time();
  int ret = 0;

  *out = NULL;
  *why = hk_fts_why(-HK_EINVAL);
  if (!w) {
    ret = -HK_EINVAL;
    goto out;
  }
  /* A missing index is not remembered: finding it missing costs one
   * failed open of its `current` file, and the first search after the
   * indexer or a reindex makes it must find it in every worker, not in
   * one worker now and in the others a second later. */
  if (!w->fts && w->fts_err && w->fts_err != -HK_ENOTFOUND && now < w->fts_retry_at) {
    ret = w->fts_err;
    goto out;
  }
  if (!w->fts) {
    ret = hk_fts_open(w->srv->store, false, &w->fts);
    if (ret < 0) {
      /* Logged when the state changes, not on every retry. */
      if (ret != w->fts_err)
        hk_warn("worker %d: search index: %s (%s)", w->index, hk_fts_why(ret), hk_strerror(ret));
      w->fts = NULL;
      w->fts_err = ret;
      w->fts_retry_at = now + HK_FTS_RETRY_USEC;
      goto out;
    }
    if (w->fts_err)
      hk_info("worker %d: search index opened", w->index);
    w->fts_err = 0;
  }
  *out = w->fts;
out:
  if (ret < 0)
    *why = hk_fts_why(ret);
  return ret;
}

void
hk_worker_fts_failed(struct evhttp_request *req, int err)
{
  HkConn *c = hk_conn_of(req);
  HkWorker *w = c ? c->w : NULL;

  if (!w || !w->fts)
    return;
  hk_warn("worker %d: search index read failed (%s): closed, reopened later", w->index,
          hk_strerror(err));
  hk_fts_close(w->fts);
  w->fts = NULL;
  w->fts_err = err < 0 ? err : -HK_EIO;
  w->fts_retry_at = g_get_monotonic_time() + HK_FTS_RETRY_USEC;
}

static gpointer
hk_worker_run(gpointer data)
{
  HkWorker *w = data;

  event_base_dispatch(w->base);
  return NULL;
}

static int
hk_worker_new(HkServer *srv, int index, HkWorker **out)
{
  HkWorker *w = g_new0(HkWorker, 1);
  struct timeval tv = {srv->opt.request_timeout_s, 0};
  int ret = -HK_ENOMEM;

  w->srv = srv;
  w->index = index;
  w->fd = -1;
  g_queue_init(&w->conns);
  w->max_conns = (unsigned)MAX(1, srv->opt.max_connections / srv->nworkers);
  {
    /* epoll's changelist folds the add/delete pairs that every answer
     * makes (read off, write on, write off, read on) into at most one
     * epoll_ctl per descriptor per loop turn. We never dup() a socket,
     * the one case where the changelist misbehaves. */
    struct event_config *cfg = event_config_new();
    if (cfg)
      event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    w->base = cfg ? event_base_new_with_config(cfg) : NULL;
    if (cfg)
      event_config_free(cfg);
  }
  if (!w->base)
    goto out;
  w->audit_events = g_array_new(FALSE, TRUE, sizeof(HkAuditEvent));
  g_queue_init(&w->audit_waiting);
  w->audit_flush = event_new(w->base, -1, 0, hk_worker_audit_flush_cb, w);
  if (!w->audit_flush)
    goto out;
  w->http = evhttp_new(w->base);
  if (!w->http)
    goto out;
  /* Limits first, then bind (Bitcoin Core's order). */
  evhttp_set_max_headers_size(w->http, HK_HEADERS_MAX);
  evhttp_set_max_body_size(w->http, HK_BODY_MAX);
  evhttp_set_timeout_tv(w->http, &tv);
  /* Every method reaches the router, which answers 405 by the table. */
  evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                          EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  evhttp_set_default_content_type(w->http, "application/json; charset=utf-8");
  evhttp_set_bevcb(w->http, hk_bevcb, w);
  evhttp_set_gencb(w->http, hk_router_handle, srv);
  ret = hk_listen_socket(srv->opt.listen, &w->fd);
  if (ret < 0)
    goto out;
  w->bound = evhttp_accept_socket_with_handle(w->http, w->fd);
  if (!w->bound) {
    ret = -HK_EIO;
    goto out;
  }
  w->fd = -1; /* the listener owns it now */
  w->listener = evhttp_bound_socket_get_listener(w->bound);
  ret = 0;
out:
  *out = w;
  return ret;
}

static void
hk_worker_free(HkWorker *w)
{
  if (!w)
    return;
  if (w->drain_timer)
    event_free(w->drain_timer);
  if (w->audit_flush) {
    /* Records queued in the last turn are written, never dropped. */
    hk_worker_audit_flush_cb(-1, 0, w);
    event_free(w->audit_flush);
  }
  if (w->audit_events)
    g_array_unref(w->audit_events);
  /* Streams still going at the end of the drain: evhttp_free frees their
   * requests (still attached to their connections) itself. */
  for (GList *l = w->conns.head; l; l = l->next) {
    HkConn *c = l->data;
    g_clear_pointer(&c->stream, g_free);
  }
  if (w->http)
    evhttp_free(w->http);
  /* The thread that used it has ended: nothing else touches it. */
  if (w->fts)
    hk_fts_close(w->fts);
  if (w->fd >= 0)
    close(w->fd);
  if (w->base)
    event_base_free(w->base);
  g_free(w);
}

int
hk_workers_start(HkServer *srv)
{
  int ret = 0;

  event_set_log_callback(hk_event_log_cb);
  if (evthread_use_pthreads() != 0) {
    ret = -HK_EIO;
    goto out;
  }
  if (hk_conn_index < 0)
    hk_conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, hk_conn_free);
  srv->syncq = g_async_queue_new();
  srv->syncer = g_thread_new("hk-audit-sync", hk_syncer_run, srv);
  srv->workers = g_new0(HkWorker *, srv->nworkers);
  for (int i = 0; i < srv->nworkers; i++) {
    ret = hk_worker_new(srv, i, &srv->workers[i]);
    if (ret < 0)
      goto out;
  }
  for (int i = 0; i < srv->nworkers; i++) {
    char name[16];
    g_snprintf(name, sizeof name, "hk-worker-%d", i);
    srv->workers[i]->thread = g_thread_new(name, hk_worker_run, srv->workers[i]);
  }
out:
  return ret;
}

static void
hk_worker_drain_cb(evutil_socket_t fd, short what, void *arg)
{
  HkWorker *w = arg;

  if (w->nconns == 0 || g_get_monotonic_time() >= w->drain_until) {
    if (w->nconns)
      hk_warn("worker %d: %u connections still open at the end of the drain", w->index, w->nconns);
    event_base_loopexit(w->base, NULL);
  }
}

/* In the worker's thread: stop accepting, close idle connections, and let
 * busy ones finish their answer (hk_request_done_cb closes them after). */
static void
hk_worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
  HkWorker *w = arg;
  struct timeval tick = {0, 50000};

  if (w->bound) {
    evhttp_del_accept_socket(w->http, w->bound);
    w->bound = NULL;
    w->listener = NULL;
  }
  for (GList *l = w->conns.head; l; l = l->next) {
    HkConn *c = l->data;
    if (!c->busy)
      hk_conn_shutdown(c);
  }
  w->drain_until = g_get_monotonic_time() + (int64_t)w->srv->opt.drain_s * G_USEC_PER_SEC;
  w->drain_timer = event_new(w->base, -1, EV_PERSIST, hk_worker_drain_cb, w);
  event_add(w->drain_timer, &tick);
}

void
hk_workers_stop(HkServer *srv)
{
  g_atomic_int_set(&srv->stopping, 1);
  for (int i = 0; srv->workers && i < srv->nworkers; i++) {
    HkWorker *w = srv->workers[i];
    if (w && w->thread)
      event_base_once(w->base, -1, EV_TIMEOUT, hk_worker_stop_cb, w, NULL);
  }
  for (int i = 0; srv->workers && i < srv->nworkers; i++) {
    HkWorker *w = srv->workers[i];
    if (w && w->thread)
      g_thread_join(w->thread);
  }
  /* Stop the sync thread while the bases still exist. */
  if (srv->syncer) {
    g_async_queue_push(srv->syncq, &hk_syncer_stop_mark);
    g_thread_join(srv->syncer);
    srv->syncer = NULL;
    g_async_queue_unref(srv->syncq);
    srv->syncq = NULL;
  }
  /* Answers whose sync outlasted the drain were handed back to loops that
   * had ended: run each loop once more so that every one is sent or freed
   * (with its request) before the connections go. */
  for (int i = 0; srv->workers && i < srv->nworkers; i++) {
    HkWorker *w = srv->workers[i];
    if (w && w->thread) {
      if (w->drain_timer)
        event_del(w->drain_timer);
      event_base_loop(w->base, EVLOOP_NONBLOCK);
    }
  }
  for (int i = 0; srv->workers && i < srv->nworkers; i++)
    hk_worker_free(srv->workers[i]);
  g_clear_pointer(&srv->workers, g_free);
}

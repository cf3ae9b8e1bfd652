/* hk-server.h: what the files of hikae-server share: the server context, the
 * per-request context, and the route handlers. Internal to server/. */
#pragma once

#include "hk-audit.h"
#include "hk-json-writer.h"
#include "hk-session.h"
#include "hk-store.h"
#include "hk-users.h"

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#define HK_SERVER_PROGRAM "hikae-server"
#define HK_BODY_MAX (32 * 1024) /* only login and print events (1,000 IDs) have a body */
#define HK_HEADERS_MAX (8 * 1024)

typedef struct {
  char *store_dir;
  char *state_dir;
  char *listen;
  char *tls_cert;
  char *tls_key;
  int workers;
  int session_idle_s;    /* 30 min */
  int session_max_s;     /* 12 h */
  int indexer_stale_s;   /* a silent "running" indexer counts as stopped after this */
  int max_connections;   /* across all workers */
  int request_timeout_s; /* to receive a whole request; read/write stall; keep-alive idle */
  int drain_s;           /* SIGTERM: how long in-flight answers may take */
  int max_hashes;        /* concurrent Argon2id verifications: login threads */
  int login_queue;       /* logins waiting or running; beyond, 503 */
  int max_sessions;
  char *audit_sync;       /* "always" or "interval" */
  int audit_sync_ms;      /* the interval */
  bool audit_sync_always; /* parsed from audit_sync */
  int map_size_mb;        /* the store's map here; 0: HK_STORE_MAP_DEFAULT */
  gboolean require_totp;  /* every login needs TOTP; accounts without it are refused */
} HkServerOptions;

typedef struct hk_worker HkWorker;
struct hk_fts; /* hk-fts.h */
typedef struct hk_login_pool HkLoginPool;

/* What the server last saw of the shared accounts: the transaction id
 * (hk_users_generation, moved by any write, failed logins included) and the
 * users' change counter (hk_users_changes, moved only by user changes). */
typedef struct {
  GMutex lock;
  uint64_t seen;    /* txn id; read and written with __atomic builtins */
  uint64_t changes; /* under lock */
} HkUsersWatch;

typedef struct {
  HkServerOptions opt;
  hk_store *store;
  HkUsers *users;
  HkSessions *sessions;
  HkAudit *audit;
  SSL_CTX *ssl;
  gint stopping;
  HkWorker **workers;
  int nworkers;
  GThread *syncer;
  GAsyncQueue *syncq;
  HkUsersWatch accounts; /* revokes sessions of locked/removed users */
  HkLoginPool *login;    /* hk-route-session.c: logins off the event loops */
} HkServer;

/* Who may use a route (docs/api.md, "Roles"): HK_AUTH_VIEWER is every
 * role that reads clinical data (viewer, clinician_search); HK_AUTH_SEARCH
 * the cross-patient search, clinician_search alone. */
typedef enum { HK_AUTH_NONE, HK_AUTH_ANY, HK_AUTH_VIEWER, HK_AUTH_AUDITOR, HK_AUTH_SEARCH } HkAuth;

/* One request being answered. Handlers end in exactly one hk_reply_* call. */
typedef struct {
  HkServer *srv;
  struct evhttp_request *req;
  char client[64];
  HkSessionInfo session; /* valid when authed */
  bool authed;
  const char *seg[4]; /* path segments after /api/v1/ (borrowed from path) */
  int nseg;
  char *path; /* owned copy of the path */
  struct evkeyvalq query;
  bool query_ok;
  bool replied;
  int64_t audit_end; /* audit log offset the answer must wait for */
} HkRequest;

/* ---- hk-http.c: replies and request helpers ---- */

/* Reply with the JSON node (taken) and status. */
void hk_reply_json(HkRequest *r, int status, JsonNode *node);
/* Reply with a JSON object built by b (unref'd here). */
void hk_reply_builder(HkRequest *r, int status, JsonBuilder *b);
/* {"error": code, "message": message}. */
void hk_reply_error(HkRequest *r, int status, const char *code, const char *message);
/* Status with no body (204, 304). */
void hk_reply_empty(HkRequest *r, int status);
/* Bytes (copied) with a content type. */
void hk_reply_bytes(HkRequest *r, int status, const char *content_type, struct evbuffer *body);
/* Bytes [first, first + len) of the stored blob sha, streamed from the
 * store (hk_worker_send_blob). */
void hk_reply_blob(HkRequest *r, int status, const char *content_type, const char *sha,
                   uint64_t first, uint64_t len);
/* Set a response header. */
void hk_reply_header(HkRequest *r, const char *name, const char *value);

/* A query parameter (decoded) or NULL. */
const char *hk_query(HkRequest *r, const char *name);
/* A request header or NULL. */
const char *hk_header(HkRequest *r, const char *name);
/* Parse the request body as a JSON object: 0 and *out (unref), or
 * -HK_EINVAL / -HK_ETOOBIG. */
int hk_request_json(HkRequest *r, JsonParser **parser, JsonObject **out);
/* Parse an unsigned decimal query value within [min, max]; def if absent.
 * \return 0 or -HK_EINVAL. */
int hk_query_uint(HkRequest *r, const char *name, unsigned min, unsigned max, unsigned def,
                  unsigned *out);

/* Append an audit record for this request (time, user, client filled in).
 * \return 0, or -HK_EIO after replying 503 itself: the caller stops. */
int hk_request_audit(HkRequest *r, HkAuditEvent *e);

/* JSON builder helpers: a string member or null; an RFC 3339 time or null
 * (usec == 0). */
void hk_json_str(JsonBuilder *b, const char *name, const char *value);
void hk_json_time(JsonBuilder *b, const char *name, int64_t usec);
void hk_json_int(JsonBuilder *b, const char *name, int64_t value);

/* Reply with the JSON text of g (taken). */
void hk_reply_jw(HkRequest *r, int status, GString *g);

/* ---- hk-router.c ---- */

/* Entry point of every request (evhttp generic callback). */
void hk_router_handle(struct evhttp_request *req, void *arg);

/* ---- hk-route-session.c: the login pool ---- */

/* Start the login threads (opt.max_hashes) and their queue
 * (opt.login_queue). \return 0; -HK_ENOMEM. */
int hk_login_pool_start(HkServer *srv);
/* Refuse new logins (503), finish the queued ones (their answers go to
 * their event loops, so call this before hk_workers_stop). */
void hk_login_pool_stop(HkServer *srv);
/* Stop (if not yet) and free the pool, once no worker runs. */
void hk_login_pool_free(HkServer *srv);

/* ---- route handlers ---- */
/* from/to of a query: RFC 3339, or YYYY-MM-DD as that day in Japan (+09:00);
 * end: the last microsecond of the day. NULL text leaves *usec alone. */
int hk_parse_bound(const char *text, bool end, int64_t *usec);
void hk_route_login(HkRequest *r);
void hk_route_logout(HkRequest *r);
void hk_route_health(HkRequest *r);
void hk_route_status(HkRequest *r);
void hk_route_patient_search(HkRequest *r);
void hk_route_patient_get(HkRequest *r);
/* A document ID as the store writes it: 16 lowercase hex digits (NULL: no). */
bool hk_doc_id_valid(const char *id);
void hk_route_patient_documents(HkRequest *r);
void hk_route_document_get(HkRequest *r);
void hk_route_document_content(HkRequest *r);
void hk_route_document_thumbnail(HkRequest *r);
/* hk-route-highlights.c: where q's matches are on an OCR page. */
void hk_route_document_highlights(HkRequest *r);
void hk_route_census(HkRequest *r);
void hk_route_print_event(HkRequest *r);
void hk_route_audit(HkRequest *r);
void hk_route_search(HkRequest *r);

/* ---- hk-route-search.c: full-text search (docs/api.md, "Search") ---- */

/* One document found by a text search, with its matching pages. */
typedef struct hk_search_doc HkSearchDoc;
/* The <document> object of a timeline row (hk-route-archive.c), as shown
 * under the patient shown_under; with hit, its "matches" too. */
void hk_row_json(GString *g, const HkRow *row, const char *shown_under, const HkSearchDoc *hit);
/* "matches": [{"page", "snippet", "marks": [[start, length]...]}...]. */
void hk_search_matches_json(GString *g, const HkSearchDoc *hit);
/* GET /patients/{id}/documents with q: the timeline query tq (validated,
 * limit 1-1000) of patient pid, kept to the documents whose current
 * version's text holds q. Answers the request. */
void hk_search_timeline(HkRequest *r, const char *pid, const char *q, const HkTimelineQuery *tq);

/* ---- hk-worker.c: event bases, TLS connections, limits ---- */

/* Make the TLS context: TLS 1.2+, 1.3 preferred, AEAD ciphers only.
 * \return 0; -HK_ECRYPTO (logged: which file and why). */
int hk_tls_context_new(const char *cert, const char *key, SSL_CTX **out);
/* Bind and start nworkers threads, each with its own event base and its own
 * SO_REUSEPORT listener on host:port.
 * \return 0; -HK_EINVAL (bad address); -HK_EIO (bind/listen failed). */
int hk_workers_start(HkServer *srv);
/* Stop accepting, let in-flight answers finish (at most drain_s), join. */
void hk_workers_stop(HkServer *srv);
/* Note that the request r is being answered / has been answered, for the
 * slow-request deadline and the graceful stop. */
void hk_worker_request_begin(struct evhttp_request *req);
/* Queue the audit record of the request being answered in its worker's
 * batch: the batch is written in one append at the end of this loop turn,
 * and answers sent with audit_end HK_AUDIT_QUEUED leave only after it.
 * \return 0; -HK_EINVAL if req is not on one of our connections (the caller
 * then appends the record itself). */
int hk_worker_audit_queue(struct evhttp_request *req, const HkAuditEvent *e);
#define HK_AUDIT_QUEUED (-1)
/* Send the answer. Its audit record (ending at audit_end, 0 if none,
 * HK_AUDIT_QUEUED if in this turn's batch) has
 * been written already; with --audit-sync=always the answer waits until the
 * record is durable: the records of concurrent requests share one fdatasync
 * in the sync thread, and if it fails a 503 goes out instead. With
 * --audit-sync=interval it leaves at once and the sync thread makes the log
 * durable every interval. body (may be NULL) is drained, not freed. */
void hk_worker_send(struct evhttp_request *req, int status, struct evbuffer *body,
                    int64_t audit_end);
/* The full-text index of the worker answering req (hk-fts.h): each worker
 * thread opens its own read-only handle on first use and keeps it. When it
 * cannot be opened (no index yet, damaged, another store's), the answer is
 * remembered for HK_FTS_RETRY_USEC and then tried again, so that an index
 * the indexer creates later is found without a restart, and a missing one
 * costs no open per request. *why is a static reason for the 503.
 * \return 0 and *out (borrowed); -HK_ENOTFOUND; -HK_ECORRUPT; -HK_EIO;
 * -HK_EINVAL if req is not on one of our connections. */
int hk_worker_fts(struct evhttp_request *req, struct hk_fts **out, const char **why);
/* The handle of hk_worker_fts failed to read (err): close it, to be opened
 * again after HK_FTS_RETRY_USEC. */
void hk_worker_fts_failed(struct evhttp_request *req, int err);
#define HK_FTS_RETRY_USEC ((int64_t)G_USEC_PER_SEC)
/* Content answers up to this size are copied whole; larger ones stream. */
#define HK_STREAM_CHUNK (64 * 1024)
/* Send the bytes [first, first + len) of the stored blob sha as the body,
 * as hk_worker_send does with its audit record: a chunk of HK_STREAM_CHUNK
 * at a time, each copied under a short read transaction of its own once the
 * previous one has left, so that no snapshot, reader slot or pointer into
 * the map is held while the client reads. Sets Content-Length. The answer
 * must leave within the request timeout plus len at 64 KiB/s, or the
 * connection is cut. If the blob cannot be read mid-way, the connection is
 * cut (the body ends short of its length). */
void hk_worker_send_blob(struct evhttp_request *req, int status, hk_store *store, const char *sha,
                         uint64_t first, uint64_t len, int64_t audit_end);

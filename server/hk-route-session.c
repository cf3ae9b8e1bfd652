/* POST /api/v1/session (login) and DELETE /api/v1/session (logout).
 *
 * A login is checked off the event loops: the request is parsed and bounded
 * here (name, password and code sizes refused at once, before anything is
 * hashed or written), then handed to the login pool, a fixed number of
 * threads (--max-hashes) fed by a bounded queue (--login-queue). The pool
 * runs hk_users_login (Argon2id, the synced accounts write) and hands the
 * result back to the connection's own event loop, which starts the session,
 * audits and answers. When the queue is full the answer is 503 with
 * Retry-After at once: a login flood never holds an event loop, so clinical
 * reads keep their latency (docs/api.md, "Login limits"). */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-time.h"

#include <event2/event.h>
#include <sodium.h>
#include <sys/queue.h>
#include <string.h>

struct hk_login_pool {
  GThreadPool *threads;
  GMutex lock;
  bool closed;       /* stopping: no more jobs */
  gint pending;      /* queued or running */
  int max;           /* --login-queue */
  int refused;       /* 503s since the last warning (under lock) */
  gint64 warned_at;  /* monotonic usec of the last warning (under lock) */
};

/* One login on its way through the pool. The pool thread touches only the
 * strings, now and the result; req, evcon and the HkServer are used only in
 * the connection's event loop (submit, close callback, answer). */
typedef struct {
  HkServer *srv;
  struct evhttp_request *req; /* NULL once its connection is gone */
  struct evhttp_connection *evcon;
  struct event_base *base;
  char client[64];
  char user[HK_USER_NAME_MAX + 1];
  char *password;
  size_t password_len;
  char *otp;
  int ret;
  HkLoginResult res;
} HkLoginJob;

static const char *
hk_member_str(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);

  if (!n || JSON_NODE_TYPE(n) != JSON_NODE_VALUE || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string(n);
}

static void
hk_login_job_free(HkLoginJob *job)
{
  if (!job)
    return;
  if (job->password) {
    sodium_memzero(job->password, job->password_len);
    g_free(job->password);
  }
  if (job->otp) {
    sodium_memzero(job->otp, strlen(job->otp));
    g_free(job->otp);
  }
  g_free(job);
}

/* In the event loop, with the pool's result: session, audit, answer. */
static void
hk_login_answer(HkRequest *r, HkLoginJob *job)
{
  const char *user = job->user;
  HkLoginResult res = job->res;
  int64_t now = hk_time_now();
  int ret = job->ret;

  if (ret == 0) {
    char token[HK_TOKEN_TEXT_LEN + 1];
    HkSessionInfo info;
    JsonBuilder *b;
    HkAuditEvent e = { .user = user, .action = "login", .outcome = "success", .status = 201 };

    ret = hk_sessions_create(r->srv->sessions, user, res.role, now, token, &info);
    if (ret < 0) {
      hk_reply_error(r, 500, "internal", "cannot start a session");
      goto out;
    }
    /* Audited before the token leaves; if that fails, the session is
     * dropped again so nothing unaudited can use it. */
    if (hk_request_audit(r, &e) < 0) {
      hk_sessions_end(r->srv->sessions, token);
      sodium_memzero(token, sizeof token);
      goto out;
    }
    b = json_builder_new();
    json_builder_begin_object(b);
    hk_json_str(b, "token", token);
    hk_json_time(b, "expires_at", info.expires_at);
    hk_json_str(b, "user", user);
    hk_json_str(b, "role", hk_role_name(res.role));
    json_builder_end_object(b);
    hk_reply_builder(r, 201, b);
    sodium_memzero(token, sizeof token);
  } else if (ret == -HK_ELOCKED) {
    int64_t s = (res.retry_after_usec + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
    char secs[32];
    JsonBuilder *b;
    HkAuditEvent e = { .user = user, .action = "login", .outcome = "locked", .status = 429 };

    if (hk_request_audit(r, &e) < 0)
      goto out;
    g_snprintf(secs, sizeof secs, "%lld", (long long)s);
    hk_reply_header(r, "Retry-After", secs);
    b = json_builder_new();
    json_builder_begin_object(b);
    hk_json_str(b, "error", "locked");
    hk_json_str(b, "message", "too many failed logins; try again later");
    hk_json_int(b, "retry_after_s", s);
    json_builder_end_object(b);
    hk_reply_builder(r, 429, b);
  } else if (ret == -HK_EAUTH && res.totp_missing) {
    HkAuditEvent e = { .user = user, .action = "login", .outcome = "failure", .status = 403,
                       .detail = "totp not enrolled (--require-totp)" };
    if (hk_request_audit(r, &e) < 0)
      goto out;
    /* Only after the right password (docs/api.md, "Login answers"): the
     * user learns why, and what to ask for, instead of retrying into a
     * lockout. */
    hk_reply_error(r, 403, "totp_required",
                   "this server requires a one-time code (TOTP) for every account, and this "
                   "account has none; ask an administrator to enrol one");
  } else if (ret == -HK_EAUTH) {
    HkAuditEvent e = { .user = user, .action = "login", .outcome = "failure", .status = 401,
                       .detail = res.otp_required ? "otp required" : NULL };
    if (hk_request_audit(r, &e) < 0)
      goto out;
    /* One answer for every refusal: a distinct "code required" would tell
     * whoever guessed the password that it was right (worth trying on other
     * systems) before any code is known. The viewer always shows the code
     * field, so a user is not left guessing; the audit record keeps
     * "otp required" for the auditor. */
    hk_reply_error(r, 401, "invalid_credentials",
                   "wrong user name, password or one-time code (an account with TOTP needs its code)");
  } else if (ret == -HK_EINVAL) {
    hk_reply_error(r, 400, "bad_request", "user name, password or code too long");
  } else {
    /* Fail closed: the attempt could not be recorded, so it is neither a
     * success nor a counted failure. Every name gets the same answer. */
    hk_error("login: accounts unavailable: %s", hk_strerror(ret));
    hk_reply_header(r, "Retry-After", "30");
    hk_reply_error(r, 503, "unavailable", "accounts unavailable");
  }
out:
  return;
}

/* In the event loop: the pool is done with job. */
static void
hk_login_done_cb(evutil_socket_t fd, short what, void *arg)
{
  HkLoginJob *job = arg;

  if (job->req) {
    HkRequest r = { .srv = job->srv, .req = job->req };
    /* The connection may serve further requests: forget this job. */
    evhttp_connection_set_closecb(job->evcon, NULL, NULL);
    TAILQ_INIT(&r.query);
    g_strlcpy(r.client, job->client, sizeof r.client);
    hk_login_answer(&r, job);
  }
  hk_login_job_free(job);
}

/* In the event loop: the connection of a queued login is being freed.
 * libevent frees the requests still on the connection right after this;
 * a request it detached first (peer gone before the answer) is ours to
 * free. Either way the answer is not sent. */
static void
hk_login_closed_cb(struct evhttp_connection *evcon, void *arg)
{
  HkLoginJob *job = arg;

  if (job->req && evhttp_request_get_connection(job->req) != evcon)
    evhttp_request_free(job->req);
  job->req = NULL;
}

/* A pool thread: the blocking part of a login. */
static void
hk_login_run(gpointer data, gpointer user_data)
{
  HkLoginJob *job = data;
  HkLoginPool *pool = user_data;

  job->ret = hk_users_login(job->srv->users, job->user, job->password, job->otp,
                            hk_time_now(), &job->res);
  sodium_memzero(job->password, job->password_len);
  g_atomic_int_dec_and_test(&pool->pending);
  if (event_base_once(job->base, -1, EV_TIMEOUT, hk_login_done_cb, job, NULL) != 0)
    hk_error("login: cannot hand the answer back to its event loop");
}

int
hk_login_pool_start(HkServer *srv)
{
  HkLoginPool *pool = g_new0(HkLoginPool, 1);
  GError *err = NULL;
  int ret = 0;

  g_mutex_init(&pool->lock);
  pool->max = srv->opt.login_queue;
  pool->threads = g_thread_pool_new(hk_login_run, pool, srv->opt.max_hashes, TRUE, &err);
  if (!pool->threads) {
    hk_error("login threads: %s", err->message);
    g_error_free(err);
    g_mutex_clear(&pool->lock);
    g_free(pool);
    pool = NULL;
    ret = -HK_ENOMEM;
  }
  srv->login = pool;
  return ret;
}

void
hk_login_pool_stop(HkServer *srv)
{
  HkLoginPool *pool = srv->login;
  GThreadPool *threads;

  if (!pool)
    return;
  g_mutex_lock(&pool->lock);
  pool->closed = true;
  threads = pool->threads;
  pool->threads = NULL;
  g_mutex_unlock(&pool->lock);
  /* Finish what is queued: each answer is handed to its event loop, which
   * still runs (the workers stop after this). The pool itself stays until
   * hk_login_pool_free: a worker may still be looking at it. */
  if (threads)
    g_thread_pool_free(threads, FALSE, TRUE);
}

void
hk_login_pool_free(HkServer *srv)
{
  HkLoginPool *pool = srv->login;

  if (!pool)
    return;
  hk_login_pool_stop(srv);
  g_mutex_clear(&pool->lock);
  g_free(pool);
  srv->login = NULL;
}

/* Queue job. \return 0; -HK_EBUSY (queue full, or stopping); -HK_ENOMEM. */
static int
hk_login_submit(HkLoginPool *pool, HkLoginJob *job)
{
  int ret = 0;

  g_mutex_lock(&pool->lock);
  if (pool->closed) {
    ret = -HK_EBUSY;
  } else if (g_atomic_int_get(&pool->pending) >= pool->max) {
    ret = -HK_EBUSY;
  } else {
    g_atomic_int_inc(&pool->pending);
    if (!g_thread_pool_push(pool->threads, job, NULL)) {
      g_atomic_int_dec_and_test(&pool->pending);
      ret = -HK_ENOMEM;
    }
  }
  g_mutex_unlock(&pool->lock);
  return ret;
}

/* A full queue is logged at most once a minute, with the count. */
static void
hk_login_note_refused(HkLoginPool *pool)
{
  gint64 now = g_get_monotonic_time();
  int n = 0;

  g_mutex_lock(&pool->lock);
  pool->refused++;
  if (now - pool->warned_at >= 60 * G_USEC_PER_SEC) {
    n = pool->refused;
    pool->refused = 0;
    pool->warned_at = now;
  }
  g_mutex_unlock(&pool->lock);
  if (n)
    hk_warn("login queue full (%d waiting or running): %d login(s) answered 503", pool->max, n);
}

void
hk_route_login(HkRequest *r)
{
  JsonParser *p = NULL;
  JsonObject *o = NULL;
  HkLoginJob *job = NULL;
  const char *user, *password, *otp;
  struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
  int ret;

  ret = hk_request_json(r, &p, &o);
  user = o ? hk_member_str(o, "user") : NULL;
  password = o ? hk_member_str(o, "password") : NULL;
  otp = o ? hk_member_str(o, "otp") : NULL;
  if (ret < 0 || !user || !password) {
    hk_reply_error(r, 400, "bad_request", "expected {\"user\", \"password\", \"otp\"?}");
    goto out;
  }
  /* Bounded before anything is queued, hashed or written: no account has
   * such a name or password, so refusing says nothing about who exists. */
  if (!*user || strlen(user) > HK_USER_NAME_MAX) {
    hk_reply_error(r, 400, "bad_request", "user name empty or longer than 64 bytes");
    goto out;
  }
  if (strlen(password) > HK_PASSWORD_MAX) {
    hk_reply_error(r, 400, "bad_request", "password longer than 1024 bytes");
    goto out;
  }
  if (otp && strlen(otp) > HK_OTP_MAX) {
    hk_reply_error(r, 400, "bad_request", "one-time code longer than 16 bytes");
    goto out;
  }
  job = g_new0(HkLoginJob, 1);
  job->srv = r->srv;
  job->req = r->req;
  job->evcon = evcon;
  job->base = evcon ? evhttp_connection_get_base(evcon) : NULL;
  g_strlcpy(job->client, r->client, sizeof job->client);
  g_strlcpy(job->user, user, sizeof job->user);
  job->password_len = strlen(password);
  job->password = g_strdup(password);
  job->otp = g_strdup(otp);
  if (!evcon || !job->base || !r->srv->login) {
    hk_reply_error(r, 500, "internal", "internal error");
    goto out;
  }
  /* Before the push: the pool may finish before this returns, but its
   * answer runs in this loop, after us. */
  evhttp_connection_set_closecb(evcon, hk_login_closed_cb, job);
  ret = hk_login_submit(r->srv->login, job);
  if (ret < 0) {
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    hk_login_note_refused(r->srv->login);
    hk_reply_header(r, "Retry-After", "1");
    hk_reply_error(r, 503, "busy", "too many logins at once; try again in a moment");
    goto out;
  }
  job = NULL;
  r->replied = true; /* the answer comes from hk_login_done_cb */
out:
  hk_login_job_free(job);
  if (p)
    g_object_unref(p);
}

void
hk_route_logout(HkRequest *r)
{
  const char *h = hk_header(r, "Authorization");
  HkAuditEvent e = { .action = "logout", .outcome = "success", .status = 204 };

  if (hk_request_audit(r, &e) < 0)
    goto out;
  /* The router has checked the header: "Bearer <token>". */
  hk_sessions_end(r->srv->sessions, h + 7 + strspn(h + 7, " "));
  hk_reply_empty(r, 204);
out:
  return;
}

void
hk_route_health(HkRequest *r)
{
  JsonBuilder *b = json_builder_new();

  json_builder_begin_object(b);
  hk_json_str(b, "status", "ok");
  json_builder_end_object(b);
  hk_reply_builder(r, 200, b);
}

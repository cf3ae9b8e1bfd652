/* Routing: the path is checked as plain text (no decoding), split into
 * segments and matched against the table of interfaces.md; IDs are then
 * looked up as keys by the handlers. No path is ever built from the URL. */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-time.h"

#include <string.h>
#include <sys/queue.h>

#define HK_PREFIX "/api/v1/"

typedef struct {
  const char *pattern[4]; /* "*" matches one ID segment */
  int nseg;
  enum evhttp_cmd_type method;
  HkAuth auth;
  void (*handler)(HkRequest *r);
} HkRoute;

static const HkRoute hk_routes[] = {
  { { "session" }, 1, EVHTTP_REQ_POST, HK_AUTH_NONE, hk_route_login },
  { { "session" }, 1, EVHTTP_REQ_DELETE, HK_AUTH_ANY, hk_route_logout },
  { { "health" }, 1, EVHTTP_REQ_GET, HK_AUTH_NONE, hk_route_health },
  { { "status" }, 1, EVHTTP_REQ_GET, HK_AUTH_ANY, hk_route_status },
  { { "patients" }, 1, EVHTTP_REQ_GET, HK_AUTH_VIEWER, hk_route_patient_search },
  { { "patients", "*" }, 2, EVHTTP_REQ_GET, HK_AUTH_VIEWER, hk_route_patient_get },
  { { "patients", "*", "documents" }, 3, EVHTTP_REQ_GET, HK_AUTH_VIEWER,
    hk_route_patient_documents },
  { { "documents", "*" }, 2, EVHTTP_REQ_GET, HK_AUTH_VIEWER, hk_route_document_get },
  { { "documents", "*", "content" }, 3, EVHTTP_REQ_GET, HK_AUTH_VIEWER,
    hk_route_document_content },
  { { "documents", "*", "thumbnail" }, 3, EVHTTP_REQ_GET, HK_AUTH_VIEWER,
    hk_route_document_thumbnail },
  { { "documents", "*", "highlights" }, 3, EVHTTP_REQ_GET, HK_AUTH_VIEWER,
    hk_route_document_highlights },
  { { "census" }, 1, EVHTTP_REQ_GET, HK_AUTH_VIEWER, hk_route_census },
  { { "print-events" }, 1, EVHTTP_REQ_POST, HK_AUTH_VIEWER, hk_route_print_event },
  { { "audit" }, 1, EVHTTP_REQ_GET, HK_AUTH_AUDITOR, hk_route_audit },
  { { "search" }, 1, EVHTTP_REQ_GET, HK_AUTH_SEARCH, hk_route_search },
};

static const char *
hk_method_name(enum evhttp_cmd_type m)
{
  switch (m) {
  case EVHTTP_REQ_GET: return "GET";
  case EVHTTP_REQ_POST: return "POST";
  case EVHTTP_REQ_DELETE: return "DELETE";
  default: return "?";
  }
}

/* Only what IDs and route names are made of: anything else (percent
 * escapes, dots, NULs, non-ASCII) cannot name a resource here. */
static bool
hk_path_chars_ok(const char *p)
{
  for (; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '/' && *p != '-' && *p != '_')
      return false;
  return true;
}

static bool
hk_route_matches(const HkRoute *rt, const HkRequest *r)
{
  if (rt->nseg != r->nseg)
    return false;
  for (int i = 0; i < rt->nseg; i++)
    if (strcmp(rt->pattern[i], "*") != 0 && strcmp(rt->pattern[i], r->seg[i]) != 0)
      return false;
  return true;
}

/* hikae-admin shares accounts.mdb: when a user has been locked, removed or
 * given a new password since we last looked, end the sessions of users now
 * locked or removed, and those started before a password change.
 * Two levels, so that a failed login (which writes its failure record)
 * costs other sessions nothing global: the transaction id is one memory
 * load per request; when it has moved, one request reads the users' change
 * counter (one LMDB read, about a microsecond), and only when that has moved
 * are the sessions' users re-checked. */
static void
hk_router_accounts_check(HkServer *srv)
{
  HkUsersWatch *w = &srv->accounts;
  uint64_t gen = hk_users_generation(srv->users);
  uint64_t changes = 0;
  GPtrArray *names;
  int ret;

  if (gen == __atomic_load_n(&w->seen, __ATOMIC_ACQUIRE))
    return;
  g_mutex_lock(&w->lock);
  if (gen == w->seen)
    goto out;
  ret = hk_users_changes(srv->users, &changes);
  if (ret < 0) {
    /* Look again at the next request. */
    hk_warn("accounts: cannot read the change counter: %s", hk_strerror(ret));
    goto out;
  }
  if (changes != w->changes) {
    names = hk_sessions_users(srv->sessions);
    for (guint i = 0; i < names->len; i++) {
      const char *name = names->pdata[i];
      HkUser *u = NULL;
      ret = hk_users_get(srv->users, name, &u);
      if (ret == -HK_ENOTFOUND || (ret == 0 && u->locked)) {
        unsigned n = hk_sessions_end_user(srv->sessions, name);
        hk_info("user %s %s: %u session(s) ended", name, u ? "locked" : "removed", n);
      } else if (ret == 0) {
        unsigned n = hk_sessions_end_user_before(srv->sessions, name, u->password_at);
        if (n)
          hk_info("user %s: password changed: %u session(s) ended", name, n);
      } else {
        hk_warn("accounts: cannot read user %s: %s", name, hk_strerror(ret));
      }
      hk_user_free(u);
    }
    g_ptr_array_unref(names);
    w->changes = changes;
  }
  __atomic_store_n(&w->seen, gen, __ATOMIC_RELEASE);
out:
  g_mutex_unlock(&w->lock);
}

static bool
hk_router_role_ok(HkAuth auth, HkRole role)
{
  switch (auth) {
  case HK_AUTH_NONE:
  case HK_AUTH_ANY: return true;
  case HK_AUTH_VIEWER: return hk_role_reads_clinical(role);
  case HK_AUTH_AUDITOR: return role == HK_ROLE_AUDITOR;
  case HK_AUTH_SEARCH: return role == HK_ROLE_CLINICIAN_SEARCH;
  }
  return false;
}

static bool
hk_router_auth(HkRequest *r)
{
  const char *h = hk_header(r, "Authorization");
  const char *token;
  int ret;

  if (!h || g_ascii_strncasecmp(h, "Bearer ", 7) != 0)
    return false;
  token = h + 7;
  while (*token == ' ')
    token++;
  hk_router_accounts_check(r->srv);
  ret = hk_sessions_check(r->srv->sessions, token, hk_time_now(), &r->session);
  r->authed = ret == 0;
  return r->authed;
}

void
hk_router_handle(struct evhttp_request *req, void *arg)
{
  HkRequest r = { .srv = arg, .req = req };
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  enum evhttp_cmd_type method = evhttp_request_get_command(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
  const HkRoute *found = NULL;
  GString *allow = NULL;
  char *host = NULL;
  ev_uint16_t port = 0;

  hk_worker_request_begin(req);
  TAILQ_INIT(&r.query);
  evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
  g_strlcpy(r.client, host ? host : "?", sizeof r.client);

  if (g_atomic_int_get(&r.srv->stopping)) {
    hk_reply_error(&r, 503, "stopping", "the server is shutting down");
    goto out;
  }
  if (!path || !g_str_has_prefix(path, HK_PREFIX) || !hk_path_chars_ok(path)) {
    if (path && g_str_has_prefix(path, HK_PREFIX))
      hk_reply_error(&r, 400, "bad_request", "malformed path");
    else
      hk_reply_error(&r, 404, "not_found", "no such resource");
    goto out;
  }
  if (query) {
    r.query_ok = evhttp_parse_query_str(query, &r.query) == 0;
    if (!r.query_ok) {
      hk_reply_error(&r, 400, "bad_request", "malformed query");
      goto out;
    }
  }
  r.path = g_strdup(path + strlen(HK_PREFIX));
  {
    char *p = r.path;
    while (p) {
      char *slash = strchr(p, '/');
      if (slash)
        *slash = 0;
      if (r.nseg == G_N_ELEMENTS(r.seg) || *p == 0) {
        hk_reply_error(&r, 404, "not_found", "no such resource");
        goto out;
      }
      r.seg[r.nseg++] = p;
      p = slash ? slash + 1 : NULL;
    }
  }
  for (size_t i = 0; i < G_N_ELEMENTS(hk_routes); i++) {
    if (!hk_route_matches(&hk_routes[i], &r))
      continue;
    if (!allow)
      allow = g_string_new(NULL);
    g_string_append_printf(allow, "%s%s", allow->len ? ", " : "",
                           hk_method_name(hk_routes[i].method));
    if (hk_routes[i].method == method)
      found = &hk_routes[i];
  }
  if (!allow) {
    hk_reply_error(&r, 404, "not_found", "no such resource");
    goto out;
  }
  if (!found) {
    hk_reply_header(&r, "Allow", allow->str);
    hk_reply_error(&r, 405, "method_not_allowed", "method not allowed on this resource");
    goto out;
  }
  if (found->auth != HK_AUTH_NONE && !hk_router_auth(&r)) {
    hk_reply_error(&r, 401, "unauthorized", "a valid session token is required");
    goto out;
  }
  if (!hk_router_role_ok(found->auth, r.session.role)) {
    HkAuditEvent e = { .action = "access", .outcome = "denied", .status = 403,
                       .detail = evhttp_request_get_uri(req) };
    if (hk_request_audit(&r, &e) == 0)
      hk_reply_error(&r, 403, "forbidden", "your role may not use this resource");
    goto out;
  }
  found->handler(&r);
  if (!r.replied) {
    hk_error("route left the request unanswered");
    hk_reply_error(&r, 500, "internal", "internal error");
  }
out:
  if (allow)
    g_string_free(allow, TRUE);
  evhttp_clear_headers(&r.query);
  g_free(r.path);
}

/* POST /api/v1/session (login) and DELETE /api/v1/session (logout). */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-log.h"

#include <sodium.h>
#include <string.h>

static const char *
hk_member_str(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);

  if (!n || JSON_NODE_TYPE(n) != JSON_NODE_VALUE || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string(n);
}

void
hk_route_login(HkRequest *r)
{
  JsonParser *p = NULL;
  JsonObject *o = NULL;
  HkLoginResult res;
  const char *user, *password, *otp;
  int64_t now = g_get_real_time();
  int ret;

  ret = hk_request_json(r, &p, &o);
  user = o ? hk_member_str(o, "user") : NULL;
  password = o ? hk_member_str(o, "password") : NULL;
  otp = o ? hk_member_str(o, "otp") : NULL;
  if (ret < 0 || !user || !password) {
    hk_reply_error(r, 400, "bad_request", "expected {\"user\", \"password\", \"otp\"?}");
    goto out;
  }
  ret = hk_users_login(r->srv->users, user, password, otp, now, &res);
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
  } else if (ret == -HK_EAUTH) {
    HkAuditEvent e = { .user = user, .action = "login", .outcome = "failure", .status = 401,
                       .detail = res.otp_required ? "otp required" : NULL };
    if (hk_request_audit(r, &e) < 0)
      goto out;
    if (res.otp_required)
      hk_reply_error(r, 401, "otp_required", "a one-time code is required");
    else
      hk_reply_error(r, 401, "invalid_credentials", "wrong user name or password");
  } else {
    hk_error("login: accounts unavailable: %s", hk_strerror(ret));
    hk_reply_error(r, 503, "unavailable", "accounts unavailable");
  }
out:
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

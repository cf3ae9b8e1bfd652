/* hk-session.h: login sessions of hikae-server.
 *
 * A token is 32 bytes from libsodium's CSPRNG (256 bits), sent to the client
 * once as 43 characters of unpadded base64url. The server keeps only its
 * SHA-256, so a memory dump or a debug log cannot replay a session. Sessions
 * live in the server's memory: a restart ends them all, which is the safe
 * failure. A session ends idle_usec after its last use or max_usec after its
 * creation, whichever comes first (interfaces.md: 30 min, 12 h). Safe to use
 * from several threads. */
#pragma once

#include "hk-users.h"

#include <stdint.h>

#define HK_TOKEN_BYTES 32
#define HK_TOKEN_TEXT_LEN 43 /* base64url without padding */

typedef struct hk_sessions HkSessions;

typedef struct {
  char user[HK_USER_NAME_MAX + 1];
  HkRole role;
  int64_t created_at;
  int64_t last_seen;
  int64_t expires_at; /* min(last_seen + idle, created_at + max) */
} HkSessionInfo;

/* A table holding at most max_sessions (the oldest idle one is dropped
 * when it is full, so a login flood cannot grow memory). */
HkSessions *hk_sessions_new(int64_t idle_usec, int64_t max_usec, unsigned max_sessions);
void hk_sessions_free(HkSessions *s);

/* Start a session for user at time now. token gets the text to give the
 * client (NUL-terminated).
 * \return 0; -HK_EINVAL for a bad user name. */
int hk_sessions_create(HkSessions *s, const char *user, HkRole role, int64_t now,
                       char token[HK_TOKEN_TEXT_LEN + 1], HkSessionInfo *info);

/* Find the session of a token at time now and mark it used.
 * \return 0 (info filled, may be NULL); -HK_EAUTH if the token is unknown,
 * malformed or expired (an expired session is removed). */
int hk_sessions_check(HkSessions *s, const char *token, int64_t now, HkSessionInfo *info);

/* End the session of token. \return 0; -HK_EAUTH if there is none. */
int hk_sessions_end(HkSessions *s, const char *token);

/* End every session of a user (after lock, remove or password change).
 * Returns how many ended. */
unsigned hk_sessions_end_user(HkSessions *s, const char *user);

/* End the sessions of a user created before before_usec (after a
 * password change). Returns how many ended. */
unsigned hk_sessions_end_user_before(HkSessions *s, const char *user, int64_t before_usec);

/* The distinct user names that hold a session (g_free each; the array
 * frees them). */
GPtrArray *hk_sessions_users(HkSessions *s);

/* Remove expired sessions. Returns how many. */
unsigned hk_sessions_prune(HkSessions *s, int64_t now);

/* Number of sessions held. */
unsigned hk_sessions_count(HkSessions *s);

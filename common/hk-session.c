#include "hk-session.h"

#include "hk-error.h"
#include "hk-sha256.h"

#include <glib.h>
#include <sodium.h>
#include <string.h>

struct hk_sessions {
  GMutex lock;
  GHashTable *by_hash; /* 32-byte SHA-256 of the token -> HkSessionInfo* */
  int64_t idle_usec;
  int64_t max_usec;
  unsigned max_sessions;
};

static guint
hk_digest_hash(gconstpointer p)
{
  guint h;

  /* The key is already a uniform digest; any 4 bytes of it will do. */
  memcpy(&h, p, sizeof h);
  return h;
}

static gboolean
hk_digest_equal(gconstpointer a, gconstpointer b)
{
  return sodium_memcmp(a, b, HK_SHA256_LEN) == 0;
}

HkSessions *
hk_sessions_new(int64_t idle_usec, int64_t max_usec, unsigned max_sessions)
{
  HkSessions *s = g_new0(HkSessions, 1);

  g_mutex_init(&s->lock);
  s->by_hash = g_hash_table_new_full(hk_digest_hash, hk_digest_equal, g_free, g_free);
  s->idle_usec = idle_usec;
  s->max_usec = max_usec;
  s->max_sessions = max_sessions ? max_sessions : 1;
  return s;
}

void
hk_sessions_free(HkSessions *s)
{
  if (!s)
    return;
  g_hash_table_destroy(s->by_hash);
  g_mutex_clear(&s->lock);
  g_free(s);
}

static int
hk_token_digest(const char *token, uint8_t d[HK_SHA256_LEN])
{
  int ret = -HK_EAUTH;

  if (!token || strlen(token) != HK_TOKEN_TEXT_LEN)
    goto out;
  for (const char *p = token; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
      goto out;
  ret = hk_sha256(token, HK_TOKEN_TEXT_LEN, d) < 0 ? -HK_EAUTH : 0;
out:
  return ret;
}

static int64_t
hk_session_expiry(const HkSessions *s, const HkSessionInfo *i)
{
  int64_t idle = i->last_seen + s->idle_usec;
  int64_t abs = i->created_at + s->max_usec;

  return idle < abs ? idle : abs;
}

/* Caller holds the lock. */
static void
hk_sessions_drop_oldest(HkSessions *s)
{
  GHashTableIter it;
  gpointer k, v, oldest = NULL;
  int64_t when = INT64_MAX;

  g_hash_table_iter_init(&it, s->by_hash);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const HkSessionInfo *i = v;
    if (i->last_seen < when) {
      when = i->last_seen;
      oldest = k;
    }
  }
  if (oldest)
    g_hash_table_remove(s->by_hash, oldest);
}

int
hk_sessions_create(HkSessions *s, const char *user, HkRole role, int64_t now,
                   char token[HK_TOKEN_TEXT_LEN + 1], HkSessionInfo *info)
{
  uint8_t raw[HK_TOKEN_BYTES];
  uint8_t *d = g_malloc(HK_SHA256_LEN);
  HkSessionInfo *i = g_new0(HkSessionInfo, 1);
  int ret = -HK_EINVAL;

  if (!user || strlen(user) > HK_USER_NAME_MAX)
    goto out;
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(token, HK_TOKEN_TEXT_LEN + 1, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  ret = hk_token_digest(token, d);
  if (ret < 0)
    goto out;
  g_strlcpy(i->user, user, sizeof i->user);
  i->role = role;
  i->created_at = i->last_seen = now;
  i->expires_at = hk_session_expiry(s, i);
  if (info)
    *info = *i;
  g_mutex_lock(&s->lock);
  if (g_hash_table_size(s->by_hash) >= s->max_sessions) {
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init(&it, s->by_hash);
      while (g_hash_table_iter_next(&it, &k, &v))
        if (hk_session_expiry(s, v) <= now)
          g_hash_table_iter_remove(&it);
    }
    if (g_hash_table_size(s->by_hash) >= s->max_sessions)
      hk_sessions_drop_oldest(s);
  }
  g_hash_table_insert(s->by_hash, d, i);
  g_mutex_unlock(&s->lock);
  d = NULL;
  i = NULL;
  ret = 0;
out:
  g_free(d);
  g_free(i);
  return ret;
}

int
hk_sessions_check(HkSessions *s, const char *token, int64_t now, HkSessionInfo *info)
{
  uint8_t d[HK_SHA256_LEN];
  HkSessionInfo *i;
  int ret = hk_token_digest(token, d);

  if (ret < 0)
    goto out;
  g_mutex_lock(&s->lock);
  i = g_hash_table_lookup(s->by_hash, d);
  if (!i) {
    ret = -HK_EAUTH;
  } else if (hk_session_expiry(s, i) <= now) {
    g_hash_table_remove(s->by_hash, d);
    ret = -HK_EAUTH;
  } else {
    i->last_seen = now;
    i->expires_at = hk_session_expiry(s, i);
    if (info)
      *info = *i;
  }
  g_mutex_unlock(&s->lock);
out:
  return ret;
}

int
hk_sessions_end(HkSessions *s, const char *token)
{
  uint8_t d[HK_SHA256_LEN];
  int ret = hk_token_digest(token, d);

  if (ret < 0)
    goto out;
  g_mutex_lock(&s->lock);
  ret = g_hash_table_remove(s->by_hash, d) ? 0 : -HK_EAUTH;
  g_mutex_unlock(&s->lock);
out:
  return ret;
}

unsigned
hk_sessions_end_user(HkSessions *s, const char *user)
{
  GHashTableIter it;
  gpointer k, v;
  unsigned n = 0;

  g_mutex_lock(&s->lock);
  g_hash_table_iter_init(&it, s->by_hash);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    if (g_strcmp0(((HkSessionInfo *)v)->user, user) == 0) {
      g_hash_table_iter_remove(&it);
      n++;
    }
  }
  g_mutex_unlock(&s->lock);
  return n;
}

unsigned
hk_sessions_end_user_before(HkSessions *s, const char *user, int64_t before_usec)
{
  GHashTableIter it;
  gpointer k, v;
  unsigned n = 0;

  g_mutex_lock(&s->lock);
  g_hash_table_iter_init(&it, s->by_hash);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const HkSessionInfo *i = v;
    if (g_strcmp0(i->user, user) == 0 && i->created_at < before_usec) {
      g_hash_table_iter_remove(&it);
      n++;
    }
  }
  g_mutex_unlock(&s->lock);
  return n;
}

GPtrArray *
hk_sessions_users(HkSessions *s)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer k, v;

  g_mutex_lock(&s->lock);
  g_hash_table_iter_init(&it, s->by_hash);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const HkSessionInfo *i = v;
    if (!g_hash_table_contains(seen, i->user)) {
      char *name = g_strdup(i->user);
      g_ptr_array_add(out, name);
      g_hash_table_add(seen, name);
    }
  }
  g_mutex_unlock(&s->lock);
  g_hash_table_destroy(seen);
  return out;
}

unsigned
hk_sessions_prune(HkSessions *s, int64_t now)
{
  GHashTableIter it;
  gpointer k, v;
  unsigned n = 0;

  g_mutex_lock(&s->lock);
  g_hash_table_iter_init(&it, s->by_hash);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    if (hk_session_expiry(s, v) <= now) {
      g_hash_table_iter_remove(&it);
      n++;
    }
  }
  g_mutex_unlock(&s->lock);
  return n;
}

unsigned
hk_sessions_count(HkSessions *s)
{
  unsigned n;

  g_mutex_lock(&s->lock);
  n = g_hash_table_size(s->by_hash);
  g_mutex_unlock(&s->lock);
  return n;
}

#include "hk-users.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-sha256.h"
#include "hk-time.h"
#include "hk-totp.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <lmdb.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HK_FAIL_SLOTS 16
#define HK_FAIL_MAGIC 0x686b6631u /* "hkf1": the record's layout version */
#define HK_BUCKET_MAGIC 0x686b6231u /* "hkb1": a bucket of the unknown-name table */
#define HK_TABLE_KEY_LEN 32
#define HK_TAG_LEN 16

/* Recent failed logins of one name; the layout is versioned by magic. */
typedef struct {
  uint32_t magic;
  uint32_t n;           /* valid entries of at[] */
  int64_t locked_until; /* usec; 0 when not locked */
  int64_t at[HK_FAIL_SLOTS];
} HkFailRec;

/* One unknown name's failures in the fixed table: the name is kept only as
 * a keyed hash (tag), so the table holds no attacker-chosen text. */
typedef struct {
  uint8_t tag[HK_TAG_LEN];
  int64_t last; /* usec of its newest failure: the oldest is evicted first */
  HkFailRec rec;
} HkFailWay;

/* A bucket of the table: key "#" + 4-byte bucket number in "failures". */
typedef struct {
  uint32_t magic;
  uint32_t pad;
  HkFailWay way[HK_FAIL_WAYS];
} HkFailBucket;

/* Where a name's failures live: its own record (users that exist) or a way
 * of a bucket of the table (every other name). */
typedef struct {
  bool known;
  uint32_t bucket;
  int way; /* -1: not in the bucket */
  uint8_t tag[HK_TAG_LEN];
  HkFailBucket b;
} HkFailLoc;

struct hk_users {
  MDB_env *env;
  MDB_dbi users;
  MDB_dbi failures;
  MDB_dbi meta; /* "key": the table's hash key; "changes", "logins": counters */
  uint8_t table_key[HK_TABLE_KEY_LEN];
  HkUsersPolicy policy;
  /* Bounds concurrent Argon2id runs: each takes 64 MiB. */
  GMutex hash_lock;
  GCond hash_cond;
  unsigned hashes_running;
  char *dummy_hash; /* verified for unknown names so timing matches */
  GMutex dummy_lock;
  gint writes; /* failure writes, to prune now and then */
};

G_STATIC_ASSERT(sizeof(HkFailBucket) == 8 + HK_FAIL_WAYS * (HK_TAG_LEN + 8 + sizeof(HkFailRec)));

/* Common passwords of 16 characters or more (lower case), from public
 * breach lists: the ones a 16-character minimum does not already stop. */
static const char *const hk_common_passwords[] = {
  "passwordpassword", "password12345678", "1234567890123456", "12345678901234567890",
  "qwertyuiopasdfgh", "qwertyuiopasdfghjkl", "qwertyuiop123456", "1q2w3e4r5t6y7u8i",
  "1qaz2wsx3edc4rfv", "iloveyouiloveyou", "abcdefghijklmnop", "abcdefghijklmnopqrstuvwxyz",
  "abcd1234abcd1234", "passw0rdpassw0rd", "p@ssw0rdp@ssw0rd", "welcome123456789",
  "administrator123", "administrator1234", "changemechangeme", "letmeinletmein12",
  "0123456789abcdef", "9876543210987654", "correcthorsebatterystaple", "trustno1trustno1",
  "hospitalhospital", "hikaehikaehikaehikae", "password1234567890", "qazwsxedcrfvtgby",
  "zaq12wsxcde34rfv", "asdfghjklasdfghj",
};

const char *
hk_role_name(HkRole r)
{
  switch (r) {
  case HK_ROLE_AUDITOR: return "auditor";
  case HK_ROLE_CLINICIAN_SEARCH: return "clinician_search";
  case HK_ROLE_VIEWER: break;
  }
  return "viewer";
}

bool
hk_role_reads_clinical(HkRole r)
{
  return r == HK_ROLE_VIEWER || r == HK_ROLE_CLINICIAN_SEARCH;
}

int
hk_role_parse(const char *text, HkRole *out)
{
  int ret = 0;

  if (g_strcmp0(text, "viewer") == 0)
    *out = HK_ROLE_VIEWER;
  else if (g_strcmp0(text, "auditor") == 0)
    *out = HK_ROLE_AUDITOR;
  else if (g_strcmp0(text, "clinician_search") == 0)
    *out = HK_ROLE_CLINICIAN_SEARCH;
  else
    ret = -HK_EINVAL;
  return ret;
}

bool
hk_user_name_valid(const char *name)
{
  size_t n = name ? strlen(name) : 0;

  if (n == 0 || n > HK_USER_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!g_ascii_isalnum(c) && c != '.' && c != '_' && c != '@' && c != '-')
      return false;
  }
  return true;
}

int
hk_password_check(const char *name, const char *password, const char **why)
{
  size_t n = password ? strlen(password) : 0;
  char *lower = NULL;
  int ret = -HK_EINVAL;

  *why = NULL;
  if (n > HK_PASSWORD_MAX) {
    *why = "password longer than 1024 bytes";
    goto out;
  }
  if (!g_utf8_validate(password, (gssize)n, NULL)) {
    *why = "password is not valid UTF-8";
    goto out;
  }
  /* Characters, not bytes: MHLW 6.0 counts what the user types, and six
   * kanji (18 bytes) are not a 16-character password. */
  if (g_utf8_strlen(password, (gssize)n) < HK_PASSWORD_MIN) {
    *why = "password shorter than 16 characters (MHLW 6.0; docs/operations.md, \"Accounts "
           "and passwords\")";
    goto out;
  }
  lower = g_ascii_strdown(password, (gssize)n);
  for (size_t i = 0; i < G_N_ELEMENTS(hk_common_passwords); i++) {
    if (strcmp(lower, hk_common_passwords[i]) == 0) {
      *why = "password is on the list of common passwords";
      goto out;
    }
  }
  if (name && g_ascii_strcasecmp(password, name) == 0) {
    *why = "password equals the user name";
    goto out;
  }
  {
    bool same = true;
    for (size_t i = 1; i < n && same; i++)
      same = password[i] == password[0];
    if (same) {
      *why = "password is one repeated character";
      goto out;
    }
  }
  ret = 0;
out:
  if (lower) {
    sodium_memzero(lower, n);
    g_free(lower);
  }
  return ret;
}

void
hk_user_free(HkUser *u)
{
  if (!u)
    return;
  g_free(u->name);
  g_free(u->hash);
  if (u->totp) {
    sodium_memzero(u->totp, strlen(u->totp));
    g_free(u->totp);
  }
  g_free(u);
}

static int
hk_users_err(int rc)
{
  int ret;

  switch (rc) {
  case MDB_SUCCESS: ret = 0; break;
  case MDB_NOTFOUND: ret = -HK_ENOTFOUND; break;
  case MDB_KEYEXIST: ret = -HK_EEXIST; break;
  case MDB_MAP_FULL: ret = -HK_ESPACE; break;
  case MDB_READERS_FULL: ret = -HK_EBUSY; break;
  case MDB_INVALID:
  case MDB_VERSION_MISMATCH: ret = -HK_EFORMAT; break;
  default: ret = rc > 0 ? hk_err_from_errno(rc) : -HK_EIO; break;
  }
  return ret;
}

static char *
hk_user_to_json(const HkUser *u)
{
  JsonBuilder *b = json_builder_new();
  JsonNode *root;
  char *s;

  json_builder_begin_object(b);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, u->name);
  json_builder_set_member_name(b, "role");
  json_builder_add_string_value(b, hk_role_name(u->role));
  json_builder_set_member_name(b, "hash");
  json_builder_add_string_value(b, u->hash);
  json_builder_set_member_name(b, "locked");
  json_builder_add_boolean_value(b, u->locked);
  json_builder_set_member_name(b, "totp");
  if (u->totp)
    json_builder_add_string_value(b, u->totp);
  else
    json_builder_add_null_value(b);
  json_builder_set_member_name(b, "totp_last_step");
  json_builder_add_int_value(b, u->totp_last_step);
  json_builder_set_member_name(b, "created_at");
  json_builder_add_int_value(b, u->created_at);
  json_builder_set_member_name(b, "password_at");
  json_builder_add_int_value(b, u->password_at);
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  s = json_to_string(root, FALSE);
  json_node_unref(root);
  g_object_unref(b);
  return s;
}

static int
hk_user_from_json(const void *data, size_t len, HkUser **out)
{
  JsonParser *p = json_parser_new();
  JsonObject *o;
  HkUser *u = NULL;
  int ret = -HK_ECORRUPT;

  if (!json_parser_load_from_data(p, data, (gssize)len, NULL))
    goto out;
  if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
    goto out;
  o = json_node_get_object(json_parser_get_root(p));
  if (!json_object_has_member(o, "name") || !json_object_has_member(o, "hash"))
    goto out;
  u = g_new0(HkUser, 1);
  u->name = g_strdup(json_object_get_string_member(o, "name"));
  u->hash = g_strdup(json_object_get_string_member(o, "hash"));
  if (!u->name || !u->hash)
    goto out;
  if (hk_role_parse(json_object_get_string_member_with_default(o, "role", ""), &u->role) < 0)
    goto out;
  u->locked = json_object_get_boolean_member_with_default(o, "locked", FALSE);
  u->totp = g_strdup(json_object_get_string_member_with_default(o, "totp", NULL));
  u->totp_last_step = json_object_get_int_member_with_default(o, "totp_last_step", 0);
  u->created_at = json_object_get_int_member_with_default(o, "created_at", 0);
  u->password_at = json_object_get_int_member_with_default(o, "password_at", 0);
  *out = u;
  u = NULL;
  ret = 0;
out:
  hk_user_free(u);
  g_object_unref(p);
  return ret;
}

int
hk_users_open(const char *state_dir, bool create, const HkUsersPolicy *policy, HkUsers **out)
{
  HkUsers *u = g_new0(HkUsers, 1);
  MDB_txn *txn = NULL;
  char *path = g_build_filename(state_dir, "accounts.mdb", NULL);
  mode_t old_mask;
  int rc, ret = 0;

  g_mutex_init(&u->hash_lock);
  g_cond_init(&u->hash_cond);
  g_mutex_init(&u->dummy_lock);
  if (policy) {
    u->policy = *policy;
  } else {
    u->policy.max_failures = 5;
    u->policy.window_usec = 15 * 60 * G_USEC_PER_SEC;
    u->policy.lock_usec = 15 * 60 * G_USEC_PER_SEC;
    u->policy.max_hashes = 2;
  }
  if (u->policy.max_hashes == 0)
    u->policy.max_hashes = 1;
  if (u->policy.hash_opslimit == 0 || u->policy.hash_memlimit == 0) {
    u->policy.hash_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    u->policy.hash_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  }
  if (sodium_init() < 0) {
    ret = -HK_ECRYPTO;
    goto out;
  }
  if (!create && access(path, F_OK) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  if (create && g_mkdir_with_parents(state_dir, 0700) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  rc = mdb_env_create(&u->env);
  if (rc == 0)
    rc = mdb_env_set_maxdbs(u->env, 4);
  if (rc == 0)
    rc = mdb_env_set_mapsize(u->env, (size_t)64 << 20);
  if (rc == 0) {
    /* The lock file is created with the same mode; keep both private. */
    old_mask = umask(077);
    rc = mdb_env_open(u->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
    umask(old_mask);
  }
  if (rc == 0)
    rc = mdb_txn_begin(u->env, NULL, 0, &txn);
  if (rc == 0)
    rc = mdb_dbi_open(txn, "users", MDB_CREATE, &u->users);
  if (rc == 0)
    rc = mdb_dbi_open(txn, "failures", MDB_CREATE, &u->failures);
  if (rc == 0)
    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &u->meta);
  if (rc == 0) {
    /* The table's hash key: made once, shared with hikae-admin (unlock
     * finds an unknown name's bucket), unknown to a client, so no one can
     * aim names at one bucket to evict a lock. */
    MDB_val k = { 3, "key" }, v;
    rc = mdb_get(txn, u->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
      randombytes_buf(u->table_key, sizeof u->table_key);
      v.mv_size = sizeof u->table_key;
      v.mv_data = u->table_key;
      rc = mdb_put(txn, u->meta, &k, &v, 0);
    } else if (rc == 0 && v.mv_size == sizeof u->table_key) {
      memcpy(u->table_key, v.mv_data, sizeof u->table_key);
    } else if (rc == 0) {
      rc = MDB_CORRUPTED;
    }
  }
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
    txn = NULL;
  }
  ret = hk_users_err(rc);
out:
  if (txn)
    mdb_txn_abort(txn);
  if (ret < 0) {
    hk_users_close(u);
    u = NULL;
  }
  *out = u;
  g_free(path);
  return ret;
}

void
hk_users_close(HkUsers *u)
{
  if (!u)
    return;
  if (u->env)
    mdb_env_close(u->env);
  sodium_memzero(u->table_key, sizeof u->table_key);
  g_free(u->dummy_hash);
  g_mutex_clear(&u->hash_lock);
  g_cond_clear(&u->hash_cond);
  g_mutex_clear(&u->dummy_lock);
  g_free(u);
}

uint64_t
hk_users_generation(HkUsers *u)
{
  MDB_envinfo info;

  /* LMDB keeps the last committed transaction id in the shared lock file:
   * reading it is a memory load, no system call, so the server can afford
   * it on every request. */
  if (mdb_env_info(u->env, &info) != 0)
    return 0;
  return (uint64_t)info.me_last_txnid;
}

static int
hk_meta_get_u64(HkUsers *u, MDB_txn *txn, const char *name, uint64_t *out)
{
  MDB_val k = { strlen(name), (void *)name }, v;
  int ret = hk_users_err(mdb_get(txn, u->meta, &k, &v));

  *out = 0;
  if (ret == 0 && v.mv_size == sizeof *out)
    memcpy(out, v.mv_data, sizeof *out);
  else if (ret == -HK_ENOTFOUND)
    ret = 0;
  return ret;
}

/* Add one to a counter of "meta" inside the write transaction txn. */
static int
hk_meta_bump(HkUsers *u, MDB_txn *txn, const char *name)
{
  uint64_t n = 0;
  MDB_val k = { strlen(name), (void *)name }, v = { sizeof n, &n };
  int ret = hk_meta_get_u64(u, txn, name, &n);

  n++;
  if (ret == 0)
    ret = hk_users_err(mdb_put(txn, u->meta, &k, &v, 0));
  return ret;
}

int
hk_users_changes(HkUsers *u, uint64_t *out)
{
  MDB_txn *txn = NULL;
  int ret;

  *out = 0;
  ret = hk_users_err(mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn));
  if (ret < 0)
    goto out;
  ret = hk_meta_get_u64(u, txn, "changes", out);
out:
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

uint64_t
hk_users_used_bytes(HkUsers *u)
{
  MDB_envinfo info;
  MDB_stat st;

  if (mdb_env_info(u->env, &info) != 0 || mdb_env_stat(u->env, &st) != 0)
    return 0;
  return ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
}

static int
hk_users_hash(HkUsers *u, const char *password, char **out)
{
  char buf[crypto_pwhash_STRBYTES];
  int ret = 0;

  if (crypto_pwhash_str(buf, password, strlen(password), u->policy.hash_opslimit,
                        u->policy.hash_memlimit) != 0) {
    ret = -HK_ENOMEM;
    goto out;
  }
  *out = g_strdup(buf);
out:
  return ret;
}

static int
hk_users_get_txn(HkUsers *u, MDB_txn *txn, const char *name, HkUser **out)
{
  MDB_val k = { strlen(name), (void *)name }, v;
  int ret = hk_users_err(mdb_get(txn, u->users, &k, &v));

  if (ret == 0)
    ret = hk_user_from_json(v.mv_data, v.mv_size, out);
  return ret;
}

static int
hk_users_put_txn(HkUsers *u, MDB_txn *txn, const HkUser *user, unsigned flags)
{
  char *json = hk_user_to_json(user);
  MDB_val k = { strlen(user->name), user->name }, v = { strlen(json), json };
  int ret = hk_users_err(mdb_put(txn, u->users, &k, &v, flags));

  sodium_memzero(json, strlen(json));
  g_free(json);
  return ret;
}

int
hk_users_add(HkUsers *u, const char *name, HkRole role, const char *password, bool totp,
             char **totp_secret)
{
  g_autoptr(HkUser) user = NULL;
  MDB_txn *txn = NULL;
  const char *why;
  int ret;

  if (totp_secret)
    *totp_secret = NULL;
  if (!hk_user_name_valid(name) || (totp && !totp_secret)) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_password_check(name, password, &why);
  if (ret < 0)
    goto out;
  user = g_new0(HkUser, 1);
  user->name = g_strdup(name);
  user->role = role;
  user->created_at = user->password_at = hk_time_now();
  ret = hk_users_hash(u, password, &user->hash);
  if (ret < 0)
    goto out;
  if (totp) {
    ret = hk_totp_secret_new(&user->totp);
    if (ret < 0)
      goto out;
  }
  ret = hk_users_err(mdb_txn_begin(u->env, NULL, 0, &txn));
  if (ret < 0)
    goto out;
  ret = hk_users_put_txn(u, txn, user, MDB_NOOVERWRITE);
  if (ret == 0)
    ret = hk_meta_bump(u, txn, "changes");
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_txn_commit(txn));
  txn = NULL;
  if (ret == 0 && totp)
    *totp_secret = g_strdup(user->totp);
out:
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

int
hk_users_get(HkUsers *u, const char *name, HkUser **out)
{
  MDB_txn *txn = NULL;
  int ret = -HK_ENOTFOUND;

  if (!name || !*name || strlen(name) > HK_USER_NAME_MAX)
    goto out;
  ret = hk_users_err(mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn));
  if (ret < 0)
    goto out;
  ret = hk_users_get_txn(u, txn, name, out);
out:
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

int
hk_users_list(HkUsers *u, GPtrArray *out)
{
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_users_err(mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn));
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_cursor_open(txn, u->users, &cur));
  if (ret < 0)
    goto out;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    HkUser *user = NULL;
    ret = hk_user_from_json(v.mv_data, v.mv_size, &user);
    if (ret < 0)
      goto out;
    g_ptr_array_add(out, user);
  }
  ret = rc == MDB_NOTFOUND ? 0 : hk_users_err(rc);
out:
  if (cur)
    mdb_cursor_close(cur);
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

static int
hk_fail_get(HkUsers *u, MDB_txn *txn, const char *key, HkFailRec *rec)
{
  MDB_val k = { strlen(key), (void *)key }, v;
  int ret;

  memset(rec, 0, sizeof *rec);
  rec->magic = HK_FAIL_MAGIC;
  ret = hk_users_err(mdb_get(txn, u->failures, &k, &v));
  if (ret == 0) {
    /* A record of another layout is treated as empty: it only holds
     * counters that expire within minutes anyway. */
    /* LMDB values need not be aligned: copy before looking inside. */
    HkFailRec stored;
    if (v.mv_size == sizeof stored) {
      memcpy(&stored, v.mv_data, sizeof stored);
      if (stored.magic == HK_FAIL_MAGIC)
        *rec = stored;
    }
  } else if (ret == -HK_ENOTFOUND) {
    ret = 0;
  }
  return ret;
}

/* ---- the fixed table of failures of names that are no user ---- */

static void
hk_fail_tag(HkUsers *u, const char *name, uint8_t tag[HK_TAG_LEN], uint32_t *bucket)
{
  crypto_generichash(tag, HK_TAG_LEN, (const unsigned char *)name, strlen(name), u->table_key,
                     sizeof u->table_key);
  *bucket = ((uint32_t)tag[0] | (uint32_t)tag[1] << 8 | (uint32_t)tag[2] << 16 |
             (uint32_t)tag[3] << 24) %
            HK_FAIL_BUCKETS;
}

static void
hk_bucket_key(uint32_t bucket, char key[5])
{
  /* '#' sorts before every character of a user name, so the table is one
   * contiguous run of keys that hk_users_prune can skip. */
  key[0] = '#';
  key[1] = (char)(bucket >> 24);
  key[2] = (char)(bucket >> 16);
  key[3] = (char)(bucket >> 8);
  key[4] = (char)bucket;
}

static int
hk_bucket_get(HkUsers *u, MDB_txn *txn, uint32_t bucket, HkFailBucket *b)
{
  char key[5];
  MDB_val k = { sizeof key, key }, v;
  int ret;

  hk_bucket_key(bucket, key);
  memset(b, 0, sizeof *b);
  b->magic = HK_BUCKET_MAGIC;
  ret = hk_users_err(mdb_get(txn, u->failures, &k, &v));
  if (ret == 0) {
    /* Unaligned in the map: copy. Another layout counts as empty (it only
     * holds counters that expire within minutes). */
    if (v.mv_size == sizeof *b) {
      memcpy(b, v.mv_data, sizeof *b);
      if (b->magic != HK_BUCKET_MAGIC) {
        memset(b, 0, sizeof *b);
        b->magic = HK_BUCKET_MAGIC;
      }
    }
  } else if (ret == -HK_ENOTFOUND) {
    ret = 0;
  }
  return ret;
}

static int
hk_bucket_put(HkUsers *u, MDB_txn *txn, uint32_t bucket, const HkFailBucket *b)
{
  char key[5];
  MDB_val k = { sizeof key, key }, v = { sizeof *b, (void *)b };

  hk_bucket_key(bucket, key);
  return hk_users_err(mdb_put(txn, u->failures, &k, &v, 0));
}

/* True if the record neither locks nor counts any more at now. */
static bool
hk_fail_stale(HkUsers *u, const HkFailRec *rec, int64_t now)
{
  if (rec->locked_until > now)
    return false;
  for (uint32_t i = 0; i < rec->n && i < HK_FAIL_SLOTS; i++)
    if (rec->at[i] > now - u->policy.window_usec)
      return false;
  return true;
}

/* Find name's failures: its own record when known, else its way in the
 * table (loc->way -1 and *rec empty when it has none). */
static int
hk_fail_find(HkUsers *u, MDB_txn *txn, const char *name, bool known, HkFailLoc *loc,
             HkFailRec *rec)
{
  int ret;

  memset(loc, 0, sizeof *loc);
  loc->known = known;
  loc->way = -1;
  if (known) {
    ret = hk_fail_get(u, txn, name, rec);
    goto out;
  }
  memset(rec, 0, sizeof *rec);
  rec->magic = HK_FAIL_MAGIC;
  hk_fail_tag(u, name, loc->tag, &loc->bucket);
  ret = hk_bucket_get(u, txn, loc->bucket, &loc->b);
  if (ret < 0)
    goto out;
  for (int i = 0; i < HK_FAIL_WAYS; i++) {
    if (memcmp(loc->b.way[i].tag, loc->tag, HK_TAG_LEN) == 0 &&
        loc->b.way[i].rec.magic == HK_FAIL_MAGIC) {
      loc->way = i;
      *rec = loc->b.way[i].rec;
      break;
    }
  }
out:
  return ret;
}

/* The way a new name takes in a full bucket: an empty or stale one, else
 * the unlocked name whose newest failure is oldest, else (every name of the
 * bucket locked) the lock that ends first. Locks are evicted last: with a
 * secret hash key, a flood cannot aim at one bucket, and it takes five
 * failures per name to make a lock. */
static int
hk_bucket_victim(HkUsers *u, const HkFailBucket *b, int64_t now)
{
  int best = -1;

  for (int i = 0; i < HK_FAIL_WAYS && best < 0; i++)
    if (b->way[i].rec.magic != HK_FAIL_MAGIC || hk_fail_stale(u, &b->way[i].rec, now))
      best = i;
  for (int i = 0; i < HK_FAIL_WAYS && best < 0; i++)
    if (b->way[i].rec.locked_until <= now)
      best = i;
  for (int i = 0; i < HK_FAIL_WAYS && best >= 0 && b->way[best].rec.locked_until <= now; i++)
    if (b->way[i].rec.locked_until <= now && b->way[i].last < b->way[best].last)
      best = i;
  if (best < 0) {
    best = 0;
    for (int i = 1; i < HK_FAIL_WAYS; i++)
      if (b->way[i].rec.locked_until < b->way[best].rec.locked_until)
        best = i;
  }
  return best;
}

/* Write rec back where hk_fail_find found it (a zeroed rec with no lock and
 * no failure clears it). */
static int
hk_fail_store(HkUsers *u, MDB_txn *txn, const char *name, HkFailLoc *loc, const HkFailRec *rec,
              int64_t now)
{
  bool empty = rec->n == 0 && rec->locked_until == 0;
  int ret = 0;

  if (loc->known) {
    MDB_val k = { strlen(name), (void *)name }, v = { sizeof *rec, (void *)rec };
    if (empty) {
      ret = hk_users_err(mdb_del(txn, u->failures, &k, NULL));
      if (ret == -HK_ENOTFOUND)
        ret = 0;
    } else {
      ret = hk_users_err(mdb_put(txn, u->failures, &k, &v, 0));
    }
    goto out;
  }
  if (empty && loc->way < 0)
    goto out;
  if (loc->way < 0)
    loc->way = hk_bucket_victim(u, &loc->b, now);
  if (empty) {
    memset(&loc->b.way[loc->way], 0, sizeof loc->b.way[loc->way]);
  } else {
    memcpy(loc->b.way[loc->way].tag, loc->tag, HK_TAG_LEN);
    loc->b.way[loc->way].last = now;
    loc->b.way[loc->way].rec = *rec;
  }
  ret = hk_bucket_put(u, txn, loc->bucket, &loc->b);
out:
  return ret;
}

/* Whether name is an existing user's (its failures have their own record),
 * read in txn. \return 0; -HK_EIO etc.: never "unknown" on a read error. */
static int
hk_users_known(HkUsers *u, MDB_txn *txn, const char *name, bool *known)
{
  MDB_val k = { strlen(name), (void *)name }, v;
  int ret = -HK_ENOTFOUND;

  *known = false;
  if (hk_user_name_valid(name))
    ret = hk_users_err(mdb_get(txn, u->users, &k, &v));
  *known = ret == 0;
  return ret == -HK_ENOTFOUND ? 0 : ret;
}

int
hk_users_set_locked(HkUsers *u, const char *name, bool locked)
{
  g_autoptr(HkUser) user = NULL;
  MDB_txn *txn = NULL;
  bool had_lockout = false;
  int ret;

  ret = hk_users_err(mdb_txn_begin(u->env, NULL, 0, &txn));
  if (ret < 0)
    goto out;
  if (name && *name && strlen(name) <= HK_USER_NAME_MAX)
    ret = hk_users_get_txn(u, txn, name, &user);
  else
    ret = -HK_ENOTFOUND;
  if (ret < 0 && ret != -HK_ENOTFOUND)
    goto out;
  if (user) {
    user->locked = locked;
    ret = hk_users_put_txn(u, txn, user, 0);
    if (ret == 0)
      ret = hk_meta_bump(u, txn, "changes");
    if (ret < 0)
      goto out;
  }
  if (!locked && name && *name && strlen(name) <= HK_USER_NAME_MAX) {
    /* Both places: the name may have failed while it was no user yet. */
    for (int known = 0; known < 2; known++) {
      HkFailLoc loc;
      HkFailRec rec;
      ret = hk_fail_find(u, txn, name, known, &loc, &rec);
      if (ret < 0)
        goto out;
      if (rec.n == 0 && rec.locked_until == 0 && (known || loc.way < 0))
        continue;
      had_lockout = true;
      memset(&rec, 0, sizeof rec);
      ret = hk_fail_store(u, txn, name, &loc, &rec, 0);
      if (ret < 0)
        goto out;
    }
  }
  if (!user && !had_lockout) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_users_err(mdb_txn_commit(txn));
  txn = NULL;
out:
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

int
hk_users_set_password(HkUsers *u, const char *name, const char *password)
{
  g_autoptr(HkUser) user = NULL;
  char *hash = NULL;
  MDB_txn *txn = NULL;
  const char *why;
  int ret;

  ret = hk_password_check(name, password, &why);
  if (ret < 0)
    goto out;
  /* Hash before the write transaction: it takes a tenth of a second and
   * would hold the writer lock that logins need. */
  ret = hk_users_hash(u, password, &hash);
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_txn_begin(u->env, NULL, 0, &txn));
  if (ret < 0)
    goto out;
  ret = hk_users_get_txn(u, txn, name, &user);
  if (ret < 0)
    goto out;
  g_free(user->hash);
  user->hash = hash;
  hash = NULL;
  user->password_at = hk_time_now();
  ret = hk_users_put_txn(u, txn, user, 0);
  if (ret == 0)
    ret = hk_meta_bump(u, txn, "changes");
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_txn_commit(txn));
  txn = NULL;
out:
  if (txn)
    mdb_txn_abort(txn);
  g_free(hash);
  return ret;
}

int
hk_users_set_totp(HkUsers *u, const char *name, char **totp_secret)
{
  g_autoptr(HkUser) user = NULL;
  char *secret = NULL;
  MDB_txn *txn = NULL;
  int ret;

  *totp_secret = NULL;
  ret = hk_totp_secret_new(&secret);
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_txn_begin(u->env, NULL, 0, &txn));
  if (ret < 0)
    goto out;
  ret = hk_users_get_txn(u, txn, name, &user);
  if (ret < 0)
    goto out;
  g_free(user->totp);
  user->totp = g_strdup(secret);
  /* A new secret starts a new sequence of codes. */
  user->totp_last_step = 0;
  ret = hk_users_put_txn(u, txn, user, 0);
  if (ret == 0)
    ret = hk_meta_bump(u, txn, "changes");
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_txn_commit(txn));
  txn = NULL;
  if (ret == 0) {
    *totp_secret = secret;
    secret = NULL;
  }
out:
  if (txn)
    mdb_txn_abort(txn);
  if (secret) {
    sodium_memzero(secret, strlen(secret));
    g_free(secret);
  }
  return ret;
}

int
hk_users_remove(HkUsers *u, const char *name)
{
  MDB_txn *txn = NULL;
  MDB_val k;
  int ret = -HK_ENOTFOUND;

  if (!name || !*name || strlen(name) > HK_USER_NAME_MAX)
    goto out;
  k.mv_size = strlen(name);
  k.mv_data = (void *)name;
  ret = hk_users_err(mdb_txn_begin(u->env, NULL, 0, &txn));
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_del(txn, u->users, &k, NULL));
  if (ret == 0)
    ret = hk_meta_bump(u, txn, "changes");
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_txn_commit(txn));
  txn = NULL;
out:
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

int
hk_users_lockout(HkUsers *u, const char *name, int64_t now, int64_t *until)
{
  MDB_txn *txn = NULL;
  HkFailLoc loc;
  HkFailRec rec;
  bool known = false;
  int ret = 0;

  *until = 0;
  if (!name || !*name || strlen(name) > HK_USER_NAME_MAX)
    goto out; /* never recorded, so never locked */
  ret = hk_users_err(mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn));
  if (ret < 0)
    goto out;
  ret = hk_users_known(u, txn, name, &known);
  if (ret == 0)
    ret = hk_fail_find(u, txn, name, known, &loc, &rec);
  if (ret == 0 && rec.locked_until > now)
    *until = rec.locked_until;
out:
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

/* The hash to verify against when the name is unknown: made once, with the
 * same parameters as real ones, so the verification takes as long. */
static const char *
hk_users_dummy_hash(HkUsers *u)
{
  g_mutex_lock(&u->dummy_lock);
  if (!u->dummy_hash) {
    char pw[32];
    randombytes_buf(pw, sizeof pw - 1);
    for (size_t i = 0; i < sizeof pw - 1; i++)
      pw[i] = (char)('a' + ((unsigned char)pw[i] % 26));
    pw[sizeof pw - 1] = 0;
    if (hk_users_hash(u, pw, &u->dummy_hash) < 0)
      u->dummy_hash = NULL;
  }
  g_mutex_unlock(&u->dummy_lock);
  return u->dummy_hash;
}

void
hk_users_prepare(HkUsers *u)
{
  hk_users_dummy_hash(u);
}

static bool
hk_users_verify_bounded(HkUsers *u, const char *hash, const char *password)
{
  bool ok;

  g_mutex_lock(&u->hash_lock);
  while (u->hashes_running >= u->policy.max_hashes)
    g_cond_wait(&u->hash_cond, &u->hash_lock);
  u->hashes_running++;
  g_mutex_unlock(&u->hash_lock);

  ok = hash && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;

  g_mutex_lock(&u->hash_lock);
  u->hashes_running--;
  g_cond_signal(&u->hash_cond);
  g_mutex_unlock(&u->hash_lock);
  return ok;
}

/* Drop users' failure records that no longer lock or count, and those of
 * earlier layouts (names that were no user, kept by name before the
 * table). The table's "#" run is skipped: it is fixed in size and its stale
 * ways are reused in place. Runs inside a write transaction. */
static void
hk_users_prune(HkUsers *u, MDB_txn *txn, int64_t now)
{
  MDB_cursor *cur = NULL;
  MDB_val k = { 1, "$" }, v;

  if (mdb_cursor_open(txn, u->failures, &cur) != 0)
    return;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    HkFailRec rec;
    if (v.mv_size != sizeof rec) {
      mdb_cursor_del(cur, 0);
      continue;
    }
    memcpy(&rec, v.mv_data, sizeof rec);
    if (hk_fail_stale(u, &rec, now))
      mdb_cursor_del(cur, 0);
  }
  mdb_cursor_close(cur);
}

/* Count one failure at now into rec: keep those still inside the window,
 * add this one, lock at the max_failures-th. */
static void
hk_fail_note(HkUsers *u, HkFailRec *rec, int64_t now)
{
  uint32_t kept = 0;

  rec->magic = HK_FAIL_MAGIC;
  for (uint32_t i = 0; i < rec->n && i < HK_FAIL_SLOTS; i++)
    if (rec->at[i] > now - u->policy.window_usec)
      rec->at[kept++] = rec->at[i];
  if (kept == HK_FAIL_SLOTS) {
    memmove(rec->at, rec->at + 1, sizeof rec->at[0] * (HK_FAIL_SLOTS - 1));
    kept--;
  }
  rec->at[kept++] = now;
  rec->n = kept;
  if (rec->n >= u->policy.max_failures) {
    rec->locked_until = now + u->policy.lock_usec;
    rec->n = 0;
  }
}

int
hk_users_login(HkUsers *u, const char *name, const char *password, const char *otp,
               int64_t now, HkLoginResult *res)
{
  g_autoptr(HkUser) user = NULL;
  g_autoptr(HkUser) fresh = NULL;
  MDB_txn *txn = NULL;
  HkFailLoc loc;
  HkFailRec rec;
  int64_t used_step = 0;
  bool ok = false, totp_used = false, known = false;
  int ret;

  memset(res, 0, sizeof *res);
  if (!name)
    name = "";
  if (!password)
    password = "";
  /* Refused before anything is read, hashed or written: no user has such a
   * name or password, so refusing them says nothing about who exists, and
   * they cannot fill the accounts. */
  if (!*name || strlen(name) > HK_USER_NAME_MAX || strlen(password) > HK_PASSWORD_MAX ||
      (otp && strlen(otp) > HK_OTP_MAX)) {
    ret = -HK_EINVAL;
    goto out;
  }

  ret = hk_users_err(mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn));
  if (ret < 0)
    goto out;
  if (hk_user_name_valid(name)) {
    ret = hk_users_get_txn(u, txn, name, &user);
    if (ret < 0 && ret != -HK_ENOTFOUND)
      goto out; /* a read error is not "unknown": fail closed */
  }
  ret = hk_fail_find(u, txn, name, user != NULL, &loc, &rec);
  if (ret < 0)
    goto out;
  if (rec.locked_until > now) {
    res->retry_after_usec = rec.locked_until - now;
    ret = -HK_ELOCKED;
    goto out;
  }
  mdb_txn_abort(txn);
  txn = NULL;

  {
    /* Exactly one Argon2id verification, whether or not the name exists. */
    const char *hash = user ? user->hash : hk_users_dummy_hash(u);
    bool pw_ok = hk_users_verify_bounded(u, hash, password);
    ok = user && pw_ok && !user->locked;
  }
  if (ok && user->totp) {
    if (!otp || !*otp) {
      ok = false;
      res->otp_required = true;
    } else {
      ret = hk_totp_verify(user->totp, otp, now / G_USEC_PER_SEC, user->totp_last_step,
                           &used_step);
      if (ret < 0 && ret != -HK_EAUTH)
        goto out;
      ok = ret == 0;
      totp_used = ok;
    }
  } else if (ok && u->policy.require_totp) {
    /* Told apart only after the right password: without the policy that
     * password would have opened a session, so this says less than that. */
    ok = false;
    res->totp_missing = true;
  }

  ret = hk_users_err(mdb_txn_begin(u->env, NULL, 0, &txn));
  if (ret < 0)
    goto out;
  if (ok && totp_used) {
    /* Recheck under the writer lock: two logins with one code may race. */
    ret = hk_users_get_txn(u, txn, name, &fresh);
    if (ret < 0)
      goto out;
    if (used_step <= fresh->totp_last_step) {
      ok = false;
    } else {
      fresh->totp_last_step = used_step;
      ret = hk_users_put_txn(u, txn, fresh, 0);
      if (ret < 0)
        goto out;
    }
  }
  /* Under the writer lock, where the failures live now (a user may have
   * been added or removed meanwhile). */
  ret = hk_users_known(u, txn, name, &known);
  if (ret == 0)
    ret = hk_fail_find(u, txn, name, known, &loc, &rec);
  if (ret < 0)
    goto out;
  if (ok) {
    memset(&rec, 0, sizeof rec);
    ret = hk_fail_store(u, txn, name, &loc, &rec, now);
    /* A success always writes, so it fails closed like a failure when the
     * accounts cannot be written (a commit with nothing in it would not
     * touch the disk and would succeed). */
    if (ret == 0)
      ret = hk_meta_bump(u, txn, "logins");
  } else {
    hk_fail_note(u, &rec, now);
    ret = hk_fail_store(u, txn, name, &loc, &rec, now);
    if (ret == 0 && g_atomic_int_add(&u->writes, 1) % 64 == 63)
      hk_users_prune(u, txn, now);
  }
  if (ret < 0)
    goto out;
  ret = hk_users_err(mdb_txn_commit(txn));
  txn = NULL;
  if (ret < 0)
    goto out;
  if (ok)
    res->role = user->role;
  ret = ok ? 0 : -HK_EAUTH;
out:
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

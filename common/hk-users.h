/* hk-users.h: the server's accounts, kept in the state folder apart from the
 * document store.
 *
 * Format (docs/api.md, "State folder"): one LMDB environment,
 * STATE/accounts.mdb (MDB_NOSUBDIR, mode 0600), shared by hikae-server and
 * hikae-admin, so that `hikae-admin user lock|unlock` acts on a running
 * server at its next login attempt. Two databases:
 *   "users"    name -> JSON {name, role, hash, locked, totp, totp_last_step,
 *                            created_at, password_at}
 *              hash is libsodium's crypto_pwhash_str (Argon2id) string.
 *   "failures" name of an existing user -> HkFailRec (native struct): recent
 *              failed logins and the lock-until time; and the fixed table
 *              of every other name: "#" + 4-byte bucket number ->
 *              HK_FAIL_WAYS (name tag, HkFailRec), the tag being a keyed
 *              BLAKE2b hash of the name. So the failure records are bounded:
 *              one per user plus HK_FAIL_BUCKETS buckets, whatever names a
 *              flood sends (docs/api.md, "Login limits").
 *   "meta"     "key" -> the table's 32-byte random hash key; "changes" ->
 *              counter bumped by every change to a user (add, lock, unlock,
 *              password, remove); "logins" -> counter bumped by every
 *              successful login, so a success writes too and fails closed
 *              when the accounts cannot be written.
 * Every write is one durable LMDB transaction. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define HK_USER_NAME_MAX 64
#define HK_PASSWORD_MIN 16
#define HK_PASSWORD_MAX 1024
#define HK_OTP_MAX 16
/* The unknown-name failure table: 1024 buckets of 4 names (4,096 names at
 * once, 712 bytes a bucket, under 1 MiB with LMDB's pages), the oldest
 * unlocked name of a bucket evicted first. */
#define HK_FAIL_BUCKETS 1024u
#define HK_FAIL_WAYS 4

/* docs/api.md, "Roles". clinician_search is a viewer that may also search
 * the text of every patient's documents at once (GET /api/v1/search): a
 * separate role because such a search reads across patients, which a
 * viewer's work (one patient at a time) never needs. The values are stored
 * by name, never by number. */
typedef enum { HK_ROLE_VIEWER = 0, HK_ROLE_AUDITOR = 1, HK_ROLE_CLINICIAN_SEARCH = 2 } HkRole;

typedef struct {
  char *name;
  HkRole role;
  bool locked;          /* locked by an administrator (hikae-admin user lock) */
  char *hash;           /* crypto_pwhash_str string */
  char *totp;           /* Base32 TOTP secret, or NULL when not enrolled */
  int64_t totp_last_step; /* newest TOTP step accepted (replay guard) */
  int64_t created_at;   /* usec */
  int64_t password_at;  /* usec */
} HkUser;

/* Lockout policy: max_failures failed logins within window lock a name for
 * lock_for (interfaces.md: 5, 15 min, 15 min). max_hashes bounds how many
 * Argon2id computations run at once (each takes 64 MiB). */
typedef struct {
  unsigned max_failures;
  int64_t window_usec;
  int64_t lock_usec;
  unsigned max_hashes;
  /* Argon2id cost of new hashes and of the dummy hash; 0: libsodium's
   * INTERACTIVE (the server and hikae-admin). Only the unit tests set a
   * cheaper cost, to run thousands of logins. */
  unsigned long long hash_opslimit;
  size_t hash_memlimit;
  /* hikae-server --require-totp: an account without TOTP cannot log in,
   * even with the right password (res->totp_missing). */
  bool require_totp;
} HkUsersPolicy;

typedef struct hk_users HkUsers;

typedef struct {
  HkRole role;             /* on success */
  int64_t retry_after_usec; /* on -HK_ELOCKED */
  bool otp_required;       /* on -HK_EAUTH: password right, OTP missing */
  bool totp_missing;       /* on -HK_EAUTH: password right, but the policy requires TOTP
                            * and the account has none enrolled */
} HkLoginResult;

const char *hk_role_name(HkRole r);
/* Parse "viewer", "auditor" or "clinician_search". \return 0 or -HK_EINVAL. */
int hk_role_parse(const char *text, HkRole *out);
/* Whether the role reads clinical data (viewer, clinician_search). */
bool hk_role_reads_clinical(HkRole r);

/* True if name is 1-64 of A-Za-z0-9._@- (names are printed in logs and the
 * audit log, so no control characters or spaces). */
bool hk_user_name_valid(const char *name);

/* Check a new password: 16 to 1024 bytes of valid UTF-8, not on the list of
 * common passwords, not the user name, not one repeated character.
 * *why (static text) says what is wrong.
 * \return 0; -HK_EINVAL. */
int hk_password_check(const char *name, const char *password, const char **why);

void hk_user_free(HkUser *u);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkUser, hk_user_free)

/* Open (create with create=true, mode 0700 folder and 0600 file) the
 * accounts of state_dir. policy may be NULL for interfaces.md's defaults.
 * \return 0; -HK_ENOTFOUND (no accounts and not create); -HK_EPERM; -HK_EIO;
 * -HK_ECRYPTO if libsodium cannot start. */
int hk_users_open(const char *state_dir, bool create, const HkUsersPolicy *policy,
                  HkUsers **out);
void hk_users_close(HkUsers *u);

/* Add a user (password checked by hk_password_check). With totp, a new
 * secret is made and returned in *totp_secret (g_free; may be NULL if !totp).
 * \return 0; -HK_EINVAL (name or password); -HK_EEXIST; -HK_EIO; -HK_ENOMEM. */
int hk_users_add(HkUsers *u, const char *name, HkRole role, const char *password, bool totp,
                 char **totp_secret);
/* \return 0; -HK_ENOTFOUND; -HK_EIO; -HK_ECORRUPT. */
int hk_users_get(HkUsers *u, const char *name, HkUser **out);
/* Append every user (HkUser*, caller frees) to out, by name.
 * \return 0; -HK_EIO; -HK_ECORRUPT. */
int hk_users_list(HkUsers *u, GPtrArray *out);
/* Lock (admin lock) or unlock. Unlocking also clears the name's failed-login
 * lockout, which exists for unknown names too: unlocking a name with no user
 * but a lockout succeeds.
 * \return 0; -HK_ENOTFOUND (no user and, for unlock, no lockout); -HK_EIO. */
int hk_users_set_locked(HkUsers *u, const char *name, bool locked);
/* \return 0; -HK_EINVAL (password policy); -HK_ENOTFOUND; -HK_EIO. */
int hk_users_set_password(HkUsers *u, const char *name, const char *password);
/* Enrol a new TOTP secret for an existing user (replacing any old one, for
 * a lost phone); returned in *totp_secret (g_free).
 * \return 0; -HK_ENOTFOUND; -HK_EIO; -HK_ECRYPTO. */
int hk_users_set_totp(HkUsers *u, const char *name, char **totp_secret);
/* \return 0; -HK_ENOTFOUND; -HK_EIO. */
int hk_users_remove(HkUsers *u, const char *name);

/* Check a login at time now (usec). A name of 0 or over HK_USER_NAME_MAX
 * bytes, a password over HK_PASSWORD_MAX bytes or an OTP over HK_OTP_MAX
 * bytes is refused at once with -HK_EINVAL: no hash, nothing written (no
 * user can have such a name or password, so this tells nothing).
 * A name locked by failures answers -HK_ELOCKED at once (known and unknown
 * names alike, so no enumeration); otherwise exactly one Argon2id
 * verification runs, against a dummy hash when the user does not exist, so
 * that the time taken does not tell whether the name exists. A failure is
 * recorded for the name (its own record, or the fixed table for names that
 * are no user); the max_failures-th within the window locks it. A success
 * clears the name's failures and, with TOTP, remembers the code's step so it
 * cannot be used again. Fails closed: if the record of the attempt cannot
 * be written, the answer is that error, never a success nor -HK_EAUTH.
 * Blocking (Argon2id, a synced write): the server runs it off its event
 * loops.
 * \return 0 (res->role set); -HK_EAUTH (wrong name, password or OTP, admin
 * locked; res->otp_required when only the OTP is missing; res->totp_missing
 * when the password is right but policy.require_totp refuses an account
 * without TOTP: counted as a failure like the others); -HK_ELOCKED
 * (res->retry_after_usec); -HK_EINVAL; -HK_ESPACE, -HK_EIO (accounts cannot
 * be read or written); -HK_ENOMEM. */
int hk_users_login(HkUsers *u, const char *name, const char *password, const char *otp,
                   int64_t now, HkLoginResult *res);

/* Make the dummy hash that logins of unknown names are verified against
 * (one Argon2id run, ~70 ms). Done lazily by the first login otherwise,
 * which would make that one answer slower: the server calls this from a
 * thread at start. Thread-safe. */
void hk_users_prepare(HkUsers *u);

/* A number that changes whenever any process (hikae-admin, a login)
 * commits anything to the accounts, failure records included. Cheap (a
 * memory load, no system call): the server's first, per-request check. */
uint64_t hk_users_generation(HkUsers *u);

/* The "changes" counter: moves only when a user is added, locked, unlocked,
 * given a new password or removed (by any process), not on logins or
 * failures. The server re-checks its sessions' users only when it moves, so
 * a failed login costs other sessions one read of this counter, never a
 * re-check. \return 0; -HK_EIO. */
int hk_users_changes(HkUsers *u, uint64_t *out);

/* Pages of accounts.mdb in use (LMDB's last page number + 1) times the page
 * size: what the file needs, for the tests and hikae-admin. */
uint64_t hk_users_used_bytes(HkUsers *u);

/* The failed-login lockout of a name at time now: 0 and *until = 0 if not
 * locked. \return 0; -HK_EIO. */
int hk_users_lockout(HkUsers *u, const char *name, int64_t now, int64_t *until);

/* hk-bench-accounts: what one failed login costs the other sessions.
 *
 * Every failed login writes its failure record to accounts.mdb. The server
 * checks, on each authenticated request, whether the accounts changed
 * (hk-router.c). This measures, on a real accounts.mdb with USERS users and
 * SESSIONS sessions:
 *   before: what a failed login triggered up to now: a re-check of every
 *           session's user (hk_sessions_users + hk_users_get each), under the
 *           watch mutex that every request then waits on;
 *   after:  what it triggers now: one read of the users' change counter
 *           (hk_users_changes), by the next request;
 *   and the per-request fast path (hk_users_generation, a memory load).
 * Usage: hk-bench-accounts [USERS [SESSIONS [ROUNDS]]] (defaults 50 5000 200).
 * Cheap Argon2id cost (as the unit tests): only the accounts' reads are
 * timed. Runs in a temporary folder it removes. */
#include "hk-error.h"
#include "hk-session.h"
#include "hk-users.h"

#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

static double
hk_now_us(void)
{
  return (double)g_get_monotonic_time();
}

int
main(int argc, char **argv)
{
  unsigned nusers = argc > 1 ? (unsigned)atoi(argv[1]) : 50;
  unsigned nsessions = argc > 2 ? (unsigned)atoi(argv[2]) : 5000;
  unsigned rounds = argc > 3 ? (unsigned)atoi(argv[3]) : 200;
  HkUsersPolicy pol = { 5, (int64_t)900 * G_USEC_PER_SEC, (int64_t)900 * G_USEC_PER_SEC, 2,
                        crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN };
  char *tmp = g_dir_make_tmp("hk-bench-accounts-XXXXXX", NULL);
  HkUsers *u = NULL;
  HkSessions *s = NULL;
  HkLoginResult res;
  double t0, before, after, fast;
  uint64_t sink = 0;
  char name[32], token[HK_TOKEN_TEXT_LEN + 1];
  int status = 1;

  if (!tmp || nusers == 0 || rounds == 0 || hk_users_open(tmp, true, &pol, &u) < 0) {
    fprintf(stderr, "hk-bench-accounts: cannot set up\n");
    goto out;
  }
  s = hk_sessions_new((int64_t)3600 * G_USEC_PER_SEC, (int64_t)3600 * G_USEC_PER_SEC, nsessions + 1);
  for (unsigned i = 0; i < nusers; i++) {
    g_snprintf(name, sizeof name, "user%04u", i);
    if (hk_users_add(u, name, HK_ROLE_VIEWER, "bench password long enough", false, NULL) < 0)
      goto out;
  }
  for (unsigned i = 0; i < nsessions; i++) {
    g_snprintf(name, sizeof name, "user%04u", i % nusers);
    hk_sessions_create(s, name, HK_ROLE_VIEWER, g_get_real_time(), token, NULL);
  }
  /* A failed login, as the server's pool makes it (not timed). */
  hk_users_login(u, "nobody", "wrong password!!", NULL, g_get_real_time(), &res);

  t0 = hk_now_us();
  for (unsigned r = 0; r < rounds; r++) {
    GPtrArray *names = hk_sessions_users(s);
    for (guint i = 0; i < names->len; i++) {
      HkUser *user = NULL;
      if (hk_users_get(u, names->pdata[i], &user) == 0)
        sink += (uint64_t)user->password_at;
      hk_user_free(user);
    }
    g_ptr_array_unref(names);
  }
  before = (hk_now_us() - t0) / rounds;

  t0 = hk_now_us();
  for (unsigned r = 0; r < rounds * 100; r++) {
    uint64_t c = 0;
    if (hk_users_changes(u, &c) < 0 || c == 0) {
      fprintf(stderr, "hk-bench-accounts: cannot read the change counter\n");
      goto out;
    }
    sink += c;
  }
  after = (hk_now_us() - t0) / (rounds * 100.0);

  t0 = hk_now_us();
  for (unsigned r = 0; r < rounds * 1000; r++)
    sink += hk_users_generation(u);
  fast = (hk_now_us() - t0) / (rounds * 1000.0);

  printf("users %u, sessions %u\n", nusers, nsessions);
  printf("per failed login, before: re-check of every session's user  %10.1f us\n", before);
  printf("per failed login, after:  one read of the change counter    %10.2f us\n", after);
  printf("per request (both):       transaction id load               %10.3f us\n", fast);
  status = sink == 42 ? 1 : 0; /* keep the loops */
out:
  hk_sessions_free(s);
  hk_users_close(u);
  if (tmp) {
    char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
    if (system(cmd) != 0)
      fprintf(stderr, "hk-bench-accounts: cannot remove %s\n", tmp);
    g_free(cmd);
  }
  g_free(tmp);
  return status;
}

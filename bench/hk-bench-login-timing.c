/* hk-bench-login-timing: the answer time of a failed login for a known
 * name and for an unknown one (no user enumeration by timing).
 *
 * Usage: hk-bench-login-timing [TRIES]   (default 21, at most 1000)
 *
 * Opens a users database in a temporary folder with the production
 * Argon2id cost, adds one account, then alternates TRIES failed logins
 * for the known name and TRIES for unknown names, so that load from
 * elsewhere on the machine hits both alike. Prints each side's median,
 * p10 and p90 in microseconds and the ratio of the medians. Each try runs
 * at its own hk time, past the lockout window, so no lock cuts it short.
 * This figure used to be a pass/fail bound in tests/server/test-users.c
 * and test-server-api.py; it belongs here (issue 12). */
#include "hk-error.h"
#include "hk-users.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#define HK_BENCH_PW "bench long password 1234"

static int
hk_cmp_i64(const void *a, const void *b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

  return (x > y) - (x < y);
}

static gint64
hk_pct(gint64 *v, int n, int pct)
{
  return v[(n - 1) * pct / 100];
}

int
main(int argc, char **argv)
{
  int tries = argc > 1 ? atoi(argv[1]) : 21;
  g_autofree char *tmp = NULL;
  g_autofree char *state = NULL;
  g_autofree gint64 *known = NULL;
  g_autofree gint64 *unknown = NULL;
  HkUsers *u = NULL;
  HkLoginResult r;
  int ret = 1;

  if (tries < 3 || tries > 1000) {
    fprintf(stderr, "hk-bench-login-timing: TRIES must be 3..1000\n");
    goto out;
  }
  tmp = g_dir_make_tmp("hk-bench-login-XXXXXX", NULL);
  state = tmp ? g_build_filename(tmp, "state", NULL) : NULL;
  if (!state || hk_users_open(state, true, NULL, &u) < 0 ||
      hk_users_add(u, "dave", HK_ROLE_VIEWER, HK_BENCH_PW, false, NULL) < 0) {
    fprintf(stderr, "hk-bench-login-timing: cannot set up a users database\n");
    goto out;
  }
  known = g_new0(gint64, tries);
  unknown = g_new0(gint64, tries);
  /* Warm the dummy hash up first. */
  hk_users_login(u, "ghost", HK_BENCH_PW, NULL, 0, &r);
  for (int i = 0; i < tries; i++) {
    /* An hour apart on hk time: every try is outside the last one's
     * lockout window. */
    int64_t at = (int64_t)(i + 1) * 3600 * G_USEC_PER_SEC;
    g_autofree char *ghost = g_strdup_printf("ghost%d", i);
    gint64 t0 = g_get_monotonic_time();

    if (hk_users_login(u, "dave", "wrong but long pw", NULL, at, &r) != -HK_EAUTH)
      goto fail;
    known[i] = g_get_monotonic_time() - t0;
    t0 = g_get_monotonic_time();
    if (hk_users_login(u, ghost, "wrong but long pw", NULL, at, &r) != -HK_EAUTH)
      goto fail;
    unknown[i] = g_get_monotonic_time() - t0;
  }
  qsort(known, tries, sizeof *known, hk_cmp_i64);
  qsort(unknown, tries, sizeof *unknown, hk_cmp_i64);
  printf("failed login, %d tries each (us): known p10 %lld median %lld p90 %lld; "
         "unknown p10 %lld median %lld p90 %lld; median ratio known/unknown %.3f\n",
         tries, (long long)hk_pct(known, tries, 10), (long long)hk_pct(known, tries, 50),
         (long long)hk_pct(known, tries, 90), (long long)hk_pct(unknown, tries, 10),
         (long long)hk_pct(unknown, tries, 50), (long long)hk_pct(unknown, tries, 90),
         (double)hk_pct(known, tries, 50) / (double)hk_pct(unknown, tries, 50));
  ret = 0;
  goto out;
fail:
  fprintf(stderr, "hk-bench-login-timing: a wrong password was not refused as such\n");
out:
  if (u)
    hk_users_close(u);
  if (tmp) {
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmp);
    if (system(rm) != 0)
      fprintf(stderr, "hk-bench-login-timing: could not remove %s\n", tmp);
  }
  return ret;
}

/* hikae-server: the read-only HTTPS archive server.
 *
 * Opens the document store read-only, its own state (accounts, audit log)
 * in --state, and serves the API of interfaces.md over TLS with one event
 * base per worker thread. SIGTERM/SIGINT stop it gracefully. */
#include "hk-server.h"

#include "hk-config.h"
#include "hk-error.h"
#include "hk-log.h"
#include "hk-time.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int
hk_server_check_options(HkServerOptions *o)
{
  int status = 0;

  if (!o->store_dir)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--store DIR is required");
  else if (!o->state_dir)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--state DIR is required");
  else if (!o->listen)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--listen HOST:PORT is required");
  else if (!o->tls_cert || !o->tls_key)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--tls-cert FILE and --tls-key FILE are required");
  else if (o->workers < 0 || o->workers > 256)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--workers: 1-256");
  else if (o->session_idle_s < 1 || o->session_max_s < 1)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--session-idle and --session-max: at least 1 s");
  else if (o->indexer_stale_s < 1)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--indexer-stale: at least 1 s");
  else if (o->max_connections < 1 || o->request_timeout_s < 1 || o->drain_s < 0)
    status = hk_usage_error(HK_SERVER_PROGRAM,
                            "--max-connections, --request-timeout: at least 1");
  else if (o->max_hashes < 1 || o->max_hashes > 64)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--max-hashes: 1-64");
  else if (o->login_queue < 1 || o->login_queue > 4096)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--login-queue: 1-4096");
  else if (g_strcmp0(o->audit_sync, "always") != 0 && g_strcmp0(o->audit_sync, "interval") != 0)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--audit-sync: always or interval");
  else if (o->audit_sync_ms < 1 || o->audit_sync_ms > 10000)
    status = hk_usage_error(HK_SERVER_PROGRAM, "--audit-sync-interval: 1-10000 ms");
  else if (o->map_size_mb < 0 ||
           (o->map_size_mb && (uint64_t)o->map_size_mb << 20 < HK_STORE_MAP_MIN))
    status = hk_usage_error(HK_SERVER_PROGRAM, "--map-size: at least 1 MiB");
  else if (!strrchr(o->listen, ':'))
    status = hk_usage_error(HK_SERVER_PROGRAM, "--listen: expected HOST:PORT");
  return status;
}

/* Wait for SIGTERM/SIGINT (blocked in every thread), pruning expired
 * sessions once a minute meanwhile. */
static int
hk_server_wait(HkServer *srv, const sigset_t *set)
{
  struct timespec minute = { 60, 0 };
  int sig;

  for (;;) {
    sig = sigtimedwait(set, NULL, &minute);
    if (sig == SIGTERM || sig == SIGINT)
      break;
    if (sig < 0 && errno != EAGAIN && errno != EINTR)
      break;
    hk_sessions_prune(srv->sessions, hk_time_now());
  }
  return sig;
}

/* --require-totp: say at start how many accounts cannot log in until a
 * TOTP is enrolled, and which (names only; they are in the audit log too). */
static void
hk_server_note_totp(HkUsers *users)
{
  GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)hk_user_free);
  GString *names = g_string_new(NULL);
  unsigned without = 0;
  int ret = hk_users_list(users, all);

  for (guint i = 0; ret == 0 && i < all->len; i++) {
    const HkUser *u = all->pdata[i];
    if (u->totp)
      continue;
    if (++without <= 20)
      g_string_append_printf(names, "%s%s", without > 1 ? ", " : "", u->name);
  }
  if (ret < 0)
    hk_warn("--require-totp: cannot list the accounts: %s", hk_strerror(ret));
  else if (without)
    hk_warn("--require-totp: %u of %u accounts have no TOTP and cannot log in until one is "
            "enrolled: %s%s",
            without, all->len, names->str, without > 20 ? ", ..." : "");
  else
    hk_info("--require-totp: all %u accounts have TOTP", all->len);
  g_string_free(names, TRUE);
  g_ptr_array_unref(all);
}

static gpointer
hk_server_prepare(gpointer users)
{
  hk_users_prepare(users);
  return NULL;
}

int
main(int argc, char **argv)
{
  HkServer srv = { 0 };
  HkServerOptions *o = &srv.opt;
  GOptionEntry entries[] = {
    { "store", 0, 0, G_OPTION_ARG_FILENAME, &o->store_dir, "Document store folder (read-only)", "DIR" },
    { "state", 0, 0, G_OPTION_ARG_FILENAME, &o->state_dir, "State folder: accounts, audit log", "DIR" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &o->listen, "Address to listen on", "HOST:PORT" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &o->tls_cert, "Certificate chain (PEM)", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &o->tls_key, "Private key (PEM)", "FILE" },
    { "workers", 0, 0, G_OPTION_ARG_INT, &o->workers, "Event loops (default: one per core)", "N" },
    { "session-idle", 0, 0, G_OPTION_ARG_INT, &o->session_idle_s, "Session idle timeout (1800)", "SECONDS" },
    { "session-max", 0, 0, G_OPTION_ARG_INT, &o->session_max_s, "Session lifetime (43200)", "SECONDS" },
    { "indexer-stale", 0, 0, G_OPTION_ARG_INT, &o->indexer_stale_s,
      "Report the indexer stopped after this long without a heartbeat (120)", "SECONDS" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &o->max_connections, "Open connections (1024)", "N" },
    { "request-timeout", 0, 0, G_OPTION_ARG_INT, &o->request_timeout_s,
      "Time to receive a request, stall limit, keep-alive idle (10)", "SECONDS" },
    { "drain", 0, 0, G_OPTION_ARG_INT, &o->drain_s, "On SIGTERM, time for answers in flight (10)", "SECONDS" },
    { "max-hashes", 0, 0, G_OPTION_ARG_INT, &o->max_hashes, "Concurrent password hashes (2)", "N" },
    { "login-queue", 0, 0, G_OPTION_ARG_INT, &o->login_queue,
      "Logins waiting for a hash thread; beyond, 503 with Retry-After (32)", "N" },
    { "max-sessions", 0, 0, G_OPTION_ARG_INT, &o->max_sessions, "Sessions held (10000)", "N" },
    { "audit-sync", 0, 0, G_OPTION_ARG_STRING, &o->audit_sync,
      "When audit records reach the disk: interval (written before the answer, "
      "fdatasync every interval; default) or always (fdatasync before every answer)",
      "always|interval" },
    { "audit-sync-interval", 0, 0, G_OPTION_ARG_INT, &o->audit_sync_ms,
      "With --audit-sync=interval: most records a power loss may lose, in time (200)", "MS" },
    { "map-size", 0, 0, G_OPTION_ARG_INT, &o->map_size_mb,
      "Map of the store in this process, in MiB (1048576 = 1 TiB; smaller only to test "
      "following the indexer's growth)", "MIB" },
    { "require-totp", 0, 0, G_OPTION_ARG_NONE, &o->require_totp,
      "Every account must have TOTP: refuse the login of an account without it (403 "
      "totp_required)", NULL },
    { NULL },
  };
  HkUsersPolicy policy = { 5, 15 * 60 * G_USEC_PER_SEC, 15 * 60 * G_USEC_PER_SEC, 2 };
  sigset_t set;
  GThread *prepare = NULL;
  int ret, status = 1;

  hk_log_set_program(HK_SERVER_PROGRAM);
  o->workers = 0;
  o->session_idle_s = 30 * 60;
  o->session_max_s = 12 * 3600;
  o->indexer_stale_s = 120;
  o->max_connections = 1024;
  o->request_timeout_s = 10;
  o->drain_s = 10;
  o->max_hashes = 2;
  o->login_queue = 32;
  o->max_sessions = 10000;
  o->audit_sync_ms = 200;
  ret = hk_config_parse(HK_SERVER_PROGRAM, NULL, "The read-only HTTPS archive server of hikae.",
                        entries, &argc, &argv);
  if (ret < 0) {
    status = ret == -HK_EINVAL ? 2 : 1;
    goto out;
  }
  if (argc > 1) {
    status = hk_usage_error(HK_SERVER_PROGRAM, "unexpected argument \"%s\"", argv[1]);
    goto out;
  }
  if (!o->audit_sync)
    o->audit_sync = g_strdup("interval");
  status = hk_server_check_options(o);
  if (status)
    goto out;
  o->audit_sync_always = strcmp(o->audit_sync, "always") == 0;
  status = 1;
  srv.nworkers = o->workers ? o->workers : (int)MAX(1, g_get_num_processors());
  policy.max_hashes = (unsigned)o->max_hashes;
  policy.require_totp = o->require_totp;

  /* Streamed content is copied a 64 KiB chunk at a time (hk-worker.c).
   * glibc would hand freed chunks back to the kernel (trim) and fault fresh
   * zeroed pages in for the next copy, which tripled the CPU cost of a
   * 200 KB answer; keep up to 64 MiB of freed heap per arena instead. */
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  if (sodium_init() < 0) {
    hk_error("libsodium cannot start");
    goto out;
  }
  /* Block the stop signals before any thread starts so only sigtimedwait
   * sees them; a peer closing mid-write must not kill the process. */
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* A file size limit (RLIMIT_FSIZE) reached by the audit log must fail the
   * write with EFBIG, so the request answers 503, not kill the server. */
  signal(SIGXFSZ, SIG_IGN);

  ret = hk_store_open_map(o->store_dir, HK_STORE_RDONLY, (uint64_t)o->map_size_mb << 20,
                          &srv.store);
  if (ret < 0) {
    hk_error("--store %s: %s", o->store_dir, hk_strerror(ret));
    goto out;
  }
  if (g_mkdir_with_parents(o->state_dir, 0700) != 0) {
    hk_error("--state %s: %s", o->state_dir, g_strerror(errno));
    goto out;
  }
  ret = hk_users_open(o->state_dir, true, &policy, &srv.users);
  if (ret < 0) {
    hk_error("--state %s: accounts: %s", o->state_dir, hk_strerror(ret));
    goto out;
  }
  if (o->require_totp)
    hk_server_note_totp(srv.users);
  g_mutex_init(&srv.accounts.lock);
  srv.accounts.seen = hk_users_generation(srv.users);
  ret = hk_users_changes(srv.users, &srv.accounts.changes);
  if (ret == 0)
    ret = hk_login_pool_start(&srv);
  if (ret < 0) {
    hk_error("--state %s: accounts: %s", o->state_dir, hk_strerror(ret));
    goto out;
  }
  ret = hk_audit_open(o->state_dir, &srv.audit);
  if (ret < 0) {
    hk_error("--state %s: audit log: %s", o->state_dir, hk_strerror(ret));
    goto out;
  }
  /* A copy of the anchor off the log's file, for audit verify --expect. */
  hk_audit_set_checkpoints(srv.audit, 60);
  /* Off the start-up path: cold start stays fast, and the first unknown
   * name does not answer slower than a known one. */
  prepare = g_thread_new("hk-prepare", hk_server_prepare, srv.users);
  srv.sessions = hk_sessions_new((int64_t)o->session_idle_s * G_USEC_PER_SEC,
                                 (int64_t)o->session_max_s * G_USEC_PER_SEC,
                                 (unsigned)o->max_sessions);
  ret = hk_tls_context_new(o->tls_cert, o->tls_key, &srv.ssl);
  if (ret < 0)
    goto out;
  ret = hk_workers_start(&srv);
  if (ret < 0) {
    hk_error("--listen %s: %s", o->listen, hk_strerror(ret));
    goto out;
  }
  {
    HkAuditEvent e = { .user = "-", .client = "local", .action = "server.start",
                       .detail = o->listen };
    if (hk_audit_append(srv.audit, &e, NULL) < 0) {
      hk_error("audit log: cannot write; refusing to serve");
      goto out;
    }
  }
  hk_info("serving https://%s/ with %d workers (store %s, state %s, audit sync %s, %d ms%s)",
          o->listen, srv.nworkers, o->store_dir, o->state_dir, o->audit_sync,
          o->audit_sync_always ? 0 : o->audit_sync_ms,
          o->require_totp ? ", TOTP required" : "");
  hk_server_wait(&srv, &set);
  hk_info("stopping: no new connections, finishing answers in flight");
  hk_login_pool_stop(&srv);
  hk_workers_stop(&srv);
  {
    HkAuditEvent e = { .user = "-", .client = "local", .action = "server.stop" };
    hk_audit_append(srv.audit, &e, NULL);
  }
  hk_info("stopped");
  status = 0;
out:
  hk_login_pool_stop(&srv);
  if (srv.workers)
    hk_workers_stop(&srv);
  hk_login_pool_free(&srv);
  if (srv.ssl)
    SSL_CTX_free(srv.ssl);
  hk_sessions_free(srv.sessions);
  hk_audit_close(srv.audit);
  /* A stop right after the start finds the dummy hash still being made:
   * wait for it before the accounts (and its lock) go away. */
  if (prepare)
    g_thread_join(prepare);
  hk_users_close(srv.users);
  if (srv.store)
    hk_store_close(srv.store);
  g_free(o->store_dir);
  g_free(o->state_dir);
  g_free(o->listen);
  g_free(o->tls_cert);
  g_free(o->tls_key);
  g_free(o->audit_sync);
  return status;
}

/* hk-admin.h: the subcommands of hikae-admin. Each takes the arguments
 * after "hikae-admin" (argv[0] is the subcommand word) and returns the
 * process exit status: 0 ok, 1 runtime failure, 2 usage error. */
#pragma once

#include "hk-store.h"

#include <glib.h>
#include <stdio.h>

#define HK_ADMIN_PROGRAM "hikae-admin"
/* A "running" indexer silent for longer than this is reported stopped. */
#define HK_ADMIN_STALE_S 60
/* The longest --reason of `hikae-admin seal`, in bytes. */
#define HK_SEAL_REASON_MAX 500

int hk_admin_stats_main(int argc, char **argv);
int hk_admin_ls_main(int argc, char **argv);
int hk_admin_export_main(int argc, char **argv);
int hk_admin_verify_main(int argc, char **argv);
int hk_admin_reindex_main(int argc, char **argv);
int hk_admin_quarantine_main(int argc, char **argv);
int hk_admin_unseal_main(int argc, char **argv);
int hk_admin_seal_main(int argc, char **argv);
int hk_admin_restore_main(int argc, char **argv);
int hk_admin_backup_main(int argc, char **argv);
int hk_admin_migrate_main(int argc, char **argv);
int hk_admin_drill_main(int argc, char **argv);

/* Parse a subcommand's options (hk_config_parse), then refuse an argument
 * left over and a missing *required option (required_name says which, for
 * the error: "--store DIR"). \return 0, or the exit status to end with. */
int hk_admin_parse(const char *params, const char *summary, const GOptionEntry *entries, int *argc,
                   char ***argv, char *const *required, const char *required_name);

/* Re-hash every version of the store at s; print each mismatch to err.
 * Sets *checked and *bad. \return 0 if it could read the store. */
int hk_admin_verify_store(hk_store *s, FILE *err, uint64_t *checked, uint64_t *bad);

/* Is the open file fd a whole LMDB file (its meta pages readable, as long
 * as its pages need)? A store cut short would open, and its first read past
 * the end would kill the process with SIGBUS. On a problem, *why (g_free)
 * names it. \return 0; -HK_ECORRUPT (cut short); -HK_EFORMAT (not LMDB);
 * -HK_EIO. */
int hk_admin_check_lmdb(int fd, char **why);

/* hikae-admin: operating the archive on its own host. */
#include "hk-admin.h"
#include "hk-admin-audit.h"
#include "hk-admin-user.h"

#include "hk-build.h"
#include "hk-config.h"
#include "hk-log.h"

#include <string.h>

typedef struct {
  const char *name;
  int (*main)(int argc, char **argv);
  const char *help;
} HkAdminCommand;

static const HkAdminCommand hk_commands[] = {
  { "stats", hk_admin_stats_main, "stats --store DIR            counts and freshness (JSON)" },
  { "ls", hk_admin_ls_main, "ls --store DIR [--patient ID] one JSON line per version" },
  { "export", hk_admin_export_main,
    "export --store DIR --doc ID [--version N] --out FILE" },
  { "verify", hk_admin_verify_main, "verify --store DIR           re-hash every version" },
  { "reindex", hk_admin_reindex_main,
    "reindex --store DIR          rebuild the search index from the store, swap it in" },
  { "quarantine", hk_admin_quarantine_main, "quarantine --store DIR       what was refused, why" },
  { "seal", hk_admin_seal_main,
    "seal --store DIR --reason TEXT  freeze ingest now, as the tripwire does" },
  { "unseal", hk_admin_unseal_main, "unseal --store DIR           resume after a seal" },
  { "migrate", hk_admin_migrate_main,
    "migrate --store DIR [--drop-name N] [--ssmix2-name N]  store format 1 or 2 -> 3" },
  { "backup", hk_admin_backup_main, "backup --store DIR --to DIR [--keep N]" },
  { "restore", hk_admin_restore_main,
    "restore --from BACKUP --store NEWDIR  verified copy into a new folder, never over a store" },
  { "user", hk_admin_user_main,
    "user add|list|lock|unlock|passwd|totp|remove NAME --state DIR [--role viewer|auditor]\n"
    "       [--totp] [--password-file FILE | --generate]" },
  { "audit", hk_admin_audit_main, "audit verify --state DIR       check the audit hash chain" },
  { "drill", hk_admin_drill_main,
    "drill --server URL --ca FILE --user NAME --password-file FILE [--report DIR]  downtime drill" },
};

static void
hk_admin_usage(FILE *f)
{
  fprintf(f, "Usage: %s COMMAND [OPTIONS]\n\nCommands:\n", HK_ADMIN_PROGRAM);
  for (size_t i = 0; i < G_N_ELEMENTS(hk_commands); i++)
    fprintf(f, "  %s\n", hk_commands[i].help);
  fprintf(f, "\n'%s COMMAND --help' describes one command.\n", HK_ADMIN_PROGRAM);
}

int
main(int argc, char **argv)
{
  int status = 2;

  hk_log_set_program(HK_ADMIN_PROGRAM);
  if (argc < 2) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "a command is required");
    goto out;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    hk_admin_usage(stdout);
    status = 0;
    goto out;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("%s %s\n", HK_ADMIN_PROGRAM, HK_VERSION);
    status = 0;
    goto out;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(hk_commands); i++) {
    if (strcmp(argv[1], hk_commands[i].name) == 0) {
      status = hk_commands[i].main(argc - 1, argv + 1);
      goto out;
    }
  }
  status = hk_usage_error(HK_ADMIN_PROGRAM, "unknown command \"%s\"", argv[1]);
out:
  return status;
}

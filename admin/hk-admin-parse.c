/* hk-admin-parse.c: the option parsing every subcommand of hikae-admin
 * shares (a file of its own: tests/server/hk-test-admin links the user and
 * audit commands without hk-admin.c's main). */
#include "hk-admin.h"

#include "hk-config.h"
#include "hk-error.h"

int
hk_admin_parse(const char *params, const char *summary, const GOptionEntry *entries, int *argc,
               char ***argv, char *const *required, const char *required_name)
{
  int ret, status = 0;

  ret = hk_config_parse(HK_ADMIN_PROGRAM, params, summary, entries, argc, argv);
  if (ret < 0) {
    status = ret == -HK_EINVAL ? 2 : 1;
    goto out;
  }
  if (*argc > 1) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "unexpected argument \"%s\"", (*argv)[1]);
    goto out;
  }
  if (!*required)
    status = hk_usage_error(HK_ADMIN_PROGRAM, "%s is required", required_name);
out:
  return status;
}

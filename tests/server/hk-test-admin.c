/* A stand-in for hikae-admin's dispatcher with only the commands of this
 * issue, so the integration tests can run before admin/hk-admin.c
 * dispatches "user" and "audit". The tests use the real hikae-admin when it
 * knows them. */
#include "hk-admin-audit.h"
#include "hk-admin-user.h"

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "user") == 0)
    return hk_admin_user_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "audit") == 0)
    return hk_admin_audit_main(argc - 1, argv + 1);
  fprintf(stderr, "hk-test-admin: user|audit ...\n");
  return 2;
}

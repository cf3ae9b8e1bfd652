/* hk-admin-audit.h: `hikae-admin audit verify --state DIR`. */
#pragma once

/* argv[0] is "audit". \return 0 if the log verifies, 1 if it does not (or
 * cannot be read), 2 on a usage error. */
int hk_admin_audit_main(int argc, char **argv);

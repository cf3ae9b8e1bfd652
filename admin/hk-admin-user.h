/* hk-admin-user.h: `hikae-admin user add|list|lock|unlock|passwd|remove`.
 * Accounts live in the server's state folder (hk-users.h); there is no web
 * administration, only this command on the host. */
#pragma once

/* argv[0] is "user". \return the exit status: 0 ok, 1 runtime failure, 2
 * usage error. */
int hk_admin_user_main(int argc, char **argv);

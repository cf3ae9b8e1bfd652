/* hikae-admin user add|list|lock|unlock|passwd|totp|remove: accounts of
 * hikae-server, managed on the host only. Each change is also written to the
 * audit log, so the auditor sees who was given access and when. */
#include "hk-admin-user.h"

#include "hk-admin.h"
#include "hk-audit.h"
#include "hk-config.h"
#include "hk-error.h"
#include "hk-time.h"
#include "hk-totp.h"
#include "hk-users.h"

#include <json-glib/json-glib.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define HK_USER_USAGE                                                                      \
  "user add|list|lock|unlock|passwd|totp|remove NAME --state DIR [--role viewer|auditor|clinician_search] "  \
  "[--totp] [--password-file FILE | --generate]"

/* A password made here: 20 characters from a 32-letter alphabet without
 * look-alikes (no 0/o, no 1/l), from libsodium's CSPRNG: 100 bits, in
 * groups of five so it can be read out over a phone (23 characters with
 * the dashes; at least 16 as MHLW 6.0 asks). */
static char *
hk_admin_make_password(void)
{
  static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  GString *s = g_string_new(NULL);

  for (int i = 0; i < 20; i++) {
    if (i && i % 5 == 0)
      g_string_append_c(s, '-');
    g_string_append_c(s, alphabet[randombytes_uniform(sizeof alphabet - 1)]);
  }
  return g_string_free(s, FALSE);
}

/* One line (its newline removed) from f into *out. */
static int
hk_admin_read_line(FILE *f, char **out)
{
  char buf[HK_PASSWORD_MAX + 2];
  int ret = 0;

  if (!fgets(buf, sizeof buf, f)) {
    ret = -HK_EINVAL;
    goto out;
  }
  buf[strcspn(buf, "\r\n")] = 0;
  *out = g_strdup(buf);
out:
  sodium_memzero(buf, sizeof buf);
  return ret;
}

/* Where the password comes from, in this order: --generate; --password-file
 * FILE ("-": standard input); standard input when it is not a terminal
 * (interfaces.md); else, on a terminal, one is generated. *generated tells
 * whether it was made here (then it is printed once). */
static int
hk_admin_get_password(const char *file, bool generate, char **out, bool *generated)
{
  FILE *f = NULL;
  struct stat st;
  int ret = 0;

  *generated = false;
  if (generate || (!file && isatty(STDIN_FILENO))) {
    *out = hk_admin_make_password();
    *generated = true;
    goto out;
  }
  if (!file || strcmp(file, "-") == 0) {
    ret = hk_admin_read_line(stdin, out);
    if (ret < 0)
      fprintf(stderr,
              "%s: no password on standard input; give --password-file FILE, or --generate "
              "to have one made and printed once\n",
              HK_ADMIN_PROGRAM);
    goto out;
  }
  f = fopen(file, "re");
  if (!f) {
    fprintf(stderr, "%s: --password-file %s: %s\n", HK_ADMIN_PROGRAM, file, g_strerror(errno));
    ret = -HK_EIO;
    goto out;
  }
  /* A password file others can read is a password others know. */
  if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077))
    fprintf(stderr, "%s: warning: --password-file %s can be read by others (mode %04o); "
                    "chmod 600 it, and delete it when done\n",
            HK_ADMIN_PROGRAM, file, (unsigned)(st.st_mode & 07777));
  ret = hk_admin_read_line(f, out);
  if (ret < 0)
    fprintf(stderr, "%s: --password-file %s is empty\n", HK_ADMIN_PROGRAM, file);
out:
  if (f)
    fclose(f);
  return ret;
}

static void
hk_admin_user_audit(const char *state, const char *action, const char *name, const char *outcome,
                    const char *detail)
{
  HkAudit *a = NULL;
  struct passwd *pw = getpwuid(getuid());
  char *who = g_strdup_printf("host:%s", pw ? pw->pw_name : "?");
  HkAuditEvent e = { .user = who, .client = "local", .action = action, .outcome = outcome,
                     .query = name, .detail = detail };

  if (hk_audit_open(state, &a) < 0 || hk_audit_append(a, &e, NULL) < 0)
    fprintf(stderr, "%s: warning: could not write the audit log in %s\n", HK_ADMIN_PROGRAM, state);
  hk_audit_close(a);
  g_free(who);
}

static void
hk_admin_user_print(HkUsers *u, const HkUser *user)
{
  JsonBuilder *b = json_builder_new();
  JsonNode *root;
  char *s, *t;
  int64_t until = 0;

  hk_users_lockout(u, user->name, hk_time_now(), &until);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, user->name);
  json_builder_set_member_name(b, "role");
  json_builder_add_string_value(b, hk_role_name(user->role));
  json_builder_set_member_name(b, "locked");
  json_builder_add_boolean_value(b, user->locked);
  json_builder_set_member_name(b, "totp");
  json_builder_add_boolean_value(b, user->totp != NULL);
  json_builder_set_member_name(b, "locked_out_until");
  if (until) {
    t = hk_time_format(until);
    json_builder_add_string_value(b, t);
    g_free(t);
  } else {
    json_builder_add_null_value(b);
  }
  json_builder_set_member_name(b, "created_at");
  t = hk_time_format(user->created_at);
  json_builder_add_string_value(b, t);
  g_free(t);
  json_builder_set_member_name(b, "password_at");
  t = hk_time_format(user->password_at);
  json_builder_add_string_value(b, t);
  g_free(t);
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  s = json_to_string(root, FALSE);
  printf("%s\n", s);
  g_free(s);
  json_node_unref(root);
  g_object_unref(b);
}

int
hk_admin_user_main(int argc, char **argv)
{
  char *state = NULL, *role_text = NULL, *password = NULL, *secret = NULL;
  char *password_file = NULL;
  gboolean totp = FALSE, generate = FALSE;
  GOptionEntry entries[] = {
    { "state", 0, 0, G_OPTION_ARG_FILENAME, &state, "Server state folder", "DIR" },
    { "role", 0, 0, G_OPTION_ARG_STRING, &role_text, "viewer (default), auditor or clinician_search", "ROLE" },
    { "totp", 0, 0, G_OPTION_ARG_NONE, &totp, "Enrol a TOTP second factor", NULL },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file,
      "add, passwd: the password is the first line of FILE (- for standard input)", "FILE" },
    { "generate", 0, 0, G_OPTION_ARG_NONE, &generate,
      "add, passwd: make a password (20 letters and digits, 100 bits) and print it once; the "
      "default on a terminal",
      NULL },
    { NULL },
  };
  static const char *const actions[] = { "add",    "list", "lock",  "unlock",
                                         "passwd", "totp", "remove" };
  const char *action = NULL, *name = NULL, *why = NULL;
  HkUsers *u = NULL;
  HkRole role = HK_ROLE_VIEWER;
  bool generated = false;
  int ret, status = 2;

  if (argc < 2) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "user: an action is required: %s", HK_USER_USAGE);
    goto out;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    printf("Usage: %s %s\n", HK_ADMIN_PROGRAM, HK_USER_USAGE);
    status = 0;
    goto out;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(actions); i++)
    if (strcmp(argv[1], actions[i]) == 0)
      action = actions[i];
  if (!action) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "user: unknown action \"%s\"", argv[1]);
    goto out;
  }
  argc--;
  argv++;
  ret = hk_config_parse(HK_ADMIN_PROGRAM, "user ACTION NAME", "Manage hikae-server accounts",
                        entries, &argc, &argv);
  if (ret < 0) {
    status = ret == -HK_EINVAL ? 2 : 1;
    goto out;
  }
  if (argc > 2) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "unexpected argument \"%s\"", argv[2]);
    goto out;
  }
  name = argc == 2 ? argv[1] : NULL;
  if (!name && strcmp(action, "list") != 0) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "user %s: NAME is required", action);
    goto out;
  }
  if (!state) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "--state DIR is required");
    goto out;
  }
  if (role_text && hk_role_parse(role_text, &role) < 0) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "--role: expected viewer, auditor or clinician_search");
    goto out;
  }
  if ((role_text || totp) && strcmp(action, "add") != 0) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "--role and --totp go with \"user add\" only");
    goto out;
  }
  if ((password_file || generate) && strcmp(action, "add") != 0 &&
      strcmp(action, "passwd") != 0) {
    status = hk_usage_error(HK_ADMIN_PROGRAM,
                            "--password-file and --generate go with \"user add\" and \"user "
                            "passwd\" only");
    goto out;
  }
  if (password_file && generate) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "give --password-file FILE or --generate, not both");
    goto out;
  }
  /* lock/unlock name any string a login could have tried; the others need a
   * valid account name. */
  if (name && strcmp(action, "unlock") != 0 && !hk_user_name_valid(name)) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "NAME: 1-64 of A-Za-z0-9._@-");
    goto out;
  }

  status = 1;
  ret = hk_users_open(state, strcmp(action, "add") == 0, NULL, &u);
  if (ret < 0) {
    fprintf(stderr, "%s: accounts in %s: %s\n", HK_ADMIN_PROGRAM, state, hk_strerror(ret));
    goto out;
  }

  if (strcmp(action, "add") == 0 || strcmp(action, "passwd") == 0) {
    if (hk_admin_get_password(password_file, generate, &password, &generated) < 0)
      goto out;
    if (hk_password_check(name, password, &why) < 0) {
      fprintf(stderr, "%s: password refused: %s\n", HK_ADMIN_PROGRAM, why);
      status = 1;
      goto out;
    }
  }

  if (strcmp(action, "add") == 0) {
    ret = hk_users_add(u, name, role, password, totp, &secret);
    if (ret == -HK_EEXIST) {
      fprintf(stderr, "%s: user %s already exists\n", HK_ADMIN_PROGRAM, name);
      goto out;
    }
  } else if (strcmp(action, "passwd") == 0) {
    ret = hk_users_set_password(u, name, password);
  } else if (strcmp(action, "lock") == 0) {
    ret = hk_users_set_locked(u, name, true);
  } else if (strcmp(action, "unlock") == 0) {
    ret = hk_users_set_locked(u, name, false);
  } else if (strcmp(action, "totp") == 0) {
    /* Enrol (or replace, for a lost phone) the TOTP of an existing account:
     * what --require-totp needs of accounts made without one. */
    ret = hk_users_set_totp(u, name, &secret);
  } else if (strcmp(action, "remove") == 0) {
    ret = hk_users_remove(u, name);
  } else {
    GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)hk_user_free);
    ret = hk_users_list(u, all);
    for (guint i = 0; ret == 0 && i < all->len; i++) {
      HkUser *user = all->pdata[i];
      if (!name || strcmp(name, user->name) == 0)
        hk_admin_user_print(u, user);
    }
    g_ptr_array_unref(all);
  }
  if (ret == -HK_ENOTFOUND) {
    fprintf(stderr, "%s: no user %s\n", HK_ADMIN_PROGRAM, name);
    goto out;
  }
  if (ret < 0) {
    fprintf(stderr, "%s: user %s: %s\n", HK_ADMIN_PROGRAM, action, hk_strerror(ret));
    goto out;
  }
  if (strcmp(action, "list") != 0) {
    char *what = g_strconcat("user.", action, NULL);
    hk_admin_user_audit(state, what, name, "success",
                        strcmp(action, "add") == 0 ? hk_role_name(role) : NULL);
    g_free(what);
  }
  if (generated) {
    /* Printed once, here only: it is stored as an Argon2id hash. */
    printf("password: %s\n", password);
  }
  if (secret) {
    char *uri = hk_totp_uri("hikae", name, secret);
    printf("totp: %s\n", uri);
    g_free(uri);
  }
  if (strcmp(action, "list") != 0)
    fprintf(stderr, "%s: user %s: %s done\n", HK_ADMIN_PROGRAM, name, action);
  status = 0;
out:
  if (password) {
    sodium_memzero(password, strlen(password));
    g_free(password);
  }
  if (secret) {
    sodium_memzero(secret, strlen(secret));
    g_free(secret);
  }
  g_free(state);
  g_free(role_text);
  g_free(password_file);
  hk_users_close(u);
  return status;
}

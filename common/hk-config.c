#include "hk-config.h"

#include "hk-build.h"
#include "hk-error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
hk_usage_error(const char *program, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s: %s (see --help)\n", program, msg);
  g_free(msg);
  return 2;
}

/* Whether the option's value is memory that hk_config_apply allocates. */
static bool
hk_config_owns(const GOptionEntry *e)
{
  return e->arg == G_OPTION_ARG_STRING || e->arg == G_OPTION_ARG_FILENAME ||
         e->arg == G_OPTION_ARG_STRING_ARRAY || e->arg == G_OPTION_ARG_FILENAME_ARRAY;
}

/* Copy the key file's value for one option into its arg_data, as if it had
 * been given on the command line before anything else. */
static int
hk_config_apply(GKeyFile *kf, const char *group, const GOptionEntry *e)
{
  GError *err = NULL;
  int ret = 0;

  if (!e->long_name || !e->arg_data || !g_key_file_has_key(kf, group, e->long_name, NULL))
    goto out;
  switch (e->arg) {
  case G_OPTION_ARG_NONE:
    *(gboolean *)e->arg_data = g_key_file_get_boolean(kf, group, e->long_name, &err);
    break;
  case G_OPTION_ARG_INT:
    *(gint *)e->arg_data = g_key_file_get_integer(kf, group, e->long_name, &err);
    break;
  case G_OPTION_ARG_DOUBLE:
    *(gdouble *)e->arg_data = g_key_file_get_double(kf, group, e->long_name, &err);
    break;
  case G_OPTION_ARG_STRING:
  case G_OPTION_ARG_FILENAME: {
    char *v = g_key_file_get_string(kf, group, e->long_name, &err);
    if (v) {
      g_free(*(char **)e->arg_data);
      *(char **)e->arg_data = v;
    }
    break;
  }
  case G_OPTION_ARG_STRING_ARRAY:
  case G_OPTION_ARG_FILENAME_ARRAY: {
    char **v = g_key_file_get_string_list(kf, group, e->long_name, NULL, &err);
    if (v) {
      g_strfreev(*(char ***)e->arg_data);
      *(char ***)e->arg_data = v;
    }
    break;
  }
  default:
    break;
  }
  if (err) {
    fprintf(stderr, "%s: configuration key %s: %s\n", group, e->long_name, err->message);
    ret = -HK_EINVAL;
  }
out:
  g_clear_error(&err);
  return ret;
}

int
hk_config_parse(const char *program, const char *parameter_string, const char *summary,
                const GOptionEntry *entries, int *argc, char ***argv)
{
  GOptionContext *ctx = NULL;
  GKeyFile *kf = NULL;
  GError *err = NULL;
  char *config = NULL;
  gboolean version = FALSE;
  /* Per entry, the string (array) the key file set: GOption overwrites a
   * value given on the command line without freeing the one before. */
  gpointer *from_file = NULL;
  size_t n_entries = 0;
  int ret = 0;

  /* --config must be read before the command line so the command line wins. */
  for (int i = 1; i < *argc; i++) {
    const char *a = (*argv)[i];
    if (strcmp(a, "--") == 0)
      break;
    if (strcmp(a, "--config") == 0 && i + 1 < *argc) {
      config = (*argv)[i + 1];
    } else if (g_str_has_prefix(a, "--config=")) {
      config = (char *)a + strlen("--config=");
    }
  }
  if (config) {
    kf = g_key_file_new();
    if (!g_key_file_load_from_file(kf, config, G_KEY_FILE_NONE, &err)) {
      fprintf(stderr, "%s: cannot read configuration file %s: %s\n", program, config,
              err->message);
      ret = -HK_EIO;
      goto out;
    }
    while (entries[n_entries].long_name)
      n_entries++;
    from_file = g_new0(gpointer, n_entries);
    for (size_t i = 0; i < n_entries; i++) {
      const GOptionEntry *e = &entries[i];
      ret = hk_config_apply(kf, program, e);
      if (ret < 0)
        goto out;
      if (e->arg_data && g_key_file_has_key(kf, program, e->long_name, NULL) &&
          hk_config_owns(e))
        from_file[i] = *(gpointer *)e->arg_data;
    }
  }

  char *config_arg = NULL;
  const GOptionEntry builtin[] = {
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_arg,
      "Read options from this key file (the command line wins)", "FILE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  GOptionEntry *builtin_only_config = g_memdup2(builtin, sizeof builtin);
  builtin_only_config[1] = builtin[2];
  bool own_version = false;
  for (const GOptionEntry *e = entries; e->long_name; e++)
    own_version = own_version || strcmp(e->long_name, "version") == 0;
  ctx = g_option_context_new(parameter_string);
  if (summary)
    g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  /* A subcommand may use --version for its own purpose (export's document
   * version); then the program's version is only at the top level. */
  g_option_context_add_main_entries(ctx, own_version ? builtin_only_config : builtin, NULL);
  if (!g_option_context_parse(ctx, argc, argv, &err)) {
    hk_usage_error(program, "%s", err->message);
    ret = -HK_EINVAL;
    g_free(config_arg);
    g_free(builtin_only_config);
    goto out;
  }
  g_free(config_arg);
  g_free(builtin_only_config);
  builtin_only_config = NULL;
  if (version) {
    printf("%s %s\n", program, HK_VERSION);
    exit(0);
  }
out:
  for (size_t i = 0; from_file && i < n_entries; i++) {
    if (!from_file[i] || *(gpointer *)entries[i].arg_data == from_file[i])
      continue;
    if (entries[i].arg == G_OPTION_ARG_STRING_ARRAY ||
        entries[i].arg == G_OPTION_ARG_FILENAME_ARRAY)
      g_strfreev(from_file[i]);
    else
      g_free(from_file[i]);
  }
  g_free(from_file);
  g_clear_error(&err);
  if (ctx)
    g_option_context_free(ctx);
  if (kf)
    g_key_file_free(kf);
  return ret;
}

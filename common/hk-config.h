/* hk-config.h: command lines and configuration files, one way for every
 * program. Any option may also come from a GLib key file given with
 * "--config FILE" (group named after the program, keys named after the long
 * options); the command line wins. --help and --version are handled here. */
#pragma once

#include <glib.h>

/* Parse argc and argv with entries (terminated by a zeroed entry).
 * Prints "<program>: <problem>" on stderr for a usage error.
 * \return 0; -HK_EINVAL on a usage error (the caller exits 2); -HK_EIO if
 * the configuration file cannot be read (the caller exits 1). */
int hk_config_parse(const char *program, const char *parameter_string, const char *summary,
                    const GOptionEntry *entries, int *argc, char ***argv);

/* Print "<program>: <message>" to stderr for a usage error and return 2. */
int hk_usage_error(const char *program, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

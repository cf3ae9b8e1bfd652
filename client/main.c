/* hikae-viewer: the GTK 4 viewer of the hikae downtime archive, and its
 * headless --export-pack mode (interfaces.md). */
#include "hk-application.h"
#include "hk-build.h"
#include "hk-client-config.h"
#include "hk-export.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  char *config;
  char *server;
  char *ca;
  char *user;
  char *password_file;
  char *otp;
  char *patient;
  char *docs;
  char *out;
  gboolean export_pack;
  gboolean version;
  int idle_lock;
  int stale;
} Options;

static void
options_clear(Options *o)
{
  g_free(o->config);
  g_free(o->server);
  g_free(o->ca);
  g_free(o->user);
  g_free(o->password_file);
  g_free(o->otp);
  g_free(o->patient);
  g_free(o->docs);
  g_free(o->out);
}

/* Fill what the command line left unset from [viewer] of the key file:
 * the command line wins. */
static gboolean
load_config(Options *o, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  gboolean ok = FALSE;

  if (!g_key_file_load_from_file(kf, o->config, G_KEY_FILE_NONE, error))
    goto out;
#define STR(field, key)                                                                            \
  if (!o->field)                                                                                   \
    o->field = g_key_file_get_string(kf, "viewer", key, NULL);
  STR(server, "server");
  STR(ca, "ca");
  STR(user, "user");
  STR(password_file, "password-file");
  STR(patient, "patient");
  STR(docs, "docs");
  STR(out, "out");
#undef STR
  if (o->idle_lock < 0 && g_key_file_has_key(kf, "viewer", "idle-lock-minutes", NULL))
    o->idle_lock = g_key_file_get_integer(kf, "viewer", "idle-lock-minutes", NULL);
  if (o->stale < 0 && g_key_file_has_key(kf, "viewer", "stale-minutes", NULL))
    o->stale = g_key_file_get_integer(kf, "viewer", "stale-minutes", NULL);
  ok = TRUE;
out:
  return ok;
}

static int
usage_error(const char *msg)
{
  fprintf(stderr, "hikae-viewer: %s\n", msg);
  return 2;
}

static int
run_export(Options *o)
{
  g_autoptr(GError) e = NULL;
  g_auto(GStrv) ids = NULL;
  HkExportOptions x = {0};
  int n = 0;

  if (!o->server || !o->ca || !o->user || !o->password_file || !o->patient || !o->docs || !o->out)
    return usage_error("--export-pack needs --server, --ca, --user, --password-file, "
                       "--patient, --docs and --out");
  ids = g_strsplit(o->docs, ",", -1);
  for (int i = 0; ids[i]; i++)
    g_strstrip(ids[i]);
  if (!ids[0] || !*ids[0])
    return usage_error("--docs lists no document");
  x.server = o->server;
  x.ca_file = o->ca;
  x.user = o->user;
  x.password_file = o->password_file;
  x.otp = o->otp;
  x.patient_id = o->patient;
  x.doc_ids = ids;
  x.out = o->out;
  if (!hk_export_pack(&x, &n, &e)) {
    fprintf(stderr, "hikae-viewer: export failed: %s\n", e->message);
    return 1;
  }
  printf("%s: %d pages, %u documents\n", o->out, n, g_strv_length(ids));
  return 0;
}

int
main(int argc, char **argv)
{
  Options o = {0};
  g_autoptr(GError) e = NULL;
  g_autoptr(GOptionContext) ctx = NULL;
  int status = 0;
  GOptionEntry entries[] = {
      {"config", 0, 0, G_OPTION_ARG_FILENAME, &o.config, "Read options from FILE ([viewer])",
       "FILE"},
      {"server", 0, 0, G_OPTION_ARG_STRING, &o.server, "Archive server URL (https://…)", "URL"},
      {"ca", 0, 0, G_OPTION_ARG_FILENAME, &o.ca, "The archive CA certificate (PEM)", "FILE"},
      {"user", 0, 0, G_OPTION_ARG_STRING, &o.user, "User name", "NAME"},
      {"password-file", 0, 0, G_OPTION_ARG_FILENAME, &o.password_file,
       "Read the password from FILE (--export-pack)", "FILE"},
      {"otp", 0, 0, G_OPTION_ARG_STRING, &o.otp, "One-time code (--export-pack)", "CODE"},
      {"idle-lock-minutes", 0, 0, G_OPTION_ARG_INT, &o.idle_lock,
       "Lock the screen after N idle minutes (default 10, 0 = never)", "N"},
      {"stale-minutes", 0, 0, G_OPTION_ARG_INT, &o.stale,
       "Banner turns red when the archive is older (default 60)", "N"},
      {"export-pack", 0, 0, G_OPTION_ARG_NONE, &o.export_pack,
       "Write a stamped transfer pack to a PDF, without a window", NULL},
      {"patient", 0, 0, G_OPTION_ARG_STRING, &o.patient, "Patient ID (--export-pack)", "ID"},
      {"docs", 0, 0, G_OPTION_ARG_STRING, &o.docs, "Document IDs (--export-pack)", "ID[,ID]…"},
      {"out", 0, 0, G_OPTION_ARG_FILENAME, &o.out, "PDF to write (--export-pack)", "FILE.pdf"},
      {"version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version and exit", NULL},
      {NULL},
  };

  o.idle_lock = -1;
  o.stale = -1;
  hk_application_init_i18n();
  ctx = g_option_context_new(NULL);
  g_option_context_set_summary(ctx, "The hikae downtime archive viewer.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  /* GTK's own options are not added: the viewer has no use for them, and
   * --help must work without a display. */
  if (!g_option_context_parse(ctx, &argc, &argv, &e)) {
    status = usage_error(e->message);
    goto out;
  }
  if (o.version) {
    printf("hikae-viewer %s\n", HK_VERSION);
    goto out;
  }
  if (argc > 1) {
    g_autofree char *m = g_strdup_printf("unexpected argument: %s", argv[1]);
    status = usage_error(m);
    goto out;
  }
  if (o.config && !load_config(&o, &e)) {
    g_autofree char *m = g_strdup_printf("--config %s: %s", o.config, e->message);
    status = usage_error(m);
    goto out;
  }
  if (o.export_pack) {
    status = run_export(&o);
  } else {
    HkViewerSettings s = {0};
    g_autoptr(HkApplication) app = NULL;
    char *args[] = {argv[0], NULL};
    s.server_url = o.server;
    s.ca_file = o.ca;
    s.user = o.user;
    s.idle_lock_minutes = o.idle_lock >= 0 ? o.idle_lock : 10;
    s.stale_minutes = o.stale > 0 ? o.stale : 60;
    app = hk_application_new(&s);
    status = g_application_run(G_APPLICATION(app), 1, args);
  }
out:
  options_clear(&o);
  return status;
}

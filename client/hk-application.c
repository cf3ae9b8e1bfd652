#include "hk-application.h"

#include "hk-client-config.h"
#include "hk-resources.h"
#include "hk-window.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

struct _HkApplication {
  GtkApplication parent_instance;

  /* Owned */
  HkViewerSettings settings;
  char *server_url;
  char *ca_file;
  char *user;
};

G_DEFINE_FINAL_TYPE(HkApplication, hk_application, GTK_TYPE_APPLICATION)

void
hk_application_init_i18n(void)
{
  const char *dir = g_getenv("HK_LOCALEDIR");

  setlocale(LC_ALL, "");
  /* Run from the build folder (tests, demo) the catalogue is there; an
   * installed viewer uses the system folder. */
  if (!dir && g_file_test(HK_BUILD_LOCALEDIR, G_FILE_TEST_IS_DIR))
    dir = HK_BUILD_LOCALEDIR;
  bindtextdomain(GETTEXT_PACKAGE, dir ? dir : HK_LOCALEDIR);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);
}

void
hk_application_init_resources(void)
{
  static gsize done = 0;

  if (g_once_init_enter(&done)) {
    hk_register_resource();
    g_once_init_leave(&done, 1);
  }
}

static void
load_css(void)
{
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new();

  gtk_css_provider_load_from_resource(css, "/org/hikae/viewer/style.css");
  gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                             GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
hk_application_startup(GApplication *app)
{
  G_APPLICATION_CLASS(hk_application_parent_class)->startup(app);
  load_css();
}

static void
hk_application_activate(GApplication *app)
{
  HkApplication *self = HK_APPLICATION(app);
  GtkWindow *win = gtk_application_get_active_window(GTK_APPLICATION(app));

  if (!win)
    win = GTK_WINDOW(hk_window_new(self));
  gtk_window_present(win);
}

static void
hk_application_finalize(GObject *object)
{
  HkApplication *self = HK_APPLICATION(object);

  g_free(self->server_url);
  g_free(self->ca_file);
  g_free(self->user);
  G_OBJECT_CLASS(hk_application_parent_class)->finalize(object);
}

static void
hk_application_class_init(HkApplicationClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = hk_application_finalize;
  G_APPLICATION_CLASS(klass)->startup = hk_application_startup;
  G_APPLICATION_CLASS(klass)->activate = hk_application_activate;
}

static void
hk_application_init(HkApplication *self)
{
}

HkApplication *
hk_application_new(const HkViewerSettings *settings)
{
  /* NON_UNIQUE: no D-Bus name to own on a clean laptop, and a drill may run
   * two viewers side by side. */
  HkApplication *self = g_object_new(HK_TYPE_APPLICATION, "application-id", "org.hikae.Viewer",
                                     "flags", G_APPLICATION_NON_UNIQUE, NULL);

  hk_application_init_resources();
  self->settings = *settings;
  self->server_url = g_strdup(settings->server_url);
  self->ca_file = g_strdup(settings->ca_file);
  self->user = g_strdup(settings->user);
  self->settings.server_url = self->server_url;
  self->settings.ca_file = self->ca_file;
  self->settings.user = self->user;
  return self;
}

const HkViewerSettings *
hk_application_get_settings(HkApplication *self)
{
  return &self->settings;
}

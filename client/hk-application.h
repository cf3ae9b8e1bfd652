/* hk-application.h: the hikae-viewer GtkApplication. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_APPLICATION (hk_application_get_type())
G_DECLARE_FINAL_TYPE(HkApplication, hk_application, HK, APPLICATION, GtkApplication)

typedef struct {
  const char *server_url; /* may be NULL: typed on the login screen */
  const char *ca_file;    /* the archive CA (PEM) */
  const char *user;       /* may be NULL: prefills the login screen */
  int idle_lock_minutes;  /* lock after this idle time; 0 = never */
  int stale_minutes;      /* the banner turns red past this age */
} HkViewerSettings;

HkApplication *hk_application_new(const HkViewerSettings *settings);
const HkViewerSettings *hk_application_get_settings(HkApplication *self);

/* Bind the text domain (build folder first when run from it) and load the
 * resources and style sheet. Called once by main() and by the tests. */
void hk_application_init_i18n(void);
void hk_application_init_resources(void);

G_END_DECLS

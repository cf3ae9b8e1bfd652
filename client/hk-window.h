/* hk-window.h: the viewer's one window: the freshness banner on top, and
 * below it login, search, patient, document and census pages. */
#pragma once

#include "hk-application.h"
#include "hk-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_WINDOW (hk_window_get_type())
G_DECLARE_FINAL_TYPE(HkWindow, hk_window, HK, WINDOW, GtkApplicationWindow)

/* app may be NULL (tests). settings is copied. */
HkWindow *hk_window_new_with_settings(GtkApplication *app, const HkViewerSettings *settings);
HkWindow *hk_window_new(HkApplication *app);

/* NULL before login. */
HkClient *hk_window_get_client(HkWindow *self);
/* "login", "search", "patient", "document" or "census". */
const char *hk_window_get_page(HkWindow *self);
GtkWidget *hk_window_get_page_widget(HkWindow *self, const char *name);
GtkWidget *hk_window_get_banner(HkWindow *self);
/* The message of the error bar, or NULL when it is hidden. */
const char *hk_window_get_error(HkWindow *self);

/* Print to this PDF (GtkPrintOperation export) instead of opening the print
 * dialog: for tests and for "print to file" without a dialog. NULL resets. */
void hk_window_set_print_export(HkWindow *self, const char *pdf_path);
/* TRUE while a print is being prepared or recorded. */
gboolean hk_window_is_printing(HkWindow *self);

/* Clear every page and the session, and show the login screen with
 * message (may be NULL). Used by logout, idle lock and expiry. */
void hk_window_lock(HkWindow *self, const char *message);

/* Lock if the idle time has passed without input, by hk_clock_now(). A
 * 10 s timer calls it; the GUI test calls it after hk_clock_advance(). */
void hk_window_check_idle(HkWindow *self);

G_END_DECLS

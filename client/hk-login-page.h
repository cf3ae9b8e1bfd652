/* hk-login-page.h: server URL, user, password and optional one-time code.
 * Emits "logged-in" (HkClient *) once the server accepted them. */
#pragma once

#include "hk-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_LOGIN_PAGE (hk_login_page_get_type())
G_DECLARE_FINAL_TYPE(HkLoginPage, hk_login_page, HK, LOGIN_PAGE, GtkWidget)

void hk_login_page_set_defaults(HkLoginPage *self, const char *url, const char *ca_file,
                                const char *user);
/* Show message (may be NULL) under the form; is_error paints it red. */
void hk_login_page_set_message(HkLoginPage *self, const char *message, gboolean is_error);
const char *hk_login_page_get_message(HkLoginPage *self);
/* Empty the password and code fields (after login, lock and logout). */
void hk_login_page_clear_secrets(HkLoginPage *self);
/* Fill the form and press "Log in" (tests, and --user on the command line). */
void hk_login_page_submit(HkLoginPage *self, const char *url, const char *user,
                          const char *password, const char *otp);
void hk_login_page_focus(HkLoginPage *self);

G_END_DECLS

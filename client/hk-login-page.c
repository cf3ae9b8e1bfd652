#include "hk-login-page.h"

#include "hk-client-config.h"

#include <glib/gi18n-lib.h>

struct _HkLoginPage {
  GtkWidget parent_instance;

  /* Template widgets */
  GtkWidget *box;
  GtkEntry *url_entry;
  GtkEntry *user_entry;
  GtkPasswordEntry *password_entry;
  GtkEntry *otp_entry;
  GtkSpinner *spinner;
  GtkWidget *login_button;
  GtkLabel *message_label;
  GtkLabel *ca_label;

  /* Owned */
  char *ca_file;
  HkClient *pending; /* the client being logged in */
  GCancellable *cancel;
};

G_DEFINE_FINAL_TYPE(HkLoginPage, hk_login_page, GTK_TYPE_WIDGET)

enum { SIGNAL_LOGGED_IN, N_SIGNALS };
static guint signals[N_SIGNALS];

void
hk_login_page_set_message(HkLoginPage *self, const char *message, gboolean is_error)
{
  gtk_label_set_text(self->message_label, message ? message : "");
  gtk_widget_set_visible(GTK_WIDGET(self->message_label), message != NULL);
  if (is_error)
    gtk_widget_add_css_class(GTK_WIDGET(self->message_label), "hk-error-text");
  else
    gtk_widget_remove_css_class(GTK_WIDGET(self->message_label), "hk-error-text");
}

const char *
hk_login_page_get_message(HkLoginPage *self)
{
  return gtk_widget_get_visible(GTK_WIDGET(self->message_label))
             ? gtk_label_get_text(self->message_label)
             : NULL;
}

void
hk_login_page_clear_secrets(HkLoginPage *self)
{
  gtk_editable_set_text(GTK_EDITABLE(self->password_entry), "");
  gtk_editable_set_text(GTK_EDITABLE(self->otp_entry), "");
}

static void
set_busy(HkLoginPage *self, gboolean busy)
{
  gtk_spinner_set_spinning(self->spinner, busy);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "login.submit", !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->url_entry), !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->user_entry), !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->password_entry), !busy);
  gtk_widget_set_sensitive(GTK_WIDGET(self->otp_entry), !busy);
}

static void
login_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkLoginPage *self = user_data;
  g_autoptr(GError) e = NULL;
  g_autoptr(HkClient) client = g_steal_pointer(&self->pending);

  if (!hk_client_login_finish(HK_CLIENT(source), result, &e)) {
    if (!g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      set_busy(self, FALSE);
      hk_login_page_set_message(self, e->message, TRUE);
      gtk_editable_set_text(GTK_EDITABLE(self->password_entry), "");
      gtk_widget_grab_focus(GTK_WIDGET(self->password_entry));
    }
    goto out;
  }
  set_busy(self, FALSE);
  hk_login_page_clear_secrets(self);
  hk_login_page_set_message(self, NULL, FALSE);
  g_signal_emit(self, signals[SIGNAL_LOGGED_IN], 0, client);
out:
  g_object_unref(self);
}

static void
submit(GtkWidget *widget, const char *action, GVariant *param)
{
  HkLoginPage *self = HK_LOGIN_PAGE(widget);
  g_autoptr(GError) e = NULL;
  const char *url = gtk_editable_get_text(GTK_EDITABLE(self->url_entry));
  const char *user = gtk_editable_get_text(GTK_EDITABLE(self->user_entry));
  const char *password = gtk_editable_get_text(GTK_EDITABLE(self->password_entry));
  const char *otp = gtk_editable_get_text(GTK_EDITABLE(self->otp_entry));
  HkClient *client;

  if (!*user || !*password) {
    hk_login_page_set_message(self, _("Enter your user name and password."), TRUE);
    return;
  }
  client = hk_client_new(g_strstrip((char *)url), self->ca_file, &e);
  if (!client) {
    hk_login_page_set_message(self, e->message, TRUE);
    return;
  }
  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  self->cancel = g_cancellable_new();
  g_clear_object(&self->pending);
  self->pending = client;
  set_busy(self, TRUE);
  hk_login_page_set_message(self, _("Connecting…"), FALSE);
  hk_client_login_async(client, user, password, otp, self->cancel, login_done, g_object_ref(self));
}

void
hk_login_page_submit(HkLoginPage *self, const char *url, const char *user, const char *password,
                     const char *otp)
{
  if (url)
    gtk_editable_set_text(GTK_EDITABLE(self->url_entry), url);
  if (user)
    gtk_editable_set_text(GTK_EDITABLE(self->user_entry), user);
  gtk_editable_set_text(GTK_EDITABLE(self->password_entry), password ? password : "");
  gtk_editable_set_text(GTK_EDITABLE(self->otp_entry), otp ? otp : "");
  gtk_widget_activate_action(GTK_WIDGET(self), "login.submit", NULL);
}

void
hk_login_page_set_defaults(HkLoginPage *self, const char *url, const char *ca_file,
                           const char *user)
{
  g_autofree char *ca_text = NULL;

  if (url)
    gtk_editable_set_text(GTK_EDITABLE(self->url_entry), url);
  if (user)
    gtk_editable_set_text(GTK_EDITABLE(self->user_entry), user);
  g_free(self->ca_file);
  self->ca_file = g_strdup(ca_file);
  ca_text = ca_file ? g_strdup_printf(_("Trusted archive CA: %s"), ca_file)
                    : g_strdup(_("No archive CA given: start the viewer with --ca FILE."));
  gtk_label_set_text(self->ca_label, ca_text);
}

void
hk_login_page_focus(HkLoginPage *self)
{
  if (!*gtk_editable_get_text(GTK_EDITABLE(self->url_entry)))
    gtk_widget_grab_focus(GTK_WIDGET(self->url_entry));
  else if (!*gtk_editable_get_text(GTK_EDITABLE(self->user_entry)))
    gtk_widget_grab_focus(GTK_WIDGET(self->user_entry));
  else
    gtk_widget_grab_focus(GTK_WIDGET(self->password_entry));
}

static void
entry_activate(GtkWidget *entry, HkLoginPage *self)
{
  gtk_widget_activate_action(GTK_WIDGET(self), "login.submit", NULL);
}

static void
hk_login_page_dispose(GObject *object)
{
  HkLoginPage *self = HK_LOGIN_PAGE(object);

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_clear_object(&self->pending);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_LOGIN_PAGE);
  G_OBJECT_CLASS(hk_login_page_parent_class)->dispose(object);
}

static void
hk_login_page_finalize(GObject *object)
{
  g_free(HK_LOGIN_PAGE(object)->ca_file);
  G_OBJECT_CLASS(hk_login_page_parent_class)->finalize(object);
}

static void
hk_login_page_class_init(HkLoginPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = hk_login_page_dispose;
  G_OBJECT_CLASS(klass)->finalize = hk_login_page_finalize;
  signals[SIGNAL_LOGGED_IN] = g_signal_new("logged-in", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, HK_TYPE_CLIENT);
  gtk_widget_class_set_template_from_resource(widget_class, "/org/hikae/viewer/hk-login-page.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, box);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, url_entry);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, user_entry);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, password_entry);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, otp_entry);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, spinner);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, login_button);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, message_label);
  gtk_widget_class_bind_template_child(widget_class, HkLoginPage, ca_label);
  gtk_widget_class_install_action(widget_class, "login.submit", NULL, submit);
}

static void
hk_login_page_init(HkLoginPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  g_signal_connect(self->url_entry, "activate", G_CALLBACK(entry_activate), self);
  g_signal_connect(self->user_entry, "activate", G_CALLBACK(entry_activate), self);
  g_signal_connect(self->password_entry, "activate", G_CALLBACK(entry_activate), self);
  g_signal_connect(self->otp_entry, "activate", G_CALLBACK(entry_activate), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Log in to the archive"), -1);
}

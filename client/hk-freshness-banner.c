#include "hk-freshness-banner.h"

#include "hk-client-config.h"

#include <glib/gi18n-lib.h>

/* How often to ask the server, and to refresh "3 min ago". */
#define POLL_SECONDS 30

struct _HkFreshnessBanner {
  GtkWidget parent_instance;

  /* Template widgets */
  GtkWidget *box;
  GtkImage *icon;
  GtkLabel *label;

  /* Owned */
  HkClient *client;
  HkStatusInfo *status;
  GCancellable *cancel;
  guint timer;
  int stale_minutes;
  HkFreshness state;
  gboolean failed; /* the last poll failed */
};

G_DEFINE_FINAL_TYPE(HkFreshnessBanner, hk_freshness_banner, GTK_TYPE_WIDGET)

static void
render(HkFreshnessBanner *self)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autofree char *text = NULL;
  GtkWidget *w = GTK_WIDGET(self);

  if (!self->client) {
    self->state = HK_FRESHNESS_UNKNOWN;
    text = g_strdup(_("Not connected to the archive"));
  } else {
    self->state = hk_format_freshness(self->status, now, (gint64)self->stale_minutes * 60, &text);
    if (self->failed && self->status) {
      /* Keep the last known time, but say the server stopped answering. */
      char *t = g_strdup_printf(_("%s — server not answering"), text);
      g_free(text);
      text = t;
      self->state = HK_FRESHNESS_UNKNOWN;
    }
  }
  gtk_label_set_text(self->label, text);
  gtk_widget_remove_css_class(w, "hk-fresh");
  gtk_widget_remove_css_class(w, "hk-stale");
  gtk_widget_remove_css_class(w, "hk-neutral");
  if (self->state == HK_FRESHNESS_OK) {
    gtk_widget_add_css_class(w, "hk-fresh");
    gtk_image_set_from_icon_name(self->icon, "emblem-ok-symbolic");
  } else if (!self->client) {
    gtk_widget_add_css_class(w, "hk-neutral");
    gtk_image_set_from_icon_name(self->icon, "network-offline-symbolic");
  } else {
    gtk_widget_add_css_class(w, "hk-stale");
    gtk_image_set_from_icon_name(self->icon, "dialog-warning-symbolic");
  }
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
}

void
hk_freshness_banner_update(HkFreshnessBanner *self, const HkStatusInfo *status)
{
  g_clear_pointer(&self->status, hk_status_info_free);
  if (status) {
    self->status = g_new0(HkStatusInfo, 1);
    self->status->documents = status->documents;
    self->status->patients = status->patients;
    self->status->archive_as_of =
        status->archive_as_of ? g_date_time_ref(status->archive_as_of) : NULL;
    self->status->last_document_at =
        status->last_document_at ? g_date_time_ref(status->last_document_at) : NULL;
    self->status->indexer = g_strdup(status->indexer);
    self->status->sealed_reason = g_strdup(status->sealed_reason);
  }
  self->failed = FALSE;
  render(self);
}

static void
status_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkFreshnessBanner *self = user_data;
  g_autoptr(GError) e = NULL;
  g_autoptr(HkStatusInfo) st = hk_client_status_finish(HK_CLIENT(source), result, &e);

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  if (st) {
    hk_freshness_banner_update(self, st);
  } else {
    self->failed = TRUE;
    render(self);
  }
out:
  g_object_unref(self);
}

static gboolean
poll_status(gpointer data)
{
  HkFreshnessBanner *self = data;

  if (self->client && hk_client_is_logged_in(self->client))
    hk_client_status_async(self->client, self->cancel, status_done, g_object_ref(self));
  render(self);
  return G_SOURCE_CONTINUE;
}

void
hk_freshness_banner_set_client(HkFreshnessBanner *self, HkClient *client)
{
  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_clear_handle_id(&self->timer, g_source_remove);
  g_clear_pointer(&self->status, hk_status_info_free);
  g_set_object(&self->client, client);
  self->failed = FALSE;
  if (client) {
    self->cancel = g_cancellable_new();
    self->timer = g_timeout_add_seconds(POLL_SECONDS, poll_status, self);
    poll_status(self);
  }
  render(self);
}

void
hk_freshness_banner_set_threshold(HkFreshnessBanner *self, int stale_minutes)
{
  self->stale_minutes = stale_minutes > 0 ? stale_minutes : 60;
  render(self);
}

HkFreshness
hk_freshness_banner_get_state(HkFreshnessBanner *self)
{
  return self->state;
}

const char *
hk_freshness_banner_get_text(HkFreshnessBanner *self)
{
  return gtk_label_get_text(self->label);
}

const HkStatusInfo *
hk_freshness_banner_get_status(HkFreshnessBanner *self)
{
  return self->status;
}

static void
hk_freshness_banner_dispose(GObject *object)
{
  HkFreshnessBanner *self = HK_FRESHNESS_BANNER(object);

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_clear_handle_id(&self->timer, g_source_remove);
  g_clear_object(&self->client);
  g_clear_pointer(&self->status, hk_status_info_free);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_FRESHNESS_BANNER);
  G_OBJECT_CLASS(hk_freshness_banner_parent_class)->dispose(object);
}

static void
hk_freshness_banner_class_init(HkFreshnessBannerClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = hk_freshness_banner_dispose;
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/org/hikae/viewer/hk-freshness-banner.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  /* A status region: screen readers announce its changes. */
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_STATUS);
  gtk_widget_class_bind_template_child(widget_class, HkFreshnessBanner, box);
  gtk_widget_class_bind_template_child(widget_class, HkFreshnessBanner, icon);
  gtk_widget_class_bind_template_child(widget_class, HkFreshnessBanner, label);
}

static void
hk_freshness_banner_init(HkFreshnessBanner *self)
{
  self->stale_minutes = 60;
  gtk_widget_init_template(GTK_WIDGET(self));
  render(self);
}

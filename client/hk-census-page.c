#include "hk-census-page.h"

#include "hk-client-config.h"
#include "hk-format.h"

#include <glib/gi18n-lib.h>

struct _HkCensusPage {
  GtkWidget parent_instance;

  /* Template widgets */
  GtkWidget *box;
  GtkEntry *ward_entry;
  GtkSpinner *spinner;
  GtkLabel *count_label;
  GtkListBox *list;

  /* Owned */
  HkClient *client;
  GCancellable *cancel;
  GPtrArray *rows; /* HkPatientInfo* */
  gboolean busy;
};

G_DEFINE_FINAL_TYPE(HkCensusPage, hk_census_page, GTK_TYPE_WIDGET)

static int
compare_bed(gconstpointer a, gconstpointer b)
{
  const HkPatientInfo *x = *(HkPatientInfo *const *)a;
  const HkPatientInfo *y = *(HkPatientInfo *const *)b;
  int c = g_strcmp0(x->ward, y->ward);

  if (!c)
    c = g_strcmp0(x->room, y->room);
  if (!c)
    c = g_strcmp0(x->bed, y->bed);
  return c;
}

static GtkWidget *
cell(const char *text, int chars)
{
  GtkWidget *l = gtk_label_new(text ? text : "—");

  gtk_label_set_xalign(GTK_LABEL(l), 0);
  gtk_label_set_width_chars(GTK_LABEL(l), chars);
  gtk_label_set_ellipsize(GTK_LABEL(l), PANGO_ELLIPSIZE_END);
  return l;
}

static void
census_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkCensusPage *self = user_data;
  g_autoptr(GError) e = NULL;
  g_autoptr(GPtrArray) rows = hk_client_census_finish(HK_CLIENT(source), result, &e);
  g_autofree char *count = NULL;

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  self->busy = FALSE;
  gtk_spinner_set_spinning(self->spinner, FALSE);
  if (!rows) {
    gtk_label_set_text(self->count_label, e->message);
    goto out;
  }
  g_ptr_array_sort(rows, compare_bed);
  g_clear_pointer(&self->rows, g_ptr_array_unref);
  self->rows = g_steal_pointer(&rows);
  for (guint i = 0; i < self->rows->len; i++) {
    const HkPatientInfo *p = g_ptr_array_index(self->rows, i);
    GtkWidget *row = gtk_list_box_row_new();
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    g_autofree char *adm = hk_format_date(p->admitted_at);
    g_autofree char *loc = hk_format_location(p);
    g_autofree char *a11y = g_strdup_printf(_("%s: patient %s, %s, admitted %s"), loc, p->id,
                                            p->name ? p->name : "", adm);
    gtk_widget_set_margin_top(box, 4);
    gtk_widget_set_margin_bottom(box, 4);
    gtk_widget_set_margin_start(box, 8);
    gtk_box_append(GTK_BOX(box), cell(p->ward, 8));
    gtk_box_append(GTK_BOX(box), cell(p->room, 6));
    gtk_box_append(GTK_BOX(box), cell(p->bed, 4));
    gtk_box_append(GTK_BOX(box), cell(p->id, 12));
    gtk_box_append(GTK_BOX(box), cell(p->name, 14));
    gtk_box_append(GTK_BOX(box), cell(p->kana, 18));
    gtk_box_append(GTK_BOX(box), cell(adm, 11));
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
    gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
    gtk_list_box_append(self->list, row);
  }
  count = g_strdup_printf(
      g_dngettext(GETTEXT_PACKAGE, "%u inpatient", "%u inpatients", self->rows->len),
      self->rows->len);
  gtk_label_set_text(self->count_label, count);
out:
  g_object_unref(self);
}

static void
clear_rows(HkCensusPage *self)
{
  GtkWidget *c;

  while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
    gtk_list_box_remove(self->list, c);
  g_clear_pointer(&self->rows, g_ptr_array_unref);
  gtk_label_set_text(self->count_label, "");
}

void
hk_census_page_refresh(HkCensusPage *self)
{
  const char *ward = gtk_editable_get_text(GTK_EDITABLE(self->ward_entry));

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  clear_rows(self);
  if (!self->client)
    return;
  self->cancel = g_cancellable_new();
  self->busy = TRUE;
  gtk_spinner_set_spinning(self->spinner, TRUE);
  hk_client_census_async(self->client, *ward ? ward : NULL, self->cancel, census_done,
                         g_object_ref(self));
}

static void
refresh(GtkWidget *w, const char *a, GVariant *p)
{
  hk_census_page_refresh(HK_CENSUS_PAGE(w));
}

void
hk_census_page_clear(HkCensusPage *self)
{
  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  self->busy = FALSE;
  gtk_spinner_set_spinning(self->spinner, FALSE);
  clear_rows(self);
  gtk_editable_set_text(GTK_EDITABLE(self->ward_entry), "");
}

void
hk_census_page_set_client(HkCensusPage *self, HkClient *client)
{
  g_set_object(&self->client, client);
}

int
hk_census_page_get_n_rows(HkCensusPage *self)
{
  return self->busy ? -1 : (self->rows ? (int)self->rows->len : 0);
}

static void
row_activated(GtkListBox *list, GtkListBoxRow *row, HkCensusPage *self)
{
  int i = gtk_list_box_row_get_index(row);

  if (self->rows && i >= 0 && i < (int)self->rows->len)
    gtk_widget_activate_action(GTK_WIDGET(self), "win.open-patient", "s",
                               ((HkPatientInfo *)g_ptr_array_index(self->rows, i))->id);
}

static void
hk_census_page_dispose(GObject *object)
{
  HkCensusPage *self = HK_CENSUS_PAGE(object);

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_clear_object(&self->client);
  g_clear_pointer(&self->rows, g_ptr_array_unref);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_CENSUS_PAGE);
  G_OBJECT_CLASS(hk_census_page_parent_class)->dispose(object);
}

static void
hk_census_page_class_init(HkCensusPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = hk_census_page_dispose;
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/org/hikae/viewer/hk-census-page.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, box);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, ward_entry);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, spinner);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, count_label);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, list);
  gtk_widget_class_install_action(widget_class, "census.refresh", NULL, refresh);
}

static void
hk_census_page_init(HkCensusPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  g_signal_connect(self->list, "row-activated", G_CALLBACK(row_activated), self);
  g_signal_connect_swapped(self->ward_entry, "activate", G_CALLBACK(hk_census_page_refresh),
                           self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Census"), -1);
}

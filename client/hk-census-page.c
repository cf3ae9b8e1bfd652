#include "hk-census-page.h"

#include "hk-client-config.h"
#include "hk-format.h"
#include "hk-print.h"

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
  char *ward;      /* the ward the rows are of; NULL: every ward */
  gboolean busy;
  GCancellable *print_cancel; /* set from the Print click until the print ends */
  HkWardList *print_list;     /* borrowed by hk-print while it prints */
  char *print_export;
};

G_DEFINE_FINAL_TYPE(HkCensusPage, hk_census_page, GTK_TYPE_WIDGET)

enum { SIGNAL_FAILED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
update_actions(HkCensusPage *self)
{
  /* Offered once a census is shown and is not empty (the print loads its
   * own copy), and one print at a time. */
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "census.print",
                                self->client && !self->busy && self->rows && self->rows->len > 0 &&
                                    !self->print_cancel);
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
  g_ptr_array_sort(rows, hk_patient_info_compare_bed);
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
  update_actions(self);
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
  update_actions(self);
}

void
hk_census_page_refresh(HkCensusPage *self)
{
  const char *ward = gtk_editable_get_text(GTK_EDITABLE(self->ward_entry));

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  clear_rows(self);
  g_free(self->ward);
  self->ward = *ward ? g_strdup(ward) : NULL;
  if (!self->client)
    return;
  self->cancel = g_cancellable_new();
  self->busy = TRUE;
  gtk_spinner_set_spinning(self->spinner, TRUE);
  update_actions(self);
  hk_client_census_async(self->client, self->ward, self->cancel, census_done, g_object_ref(self));
}

static void
refresh(GtkWidget *w, const char *a, GVariant *p)
{
  hk_census_page_refresh(HK_CENSUS_PAGE(w));
}

/* ---- printing ------------------------------------------------------- */

static void
print_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkCensusPage *self = user_data;
  g_autoptr(GError) e = NULL;

  if (!hk_print_run_ward_list_finish(HK_CLIENT(source), result, &e) &&
      !g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_signal_emit(self, signals[SIGNAL_FAILED], 0, e->message);
  /* Freed here and only here: hk-print draws from it until it finishes. */
  g_clear_pointer(&self->print_list, hk_ward_list_free);
  g_clear_object(&self->print_cancel);
  update_actions(self);
  g_object_unref(self);
}

static void
list_loaded(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkCensusPage *self = user_data;
  g_autoptr(GError) e = NULL;
  HkWardList *list = hk_print_load_ward_list_finish(HK_CLIENT(source), result, &e);
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));

  if (!list) {
    if (!g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      g_signal_emit(self, signals[SIGNAL_FAILED], 0, e->message);
    g_clear_object(&self->print_cancel);
    update_actions(self);
    g_object_unref(self);
    goto out;
  }
  self->print_list = list;
  hk_print_run_ward_list_async(HK_CLIENT(source), list,
                               GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, self->print_export,
                               self->print_cancel, print_done, self);
out:
  return;
}

static void
print_ward_list(GtkWidget *w, const char *a, GVariant *p)
{
  HkCensusPage *self = HK_CENSUS_PAGE(w);

  if (self->client && !self->print_cancel) {
    self->print_cancel = g_cancellable_new();
    update_actions(self);
    /* Loaded afresh rather than taken from the screen: the list's stamp
     * gives the archive's time, and the rows must be at least that recent. */
    hk_print_load_ward_list_async(self->client, self->ward, self->print_cancel, list_loaded,
                                  g_object_ref(self));
  }
}

void
hk_census_page_set_print_export(HkCensusPage *self, const char *pdf_path)
{
  g_free(self->print_export);
  self->print_export = g_strdup(pdf_path);
}

gboolean
hk_census_page_is_printing(HkCensusPage *self)
{
  return self->print_cancel != NULL;
}

void
hk_census_page_clear(HkCensusPage *self)
{
  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  /* The list itself is dropped by print_done, which the cancel brings
   * about: hk-print may still be drawing from it. */
  if (self->print_cancel)
    g_cancellable_cancel(self->print_cancel);
  self->busy = FALSE;
  gtk_spinner_set_spinning(self->spinner, FALSE);
  clear_rows(self);
  g_clear_pointer(&self->ward, g_free);
  gtk_editable_set_text(GTK_EDITABLE(self->ward_entry), "");
}

void
hk_census_page_set_client(HkCensusPage *self, HkClient *client)
{
  g_set_object(&self->client, client);
  update_actions(self);
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
  if (self->print_cancel)
    g_cancellable_cancel(self->print_cancel);
  g_clear_object(&self->client);
  g_clear_pointer(&self->rows, g_ptr_array_unref);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_CENSUS_PAGE);
  G_OBJECT_CLASS(hk_census_page_parent_class)->dispose(object);
}

static void
hk_census_page_finalize(GObject *object)
{
  HkCensusPage *self = HK_CENSUS_PAGE(object);

  /* A print in progress holds a reference on the page, so none is left
   * by now. */
  g_free(self->ward);
  g_free(self->print_export);
  G_OBJECT_CLASS(hk_census_page_parent_class)->finalize(object);
}

static void
hk_census_page_class_init(HkCensusPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = hk_census_page_dispose;
  G_OBJECT_CLASS(klass)->finalize = hk_census_page_finalize;
  /* A print that failed, with the message: the window shows it in its error
   * bar, as it does the patient page's. */
  signals[SIGNAL_FAILED] = g_signal_new("failed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  gtk_widget_class_set_template_from_resource(widget_class, "/org/hikae/viewer/hk-census-page.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, box);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, ward_entry);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, spinner);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, count_label);
  gtk_widget_class_bind_template_child(widget_class, HkCensusPage, list);
  gtk_widget_class_install_action(widget_class, "census.refresh", NULL, refresh);
  gtk_widget_class_install_action(widget_class, "census.print", NULL, print_ward_list);
}

static void
hk_census_page_init(HkCensusPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  g_signal_connect(self->list, "row-activated", G_CALLBACK(row_activated), self);
  g_signal_connect_swapped(self->ward_entry, "activate", G_CALLBACK(hk_census_page_refresh), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Census"),
                                 -1);
  update_actions(self);
}

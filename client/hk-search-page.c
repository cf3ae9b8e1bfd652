#include "hk-search-page.h"

#include "hk-client-config.h"
#include "hk-format.h"

#include <glib/gi18n-lib.h>

#define MAX_RECENT 10

struct _HkSearchPage {
  GtkWidget parent_instance;

  /* Template widgets */
  GtkWidget *box;
  GtkSearchEntry *entry;
  GtkLabel *heading;
  GtkSpinner *spinner;
  GtkListBox *list;

  /* Owned */
  HkClient *client;
  GCancellable *cancel;
  GPtrArray *shown;  /* HkPatientInfo*: the rows, in order */
  GPtrArray *recent; /* HkPatientInfo*: this session's patients, newest first */
  char *shown_query; /* the query the rows answer; NULL for recent */
  gboolean busy;
};

G_DEFINE_FINAL_TYPE(HkSearchPage, hk_search_page, GTK_TYPE_WIDGET)

static GtkWidget *
cell(const char *text, int width_chars, const char *css)
{
  GtkWidget *l = gtk_label_new(text ? text : "—");

  gtk_label_set_xalign(GTK_LABEL(l), 0);
  gtk_label_set_width_chars(GTK_LABEL(l), width_chars);
  gtk_label_set_ellipsize(GTK_LABEL(l), PANGO_ELLIPSIZE_END);
  if (css)
    gtk_widget_add_css_class(l, css);
  return l;
}

static GtkWidget *
make_row(const HkPatientInfo *p)
{
  g_autoptr(GDateTime) today = g_date_time_new_now_local();
  GtkWidget *row = gtk_list_box_row_new();
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
  int age = hk_format_age(p->birth_date, today);
  g_autofree char *age_text = age >= 0 ? g_strdup_printf(_("%d y"), age) : g_strdup("—");
  g_autofree char *sex = hk_format_sex(p->sex);
  g_autofree char *a11y = NULL;

  gtk_widget_set_margin_top(box, 6);
  gtk_widget_set_margin_bottom(box, 6);
  gtk_widget_set_margin_start(box, 8);
  gtk_widget_set_margin_end(box, 8);
  gtk_box_append(GTK_BOX(box), cell(p->id, 12, "hk-id"));
  gtk_box_append(GTK_BOX(box), cell(p->name, 14, "hk-name"));
  gtk_box_append(GTK_BOX(box), cell(p->kana, 18, NULL));
  gtk_box_append(GTK_BOX(box), cell(p->birth_date, 11, NULL));
  gtk_box_append(GTK_BOX(box), cell(age_text, 6, NULL));
  gtk_box_append(GTK_BOX(box), cell(sex, 8, NULL));
  gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
  /* One sentence per row, so a screen reader says the whole identity. */
  a11y =
      g_strdup_printf(_("Patient %s, %s, %s, born %s, age %s, %s"), p->id, p->name ? p->name : "",
                      p->kana ? p->kana : "", p->birth_date ? p->birth_date : "", age_text, sex);
  gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  return row;
}

static void
show_rows(HkSearchPage *self, GPtrArray *patients, const char *heading)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
    gtk_list_box_remove(self->list, child);
  g_clear_pointer(&self->shown, g_ptr_array_unref);
  self->shown = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_info_free);
  for (guint i = 0; patients && i < patients->len; i++) {
    const HkPatientInfo *p = g_ptr_array_index(patients, i);
    g_ptr_array_add(self->shown, hk_patient_info_copy(p));
    gtk_list_box_append(self->list, make_row(p));
  }
  gtk_label_set_text(self->heading, heading);
  if (self->shown->len > 0)
    gtk_list_box_select_row(self->list, gtk_list_box_get_row_at_index(self->list, 0));
}

static void
show_recent(HkSearchPage *self)
{
  g_clear_pointer(&self->shown_query, g_free);
  show_rows(self, self->recent,
            self->recent->len ? _("Recent patients (this session only)")
                              : _("Type to find a patient."));
}

static void
search_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkSearchPage *self = user_data;
  g_autoptr(GError) e = NULL;
  g_autoptr(GPtrArray) found = hk_client_search_finish(HK_CLIENT(source), result, &e);
  g_autofree char *heading = NULL;

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  self->busy = FALSE;
  gtk_spinner_set_spinning(self->spinner, FALSE);
  if (!found) {
    show_rows(self, NULL, e->message);
    goto out;
  }
  if (found->len == 0)
    heading = g_strdup(_("No patient found. Check the spelling, or try the ID or birth date."));
  else
    heading = g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE, "%u patient found", "%u patients found", found->len),
        found->len);
  show_rows(self, found, heading);
out:
  g_object_unref(self);
}

static void
run_search(HkSearchPage *self)
{
  g_autofree char *q = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->entry))));

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  if (!*q || !self->client) {
    self->busy = FALSE;
    gtk_spinner_set_spinning(self->spinner, FALSE);
    show_recent(self);
    return;
  }
  self->cancel = g_cancellable_new();
  self->busy = TRUE;
  g_free(self->shown_query);
  self->shown_query = g_strdup(q);
  gtk_spinner_set_spinning(self->spinner, TRUE);
  hk_client_search_async(self->client, q, 50, self->cancel, search_done, g_object_ref(self));
}

static void
search_changed(GtkSearchEntry *entry, HkSearchPage *self)
{
  run_search(self);
}

static void
focus_first_row(HkSearchPage *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row(self->list);

  if (!row)
    row = gtk_list_box_get_row_at_index(self->list, 0);
  if (row) {
    gtk_list_box_select_row(self->list, row);
    gtk_widget_grab_focus(GTK_WIDGET(row));
  }
}

static void
entry_activate(GtkSearchEntry *entry, HkSearchPage *self)
{
  g_autofree char *q = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->entry))));

  /* Enter opens a patient only when the answer is unambiguous and current;
   * otherwise it searches now and moves to the list to choose. */
  if (!self->busy && self->shown && self->shown->len == 1 && g_strcmp0(q, self->shown_query) == 0) {
    hk_search_page_activate_result(self, 0);
  } else if (!self->busy && g_strcmp0(q, self->shown_query) == 0 && self->shown &&
             self->shown->len > 0) {
    focus_first_row(self);
  } else {
    run_search(self);
  }
}

static gboolean
entry_key(GtkEventControllerKey *c, guint keyval, guint keycode, GdkModifierType state,
          HkSearchPage *self)
{
  gboolean handled = FALSE;

  if (keyval == GDK_KEY_Down || keyval == GDK_KEY_KP_Down) {
    focus_first_row(self);
    handled = TRUE;
  }
  return handled;
}

static void
row_activated(GtkListBox *list, GtkListBoxRow *row, HkSearchPage *self)
{
  hk_search_page_activate_result(self, gtk_list_box_row_get_index(row));
}

void
hk_search_page_activate_result(HkSearchPage *self, int i)
{
  const HkPatientInfo *p;

  if (!self->shown || i < 0 || i >= (int)self->shown->len)
    return;
  p = g_ptr_array_index(self->shown, i);
  gtk_widget_activate_action(GTK_WIDGET(self), "win.open-patient", "s", p->id);
}

void
hk_search_page_set_client(HkSearchPage *self, HkClient *client)
{
  g_set_object(&self->client, client);
}

void
hk_search_page_clear(HkSearchPage *self)
{
  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_ptr_array_set_size(self->recent, 0);
  g_signal_handlers_block_by_func(self->entry, search_changed, self);
  gtk_editable_set_text(GTK_EDITABLE(self->entry), "");
  g_signal_handlers_unblock_by_func(self->entry, search_changed, self);
  self->busy = FALSE;
  gtk_spinner_set_spinning(self->spinner, FALSE);
  show_recent(self);
}

void
hk_search_page_add_recent(HkSearchPage *self, const HkPatientInfo *p)
{
  if (!p)
    return;
  for (guint i = 0; i < self->recent->len; i++) {
    const HkPatientInfo *r = g_ptr_array_index(self->recent, i);
    if (g_strcmp0(r->id, p->id) == 0) {
      g_ptr_array_remove_index(self->recent, i);
      break;
    }
  }
  g_ptr_array_insert(self->recent, 0, hk_patient_info_copy(p));
  if (self->recent->len > MAX_RECENT)
    g_ptr_array_set_size(self->recent, MAX_RECENT);
  if (!*gtk_editable_get_text(GTK_EDITABLE(self->entry)))
    show_recent(self);
}

void
hk_search_page_focus(HkSearchPage *self)
{
  gtk_widget_grab_focus(GTK_WIDGET(self->entry));
  gtk_editable_select_region(GTK_EDITABLE(self->entry), 0, -1);
}

void
hk_search_page_set_query(HkSearchPage *self, const char *text)
{
  g_signal_handlers_block_by_func(self->entry, search_changed, self);
  gtk_editable_set_text(GTK_EDITABLE(self->entry), text ? text : "");
  g_signal_handlers_unblock_by_func(self->entry, search_changed, self);
  run_search(self);
}

int
hk_search_page_get_n_results(HkSearchPage *self)
{
  return self->busy ? -1 : (self->shown ? (int)self->shown->len : 0);
}

const char *
hk_search_page_get_result_id(HkSearchPage *self, int i)
{
  return (self->shown && i >= 0 && i < (int)self->shown->len)
             ? ((HkPatientInfo *)g_ptr_array_index(self->shown, i))->id
             : NULL;
}

static void
hk_search_page_dispose(GObject *object)
{
  HkSearchPage *self = HK_SEARCH_PAGE(object);

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_clear_object(&self->client);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_SEARCH_PAGE);
  G_OBJECT_CLASS(hk_search_page_parent_class)->dispose(object);
}

static void
hk_search_page_finalize(GObject *object)
{
  HkSearchPage *self = HK_SEARCH_PAGE(object);

  g_clear_pointer(&self->shown, g_ptr_array_unref);
  g_clear_pointer(&self->recent, g_ptr_array_unref);
  g_free(self->shown_query);
  G_OBJECT_CLASS(hk_search_page_parent_class)->finalize(object);
}

static void
hk_search_page_class_init(HkSearchPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = hk_search_page_dispose;
  G_OBJECT_CLASS(klass)->finalize = hk_search_page_finalize;
  gtk_widget_class_set_template_from_resource(widget_class, "/org/hikae/viewer/hk-search-page.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_SEARCH);
  gtk_widget_class_bind_template_child(widget_class, HkSearchPage, box);
  gtk_widget_class_bind_template_child(widget_class, HkSearchPage, entry);
  gtk_widget_class_bind_template_child(widget_class, HkSearchPage, heading);
  gtk_widget_class_bind_template_child(widget_class, HkSearchPage, spinner);
  gtk_widget_class_bind_template_child(widget_class, HkSearchPage, list);
}

static void
hk_search_page_init(HkSearchPage *self)
{
  GtkEventController *keys = gtk_event_controller_key_new();

  gtk_widget_init_template(GTK_WIDGET(self));
  self->recent = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_info_free);
  g_signal_connect(self->entry, "search-changed", G_CALLBACK(search_changed), self);
  g_signal_connect(self->entry, "activate", G_CALLBACK(entry_activate), self);
  g_signal_connect(keys, "key-pressed", G_CALLBACK(entry_key), self);
  gtk_widget_add_controller(GTK_WIDGET(self->entry), keys);
  g_signal_connect(self->list, "row-activated", G_CALLBACK(row_activated), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Find a patient"), -1);
  show_recent(self);
}

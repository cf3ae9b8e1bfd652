#include "hk-text-search-page.h"

#include "hk-client-config.h"
#include "hk-format.h"

#include <glib/gi18n-lib.h>

/* Documents asked for per search (the route's limit is 1-100). */
#define MAX_HITS 50
/* Snippets shown per document. */
#define MAX_SNIPPETS 2

struct _HkTextSearchPage {
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
  HkTextSearch *shown; /* the rows' hits, or NULL */
  char *shown_query;   /* the words the rows answer */
  gboolean busy;
};

G_DEFINE_FINAL_TYPE(HkTextSearchPage, hk_text_search_page, GTK_TYPE_WIDGET)

static GtkWidget *
label(const char *text, const char *css, gboolean wrap)
{
  GtkWidget *l = gtk_label_new(text ? text : "—");

  gtk_label_set_xalign(GTK_LABEL(l), 0);
  if (wrap)
    gtk_label_set_wrap(GTK_LABEL(l), TRUE);
  else
    gtk_label_set_ellipsize(GTK_LABEL(l), PANGO_ELLIPSIZE_END);
  if (css)
    gtk_widget_add_css_class(l, css);
  return l;
}

/* The patient first, in the same words as the patient search (ID, name,
 * birth date): a hit must be impossible to read as another patient's. */
static GtkWidget *
make_row(const HkTextHit *h)
{
  const HkPatientInfo *p = h->patient;
  const HkDocInfo *d = h->doc;
  GtkWidget *row = gtk_list_box_row_new();
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *who = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
  g_autofree char *date = d->created_at ? hk_format_date(d->created_at) : g_strdup("—");
  g_autofree char *what =
      g_strdup_printf("%s · %s · %s", date, hk_format_doc_type(d->type), d->title);
  g_autofree char *a11y = NULL;

  gtk_widget_set_margin_top(box, 6);
  gtk_widget_set_margin_bottom(box, 6);
  gtk_widget_set_margin_start(box, 8);
  gtk_widget_set_margin_end(box, 8);
  gtk_box_append(GTK_BOX(who), label(p->id, "hk-id", FALSE));
  gtk_box_append(GTK_BOX(who), label(p->name, "hk-name", FALSE));
  gtk_box_append(GTK_BOX(who), label(p->birth_date, NULL, FALSE));
  gtk_box_append(GTK_BOX(box), who);
  gtk_box_append(GTK_BOX(box), label(what, "heading", FALSE));
  for (guint i = 0; d->matches && i < MIN(d->matches->len, MAX_SNIPPETS); i++) {
    g_autofree char *markup = hk_format_snippet_markup(g_ptr_array_index(d->matches, i));
    GtkWidget *l = label(NULL, "hk-snippet", TRUE);
    gtk_label_set_markup(GTK_LABEL(l), markup);
    gtk_box_append(GTK_BOX(box), l);
  }
  gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
  a11y = g_strdup_printf(_("Patient %s, %s, born %s: %s"), p->id, p->name ? p->name : "",
                         p->birth_date ? p->birth_date : "", what);
  gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  return row;
}

static void
show_rows(HkTextSearchPage *self, HkTextSearch *found, const char *heading)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
    gtk_list_box_remove(self->list, child);
  g_clear_pointer(&self->shown, hk_text_search_free);
  self->shown = found;
  for (guint i = 0; found && i < found->hits->len; i++)
    gtk_list_box_append(self->list, make_row(g_ptr_array_index(found->hits, i)));
  gtk_label_set_text(self->heading, heading);
  if (found && found->hits->len > 0)
    gtk_list_box_select_row(self->list, gtk_list_box_get_row_at_index(self->list, 0));
}

static void
search_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkTextSearchPage *self = user_data;
  g_autoptr(GError) e = NULL;
  HkTextSearch *found = hk_client_text_search_finish(HK_CLIENT(source), result, &e);
  g_autofree char *heading = NULL;
  g_autofree char *partial = NULL;
  guint n;

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  self->busy = FALSE;
  gtk_spinner_set_spinning(self->spinner, FALSE);
  if (!found) {
    g_autofree char *m = g_strdup_printf(_("Search failed: %s"), e->message);
    show_rows(self, NULL, m);
    goto out;
  }
  n = found->hits->len;
  /* What was not searched is said with the count, as on the patient page. */
  if (found->unsearched > 0)
    partial = g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE, "; %lu document could not be searched yet",
                    "; %lu documents could not be searched yet", (gulong)found->unsearched),
        (gulong)found->unsearched);
  if (n == 0)
    heading = g_strdup_printf(_("No document contains “%s”%s"), self->shown_query,
                              partial ? partial : "");
  else if (n >= MAX_HITS)
    heading = g_strdup_printf(_("The first %u documents that contain “%s”%s; add words to narrow "
                                "the search"),
                              n, self->shown_query, partial ? partial : "");
  else
    heading = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u document contains “%s”%s",
                                          "%u documents contain “%s”%s", n),
                              n, self->shown_query, partial ? partial : "");
  show_rows(self, found, heading);
out:
  g_object_unref(self);
}

static void
run_search(HkTextSearchPage *self)
{
  g_autofree char *q = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->entry))));

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_clear_pointer(&self->shown_query, g_free);
  if (!*q || !self->client) {
    self->busy = FALSE;
    gtk_spinner_set_spinning(self->spinner, FALSE);
    show_rows(self, NULL, _("Type words to find them in every patient’s documents."));
    return;
  }
  self->cancel = g_cancellable_new();
  self->busy = TRUE;
  self->shown_query = g_steal_pointer(&q);
  gtk_spinner_set_spinning(self->spinner, TRUE);
  hk_client_text_search_async(self->client, self->shown_query, MAX_HITS, self->cancel, search_done,
                              g_object_ref(self));
}

/* Each search is audited under every patient it shows: the same words
 * again (set_query, then the entry's own delayed signal) are not sent
 * twice. */
static void
search_changed(GtkSearchEntry *entry, HkTextSearchPage *self)
{
  g_autofree char *q = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->entry))));

  if (!*q || g_strcmp0(q, self->shown_query) != 0)
    run_search(self);
}

static void
row_activated(GtkListBox *list, GtkListBoxRow *row, HkTextSearchPage *self)
{
  hk_text_search_page_activate_result(self, gtk_list_box_row_get_index(row));
}

void
hk_text_search_page_activate_result(HkTextSearchPage *self, int i)
{
  const HkTextHit *h;

  if (!self->shown || i < 0 || i >= (int)self->shown->hits->len || !self->shown_query)
    return;
  h = g_ptr_array_index(self->shown->hits, i);
  gtk_widget_activate_action(GTK_WIDGET(self), "win.open-patient-search", "(ss)", h->patient->id,
                             self->shown_query);
}

void
hk_text_search_page_set_client(HkTextSearchPage *self, HkClient *client)
{
  g_set_object(&self->client, client);
}

void
hk_text_search_page_clear(HkTextSearchPage *self)
{
  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  self->busy = FALSE;
  /* Set before the rows go: the entry's change must find no client work
   * to do (it shows the empty state). */
  gtk_editable_set_text(GTK_EDITABLE(self->entry), "");
  g_clear_pointer(&self->shown_query, g_free);
  gtk_spinner_set_spinning(self->spinner, FALSE);
  show_rows(self, NULL, "");
}

void
hk_text_search_page_focus(HkTextSearchPage *self)
{
  gtk_widget_grab_focus(GTK_WIDGET(self->entry));
}

void
hk_text_search_page_set_query(HkTextSearchPage *self, const char *text)
{
  gtk_editable_set_text(GTK_EDITABLE(self->entry), text);
  run_search(self);
}

int
hk_text_search_page_get_n_results(HkTextSearchPage *self)
{
  return self->busy ? -1 : self->shown ? (int)self->shown->hits->len : 0;
}

const char *
hk_text_search_page_get_heading(HkTextSearchPage *self)
{
  return gtk_label_get_text(self->heading);
}

static const HkTextHit *
hit_at(HkTextSearchPage *self, int i)
{
  return self->shown && i >= 0 && i < (int)self->shown->hits->len
             ? g_ptr_array_index(self->shown->hits, i)
             : NULL;
}

const char *
hk_text_search_page_get_result_patient(HkTextSearchPage *self, int i)
{
  const HkTextHit *h = hit_at(self, i);

  return h ? h->patient->id : NULL;
}

const char *
hk_text_search_page_get_result_doc(HkTextSearchPage *self, int i)
{
  const HkTextHit *h = hit_at(self, i);

  return h ? h->doc->id : NULL;
}

static void
hk_text_search_page_dispose(GObject *object)
{
  HkTextSearchPage *self = HK_TEXT_SEARCH_PAGE(object);

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_clear_object(&self->client);
  g_clear_pointer(&self->shown, hk_text_search_free);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_TEXT_SEARCH_PAGE);
  G_OBJECT_CLASS(hk_text_search_page_parent_class)->dispose(object);
}

static void
hk_text_search_page_finalize(GObject *object)
{
  HkTextSearchPage *self = HK_TEXT_SEARCH_PAGE(object);

  g_free(self->shown_query);
  G_OBJECT_CLASS(hk_text_search_page_parent_class)->finalize(object);
}

static void
hk_text_search_page_class_init(HkTextSearchPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = hk_text_search_page_dispose;
  G_OBJECT_CLASS(klass)->finalize = hk_text_search_page_finalize;
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/org/hikae/viewer/hk-text-search-page.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_SEARCH);
  gtk_widget_class_bind_template_child(widget_class, HkTextSearchPage, box);
  gtk_widget_class_bind_template_child(widget_class, HkTextSearchPage, entry);
  gtk_widget_class_bind_template_child(widget_class, HkTextSearchPage, heading);
  gtk_widget_class_bind_template_child(widget_class, HkTextSearchPage, spinner);
  gtk_widget_class_bind_template_child(widget_class, HkTextSearchPage, list);
}

static void
hk_text_search_page_init(HkTextSearchPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  g_signal_connect(self->entry, "search-changed", G_CALLBACK(search_changed), self);
  g_signal_connect(self->list, "row-activated", G_CALLBACK(row_activated), self);
  gtk_label_set_text(self->heading, _("Type words to find them in every patient’s documents."));
}

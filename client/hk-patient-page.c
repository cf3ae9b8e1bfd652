#include "hk-patient-page.h"

#include "hk-client-config.h"
#include "hk-format.h"

#include <glib/gi18n-lib.h>

/* Thumbnails are fetched for the first rows only: more would be many
 * requests for pictures nobody scrolls to. */
#define MAX_THUMBNAILS 40
/* A search hit shows the snippets of at most this many pages. */
#define MAX_SNIPPETS 3

/* A long timeline (up to HK_PATIENT_PAGE_MAX_DOCS rows) is drawn in steps:
 * the first FIRST_ROWS rows before the first frame, then BATCH_ROWS per
 * frame, each batch painted before the next is built. Building all 2,000
 * rows before the first frame took a second (issue 13).
 *
 * Why a GtkListBox filled in steps and not a recycling GtkListView: on
 * GTK 4.8 (Debian 12) a list view has no section headers (4.12) and no
 * accessible label per item (4.12), so the day headers and the row labels
 * that screen readers read would have to be rebuilt by hand; and a
 * recycled row widget, rebound while a thumbnail request of its previous
 * document is in flight, is one way for a row to show another document's
 * picture. Here a row is made once for one document and never reused.
 * FIRST_ROWS covers a screen many times over; MAX_THUMBNAILS rows are in
 * it, so thumbnails are asked for at once, as before. */
#define FIRST_ROWS 100
#define BATCH_ROWS 200
/* If no frame comes after a batch (a frozen or iconified window), the next
 * batch is appended anyway after this long. */
#define FIRST_PAINT_WAIT_MS 250
/* A list taken off screen loses DROP_ROWS rows every DROP_EVERY_MS. */
#define DROP_ROWS 100
#define DROP_EVERY_MS 40

struct _HkPatientPage {
  GtkWidget parent_instance;

  /* Template widgets */
  GtkWidget *box;
  GtkWidget *header;
  GtkLabel *id_label;
  GtkLabel *name_label;
  GtkLabel *kana_label;
  GtkSpinner *spinner;
  GtkLabel *birth_label;
  GtkLabel *sex_label;
  GtkLabel *location_label;
  GtkWidget *problems_button;
  GtkLabel *problems_label;
  GtkLabel *allergy_label;
  GtkDropDown *type_dropdown;
  GtkEntry *from_entry;
  GtkEntry *to_entry;
  GtkSearchEntry *text_entry;
  GtkLabel *count_label;
  GtkListBox *timeline;

  /* Owned */
  HkClient *client;
  GCancellable *cancel;      /* the patient's record */
  GCancellable *docs_cancel; /* the list asked for last: a newer one replaces it */
  char *patient_id;
  HkPatientInfo *patient;
  GPtrArray *docs;      /* HkDocInfo*, as shown */
  GHashTable *selected; /* doc id -> TRUE */
  gboolean docs_loaded;
  gboolean docs_more;   /* older documents exist beyond max_docs */
  char *query;          /* the words the shown list was searched for, or NULL */
  gint64 unsearched;    /* with query: documents the server could not search yet */
  guint max_docs;       /* how many the timeline loads (2,000) */
  guint n_built;        /* rows in the timeline: docs[0 .. n_built - 1] */
  guint first_rows;     /* rows built before the first frame */
  guint batch_rows;     /* rows built per frame after it */
  guint build_source;   /* the batch due (or its no-frame fallback), or 0 */
  gulong paint_handler; /* after-paint of paint_clock that runs the batches, or 0 */
  GdkFrameClock *paint_clock;
  GPtrArray *old_lists; /* GtkListBox*, taken off screen, rows still to drop */
  guint drop_source;    /* the timer that drops them, or 0 */
};

G_DEFINE_FINAL_TYPE(HkPatientPage, hk_patient_page, GTK_TYPE_WIDGET)

enum { SIGNAL_LOADED, SIGNAL_FAILED, SIGNAL_TIMELINE_COMPLETE, N_SIGNALS };
static guint signals[N_SIGNALS];

/* The spinner turns until the header is shown and every row is built:
 * with the count line, it says that the list is not complete yet. */
static void
update_spinner(HkPatientPage *self)
{
  gtk_spinner_set_spinning(self->spinner,
                           !self->patient || !self->docs_loaded || self->n_built < self->docs->len);
}

static void
maybe_loaded(HkPatientPage *self)
{
  if (self->patient && self->docs_loaded) {
    update_spinner(self);
    g_signal_emit(self, signals[SIGNAL_LOADED], 0);
  }
}

static void
fail(HkPatientPage *self, const char *message)
{
  gtk_spinner_set_spinning(self->spinner, FALSE);
  g_signal_emit(self, signals[SIGNAL_FAILED], 0, message);
}

static void
show_patient(HkPatientPage *self)
{
  const HkPatientInfo *p = self->patient;
  g_autoptr(GDateTime) today = g_date_time_new_now_local();
  g_autofree char *id = g_strdup_printf(_("ID %s"), p->id);
  g_autofree char *birth = hk_format_birth_and_age(p->birth_date, today);
  g_autofree char *sex = hk_format_sex(p->sex);
  g_autofree char *loc = hk_format_location(p);
  gboolean alarm = FALSE;
  g_autofree char *allergy = hk_format_allergy_banner(p, TRUE, &alarm);
  g_autofree char *a11y = NULL;
  GString *problems = g_string_new(NULL);
  GtkWidget *al = GTK_WIDGET(self->allergy_label);

  gtk_label_set_text(self->id_label, id);
  gtk_label_set_text(self->name_label, p->name ? p->name : _("(no name recorded)"));
  gtk_label_set_text(self->kana_label, p->kana ? p->kana : "");
  gtk_label_set_text(self->birth_label, birth);
  gtk_label_set_text(self->sex_label, sex);
  if (p->admission_state.unreadable) {
    g_autofree char *l = g_strdup_printf(_("%s (admission data could not be read, see "
                                           "quarantine)"),
                                         loc);
    gtk_label_set_text(self->location_label, l);
  } else {
    gtk_label_set_text(self->location_label, loc);
  }
  gtk_widget_remove_css_class(al, "hk-allergy");
  gtk_widget_remove_css_class(al, "hk-no-allergy");
  /* "Could not be read" is shown as loudly as an allergy: it is not
   * "none". */
  gtk_widget_add_css_class(al, alarm ? "hk-allergy" : "hk-no-allergy");
  if (p->allergies_state.reason)
    gtk_widget_set_tooltip_text(al, p->allergies_state.reason);
  else
    gtk_widget_set_tooltip_text(al, NULL);
  gtk_label_set_text(self->allergy_label, allergy);
  gtk_accessible_update_property(GTK_ACCESSIBLE(al), GTK_ACCESSIBLE_PROPERTY_LABEL, allergy, -1);
  for (guint i = 0; p->problems && i < p->problems->len; i++) {
    const HkProblemInfo *q = g_ptr_array_index(p->problems, i);
    g_string_append_printf(problems, "• %s", q->name);
    if (q->code)
      g_string_append_printf(problems, " [%s]", q->code);
    if (q->onset)
      g_string_append_printf(problems, _(" (since %s)"), q->onset);
    g_string_append_c(problems, '\n');
  }
  if (p->problems_state.unreadable)
    g_string_prepend(problems, _("⚠ Problem data could not be read (see quarantine); the list "
                                 "may be incomplete.\n"));
  if (problems->len == 0)
    g_string_append(problems, _("No problems recorded in archive"));
  else
    g_string_truncate(problems, problems->len - 1);
  gtk_label_set_text(self->problems_label, problems->str);
  g_string_free(problems, TRUE);
  a11y = g_strdup_printf(_("Patient %s, %s, %s, %s, %s"), p->id, p->name ? p->name : "", birth, sex,
                         loc);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->header), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y,
                                 -1);
}

static void
thumb_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GtkPicture) pic = user_data;
  g_autoptr(GBytes) bytes = hk_client_thumbnail_finish(HK_CLIENT(source), result, NULL);
  g_autoptr(GdkTexture) tex = NULL;

  /* Decoded in memory only: no thumbnail cache on disk. */
  if (bytes)
    tex = gdk_texture_new_from_bytes(bytes, NULL);
  if (tex)
    gtk_picture_set_paintable(pic, GDK_PAINTABLE(tex));
}

static void
check_toggled(GtkCheckButton *check, HkPatientPage *self)
{
  const char *id = g_object_get_data(G_OBJECT(check), "hk-doc-id");

  if (gtk_check_button_get_active(check))
    g_hash_table_add(self->selected, g_strdup(id));
  else
    g_hash_table_remove(self->selected, id);
}

static GtkWidget *
make_row(HkPatientPage *self, const HkDocInfo *d, guint index)
{
  GtkWidget *row = gtk_list_box_row_new();
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *text = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *check = gtk_check_button_new();
  GtkWidget *pic = gtk_picture_new();
  GtkWidget *icon = gtk_image_new_from_icon_name(hk_format_doc_type_icon(d->type));
  GtkWidget *title = gtk_label_new(d->title);
  GtkWidget *meta;
  g_autoptr(GDateTime) local = d->created_at ? g_date_time_to_local(d->created_at) : NULL;
  g_autofree char *time = local ? g_date_time_format(local, "%H:%M") : g_strdup("—");
  g_autofree char *meta_text = NULL;
  g_autofree char *a11y = NULL;
  g_autofree char *check_label = g_strdup_printf(_("Include “%s” in the transfer pack"), d->title);

  gtk_widget_set_margin_top(box, 4);
  gtk_widget_set_margin_bottom(box, 4);
  gtk_widget_set_margin_start(box, 12);
  gtk_widget_set_margin_end(box, 12);
  g_object_set_data_full(G_OBJECT(check), "hk-doc-id", g_strdup(d->id), g_free);
  gtk_check_button_set_active(GTK_CHECK_BUTTON(check),
                              g_hash_table_contains(self->selected, d->id));
  g_signal_connect(check, "toggled", G_CALLBACK(check_toggled), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(check), GTK_ACCESSIBLE_PROPERTY_LABEL, check_label,
                                 -1);
  gtk_box_append(GTK_BOX(box), check);
  gtk_widget_set_size_request(pic, 48, 48);
  gtk_picture_set_can_shrink(GTK_PICTURE(pic), TRUE);
  gtk_accessible_update_property(GTK_ACCESSIBLE(pic), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Thumbnail"),
                                 -1);
  gtk_box_append(GTK_BOX(box), pic);
  if (index < MAX_THUMBNAILS && self->client)
    hk_client_thumbnail_async(self->client, d->id, self->cancel, thumb_done, g_object_ref(pic));
  gtk_image_set_icon_size(GTK_IMAGE(icon), GTK_ICON_SIZE_LARGE);
  gtk_accessible_update_property(GTK_ACCESSIBLE(icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 hk_format_doc_type(d->type), -1);
  gtk_box_append(GTK_BOX(box), icon);
  gtk_box_append(GTK_BOX(box), gtk_label_new(time));
  gtk_label_set_xalign(GTK_LABEL(title), 0);
  gtk_label_set_ellipsize(GTK_LABEL(title), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class(title, "heading");
  gtk_box_append(GTK_BOX(text), title);
  meta_text = g_strdup_printf("%s%s%s%s%s", hk_format_doc_type(d->type), d->department ? " · " : "",
                              d->department ? d->department : "", d->author ? " · " : "",
                              d->author ? d->author : "");
  meta = gtk_label_new(meta_text);
  gtk_label_set_xalign(GTK_LABEL(meta), 0);
  gtk_widget_add_css_class(meta, "dim-label");
  gtk_box_append(GTK_BOX(text), meta);
  for (guint i = 0; d->matches && i < MIN(d->matches->len, MAX_SNIPPETS); i++) {
    const HkDocMatch *m = g_ptr_array_index(d->matches, i);
    g_autofree char *markup = hk_format_snippet_markup(m);
    GtkWidget *l = gtk_label_new(NULL);
    gtk_label_set_markup(GTK_LABEL(l), markup);
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    gtk_label_set_wrap(GTK_LABEL(l), TRUE);
    gtk_widget_add_css_class(l, "hk-snippet");
    gtk_box_append(GTK_BOX(text), l);
  }
  gtk_widget_set_hexpand(text, TRUE);
  gtk_box_append(GTK_BOX(box), text);
  if (d->latest_version > 1 || d->version > 1) {
    g_autofree char *v = g_strdup_printf(_("v%u"), d->latest_version);
    GtkWidget *badge = gtk_label_new(v);
    gtk_widget_add_css_class(badge, "hk-badge");
    gtk_widget_set_tooltip_text(badge, _("This document has several versions"));
    gtk_box_append(GTK_BOX(box), badge);
  }
  if (d->withdrawn) {
    GtkWidget *badge = gtk_label_new(_("WITHDRAWN"));
    gtk_widget_add_css_class(badge, "hk-badge-red");
    gtk_box_append(GTK_BOX(box), badge);
  }
  if (d->moved_direction && d->moved_patient) {
    gboolean to = strcmp(d->moved_direction, "to") == 0;
    g_autofree char *when = d->moved_at ? hk_format_datetime(d->moved_at) : g_strdup("?");
    g_autofree char *label = to ? g_strdup_printf(_("MOVED to %s"), d->moved_patient)
                                : g_strdup_printf(_("moved from %s"), d->moved_patient);
    g_autofree char *tip =
        to ? g_strdup_printf(_("Moved to patient %s at %s"), d->moved_patient, when)
           : g_strdup_printf(_("Moved from patient %s at %s"), d->moved_patient, when);
    GtkWidget *badge = gtk_label_new(label);
    gtk_widget_add_css_class(badge, to ? "hk-badge-red" : "hk-badge");
    gtk_widget_set_tooltip_text(badge, tip);
    gtk_box_append(GTK_BOX(box), badge);
  }
  if (d->refused_count) {
    GtkWidget *badge = gtk_label_new(_("REFUSED UPDATE"));
    gtk_widget_add_css_class(badge, "hk-badge");
    gtk_widget_set_tooltip_text(badge, _("A newer version was refused as suspect; see the "
                                         "quarantine"));
    gtk_box_append(GTK_BOX(box), badge);
  }
  gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
  a11y = g_strdup_printf(_("%s, %s, %s %s%s"), d->title, hk_format_doc_type(d->type),
                         local ? "" : "", time, d->withdrawn ? _(", withdrawn") : "");
  gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  return row;
}

/* Group the timeline by day: a header above the first row of each date. */
static void
header_func(GtkListBoxRow *row, GtkListBoxRow *before, gpointer user_data)
{
  HkPatientPage *self = user_data;
  int i = gtk_list_box_row_get_index(row);
  const HkDocInfo *d, *prev;
  g_autofree char *day = NULL;
  g_autofree char *prev_day = NULL;

  if (!self->docs || i < 0 || i >= (int)self->docs->len)
    return;
  d = g_ptr_array_index(self->docs, i);
  day = hk_format_date(d->created_at);
  if (before && i > 0) {
    prev = g_ptr_array_index(self->docs, i - 1);
    prev_day = hk_format_date(prev->created_at);
  }
  if (g_strcmp0(day, prev_day) != 0) {
    GtkWidget *h = gtk_label_new(day);
    gtk_label_set_xalign(GTK_LABEL(h), 0);
    gtk_widget_add_css_class(h, "hk-day-header");
    gtk_list_box_row_set_header(row, h);
  } else {
    gtk_list_box_row_set_header(row, NULL);
  }
}

/* Drop what would append more rows: nothing built for one list may land
 * in another. */
static void
stop_building(HkPatientPage *self)
{
  g_clear_handle_id(&self->build_source, g_source_remove);
  if (self->paint_handler)
    g_clear_signal_handler(&self->paint_handler, self->paint_clock);
  g_clear_object(&self->paint_clock);
}

static void row_activated(GtkListBox *list, GtkListBoxRow *row, HkPatientPage *self);

/* Drop some rows of the lists taken off screen, oldest list first. A
 * timer at default priority, not an idle, for the reason given at
 * painted(); each run is short, so frames and input come in between. */
static gboolean
drop_old_rows(gpointer user_data)
{
  HkPatientPage *self = user_data;
  gboolean more = FALSE;

  for (guint n = 0; n < DROP_ROWS && self->old_lists->len > 0; n++) {
    GtkListBox *old = g_ptr_array_index(self->old_lists, 0);
    GtkWidget *child = gtk_widget_get_last_child(GTK_WIDGET(old));

    if (child)
      gtk_list_box_remove(old, child);
    else
      g_ptr_array_remove_index(self->old_lists, 0);
  }
  more = self->old_lists->len > 0;
  if (!more)
    self->drop_source = 0;
  return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* A new, empty list box in place of the one on screen, which goes at once
 * with all its rows. Its rows are destroyed later, a few at a time:
 * destroying 2,000 rows took 200-300 ms, all of it between Enter and the
 * next patient's first frame (bench/viewer, the 10 M store). */
static void
swap_timeline(HkPatientPage *self)
{
  GtkWidget *sw = gtk_widget_get_ancestor(GTK_WIDGET(self->timeline), GTK_TYPE_SCROLLED_WINDOW);
  GtkListBox *old = self->timeline;
  GtkWidget *box = gtk_list_box_new();

  gtk_list_box_set_selection_mode(GTK_LIST_BOX(box), gtk_list_box_get_selection_mode(old));
  gtk_list_box_set_activate_on_single_click(GTK_LIST_BOX(box),
                                            gtk_list_box_get_activate_on_single_click(old));
  gtk_widget_add_css_class(box, "hk-timeline");
  gtk_accessible_update_property(GTK_ACCESSIBLE(box), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Documents, newest first"), -1);
  gtk_list_box_set_header_func(GTK_LIST_BOX(box), header_func, self, NULL);
  g_signal_connect(box, "row-activated", G_CALLBACK(row_activated), self);
  /* No header function and no handler on the old list: nothing it does
   * while its rows are dropped reaches the page. */
  gtk_list_box_set_header_func(old, NULL, NULL, NULL);
  g_signal_handlers_disconnect_by_data(old, self);
  g_ptr_array_add(self->old_lists, g_object_ref(old));
  gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(sw), box);
  gtk_adjustment_set_value(gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(sw)), 0);
  self->timeline = GTK_LIST_BOX(box);
  if (!self->drop_source)
    self->drop_source = g_timeout_add(DROP_EVERY_MS, drop_old_rows, self);
}

static void
clear_timeline(HkPatientPage *self)
{
  stop_building(self);
  if (gtk_widget_get_first_child(GTK_WIDGET(self->timeline)))
    swap_timeline(self);
  self->n_built = 0;
  g_clear_pointer(&self->docs, g_ptr_array_unref);
}

/* The count line. While rows are still being appended it says so, with
 * how many are shown: a part of the list must never read as all of it. */
static void
show_count(HkPatientPage *self)
{
  guint n = self->docs->len;
  g_autofree char *count = NULL;
  g_autofree char *partial = NULL;

  /* A search that could not look at every document says how many it
   * missed, in the same line: a clinician must not read "no match" as
   * "never written". */
  if (self->query && self->unsearched > 0)
    partial = g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE, "; %lu document could not be searched yet",
                    "; %lu documents could not be searched yet", (gulong)self->unsearched),
        (gulong)self->unsearched);
  if (self->query && self->n_built == n && !self->docs_more)
    count = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u document contains “%s”%s",
                                        "%u documents contain “%s”%s", n),
                            n, self->query, partial ? partial : "");
  else if (self->n_built < n && self->docs_more)
    count = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE,
                                        "Showing %u of the newest %u document (older ones "
                                        "exist); the rest are being added…",
                                        "Showing %u of the newest %u documents (older ones "
                                        "exist); the rest are being added…",
                                        n),
                            self->n_built, n);
  else if (self->n_built < n)
    count = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE,
                                        "Showing %u of %u document; the rest are being added…",
                                        "Showing %u of %u documents; the rest are being added…", n),
                            self->n_built, n);
  else if (self->docs_more)
    /* Never a bare count here: "2000 documents" would read as all of them. */
    count = g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE,
                    "The newest %u document; older ones exist: narrow the dates to see them",
                    "The newest %u documents; older ones exist: narrow the dates to see them", n),
        n);
  else
    count = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u document", "%u documents", n), n);
  if (self->query && partial && !(self->n_built == n && !self->docs_more)) {
    char *c = g_strconcat(count, partial, NULL);
    g_free(count);
    count = c;
  }
  gtk_label_set_text(self->count_label, count);
}

/* Append up to n more rows, in timeline order, then say how many are shown.
 * TRUE when every document has its row. */
static gboolean
append_rows(HkPatientPage *self, guint n)
{
  guint end = MIN(self->docs->len, self->n_built + n);

  for (; self->n_built < end; self->n_built++)
    gtk_list_box_append(self->timeline, make_row(self, g_ptr_array_index(self->docs, self->n_built),
                                                 self->n_built));
  show_count(self);
  return self->n_built == self->docs->len;
}

static void
timeline_complete(HkPatientPage *self)
{
  update_spinner(self);
  g_signal_emit(self, signals[SIGNAL_TIMELINE_COMPLETE], 0);
}

/* Append one batch. On screen, the next batch waits for the frame that
 * paints this one (painted() below), with a timer in case no frame comes
 * (an iconified window's clock is frozen); off screen, it is the next
 * idle. The source and the paint handler go whenever the timeline is
 * cleared (new patient, refilter, lock, dispose), so a batch only ever
 * appends to the list it was started for. */
static gboolean
build_more(gpointer user_data)
{
  HkPatientPage *self = user_data;

  self->build_source = 0;
  if (append_rows(self, self->batch_rows)) {
    stop_building(self);
    timeline_complete(self);
  } else if (self->paint_handler) {
    self->build_source = g_timeout_add(FIRST_PAINT_WAIT_MS, build_more, self);
  } else {
    self->build_source = g_idle_add(build_more, self);
  }
  return G_SOURCE_REMOVE;
}

/* A frame is painted: build the next batch before the next frame. Not an
 * idle: while the spinner turns, the frame clock always has a frame due,
 * and once a frame of a long list takes longer than the frame interval an
 * idle never runs again; the list then stopped at its first rows, still
 * "being added" (seen on the 10 M store: 100 of 2,000 rows after 60 s).
 * At default priority one batch runs between two frames, so the rows keep
 * coming and every batch is painted before the next is built. */
static void
painted(GdkFrameClock *clock, HkPatientPage *self)
{
  g_clear_handle_id(&self->build_source, g_source_remove);
  self->build_source = g_idle_add_full(G_PRIORITY_DEFAULT, build_more, self, NULL);
}

static void
start_building(HkPatientPage *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock(GTK_WIDGET(self));

  if (clock && gtk_widget_get_mapped(GTK_WIDGET(self))) {
    self->paint_clock = g_object_ref(clock);
    self->paint_handler = g_signal_connect(clock, "after-paint", G_CALLBACK(painted), self);
    self->build_source = g_timeout_add(FIRST_PAINT_WAIT_MS, build_more, self);
  } else {
    /* Not on screen: no frame to wait for. */
    self->build_source = g_idle_add(build_more, self);
  }
}

static void
docs_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkPatientPage *self = user_data;
  g_autoptr(GError) e = NULL;
  gboolean more = FALSE;
  gint64 unsearched = 0;
  g_autoptr(GPtrArray) docs =
      hk_client_documents_finish(HK_CLIENT(source), result, &more, &unsearched, &e);

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  clear_timeline(self);
  if (!docs && self->query) {
    /* A search that could not run (no index yet, a query the server
     * refused) is not a failed patient: the header and the way back to
     * the whole list stay; the line says why, and the list is empty
     * rather than unfiltered, so that it never reads as the answer. */
    g_autofree char *m = g_strdup_printf(_("Search failed: %s"), e->message);
    self->docs = g_ptr_array_new_with_free_func((GDestroyNotify)hk_doc_info_free);
    self->docs_loaded = TRUE;
    gtk_label_set_text(self->count_label, m);
    maybe_loaded(self);
    goto out;
  }
  if (!docs) {
    fail(self, e->message);
    goto out;
  }
  self->docs = g_steal_pointer(&docs);
  self->docs_more = more;
  self->unsearched = unsearched;
  if (!append_rows(self, self->first_rows))
    start_building(self);
  self->docs_loaded = TRUE;
  maybe_loaded(self);
  /* Asked again: a "loaded" handler may have started another load. */
  if (hk_patient_page_is_timeline_complete(self))
    timeline_complete(self);
out:
  g_object_unref(self);
}

static void
patient_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkPatientPage *self = user_data;
  g_autoptr(GError) e = NULL;
  HkPatientInfo *p = hk_client_patient_finish(HK_CLIENT(source), result, &e);

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  if (!p) {
    fail(self, e->message);
    goto out;
  }
  g_clear_pointer(&self->patient, hk_patient_info_free);
  self->patient = p;
  show_patient(self);
  maybe_loaded(self);
out:
  g_object_unref(self);
}

static const char *
selected_type(HkPatientPage *self)
{
  guint i = gtk_drop_down_get_selected(self->type_dropdown);
  const char *const *types = hk_format_doc_types();

  return (i == 0 || i == GTK_INVALID_LIST_POSITION) ? NULL : types[i - 1];
}

static void
cancel_documents(HkPatientPage *self)
{
  if (self->docs_cancel)
    g_cancellable_cancel(self->docs_cancel);
  g_clear_object(&self->docs_cancel);
}

static void
load_documents(HkPatientPage *self)
{
  const char *from = gtk_editable_get_text(GTK_EDITABLE(self->from_entry));
  const char *to = gtk_editable_get_text(GTK_EDITABLE(self->to_entry));
  g_autofree char *q = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->text_entry))));

  g_clear_pointer(&self->query, g_free);
  if (*q)
    self->query = g_steal_pointer(&q);
  self->unsearched = 0;
  /* The rows of the previous answer go at once, the rows still to be
   * appended with them: the list never shows one filter's rows under
   * another's fields. */
  clear_timeline(self);
  gtk_label_set_text(self->count_label, "");
  self->docs_loaded = FALSE;
  self->docs_more = FALSE;
  gtk_spinner_set_spinning(self->spinner, TRUE);
  /* Only the newest request may fill the list: typing "造" then "造影剤"
   * sends two, and the first answer may come last. Cancelled, it is
   * dropped in docs_done. */
  cancel_documents(self);
  self->docs_cancel = g_cancellable_new();
  hk_client_documents_async(self->client, self->patient_id, selected_type(self), from, to,
                            self->query, self->max_docs, self->docs_cancel, docs_done,
                            g_object_ref(self));
}

static void
filter(GtkWidget *widget, const char *action, GVariant *param)
{
  HkPatientPage *self = HK_PATIENT_PAGE(widget);

  if (self->client && self->patient_id)
    load_documents(self);
}

static void
refilter(HkPatientPage *self)
{
  if (self->client && self->patient_id)
    load_documents(self);
}

/* The words changed (after the entry's delay): search again, unless they
 * only changed by white space. */
static void
text_changed(HkPatientPage *self)
{
  g_autofree char *q = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->text_entry))));

  if (g_strcmp0(*q ? q : NULL, self->query) != 0)
    refilter(self);
}

/* With words, they are in the field before the list is asked for: the
 * first list is the search's, never the whole timeline first. */
void
hk_patient_page_load_search(HkPatientPage *self, const char *id, const char *words)
{
  hk_patient_page_clear(self);
  if (words)
    gtk_editable_set_text(GTK_EDITABLE(self->text_entry), words);
  if (!self->client)
    return;
  self->cancel = g_cancellable_new();
  self->patient_id = g_strdup(id);
  {
    g_autofree char *l = g_strdup_printf(_("ID %s"), id);
    gtk_label_set_text(self->id_label, l);
  }
  gtk_label_set_text(self->name_label, _("Loading…"));
  gtk_spinner_set_spinning(self->spinner, TRUE);
  hk_client_patient_async(self->client, id, self->cancel, patient_done, g_object_ref(self));
  load_documents(self);
}

void
hk_patient_page_load(HkPatientPage *self, const char *id)
{
  hk_patient_page_load_search(self, id, NULL);
}

void
hk_patient_page_clear(HkPatientPage *self)
{
  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  cancel_documents(self);
  g_clear_pointer(&self->patient_id, g_free);
  g_clear_pointer(&self->patient, hk_patient_info_free);
  g_hash_table_remove_all(self->selected);
  clear_timeline(self);
  self->docs_loaded = FALSE;
  self->docs_more = FALSE;
  gtk_spinner_set_spinning(self->spinner, FALSE);
  gtk_label_set_text(self->id_label, "");
  gtk_label_set_text(self->name_label, "");
  gtk_label_set_text(self->kana_label, "");
  gtk_label_set_text(self->birth_label, "");
  gtk_label_set_text(self->sex_label, "");
  gtk_label_set_text(self->location_label, "");
  gtk_label_set_text(self->allergy_label, "");
  gtk_label_set_text(self->problems_label, "");
  gtk_label_set_text(self->count_label, "");
  gtk_editable_set_text(GTK_EDITABLE(self->from_entry), "");
  gtk_editable_set_text(GTK_EDITABLE(self->to_entry), "");
  /* Set before the type: clearing the words must not start a search of
   * the patient being left. */
  gtk_editable_set_text(GTK_EDITABLE(self->text_entry), "");
  g_clear_pointer(&self->query, g_free);
  self->unsearched = 0;
  gtk_drop_down_set_selected(self->type_dropdown, 0);
}

void
hk_patient_page_set_client(HkPatientPage *self, HkClient *client)
{
  g_set_object(&self->client, client);
}

const HkPatientInfo *
hk_patient_page_get_patient(HkPatientPage *self)
{
  return self->patient;
}

GPtrArray *
hk_patient_page_get_documents(HkPatientPage *self)
{
  return self->docs;
}

char **
hk_patient_page_dup_selected(HkPatientPage *self)
{
  GStrvBuilder *b = g_strv_builder_new();
  char **res;

  /* Timeline order (newest first), not the order of ticking: the pack reads
   * like the timeline. */
  for (guint i = 0; self->docs && i < self->docs->len; i++) {
    const HkDocInfo *d = g_ptr_array_index(self->docs, i);
    if (g_hash_table_contains(self->selected, d->id))
      g_strv_builder_add(b, d->id);
  }
  res = g_strv_builder_end(b);
  g_strv_builder_unref(b);
  return res;
}

void
hk_patient_page_set_selected(HkPatientPage *self, const char *doc_id, gboolean selected)
{
  GtkWidget *row;

  if (selected)
    g_hash_table_add(self->selected, g_strdup(doc_id));
  else
    g_hash_table_remove(self->selected, doc_id);
  /* Keep the tick boxes of the rows built so far in step; rows still to be
   * appended read self->selected when they are made. */
  for (row = gtk_widget_get_first_child(GTK_WIDGET(self->timeline)); row;
       row = gtk_widget_get_next_sibling(row)) {
    GtkWidget *box =
        GTK_IS_LIST_BOX_ROW(row) ? gtk_list_box_row_get_child(GTK_LIST_BOX_ROW(row)) : NULL;
    GtkWidget *check = box ? gtk_widget_get_first_child(box) : NULL;
    if (check && GTK_IS_CHECK_BUTTON(check) &&
        g_strcmp0(g_object_get_data(G_OBJECT(check), "hk-doc-id"), doc_id) == 0)
      gtk_check_button_set_active(GTK_CHECK_BUTTON(check), selected);
  }
}

const char *
hk_patient_page_get_allergy_text(HkPatientPage *self)
{
  return gtk_label_get_text(self->allergy_label);
}

gboolean
hk_patient_page_has_allergies(HkPatientPage *self)
{
  return self->patient && self->patient->allergies && self->patient->allergies->len > 0;
}

const char *
hk_patient_page_get_location_text(HkPatientPage *self)
{
  return gtk_label_get_text(self->location_label);
}

gboolean
hk_patient_page_is_loaded(HkPatientPage *self)
{
  return self->patient && self->docs_loaded;
}

gboolean
hk_patient_page_is_timeline_complete(HkPatientPage *self)
{
  return self->docs_loaded && self->docs && self->n_built == self->docs->len;
}

guint
hk_patient_page_get_n_rows(HkPatientPage *self)
{
  return self->n_built;
}

void
hk_patient_page_set_batch_sizes(HkPatientPage *self, guint first_rows, guint batch_rows)
{
  self->first_rows = first_rows ? first_rows : FIRST_ROWS;
  self->batch_rows = batch_rows ? batch_rows : BATCH_ROWS;
}

const char *
hk_patient_page_get_query(HkPatientPage *self)
{
  return self->query;
}

gboolean
hk_patient_page_has_more(HkPatientPage *self)
{
  return self->docs_more;
}

const char *
hk_patient_page_get_count_text(HkPatientPage *self)
{
  return gtk_label_get_text(self->count_label);
}

void
hk_patient_page_set_max_documents(HkPatientPage *self, guint max_docs)
{
  self->max_docs = max_docs ? max_docs : HK_PATIENT_PAGE_MAX_DOCS;
}

static void
row_activated(GtkListBox *list, GtkListBoxRow *row, HkPatientPage *self)
{
  int i = gtk_list_box_row_get_index(row);

  const HkDocInfo *d =
      self->docs && i >= 0 && i < (int)self->docs->len ? g_ptr_array_index(self->docs, i) : NULL;
  g_autofree char *term = NULL;

  if (!d)
    return;
  term = d->matches && d->matches->len ? hk_doc_match_dup_term(g_ptr_array_index(d->matches, 0))
                                       : NULL;
  if (term)
    /* Opened at the first page that matched, with the words as the
     * document writes them (the marked text, not the query: ペニシリン
     * in the document is found by ぺにしりん). */
    gtk_widget_activate_action(GTK_WIDGET(self), "win.open-document-at", "(ssu)", d->id, term,
                               ((const HkDocMatch *)g_ptr_array_index(d->matches, 0))->page);
  else
    gtk_widget_activate_action(GTK_WIDGET(self), "win.open-document", "s", d->id);
}

static void
hk_patient_page_dispose(GObject *object)
{
  HkPatientPage *self = HK_PATIENT_PAGE(object);

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  cancel_documents(self);
  g_clear_object(&self->client);
  stop_building(self);
  g_clear_handle_id(&self->drop_source, g_source_remove);
  g_clear_pointer(&self->old_lists, g_ptr_array_unref);
  g_clear_pointer(&self->docs, g_ptr_array_unref);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_PATIENT_PAGE);
  G_OBJECT_CLASS(hk_patient_page_parent_class)->dispose(object);
}

static void
hk_patient_page_finalize(GObject *object)
{
  HkPatientPage *self = HK_PATIENT_PAGE(object);

  g_free(self->patient_id);
  g_free(self->query);
  hk_patient_info_free(self->patient);
  g_hash_table_unref(self->selected);
  G_OBJECT_CLASS(hk_patient_page_parent_class)->finalize(object);
}

static void
hk_patient_page_class_init(HkPatientPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = hk_patient_page_dispose;
  G_OBJECT_CLASS(klass)->finalize = hk_patient_page_finalize;
  signals[SIGNAL_LOADED] = g_signal_new("loaded", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_FAILED] = g_signal_new("failed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_TIMELINE_COMPLETE] =
      g_signal_new("timeline-complete", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_template_from_resource(widget_class, "/org/hikae/viewer/hk-patient-page.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, box);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, header);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, id_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, name_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, kana_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, spinner);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, birth_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, sex_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, location_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, problems_button);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, problems_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, allergy_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, type_dropdown);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, from_entry);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, to_entry);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, text_entry);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, count_label);
  gtk_widget_class_bind_template_child(widget_class, HkPatientPage, timeline);
  gtk_widget_class_install_action(widget_class, "patient.filter", NULL, filter);
}

static void
hk_patient_page_init(HkPatientPage *self)
{
  g_autoptr(GtkStringList) types = gtk_string_list_new(NULL);

  gtk_widget_init_template(GTK_WIDGET(self));
  self->max_docs = HK_PATIENT_PAGE_MAX_DOCS;
  self->first_rows = FIRST_ROWS;
  self->batch_rows = BATCH_ROWS;
  self->old_lists = g_ptr_array_new_with_free_func(g_object_unref);
  self->selected = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  gtk_string_list_append(types, _("All types"));
  for (const char *const *t = hk_format_doc_types(); *t; t++)
    gtk_string_list_append(types, hk_format_doc_type(*t));
  gtk_drop_down_set_model(self->type_dropdown, G_LIST_MODEL(types));
  gtk_list_box_set_header_func(self->timeline, header_func, self, NULL);
  g_signal_connect(self->timeline, "row-activated", G_CALLBACK(row_activated), self);
  g_signal_connect_swapped(self->from_entry, "activate", G_CALLBACK(refilter), self);
  g_signal_connect_swapped(self->to_entry, "activate", G_CALLBACK(refilter), self);
  g_signal_connect_swapped(self->type_dropdown, "notify::selected", G_CALLBACK(refilter), self);
  g_signal_connect_swapped(self->text_entry, "search-changed", G_CALLBACK(text_changed), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Patient record"), -1);
}

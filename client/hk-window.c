#include "hk-window.h"

#include "hk-census-page.h"
#include "hk-text-search-page.h"
#include "hk-clock.h"
#include "hk-client-config.h"
#include "hk-document-view.h"
#include "hk-freshness-banner.h"
#include "hk-login-page.h"
#include "hk-patient-page.h"
#include "hk-print.h"
#include "hk-search-page.h"

#include <glib/gi18n-lib.h>

struct _HkWindow {
  GtkApplicationWindow parent_instance;

  /* Template widgets */
  GtkWidget *back_button;
  GtkWidget *search_button;
  GtkWidget *census_button;
  GtkWidget *text_search_button;
  GtkWidget *logout_button;
  GtkWidget *lock_button;
  GtkLabel *user_label;
  HkFreshnessBanner *banner;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  GtkStack *stack;
  HkLoginPage *login_page;
  HkSearchPage *search_page;
  HkPatientPage *patient_page;
  HkDocumentView *document_view;
  HkCensusPage *census_page;
  HkTextSearchPage *text_search_page;

  /* Owned */
  HkViewerSettings settings;
  char *server_url;
  char *ca_file;
  char *user;
  HkClient *client;
  GCancellable *print_cancel;
  HkPack *print_pack;
  char *print_export;
  gboolean print_with_cover;
  char *came_from; /* page the patient page was opened from */
  gint64 last_input_us;
  gint64 bench_patient_us;  /* HK_VIEWER_BENCH: when a patient was asked for */
  gint64 bench_document_us; /* ... and a document */
  guint idle_source;
};

G_DEFINE_FINAL_TYPE(HkWindow, hk_window, GTK_TYPE_APPLICATION_WINDOW)

static void
update_actions(HkWindow *self)
{
  const char *page = hk_window_get_page(self);
  gboolean in = self->client && hk_client_is_logged_in(self->client);
  gboolean printing = self->print_pack != NULL || self->print_cancel != NULL;
  gboolean text_search =
      in && g_strcmp0(hk_client_get_role(self->client), HK_ROLE_TEXT_SEARCH) == 0;

  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.back",
                                in && g_strcmp0(page, "search") != 0 &&
                                    g_strcmp0(page, "login") != 0);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.show-search", in);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.show-census", in);
  /* Only the role the server lets search across patients sees the page;
   * the server refuses the route to any other role all the same. */
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.show-text-search", in && text_search);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.open-patient-search", in);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.logout", in);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.lock", in);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.open-patient", in);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.open-document", in);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.open-document-at", in);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.print-document",
                                in && !printing && g_strcmp0(page, "document") == 0 &&
                                    hk_document_view_get_doc(self->document_view) != NULL);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.print-pack",
                                in && !printing && g_strcmp0(page, "patient") == 0);
  gtk_widget_set_visible(self->back_button, in);
  gtk_widget_set_visible(self->search_button, in);
  gtk_widget_set_visible(self->census_button, in);
  gtk_widget_set_visible(self->text_search_button, text_search);
  gtk_widget_set_visible(self->logout_button, in);
  gtk_widget_set_visible(self->lock_button, in);
  if (in) {
    g_autofree char *who = g_strdup_printf(_("User: %s"), hk_client_get_user(self->client));
    gtk_label_set_text(self->user_label, who);
  } else {
    gtk_label_set_text(self->user_label, "");
  }
}

static void
show_error(HkWindow *self, const char *message)
{
  gtk_label_set_text(self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child(self->error_revealer, message != NULL);
  gtk_widget_set_visible(GTK_WIDGET(self->error_revealer), message != NULL);
}

static void
show_page(HkWindow *self, const char *name)
{
  /* An error belongs to the page that raised it: one left over from a
   * document would read as if it were about the census or the search. */
  if (g_strcmp0(gtk_stack_get_visible_child_name(self->stack), name) != 0)
    show_error(self, NULL);
  gtk_stack_set_visible_child_name(self->stack, name);
  update_actions(self);
}

const char *
hk_window_get_error(HkWindow *self)
{
  return gtk_revealer_get_reveal_child(self->error_revealer) ? gtk_label_get_text(self->error_label)
                                                             : NULL;
}

void
hk_window_lock(HkWindow *self, const char *message)
{
  /* Patient data lives only in these widgets and the client: dropping them
   * is what leaves the laptop clean. */
  if (self->print_cancel) {
    /* A print in flight owns the pack until print_done(): its dialog may
     * be open in a nested main loop and, cancelled, draws nothing more. */
    g_cancellable_cancel(self->print_cancel);
  } else {
    g_clear_pointer(&self->print_pack, hk_pack_free);
  }
  g_clear_object(&self->print_cancel);
  hk_document_view_clear(self->document_view);
  hk_patient_page_clear(self->patient_page);
  hk_search_page_clear(self->search_page);
  hk_census_page_clear(self->census_page);
  hk_text_search_page_clear(self->text_search_page);
  hk_document_view_set_client(self->document_view, NULL);
  hk_patient_page_set_client(self->patient_page, NULL);
  hk_search_page_set_client(self->search_page, NULL);
  hk_census_page_set_client(self->census_page, NULL);
  hk_text_search_page_set_client(self->text_search_page, NULL);
  hk_freshness_banner_set_client(self->banner, NULL);
  if (self->client) {
    g_signal_handlers_disconnect_by_data(self->client, self);
    hk_client_logout(self->client);
    g_clear_object(&self->client);
  }
  show_error(self, NULL);
  hk_login_page_clear_secrets(self->login_page);
  hk_login_page_set_message(self->login_page, message, FALSE);
  show_page(self, "login");
  hk_login_page_focus(self->login_page);
}

static void
session_expired(HkClient *client, HkWindow *self)
{
  hk_window_lock(self, _("Your session has expired. Please log in again."));
}

static void
logged_in(HkLoginPage *page, HkClient *client, HkWindow *self)
{
  g_set_object(&self->client, client);
  g_signal_connect(client, "session-expired", G_CALLBACK(session_expired), self);
  hk_freshness_banner_set_client(self->banner, client);
  hk_search_page_set_client(self->search_page, client);
  hk_patient_page_set_client(self->patient_page, client);
  hk_document_view_set_client(self->document_view, client);
  hk_census_page_set_client(self->census_page, client);
  hk_text_search_page_set_client(self->text_search_page, client);
  self->last_input_us = hk_clock_now();
  show_page(self, "search");
  hk_search_page_focus(self->search_page);
}

static void
open_patient(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);
  const char *page = hk_window_get_page(self);

  if (g_strcmp0(page, "patient") != 0 && g_strcmp0(page, "document") != 0) {
    g_free(self->came_from);
    self->came_from = g_strdup(page);
  }
  hk_document_view_clear(self->document_view);
  show_error(self, NULL);
  self->bench_patient_us = g_get_monotonic_time();
  hk_patient_page_load(self->patient_page, g_variant_get_string(param, NULL));
  show_page(self, "patient");
}

/* HK_VIEWER_BENCH=1: the app's own monotonic timings, on stderr, for
 * bench/viewer: from the request to the end of painting the frame that
 * shows the result (the frame clock's after-paint). */
typedef struct {
  const char *what;
  gint64 start;
  gulong handler;
} HkBenchMark;

static void
bench_painted(GdkFrameClock *clock, gpointer user_data)
{
  HkBenchMark *m = user_data;

  g_printerr("hk-bench: %s %.1f ms\n", m->what, (g_get_monotonic_time() - m->start) / 1000.0);
  g_signal_handler_disconnect(clock, m->handler); /* frees m */
}

static void
bench_mark(HkWindow *self, const char *what, gint64 start)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock(GTK_WIDGET(self));
  HkBenchMark *m;

  if (!g_getenv("HK_VIEWER_BENCH") || !clock)
    return;
  m = g_new0(HkBenchMark, 1);
  m->what = what;
  m->start = start;
  m->handler = g_signal_connect_data(clock, "after-paint", G_CALLBACK(bench_painted), m,
                                     (GClosureNotify)(void (*)(void))g_free, 0);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
document_drawn(HkDocumentView *view, HkWindow *self)
{
  static const char *const kind_names[] = {"first-page-none", "first-page-pdf", "first-page-jpeg",
                                           "first-page-text"};
  HkDocumentKind kind = hk_document_view_get_kind(view);

  bench_mark(self, kind < G_N_ELEMENTS(kind_names) ? kind_names[kind] : "first-page",
             self->bench_document_us);
  update_actions(self);
}

static void
patient_loaded(HkPatientPage *page, HkWindow *self)
{
  bench_mark(self, "timeline", self->bench_patient_us);
  hk_search_page_add_recent(self->search_page, hk_patient_page_get_patient(page));
  update_actions(self);
}

/* HK_VIEWER_BENCH: a long timeline's last rows painted (the "timeline" mark
 * is its first frame). */
static void
patient_timeline_complete(HkPatientPage *page, HkWindow *self)
{
  bench_mark(self, "timeline-all", self->bench_patient_us);
}

static void
page_failed(GtkWidget *page, const char *message, HkWindow *self)
{
  show_error(self, message);
}

static void
open_document(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);
  const HkPatientInfo *p = hk_patient_page_get_patient(self->patient_page);

  if (!p)
    return;
  show_error(self, NULL);
  self->bench_document_us = g_get_monotonic_time();
  hk_document_view_load(self->document_view, p, g_variant_get_string(param, NULL), 0);
  show_page(self, "document");
}

/* A search hit: (document id, the words as the document writes them, the
 * first page that matched). */
static void
open_document_at(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);
  const HkPatientInfo *p = hk_patient_page_get_patient(self->patient_page);
  const char *id = NULL, *term = NULL;
  guint32 page = 1;

  if (!p)
    return;
  g_variant_get(param, "(&s&su)", &id, &term, &page);
  show_error(self, NULL);
  self->bench_document_us = g_get_monotonic_time();
  hk_document_view_load_at(self->document_view, p, id, 0, term, page);
  show_page(self, "document");
}

static void
go_back(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);
  const char *page = hk_window_get_page(self);

  if (g_strcmp0(page, "document") == 0) {
    hk_document_view_clear(self->document_view);
    show_page(self, "patient");
  } else if (g_strcmp0(page, "patient") == 0) {
    /* Back to the census or the search across patients it came from;
     * otherwise the patient search. */
    show_page(self, g_strcmp0(self->came_from, "census") == 0 ||
                            (g_strcmp0(self->came_from, "text-search") == 0 &&
                             gtk_widget_get_visible(self->text_search_button))
                        ? self->came_from
                        : "search");
    if (g_strcmp0(hk_window_get_page(self), "search") == 0)
      hk_search_page_focus(self->search_page);
  } else {
    show_page(self, "search");
    hk_search_page_focus(self->search_page);
  }
}

static void
show_search(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);

  show_page(self, "search");
  hk_search_page_focus(self->search_page);
}

static void
show_text_search(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);

  show_page(self, "text-search");
  hk_text_search_page_focus(self->text_search_page);
}

/* A hit of the search across patients: that patient, with the same words
 * in the patient page's search field, so its timeline shows the hits. */
static void
open_patient_search(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);
  const char *id = NULL, *words = NULL;

  g_variant_get(param, "(&s&s)", &id, &words);
  g_free(self->came_from);
  self->came_from = g_strdup("text-search");
  hk_document_view_clear(self->document_view);
  show_error(self, NULL);
  self->bench_patient_us = g_get_monotonic_time();
  hk_patient_page_load_search(self->patient_page, id, words);
  show_page(self, "patient");
}

static void
show_census(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);

  hk_census_page_refresh(self->census_page);
  show_page(self, "census");
}

static void
logout(GtkWidget *widget, const char *action, GVariant *param)
{
  hk_window_lock(HK_WINDOW(widget), _("Logged out. Patient data was cleared from this laptop's "
                                      "memory."));
}

static void
lock(GtkWidget *widget, const char *action, GVariant *param)
{
  hk_window_lock(HK_WINDOW(widget), _("Screen locked. Log in again to continue."));
}

static void
dismiss_error(GtkWidget *widget, const char *action, GVariant *param)
{
  show_error(HK_WINDOW(widget), NULL);
}

/* ---- printing ------------------------------------------------------- */

static void
print_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkWindow *self = user_data;
  g_autoptr(GError) e = NULL;

  if (!hk_print_run_finish(HK_CLIENT(source), result, &e) &&
      !g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_error(self, e->message);
  g_clear_pointer(&self->print_pack, hk_pack_free);
  g_clear_object(&self->print_cancel);
  update_actions(self);
  g_object_unref(self);
}

static void
pack_loaded(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkWindow *self = user_data;
  g_autoptr(GError) e = NULL;
  HkPack *pack = hk_print_load_pack_finish(HK_CLIENT(source), result, &e);

  if (!pack) {
    if (!g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      show_error(self, e->message);
    g_clear_object(&self->print_cancel);
    update_actions(self);
    g_object_unref(self);
    return;
  }
  self->print_pack = pack;
  hk_print_run_async(HK_CLIENT(source), pack, hk_patient_page_get_patient(self->patient_page)->id,
                     self->print_with_cover ? "transfer_pack" : "print", GTK_WINDOW(self),
                     self->print_export, self->print_cancel, print_done, self);
}

static void
start_print(HkWindow *self, char **ids, gboolean with_cover)
{
  const HkPatientInfo *p = hk_patient_page_get_patient(self->patient_page);

  if (!p || !self->client || !ids || !ids[0]) {
    show_error(self, _("Tick the documents to print first."));
    return;
  }
  show_error(self, NULL);
  self->print_cancel = g_cancellable_new();
  self->print_with_cover = with_cover;
  update_actions(self);
  hk_print_load_pack_async(self->client, p->id, (const char *const *)ids, with_cover,
                           self->print_cancel, pack_loaded, g_object_ref(self));
}

static void
print_document(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);
  const HkDocInfo *d = hk_document_view_get_doc(self->document_view);
  char *ids[] = {d ? d->id : NULL, NULL};

  start_print(self, ids, FALSE);
}

static void
print_pack(GtkWidget *widget, const char *action, GVariant *param)
{
  HkWindow *self = HK_WINDOW(widget);
  g_auto(GStrv) ids = hk_patient_page_dup_selected(self->patient_page);

  start_print(self, ids, TRUE);
}

void
hk_window_set_print_export(HkWindow *self, const char *pdf_path)
{
  g_free(self->print_export);
  self->print_export = g_strdup(pdf_path);
}

gboolean
hk_window_is_printing(HkWindow *self)
{
  return self->print_cancel != NULL;
}

/* ---- idle lock ------------------------------------------------------ */

static void
note_input(HkWindow *self)
{
  self->last_input_us = hk_clock_now();
}

static gboolean
key_input(GtkEventControllerKey *c, guint keyval, guint keycode, GdkModifierType state,
          HkWindow *self)
{
  note_input(self);
  return FALSE;
}

static void
pointer_input(GtkEventController *c, double x, double y, HkWindow *self)
{
  note_input(self);
}

void
hk_window_check_idle(HkWindow *self)
{
  gint64 limit = (gint64)self->settings.idle_lock_minutes * 60 * G_USEC_PER_SEC;

  if (limit > 0 && self->client && hk_client_is_logged_in(self->client) &&
      hk_clock_now() - self->last_input_us > limit) {
    g_autofree char *msg = g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE,
                    "Locked after %d minute without use. Log in again to continue.",
                    "Locked after %d minutes without use. Log in again to continue.",
                    (gulong)self->settings.idle_lock_minutes),
        self->settings.idle_lock_minutes);
    hk_window_lock(self, msg);
  }
}

static gboolean
idle_check(gpointer data)
{
  hk_window_check_idle(data);
  return G_SOURCE_CONTINUE;
}

/* ---- life cycle ----------------------------------------------------- */

static void
hk_window_dispose(GObject *object)
{
  HkWindow *self = HK_WINDOW(object);

  g_clear_handle_id(&self->idle_source, g_source_remove);
  if (self->client) {
    g_signal_handlers_disconnect_by_data(self->client, self);
    hk_client_logout(self->client);
    g_clear_object(&self->client);
  }
  if (self->print_cancel)
    g_cancellable_cancel(self->print_cancel);
  g_clear_object(&self->print_cancel);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_WINDOW);
  G_OBJECT_CLASS(hk_window_parent_class)->dispose(object);
}

static void
hk_window_finalize(GObject *object)
{
  HkWindow *self = HK_WINDOW(object);

  g_clear_pointer(&self->print_pack, hk_pack_free);
  g_free(self->server_url);
  g_free(self->ca_file);
  g_free(self->user);
  g_free(self->print_export);
  g_free(self->came_from);
  G_OBJECT_CLASS(hk_window_parent_class)->finalize(object);
}

static void
hk_window_class_init(HkWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = hk_window_dispose;
  object_class->finalize = hk_window_finalize;

  g_type_ensure(HK_TYPE_FRESHNESS_BANNER);
  g_type_ensure(HK_TYPE_LOGIN_PAGE);
  g_type_ensure(HK_TYPE_SEARCH_PAGE);
  g_type_ensure(HK_TYPE_PATIENT_PAGE);
  g_type_ensure(HK_TYPE_DOCUMENT_VIEW);
  g_type_ensure(HK_TYPE_CENSUS_PAGE);
  g_type_ensure(HK_TYPE_TEXT_SEARCH_PAGE);

  gtk_widget_class_set_template_from_resource(widget_class, "/org/hikae/viewer/hk-window.ui");
  gtk_widget_class_bind_template_child(widget_class, HkWindow, back_button);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, search_button);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, census_button);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, text_search_button);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, logout_button);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, lock_button);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, user_label);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, banner);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, error_revealer);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, error_label);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, stack);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, login_page);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, search_page);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, patient_page);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, document_view);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, census_page);
  gtk_widget_class_bind_template_child(widget_class, HkWindow, text_search_page);

  gtk_widget_class_install_action(widget_class, "win.open-patient", "s", open_patient);
  gtk_widget_class_install_action(widget_class, "win.open-document", "s", open_document);
  gtk_widget_class_install_action(widget_class, "win.open-document-at", "(ssu)", open_document_at);
  gtk_widget_class_install_action(widget_class, "win.back", NULL, go_back);
  gtk_widget_class_install_action(widget_class, "win.show-search", NULL, show_search);
  gtk_widget_class_install_action(widget_class, "win.show-census", NULL, show_census);
  gtk_widget_class_install_action(widget_class, "win.show-text-search", NULL, show_text_search);
  gtk_widget_class_install_action(widget_class, "win.open-patient-search", "(ss)",
                                  open_patient_search);
  gtk_widget_class_install_action(widget_class, "win.logout", NULL, logout);
  gtk_widget_class_install_action(widget_class, "win.lock", NULL, lock);
  gtk_widget_class_install_action(widget_class, "win.dismiss-error", NULL, dismiss_error);
  gtk_widget_class_install_action(widget_class, "win.print-document", NULL, print_document);
  gtk_widget_class_install_action(widget_class, "win.print-pack", NULL, print_pack);

  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.back", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.show-search",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_l, GDK_CONTROL_MASK, "win.lock", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_p, GDK_CONTROL_MASK,
                                      "win.print-document", NULL);
}

static void
hk_window_init(HkWindow *self)
{
  GtkEventController *keys = gtk_event_controller_key_new();
  GtkEventController *motion = gtk_event_controller_motion_new();

  gtk_widget_init_template(GTK_WIDGET(self));
  gtk_event_controller_set_propagation_phase(keys, GTK_PHASE_CAPTURE);
  g_signal_connect(keys, "key-pressed", G_CALLBACK(key_input), self);
  g_signal_connect(motion, "motion", G_CALLBACK(pointer_input), self);
  gtk_widget_add_controller(GTK_WIDGET(self), keys);
  gtk_widget_add_controller(GTK_WIDGET(self), motion);
  g_signal_connect(self->login_page, "logged-in", G_CALLBACK(logged_in), self);
  g_signal_connect(self->patient_page, "loaded", G_CALLBACK(patient_loaded), self);
  g_signal_connect(self->patient_page, "timeline-complete", G_CALLBACK(patient_timeline_complete),
                   self);
  g_signal_connect(self->patient_page, "failed", G_CALLBACK(page_failed), self);
  g_signal_connect(self->document_view, "failed", G_CALLBACK(page_failed), self);
  g_signal_connect(self->census_page, "failed", G_CALLBACK(page_failed), self);
  g_signal_connect(self->document_view, "first-page-drawn", G_CALLBACK(document_drawn), self);
  show_error(self, NULL);
  self->idle_source = g_timeout_add_seconds(10, idle_check, self);
  update_actions(self);
}

HkWindow *
hk_window_new_with_settings(GtkApplication *app, const HkViewerSettings *settings)
{
  HkWindow *self = g_object_new(HK_TYPE_WINDOW, "application", app, NULL);

  self->server_url = g_strdup(settings->server_url);
  self->ca_file = g_strdup(settings->ca_file);
  self->user = g_strdup(settings->user);
  self->settings = *settings;
  self->settings.server_url = self->server_url;
  self->settings.ca_file = self->ca_file;
  self->settings.user = self->user;
  hk_freshness_banner_set_threshold(self->banner, settings->stale_minutes);
  hk_login_page_set_defaults(self->login_page, self->server_url, self->ca_file, self->user);
  hk_login_page_focus(self->login_page);
  return self;
}

HkWindow *
hk_window_new(HkApplication *app)
{
  return hk_window_new_with_settings(GTK_APPLICATION(app), hk_application_get_settings(app));
}

HkClient *
hk_window_get_client(HkWindow *self)
{
  return self->client;
}

const char *
hk_window_get_page(HkWindow *self)
{
  return gtk_stack_get_visible_child_name(self->stack);
}

GtkWidget *
hk_window_get_page_widget(HkWindow *self, const char *name)
{
  return gtk_stack_get_child_by_name(self->stack, name);
}

GtkWidget *
hk_window_get_banner(HkWindow *self)
{
  return GTK_WIDGET(self->banner);
}

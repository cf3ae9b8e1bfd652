/* hk-bench-viewer: drives the real hikae-viewer window (in-process, under
 * Xvfb) through the steps that bench/viewer times: Enter on a search result
 * until the timeline is drawn (its first frame, "timeline", and the frame
 * with its last rows, "timeline-all"), and a click on a document until its
 * first page is drawn. The timings themselves are the app's own
 * (HK_VIEWER_BENCH=1 makes hk-window print "hk-bench: <what> <ms> ms" after
 * the frame that shows the result is painted); this program only presses
 * the buttons, the same number of times for each measure.
 *
 * Environment: HK_BENCH_SERVER, HK_BENCH_CA, HK_BENCH_USER,
 * HK_BENCH_PASSWORD_FILE, HK_BENCH_QUERY (what is typed), HK_BENCH_PATIENT,
 * HK_BENCH_DOCS (comma-separated document IDs to open in turn),
 * HK_BENCH_RUNS (default 7). */
#include "hk-application.h"
#include "hk-document-view.h"
#include "hk-login-page.h"
#include "hk-patient-page.h"
#include "hk-search-page.h"
#include "hk-window.h"

#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>

typedef gboolean (*Cond)(gpointer data);

/* Run the main loop until cond holds or timeout_ms passes. */
static gboolean
wait_for(Cond cond, gpointer data, int timeout_ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

  while (!cond(data) && g_get_monotonic_time() < end) {
    if (!g_main_context_iteration(NULL, FALSE))
      g_usleep(1000);
  }
  return cond(data);
}

static gboolean
never(gpointer data)
{
  return FALSE;
}

typedef struct {
  HkWindow *win;
  const char *page;
} PageWait;

static gboolean
on_page(gpointer data)
{
  PageWait *w = data;

  return g_strcmp0(hk_window_get_page(w->win), w->page) == 0;
}

static gboolean
search_done(gpointer data)
{
  return hk_search_page_get_n_results(data) >= 0;
}

static gboolean
patient_loaded(gpointer data)
{
  return hk_patient_page_is_loaded(data);
}

static gboolean
timeline_complete(gpointer data)
{
  return hk_patient_page_is_timeline_complete(data);
}

static gboolean
doc_shown(gpointer data)
{
  return hk_document_view_get_n_rendered(data) > 0;
}

int
main(int argc, char **argv)
{
  const char *server = g_getenv("HK_BENCH_SERVER");
  const char *ca = g_getenv("HK_BENCH_CA");
  const char *user = g_getenv("HK_BENCH_USER");
  const char *pwfile = g_getenv("HK_BENCH_PASSWORD_FILE");
  const char *query = g_getenv("HK_BENCH_QUERY");
  const char *patient_id = g_getenv("HK_BENCH_PATIENT");
  const char *doc_list = g_getenv("HK_BENCH_DOCS");
  int runs = g_getenv("HK_BENCH_RUNS") ? atoi(g_getenv("HK_BENCH_RUNS")) : 7;
  g_autofree char *password = NULL;
  g_auto(GStrv) docs = NULL;
  HkViewerSettings s = {0};
  HkWindow *win;
  HkSearchPage *sp;
  HkPatientPage *pp;
  HkDocumentView *dv;
  PageWait pw;
  int status = 1;

  if (!server || !ca || !user || !pwfile || !query || !patient_id || !doc_list) {
    fprintf(stderr, "hk-bench-viewer: run through bench/viewer\n");
    return 2;
  }
  if (!g_file_get_contents(pwfile, &password, NULL, NULL))
    return 2;
  g_strchomp(password);
  docs = g_strsplit(doc_list, ",", -1);
  runs = CLAMP(runs, 1, 100);
  hk_application_init_i18n();
  hk_application_init_resources();
  gtk_init();

  s.server_url = server;
  s.ca_file = ca;
  s.user = user;
  s.idle_lock_minutes = 60;
  s.stale_minutes = 60;
  win = hk_window_new_with_settings(NULL, &s);
  gtk_window_set_default_size(GTK_WINDOW(win), 1280, 800);
  gtk_window_present(GTK_WINDOW(win));
  sp = HK_SEARCH_PAGE(hk_window_get_page_widget(win, "search"));
  pp = HK_PATIENT_PAGE(hk_window_get_page_widget(win, "patient"));
  dv = HK_DOCUMENT_VIEW(hk_window_get_page_widget(win, "document"));
  pw.win = win;

  hk_login_page_submit(HK_LOGIN_PAGE(hk_window_get_page_widget(win, "login")), server, user,
                       password, NULL);
  pw.page = "search";
  if (!wait_for(on_page, &pw, 20000)) {
    fprintf(stderr, "hk-bench-viewer: login failed\n");
    goto out;
  }
  hk_search_page_set_query(sp, query);
  if (!wait_for(search_done, sp, 20000)) {
    fprintf(stderr, "hk-bench-viewer: search did not finish\n");
    goto out;
  }

  for (int r = 0; r < runs; r++) {
    int hit = -1;

    for (int i = 0; i < hk_search_page_get_n_results(sp); i++)
      if (g_strcmp0(hk_search_page_get_result_id(sp, i), patient_id) == 0)
        hit = i;
    if (hit < 0) {
      fprintf(stderr, "hk-bench-viewer: %s not among the results for %s\n", patient_id, query);
      goto out;
    }
    /* What Enter on the selected result does. */
    hk_search_page_activate_result(sp, hit);
    if (!wait_for(patient_loaded, pp, 20000)) {
      fprintf(stderr, "hk-bench-viewer: patient did not load: %s\n", hk_window_get_error(win));
      goto out;
    }
    /* A long timeline's last rows come after its first frame (the
     * "timeline" line): every run builds all of them, as a clinician who
     * stays on the page would, and the next run starts from a full list. */
    if (!wait_for(timeline_complete, pp, 60000)) {
      fprintf(stderr, "hk-bench-viewer: the timeline was not completed\n");
      goto out;
    }
    wait_for(never, NULL, 300); /* the frame and its hk-bench lines */
    for (int d = 0; docs[d]; d++) {
      gtk_widget_activate_action(GTK_WIDGET(pp), "win.open-document", "s", docs[d]);
      if (!wait_for(doc_shown, dv, 20000)) {
        fprintf(stderr, "hk-bench-viewer: %s not drawn: %s\n", docs[d], hk_window_get_error(win));
        goto out;
      }
      wait_for(never, NULL, 300);
      gtk_widget_activate_action(GTK_WIDGET(win), "win.back", NULL);
    }
    gtk_widget_activate_action(GTK_WIDGET(win), "win.back", NULL);
    wait_for(never, NULL, 100);
  }
  status = 0;

out:
  gtk_window_destroy(GTK_WINDOW(win));
  wait_for(never, NULL, 100);
  return status;
}

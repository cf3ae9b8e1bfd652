/* The viewer's real widgets, in-process under Xvfb, against a real
 * hikae-server on loopback (run-viewer-gui.sh sets it up):
 * a certificate from another CA is refused; log in; search by hiragana;
 * open the patient and check the allergy banner and the ward; open a PDF
 * and a JPEG; print a three-document transfer pack through
 * GtkPrintOperation (export to PDF) and check every page with poppler;
 * census; lock clears the pages. Screenshots of each screen are saved as
 * HK_SCREENSHOT_DIR/<screen>-<lang>.png. */
#include "hk-application.h"
#include "hk-census-page.h"
#include "hk-document-view.h"
#include "hk-freshness-banner.h"
#include "hk-login-page.h"
#include "hk-patient-page.h"
#include "hk-search-page.h"
#include "hk-window.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <poppler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                          \
      fprintf(stderr, __VA_ARGS__);                                                            \
      fprintf(stderr, "\n");                                                                   \
      failures++;                                                                              \
    }                                                                                          \
  } while (0)

typedef gboolean (*Cond)(gpointer data);

/* Run the main loop until cond holds or timeout_ms passes. */
static gboolean
wait_for(Cond cond, gpointer data, int timeout_ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

  while (!cond(data) && g_get_monotonic_time() < end) {
    if (!g_main_context_iteration(NULL, FALSE))
      g_usleep(2000);
  }
  return cond(data);
}

static gboolean
always_false(gpointer data)
{
  return FALSE;
}

/* Let the window settle: layout, frames, pending idles. */
static void
settle(int ms)
{
  wait_for(always_false, NULL, ms);
}

static void
screenshot(GtkWidget *win, const char *name)
{
  const char *dir = g_getenv("HK_SCREENSHOT_DIR");
  const char *lang = g_getenv("HK_TEST_LANG");
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snap = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) tex = NULL;
  int w, h;

  if (!dir)
    return;
  g_mkdir_with_parents(dir, 0755);
  settle(400);
  w = gtk_widget_get_width(win);
  h = gtk_widget_get_height(win);
  paintable = gtk_widget_paintable_new(win);
  snap = gtk_snapshot_new();
  gdk_paintable_snapshot(paintable, GDK_SNAPSHOT(snap), w, h);
  node = gtk_snapshot_free_to_node(g_steal_pointer(&snap));
  if (!node)
    return;
  tex = gsk_renderer_render_texture(gtk_native_get_renderer(GTK_NATIVE(win)), node,
                                    &GRAPHENE_RECT_INIT(0, 0, w, h));
  file = g_strdup_printf("%s-%s.png", name, lang ? lang : "en");
  path = g_build_filename(dir, file, NULL);
  CHECK(gdk_texture_save_to_png(tex, path), "cannot save %s", path);
  printf("screenshot: %s\n", path);
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
login_has_message(gpointer data)
{
  HkLoginPage *lp = data;
  const char *m = hk_login_page_get_message(lp);

  return m && !g_str_has_suffix(m, "…");
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
doc_shown(gpointer data)
{
  return hk_document_view_get_n_rendered(data) > 0;
}

static gboolean
not_printing(gpointer data)
{
  return !hk_window_is_printing(data);
}

static gboolean
census_done(gpointer data)
{
  return hk_census_page_get_n_rows(data) >= 0;
}

static gboolean
banner_known(gpointer data)
{
  return hk_freshness_banner_get_status(data) != NULL;
}

/* Katakana to hiragana: staff type hiragana; the archive stores katakana. */
static char *
to_hiragana(const char *kana)
{
  GString *s = g_string_new(NULL);

  for (const char *p = kana; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (c == ' ' || c == 0x3000)
      break; /* the family name is enough */
    if (c >= 0x30A1 && c <= 0x30F6)
      c -= 0x60;
    g_string_append_unichar(s, c);
  }
  return g_string_free(s, FALSE);
}

static const HkDocInfo *
find_doc(GPtrArray *docs, const char *content_type)
{
  for (guint i = 0; docs && i < docs->len; i++) {
    const HkDocInfo *d = g_ptr_array_index(docs, i);
    if (g_strcmp0(d->content_type, content_type) == 0)
      return d;
  }
  return NULL;
}

static int
check_pdf(const char *path, const char *patient_id)
{
  g_autofree char *uri = g_filename_to_uri(path, NULL, NULL);
  PopplerDocument *doc = poppler_document_new_from_file(uri, NULL, NULL);
  int n;

  CHECK(doc != NULL, "printed pack %s does not open", path);
  if (!doc)
    return 0;
  n = poppler_document_get_n_pages(doc);
  for (int i = 0; i < n; i++) {
    PopplerPage *page = poppler_document_get_page(doc, i);
    g_autofree char *t = poppler_page_get_text(page);
    CHECK(strstr(t, "DOWNTIME COPY — hikae read-only archive") != NULL, "page %d: no stamp",
          i + 1);
    CHECK(strstr(t, patient_id) != NULL, "page %d: no patient ID", i + 1);
    g_object_unref(page);
  }
  g_object_unref(doc);
  return n;
}

int
main(int argc, char **argv)
{
  const char *server = g_getenv("HK_TEST_SERVER");
  const char *ca = g_getenv("HK_TEST_CA");
  const char *other_ca = g_getenv("HK_TEST_OTHER_CA");
  const char *user = g_getenv("HK_TEST_USER");
  const char *pwfile = g_getenv("HK_TEST_PASSWORD_FILE");
  const char *patient_id = g_getenv("HK_TEST_PATIENT");
  const char *kana = g_getenv("HK_TEST_KANA");
  const char *out = g_getenv("HK_TEST_OUT");
  g_autofree char *password = NULL;
  g_autofree char *hira = NULL;
  g_autofree char *pack_path = NULL;
  HkViewerSettings s = { 0 };
  HkWindow *win;
  HkLoginPage *lp;
  HkSearchPage *sp;
  HkPatientPage *pp;
  HkDocumentView *dv;
  HkCensusPage *cp;
  GtkWidget *banner;
  PageWait pw;
  gboolean found = FALSE;
  const HkDocInfo *pdf, *jpeg;
  GPtrArray *docs;

  if (!server || !ca || !user || !pwfile || !patient_id || !kana || !out) {
    fprintf(stderr, "skip: run through run-viewer-gui.sh\n");
    return 77;
  }
  if (!g_file_get_contents(pwfile, &password, NULL, NULL))
    return 1;
  g_strchomp(password);
  hk_application_init_i18n();
  hk_application_init_resources();
  gtk_init();
  {
    g_autoptr(GtkCssProvider) css = gtk_css_provider_new();
    gtk_css_provider_load_from_resource(css, "/org/hikae/viewer/style.css");
    gtk_style_context_add_provider_for_display(gdk_display_get_default(),
                                               GTK_STYLE_PROVIDER(css),
                                               GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }

  /* A certificate from a CA the viewer was not given: refused, plainly. */
  s.server_url = server;
  s.ca_file = other_ca;
  s.user = user;
  s.idle_lock_minutes = 10;
  s.stale_minutes = 60;
  win = hk_window_new_with_settings(NULL, &s);
  gtk_window_set_default_size(GTK_WINDOW(win), 1280, 800);
  gtk_window_present(GTK_WINDOW(win));
  lp = HK_LOGIN_PAGE(hk_window_get_page_widget(win, "login"));
  hk_login_page_submit(lp, server, user, password, NULL);
  CHECK(wait_for(login_has_message, lp, 15000), "no answer to a login with the wrong CA");
  CHECK(g_strcmp0(hk_window_get_page(win), "login") == 0, "logged in through a foreign CA");
  CHECK(hk_login_page_get_message(lp) &&
            (strstr(hk_login_page_get_message(lp), "certificate") ||
             strstr(hk_login_page_get_message(lp), "証明書")),
        "certificate error not said plainly: %s", hk_login_page_get_message(lp));
  screenshot(GTK_WIDGET(win), "login-bad-certificate");
  gtk_window_destroy(GTK_WINDOW(win));

  s.ca_file = ca;
  win = hk_window_new_with_settings(NULL, &s);
  gtk_window_set_default_size(GTK_WINDOW(win), 1280, 800);
  gtk_window_present(GTK_WINDOW(win));
  lp = HK_LOGIN_PAGE(hk_window_get_page_widget(win, "login"));
  sp = HK_SEARCH_PAGE(hk_window_get_page_widget(win, "search"));
  pp = HK_PATIENT_PAGE(hk_window_get_page_widget(win, "patient"));
  dv = HK_DOCUMENT_VIEW(hk_window_get_page_widget(win, "document"));
  cp = HK_CENSUS_PAGE(hk_window_get_page_widget(win, "census"));
  banner = hk_window_get_banner(win);
  screenshot(GTK_WIDGET(win), "login");

  /* Wrong password: stays on login, says so. */
  hk_login_page_submit(lp, server, user, "not the password at all", NULL);
  CHECK(wait_for(login_has_message, lp, 15000), "no answer to a wrong password");
  CHECK(g_strcmp0(hk_window_get_page(win), "login") == 0, "logged in with a wrong password");

  /* Log in. */
  hk_login_page_submit(lp, server, user, password, NULL);
  pw.win = win;
  pw.page = "search";
  CHECK(wait_for(on_page, &pw, 15000), "login did not reach the search page: %s",
        hk_login_page_get_message(lp));
  CHECK(wait_for(banner_known, banner, 10000), "freshness banner has no status");
  CHECK(strstr(hk_freshness_banner_get_text(HK_FRESHNESS_BANNER(banner)), ":") != NULL,
        "banner text: %s", hk_freshness_banner_get_text(HK_FRESHNESS_BANNER(banner)));

  /* Search by hiragana. */
  hira = to_hiragana(kana);
  hk_search_page_set_query(sp, hira);
  CHECK(wait_for(search_done, sp, 15000), "search did not finish");
  for (int i = 0; i < hk_search_page_get_n_results(sp); i++)
    if (g_strcmp0(hk_search_page_get_result_id(sp, i), patient_id) == 0) {
      found = TRUE;
      screenshot(GTK_WIDGET(win), "search");
      hk_search_page_activate_result(sp, i);
      break;
    }
  CHECK(found, "hiragana %s did not find patient %s (%d results)", hira, patient_id,
        hk_search_page_get_n_results(sp));
  if (!found)
    goto out;

  /* The patient: banner, ward, timeline. */
  pw.page = "patient";
  CHECK(wait_for(on_page, &pw, 5000), "not on the patient page");
  CHECK(wait_for(patient_loaded, pp, 15000), "patient did not load: %s",
        hk_window_get_error(win));
  CHECK(g_strcmp0(hk_patient_page_get_patient(pp)->id, patient_id) == 0, "wrong patient");
  if (hk_patient_page_has_allergies(pp))
    CHECK(strstr(hk_patient_page_get_allergy_text(pp), "ALLERG") ||
              strstr(hk_patient_page_get_allergy_text(pp), "アレルギー"),
          "allergy banner: %s", hk_patient_page_get_allergy_text(pp));
  else
    CHECK(strstr(hk_patient_page_get_allergy_text(pp), "No allergies recorded in archive") ||
              strstr(hk_patient_page_get_allergy_text(pp), "アレルギーの記録はありません"),
          "no-allergy banner: %s", hk_patient_page_get_allergy_text(pp));
  CHECK(*hk_patient_page_get_location_text(pp), "no ward line");
  if (hk_patient_page_get_patient(pp)->admitted)
    CHECK(strstr(hk_patient_page_get_location_text(pp),
                 hk_patient_page_get_patient(pp)->ward) != NULL,
          "ward not shown: %s", hk_patient_page_get_location_text(pp));
  printf("patient %s: %s | %s\n", patient_id, hk_patient_page_get_allergy_text(pp),
         hk_patient_page_get_location_text(pp));
  screenshot(GTK_WIDGET(win), "patient");

  docs = hk_patient_page_get_documents(pp);
  pdf = find_doc(docs, "application/pdf");
  jpeg = find_doc(docs, "image/jpeg");
  CHECK(pdf && jpeg, "patient has no PDF or no JPEG in the timeline");
  if (!pdf || !jpeg)
    goto out;

  /* A PDF. */
  gtk_widget_activate_action(GTK_WIDGET(pp), "win.open-document", "s", pdf->id);
  CHECK(wait_for(doc_shown, dv, 15000), "PDF first page not drawn: %s",
        hk_window_get_error(win));
  CHECK(hk_document_view_get_kind(dv) == HK_DOCUMENT_KIND_PDF, "not shown as a PDF");
  screenshot(GTK_WIDGET(win), "document-pdf");
  gtk_widget_activate_action(GTK_WIDGET(win), "win.back", NULL);

  /* A JPEG scan, rotated once. */
  gtk_widget_activate_action(GTK_WIDGET(pp), "win.open-document", "s", jpeg->id);
  CHECK(wait_for(doc_shown, dv, 15000), "JPEG not drawn: %s", hk_window_get_error(win));
  CHECK(hk_document_view_get_kind(dv) == HK_DOCUMENT_KIND_JPEG, "not shown as a JPEG");
  gtk_widget_activate_action(GTK_WIDGET(dv), "doc.rotate", NULL);
  screenshot(GTK_WIDGET(win), "document-jpeg");
  gtk_widget_activate_action(GTK_WIDGET(win), "win.back", NULL);
  pw.page = "patient";
  CHECK(on_page(&pw), "back did not return to the patient");

  /* A three-document transfer pack through GtkPrintOperation. */
  for (guint i = 0; i < docs->len && i < 3; i++)
    hk_patient_page_set_selected(pp, ((HkDocInfo *)g_ptr_array_index(docs, i))->id, TRUE);
  pack_path = g_build_filename(out, g_strdup_printf("printed-%s.pdf", g_getenv("HK_TEST_LANG")),
                               NULL);
  hk_window_set_print_export(win, pack_path);
  gtk_widget_activate_action(GTK_WIDGET(win), "win.print-pack", NULL);
  CHECK(wait_for(not_printing, win, 60000), "printing did not finish");
  CHECK(hk_window_get_error(win) == NULL, "print error: %s", hk_window_get_error(win));
  CHECK(g_file_test(pack_path, G_FILE_TEST_EXISTS), "no printed pack at %s", pack_path);
  if (g_file_test(pack_path, G_FILE_TEST_EXISTS)) {
    int n = check_pdf(pack_path, patient_id);
    CHECK(n >= 4, "printed pack has %d pages (cover + 3 documents expected)", n);
    printf("printed pack: %d pages\n", n);
  }

  /* Census. */
  gtk_widget_activate_action(GTK_WIDGET(win), "win.show-census", NULL);
  CHECK(wait_for(census_done, cp, 15000), "census did not load");
  printf("census: %d inpatients\n", hk_census_page_get_n_rows(cp));
  screenshot(GTK_WIDGET(win), "census");

  /* Lock: back to login, nothing of the patient left in the pages. */
  gtk_widget_activate_action(GTK_WIDGET(win), "win.lock", NULL);
  pw.page = "login";
  CHECK(on_page(&pw), "lock did not show the login page");
  CHECK(hk_patient_page_get_patient(pp) == NULL, "patient still in memory after lock");
  CHECK(hk_document_view_get_doc(dv) == NULL, "document still in memory after lock");
  CHECK(hk_window_get_client(win) == NULL, "session still open after lock");
  screenshot(GTK_WIDGET(win), "locked");

out:
  gtk_window_destroy(GTK_WINDOW(win));
  settle(200);
  printf("%s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}

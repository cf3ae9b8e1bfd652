/* hk-pdf-check PDF PATIENT_ID [MIN_PAGES]: check an exported pack with
 * poppler: it opens, has at least MIN_PAGES pages, and every page carries
 * the stamp of interfaces.md ("Printed pages") with the patient's ID.
 * Prints the page count; exits 0 if every page passed, 1 otherwise. */
#include <glib.h>
#include <poppler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
  g_autoptr(GError) e = NULL;
  g_autofree char *uri = NULL;
  PopplerDocument *doc = NULL;
  int n, bad = 0, min_pages;

  if (argc < 3) {
    fprintf(stderr, "usage: hk-pdf-check PDF PATIENT_ID [MIN_PAGES]\n");
    return 2;
  }
  min_pages = argc > 3 ? atoi(argv[3]) : 1;
  {
    g_autofree char *abs = g_canonicalize_filename(argv[1], NULL);
    uri = g_filename_to_uri(abs, NULL, &e);
  }
  doc = uri ? poppler_document_new_from_file(uri, NULL, &e) : NULL;
  if (!doc) {
    fprintf(stderr, "hk-pdf-check: %s: %s\n", argv[1], e->message);
    return 1;
  }
  n = poppler_document_get_n_pages(doc);
  for (int i = 0; i < n; i++) {
    PopplerPage *page = poppler_document_get_page(doc, i);
    g_autofree char *t = poppler_page_get_text(page);
    g_autofree char *pn = g_strdup_printf("%d of %d", i + 1, n);
    g_autofree char *pn_ja = g_strdup_printf("%d / %d", i + 1, n);
    const char *missing = NULL;
    if (!strstr(t, "DOWNTIME COPY — hikae read-only archive"))
      missing = "the DOWNTIME COPY words";
    else if (!strstr(t, argv[2]))
      missing = "the patient ID";
    else if (!strstr(t, "SHA-256") && i > 0)
      missing = "the SHA-256 prefix";
    else if (!strstr(t, pn) && !strstr(t, pn_ja))
      missing = "the page number";
    if (missing) {
      fprintf(stderr, "hk-pdf-check: page %d lacks %s\n", i + 1, missing);
      bad++;
    }
    g_object_unref(page);
  }
  g_object_unref(doc);
  printf("%d\n", n);
  if (n < min_pages) {
    fprintf(stderr, "hk-pdf-check: %d pages, expected at least %d\n", n, min_pages);
    bad++;
  }
  return bad ? 1 : 0;
}

/* hk-pdf-check PDF PATIENT_ID [MIN_PAGES [SHA256...]]: check an exported
 * pack with poppler: it opens, has at least MIN_PAGES pages, and every page
 * carries the stamp of interfaces.md ("Printed pages") with the patient's
 * ID. Given the SHA-256 of the exported versions, every page but the cover
 * must print "SHA-256 " and the 12-character prefix of one of them, and
 * each of them must be printed somewhere: the word "SHA-256" alone would
 * pass a stamp that prints the wrong hash or none.
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
  int n, bad = 0, min_pages, n_sha = argc > 4 ? argc - 4 : 0;
  char **stamps = g_new0(char *, (gsize)n_sha + 1);
  gboolean *seen = g_new0(gboolean, (gsize)n_sha + 1);

  if (argc < 3) {
    fprintf(stderr, "usage: hk-pdf-check PDF PATIENT_ID [MIN_PAGES [SHA256...]]\n");
    return 2;
  }
  min_pages = argc > 3 ? atoi(argv[3]) : 1;
  for (int k = 0; k < n_sha; k++) {
    if (strlen(argv[4 + k]) != 64) {
      fprintf(stderr, "hk-pdf-check: %s is not a SHA-256 in hex\n", argv[4 + k]);
      return 2;
    }
    stamps[k] = g_strdup_printf("SHA-256 %.12s", argv[4 + k]);
  }
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
    else if (n_sha > 0 && i > 0) {
      gboolean any = FALSE;
      for (int k = 0; k < n_sha; k++)
        if (strstr(t, stamps[k]))
          any = seen[k] = TRUE;
      if (!any)
        missing = "the SHA-256 prefix of an exported version";
    }
    else if (!strstr(t, pn) && !strstr(t, pn_ja))
      missing = "the page number";
    if (missing) {
      fprintf(stderr, "hk-pdf-check: page %d lacks %s\n", i + 1, missing);
      bad++;
    }
    g_object_unref(page);
  }
  g_object_unref(doc);
  for (int k = 0; k < n_sha; k++)
    if (!seen[k]) {
      fprintf(stderr, "hk-pdf-check: no page prints %s\n", stamps[k]);
      bad++;
    }
  g_strfreev(stamps);
  g_free(seen);
  printf("%d\n", n);
  if (n < min_pages) {
    fprintf(stderr, "hk-pdf-check: %d pages, expected at least %d\n", n, min_pages);
    bad++;
  }
  return bad ? 1 : 0;
}

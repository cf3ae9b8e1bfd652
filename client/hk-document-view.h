/* hk-document-view.h: one document: PDF pages (poppler), JPEG scans
 * (libjpeg-turbo) or text, loaded and rendered off the main loop. Older
 * versions and withdrawn documents are marked in a band above the
 * content. */
#pragma once

#include "hk-api.h"
#include "hk-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_DOCUMENT_VIEW (hk_document_view_get_type())
G_DECLARE_FINAL_TYPE(HkDocumentView, hk_document_view, HK, DOCUMENT_VIEW, GtkWidget)

typedef enum {
  HK_DOCUMENT_KIND_NONE,
  HK_DOCUMENT_KIND_PDF,
  HK_DOCUMENT_KIND_JPEG,
  HK_DOCUMENT_KIND_TEXT,
} HkDocumentKind;

void hk_document_view_set_client(HkDocumentView *self, HkClient *client);
/* Show version (0 = current) of doc_id for patient (copied). Emits
 * "first-page-drawn" once the first page (or the image, or the text) is on
 * screen, or "failed" (const char *message). */
void hk_document_view_load(HkDocumentView *self, const HkPatientInfo *patient, const char *doc_id,
                           guint version);
/* The same, opened from a search hit: words (as the document writes them)
 * marked on the PDF's pages, and the view scrolled to the first page from
 * page (1-based) that holds them, or to page itself when the PDF's own
 * search cannot find them there. */
void hk_document_view_load_at(HkDocumentView *self, const HkPatientInfo *patient,
                              const char *doc_id, guint version, const char *words, guint page);
/* TRUE once the find (typed, or from a search hit) found its words;
 * *page: the 1-based page. */
gboolean hk_document_view_get_found(HkDocumentView *self, int *page);
/* Rectangles drawn from the server's OCR boxes where a search hit's words
 * are on a scan (or a PDF page without a text layer): 0 until they are on
 * screen, or if the page has none. */
guint hk_document_view_get_n_marks(HkDocumentView *self);
/* The words marked on the pages, or NULL. */
const char *hk_document_view_get_highlight(HkDocumentView *self);
void hk_document_view_clear(HkDocumentView *self);
const HkDocInfo *hk_document_view_get_doc(HkDocumentView *self);
HkDocumentKind hk_document_view_get_kind(HkDocumentView *self);
int hk_document_view_get_n_pages(HkDocumentView *self);
/* Pages rendered so far (PDF), 1 for an image or text once shown. */
int hk_document_view_get_n_rendered(HkDocumentView *self);
/* The band's text ("Older version 1 of 3…", "WITHDRAWN…"), or NULL. */
const char *hk_document_view_get_notice(HkDocumentView *self);

G_END_DECLS

/* hk-extract.h: the text of a document's bytes, as page lists (hk-text.h).
 *
 * A PDF's text layer is read with poppler, page by page
 * (poppler_page_get_text), inside a confined parser worker (hk-inspect.h),
 * never in the indexer's own process: call hk_extract_pdf only through an
 * HkInspectJob with want_text. Plain text needs no parser worth isolating
 * and is read in the indexer (hk_extract_plain). Both keep to the limits
 * of hk-text.h and say in the list when they cut text. */
#pragma once

#include <glib.h>
#include <stddef.h>

/* A page without a text layer (a scanned page) is drawn at this
 * resolution for OCR, the one Tesseract is trained for, */
#define HK_EXTRACT_OCR_DPI 300
/* unless that would pass this many pixels (A4 at 300 dpi is 8.7 M; an A3
 * page is drawn a little finer than 250 dpi): 20 M grey pixels are 20 MiB,
 * and the drawing's 80 MiB, well within --parser-memory. */
#define HK_EXTRACT_OCR_MAX_PIXELS 20e6
/* At most this many pages of one PDF are OCRed (about 3 s of CPU a page,
 * 2.5 min in all, within --text-cpu's default 300 s); the pages past it
 * stay empty and the text is marked truncated. A longer scanned PDF is
 * rare in a clinical record, and its first 50 pages are still found. */
#define HK_EXTRACT_OCR_PAGES_MAX 50u

/* The text layer of every page of a PDF, as a page list (source "pdf"). A
 * page without a text layer is OCRed if the model is loaded
 * (hk_ocr_ready: source "ocr", with its confidence, and its characters'
 * boxes in a box list, hk-boxes.h), else stored empty.
 * \return 0, the list in *list and the boxes in *boxes (NULL if no page has
 * any; g_bytes_unref), or -HK_EINVAL and a reason in *reason (g_free). */
int hk_extract_pdf(const void *data, size_t len, GBytes **list, GBytes **boxes, char **reason);

/* A text/plain document as one page (source "text"). The drop folder's
 * contract says UTF-8: bytes that are not (or that hold a NUL) are a
 * failed extraction, -HK_EINVAL with a reason, not text made up. */
int hk_extract_plain(const void *data, size_t len, GBytes **list, char **reason);

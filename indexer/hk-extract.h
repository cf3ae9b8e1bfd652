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

/* The text layer of every page of a PDF, as a page list (source "pdf"; a
 * page without text is an empty page). \return 0 and the list in *list
 * (g_bytes_unref), or -HK_EINVAL and a reason in *reason (g_free). */
int hk_extract_pdf(const void *data, size_t len, GBytes **list, char **reason);

/* A text/plain document as one page (source "text"). The drop folder's
 * contract says UTF-8: bytes that are not (or that hold a NUL) are a
 * failed extraction, -HK_EINVAL with a reason, not text made up. */
int hk_extract_plain(const void *data, size_t len, GBytes **list, char **reason);

/* hk-thumbnail.h: validate content as what it claims to be, and make a JPEG
 * thumbnail (longest side at most HK_THUMB_MAX px) of it. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define HK_THUMB_MAX 256
/* Images larger than this are refused as decompression bombs. */
#define HK_IMAGE_MAX_PIXELS (100u * 1000u * 1000u)

/* The content type the bytes look like: "application/pdf", "image/jpeg",
 * "text/plain", or NULL if none of them. */
const char *hk_sniff(const void *data, size_t len);

/* Parse data as content_type. On success returns 0 and, if want_thumb and
 * for PDFs and JPEGs, a thumbnail in *thumb (NULL if only the thumbnail
 * failed). On failure returns -HK_EINVAL and a reason in *reason (g_free).
 * Runs the parser in this process: call it through hk_inspect_batch(). */
int hk_thumbnail_check(const char *content_type, const void *data, size_t len, bool want_thumb,
                       GBytes **thumb, char **reason);

/* Load fonts and parser state once in this process, so that every child
 * of hk_inspect() inherits them instead of starting cold (fontconfig alone
 * costs milliseconds per child). */
void hk_thumbnail_warmup(void);

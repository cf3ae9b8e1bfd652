/* hk-thumbnail.h: validate content as what it claims to be, and make a JPEG
 * thumbnail (longest side at most HK_THUMB_MAX px) of it. */
#pragma once

#include <glib.h>
#include <stddef.h>

#define HK_THUMB_MAX 256
/* Images larger than this are refused as decompression bombs. */
#define HK_IMAGE_MAX_PIXELS (100u * 1000u * 1000u)

/* The content type the bytes look like: "application/pdf", "image/jpeg",
 * "text/plain", or NULL if none of them. */
const char *hk_sniff(const void *data, size_t len);

/* Parse data fully as content_type. On success returns 0 and, for PDFs and
 * JPEGs, a thumbnail in *thumb (NULL if only the thumbnail failed). On
 * failure returns -HK_EINVAL and a reason in *reason (g_free).
 * Runs the parser in this process: call it through hk_inspect(). */
int hk_thumbnail_make(const char *content_type, const void *data, size_t len, GBytes **thumb,
                      char **reason);

/* As hk_thumbnail_make, but in a child process with CPU and memory limits,
 * so that a parser crash or hang on hostile input costs one document, not
 * the indexer. */
int hk_inspect(const char *content_type, const void *data, size_t len, GBytes **thumb,
               char **reason);

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

#define HK_INSPECT_MAX_PARALLEL 8

/* What one parser child may use before it is stopped and its document
 * refused: CPU seconds (RLIMIT_CPU), wall-clock seconds (then the indexer
 * kills it), and address space beyond what it inherited, in MiB
 * (RLIMIT_AS). The indexer's --parser-cpu, --parser-timeout and
 * --parser-memory. */
typedef struct {
  unsigned cpu_s;
  unsigned wall_s;
  unsigned memory_mib;
} HkInspectLimits;
#define HK_INSPECT_LIMITS_DEFAULT { .cpu_s = 20, .wall_s = 30, .memory_mib = 2048 }

/* Set the limits of every later child (once, at start-up). */
void hk_inspect_set_limits(const HkInspectLimits *limits);

typedef struct {
  /* in */
  const char *content_type;
  const void *data;
  size_t len;
  bool want_thumb; /* a PDF's first page costs ~10 ms: drawn later, apart */
  /* out */
  int ret;
  GBytes *thumb;
  char *reason;
} HkInspectJob;

/* Run hk_thumbnail_check for every job, each in a child process with CPU,
 * memory and wall-clock limits, at most parallel at once, so that a parser
 * crash or hang on hostile input costs one document, not the indexer. */
void hk_inspect_batch(HkInspectJob *jobs, size_t n, unsigned parallel);

/* Load fonts and parser state once in this process, so that every child
 * of hk_inspect() inherits them instead of starting cold (fontconfig alone
 * costs milliseconds per child). */
void hk_thumbnail_warmup(void);

/* One job through hk_inspect_batch, with a thumbnail. */
int hk_inspect(const char *content_type, const void *data, size_t len, GBytes **thumb,
               char **reason);

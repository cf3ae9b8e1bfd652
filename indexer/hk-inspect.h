/* hk-inspect.h: parse hostile bytes (hk_thumbnail_check) out of the
 * indexer's process, in a pool of long-lived, confined parser workers.
 *
 * A worker is forked from the indexer (after hk_thumbnail_warmup(), so it
 * starts with fonts and poppler loaded), confines itself once
 * (hk-sandbox.h) and then answers documents one at a time over two
 * pipes: the request is a 24-byte header and the bytes, the answer a 12-byte
 * header, a reason and a thumbnail. Forking one child per document cost
 * about 15 % of the indexer's CPU in fork and copy-on-write faults
 * (docs/benchmarks.md, "Ingest"); a worker pays that once per
 * HK_INSPECT_WORKER_JOBS documents.
 *
 * A worker is replaced after HK_INSPECT_WORKER_JOBS documents, after any
 * document it refused, and after any fault (crash, sandbox kill, limit,
 * a malformed answer), so that what a hostile file did to a parser's state
 * cannot reach more than the documents after it in the same worker, and
 * those only while it still answers cleanly. A document whose worker died
 * without answering is parsed once more in a fresh worker before it is
 * refused, unless that worker was already fresh: its death may have been
 * left by an earlier document, and a good document must not be quarantined
 * for it. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define HK_INSPECT_MAX_PARALLEL 8
/* Documents one worker answers before it is replaced. */
#define HK_INSPECT_WORKER_JOBS 256

/* What a parser may use on one document before it is stopped and the
 * document refused: CPU seconds (RLIMIT_CPU, set before each document),
 * wall-clock seconds (then the indexer kills it), and address space beyond
 * what the worker inherited, in MiB (RLIMIT_AS). The indexer's
 * --parser-cpu, --parser-timeout and --parser-memory. */
typedef struct {
  unsigned cpu_s;
  unsigned wall_s;
  unsigned memory_mib;
  int nice; /* the workers' nice value (text extraction's yield to ingest's) */
} HkInspectLimits;
#define HK_INSPECT_LIMITS_DEFAULT                                                                  \
  {                                                                                                \
    .cpu_s = 20, .wall_s = 30, .memory_mib = 2048                                                  \
  }

/* Set the limits of every later worker of the calling thread's pool (once,
 * at start-up; a thread starts with HK_INSPECT_LIMITS_DEFAULT). Each
 * thread has its own pool of workers: ingest's checks and text extraction
 * (hk-extractor.h) never wait for each other's. */
void hk_inspect_set_limits(const HkInspectLimits *limits);

/* Make the calling thread's batches stop as soon as fd is readable: the
 * workers in hand are killed, and every job not answered yet ends with
 * -HK_EIO and cancelled set. -1: never (the default). */
void hk_inspect_set_cancel(int fd);
/* Whether the calling thread's cancel descriptor is readable. */
bool hk_inspect_cancelled(void);

typedef struct {
  /* in */
  const char *content_type;
  const void *data;
  size_t len;
  bool want_thumb; /* a PDF's first page costs ~10 ms: drawn later, apart */
  bool want_text;  /* a PDF's text layer instead (hk-extract.h), after the commit */
  /* out */
  int ret;
  GBytes *thumb;
  GBytes *text;   /* want_text: the page list (hk-text.h), to be decoded: a worker's answer */
  GBytes *boxes;  /* want_text: the box list (hk-boxes.h) or NULL, as unchecked as text */
  bool limit_hit; /* stopped by its CPU or wall-clock limit */
  bool cancelled; /* not parsed: the batch was cancelled (hk_inspect_set_cancel) */
  char *reason;
} HkInspectJob;

/* Run hk_thumbnail_check (or, for want_text, hk_extract_pdf) for every job
 * in a parser worker, with CPU,
 * memory and wall-clock limits, at most parallel at once, so that a parser
 * crash or hang on hostile input costs one document, not the indexer.
 * Plain text is checked here: it needs no parser worth isolating. */
void hk_inspect_batch(HkInspectJob *jobs, size_t n, unsigned parallel);

/* One job through hk_inspect_batch, with a thumbnail. */
int hk_inspect(const char *content_type, const void *data, size_t len, GBytes **thumb,
               char **reason);

/* Stop every worker of the calling thread's pool and wait for it (at exit;
 * the pool starts again on the next batch). */
void hk_inspect_shutdown(void);

typedef struct {
  unsigned started;  /* workers forked */
  unsigned answered; /* documents answered by a worker */
  unsigned retried;  /* documents parsed again after a worker died */
} HkInspectStats;

/* Counters since start-up (tests and the indexer's report). */
HkInspectStats hk_inspect_stats(void);

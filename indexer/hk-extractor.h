/* hk-extractor.h: text extraction beside ingest. A thread of the indexer
 * drains the store's text queue (hk-textq.h) with its own pool of confined
 * parser workers (hk-inspect.h), longer limits and a lower priority, and
 * its own short write transactions, so that a document committed while a
 * scan is OCRed is visible at once: LMDB serialises the two writers, and
 * an extraction's write holds the store only for the records it stores.
 * When the queue is empty it queues, a bounded step at a time, the
 * versions stored before extraction existed (hk_store_text_backfill).
 * A batch of the queue is stored in one commit; stopping cancels the
 * versions in the workers' hands (they stay queued) and stores the rest. */
#pragma once

#include "hk-busy.h"
#include "hk-inspect.h"
#include "hk-store.h"

/* Versions visited per backfill step (one write transaction). */
#define HK_EXTRACTOR_BACKFILL_STEP 512u
/* Nice value of the extraction workers: below the ingest checks'. */
#define HK_EXTRACTOR_NICE 10

typedef struct {
  unsigned workers;       /* parser workers at once (--text-workers) */
  HkInspectLimits limits; /* per document (--text-cpu, --text-timeout, --parser-memory) */
} HkExtractorConfig;

typedef struct hk_extractor hk_extractor;

/* Start the thread. \return 0, or -HK_EIO if it cannot be started. */
int hk_extractor_start(hk_store *s, const HkExtractorConfig *cfg, hk_extractor **out);
/* New versions were committed: look at the queue now. */
void hk_extractor_kick(hk_extractor *x);
/* Ingest was at work (scanning, checking, committing) from start_us to
 * end_us (monotonic): while it is busy, batches wait (hk-extractor.c). */
void hk_extractor_ingest_busy(hk_extractor *x, int64_t start_us, int64_t end_us);
/* Whether a batch waits at now, on a hold begun at since (exposed for the
 * tests: the times are theirs). */
bool hk_extractor_should_hold(const HkBusy *busy, int64_t since, int64_t now);
/* Cancel the extractions in hand (their versions stay queued; what the
 * batch extracted before them is stored), stop the thread and its
 * workers, and free x. NULL is a no-op. */
void hk_extractor_stop(hk_extractor *x);

/* Extract in the calling thread until the queue is empty and the backfill
 * is done (hikae-indexer --once), with cfg's workers and limits.
 * \return 0, -HK_ESEALED, or a store error. */
int hk_extractor_drain_all(hk_store *s, const HkExtractorConfig *cfg);

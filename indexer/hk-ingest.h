/* hk-ingest.h: the indexer's write side. Sources (drop folders, SS-MIX2)
 * prepare items; this batches them into one LMDB write transaction, decides
 * which failures are suspect (a known document whose new bytes no longer
 * parse as what they were), runs the tripwire, and commits durably. A batch
 * that hits a full map is redone whole after the map grows, so an item is
 * either entirely in the store or not at all. */
#pragma once

#include "hk-store.h"
#include "hk-tripwire.h"

#include <glib.h>
#include <stdbool.h>

typedef struct {
  unsigned batch_max_items; /* commit after this many items */
  size_t batch_max_bytes;   /* or this many content bytes */
  unsigned tripwire_threshold;
  unsigned tripwire_window_s;
  /* Valid replacements (a new version of a stored document, including one
   * that moves it to another patient) are allowed but counted: more than
   * replace_threshold within replace_window_s seals the indexer too.
   * 0 means the defaults (HK_REPLACE_THRESHOLD, HK_REPLACE_WINDOW_S). */
  unsigned replace_threshold;
  unsigned replace_window_s;
  /* Group commit: queued items are committed together, but never wait more
   * than this (hk_time_now()) once the first of them is queued, so that a
   * long scan shows its first documents early (0: HK_COMMIT_INTERVAL_MS). */
  unsigned commit_interval_ms;
} HkIngestConfig;

#define HK_COMMIT_INTERVAL_MS 200

#define HK_REPLACE_THRESHOLD 50
#define HK_REPLACE_WINDOW_S 300

typedef struct {
  uint64_t added;       /* new versions written */
  uint64_t unchanged;   /* same bytes and metadata again: no-op */
  uint64_t quarantined; /* bad input */
  uint64_t suspect;     /* suspect (tripwire events) */
  uint64_t replaced;    /* new versions of stored documents (replacement events) */
  uint64_t moved;       /* of which moved the document to another patient */
  uint64_t commits;
  uint64_t bytes;
} HkIngestCounters;

typedef struct hk_ingest hk_ingest;

hk_ingest *hk_ingest_new(hk_store *s, const HkIngestConfig *cfg);
void hk_ingest_free(hk_ingest *ing);
hk_store *hk_ingest_store(hk_ingest *ing);
const HkIngestCounters *hk_ingest_counters(hk_ingest *ing);

/* Queue a valid document. Takes ownership of v, content, thumb (may be
 * NULL) and patient (may be NULL: identity fields to merge). file_key and st
 * (may be NULL) record the source file as done in the same transaction.
 * May flush. \return 0, or the flush's error. */
int hk_ingest_add_document(hk_ingest *ing, HkVersion *v, GBytes *content, GBytes *thumb,
                           HkPatient *patient, const char *file_key, const HkFileState *st);

/* Queue input that could not be read as a document. If (q->source_name,
 * q->source_id) names a document already in the store, or seen_before says
 * this very file was ingested before (its sidecar no longer parses, say),
 * it is recorded as suspect and counts towards the tripwire, and the
 * document records that a newer version was refused; else as bad_input.
 * Set q->source_name to the source's name (NULL means
 * hk_source_default_name). Takes ownership of q. */
int hk_ingest_add_failure(hk_ingest *ing, HkQuarantine *q, const char *file_key,
                          const HkFileState *st, bool seen_before);

/* Queue a change to a patient (SS-MIX2): fn is called inside the write
 * transaction with the patient (loaded, or new) and may change it; the
 * patient is then stored. Takes ownership of data (freed with free_fn). */
typedef int (*HkPatientEditFunc)(HkPatient *p, void *data);
int hk_ingest_edit_patient(hk_ingest *ing, const char *patient_id, HkPatientEditFunc fn,
                           void *data, GDestroyNotify free_fn, const char *file_key,
                           const HkFileState *st);

/* Record only that a source file was looked at (its bytes are what it
 * gave last time): no new version. */
int hk_ingest_touch(hk_ingest *ing, const char *file_key, const HkFileState *st);

/* Queue the withdrawal of a document's current version. */
int hk_ingest_withdraw(hk_ingest *ing, const char *source_id, const char *reason,
                       const char *file_key, const HkFileState *st);

/* Commit what is queued. \return 0; -HK_ESEALED if the tripwire sealed the
 * indexer (what came before the tripping event is committed, nothing
 * after); another negative HK_E code if the store failed. */
int hk_ingest_flush(hk_ingest *ing);

/* Count n suspect events found by a source that writes its own
 * transactions (SS-MIX2); seals the indexer if the tripwire trips.
 * \return 0, -HK_ESEALED, or a store error. */
int hk_ingest_note_suspect(hk_ingest *ing, unsigned n);

/* Count n valid replacements found by such a source (SS-MIX2); seals the
 * indexer if the replacement tripwire trips. */
int hk_ingest_note_replaced(hk_ingest *ing, unsigned n);

/* A scan of the sources begins: a new version counts as a replacement
 * only if the version it supersedes was stored before this. */
void hk_ingest_scan_start(hk_ingest *ing);

/* True once sealed (by this process, or found sealed in the store). */
bool hk_ingest_sealed(hk_ingest *ing);
/* Re-read the seal from the store (after hikae-admin unseal). */
int hk_ingest_refresh_seal(hk_ingest *ing);

/* Write the indexer's state and heartbeat (and archive_as_of if as_of is
 * non-zero) in a transaction of its own. */
int hk_ingest_heartbeat(hk_ingest *ing, HkIndexerState state, int64_t as_of);

/* True if the file's recorded state equals st (nothing to do). */
bool hk_ingest_file_done(hk_ingest *ing, hk_txn *t, const char *file_key,
                         const HkFileState *st);

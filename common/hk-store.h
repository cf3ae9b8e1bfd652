/* hk-store.h: the document store, an append-only LMDB environment.
 *
 * The layout is documented in docs/store.md. One process (hikae-indexer)
 * writes; any number read, with MDB_RDONLY. Every function returns 0 or a
 * negative HK_E code; LMDB's codes are translated in hk-store-env.c only
 * (hk_mdb_err); the store's files are common/hk-store-*.c.
 *
 * A transaction carries a sticky error, as Knot's knot_lmdb does: once an
 * operation fails, the rest are no-ops that return the same code, and
 * hk_txn_commit() returns it and aborts. Callers may chain writes and check
 * once. */
#pragma once

#include "hk-boxes.h"
#include "hk-patient-row.h"
#include "hk-patient.h"
#include "hk-row.h"
#include "hk-text.h"
#include "hk-version.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* 2: document IDs are namespaced by source (docs/store.md); 3: the `rows`
 * table (binary list records, docs/store.md "Rows"); 4: `patient_rows`;
 * 5: each timeline entry holds its document's row. A store of an older
 * format is refused until `hikae-admin migrate` converts it. */
#define HK_STORE_FORMAT 5

typedef enum {
  HK_STORE_RDONLY = 1 << 0,  /* open read-only (the server, admin readers) */
  HK_STORE_CREATE = 1 << 1,  /* create the folder and a new store if absent */
  HK_STORE_MIGRATE = 1 << 2, /* also open an older-format store (for hk_store_migrate) */
} HkStoreFlags;

typedef struct hk_store hk_store;
typedef struct hk_txn hk_txn;

/* The map every process opens the store with unless told otherwise: 1 TiB.
 * LMDB maps the file sparsely and read-only, so the size costs address
 * space only (no memory, no disk, no overcommit charge), and a map far
 * larger than the store is never replaced while the server reads it (see
 * "Map growth" in docs/store.md). Where the address space is limited
 * (RLIMIT_AS), the open halves it until it fits the store. */
#define HK_STORE_MAP_DEFAULT (1ull << 40)
/* The smallest map --map-size accepts (tests of map growth start there). */
#define HK_STORE_MAP_MIN (1ull << 20)

/* Open the store in folder dir with the default map.
 * \return 0; -HK_ENOTFOUND if there is no store and HK_STORE_CREATE is not
 * given; -HK_EFORMAT if it holds another format version (or is not a hikae
 * store); -HK_EPERM; -HK_EIO; -HK_ENOMEM if not even the store fits the
 * address space. */
int hk_store_open(const char *dir, unsigned flags, hk_store **out);
/* The same with a map of map_size bytes (0: HK_STORE_MAP_DEFAULT); never
 * smaller than the store already is. */
int hk_store_open_map(const char *dir, unsigned flags, uint64_t map_size, hk_store **out);
void hk_store_close(hk_store *s);
const char *hk_store_dir(const hk_store *s);
/* Current map size in bytes. */
uint64_t hk_store_map_size(const hk_store *s);
/* How many times this process has replaced its map (grown, or followed
 * another process's growth). */
uint64_t hk_store_remaps(const hk_store *s);
/* Drop this process's mapping of store pages it touched, with no
 * transaction open. They stay in the page cache and fault back in when
 * next read; without this the resident size grows with the store. */
void hk_store_trim(hk_store *s);
/* Double the map (writer only). Waits until no thread of this process has
 * a transaction open; -HK_EBUSY if the calling thread has one. */
int hk_store_grow(hk_store *s);
/* What hk_store_write runs inside its write transaction. */
typedef int (*HkWriteFunc)(hk_txn *t, void *data);
/* Run fn in a write transaction and commit; when the map is full
 * (-HK_ESPACE) grow it and run fn again from the start in a new
 * transaction, at most attempts runs in all. An error of fn aborts.
 * \return 0, or -HK_ESPACE if the last run still did not fit. */
int hk_store_write(hk_store *s, int attempts, HkWriteFunc fn, void *data);

/* Begin a transaction. It must end (commit, abort) in the thread that
 * began it, and nothing it points at may be used after: the map is only
 * ever replaced while no transaction of the process is open, which is how
 * a growth of the map by another process is followed without a crash
 * (every transaction holds the store's map lock shared; the remap takes it
 * exclusive). A read transaction retries MDB_MAP_RESIZED (by remapping)
 * and a full reader table (after clearing stale slots) by itself.
 * \return 0; -HK_EPERM for a write on a read-only store; -HK_EBUSY;
 * -HK_ERESIZED if the map must be replaced while the calling thread still
 * has another transaction of this store open. */
int hk_txn_begin(hk_store *s, bool write, hk_txn **out);
/* Commit (durable when it returns 0) and free. On a sticky error, abort and
 * return it. -HK_ESPACE means the map is full: grow and redo the work. */
int hk_txn_commit(hk_txn *t);
/* Abort and free; NULL is allowed. */
void hk_txn_abort(hk_txn *t);
/* The sticky error (0 if none). */
int hk_txn_error(const hk_txn *t);
/* Release the snapshot and take a fresh one, keeping the read transaction
 * object (cheap; bounds how long a reader pins old pages). Pointers from
 * the old snapshot are invalid after it. */
int hk_txn_renew(hk_txn *t);

/* ---- blobs: content keyed by its SHA-256, stored once ---- */

/* Store bytes under their SHA-256 (hex in sha_hex). Existing is not an error.
 * *created tells whether they were new (may be NULL). */
int hk_store_put_blob(hk_txn *t, const char *sha_hex, const void *data, size_t len,
                      bool *created);
/* Point at stored bytes; valid until the transaction ends. -HK_ENOTFOUND. */
int hk_store_get_blob(hk_txn *t, const char *sha_hex, const void **data, size_t *len);
int hk_store_put_thumbnail(hk_txn *t, const char *sha_hex, const void *jpeg, size_t len);
int hk_store_get_thumbnail(hk_txn *t, const char *sha_hex, const void **jpeg, size_t *len);
/* Thumbnails drawn after the document is stored (a PDF page costs more
 * than the rest of its ingest): queue one (no-op if it exists), list up to
 * max queued hashes (char*, g_free) into out, or drop one from the queue.
 * Storing the thumbnail also takes it off the queue. */
int hk_store_queue_thumbnail(hk_txn *t, const char *sha_hex);
int hk_store_thumbnail_queue(hk_txn *t, unsigned max, GPtrArray *out);
int hk_store_unqueue_thumbnail(hk_txn *t, const char *sha_hex);

/* ---- text extracted from versions, after their commit ---- */

/* A queued version (docs/store.md, "Texts"). */
typedef struct {
  char doc_id[HK_DOC_ID_LEN + 1];
  uint32_t version;
} HkTextKey;

/* Every version hk_store_add_version adds is queued for text extraction
 * in the same transaction; the indexer takes the queue after the commit
 * (indexer/hk-textq.c). Append up to max queued versions (HkTextKey) to
 * out, in key order. */
int hk_store_text_queue(hk_txn *t, unsigned max, GArray *out);
/* 0 if the version is queued, -HK_ENOTFOUND if not. */
int hk_store_text_queued(hk_txn *t, const char *doc_id, uint32_t version);
/* Record what an extraction of a version found: its status record info,
 * and, if pages is non-NULL, its pages (numbered from 1; they replace any
 * stored before). retry keeps the version queued for another attempt;
 * else it leaves the queue. -HK_EINVAL for a malformed document ID. */
int hk_store_put_text(hk_txn *t, const char *doc_id, uint32_t version, const HkTextInfo *info,
                      HkTextListReader *pages, bool retry);
/* The status record of a version (pointing into the map: valid until t
 * ends). -HK_ENOTFOUND if no extraction has been tried; -HK_ECORRUPT. */
int hk_store_get_text(hk_txn *t, const char *doc_id, uint32_t version, HkTextInfo *out);
/* Page `page` (from 1) of a version, as hk_store_get_text. */
int hk_store_get_text_page(hk_txn *t, const char *doc_id, uint32_t version, uint32_t page,
                           HkTextPage *out);
/* Store the boxes of page `page` (from 1) of a version, a page record of
 * hk-boxes.h checked by the caller against the page's text, after
 * hk_store_put_text has stored that text (which drops any boxes stored
 * before). */
int hk_store_put_text_boxes(hk_txn *t, const char *doc_id, uint32_t version, uint32_t page,
                            const void *rec, size_t len);
/* The boxes of page `page` of a version (pointing into the map: valid
 * until t ends), checked against the page's stored text. A page without
 * boxes (not OCRed, stored before boxes existed, over a limit) reads as
 * 0 boxes. -HK_EINVAL for a malformed document ID; -HK_ECORRUPT. */
int hk_store_get_text_boxes(hk_txn *t, const char *doc_id, uint32_t version, uint32_t page,
                            HkBoxes *out);
/* Backfill (docs/search.md): queue the versions that have neither a text
 * status nor a queue entry (stored before extraction existed), visiting
 * at most max versions, the current version of every document first, then
 * every version. A cursor in `meta` (`text_backfill`) keeps the place
 * across transactions and restarts. *queued counts the versions queued;
 * *done says the walk is over (it is never made again: every version added
 * since is queued with its commit). t is a write transaction. */
int hk_store_text_backfill(hk_txn *t, unsigned max, unsigned *queued, bool *done);
/* For verify: every status record, page record and queue entry decodes
 * and belongs to an existing version, and every page to a status record
 * that counts it; every text log entry names an existing version under a
 * number the store has given. Each one that does not is printed to err ("TEXT <id>
 * v<N>: ...") and counted in *bad; *checked is the number of records. */
int hk_store_check_texts(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad);

typedef struct {
  uint64_t done;        /* text stored */
  uint64_t pending;     /* queued: never tried, or to be tried again */
  uint64_t failed;      /* failed or timed out, no attempt left */
  uint64_t needs_ocr;   /* scans waiting for OCR */
  uint64_t unsupported; /* content types with no text */
} HkTextStats;

/* Count the versions by text status (a walk of `texts`: for hikae-admin
 * stats, not for the server's /status). */
int hk_store_text_stats(hk_txn *t, HkTextStats *st);

/* The text log, what the full-text index (common/hk-fts.h) follows: every
 * hk_store_put_text takes the next number of the store's text sequence
 * and logs it with its version, in the same transaction. The sequence
 * starts at 0 (no text stored since the log exists). */
int hk_store_text_seq(hk_txn *t, uint64_t *seq);
/* Versions still queued for extraction (the entries of `textq`). */
int hk_store_textq_count(hk_txn *t, uint64_t *n);

typedef struct {
  uint64_t seq;
  char doc_id[HK_DOC_ID_LEN + 1];
  uint32_t version;
} HkTextLogEntry;

/* Append to out (HkTextLogEntry) up to max log entries whose seq is
 * greater than after, in seq order. */
int hk_store_text_log(hk_txn *t, uint64_t after, unsigned max, GArray *out);
typedef int (*HkTextKeyFunc)(const HkTextKey *k, void *data);
/* Call fn for every version with a status record, in key order; a
 * non-zero return stops the walk and is returned. */
int hk_store_foreach_text(hk_txn *t, HkTextKeyFunc fn, void *data);

/* The store's identity (a random UUID given when the writer first opens
 * it; copies keep it): into out. -HK_ENOTFOUND for a store no writer has
 * opened since identities exist. */
#define HK_STORE_ID_MAX 36
int hk_store_get_id(hk_txn *t, char out[HK_STORE_ID_MAX + 1]);

/* ---- documents and versions: append-only ---- */

/* Append v as the next version of the document of (v->source_name,
 * v->source_id); a NULL source_name is set to hk_source_default_name().
 * Sets v->doc_id, v->version and (if zero) v->ingested_at. The blob
 * v->sha256 must already be stored. If the current version has the same
 * SHA-256 and metadata, nothing is written and *added is false. A version
 * that moves the document to another patient leaves it on the old
 * patient's timeline too (hk_document_move tells the two rows apart).
 * \return 0; -HK_EINVAL for a bad patient ID or source name. */
int hk_store_add_version(hk_txn *t, HkVersion *v, bool *added);
/* The document with every version. -HK_ENOTFOUND. */
int hk_store_get_document(hk_txn *t, const char *doc_id, HkDocument **out);
/* One version (version 0 means the current one). -HK_ENOTFOUND. */
int hk_store_get_version(hk_txn *t, const char *doc_id, uint32_t version, HkVersion **out);
/* Look up the document ID of source_id in the source named source_name:
 * 0 if the document exists, else -HK_ENOTFOUND. */
int hk_store_find_doc(hk_txn *t, const char *source_name, const char *source_id,
                      char doc_id[HK_DOC_ID_LEN + 1]);
/* hk_store_find_doc under hk_source_default_name(source_id). */
int hk_store_find_source(hk_txn *t, const char *source_id, char doc_id[HK_DOC_ID_LEN + 1]);
/* The refusals recorded against a document (HkRefusal*, oldest first). */
int hk_store_get_refusals(hk_txn *t, const char *doc_id, GPtrArray *out);

typedef int (*HkSourceFunc)(const char *source_name, const char *source_id,
                            const char *doc_id, void *data);
/* Call fn for every entry of the source registry (docs/store.md,
 * `sources`), in key order. */
int hk_store_foreach_source(hk_txn *t, HkSourceFunc fn, void *data);
/* Check that the registry and the documents agree: every document is
 * registered once under the name and source_id its record holds, and
 * every registry entry names an existing document. Each disagreement is
 * printed to err and counted in *bad. */
int hk_store_check_sources(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad);
/* Mark the current version withdrawn at its source (SS-MIX2 flag 0). The
 * version and its bytes stay readable. Idempotent. */
int hk_store_withdraw(hk_txn *t, const char *doc_id, const char *reason);

typedef int (*HkVersionFunc)(const HkVersion *v, bool current, bool withdrawn, void *data);
/* Call fn for every version of every document (by document ID, then
 * version), or of one patient's documents if patient_id is non-NULL. A
 * non-zero return from fn stops the walk and is returned. */
int hk_store_foreach_version(hk_txn *t, const char *patient_id, HkVersionFunc fn, void *data);

/* ---- the per-patient timeline, newest first ---- */

typedef struct {
  const char *type;     /* only this type, or NULL */
  int64_t from_usec;    /* created at or after, or INT64_MIN */
  int64_t to_usec;      /* created at or before, or INT64_MAX */
  const char *cursor;   /* continue after this cursor (from next_cursor), or NULL */
  unsigned limit;       /* 1..1000 */
} HkTimelineQuery;

/* Append the IDs (char*, g_free) of up to q->limit documents of patient_id,
 * newest first, to doc_ids. *next_cursor is set to a new string if more may
 * follow, else NULL. -HK_EINVAL for a malformed cursor. */
int hk_store_timeline(hk_txn *t, const char *patient_id, const HkTimelineQuery *q,
                      GPtrArray *doc_ids, char **next_cursor);
/* What hk_store_timeline_rows calls for each entry, newest first; row
 * points into the map (valid until the transaction ends). A non-zero
 * return stops the walk and is returned. */
typedef int (*HkRowFunc)(const HkRow *row, void *data);
/* The same walk as hk_store_timeline, handing each entry's row (the
 * `rows` table, docs/store.md) to fn: no version record is read or
 * parsed. -HK_ECORRUPT if an entry has no row or its row does not decode. */
int hk_store_timeline_rows(hk_txn *t, const char *patient_id, const HkTimelineQuery *q,
                           HkRowFunc fn, void *data, char **next_cursor);
/* The row of one document. -HK_ENOTFOUND; -HK_ECORRUPT. */
int hk_store_get_row(hk_txn *t, const char *doc_id, HkRow *out);
/* Check every document's row against its records: each row that is
 * missing, does not decode, or differs from what the records encode to is
 * printed to err with the document ID and counted in *bad; so is a row
 * with no document. *checked is the number of documents. */
int hk_store_check_rows(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad);

/* ---- patients ---- */

/* Insert or replace a patient, keeping the search index and the census in
 * step. Sets updated_at. */
int hk_store_put_patient(hk_txn *t, HkPatient *p);
int hk_store_get_patient(hk_txn *t, const char *id, HkPatient **out);
/* Whether the patient exists, without reading its record (a timeline asks
 * this on every page). \return 0, -HK_ENOTFOUND, or a store error. */
int hk_store_has_patient(hk_txn *t, const char *id);
/* Search as GET /api/v1/patients does: exact ID, kana prefix, name
 * substring, or birth date YYYY-MM-DD. Appends HkPatient* (the caller frees)
 * to out, at most limit. */
int hk_store_search_patients(hk_txn *t, const char *query, unsigned limit, GPtrArray *out);
/* Append every current inpatient (HkPatient*, with admission) to out, of
 * one ward if ward is non-NULL, ordered by ward, room, bed. */
int hk_store_census(hk_txn *t, const char *ward, GPtrArray *out);

/* The same two answers from the patients' rows (hk-patient-row.h), as the
 * server gives them: HkPatientRow entries appended to out (a GArray of
 * HkPatientRow), pointing into the map, so valid until t ends; no record is
 * parsed. A patient whose row is missing or does not decode (which verify
 * reports) is read from its record instead, its row's bytes kept in keep
 * (a GPtrArray that frees GByteArrays), which must outlive the rows. */
int hk_store_search_patient_rows(hk_txn *t, const char *query, unsigned limit, GArray *out,
                                 GPtrArray *keep);
int hk_store_census_rows(hk_txn *t, const char *ward, GArray *out, GPtrArray *keep);
/* The row of one patient, as those two read it (out points into the map
 * or into keep). \return 0; -HK_ENOTFOUND; a store error. */
int hk_store_get_patient_row(hk_txn *t, const char *id, HkPatientRow *out, GPtrArray *keep);
/* Check every patient's row against its record (for verify): each one
 * missing, undecodable or different is printed to err as "PROW <id>: ..."
 * and counted in *bad; *checked is the number of patients. */
int hk_store_check_patient_rows(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad);

/* ---- the quarantine ---- */

typedef struct {
  char *source; /* the path it came from */
  char *kind;   /* "bad_input" or "suspect" */
  char *reason;
  int64_t at;
  char *sha256; /* of the refused bytes, may be NULL */
  char *source_id; /* may be NULL */
  char *source_name; /* the named source; NULL: hk_source_default_name(source_id) */
  char *doc_id;      /* set by the store: the document it was refused for */
  uint64_t seq;      /* set when read back */
} HkQuarantine;

void hk_quarantine_free(HkQuarantine *q);
/* Record a refusal. A "suspect" refusal whose (source_name, source_id)
 * names a stored document is also recorded on that document (the
 * `refused` database), so every reader can show that a newer version was
 * refused; whatever path quarantines it (drop folder, SS-MIX2). */
int hk_store_quarantine_add(hk_txn *t, const HkQuarantine *q);
typedef int (*HkQuarantineFunc)(const HkQuarantine *q, void *data);
int hk_store_quarantine_foreach(hk_txn *t, HkQuarantineFunc fn, void *data);

/* ---- source file state, so rescans skip what they already did ---- */

typedef struct {
  int64_t meta_mtime_ns;
  int64_t meta_size;
  int64_t content_mtime_ns;
  int64_t content_size;
  int64_t content_ino;
  int64_t content_ctime_ns;
  /* Not part of the comparison: what the last look found. */
  int64_t ingested;   /* 1 if it was ingested */
  uint8_t sha256[32]; /* of the content it ingested */
  uint8_t meta_sha256[32]; /* of the sidecar it ingested */
} HkFileState;

int hk_store_get_file_state(hk_txn *t, const char *key, HkFileState *out);
int hk_store_put_file_state(hk_txn *t, const char *key, const HkFileState *st);

/* ---- meta: archive freshness and the indexer's state ---- */

typedef enum { HK_INDEXER_STOPPED = 0, HK_INDEXER_RUNNING, HK_INDEXER_SEALED } HkIndexerState;

typedef struct {
  HkIndexerState state;
  char *reason;         /* why sealed (NULL otherwise) */
  int64_t heartbeat_at; /* last time the indexer said it was alive */
  int64_t sealed_at;
  int pid;
} HkIndexerInfo;

void hk_indexer_info_clear(HkIndexerInfo *i);
/* The state to report: a "running" indexer whose heartbeat is older than
 * stale_s seconds at now (usec) has in fact stopped. */
HkIndexerState hk_indexer_effective_state(const HkIndexerInfo *i, int64_t now, int stale_s);
const char *hk_indexer_state_name(HkIndexerState s);
int hk_store_get_indexer(hk_txn *t, HkIndexerInfo *out);
int hk_store_set_indexer(hk_txn *t, const HkIndexerInfo *in);
/* -HK_ESEALED if the indexer record in t says sealed (by the tripwire or
 * `hikae-admin seal`), else 0 (or a read error). Every write of ingested
 * data checks it inside its own write transaction: LMDB serializes
 * writers, so a seal committed by another process is seen by the next
 * write, and nothing is ingested after the seal command returns. */
int hk_store_check_unsealed(hk_txn *t);
/* The time by which every source had been fully scanned (0 if never). */
int hk_store_get_archive_as_of(hk_txn *t, int64_t *usec);
int hk_store_set_archive_as_of(hk_txn *t, int64_t usec);
/* The newest ingested_at of any version (0 if none). */
int hk_store_get_last_document_at(hk_txn *t, int64_t *usec);

typedef struct {
  uint64_t documents;
  uint64_t versions;
  uint64_t patients;
  uint64_t blobs;
  uint64_t thumbnails;
  uint64_t thumbnails_pending;
  uint64_t quarantined;
  uint64_t withdrawn;
  uint64_t inpatients;
  int64_t archive_as_of;
  int64_t last_document_at;
  HkIndexerInfo indexer;
} HkStoreStats;

/* Fill st (the caller clears st->indexer with hk_indexer_info_clear). */
int hk_store_stats(hk_txn *t, HkStoreStats *st);

/* ---- maintenance ---- */

/* The format of the open store (HK_STORE_FORMAT, or 1 to 4 if opened with
 * HK_STORE_MIGRATE). */
int hk_store_format(const hk_store *s);
/* True for the older formats hk_store_migrate converts (1 to 4). */
bool hk_store_format_migratable(int format);
/* Convert an older store to the current format. From format 1,
 * in one write transaction (all or nothing), every document is registered
 * in `sources` under ssmix2_name if its source_id starts with "SSMIX2:",
 * else drop_name, and keeps its ID (*migrated is how many); the store is
 * then format 2. From format 2, the row of every document is built from
 * its records, in transactions of a few thousand documents, and the last
 * one sets format 3: a migration cut short leaves a format-2 store that
 * the next run finishes. From format 3, the patient rows likewise (format
 * 4); from format 4, every timeline entry takes its document's row
 * (format 5). A store already at the current format is left alone
 * (*migrated = 0). */
int hk_store_migrate(hk_store *s, const char *drop_name, const char *ssmix2_name,
                     uint64_t *migrated);

/* Copy the store, compacted, into the empty folder dir (hot backup). */
int hk_store_copy(hk_store *s, const char *dir);

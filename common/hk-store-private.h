/* hk-store-private.h: what the files of the store (common/hk-store-*.c)
 * share, and nothing else includes. Each file holds one table or one
 * concern (docs/store.md lists the tables); the public interface is
 * hk-store.h. */
#pragma once

#include "hk-patient-row.h"
#include "hk-row.h"
#include "hk-sha256.h"
#include "hk-store.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Named databases; see docs/store.md. */
enum {
  DB_META,
  DB_DOCS,
  DB_VERSIONS,
  DB_WITHDRAWN,
  DB_BLOBS,
  DB_THUMBS,
  DB_PATIENTS,
  DB_PINDEX,
  DB_TIMELINE,
  DB_CENSUS,
  DB_FILES,
  DB_QUARANTINE,
  DB_THUMBQ,
  DB_SOURCES,
  DB_REFUSED,
  DB_ROWS,
  DB_PROWS,
  /* Derived text (hk-store-texts.c): created by the writer when absent, so
   * a store written before them opens as it is (docs/store.md, "Texts"). */
  DB_TEXTS,
  DB_TEXT_PAGES,
  DB_TEXTQ,
  /* seq -> version whose text was stored: what the full-text index
   * (common/hk-fts.h) has still to take. */
  DB_TEXTLOG,
  /* version + page -> where the page's OCR characters are (hk-boxes.h). */
  DB_TEXT_BOXES,
  DB_COUNT
};

/* The first table a read-only process may find absent (the store's writer
 * has not opened it since they were added): it reads them as empty. */
#define DB_FIRST_OPTIONAL DB_TEXTS

struct hk_store {
  MDB_env *env;
  MDB_dbi dbi[DB_COUNT];
  char *dir;
  bool rdonly;
  bool migrate; /* HK_STORE_MIGRATE: a format-1 store may be opened */
  int format;
  bool absent[DB_COUNT]; /* an optional table this read-only process found missing */
  /* Shared while a transaction of this process is open, exclusive while
   * the map is replaced: LMDB unmaps the old map at once, so a remap under
   * any open transaction (or any pointer a caller still holds into the map)
   * is a use after unmap. Writer-preferring, so a waiting remap is not
   * starved; never taken shared twice by one thread (hk_map_enter). */
  pthread_rwlock_t map_lock;
  bool map_lock_init;
  uint64_t remaps;         /* __atomic */
  bool unmapped;           /* a remap failed half-way: LMDB has no map left */
  int trace_fd;            /* HK_TXN_TRACE: write-transaction trace, or -1 */
  int64_t reader_check_at; /* monotonic usec of the writer's last mdb_reader_check */
};

struct hk_txn {
  hk_store *store;
  MDB_txn *txn;
  bool write;
  int ret;
};

/* The longest `sources` key: name NUL source_id, or name NUL # SHA-256 hex. */
#define HK_SOURCE_KEY_MAX (HK_SOURCE_NAME_MAX + 2 + HK_SHA256_HEX_LEN + 500)

/* ---- the map and LMDB's error codes (hk-store-env.c) ---- */

unsigned *hk_map_depth(const hk_store *s);
int hk_map_enter(hk_store *s);
bool hk_map_inside(hk_store *s);
void hk_map_leave(hk_store *s);
int hk_map_replace(hk_store *s, uint64_t seen, uint64_t size);
int hk_mdb_err(int rc);

/* ---- the sticky helpers and key encodings (hk-store-txn.c) ---- */

void hk_be32(uint8_t *p, uint32_t v);
void hk_be64(uint8_t *p, uint64_t v);
int hk_cursor(hk_txn *t, int db, MDB_cursor **c);
int hk_del(hk_txn *t, int db, const void *key, size_t klen);
uint64_t hk_entries(hk_txn *t, int db);
int hk_get(hk_txn *t, int db, const void *key, size_t klen, MDB_val *val);
int hk_put(hk_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen,
           unsigned flags);
uint64_t hk_rd64(const uint8_t *p);
uint64_t hk_time_key(int64_t usec);
/* The `timeline` key of document id for patient pid at created (µs):
 * buf holds HK_PATIENT_ID_MAX + 17 bytes. \return its length. */
size_t hk_timeline_key(uint8_t *buf, const char *pid, int64_t created, const uint8_t id[8]);

/* ---- documents (hk-store-versions.c) ---- */

int hk_current_version(hk_txn *t, const uint8_t id[8], HkVersion **out);
size_t hk_source_key(uint8_t *buf, size_t cap, const char *name, const char *source_id);

/* ---- patients (hk-store-patients.c, hk-store-census.c) ---- */
/* The IDs (char*, g_free) a patient search finds, at most limit, in the
 * order GET /patients answers them. */
int hk_search_patient_ids(hk_txn *t, const char *query, unsigned limit, GPtrArray *ids);
/* The IDs of the census entries, of one ward if ward is non-NULL, in key
 * order. */
int hk_census_ids(hk_txn *t, const char *ward, GPtrArray *ids);
/* ---- patient rows (hk-store-patient-rows.c) ---- */
/* Write the row of patient p in t. */
int hk_patient_row_store(hk_txn *t, const HkPatient *p);
/* ---- rows (hk-store-rows.c) ---- */
/* For verify: compare the row stored under key in db with want (what its
 * record encodes to; NULL if it cannot be encoded), printing "LABEL NAME:
 * missing (HINT)", "... does not decode" or "... differs" to err and
 * counting it in *bad. \return 0 or a store error. */
int hk_row_check_one(hk_txn *t, int db, const void *key, size_t klen, const GByteArray *want,
                     int (*decodes)(const void *, size_t), const char *label, const char *name,
                     const char *missing_hint, FILE *err, uint64_t *bad);

/* ---- texts (hk-store-texts.c) ---- */
/* Queue the text extraction of version `version` of document id. */
int hk_text_queue(hk_txn *t, const uint8_t id[8], uint32_t version);

/* Write the row of document d (binary ID id) in t. */
int hk_row_store(hk_txn *t, const uint8_t id[8], const HkDocument *d);
/* Rewrite the row of document id from its records (after a withdrawal or
 * a refusal, or by the migration). */
int hk_row_refresh(hk_txn *t, const uint8_t id[8]);

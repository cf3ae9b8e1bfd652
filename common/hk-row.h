/* hk-row.h: the list record ("row") of a document, the codec of the store's
 * `rows` table (docs/store.md, "Rows").
 *
 * A row holds exactly what a timeline entry shows of a document, in a
 * binary layout of fixed-width big-endian fields and length-prefixed
 * strings, so that a timeline is answered from the row's bytes without
 * parsing the JSON version records (which stay the record, for export and
 * for GET /documents/{id}). It is derived data: hk_row_encode makes it
 * from the document, and `hikae-admin verify` checks that every stored row
 * is byte for byte what its document's records encode to. */
#pragma once

#include "hk-version.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first byte of every row: its layout. A reader refuses any other. */
#define HK_ROW_VERSION 1

enum {
  HK_ROW_WITHDRAWN = 1 << 0, /* the current version was withdrawn at its source */
  HK_ROW_REPLACED = 1 << 1,  /* the document has more than one version */
};

/* A string inside a row: not NUL-terminated; p is NULL for a null. */
typedef struct {
  const char *p;
  uint32_t len;
} HkRowStr;

/* One version of the document, as the row lists it. */
typedef struct {
  uint32_t version;
  int64_t ingested_at;
  uint64_t size;
  const uint8_t *sha256; /* 32 bytes */
  HkRowStr patient_id;
} HkRowVersion;

/* One refused newer version. */
typedef struct {
  int64_t at;
  HkRowStr reason;
  HkRowStr sha256; /* hex, or null */
} HkRowRefusal;

/* A decoded row: every pointer points into the row's bytes (valid while
 * they are, i.e. until the transaction that read them ends). */
typedef struct {
  uint8_t flags;    /* HK_ROW_* */
  uint32_t version; /* the current version */
  uint8_t doc_id[8];
  int64_t created_usec;
  int64_t ingested_at;
  uint64_t size;
  const uint8_t *sha256; /* 32 bytes */
  int64_t moved_at;      /* ingested_at of the version that moved it, 0 if never moved */
  uint32_t n_versions;
  uint32_t n_refused;
  HkRowStr patient_id, source_id, type, title, author, department, created_at, content_type, code,
      source_name;
  HkRowStr moved_from;        /* the patient before the move, null if never moved */
  const uint8_t *versions_at; /* for hk_row_next_version */
  const uint8_t *refused_at;  /* for hk_row_next_refusal */
} HkRow;

/* Append the row of d to out. -HK_ECORRUPT if d cannot be encoded (a
 * document ID or SHA-256 that is not lowercase hex). */
int hk_row_encode(const HkDocument *d, GByteArray *out);
/* Check the whole of data as a row and decode its fixed part.
 * \return 0, or -HK_ECORRUPT for another row version, a length that
 * passes its end, or bytes left over. */
int hk_row_decode(const void *data, size_t len, HkRow *out);
/* The versions (oldest first) and refusals of a decoded row: *at starts at
 * row->versions_at (row->refused_at) and moves to the next entry. */
void hk_row_next_version(const uint8_t **at, HkRowVersion *out);
void hk_row_next_refusal(const uint8_t **at, HkRowRefusal *out);

/* The parts of the codec that other row layouts share (hk-patient-row.c):
 * an unsigned big-endian integer of 1-8 bytes, and a string (4-byte
 * length, 0xFFFFFFFF for null, then the bytes). hk_row_str reads the
 * string at *at, checked against end if end is non-NULL, and moves *at
 * past it; false if it passes end. */
void hk_row_put(GByteArray *out, uint64_t v, unsigned bytes);
void hk_row_put_str(GByteArray *out, const char *s);
uint64_t hk_row_get(const uint8_t *p, unsigned bytes);
bool hk_row_str(const uint8_t **at, const uint8_t *end, HkRowStr *out);

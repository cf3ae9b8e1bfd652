/* hk-version.h: one stored version of a document, and the document view
 * (its identity, every version, whether it was withdrawn). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define HK_DOC_ID_LEN 16 /* hex digits of the 64-bit document ID */

typedef struct {
  char doc_id[HK_DOC_ID_LEN + 1];
  uint32_t version; /* 1 for the first; assigned by the store */
  char *patient_id;
  char *source_id;
  char *type;
  char *title;
  char *author;     /* may be NULL */
  char *department; /* may be NULL */
  char *content_type;
  char *created_at; /* RFC 3339 as the source gave it */
  int64_t created_usec;
  int64_t ingested_at; /* usec since epoch; set by the store */
  char sha256[65];
  uint64_t size;
  char *source;     /* where it came from: drop path or SS-MIX2 file */
  char *code;       /* LOINC document code (may be NULL) */
  char *code_name;  /* display name of code (may be NULL) */
} HkVersion;

typedef struct {
  GPtrArray *versions; /* HkVersion*, oldest first; never empty */
  bool withdrawn;      /* the current version was withdrawn at its source */
  char *withdrawn_reason;
  int64_t withdrawn_at;
} HkDocument;

HkVersion *hk_version_new(void);
void hk_version_free(HkVersion *v);
HkVersion *hk_version_copy(const HkVersion *v);

/* Serialize to compact JSON (g_free). */
char *hk_version_to_json(const HkVersion *v);

/* Parse JSON written by hk_version_to_json. Returns 0 or -HK_ECORRUPT. */
int hk_version_from_json(const char *json, size_t len, HkVersion **out);

/* The document ID of a source_id: the first 8 bytes of its SHA-256 in hex,
 * so a document keeps its ID however often the store is rebuilt. */
void hk_version_doc_id(const char *source_id, char out[HK_DOC_ID_LEN + 1]);

/* True if type is one of the document types of interfaces.md. */
bool hk_version_type_valid(const char *type);

/* LOINC code and name for a document type, or NULL. */
const char *hk_version_type_loinc(const char *type, const char **name);

HkDocument *hk_document_new(void);
void hk_document_free(HkDocument *d);
/* The newest version. */
const HkVersion *hk_document_current(const HkDocument *d);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkVersion, hk_version_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkDocument, hk_document_free)

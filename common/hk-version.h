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
  /* The named source it came from (docs/drop-folder.md, "Source names").
   * NULL on input means the default name for its source_id
   * (hk_source_default_name); the store sets it. Format-1 versions migrated
   * to format 2 do not carry it: the document's registry entry does. */
  char *source_name;
} HkVersion;

/* A newer version of a document that was refused as suspect (quarantined,
 * never made current): when, why, and the SHA-256 of the refused bytes. */
typedef struct {
  int64_t at;
  char *reason;
  char *sha256; /* may be NULL */
  uint64_t quarantine_seq;
} HkRefusal;

/* A document whose current version belongs to another patient than an
 * earlier one: what a timeline row of patient shown_under says about it. */
typedef enum { HK_MOVE_NONE = 0, HK_MOVE_TO, HK_MOVE_FROM } HkMoveKind;

typedef struct {
  HkMoveKind kind;
  const char *other_patient; /* points into the document */
  int64_t at;                /* ingested_at of the version that moved it */
} HkMove;

typedef struct {
  GPtrArray *versions; /* HkVersion*, oldest first; never empty */
  bool withdrawn;      /* the current version was withdrawn at its source */
  char *withdrawn_reason;
  int64_t withdrawn_at;
  char *source_name;   /* the source it belongs to */
  GPtrArray *refused;  /* HkRefusal*, oldest first; may be empty */
} HkDocument;

HkVersion *hk_version_new(void);
void hk_version_free(HkVersion *v);
HkVersion *hk_version_copy(const HkVersion *v);

/* Serialize to compact JSON (g_free). */
char *hk_version_to_json(const HkVersion *v);

/* Parse JSON written by hk_version_to_json. Returns 0 or -HK_ECORRUPT. */
int hk_version_from_json(const char *json, size_t len, HkVersion **out);

/* The format-1 document ID of a source_id: the first 8 bytes of its
 * SHA-256 in hex. Migrated format-1 documents keep it. */
void hk_version_doc_id(const char *source_id, char out[HK_DOC_ID_LEN + 1]);
/* The document ID of a new document (format 2): the first 8 bytes of
 * SHA-256(source_name NUL source_id), so two sources never share an ID and
 * a document keeps its ID however often the store is rebuilt. */
void hk_version_doc_id_named(const char *source_name, const char *source_id,
                             char out[HK_DOC_ID_LEN + 1]);
/* A document ID between its 16 lowercase hex digits and its 8 bytes (the
 * store's keys). -HK_EINVAL for anything but 16 lowercase hex digits. */
int hk_version_doc_id_bin(const char *hex, uint8_t out[8]);
void hk_version_doc_id_hex(const uint8_t bin[8], char out[HK_DOC_ID_LEN + 1]);

#define HK_SOURCE_NAME_MAX 64
#define HK_SOURCE_DROP_DEFAULT "drop"
#define HK_SOURCE_SSMIX2_DEFAULT "ssmix2"
/* 1-64 of A-Za-z0-9._- , not starting with '.' or '-'. */
bool hk_source_name_valid(const char *name);
/* The name of an unnamed source: "ssmix2" for an SS-MIX2 source_id
 * ("SSMIX2:..."), "drop" for any other. The bare --drop DIR and --ssmix2
 * DIR get these, and hikae-admin migrate gives them to format-1 documents. */
const char *hk_source_default_name(const char *source_id);

/* True if type is one of the document types of interfaces.md. */
bool hk_version_type_valid(const char *type);

/* LOINC code and name for a document type, or NULL. */
const char *hk_version_type_loinc(const char *type, const char **name);

HkDocument *hk_document_new(void);
void hk_document_free(HkDocument *d);
/* The newest version. */
const HkVersion *hk_document_current(const HkDocument *d);
/* What a row of patient shown_under says about a document that changed
 * patient: HK_MOVE_TO (moved away to other_patient at at) if the current
 * version is another patient's, HK_MOVE_FROM if the current version is
 * shown_under's but an earlier one was another's, else HK_MOVE_NONE. */
void hk_document_move(const HkDocument *d, const char *shown_under, HkMove *out);
/* True if some version of d belongs to patient_id. */
bool hk_document_has_patient(const HkDocument *d, const char *patient_id);
void hk_refusal_free(HkRefusal *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkVersion, hk_version_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkDocument, hk_document_free)

/* hk-api.h: the answers of the archive's HTTP API (interfaces.md) as plain
 * records, and their parsers.
 *
 * The parsers are kept apart from HkClient so that they can be tested
 * without a network. They accept what the contract fixes and tolerate what it
 * leaves open (missing optional fields, extra fields). Times become
 * GDateTime; a time that does not parse is left NULL rather than failing the
 * whole answer, because a downtime viewer must still show the document. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HK_API_ERROR (hk_api_error_quark())
GQuark hk_api_error_quark(void);

typedef enum {
  HK_API_ERROR_PARSE, /* the answer is not the JSON the contract promises */
} HkApiError;

/* GET /api/v1/status */
typedef struct {
  gint64 documents;
  gint64 patients;
  GDateTime *archive_as_of;    /* may be NULL */
  GDateTime *last_document_at; /* may be NULL */
  char *indexer;               /* "running", "sealed", "stopped" */
  char *sealed_reason;         /* may be NULL */
} HkStatusInfo;

/* One allergy of GET /api/v1/patients/{id}. */
typedef struct {
  char *allergen;
  char *reaction; /* may be NULL */
  char *severity; /* may be NULL */
} HkAllergyInfo;

/* One problem; the contract leaves its shape open, so a bare string is the
 * name and an object may give code, name and onset. */
typedef struct {
  char *code; /* may be NULL */
  char *name;
  char *onset; /* may be NULL */
} HkProblemInfo;

/* What the archive says of a clinical fact (allergies, problems,
 * admission): "unreadable" means its newest source message could not be
 * read, so what is shown is the last readable state and may be stale. */
typedef struct {
  gboolean unreadable;
  char *reason;     /* may be NULL */
  GDateTime *since; /* may be NULL */
} HkFactInfo;

/* A patient: a search result (identity only), a census line (identity and
 * bed) or the full record (everything). */
typedef struct {
  char *id;
  char *name;              /* may be NULL */
  char *kana;              /* may be NULL */
  char *birth_date;        /* YYYY-MM-DD; may be NULL */
  char *sex;               /* may be NULL */
  GPtrArray *allergies;    /* HkAllergyInfo*; NULL if the answer had none listed */
  GPtrArray *problems;     /* HkProblemInfo*; NULL likewise */
  gboolean admitted;       /* has a current admission */
  char *ward, *room, *bed; /* may be NULL */
  GDateTime *admitted_at;  /* may be NULL */
  HkFactInfo allergies_state;
  HkFactInfo problems_state;
  HkFactInfo admission_state;
} HkPatientInfo;

/* One version in a document's history. */
typedef struct {
  guint version;
  GDateTime *ingested_at;
  gint64 size;
  char *sha256;
} HkVersionInfo;

/* One page of a document where a text search matched (docs/api.md,
 * "matches"): the snippet around the match and where the term is in it. */
typedef struct {
  guint page;    /* 1-based */
  char *snippet; /* UTF-8 */
  GArray *marks; /* guint pairs: start and length, in characters of snippet */
} HkDocMatch;

/* GET /api/v1/documents/{id}, or one entry of a patient's documents. */
typedef struct {
  char *id;
  char *patient_id;
  char *source_id;
  char *type;
  char *title;
  char *author;     /* may be NULL */
  char *department; /* may be NULL */
  GDateTime *created_at;
  GDateTime *ingested_at;
  char *content_type;
  gint64 size;
  char *sha256;
  guint version;        /* the version this record describes */
  guint latest_version; /* newest version known (>= version) */
  gboolean withdrawn;
  char *withdrawn_reason; /* may be NULL */
  GPtrArray *versions;    /* HkVersionInfo*, may be empty */
  /* The document changed patient: "to" (shown under the patient it left;
   * it now belongs to moved_patient) or "from"; NULL if it never moved. */
  char *moved_direction;
  char *moved_patient;
  GDateTime *moved_at;
  /* Newer versions refused as suspect (quarantined), the latest first. */
  guint refused_count;
  GDateTime *refused_at;
  char *refused_reason;
  /* The pages a text search matched (HkDocMatch*), or NULL when the list
   * was not a search. */
  GPtrArray *matches;
} HkDocInfo;

/* GET /api/v1/search: documents of every patient whose text matched, one
 * hit per document, with the patient it is filed under. */
typedef struct {
  HkPatientInfo *patient;
  HkDocInfo *doc; /* with matches */
} HkTextHit;

typedef struct {
  GPtrArray *hits;   /* HkTextHit*, in the server's order */
  gint64 unsearched; /* documents the server could not search yet */
} HkTextSearch;

void hk_text_search_free(HkTextSearch *s);
void hk_status_info_free(HkStatusInfo *s);
HkStatusInfo *hk_status_info_copy(const HkStatusInfo *s);
void hk_allergy_info_free(HkAllergyInfo *a);
void hk_problem_info_free(HkProblemInfo *p);
void hk_patient_info_free(HkPatientInfo *p);
HkPatientInfo *hk_patient_info_copy(const HkPatientInfo *p);
/* Census order: by ward, then room, then bed (byte order; a missing field
 * first). a and b point to HkPatientInfo* elements, as g_ptr_array_sort()
 * passes them. */
int hk_patient_info_compare_bed(gconstpointer a, gconstpointer b);
void hk_version_info_free(HkVersionInfo *v);
void hk_doc_match_free(HkDocMatch *m);
/* The text of m's first mark, as the document writes it, or NULL. */
char *hk_doc_match_dup_term(const HkDocMatch *m);
void hk_doc_info_free(HkDocInfo *d);
HkDocInfo *hk_doc_info_copy(const HkDocInfo *d);

/* TRUE if this record is an older version than the newest one. */
gboolean hk_doc_info_is_old_version(const HkDocInfo *d);

/* Each parser takes the body of an answer. It returns the record (free with
 * the matching _free) or NULL and sets HK_API_ERROR_PARSE. */
HkStatusInfo *hk_api_parse_status(const char *body, gssize len, GError **error);
/* GET /patients?q= : a GPtrArray of HkPatientInfo* (owning). */
GPtrArray *hk_api_parse_patients(const char *body, gssize len, GError **error);
HkPatientInfo *hk_api_parse_patient(const char *body, gssize len, GError **error);
/* GET /patients/{id}/documents : a GPtrArray of HkDocInfo*; *next_cursor is
 * set to the cursor for the next page or NULL at the end. With ?q=,
 * *unsearched (if not NULL) gets the answer's "unsearched": documents whose
 * text the server could not search yet (0 when absent). */
GPtrArray *hk_api_parse_documents(const char *body, gssize len, char **next_cursor,
                                  gint64 *unsearched, GError **error);
HkDocInfo *hk_api_parse_document(const char *body, gssize len, GError **error);
/* GET /census : a GPtrArray of HkPatientInfo* with the bed fields set. */
GPtrArray *hk_api_parse_census(const char *body, gssize len, GError **error);

/* A rectangle where a search's words are on a scanned page, in fractions
 * of the page's width and height from its top left corner (0..1). */
typedef struct {
  double x0, y0, x1, y1;
} HkHighlightBox;

/* GET /documents/{id}/highlights: the rectangles (HkHighlightBox), at
 * most HK_API_HIGHLIGHTS_MAX; a rectangle out of the page, with its
 * corners swapped, or not of 4 numbers is refused (HK_API_ERROR_PARSE). */
#define HK_API_HIGHLIGHTS_MAX 16384u
GArray *hk_api_parse_highlights(const char *body, gssize len, GError **error);
/* GET /search?q= : {"results":[{"patient":{...},"documents":[...]}],
 * "unsearched"}. A result without a patient ID, or a document without an
 * ID, is dropped: a hit must never be shown under no one. */
HkTextSearch *hk_api_parse_text_search(const char *body, gssize len, GError **error);
/* Error answers {"error","message","retry_after_s"?}. Any field may be
 * missing; a body that is not JSON leaves all of them NULL / -1. */
void hk_api_parse_error(const char *body, gssize len, char **code, char **message,
                        gint64 *retry_after_s);

/* TRUE if bytes hash to sha256 (hex, any case). The server serves a
 * document's bytes from its store without hashing them again; the viewer
 * checks them against the record before it shows or prints them, so that a
 * damaged copy is never taken for the document. */
gboolean hk_api_sha256_matches(GBytes *bytes, const char *sha256);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkStatusInfo, hk_status_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkPatientInfo, hk_patient_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkDocInfo, hk_doc_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkTextSearch, hk_text_search_free)

G_END_DECLS

/* hk-ssmix2.h: the SS-MIX2 source of hikae-indexer (issue 3).
 *
 * Walks a standardized or extended storage
 * (root/pid[0:3]/pid[3:6]/pid/<date or ->/<data type>/<file or content folder>)
 * and turns what changed since the last walk into store records:
 *
 * - ADT-00, ADT-61, PPR-01, ADT-22/42/52 (with their cancels A11/A12/A13)
 *   change the patient: identity, allergies, problems, admission (census).
 *   These are facts of the whole patient folder, so a change to any of
 *   them re-derives the patient from every current (flag 1) file of the
 *   patient: renames and deletions need no bookkeeping of their own.
 * - OML-11 becomes a text/plain lab_report, OMP-01/OMP-02 a text/plain
 *   prescription, extended storage a document typed from the LOINC code of
 *   its data-type folder. Their source_id is "SSMIX2:<pid>:<data type>:<order
 *   no>", so the superseded (flag 2) and current (flag 1) files of an order
 *   are versions of one document; flag 0 withdraws the current version.
 * - A file whose name, folders and PID-3 disagree on the patient, or that
 *   does not parse, is quarantined with the reason; it is recorded as done
 *   so that it is not quarantined again until it changes.
 * - A patient-fact message must be whole (ends with CR, every allergy and
 *   problem segment names its fact, census messages hold PV1); one that is
 *   not is quarantined as suspect, and the fact it carries keeps what the
 *   store held, marked unreadable (HkPatient.allergies_unreadable ...).
 * - A content folder without main_document.hl7 is archived from its
 *   attachments; a changed current folder whose attachment is missing, no
 *   longer reads, or changed type is quarantined as suspect and the current
 *   version stays.
 *
 * The source tree is only read: files are opened O_RDONLY|O_NOFOLLOW and
 * symbolic links are never followed. docs/ssmix2.md has the whole mapping. */
#pragma once

#include "hk-store.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint64_t files;               /* message files and content folders found */
  uint64_t unchanged;           /* skipped: same as at the last walk */
  uint64_t messages;            /* messages parsed (changed files) */
  uint64_t added;               /* document versions written */
  uint64_t same;                /* document bytes already current: no-op */
  uint64_t history;             /* flag 2 files of a document that already has a newer version */
  uint64_t withdrawn;           /* flag 0 files that withdrew a document */
  uint64_t nothing_to_withdraw; /* flag 0 files of a document never stored */
  uint64_t patients;            /* patient records written */
  uint64_t ignored;             /* valid messages of data types hikae does not use */
  uint64_t quarantined;         /* bad_input */
  uint64_t suspect;             /* files that parsed at an earlier walk and no longer do */
  uint64_t commits;
  uint64_t grows; /* map grown (batch redone) */
  uint64_t replaced; /* new versions of documents stored before this walk */
} HkSsmix2Stats;

/* Walk root once and write what changed, in write transactions of at most
 * a few hundred files (a full map is grown and the batch redone).
 *
 * \param s      the store, opened for writing; no transaction open
 * \param root   the storage root (read-only)
 * \param stats  counters, added to (may be NULL)
 * \return 0 (bad files are quarantined, not errors); -HK_ENOTFOUND if
 *         root is not a readable folder; -HK_ESEALED if the store is
 *         sealed; another -HK_E code if the store fails (what was committed
 *         before stays). */
int hk_ssmix2_scan(hk_store *s, const char *root, HkSsmix2Stats *stats);
/* hk_ssmix2_scan for the source named source_name (its documents' IDs are
 * namespaced by it); hk_ssmix2_scan uses HK_SOURCE_SSMIX2_DEFAULT. */
int hk_ssmix2_scan_named(hk_store *s, const char *source_name, const char *root,
                         HkSsmix2Stats *stats);

/* ---- the pieces, public for tests ---- */

typedef struct {
  char *pid;
  char *date;     /* YYYYMMDD or "-" */
  char *datatype; /* "ADT-00", "OML-11", "11506-3^経過記録^LN"... */
  char *order_no;
  char *timestamp; /* YYYYMMDDHHMMSSfff */
  char *dept;      /* NULL in the 6-part extended-storage name */
  int flag;        /* 0 deleted, 1 current, 2 superseded */
} HkSsmix2Name;

/* Parse a 7-part (pid_date_type_order_timestamp_dept_flag) or 6-part
 * (no dept, seen in extended storage) file or content-folder name. A data
 * type holding '_' is found by expected_type (the folder's name) if given.
 * \return 0; -HK_EINVAL with *reason (g_free) if it is neither. */
int hk_ssmix2_name_parse(const char *name, const char *expected_type, HkSsmix2Name *out,
                         char **reason);
void hk_ssmix2_name_clear(HkSsmix2Name *n);

/* The hikae document type of an extended-storage data-type folder name
 * ("11506-3^..." -> "progress_note"); "other" for any other code. */
const char *hk_ssmix2_doc_type(const char *datatype);

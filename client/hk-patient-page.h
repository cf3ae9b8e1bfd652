/* hk-patient-page.h: one patient. A header that never scrolls away
 * (identity, bed, allergy banner, problems) over a timeline of documents,
 * newest first, grouped by date, with type and date filters and a choice of
 * documents for a transfer pack. */
#pragma once

#include "hk-api.h"
#include "hk-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_PATIENT_PAGE (hk_patient_page_get_type())
G_DECLARE_FINAL_TYPE(HkPatientPage, hk_patient_page, HK, PATIENT_PAGE, GtkWidget)

void hk_patient_page_set_client(HkPatientPage *self, HkClient *client);
/* Load patient id and its timeline; emits "failed" (const char *message),
 * or "loaded" once the header is shown, the whole document list has been
 * received (hk_patient_page_get_documents) and the count line and the first
 * rows of the timeline are in place. A long timeline's other rows are
 * appended after the first frame, in idle batches; the count line says so
 * ("Showing 100 of 2000 documents; the rest are being added…") and the
 * spinner turns until "timeline-complete", emitted when every document has
 * its row (before or after "loaded": the two answers may come in either
 * order). */
void hk_patient_page_load(HkPatientPage *self, const char *id);
/* The same, with words in the search field: the timeline shows only the
 * documents that contain them (a hit of the search across patients). */
void hk_patient_page_load_search(HkPatientPage *self, const char *id, const char *words);
/* The words the list shown (or being fetched) was searched for, or NULL. */
const char *hk_patient_page_get_query(HkPatientPage *self);
void hk_patient_page_clear(HkPatientPage *self);
/* The patient shown, or NULL. */
const HkPatientInfo *hk_patient_page_get_patient(HkPatientPage *self);
/* Documents in the timeline (after filters): HkDocInfo* (borrowed). */
GPtrArray *hk_patient_page_get_documents(HkPatientPage *self);
/* The ticked documents, in timeline order (g_strfreev). */
char **hk_patient_page_dup_selected(HkPatientPage *self);
void hk_patient_page_set_selected(HkPatientPage *self, const char *doc_id, gboolean selected);
const char *hk_patient_page_get_allergy_text(HkPatientPage *self);
gboolean hk_patient_page_has_allergies(HkPatientPage *self);
const char *hk_patient_page_get_location_text(HkPatientPage *self);
/* "loaded" has been emitted for the current load (see above). */
gboolean hk_patient_page_is_loaded(HkPatientPage *self);
/* Every document of the list has its row in the timeline. */
gboolean hk_patient_page_is_timeline_complete(HkPatientPage *self);
/* Rows in the timeline now: the first n of hk_patient_page_get_documents. */
guint hk_patient_page_get_n_rows(HkPatientPage *self);
/* Rows built before the first frame and per idle batch after it (tests;
 * 0: the defaults, 100 and 200), from the next answer on. */
void hk_patient_page_set_batch_sizes(HkPatientPage *self, guint first_rows, guint batch_rows);
/* The timeline loads the newest HK_PATIENT_PAGE_MAX_DOCS documents; when
 * more exist, has_more is TRUE and the count line says so. */
#define HK_PATIENT_PAGE_MAX_DOCS 2000
gboolean hk_patient_page_has_more(HkPatientPage *self);
const char *hk_patient_page_get_count_text(HkPatientPage *self);
/* Another limit (tests; 0: the default), from the next load on. */
void hk_patient_page_set_max_documents(HkPatientPage *self, guint max_docs);

G_END_DECLS

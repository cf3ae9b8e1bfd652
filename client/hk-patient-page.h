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
/* Load patient id and its timeline; emits "loaded" when both are shown, or
 * "failed" (const char *message). */
void hk_patient_page_load(HkPatientPage *self, const char *id);
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
gboolean hk_patient_page_is_loaded(HkPatientPage *self);
/* The timeline loads the newest HK_PATIENT_PAGE_MAX_DOCS documents; when
 * more exist, has_more is TRUE and the count line says so. */
#define HK_PATIENT_PAGE_MAX_DOCS 2000
gboolean hk_patient_page_has_more(HkPatientPage *self);
const char *hk_patient_page_get_count_text(HkPatientPage *self);
/* Another limit (tests; 0: the default), from the next load on. */
void hk_patient_page_set_max_documents(HkPatientPage *self, guint max_docs);

G_END_DECLS

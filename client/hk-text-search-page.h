/* hk-text-search-page.h: words in the documents of every patient
 * (GET /api/v1/search), for the clinician_search role only: one row per
 * document found, under its patient's ID, name and birth date, with its
 * snippets. Opening a row opens that patient with the same words in the
 * patient page's search field, so the timeline shows that patient's hits. */
#pragma once

#include "hk-api.h"
#include "hk-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_TEXT_SEARCH_PAGE (hk_text_search_page_get_type())
G_DECLARE_FINAL_TYPE(HkTextSearchPage, hk_text_search_page, HK, TEXT_SEARCH_PAGE, GtkWidget)

void hk_text_search_page_set_client(HkTextSearchPage *self, HkClient *client);
/* Forget the words and the results (lock, logout). */
void hk_text_search_page_clear(HkTextSearchPage *self);
void hk_text_search_page_focus(HkTextSearchPage *self);
/* Put text in the field and search now. */
void hk_text_search_page_set_query(HkTextSearchPage *self, const char *text);
/* Rows shown; -1 while a search runs. */
int hk_text_search_page_get_n_results(HkTextSearchPage *self);
/* The heading line (count, what could not be searched, or the error). */
const char *hk_text_search_page_get_heading(HkTextSearchPage *self);
/* The patient ID and document ID of row i, or NULL. */
const char *hk_text_search_page_get_result_patient(HkTextSearchPage *self, int i);
const char *hk_text_search_page_get_result_doc(HkTextSearchPage *self, int i);
/* Open row i (as Enter on it). */
void hk_text_search_page_activate_result(HkTextSearchPage *self, int i);

G_END_DECLS

/* hk-search-page.h: one field for an ID, kana, a name or a birth date; the
 * results (ID, name, kana, birth date, age, sex) driven by the keyboard:
 * type, Down, arrows, Enter. Empty field: this session's recent patients. */
#pragma once

#include "hk-api.h"
#include "hk-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_SEARCH_PAGE (hk_search_page_get_type())
G_DECLARE_FINAL_TYPE(HkSearchPage, hk_search_page, HK, SEARCH_PAGE, GtkWidget)

void hk_search_page_set_client(HkSearchPage *self, HkClient *client);
/* Forget the query, the results and the recent patients (lock, logout). */
void hk_search_page_clear(HkSearchPage *self);
/* Remember p (copied) as recently opened, newest first. */
void hk_search_page_add_recent(HkSearchPage *self, const HkPatientInfo *p);
void hk_search_page_focus(HkSearchPage *self);
/* Put text in the field and search now. */
void hk_search_page_set_query(HkSearchPage *self, const char *text);
/* Rows shown (results, or recent patients); -1 while a search runs. */
int hk_search_page_get_n_results(HkSearchPage *self);
/* The patient ID of row i, or NULL. */
const char *hk_search_page_get_result_id(HkSearchPage *self, int i);
/* Open row i (as Enter on it). */
void hk_search_page_activate_result(HkSearchPage *self, int i);

G_END_DECLS

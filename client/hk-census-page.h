/* hk-census-page.h: current inpatients by ward, from /api/v1/census, so
 * that ward staff need not rebuild the list by hand, and can print it as a
 * ward list. */
#pragma once

#include "hk-client.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_CENSUS_PAGE (hk_census_page_get_type())
G_DECLARE_FINAL_TYPE(HkCensusPage, hk_census_page, HK, CENSUS_PAGE, GtkWidget)

void hk_census_page_set_client(HkCensusPage *self, HkClient *client);
void hk_census_page_refresh(HkCensusPage *self);
void hk_census_page_clear(HkCensusPage *self);
/* Inpatients shown; -1 while loading. */
int hk_census_page_get_n_rows(HkCensusPage *self);

/* The "census.print" action (the Print button) prints the shown ward (or
 * every ward) as a ward list (hk-ward-list.h), loaded afresh and recorded
 * with the server first (hk_print_run_ward_list_async). A failure is
 * emitted as the "failed" signal, with the message.
 *
 * Print to this PDF (GtkPrintOperation export) instead of opening the print
 * dialog: for tests. NULL resets. */
void hk_census_page_set_print_export(HkCensusPage *self, const char *pdf_path);
/* TRUE from the click until the print has ended (or failed). */
gboolean hk_census_page_is_printing(HkCensusPage *self);

G_END_DECLS

/* hk-census-page.h: current inpatients by ward, from /api/v1/census, so
 * that ward staff need not rebuild the list by hand. */
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

G_END_DECLS

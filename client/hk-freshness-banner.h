/* hk-freshness-banner.h: "Archive current as of 08:42 (3 min ago)", always
 * on screen, red with the reason when the archive is stale or its indexer
 * sealed or stopped. Polls /api/v1/status while a client is set. */
#pragma once

#include "hk-client.h"
#include "hk-format.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HK_TYPE_FRESHNESS_BANNER (hk_freshness_banner_get_type())
G_DECLARE_FINAL_TYPE(HkFreshnessBanner, hk_freshness_banner, HK, FRESHNESS_BANNER, GtkWidget)

/* Start polling client (NULL: stop, and say "not connected"). */
void hk_freshness_banner_set_client(HkFreshnessBanner *self, HkClient *client);
void hk_freshness_banner_set_threshold(HkFreshnessBanner *self, int stale_minutes);
/* Show status now (tests and the first answer after login). */
void hk_freshness_banner_update(HkFreshnessBanner *self, const HkStatusInfo *status);
HkFreshness hk_freshness_banner_get_state(HkFreshnessBanner *self);
const char *hk_freshness_banner_get_text(HkFreshnessBanner *self);
/* The last status answered, or NULL. */
const HkStatusInfo *hk_freshness_banner_get_status(HkFreshnessBanner *self);

G_END_DECLS

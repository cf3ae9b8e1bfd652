/* hk-ssmix2-hook.h: where the indexer's scan loop hands an SS-MIX2 root to
 * the SS-MIX2 source (hk-ssmix2.c). */
#pragma once

#include "hk-ingest.h"

/* Look at every changed file under root and queue it into ing. */
int hk_ssmix2_hook_scan(hk_ingest *ing, const char *root);

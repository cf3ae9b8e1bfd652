/* hk-ssmix2-hook.h: where the indexer's scan loop hands an SS-MIX2 root to
 * the SS-MIX2 source (hk-ssmix2.c). */
#pragma once

#include "hk-ingest.h"

/* Look at every changed file under root, the SS-MIX2 source named
 * source_name, and write it into ing's store. */
int hk_ssmix2_hook_scan(hk_ingest *ing, const char *source_name, const char *root);

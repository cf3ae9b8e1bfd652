/* hk-thumbq.h: draws the thumbnails queued in the store (PDF first pages),
 * after their documents are already readable, in parallel child processes.
 * The queue lives in the store, so a crash loses no thumbnail. */
#pragma once

#include "hk-store.h"

/* Draw up to max queued thumbnails, parallel at once, and store them. A
 * page that cannot be drawn is taken off the queue (the document stays;
 * the viewer shows a type icon). *left says how many may remain.
 * \return 0 or a store error. */
int hk_thumbq_drain(hk_store *s, unsigned max, unsigned parallel, unsigned *left);

/* hk-textq.h: extracts the text of the versions queued in the store
 * (`textq`), after they are already visible, as hk-thumbq.c draws
 * thumbnails: PDFs in the confined parser workers (hk-inspect.h), plain
 * text in this process, JPEG scans marked as needing OCR. The queue lives
 * in the store, so a crash loses no extraction; a failed or timed-out one
 * stays queued until it has been tried HK_TEXT_MAX_ATTEMPTS times, then
 * stays failed with its reason. The document is served throughout. */
#pragma once

#include "hk-store.h"

/* Extract the text of up to max queued versions, parallel at once, and
 * store it with its status. *left says whether more may remain.
 * \return 0 or a store error (-HK_ESEALED after a seal: nothing written). */
int hk_textq_drain(hk_store *s, unsigned max, unsigned parallel, unsigned *left);

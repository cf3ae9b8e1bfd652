/* hk-ftsq.h: feeds the full-text index (common/hk-fts.h) from the store's
 * text log, after the texts are committed, as hk-textq.c follows the text
 * queue. The index is derived: when it cannot be opened or written, this
 * logs why and tries again later, and ingest goes on. */
#pragma once

#include "hk-store.h"

#include <stdbool.h>

typedef struct hk_ftsq hk_ftsq;

/* Stores with at most this many documents get their index built by the
 * indexer when it has none (or a damaged one); a larger one waits for
 * `hikae-admin reindex`, which may run beside the indexer: a build holds
 * up ingest for as long as it takes. */
#define HK_FTSQ_AUTOBUILD_MAX 5000

hk_ftsq *hk_ftsq_new(hk_store *s);
void hk_ftsq_free(hk_ftsq *q);

/* Take up to max logged texts into the index, waiting for the child that
 * writes them (--once). *left says whether more may remain. Never fails:
 * a problem with the index is logged (once per reason) and retried after
 * a pause. */
void hk_ftsq_drain(hk_ftsq *q, unsigned max, bool *left);
/* The same without waiting, for the indexer's loop: start a child if
 * there is work and none runs, or take the running child's answer if it
 * is in. Poll hk_ftsq_fd (-1: no child) to know when to call it again. */
void hk_ftsq_step(hk_ftsq *q, unsigned max, bool *left);
int hk_ftsq_fd(const hk_ftsq *q);

/* hk-fts.h: the full-text index (Groonga), derived from the store.
 *
 * Changes to the shape agreed in the contract (prompts/contract.md):
 * - hk_fts_open takes the open store (hk_store *), not its folder: it
 *   reads the store's identity and text sequence to check the index
 *   against them, and LMDB must not be opened twice in one process.
 * - hk_fts_open(writable) does not create an index: hk_fts_rebuild does
 *   (the indexer calls it when hk_fts_open says -HK_ENOTFOUND), so that a
 *   new index holds every text, not only those logged after it.
 * - hk_fts_open may also return -HK_EPERM: Groonga opens its files
 *   read-write even to read them, so a process that may not write the
 *   index's files cannot open it (docs/search.md, "Index").
 * - hk_fts_open(read-only) follows a reindex by itself: each
 *   hk_fts_search checks which generation is current and reopens.
 * - Writer calls (hk_fts_put, hk_fts_set_through, hk_fts_rebuild) are here
 *   too, for the indexer and `hikae-admin reindex`.
 *
 * The index lives in STORE_DIR/search/: a file `current` names the
 * generation folder in use (`gen-<uuid>`), so that a rebuilt index is
 * swapped in with one rename. It is derived: LMDB is the source of truth,
 * and the API re-checks every hit against it. */
#pragma once

#include "hk-store.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct hk_fts hk_fts; /* one handle per thread; not shared between threads */

/* Query limits: characters after trimming, and terms. */
#define HK_FTS_QUERY_MAX 64
#define HK_FTS_TERMS_MAX 8
/* Pages reported per document. */
#define HK_FTS_PAGES_PER_DOC 3
/* Within one patient whose documents have at most this many pages of
 * text, the pages are read from the store and searched directly: the
 * index's cost grows with how common a word is in the whole archive,
 * this with the patient's text only (bench/hk-bench-fts.c). */
#define HK_FTS_SCAN_PAGES 2000
/* Code points of context before a match in a snippet, and a snippet's
 * longest length. */
#define HK_FTS_SNIPPET_BEFORE 30
#define HK_FTS_SNIPPET_MAX 120

/* Open the index that belongs to the open store s (which must outlive f).
 * writable: the indexer (one writer at a time: the caller is the store's
 * writer). read-only: the server; it never writes to the index.
 * \return 0; -HK_ENOTFOUND (no index), -HK_ECORRUPT (cannot be opened, or
 * belongs to another store: the store's identity is recorded in it, or it
 * is ahead of the store's text sequence), -HK_EPERM (its files are not
 * writable by this process: Groonga cannot open them), -HK_EIO. */
int hk_fts_open(hk_store *s, bool writable, hk_fts **out);
void hk_fts_close(hk_fts *f);

/* Why the last call on f failed, for a log or a 503's message (never
 * NULL; "" when there is nothing to say). Holds no document text. */
const char *hk_fts_reason(const hk_fts *f);

/* How far the index is: `through` is the store's text sequence number
 * (hk_store_text_seq) up to which every text is in the index. */
int hk_fts_through(hk_fts *f, uint64_t *through);

typedef struct HkFtsQuery HkFtsQuery;

/* A query: UTF-8, 1..HK_FTS_QUERY_MAX characters after trimming, no
 * control characters; split on white space (ASCII and U+3000) into at
 * most HK_FTS_TERMS_MAX terms, all required (AND, within one document).
 * Each term matches as a literal string after normalisation (NFKC;
 * hiragana = katakana; half-width = full-width; case folded): no user
 * text ever reaches Groonga's query syntax.
 * \return 0, or -HK_EINVAL with a reason the API can show (*message,
 * g_free). */
int hk_fts_query_parse(const char *text, HkFtsQuery **out, char **message);
void hk_fts_query_free(HkFtsQuery *q);
/* The terms of a parsed query, as the user wrote them. */
unsigned hk_fts_query_terms(const HkFtsQuery *q);
const char *hk_fts_query_term(const HkFtsQuery *q, unsigned i);

/* The matches of q's terms in text (len bytes of UTF-8), found as the
 * search finds them (the index's normaliser), as [start, length]
 * code-point ranges of text (unsigned[2]) in order, overlapping ones
 * merged, in *out (g_array_unref, also on error). \return 0, or an error
 * of the index (-HK_ECORRUPT, -HK_ENOTFOUND) or -HK_ENOMEM. */
int hk_fts_match_ranges(hk_fts *f, const HkFtsQuery *q, const char *text, size_t len,
                        GArray **out);

typedef struct {
  const char *doc_id;
  unsigned version;           /* the version whose text matched */
  const char *patient;        /* the patient the version was filed under */
  unsigned page;              /* 1-based; pages of a document in ascending order */
  const char *snippet;        /* UTF-8 text around the first match, <= HK_FTS_SNIPPET_MAX chars */
  const unsigned (*marks)[2]; /* [start, length] in code points within snippet */
  unsigned nmarks;
} HkFtsHit;

/* Called once per matching page, pages of one document in ascending
 * order, documents newest first (the current version's created_at), then
 * in doc_id order. Return non-zero to stop. */
typedef int (*HkFtsHitFn)(const HkFtsHit *hit, void *data);

/* Search: patient NULL = across patients. At most max_docs documents
 * (their pages: at most HK_FTS_PAGES_PER_DOC per document, the first
 * ones that match a term).
 * \return 0 (an empty result is 0 with no calls), -HK_ECORRUPT if the
 * index cannot be read, -HK_ENOTFOUND if it was removed and none took its
 * place, -HK_ENOMEM. */
int hk_fts_search(hk_fts *f, const char *patient, const HkFtsQuery *q, unsigned max_docs,
                  HkFtsHitFn fn, void *data);

/* How hk_fts_search finds the documents (tests and the bench choose; the
 * server leaves AUTO). All give the same answer: the tests run each
 * search every way.
 * - INDEX: each word's pages from the index, grouped by document,
 *   intersected, and the documents sorted. Costs what the words'
 *   postings cost, and a sort of the documents they name.
 * - INDEX_WALK (across patients; within one patient, INDEX): each word's
 *   pages from the index, and the documents walked newest first (an
 *   index on their dates), each looked up in those pages, until max_docs
 *   match: no grouping or sort of the pages of a common word.
 * - STORE: documents read from the store and the words looked for in
 *   their text: one patient's documents, or across patients the
 *   documents newest first until max_docs match. Costs what the text read
 *   costs.
 * - AUTO: STORE for one patient with up to HK_FTS_SCAN_PAGES pages;
 *   otherwise whichever the words' postings say is cheaper
 *   (docs/search.md, "Plans"). */
typedef enum {
  HK_FTS_PLAN_AUTO,
  HK_FTS_PLAN_INDEX,
  HK_FTS_PLAN_INDEX_WALK,
  HK_FTS_PLAN_STORE
} HkFtsPlan;
void hk_fts_set_plan(hk_fts *f, HkFtsPlan plan);
/* The way the last hk_fts_search found its documents (INDEX, INDEX_WALK
 * or STORE), for the bench. */
HkFtsPlan hk_fts_last_plan(const hk_fts *f);

/* ---- the writer (the indexer, `hikae-admin reindex`) ---- */

/* Take the text of the current version of doc_id into the index, reading
 * it in t: its pages replace whatever the index held for the document;
 * a document whose current version has no text (yet) leaves the index.
 * Versions other than the current one are ignored (their text is not
 * searchable). \return 0, -HK_ECORRUPT (the index could not be written),
 * a store error. */
int hk_fts_put(hk_fts *f, hk_txn *t, const char *doc_id);
/* Record that every text through seq is in the index (after the puts),
 * and flush the index to disk (msync of every file), unless deferred. */
int hk_fts_set_through(hk_fts *f, uint64_t seq);
/* From now on set_through (and follow) leave the flush to hk_fts_flush:
 * the indexer's writer takes one text at a time, and a flush of every
 * file per text cost about 80 msync calls each. */
void hk_fts_defer_flush(hk_fts *f);
int hk_fts_flush(hk_fts *f);

/* Follow the text log from `through`: put each logged document, at most
 * max entries, in one read transaction of the store, then record the new
 * `through`. *done is how many entries were taken (0: caught up).
 * A writer whose index was replaced by a rebuild reopens the new one. */
int hk_fts_follow(hk_fts *f, unsigned max, unsigned *done);

/* Build a new index from every text in s, in a new generation folder, and
 * make it current with one rename: an open reader keeps the old one until
 * its next search. *docs counts the documents indexed.
 * \return 0, or an error (the current index is left as it was). */
int hk_fts_rebuild(hk_store *s, uint64_t *docs);

/* Remove the generations `current` does not name (a build that died
 * leaves its folder), unless a rebuild holds the build lock.
 * \return how many were removed, or a negative error. */
int hk_fts_prune(const char *store_dir);

/* The folder the index of store_dir lives in (g_free). */
char *hk_fts_dir(const char *store_dir);

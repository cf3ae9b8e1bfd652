/* hk-ftsq.c: the full-text index follows the store's text log (see
 * hk-ftsq.h). The index is opened for each drain and closed after it, so
 * that a parser worker forked meanwhile (a fork without exec) inherits no
 * writable mapping of its files: LMDB's maps are dropped in such a child
 * (hk-store-env.c), Groonga's cannot be. */
#include "hk-ftsq.h"

#include "hk-error.h"
#include "hk-fts.h"
#include "hk-log.h"

#include <string.h>
#include <sys/stat.h>

/* Seconds before trying an index that failed again. */
#define HK_FTSQ_RETRY_S 30

struct hk_ftsq {
  hk_store *store;
  bool known;        /* through is what the index said last */
  uint64_t through;  /* of the last successful drain */
  char *current;     /* STORE_DIR/search/current */
  ino_t current_ino; /* of that file then: a rebuild replaces it */
  int64_t retry_at;  /* monotonic µs */
  char *last_reason;
};

/* The inode of the file naming the current generation (0 if none). */
static ino_t
hk_ftsq_current_ino(const hk_ftsq *q)
{
  struct stat st;

  return stat(q->current, &st) == 0 ? st.st_ino : 0;
}

hk_ftsq *
hk_ftsq_new(hk_store *s)
{
  hk_ftsq *q = g_new0(hk_ftsq, 1);

  char *dir = hk_fts_dir(hk_store_dir(s));

  q->store = s;
  q->current = g_build_filename(dir, "current", NULL);
  g_free(dir);
  return q;
}

void
hk_ftsq_free(hk_ftsq *q)
{
  if (!q)
    return;
  g_free(q->last_reason);
  g_free(q->current);
  g_free(q);
}

/* Log a problem once per reason, and pause. */
static void
hk_ftsq_problem(hk_ftsq *q, const char *reason)
{
  if (!q->last_reason || strcmp(q->last_reason, reason) != 0)
    hk_warn("search index: %s; ingest goes on, the index is retried every %d s", reason,
            HK_FTSQ_RETRY_S);
  g_free(q->last_reason);
  q->last_reason = g_strdup(reason);
  q->known = false;
  q->retry_at = g_get_monotonic_time() + (int64_t)HK_FTSQ_RETRY_S * G_USEC_PER_SEC;
}

/* The store's text sequence and its document count. */
static int
hk_ftsq_store(hk_ftsq *q, uint64_t *seq, uint64_t *docs)
{
  HkStoreStats st = {0};
  hk_txn *t = NULL;
  int ret = hk_txn_begin(q->store, false, &t);

  if (ret == 0)
    ret = hk_store_text_seq(t, seq);
  if (ret == 0)
    ret = hk_store_stats(t, &st);
  *docs = st.documents;
  hk_indexer_info_clear(&st.indexer);
  if (t)
    hk_txn_abort(t);
  return ret;
}

/* Open the index, building it first when it is missing or damaged and
 * the store is small enough. */
static int
hk_ftsq_open(hk_ftsq *q, uint64_t docs, hk_fts **f)
{
  uint64_t built = 0;
  char *why = NULL;
  int ret = hk_fts_open(q->store, true, f);

  if (ret == -HK_ENOTFOUND || ret == -HK_ECORRUPT) {
    why = g_strdup(ret == -HK_ENOTFOUND ? "no search index" : "the search index is unusable");
    if (docs > HK_FTSQ_AUTOBUILD_MAX) {
      char *r = g_strdup_printf("%s; with %" G_GUINT64_FORMAT
                                " documents the indexer does not build it: run "
                                "`hikae-admin reindex --store %s` (it may run beside the indexer)",
                                why, docs, hk_store_dir(q->store));
      hk_ftsq_problem(q, r);
      g_free(r);
      goto out;
    }
    hk_info("%s: building it from the store", why);
    ret = hk_fts_rebuild(q->store, &built);
    if (ret == 0) {
      hk_info("search index built: %" G_GUINT64_FORMAT " documents", built);
      ret = hk_fts_open(q->store, true, f);
    }
  }
  if (ret)
    hk_ftsq_problem(q, *f ? hk_fts_reason(*f) : hk_strerror(ret));
out:
  g_free(why);
  return ret;
}

void
hk_ftsq_drain(hk_ftsq *q, unsigned max, bool *left)
{
  hk_fts *f = NULL;
  uint64_t seq = 0, docs = 0;
  unsigned done = 0;
  int ret;

  *left = false;
  if (g_get_monotonic_time() < q->retry_at)
    goto out;
  ret = hk_ftsq_store(q, &seq, &docs);
  if (ret) {
    hk_ftsq_problem(q, hk_strerror(ret));
    goto out;
  }
  /* Nothing new since the last drain, and no rebuild since: the index is
   * not even opened. */
  if (q->known && seq <= q->through && hk_ftsq_current_ino(q) == q->current_ino)
    goto out;
  q->current_ino = hk_ftsq_current_ino(q);
  if (hk_ftsq_open(q, docs, &f) != 0)
    goto out;
  ret = hk_fts_follow(f, max, &done);
  if (ret == 0)
    ret = hk_fts_through(f, &q->through);
  if (ret) {
    hk_ftsq_problem(q, hk_fts_reason(f)[0] ? hk_fts_reason(f) : hk_strerror(ret));
    goto out;
  }
  q->known = true;
  *left = q->through < seq;
  if (q->last_reason) {
    hk_info("search index: working again");
    g_clear_pointer(&q->last_reason, g_free);
  }
  if (done)
    hk_debug("search index: %u texts taken, through %" G_GUINT64_FORMAT, done, q->through);
out:
  hk_fts_close(f);
}

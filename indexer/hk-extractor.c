#include "hk-extractor.h"

#include "hk-busy.h"
#include "hk-error.h"
#include "hk-log.h"
#include "hk-textq.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* How long an idle thread waits before it looks at the store again on its
 * own: a seal lifted, a write that failed. New versions kick it at once. */
#define HK_EXTRACTOR_IDLE_S 5
/* Queued versions taken per batch, extracted `workers` at a time and
 * stored in one commit (hk_textq_drain closes a batch after a second). */
#define HK_EXTRACTOR_BATCH 32u
/* Ingest first. Any CPU the workers take, even at the lowest priority,
 * slowed a burst of 200 documents/s by 1.4x on 2 cores (two SCHED_IDLE
 * busy loops did the same: docs/benchmarks.md, "Ingest"). So while ingest
 * has been at work more than this share of the time, over about
 * HK_EXTRACTOR_BUSY_TAU_MS, no batch starts; */
#define HK_EXTRACTOR_BUSY_SHARE 0.5
#define HK_EXTRACTOR_BUSY_TAU_MS 250
/* A commit kicks the thread: whether a burst follows shows in the share
 * within this long, so the first batch after a kick waits it out (at
 * 200 documents/s, a batch started at the burst's first commit forked
 * the workers in the middle of it). */
#define HK_EXTRACTOR_SETTLE_MS 250
/* but a batch starts after this long on hold, so that texts are not held
 * back for ever by an ingest that never rests. */
#define HK_EXTRACTOR_HOLD_MAX_S 30
/* How often a held thread looks at the share again. */
#define HK_EXTRACTOR_HOLD_LOOK_MS 100

struct hk_extractor {
  hk_store *store;
  HkExtractorConfig cfg;
  GThread *thread;
  GMutex lock;
  GCond cond;
  bool kicked;   /* under lock */
  bool stopping; /* under lock */
  HkBusy busy;   /* ingest's work, under lock */
  int cancel[2]; /* written once when stopping: ends a batch in hand */
  bool backfill_done;
};

static int
hk_extractor_sealed(hk_store *s)
{
  hk_txn *t = NULL;
  int ret = hk_txn_begin(s, false, &t);

  if (ret == 0)
    ret = hk_store_check_unsealed(t);
  hk_txn_abort(t);
  return ret;
}

typedef struct {
  unsigned queued;
  bool done;
} HkBackfillStep;

static int
hk_extractor_backfill_put(hk_txn *t, void *data)
{
  HkBackfillStep *st = data;
  int ret = hk_store_check_unsealed(t);

  if (ret == 0)
    ret = hk_store_text_backfill(t, HK_EXTRACTOR_BACKFILL_STEP, &st->queued, &st->done);
  return ret;
}

/* One step of work: a batch of the queue, or, with the queue empty, a step
 * of the backfill. \return 0 with *more set if there is more to do now,
 * or an error (-HK_ESEALED: nothing done). */
static int
hk_extractor_step(hk_store *s, unsigned max, unsigned workers, bool *backfill_done, bool *more)
{
  unsigned left = 0;
  int ret = hk_extractor_sealed(s);

  *more = false;
  if (ret == 0)
    ret = hk_textq_drain(s, max, workers, &left);
  if (ret == 0 && left) {
    *more = true;
  } else if (ret == 0 && !*backfill_done) {
    HkBackfillStep st = {0};
    ret = hk_store_write(s, 8, hk_extractor_backfill_put, &st);
    if (ret == 0 && st.queued)
      hk_info("text backfill: %u version(s) stored before extraction queued", st.queued);
    if (ret == 0 && st.done)
      hk_debug("text backfill: every stored version has been queued");
    *backfill_done = ret == 0 && st.done;
    *more = ret == 0 && (st.queued || !st.done);
  }
  return ret;
}

/* Whether a batch should wait at now: ingest is busy, and the hold that
 * began at since has not lasted HK_EXTRACTOR_HOLD_MAX_S. */
bool
hk_extractor_should_hold(const HkBusy *busy, int64_t since, int64_t now)
{
  return hk_busy_share(busy, now) > HK_EXTRACTOR_BUSY_SHARE &&
         now - since < HK_EXTRACTOR_HOLD_MAX_S * G_TIME_SPAN_SECOND;
}

/* Wait (x->lock held) while ingest is busy: see HK_EXTRACTOR_BUSY_SHARE;
 * after a kick, first HK_EXTRACTOR_SETTLE_MS. */
static void
hk_extractor_hold(hk_extractor *x, bool kicked)
{
  int64_t since = g_get_monotonic_time(), now = since;
  int64_t settled = since + (kicked ? HK_EXTRACTOR_SETTLE_MS * G_TIME_SPAN_MILLISECOND : 0);
  bool held = false;

  while (!x->stopping && now < settled) {
    g_cond_wait_until(&x->cond, &x->lock, settled);
    now = g_get_monotonic_time();
  }

  while (!x->stopping && hk_extractor_should_hold(&x->busy, since, now)) {
    if (!held)
      hk_debug("text extraction waits: ingest busy (%.2f of the time)",
               hk_busy_share(&x->busy, now));
    held = true;
    g_cond_wait_until(&x->cond, &x->lock,
                      now + HK_EXTRACTOR_HOLD_LOOK_MS * G_TIME_SPAN_MILLISECOND);
    now = g_get_monotonic_time();
  }
  if (held)
    hk_debug("text extraction goes on after %.1f s on hold",
             (double)(now - since) / G_TIME_SPAN_SECOND);
}

static gpointer
hk_extractor_main(gpointer data)
{
  hk_extractor *x = data;
  bool more = false;

  hk_inspect_set_limits(&x->cfg.limits);
  hk_inspect_set_cancel(x->cancel[0]);
  for (;;) {
    int64_t until = g_get_monotonic_time() + HK_EXTRACTOR_IDLE_S * G_TIME_SPAN_SECOND;
    bool stop;
    int ret;
    g_mutex_lock(&x->lock);
    while (!x->stopping && !x->kicked && !more)
      if (!g_cond_wait_until(&x->cond, &x->lock, until))
        break;
    hk_extractor_hold(x, x->kicked);
    x->kicked = false;
    stop = x->stopping;
    g_mutex_unlock(&x->lock);
    if (stop)
      break;
    /* The queue is read again between batches; a stop cancels the
     * versions in the workers' hands, and what was extracted before them
     * is stored. */
    ret = hk_extractor_step(x->store, HK_EXTRACTOR_BATCH, x->cfg.workers, &x->backfill_done, &more);
    if (ret && ret != -HK_ESEALED)
      hk_warn("text extraction: %s; trying again in %d s", hk_strerror(ret), HK_EXTRACTOR_IDLE_S);
  }
  /* The workers were forked from this thread: they are its to stop. */
  hk_inspect_shutdown();
  return NULL;
}

int
hk_extractor_start(hk_store *s, const HkExtractorConfig *cfg, hk_extractor **out)
{
  hk_extractor *x = g_new0(hk_extractor, 1);
  sigset_t all, old;
  GError *err = NULL;
  int ret = 0;

  x->store = s;
  x->cfg = *cfg;
  x->cfg.workers = CLAMP(x->cfg.workers, 1, HK_INSPECT_MAX_PARALLEL);
  x->cancel[0] = x->cancel[1] = -1;
  hk_busy_init(&x->busy, HK_EXTRACTOR_BUSY_TAU_MS * G_TIME_SPAN_MILLISECOND);
  g_mutex_init(&x->lock);
  g_cond_init(&x->cond);
  if (pipe2(x->cancel, O_CLOEXEC) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  /* The thread takes no signal: SIGTERM is the main loop's (a signalfd),
   * and a thread inherits the mask it is created with. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  x->thread = g_thread_try_new("hk-extract", hk_extractor_main, x, &err);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!x->thread) {
    hk_error("cannot start the text extraction thread: %s", err->message);
    g_error_free(err);
    ret = -HK_EIO;
  }
out:
  if (ret) {
    for (int i = 0; i < 2; i++)
      if (x->cancel[i] >= 0)
        close(x->cancel[i]);
    g_mutex_clear(&x->lock);
    g_cond_clear(&x->cond);
    g_free(x);
    x = NULL;
  }
  *out = x;
  return ret;
}

void
hk_extractor_kick(hk_extractor *x)
{
  if (!x)
    return;
  g_mutex_lock(&x->lock);
  x->kicked = true;
  g_cond_signal(&x->cond);
  g_mutex_unlock(&x->lock);
}

void
hk_extractor_ingest_busy(hk_extractor *x, int64_t start_us, int64_t end_us)
{
  if (!x)
    return;
  g_mutex_lock(&x->lock);
  hk_busy_add(&x->busy, start_us, end_us);
  g_mutex_unlock(&x->lock);
}

void
hk_extractor_stop(hk_extractor *x)
{
  if (!x)
    return;
  g_mutex_lock(&x->lock);
  x->stopping = true;
  g_cond_signal(&x->cond);
  g_mutex_unlock(&x->lock);
  /* Ends an OCR in hand now rather than when it is through. */
  if (write(x->cancel[1], "x", 1) != 1)
    hk_warn("text extraction: cannot signal the stop: %s", g_strerror(errno));
  g_thread_join(x->thread);
  close(x->cancel[0]);
  close(x->cancel[1]);
  g_mutex_clear(&x->lock);
  g_cond_clear(&x->cond);
  g_free(x);
}

int
hk_extractor_drain_all(hk_store *s, const HkExtractorConfig *cfg)
{
  bool backfill_done = false, more = true;
  int ret = 0;

  hk_inspect_set_limits(&cfg->limits);
  /* Workers forked under the ingest limits are replaced. */
  hk_inspect_shutdown();
  while (ret == 0 && more)
    ret = hk_extractor_step(s, 64, CLAMP(cfg->workers, 1, HK_INSPECT_MAX_PARALLEL), &backfill_done,
                            &more);
  hk_inspect_shutdown();
  return ret;
}

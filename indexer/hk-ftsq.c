/* hk-ftsq.c: the full-text index follows the store's text log (see
 * hk-ftsq.h). Every write to the index is made by a child process, one
 * per drain, that opens the store read-only and the index, takes what is
 * new and exits:
 * - Groonga's files are sparse memory maps: on a full disk a write into
 *   one raises SIGBUS, which would end ingest with it; it ends the child,
 *   and the indexer logs it and goes on;
 * - the indexer never maps Groonga's files, so a parser worker it forks
 *   without exec cannot inherit a writable mapping of them (LMDB's maps
 *   are dropped in such a child, hk-store-env.c; Groonga's could not be). */
#include "hk-ftsq.h"

#include "hk-error.h"
#include "hk-fts.h"
#include "hk-log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the child answers through its pipe. */
typedef struct {
  int32_t ret;
  uint32_t done;
  uint64_t through;
  char reason[400];
} HkFtsqResult;

/* Seconds before trying an index that failed again. */
#define HK_FTSQ_RETRY_S 30
/* The indexer's loop starts a writer no sooner than this after the last
 * one ended: while texts keep coming, each writer takes what came in the
 * meantime, at the price of one fork, one opening of the store and of
 * the index, and one flush of the index (msync), instead of one per
 * text or two. At 200 documents/s they ran back to back beside ingest's
 * commits (docs/benchmarks.md, "Ingest", visibility). */
#define HK_FTSQ_GAP_MS 1000
/* Nice value of the writer: ingest's checks and commits get the CPU
 * first. Not SCHED_IDLE (the extraction workers' policy): the writer
 * holds a read transaction of the store, whose pages a starved writer
 * would pin while the store grows, and a stop of the indexer waits for
 * it. */
#define HK_FTSQ_NICE 10
/* The index never takes the store's last space: below this much free on
 * the store's file system it is not written. */
#define HK_FTSQ_MIN_FREE (256ull << 20)

struct hk_ftsq {
  hk_store *store;
  bool known;        /* through is what the index said last */
  uint64_t through;  /* of the last successful drain */
  char *current;     /* STORE_DIR/search/current */
  ino_t current_ino; /* of that file then: a rebuild replaces it */
  int64_t retry_at;  /* monotonic µs */
  int64_t start_at;  /* monotonic µs: no writer before (HK_FTSQ_GAP_MS) */
  char *last_reason;
  /* The child writing now (pid 0: none), the read end of its pipe, and
   * what it has answered so far: the indexer's loop goes on meanwhile. */
  pid_t pid;
  int fd;
  size_t got;
  HkFtsqResult res;
  uint64_t seq; /* the store's text sequence when it started */
};

/* The inode of the file naming the current generation (0 if none). */
static ino_t
hk_ftsq_current_ino(const hk_ftsq *q)
{
  struct stat st;

  return stat(q->current, &st) == 0 ? st.st_ino : 0;
}

static void hk_ftsq_collect(hk_ftsq *q, bool block, bool *left);

hk_ftsq *
hk_ftsq_new(hk_store *s)
{
  hk_ftsq *q = g_new0(hk_ftsq, 1);

  char *dir = hk_fts_dir(hk_store_dir(s));

  q->store = s;
  q->fd = -1;
  q->current = g_build_filename(dir, "current", NULL);
  g_free(dir);
  return q;
}

void
hk_ftsq_free(hk_ftsq *q)
{
  bool left;

  if (!q)
    return;
  /* A child in the middle of a write is asked to stop after its current
   * text and waited for: killed, it could leave a half-written
   * generation in use. (Under a sanitizer a batch of texts took over
   * 30 s, and the indexer did not stop when asked.) */
  if (q->pid > 0) {
    kill(q->pid, SIGTERM);
    hk_ftsq_collect(q, true, &left);
  }
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

/* In the child: open the index, building it first when it is missing
 * or damaged and the store is small enough; take up to max texts. */
/* Texts the child takes into the index between two looks at a stop: one
 * page-full text took seconds under a sanitizer (a slow unwind per
 * Groonga allocation), eight together over 30 s. */
#define HK_FTSQ_STEP 1u

static volatile sig_atomic_t hk_ftsq_child_stop;

static void
hk_ftsq_child_term(int sig)
{
  (void)sig;
  hk_ftsq_child_stop = 1;
}

/* HK_TEST_FTSQ_HOLD=FIFO (tests/indexer/test-fts.sh): each index write
 * waits for one byte from the FIFO before it starts, so that a test can
 * hold a write and show that ingest goes on meanwhile, without a clock. */
static void
hk_ftsq_test_hold(void)
{
  const char *fifo = g_getenv("HK_TEST_FTSQ_HOLD");
  char c;
  int fd;

  if (!fifo)
    return;
  hk_info("index write held by HK_TEST_FTSQ_HOLD");
  fd = open(fifo, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    while (read(fd, &c, 1) < 0 && errno == EINTR)
      ;
    close(fd);
  }
}

static void
hk_ftsq_child(const char *store_dir, uint64_t docs, unsigned max, HkFtsqResult *r)
{
  hk_store *s = NULL;
  hk_fts *f = NULL;
  uint64_t built = 0;
  unsigned done = 0;
  int prio, ret;

  /* Never above the indexer's own (one started at nice 19); may be
   * refused (a unit's filter): it then writes at the indexer's. */
  errno = 0;
  prio = getpriority(PRIO_PROCESS, 0);
  if (errno == 0 && prio < HK_FTSQ_NICE)
    setpriority(PRIO_PROCESS, 0, HK_FTSQ_NICE);
  hk_ftsq_test_hold();
  ret = hk_store_open(store_dir, HK_STORE_RDONLY, &s);

  if (ret) {
    g_snprintf(r->reason, sizeof r->reason, "the store: %s", hk_strerror(ret));
    goto out;
  }
  ret = hk_fts_open(s, true, &f);
  if (ret == -HK_ENOTFOUND || ret == -HK_ECORRUPT) {
    const char *why = ret == -HK_ENOTFOUND ? "no search index" : "the search index is unusable";
    if (docs > HK_FTSQ_AUTOBUILD_MAX) {
      g_snprintf(r->reason, sizeof r->reason,
                 "%s; with %" G_GUINT64_FORMAT " documents the indexer does not build it: run "
                 "`hikae-admin reindex --store %s` (it may run beside the indexer)",
                 why, docs, store_dir);
      goto out;
    }
    hk_info("%s: building it from the store", why);
    ret = hk_fts_rebuild(s, &built);
    if (ret == 0) {
      hk_info("search index built: %" G_GUINT64_FORMAT " documents", built);
      ret = hk_fts_open(s, true, &f);
    }
  }
  /* A text at a time, so that a stop (SIGTERM from the indexer
   * stopping) waits for a text, not for a whole batch; one flush for
   * the batch. */
  if (ret == 0)
    hk_fts_defer_flush(f);
  while (ret == 0 && r->done < max && !hk_ftsq_child_stop) {
    ret = hk_fts_follow(f, MIN(max - r->done, HK_FTSQ_STEP), &done);
    r->done += done;
    if (done == 0)
      break;
  }
  if (ret == 0)
    ret = hk_fts_flush(f);
  if (ret == 0)
    ret = hk_fts_through(f, &r->through);
  if (ret && !r->reason[0])
    g_strlcpy(r->reason, f && hk_fts_reason(f)[0] ? hk_fts_reason(f) : hk_strerror(ret),
              sizeof r->reason);
out:
  r->ret = ret ? ret : 0;
  if (r->ret == 0 && r->reason[0])
    r->ret = -HK_EIO;
  hk_fts_close(f);
  hk_store_close(s);
}

/* Start hk_ftsq_child in a child process, which answers through a pipe.
 * \return false (the reason in q->res) if it could not be started. */
static bool
hk_ftsq_spawn(hk_ftsq *q, uint64_t docs, unsigned max)
{
  int fds[2] = {-1, -1};
  pid_t pid;

  memset(&q->res, 0, sizeof q->res);
  q->got = 0;
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    q->res.ret = hk_err_from_errno(errno);
    g_snprintf(q->res.reason, sizeof q->res.reason, "pipe: %s", g_strerror(errno));
    return false;
  }
  pid = fork();
  if (pid == 0) {
    HkFtsqResult mine = {0};
    struct sigaction sa = {.sa_handler = hk_ftsq_child_term};
    sigset_t term;
    /* The indexer takes SIGTERM through a signalfd, blocked: the child
     * takes it as a request to stop after its current text. */
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaction(SIGTERM, &sa, NULL);
    sigprocmask(SIG_UNBLOCK, &term, NULL);
    close(fds[0]);
    hk_ftsq_child(hk_store_dir(q->store), docs, max, &mine);
    _exit(write(fds[1], &mine, sizeof mine) == (ssize_t)sizeof mine ? 0 : 1);
  }
  close(fds[1]);
  if (pid < 0) {
    q->res.ret = hk_err_from_errno(errno);
    g_snprintf(q->res.reason, sizeof q->res.reason, "fork: %s", g_strerror(errno));
    close(fds[0]);
    return false;
  }
  q->pid = pid;
  q->fd = fds[0];
  return true;
}

/* The child's answer is in (or it is gone): reap it and take the answer.
 * A child that died (SIGBUS on a full disk) is a problem like any other. */
static void
hk_ftsq_done(hk_ftsq *q, bool reaped, int st, bool *left)
{
  HkFtsqResult *r = &q->res;

  close(q->fd);
  q->fd = -1;
  while (!reaped && waitpid(q->pid, &st, 0) < 0 && errno == EINTR)
    ;
  q->pid = 0;
  q->start_at = g_get_monotonic_time() + (int64_t)HK_FTSQ_GAP_MS * 1000;
  if (q->got != sizeof *r) {
    memset(r, 0, sizeof *r);
    r->ret = -HK_EIO;
    if (WIFSIGNALED(st))
      g_snprintf(r->reason, sizeof r->reason, "the index writer died of %s%s",
                 strsignal(WTERMSIG(st)),
                 WTERMSIG(st) == SIGBUS ? " (is the disk of the store full?)" : "");
    else
      g_snprintf(r->reason, sizeof r->reason, "the index writer exited with status %d",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  }
  r->reason[sizeof r->reason - 1] = 0;
  if (r->ret) {
    /* A child that died building leaves a generation: its space goes
     * back to the store now. */
    hk_fts_prune(hk_store_dir(q->store));
    hk_ftsq_problem(q, r->reason[0] ? r->reason : hk_strerror(r->ret));
    return;
  }
  q->through = r->through;
  q->known = true;
  *left = q->through < q->seq;
  if (q->last_reason) {
    hk_info("search index: working again");
    g_clear_pointer(&q->last_reason, g_free);
  }
  if (r->done)
    hk_debug("search index: %u texts taken, through %" G_GUINT64_FORMAT, r->done, q->through);
}

/* Read what the running child has answered; once it is all in, or the
 * pipe is closed, finish. block: wait for it. */
static void
hk_ftsq_collect(hk_ftsq *q, bool block, bool *left)
{
  bool finished = false, reaped = false;
  int st = 0;

  while (!finished) {
    ssize_t n = read(q->fd, (char *)&q->res + q->got, sizeof q->res - q->got);
    if (n > 0) {
      q->got += (size_t)n;
      finished = q->got == sizeof q->res;
    } else if (n == 0) {
      finished = true;
    } else if (errno == EAGAIN) {
      /* Gone without a whole answer, while a parser worker forked at the
       * wrong moment keeps the pipe's write end open: no EOF will come. */
      if (waitpid(q->pid, &st, WNOHANG) == q->pid) {
        reaped = finished = true;
      } else if (block) {
        struct pollfd p = {q->fd, POLLIN, 0};
        poll(&p, 1, 200);
      } else {
        break;
      }
    } else if (errno != EINTR) {
      break;
    }
  }
  if (finished)
    hk_ftsq_done(q, reaped, st, left);
}

/* Start a child if there is something for it; paced: not within
 * HK_FTSQ_GAP_MS of the last one. \return true if one runs. */
static bool
hk_ftsq_start(hk_ftsq *q, unsigned max, bool paced)
{
  struct statvfs vfs;
  uint64_t docs = 0;
  int64_t now = g_get_monotonic_time();
  int ret;

  if (now < q->retry_at || (paced && now < q->start_at))
    return false;
  ret = hk_ftsq_store(q, &q->seq, &docs);
  if (ret) {
    hk_ftsq_problem(q, hk_strerror(ret));
    return false;
  }
  /* Nothing new since the last drain, and no rebuild since: no child. */
  if (q->known && q->seq <= q->through && hk_ftsq_current_ino(q) == q->current_ino)
    return false;
  q->current_ino = hk_ftsq_current_ino(q);
  if (statvfs(hk_store_dir(q->store), &vfs) == 0 &&
      (uint64_t)vfs.f_bavail * vfs.f_frsize < HK_FTSQ_MIN_FREE) {
    char *why = g_strdup_printf("less than %llu MiB free on the store's file system: the index "
                                "is not written (the store needs the space more)",
                                HK_FTSQ_MIN_FREE >> 20);
    hk_ftsq_problem(q, why);
    g_free(why);
    return false;
  }
  if (!hk_ftsq_spawn(q, docs, max)) {
    hk_ftsq_problem(q, q->res.reason);
    return false;
  }
  return true;
}

void
hk_ftsq_step(hk_ftsq *q, unsigned max, bool *left)
{
  *left = false;
  if (q->pid > 0)
    hk_ftsq_collect(q, false, left);
  else
    hk_ftsq_start(q, max, true);
}

int
hk_ftsq_fd(const hk_ftsq *q)
{
  return q->pid > 0 ? q->fd : -1;
}

void
hk_ftsq_drain(hk_ftsq *q, unsigned max, bool *left)
{
  *left = false;
  if (q->pid > 0 || hk_ftsq_start(q, max, false))
    hk_ftsq_collect(q, true, left);
}

#include "hk-inspect.h"

#include "hk-error.h"
#include "hk-extract.h"
#include "hk-ocr.h"
#include "hk-sandbox.h"
#include "hk-thumbnail.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The limits every parser of this thread's pool runs under
 * (hk_inspect_set_limits). Per thread, as the pool: the text extraction
 * thread (hk-extractor.h) gives its workers longer limits than ingest's
 * checks. A worker is forked from its pool's thread and so inherits that
 * thread's copy. */
static __thread HkInspectLimits hk_limits = HK_INSPECT_LIMITS_DEFAULT;
/* Whole-process counters, added to by every pool. */
static HkInspectStats hk_stats;
/* A descriptor that becomes readable when this thread's batches are to stop
 * (hk_inspect_set_cancel), or -1. */
static __thread int hk_cancel_fd = -1;

#define HK_STAT_ADD(field) __atomic_add_fetch(&hk_stats.field, 1, __ATOMIC_RELAXED)

void
hk_inspect_set_limits(const HkInspectLimits *limits)
{
  hk_limits = *limits;
}

void
hk_inspect_set_cancel(int fd)
{
  hk_cancel_fd = fd;
}

bool
hk_inspect_cancelled(void)
{
  struct pollfd pfd = {hk_cancel_fd, POLLIN, 0};

  return hk_cancel_fd >= 0 && poll(&pfd, 1, 0) > 0;
}

HkInspectStats
hk_inspect_stats(void)
{
  HkInspectStats st;

  st.started = __atomic_load_n(&hk_stats.started, __ATOMIC_RELAXED);
  st.answered = __atomic_load_n(&hk_stats.answered, __ATOMIC_RELAXED);
  st.retried = __atomic_load_n(&hk_stats.retried, __ATOMIC_RELAXED);
  return st;
}

/* ---- the protocol ---- */

#define HK_REQ_MAGIC 0x4b48514au /* "JQHK" */
/* The most a worker may answer: a reason and a thumbnail. */
#define HK_REASON_MAX 4096u
#define HK_THUMB_ANSWER_MAX (8u << 20)

enum { HK_TYPE_PDF = 1, HK_TYPE_JPEG = 2 };

typedef struct {
  uint32_t magic;
  uint32_t type;
  uint32_t want_thumb;
  uint32_t want_text; /* answer the text layer (a page list) in the thumbnail's place */
  uint64_t len;
} HkRequest;

/* The answer: hdr[0] 0 (parsed), 1 (refused: the bytes are at fault) or 2
 * (not parsed: the worker could not work, e.g. no sandbox; the document is
 * not at fault and is looked at again later), hdr[1] the reason's length,
 * hdr[2] the thumbnail's; then the reason, then the thumbnail. A
 * worker stopped by its seccomp filter writes HK_SANDBOX_TRAPPED instead
 * (hk-sandbox.c) and dies. */
#define HK_ANSWER_HDR (3 * sizeof(uint32_t))

/* ---- the worker process ---- */

static int
hk_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int
hk_read_all(int fd, void *buf, size_t len)
{
  char *p = buf;

  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* HK_TEST_PARSER_HOOK=ACTION[:CONTENT-TYPE] (tests/indexer/
 * test-parser-sandbox.sh, test-parser-limits.sh, test-parser-pool.sh): a
 * confined worker, on a document of that content type (any if none is
 * given), pauses 5 s ("pause", so that a test can read its /proc/PID/fd),
 * tries open() ("open") or socket() ("socket"), burns CPU until its CPU
 * limit stops it ("spin"), sleeps until its wall-clock limit stops it
 * ("hang"), maps memory 64 MiB at a time, up to 4 GiB, until its memory
 * limit refuses ("alloc": the document is then refused with how far it
 * got), uses 0.6 s of CPU and then parses ("burn": many documents, each
 * within the CPU limit, that add up to more than it), or on
 * its second document and later ones it exits without an answer ("exit2": a
 * fault left behind by an earlier document; a signal would need a system
 * call the sandbox refuses), or refuses to read a text layer while it
 * checks and draws as usual ("notext": a document that passed its checks
 * and then fails extraction, tests/server/test-text-api.py), or sleeps
 * until its wall-clock limit stops it on a text layer only ("texthang": an
 * extraction in hand when the indexer stops, test-extract-beside.sh). It runs only after
 * hk_sandbox_enter(): it cannot lift any restriction, only make the worker
 * stop, wait or fail as a hostile file would make a parser do. Returns a
 * reason to refuse the document with, or NULL to parse it as usual. */
static char *
hk_test_hook(const char *content_type, unsigned served, bool text)
{
  const char *hook = getenv("HK_TEST_PARSER_HOOK"), *colon;
  char *reason = NULL;
  size_t n;

  if (!hook)
    goto out;
  colon = strchr(hook, ':');
  n = colon ? (size_t)(colon - hook) : strlen(hook);
  if (colon && g_strcmp0(colon + 1, content_type) != 0)
    goto out;
  if (n == 5 && strncmp(hook, "pause", n) == 0) {
    struct timespec ts = {5, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
  } else if (n == 4 && strncmp(hook, "open", n) == 0) {
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
      close(fd);
  } else if (n == 6 && strncmp(hook, "socket", n) == 0) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
      close(fd);
  } else if (n == 4 && strncmp(hook, "spin", n) == 0) {
    /* Bounded only by RLIMIT_CPU (or, failing that, the wall clock). */
    for (volatile uint64_t i = 0;; i++)
      ;
  } else if (n == 4 && strncmp(hook, "hang", n) == 0) {
    for (;;) {
      struct timespec ts = {60, 0};
      nanosleep(&ts, NULL);
    }
  } else if (n == 4 && strncmp(hook, "burn", n) == 0) {
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 600);
  } else if (n == 5 && strncmp(hook, "exit2", n) == 0 && served >= 1) {
    _exit(70);
  } else if (n == 8 && strncmp(hook, "texthang", n) == 0 && text) {
    for (;;) {
      struct timespec ts = {60, 0};
      nanosleep(&ts, NULL);
    }
  } else if (n == 6 && strncmp(hook, "notext", n) == 0 && text) {
    reason = g_strdup("test hook: the text layer was not read");
  } else if (n == 5 && strncmp(hook, "alloc", n) == 0) {
    enum { HK_CHUNKS = 64 }; /* 64 x 64 MiB = 4 GiB */
    void *chunk[HK_CHUNKS];
    unsigned got = 0;
    /* Mapped as malloc maps large blocks, but never touched (malloc may
     * fill a block, MALLOC_PERTURB_): the limit is on address space. */
    while (got < HK_CHUNKS &&
           (chunk[got] = mmap(NULL, 64u << 20, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) != MAP_FAILED)
      got++;
    reason = g_strdup_printf("test hook: %s after %u MiB",
                             got < HK_CHUNKS ? "memory refused" : "no memory limit met", got * 64u);
    for (unsigned i = 0; i < got; i++)
      munmap(chunk[i], 64u << 20);
  }
out:
  return reason;
}

/* The worker's address space when it starts: its limit is this plus
 * hk_limits.memory_mib. Relative, because what a worker inherits differs by
 * build: AddressSanitizer's shadow alone reserves terabytes, so an absolute
 * limit would either stop every sanitized worker or be switched off there,
 * and then no test could show the limit works. */
static uint64_t
hk_inherited_vm(void)
{
  uint64_t pages = 0;
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n > 0) {
      buf[n] = '\0';
      pages = g_ascii_strtoull(buf, NULL, 10);
    }
    close(fd);
  }
  return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A text answer: the page list's length (4, native order, as the header),
 * the page list, then the box list (hk-boxes.h), if any. */
static GBytes *
hk_text_answer(GBytes *list, GBytes *boxes)
{
  GByteArray *out = g_byte_array_new();
  uint32_t n = (uint32_t)g_bytes_get_size(list);

  g_byte_array_append(out, (const guint8 *)&n, sizeof n);
  g_byte_array_append(out, g_bytes_get_data(list, NULL), n);
  /* Boxes that would not fit beside the text are left out, not the text. */
  if (boxes && out->len + g_bytes_get_size(boxes) <= HK_THUMB_ANSWER_MAX)
    g_byte_array_append(out, g_bytes_get_data(boxes, NULL), (guint)g_bytes_get_size(boxes));
  return g_byte_array_free_to_bytes(out);
}

static void
hk_worker_answer(int fd, int ret, const char *reason, GBytes *thumb)
{
  uint32_t hdr[3];

  hdr[0] = ret == 0 ? 0 : ret == -HK_EIO ? 2 : 1;
  hdr[1] = reason ? (uint32_t)MIN(strlen(reason), HK_REASON_MAX) : 0;
  hdr[2] = thumb ? (uint32_t)g_bytes_get_size(thumb) : 0;
  if (hdr[2] > HK_THUMB_ANSWER_MAX)
    hdr[2] = 0;
  if (hk_write_all(fd, hdr, sizeof hdr) == 0 && (!hdr[1] || hk_write_all(fd, reason, hdr[1]) == 0))
    if (hdr[2])
      hk_write_all(fd, g_bytes_get_data(thumb, NULL), hdr[2]);
}

static G_GNUC_NORETURN void
hk_worker_main(int in, int out, HkSandboxProfile profile)
{
  struct rlimit mem, core = {0, 0};
  unsigned served = 0;
  bool confined;

  /* Never outlive the indexer, even if it is killed. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* A parser that crashes or meets a limit leaves no core: it would hold
   * the indexer's memory, documents included. */
  setrlimit(RLIMIT_CORE, &core);
  /* Before the sandbox: /proc is out of reach once it is entered. */
  mem.rlim_cur = mem.rlim_max = hk_inherited_vm() + ((uint64_t)hk_limits.memory_mib << 20);
  setrlimit(RLIMIT_AS, &mem);
  /* An OCR may take seconds of a core the ingest checks need now. nice
   * alone left it about a tenth of a busy core, enough to slow
   * visibility by a quarter at 200 documents/s on 2 cores (docs/
   * benchmarks.md, "Ingest"): SCHED_IDLE runs it only on time nothing
   * else wants. Either may be refused (a unit's filter): the other
   * still applies. */
  if (hk_limits.nice > 0) {
    struct sched_param sp = {0};
    setpriority(PRIO_PROCESS, 0, hk_limits.nice);
    sched_setscheduler(0, SCHED_IDLE, &sp);
  }
  /* Nothing of the indexer (the store's data.mdb, sockets, the source
   * folders) is reachable from here on (hk-sandbox.h). */
  confined = hk_sandbox_enter(in, out, profile) == 0;
  /* HK_TEST_PARSER_HOOK=nosandbox (test-parser-pool.sh): behave as a
   * worker whose sandbox could not be set up. It can only stop parsing. */
  if (g_strcmp0(getenv("HK_TEST_PARSER_HOOK"), "nosandbox") == 0)
    confined = false;
  for (;; served++) {
    const char *type = NULL;
    GBytes *thumb = NULL;
    char *reason = NULL;
    void *data = NULL;
    HkRequest rq;
    int ret = -HK_EINVAL;

    /* The indexer closed its end: it is done with this worker. */
    if (hk_read_all(in, &rq, sizeof rq) != 0 || rq.magic != HK_REQ_MAGIC)
      _exit(0);
    if (rq.type == HK_TYPE_PDF)
      type = "application/pdf";
    else if (rq.type == HK_TYPE_JPEG)
      type = "image/jpeg";
    if (rq.len > 0)
      data = malloc((size_t)rq.len);
    if (!data) {
      /* Answered without reading the bytes: the indexer stops sending and
       * replaces this worker. */
      reason = g_strdup_printf("the parser cannot hold %" G_GUINT64_FORMAT " bytes", rq.len);
    } else if (hk_read_all(in, data, (size_t)rq.len) != 0) {
      _exit(0);
    } else if (!confined) {
      ret = -HK_EIO;
      reason = g_strdup("the parser's sandbox could not be set up: not parsed");
    } else if (!type) {
      reason = g_strdup("unsupported content type");
    } else if ((reason = hk_test_hook(type, served, rq.want_text != 0)) == NULL && rq.want_text) {
      /* A PDF's text layer, or a scan's text by OCR (the model came with
       * the fork: hk-ocr.h). */
      GBytes *list = NULL, *boxes = NULL;
      ret = rq.type == HK_TYPE_PDF ? hk_extract_pdf(data, (size_t)rq.len, &list, &boxes, &reason)
                                   : hk_ocr_jpeg(data, (size_t)rq.len, &list, &boxes, &reason);
      if (list)
        thumb = hk_text_answer(list, boxes);
      if (list)
        g_bytes_unref(list);
      if (boxes)
        g_bytes_unref(boxes);
    } else if (!reason) {
      ret = hk_thumbnail_check(type, data, (size_t)rq.len, rq.want_thumb != 0, &thumb, &reason);
    }
    /* The bytes are freed before the answer: a parser that corrupted the
     * heap then dies before it can answer for the document. */
    free(data);
    hk_worker_answer(out, ret, reason, thumb);
    g_free(reason);
    if (thumb)
      g_bytes_unref(thumb);
    if (!data || !confined)
      _exit(0);
  }
}

/* ---- the indexer's side ---- */

typedef struct {
  pid_t pid; /* 0: a free slot */
  int to;    /* requests to the worker (non-blocking) */
  int from;  /* its answers (non-blocking) */
  HkSandboxProfile profile;
  unsigned served;
  /* the document in hand (job NULL when idle) */
  HkInspectJob *job;
  size_t idx;
  HkRequest rq;
  size_t sent;
  GByteArray *buf;
  int64_t deadline;
  uint64_t ticks_at_start;
  bool timed_out;
  bool closed; /* it stopped reading the request */
} HkWorker;

#define HK_SLOTS (2 * HK_INSPECT_MAX_PARALLEL)
/* One pool per thread: ingest's checks and text extraction each keep their
 * own workers, so that neither waits for the other's. */
static __thread HkWorker hk_slots[HK_SLOTS];

/* A PDF's text may need a page drawn for OCR (hk-extract.h), and drawing
 * may read fonts. */
static HkSandboxProfile
hk_profile(const HkInspectJob *job)
{
  return (job->want_thumb || job->want_text) && g_strcmp0(job->content_type, "application/pdf") == 0
             ? HK_SANDBOX_RENDER
             : HK_SANDBOX_PARSE;
}

/* CPU time a process has used, in clock ticks (/proc/PID/stat, utime and
 * stime); UINT64_MAX if it cannot be read. */
static uint64_t
hk_cpu_ticks(pid_t pid)
{
  char path[64], buf[1024];
  uint64_t ticks = UINT64_MAX;
  ssize_t n;
  int fd;

  g_snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    goto out;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    goto out;
  buf[n] = '\0';
  /* Fields 14 and 15, counted after the ')' that ends the command name. */
  {
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 14; field++)
      p = strchr(p + 1, ' ');
    if (p) {
      char *end = NULL;
      ticks = g_ascii_strtoull(p + 1, &end, 10);
      if (end == p + 1)
        ticks = UINT64_MAX;
      else
        ticks += g_ascii_strtoull(end, NULL, 10);
    }
  }
out:
  return ticks;
}

/* Pipes, not a socket pair: the indexer's unit allows no address family
 * at all (RestrictAddressFamilies=none, deploy/systemd). */
static int
hk_worker_spawn(HkWorker *w, HkSandboxProfile profile)
{
  int req[2] = {-1, -1}, ans[2] = {-1, -1}, ret = 0;

  /* A worker that dies while it is sent a document must not take the
   * indexer with it: its write then fails with EPIPE instead. */
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(req, O_CLOEXEC) != 0 || pipe2(ans, O_CLOEXEC) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  w->pid = fork();
  if (w->pid < 0) {
    ret = hk_err_from_errno(errno);
    w->pid = 0;
    goto out;
  }
  if (w->pid == 0) {
    close(req[1]);
    close(ans[0]);
    hk_worker_main(req[0], ans[1], profile);
  }
  w->to = req[1];
  w->from = ans[0];
  req[1] = ans[0] = -1;
  fcntl(w->to, F_SETFL, fcntl(w->to, F_GETFL) | O_NONBLOCK);
  fcntl(w->from, F_SETFL, fcntl(w->from, F_GETFL) | O_NONBLOCK);
  w->profile = profile;
  w->served = 0;
  w->job = NULL;
  w->buf = g_byte_array_new();
  HK_STAT_ADD(started);
out:
  for (int i = 0; i < 2; i++) {
    if (req[i] >= 0)
      close(req[i]);
    if (ans[i] >= 0)
      close(ans[i]);
  }
  return ret;
}

/* Stop a worker and reap it; its wait status and CPU time in *status and
 * *ticks. */
static void
hk_worker_retire(HkWorker *w, int *status, uint64_t *ticks)
{
  struct rusage ru = {0};
  int st = 0;

  kill(w->pid, SIGKILL);
  close(w->to);
  close(w->from);
  while (wait4(w->pid, &st, 0, &ru) < 0 && errno == EINTR)
    ;
  if (status)
    *status = st;
  if (ticks)
    *ticks = (uint64_t)((ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * sysconf(_SC_CLK_TCK) +
                        (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * sysconf(_SC_CLK_TCK) /
                            G_USEC_PER_SEC);
  g_byte_array_unref(w->buf);
  memset(w, 0, sizeof *w);
}

void
hk_inspect_shutdown(void)
{
  for (unsigned i = 0; i < HK_SLOTS; i++)
    if (hk_slots[i].pid > 0)
      hk_worker_retire(&hk_slots[i], NULL, NULL);
}

/* An idle worker of this profile (a new one if none, or if fresh and every
 * idle one has served before), or NULL with a reason. A worker that died or
 * wrote while idle is replaced: nothing it did may be held against the next
 * document. */
static HkWorker *
hk_worker_get(HkSandboxProfile profile, bool fresh, char **reason)
{
  HkWorker *w = NULL, *free_slot = NULL, *spare = NULL;
  int ret;

  for (unsigned i = 0; i < HK_SLOTS && !w; i++) {
    HkWorker *s = &hk_slots[i];
    struct pollfd pfd;
    if (s->pid == 0) {
      free_slot = free_slot ? free_slot : s;
      continue;
    }
    if (s->job)
      continue;
    pfd = (struct pollfd){s->from, POLLIN, 0};
    if (poll(&pfd, 1, 0) != 0) {
      hk_worker_retire(s, NULL, NULL);
      free_slot = free_slot ? free_slot : s;
    } else if (s->profile == profile && !(fresh && s->served > 0)) {
      w = s;
    } else {
      spare = spare ? spare : s;
    }
  }
  /* No free slot: an idle worker we will not use makes room. */
  if (!w && !free_slot && spare) {
    hk_worker_retire(spare, NULL, NULL);
    free_slot = spare;
  }
  if (!w && free_slot) {
    ret = hk_worker_spawn(free_slot, profile);
    if (ret == 0)
      w = free_slot;
    else
      *reason = g_strdup_printf("cannot start a parser: %s", hk_strerror(ret));
  } else if (!w) {
    *reason = g_strdup("cannot start a parser: every slot is busy");
  }
  return w;
}

/* Hand w the job. \return 0, or -HK_EIO if the document's CPU limit cannot
 * be set on w (its CPU time unreadable after it served, or prlimit
 * refused): the caller then tries a fresh worker. */
static int
hk_worker_begin(HkWorker *w, HkInspectJob *job, size_t idx)
{
  long hz = sysconf(_SC_CLK_TCK);
  struct rlimit cpu = {0, 0};

  w->job = job;
  w->idx = idx;
  w->rq = (HkRequest){.magic = HK_REQ_MAGIC,
                      .type = g_strcmp0(job->content_type, "application/pdf") == 0 ? HK_TYPE_PDF
                              : g_strcmp0(job->content_type, "image/jpeg") == 0    ? HK_TYPE_JPEG
                                                                                   : 0,
                      .want_thumb = job->want_thumb,
                      .want_text = job->want_text,
                      .len = job->len};
  w->sent = 0;
  g_byte_array_set_size(w->buf, 0);
  w->timed_out = false;
  w->closed = false;
  w->deadline = g_get_monotonic_time() + hk_limits.wall_s * G_USEC_PER_SEC;
  /* RLIMIT_CPU counts the worker's whole life: its soft limit is moved to
   * what it has used so far plus this document's allowance (SIGXCPU when
   * it is reached). The hard limit is left alone: lowering it could not be
   * undone for the next document without privilege. */
  w->ticks_at_start = hk_cpu_ticks(w->pid);
  /* Unreadable: right only for a fresh worker, which has used next to
   * nothing. */
  if (w->ticks_at_start == UINT64_MAX && w->served == 0)
    w->ticks_at_start = 0;
  if (w->ticks_at_start == UINT64_MAX || prlimit(w->pid, RLIMIT_CPU, NULL, &cpu) != 0)
    return -HK_EIO;
  rlim_t soft = (rlim_t)((w->ticks_at_start + (uint64_t)hz - 1) / (uint64_t)hz) + hk_limits.cpu_s;
  cpu.rlim_cur = cpu.rlim_max == RLIM_INFINITY ? soft : MIN(soft, cpu.rlim_max);
  return prlimit(w->pid, RLIMIT_CPU, &cpu, NULL) == 0 ? 0 : -HK_EIO;
}

typedef enum {
  HK_PUMP_MORE,     /* still working */
  HK_PUMP_ANSWERED, /* a whole, well-formed answer */
  HK_PUMP_FAULT,    /* the worker died, hung or broke the protocol */
} HkPump;

/* Send what the pipe takes, read what the worker wrote. A whole answer
 * counts even if the worker died right after it (it answers, then exits, on
 * a document it could not hold or without a sandbox); only a worker that
 * ends without one is a fault. */
static HkPump
hk_worker_pump(HkWorker *w, short out_events, short in_events, int64_t now, bool *malformed)
{
  size_t total = sizeof w->rq + w->job->len;
  HkPump res = HK_PUMP_MORE;
  bool gone = false;

  while (w->sent < total && !w->closed && (out_events & (POLLOUT | POLLERR | POLLHUP))) {
    const char *p = w->sent < sizeof w->rq ? (const char *)&w->rq + w->sent
                                           : (const char *)w->job->data + (w->sent - sizeof w->rq);
    size_t left = w->sent < sizeof w->rq ? sizeof w->rq - w->sent : total - w->sent;
    ssize_t n = write(w->to, p, MIN(left, (size_t)1 << 20));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n <= 0) {
      /* It stopped reading (EPIPE): what it wrote decides. */
      w->closed = true;
      in_events |= POLLIN;
      break;
    }
    w->sent += (size_t)n;
  }
  while (in_events & (POLLIN | POLLERR | POLLHUP)) {
    unsigned char chunk[65536];
    ssize_t n = read(w->from, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n <= 0) {
      gone = true;
      break;
    }
    if (w->buf->len + (size_t)n > HK_ANSWER_HDR + HK_REASON_MAX + HK_THUMB_ANSWER_MAX) {
      *malformed = true;
      res = HK_PUMP_FAULT;
      goto out;
    }
    g_byte_array_append(w->buf, chunk, (guint)n);
  }
  if (w->buf->len >= HK_ANSWER_HDR) {
    uint32_t hdr[3];
    memcpy(hdr, w->buf->data, sizeof hdr);
    /* Anything else (HK_SANDBOX_TRAPPED) is followed by the worker's
     * death, which classifies it. */
    if (hdr[0] <= 2) {
      uint64_t want = HK_ANSWER_HDR + (uint64_t)hdr[1] + hdr[2];
      /* "Parsed" before it had all the bytes cannot be true. */
      if (hdr[1] > HK_REASON_MAX || hdr[2] > HK_THUMB_ANSWER_MAX || w->buf->len > want ||
          (w->buf->len == want && hdr[0] == 0 && w->sent < total)) {
        *malformed = true;
        res = HK_PUMP_FAULT;
      } else if (w->buf->len == want) {
        res = HK_PUMP_ANSWERED;
      }
    }
  }
  if (res == HK_PUMP_MORE && gone)
    res = HK_PUMP_FAULT;
  if (res == HK_PUMP_MORE && now >= w->deadline) {
    w->timed_out = true;
    res = HK_PUMP_FAULT;
  }
out:
  return res;
}

/* Why a worker died on a document; whether the document may be tried again
 * in a fresh worker. */
static char *
hk_fault_reason(const HkWorker *w, int status, uint64_t ticks, bool malformed, bool *retry,
                bool *limit)
{
  const char *type = w->job->content_type;
  long hz = sysconf(_SC_CLK_TCK);
  bool cpu_spent = ticks >= w->ticks_at_start + (uint64_t)hk_limits.cpu_s * (uint64_t)hz;
  char *reason;

  *retry = false;
  *limit = w->timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) ||
           (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && cpu_spent);
  if (w->timed_out) {
    reason =
        g_strdup_printf("parser took longer than %u s on this %s (killed)", hk_limits.wall_s, type);
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) {
    reason = g_strdup_printf("parser used more than %u s of CPU on this %s (killed)",
                             hk_limits.cpu_s, type);
  } else if (malformed) {
    reason = g_strdup_printf("the %s parser's answer was malformed (%u bytes)", type, w->buf->len);
    *retry = w->served > 0;
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
    uint32_t nr = UINT32_MAX, hdr[3];
    char *name;
    /* The trap record follows whatever the worker wrote before. */
    if (w->buf->len >= sizeof hdr) {
      memcpy(hdr, w->buf->data + w->buf->len - sizeof hdr, sizeof hdr);
      if (hdr[0] == HK_SANDBOX_TRAPPED)
        nr = hdr[1];
    }
    name = nr == UINT32_MAX ? g_strdup("unknown") : hk_sandbox_syscall_name(nr);
    reason = g_strdup_printf("the %s parser was stopped by its sandbox on this file: it made "
                             "the forbidden system call %s (killed by SIGSYS)",
                             type, name);
    g_free(name);
    *retry = w->served > 0;
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && cpu_spent) {
    reason = g_strdup_printf("parser used more than %u s of CPU on this %s (killed)",
                             hk_limits.cpu_s, type);
  } else if (WIFSIGNALED(status)) {
    reason = g_strdup_printf("%s parser crashed on this file (signal %d)", type, WTERMSIG(status));
    *retry = w->served > 0;
  } else {
    reason = g_strdup_printf("%s parser gave no answer (exit %d)", type,
                             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    *retry = w->served > 0;
  }
  return reason;
}

/* A text answer (hk_text_answer) into the job's page list and box list,
 * both still to be checked; framing that does not hold leaves both NULL
 * (a malformed answer). */
static void
hk_text_answer_split(const uint8_t *p, size_t len, HkInspectJob *job)
{
  uint32_t n;

  if (len < sizeof n)
    return;
  memcpy(&n, p, sizeof n);
  if (n > len - sizeof n)
    return;
  job->text = g_bytes_new(p + sizeof n, n);
  if (len - sizeof n - n > 0)
    job->boxes = g_bytes_new(p + sizeof n + n, len - sizeof n - n);
}

/* Take a finished worker's outcome into its job. \return true if the job
 * must be tried again in a fresh worker. */
static bool
hk_worker_end(HkWorker *w, HkPump res, bool malformed)
{
  HkInspectJob *job = w->job;
  bool retry = false;

  if (res == HK_PUMP_ANSWERED) {
    uint32_t hdr[3];
    memcpy(hdr, w->buf->data, sizeof hdr);
    g_free(job->reason);
    job->reason = hdr[1] ? g_strndup((const char *)w->buf->data + HK_ANSWER_HDR, hdr[1]) : NULL;
    if (hdr[2] && job->want_text)
      hk_text_answer_split(w->buf->data + HK_ANSWER_HDR + hdr[1], hdr[2], job);
    else if (hdr[2])
      job->thumb = g_bytes_new(w->buf->data + HK_ANSWER_HDR + hdr[1], hdr[2]);
    job->ret = hdr[0] == 0 ? 0 : hdr[0] == 2 ? -HK_EIO : -HK_EINVAL;
    w->served++;
    w->job = NULL;
    HK_STAT_ADD(answered);
    /* A refusal may have left the parser in any state. */
    if (job->ret != 0 || w->served >= HK_INSPECT_WORKER_JOBS)
      hk_worker_retire(w, NULL, NULL);
  } else {
    int status = 0;
    uint64_t ticks = 0;
    /* hk_worker_retire() clears the worker: keep what the reason needs. */
    HkWorker dead = *w;
    dead.buf = g_byte_array_new();
    g_byte_array_append(dead.buf, w->buf->data, w->buf->len);
    hk_worker_retire(w, &status, &ticks);
    g_free(job->reason);
    job->reason = hk_fault_reason(&dead, status, ticks, malformed, &retry, &job->limit_hit);
    job->ret = -HK_EINVAL;
    g_byte_array_unref(dead.buf);
  }
  return retry;
}

void
hk_inspect_batch(HkInspectJob *jobs, size_t n, unsigned parallel)
{
  GQueue todo = G_QUEUE_INIT;
  guint8 *tried = g_new0(guint8, MAX(n, 1));
  HkWorker *busy[HK_INSPECT_MAX_PARALLEL];
  unsigned nbusy = 0;

  parallel = CLAMP(parallel, 1, HK_INSPECT_MAX_PARALLEL);
  for (size_t i = 0; i < n; i++) {
    jobs[i].thumb = NULL;
    jobs[i].text = NULL;
    jobs[i].boxes = NULL;
    jobs[i].limit_hit = false;
    jobs[i].cancelled = false;
    jobs[i].reason = NULL;
    jobs[i].ret = 0;
    /* Plain text needs no parser worth isolating; a type no parser takes
     * is refused here, by hk_thumbnail_check's own words. */
    if (g_strcmp0(jobs[i].content_type, "application/pdf") != 0 &&
        g_strcmp0(jobs[i].content_type, "image/jpeg") != 0)
      jobs[i].ret = hk_thumbnail_check(jobs[i].content_type, jobs[i].data, jobs[i].len, false,
                                       &jobs[i].thumb, &jobs[i].reason);
    else
      g_queue_push_tail(&todo, GSIZE_TO_POINTER(i));
  }
  while (!g_queue_is_empty(&todo) || nbusy > 0) {
    /* Two per worker: its answers, then its requests; then the cancel. */
    struct pollfd pfd[2 * HK_INSPECT_MAX_PARALLEL + 1];
    int64_t now = g_get_monotonic_time(), wait_ms = 1000;

    if (hk_inspect_cancelled()) {
      /* Stopping (SIGTERM): a worker in the middle of an OCR is not waited
       * for; what it was doing is the caller's to do again. */
      for (unsigned i = 0; i < nbusy; i++) {
        HkInspectJob *job = busy[i]->job;
        hk_worker_retire(busy[i], NULL, NULL);
        job->ret = -HK_EIO;
        job->cancelled = true;
      }
      nbusy = 0;
      while (!g_queue_is_empty(&todo)) {
        HkInspectJob *job = &jobs[GPOINTER_TO_SIZE(g_queue_pop_head(&todo))];
        job->ret = -HK_EIO;
        job->cancelled = true;
      }
      break;
    }

    while (nbusy < parallel && !g_queue_is_empty(&todo)) {
      size_t i = GPOINTER_TO_SIZE(g_queue_pop_head(&todo));
      char *why = NULL;
      HkWorker *w = NULL;
      /* A document tried before goes to a fresh worker; so does one whose
       * worker's CPU limit could not be set. */
      for (int attempt = 0; attempt < 2 && !w; attempt++) {
        w = hk_worker_get(hk_profile(&jobs[i]), tried[i] > 0 || attempt > 0, &why);
        if (w && hk_worker_begin(w, &jobs[i], i) != 0) {
          hk_worker_retire(w, NULL, NULL);
          w = NULL;
          g_free(why);
          why = g_strdup("cannot set the parser's CPU limit");
        }
      }
      if (!w) {
        /* Not the document's fault: it is looked at again later. */
        jobs[i].ret = -HK_EIO;
        jobs[i].reason = why;
        continue;
      }
      g_free(why);
      tried[i]++;
      busy[nbusy++] = w;
    }
    if (nbusy == 0)
      continue;
    for (unsigned i = 0; i < nbusy; i++) {
      bool sending = busy[i]->sent < sizeof busy[i]->rq + busy[i]->job->len && !busy[i]->closed;
      pfd[2 * i] = (struct pollfd){busy[i]->from, POLLIN, 0};
      pfd[2 * i + 1] = (struct pollfd){sending ? busy[i]->to : -1, POLLOUT, 0};
      wait_ms = MIN(wait_ms, MAX(0, (busy[i]->deadline - now) / 1000 + 1));
    }
    pfd[2 * nbusy] = (struct pollfd){hk_cancel_fd, POLLIN, 0};
    if (poll(pfd, 2 * nbusy + 1, (int)wait_ms) < 0 && errno != EINTR)
      memset(pfd, 0, sizeof pfd);
    now = g_get_monotonic_time();
    for (unsigned i = 0; i < nbusy;) {
      bool malformed = false;
      HkPump res =
          hk_worker_pump(busy[i], pfd[2 * i + 1].revents, pfd[2 * i].revents, now, &malformed);
      if (res == HK_PUMP_MORE) {
        i++;
        continue;
      }
      size_t idx = busy[i]->idx;
      if (hk_worker_end(busy[i], res, malformed) && tried[idx] < 2) {
        /* The worker had served before: its death may not be this
         * document's doing. */
        g_clear_pointer(&jobs[idx].reason, g_free);
        jobs[idx].ret = 0;
        HK_STAT_ADD(retried);
        g_queue_push_head(&todo, GSIZE_TO_POINTER(idx));
      }
      /* Keep the busy ones packed at the front. */
      busy[i] = busy[nbusy - 1];
      pfd[2 * i] = pfd[2 * (nbusy - 1)];
      pfd[2 * i + 1] = pfd[2 * (nbusy - 1) + 1];
      nbusy--;
    }
  }
  g_free(tried);
}

int
hk_inspect(const char *content_type, const void *data, size_t len, GBytes **thumb, char **reason)
{
  HkInspectJob job = {.content_type = content_type, .data = data, .len = len, .want_thumb = true};

  hk_inspect_batch(&job, 1, 1);
  *thumb = job.thumb;
  *reason = job.reason;
  return job.ret;
}

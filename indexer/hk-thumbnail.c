#include "hk-thumbnail.h"

#include "hk-error.h"
#include "hk-sandbox.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <poppler.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

/* The limits every parser child runs under (hk_inspect_set_limits). */
static HkInspectLimits hk_limits = HK_INSPECT_LIMITS_DEFAULT;

void
hk_inspect_set_limits(const HkInspectLimits *limits)
{
  hk_limits = *limits;
}

const char *
hk_sniff(const void *data, size_t len)
{
  const unsigned char *p = data;
  const char *type = NULL;

  if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    type = "image/jpeg";
  } else if (len >= 5 && memmem(p, MIN(len, 1024), "%PDF-", 5)) {
    /* Readers accept the header anywhere in the first 1024 bytes. */
    type = "application/pdf";
  } else if (len > 0 && !memchr(p, 0, len) && g_utf8_validate((const char *)p, (gssize)len, NULL)) {
    type = "text/plain";
  }
  return type;
}

static int
hk_jpeg_encode(const unsigned char *pixels, int w, int h, int pitch, int pf, GBytes **out,
               char **reason)
{
  tjhandle tj = tjInitCompress();
  unsigned char *buf = NULL;
  unsigned long size = 0;
  int ret = -HK_EINVAL;

  if (!tj) {
    *reason = g_strdup("cannot start JPEG encoder");
    goto out;
  }
  if (tjCompress2(tj, pixels, w, pitch, h, pf, &buf, &size, TJSAMP_420, 80, TJFLAG_FASTDCT) != 0) {
    *reason = g_strdup_printf("thumbnail encode: %s", tjGetErrorStr2(tj));
    goto out;
  }
  *out = g_bytes_new(buf, size);
  ret = 0;
out:
  if (buf)
    tjFree(buf);
  if (tj)
    tjDestroy(tj);
  return ret;
}

static void
hk_fit(double w, double h, int *tw, int *th)
{
  double s = HK_THUMB_MAX / MAX(w, h);

  if (s > 1)
    s = 1;
  *tw = MAX(1, (int)(w * s + 0.5));
  *th = MAX(1, (int)(h * s + 0.5));
}

static int
hk_pdf(const void *data, size_t len, GBytes **thumb, char **reason)
{
  GBytes *bytes = g_bytes_new_static(data, len);
  PopplerDocument *doc = NULL;
  PopplerPage *page = NULL;
  cairo_surface_t *surf = NULL;
  cairo_t *cr = NULL;
  GError *err = NULL;
  double pw, ph;
  int tw, th, ret = -HK_EINVAL;

  doc = poppler_document_new_from_bytes(bytes, NULL, &err);
  if (!doc) {
    if (g_error_matches(err, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
      *reason = g_strdup("PDF is encrypted and needs a password: staff could not read it");
    else
      *reason = g_strdup_printf("not a readable PDF: %s", err ? err->message : "unknown error");
    goto out;
  }
  if (poppler_document_get_n_pages(doc) < 1) {
    *reason = g_strdup("PDF has no pages");
    goto out;
  }
  ret = 0;
  /* From here on a failure costs only the thumbnail. */
  if (!thumb)
    goto out;
  page = poppler_document_get_page(doc, 0);
  if (!page)
    goto out;
  poppler_page_get_size(page, &pw, &ph);
  if (!(pw > 1 && ph > 1 && pw < 100000 && ph < 100000))
    goto out;
  hk_fit(pw, ph, &tw, &th);
  surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, tw, th);
  cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_scale(cr, tw / pw, th / ph);
  poppler_page_render(page, cr);
  cairo_surface_flush(surf);
  if (cairo_status(cr) == CAIRO_STATUS_SUCCESS) {
    char *why = NULL;
    /* CAIRO_FORMAT_RGB24 is B,G,R,X in memory on little-endian machines. */
    hk_jpeg_encode(cairo_image_surface_get_data(surf), tw, th, cairo_image_surface_get_stride(surf),
                   G_BYTE_ORDER == G_LITTLE_ENDIAN ? TJPF_BGRX : TJPF_XRGB, thumb, &why);
    g_free(why);
  }
out:
  if (cr)
    cairo_destroy(cr);
  if (surf)
    cairo_surface_destroy(surf);
  if (page)
    g_object_unref(page);
  if (doc)
    g_object_unref(doc);
  g_clear_error(&err);
  g_bytes_unref(bytes);
  return ret;
}

static int
hk_jpeg(const void *data, size_t len, GBytes **thumb, char **reason)
{
  tjhandle tj = tjInitDecompress();
  unsigned char *pixels = NULL;
  int w, h, subsamp, cs, nsf = 0, ret = -HK_EINVAL;
  tjscalingfactor *sf, best = { 1, 1 };

  if (!tj) {
    *reason = g_strdup("cannot start JPEG decoder");
    goto out;
  }
  if (len > ULONG_MAX ||
      tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp, &cs) != 0) {
    *reason = g_strdup_printf("not a readable JPEG: %s", tjGetErrorStr2(tj));
    goto out;
  }
  if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > HK_IMAGE_MAX_PIXELS) {
    *reason = g_strdup_printf("JPEG dimensions %dx%d out of range", w, h);
    goto out;
  }
  /* The smallest libjpeg-turbo scale that still covers the thumbnail: the
   * decoder then skips most of the IDCT work. */
  sf = tjGetScalingFactors(&nsf);
  for (int i = 0; sf && i < nsf; i++) {
    int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
    int bw = TJSCALED(w, best), bh = TJSCALED(h, best);
    if (MAX(sw, sh) >= MIN(HK_THUMB_MAX, MAX(w, h)) && MAX(sw, sh) < MAX(bw, bh))
      best = sf[i];
  }
  int sw = TJSCALED(w, best), sh = TJSCALED(h, best);
  /* Scanners write CMYK (Adobe) JPEGs too; TurboJPEG decodes those only
   * to CMYK, so convert here. */
  bool cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
  pixels = g_malloc((size_t)sw * (size_t)sh * (cmyk ? 4 : 3));
  if (tjDecompress2(tj, data, (unsigned long)len, pixels, sw, 0, sh, cmyk ? TJPF_CMYK : TJPF_RGB,
                    TJFLAG_FASTDCT) != 0 &&
      tjGetErrorCode(tj) == TJERR_FATAL) {
    *reason = g_strdup_printf("JPEG data do not decode: %s", tjGetErrorStr2(tj));
    goto out;
  }
  if (cmyk) {
    /* Adobe stores CMYK inverted: each byte is already 255 - ink. */
    for (size_t i = 0; i < (size_t)sw * (size_t)sh; i++) {
      const unsigned char *p = pixels + i * 4;
      unsigned char *q = pixels + i * 3;
      unsigned k = p[3];
      unsigned char r = (unsigned char)(p[0] * k / 255), g = (unsigned char)(p[1] * k / 255),
                    b = (unsigned char)(p[2] * k / 255);
      q[0] = r;
      q[1] = g;
      q[2] = b;
    }
  }
  ret = 0;
  /* Box-reduce to the exact size with cairo, then encode. */
  {
    int tw, th;
    hk_fit(sw, sh, &tw, &th);
    cairo_surface_t *src = cairo_image_surface_create(CAIRO_FORMAT_RGB24, sw, sh);
    unsigned char *sp = cairo_image_surface_get_data(src);
    int stride = cairo_image_surface_get_stride(src);
    for (int y = 0; y < sh; y++)
      for (int x = 0; x < sw; x++) {
        const unsigned char *px = pixels + ((size_t)y * sw + x) * 3;
        uint32_t v = 0xff000000u | (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
        memcpy(sp + (size_t)y * stride + (size_t)x * 4, &v, 4);
      }
    cairo_surface_mark_dirty(src);
    cairo_surface_t *dst = cairo_image_surface_create(CAIRO_FORMAT_RGB24, tw, th);
    cairo_t *cr = cairo_create(dst);
    cairo_scale(cr, (double)tw / sw, (double)th / sh);
    cairo_set_source_surface(cr, src, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_surface_flush(dst);
    char *why = NULL;
    hk_jpeg_encode(cairo_image_surface_get_data(dst), tw, th, cairo_image_surface_get_stride(dst),
                   G_BYTE_ORDER == G_LITTLE_ENDIAN ? TJPF_BGRX : TJPF_XRGB, thumb, &why);
    g_free(why);
    cairo_destroy(cr);
    cairo_surface_destroy(dst);
    cairo_surface_destroy(src);
  }
out:
  g_free(pixels);
  if (tj)
    tjDestroy(tj);
  return ret;
}

int
hk_thumbnail_check(const char *content_type, const void *data, size_t len, bool want_thumb,
                   GBytes **thumb, char **reason)
{
  int ret = -HK_EINVAL;

  *thumb = NULL;
  *reason = NULL;
  if (g_strcmp0(content_type, "application/pdf") == 0) {
    ret = hk_pdf(data, len, want_thumb ? thumb : NULL, reason);
  } else if (g_strcmp0(content_type, "image/jpeg") == 0) {
    ret = hk_jpeg(data, len, thumb, reason);
  } else if (g_strcmp0(content_type, "text/plain") == 0) {
    ret = hk_sniff(data, len) && strcmp(hk_sniff(data, len), "text/plain") == 0 ? 0 : -HK_EINVAL;
    if (ret)
      *reason = g_strdup("text is not valid UTF-8 (or holds NUL bytes)");
  } else {
    *reason = g_strdup_printf("unsupported content type %s", content_type ? content_type : "(none)");
  }
  return ret;
}

static cairo_status_t
hk_append(void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append(closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static PopplerDocument *hk_poppler_keeper;

void
hk_thumbnail_warmup(void)
{
  GByteArray *pdf = g_byte_array_new();
  cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(hk_append, pdf, 200, 200);
  cairo_t *cr = cairo_create(surf);
  GBytes *thumb = NULL;
  char *reason = NULL;

  /* Text in a CJK face makes fontconfig and FreeType load what real
   * documents need. */
  cairo_select_font_face(cr, "Noto Sans CJK JP", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_move_to(cr, 10, 100);
  cairo_show_text(cr, "\xe6\x8e\xa7\xe3\x81\x88 hikae");
  cairo_destroy(cr);
  cairo_surface_finish(surf);
  cairo_surface_destroy(surf);
  hk_thumbnail_check("application/pdf", pdf->data, pdf->len, true, &thumb, &reason);
  /* poppler builds its global state (a scan of /usr/share/poppler) with
   * its first document and drops it with its last: one kept for good lets
   * every child inherit it instead of opening files in its sandbox. */
  if (!hk_poppler_keeper)
    hk_poppler_keeper =
        poppler_document_new_from_bytes(g_bytes_new(pdf->data, pdf->len), NULL, NULL);
  if (thumb)
    g_bytes_unref(thumb);
  g_free(reason);
  g_byte_array_unref(pdf);
}

/* ---- the child process ---- */

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

/* HK_TEST_PARSER_HOOK=ACTION[:CONTENT-TYPE] (tests/indexer/
 * test-parser-sandbox.sh, test-parser-limits.sh): a confined child of that
 * content type (any if none is given) pauses 5 s ("pause", so that a test
 * can read its /proc/PID/fd), tries open() ("open") or socket() ("socket"),
 * burns CPU until its CPU limit stops it ("spin"), sleeps until its
 * wall-clock limit stops it ("hang"), or maps memory 64 MiB at a time,
 * up to 4 GiB, until its memory limit refuses ("alloc": the document is then
 * refused with how far it got). It runs only after hk_sandbox_enter(): it
 * cannot lift any restriction, only make the child stop, wait or fail as a
 * hostile file would make a parser do. Returns a reason to refuse the
 * document with, or NULL to parse it as usual. */
static char *
hk_test_hook(const char *content_type)
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
    struct timespec ts = { 5, 0 };
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
      struct timespec ts = { 60, 0 };
      nanosleep(&ts, NULL);
    }
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

/* The child's address space when it starts: its limit is this plus
 * hk_limits.memory_mib. Relative, because what a child inherits differs by
 * build: AddressSanitizer's shadow alone reserves terabytes, so an absolute
 * limit would either stop every sanitized child or be switched off there,
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

static G_GNUC_NORETURN void
hk_inspect_child(int fd, const HkInspectJob *job)
{
  /* SIGXCPU at the soft limit; SIGKILL a second later if it is caught. */
  struct rlimit cpu = { hk_limits.cpu_s, hk_limits.cpu_s + 1 };
  struct rlimit mem;
  GBytes *thumb = NULL;
  char *reason = NULL;
  uint32_t hdr[3];
  int ret;

  setrlimit(RLIMIT_CPU, &cpu);
  /* Before the sandbox: /proc is out of reach once it is entered. */
  mem.rlim_cur = mem.rlim_max = hk_inherited_vm() + ((uint64_t)hk_limits.memory_mib << 20);
  setrlimit(RLIMIT_AS, &mem);
  /* Nothing of the indexer (the store's data.mdb, sockets, the source
   * folders) is reachable from here on (hk-sandbox.h). */
  if (hk_sandbox_enter(fd, job->want_thumb && g_strcmp0(job->content_type, "application/pdf") == 0
                               ? HK_SANDBOX_RENDER
                               : HK_SANDBOX_PARSE) != 0) {
    ret = -HK_EIO;
    reason = g_strdup("the parser's sandbox could not be set up: not parsed");
  } else if ((reason = hk_test_hook(job->content_type)) != NULL) {
    ret = -HK_EINVAL;
  } else {
    ret = hk_thumbnail_check(job->content_type, job->data, job->len, job->want_thumb, &thumb,
                             &reason);
  }
  hdr[0] = ret == 0 ? 0 : 1;
  hdr[1] = reason ? (uint32_t)strlen(reason) : 0;
  hdr[2] = thumb ? (uint32_t)g_bytes_get_size(thumb) : 0;
  if (hk_write_all(fd, hdr, sizeof hdr) == 0 && (!hdr[1] || hk_write_all(fd, reason, hdr[1]) == 0))
    if (hdr[2])
      hk_write_all(fd, g_bytes_get_data(thumb, NULL), hdr[2]);
  _exit(0);
}

typedef struct {
  HkInspectJob *job;
  pid_t pid;
  int fd;
  int64_t deadline;
  GByteArray *buf;
  bool timed_out;
} HkRunning;

static void
hk_inspect_start(HkRunning *r, HkInspectJob *job)
{
  int fds[2];

  memset(r, 0, sizeof *r);
  r->job = job;
  r->fd = -1;
  r->pid = -1;
  if (pipe2(fds, O_CLOEXEC) != 0) {
    job->reason = g_strdup_printf("cannot inspect: pipe: %s", g_strerror(errno));
    job->ret = -HK_EIO;
    return;
  }
  r->pid = fork();
  if (r->pid < 0) {
    job->reason = g_strdup_printf("cannot inspect: fork: %s", g_strerror(errno));
    job->ret = -HK_EIO;
    close(fds[0]);
    close(fds[1]);
    return;
  }
  if (r->pid == 0) {
    close(fds[0]);
    hk_inspect_child(fds[1], job);
  }
  close(fds[1]);
  r->fd = fds[0];
  r->buf = g_byte_array_new();
  r->deadline = g_get_monotonic_time() + hk_limits.wall_s * G_USEC_PER_SEC;
}

/* Reap a child whose pipe closed (or timed out) and read its answer. */
static void
hk_inspect_finish(HkRunning *r)
{
  HkInspectJob *job = r->job;
  int status = 0;
  uint32_t hdr[3];

  struct rusage ru = { 0 };
  bool cpu_spent;

  if (r->timed_out)
    kill(r->pid, SIGKILL);
  while (wait4(r->pid, &status, 0, &ru) < 0 && errno == EINTR)
    ;
  cpu_spent = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec >= (time_t)hk_limits.cpu_s;
  close(r->fd);
  job->ret = -HK_EINVAL;
  if (r->timed_out) {
    job->reason = g_strdup_printf("parser took longer than %u s on this %s (killed)",
                                  hk_limits.wall_s, job->content_type);
  } else if (WIFSIGNALED(status) &&
             (WTERMSIG(status) == SIGXCPU || (WTERMSIG(status) == SIGKILL && cpu_spent))) {
    /* The CPU limit sends SIGXCPU, then SIGKILL a second later if that
     * was caught. */
    job->reason = g_strdup_printf("parser used more than %u s of CPU on this %s (killed)",
                                  hk_limits.cpu_s, job->content_type);
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
    uint32_t nr = UINT32_MAX;
    char *name;
    /* The trap record follows whatever the child wrote before. */
    if (r->buf->len >= sizeof hdr) {
      memcpy(hdr, r->buf->data + r->buf->len - sizeof hdr, sizeof hdr);
      if (hdr[0] == HK_SANDBOX_TRAPPED)
        nr = hdr[1];
    }
    name = nr == UINT32_MAX ? g_strdup("unknown") : hk_sandbox_syscall_name(nr);
    job->reason = g_strdup_printf("the %s parser was stopped by its sandbox on this file: it made "
                                  "the forbidden system call %s (killed by SIGSYS)",
                                  job->content_type, name);
    g_free(name);
  } else if (WIFSIGNALED(status)) {
    job->reason = g_strdup_printf("%s parser crashed on this file (signal %d)", job->content_type,
                                  WTERMSIG(status));
  } else if (r->buf->len < sizeof hdr) {
    job->reason = g_strdup_printf("%s parser gave no answer (exit %d)", job->content_type,
                                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  } else {
    memcpy(hdr, r->buf->data, sizeof hdr);
    if ((uint64_t)sizeof hdr + hdr[1] + hdr[2] != r->buf->len) {
      job->reason = g_strdup("parser answer truncated");
    } else {
      if (hdr[1])
        job->reason = g_strndup((const char *)r->buf->data + sizeof hdr, hdr[1]);
      if (hdr[2])
        job->thumb = g_bytes_new(r->buf->data + sizeof hdr + hdr[1], hdr[2]);
      job->ret = hdr[0] == 0 ? 0 : -HK_EINVAL;
    }
  }
  g_byte_array_unref(r->buf);
  r->job = NULL;
}

void
hk_inspect_batch(HkInspectJob *jobs, size_t n, unsigned parallel)
{
  HkRunning run[HK_INSPECT_MAX_PARALLEL];
  size_t next = 0;
  unsigned active = 0;

  parallel = CLAMP(parallel, 1, HK_INSPECT_MAX_PARALLEL);
  for (size_t i = 0; i < n; i++) {
    jobs[i].thumb = NULL;
    jobs[i].reason = NULL;
    jobs[i].ret = 0;
  }
  while (next < n || active > 0) {
    struct pollfd pfd[HK_INSPECT_MAX_PARALLEL];
    int64_t now = g_get_monotonic_time(), wait_ms = 1000;

    /* Plain text needs no parser worth isolating. */
    while (next < n && g_strcmp0(jobs[next].content_type, "text/plain") == 0) {
      jobs[next].ret = hk_thumbnail_check("text/plain", jobs[next].data, jobs[next].len, false,
                                          &jobs[next].thumb, &jobs[next].reason);
      next++;
    }
    while (next < n && active < parallel && g_strcmp0(jobs[next].content_type, "text/plain")) {
      hk_inspect_start(&run[active], &jobs[next++]);
      if (run[active].pid > 0)
        active++;
    }
    if (active == 0)
      continue;
    for (unsigned i = 0; i < active; i++) {
      pfd[i] = (struct pollfd){ run[i].fd, POLLIN, 0 };
      wait_ms = MIN(wait_ms, MAX(0, (run[i].deadline - now) / 1000));
    }
    if (poll(pfd, active, (int)wait_ms) < 0 && errno != EINTR)
      break;
    now = g_get_monotonic_time();
    for (unsigned i = 0; i < active;) {
      bool done = false;
      if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        unsigned char chunk[65536];
        ssize_t got = read(run[i].fd, chunk, sizeof chunk);
        if (got > 0 && run[i].buf->len + (size_t)got <= (8u << 20))
          g_byte_array_append(run[i].buf, chunk, (guint)got);
        done = got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN) ||
               run[i].buf->len + (size_t)MAX(got, 0) > (8u << 20);
      }
      if (!done && now >= run[i].deadline)
        done = run[i].timed_out = true;
      if (done) {
        hk_inspect_finish(&run[i]);
        /* Keep the running ones packed at the front. */
        run[i] = run[active - 1];
        pfd[i] = pfd[active - 1];
        active--;
      } else {
        i++;
      }
    }
  }
}

int
hk_inspect(const char *content_type, const void *data, size_t len, GBytes **thumb, char **reason)
{
  HkInspectJob job = { .content_type = content_type, .data = data, .len = len, .want_thumb = true };

  hk_inspect_batch(&job, 1, 1);
  *thumb = job.thumb;
  *reason = job.reason;
  return job.ret;
}

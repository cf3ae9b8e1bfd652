/* hk-bench-visible: helper of bench/ingest (a benchmark, not a test).
 *
 * Mode "visible" measures visibility latency: a feeder thread places
 * documents into a drop folder at a steady rate (content first, then the
 * sidecar written under a temporary name and renamed into place; the time
 * right after rename() is t0), while the main thread polls the store
 * read-only with a fresh read transaction every ~1 ms and records when each
 * expected source_id becomes visible. Both use CLOCK_MONOTONIC of this one
 * process. Everything is bounded by --timeout.
 *
 *   hk-bench-visible visible --store DIR --drop DIR --src DIR --manifest FILE
 *                    [--rate 200] [--count 2000] [--timeout 120] [--out FILE]
 *
 * Mode "copy" is the baseline: for each document of the manifest (up to
 * --count), copy the content file and then its sidecar from SRC to DST with
 * open/read/write/fsync per file (as `cp` then `sync FILE` would), and print
 * the wall time.
 *
 *   hk-bench-visible copy --src DIR --dst DIR --manifest FILE [--count N]
 *
 * Mode "index" says how far the search index is behind the texts: the
 * store's text sequence (one step per text stored) and the index's
 * `through` (texts up to which everything is indexed; -1: no index).
 *
 *   hk-bench-visible index --store DIR
 *
 * The last line of output is "RESULT key=value ..." for the script. */
#include "hk-error.h"
#include "hk-fts.h"
#include "hk-store.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  char *path;      /* relative to the source/drop root */
  char *source_id;
  uint64_t size;
  void *content;   /* preloaded content (visible mode) */
  size_t content_len;
  void *sidecar;   /* preloaded sidecar */
  size_t sidecar_len;
  _Atomic int64_t renamed_ns; /* 0 until the sidecar is in place */
  int64_t visible_ns;         /* 0 until seen in the store */
} BenchDoc;

typedef struct {
  const char *store;
  const char *drop;
  const char *src;
  const char *dst;
  const char *manifest;
  const char *out;
  double rate;
  unsigned count;
  unsigned timeout_s;
  BenchDoc *docs;
  unsigned n;
  _Atomic int feeder_done;
  _Atomic int stop;
  int feeder_error;
  int64_t feed_start_ns;
  int64_t feed_end_ns;
  int64_t max_lag_ns; /* how late the feeder was against its schedule, at worst */
} Bench;

static int64_t
now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void
sleep_until_ns(int64_t t)
{
  struct timespec ts = { .tv_sec = t / 1000000000ll, .tv_nsec = t % 1000000000ll };

  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
}

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  fputs("hk-bench-visible: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* Read the manifest's document records, at most max of them. */
static void
load_manifest(Bench *b, unsigned max)
{
  FILE *f = fopen(b->manifest, "r");
  char *line = NULL;
  size_t cap = 0;
  JsonParser *parser = json_parser_new();

  if (!f)
    die("cannot open %s: %s", b->manifest, strerror(errno));
  b->docs = g_new0(BenchDoc, max ? max : 1);
  while (b->n < max && getline(&line, &cap, f) > 0) {
    GError *err = NULL;
    JsonObject *o;
    if (!json_parser_load_from_data(parser, line, -1, &err)) {
      g_error_free(err);
      continue;
    }
    o = json_node_get_object(json_parser_get_root(parser));
    if (!o || g_strcmp0(json_object_get_string_member_with_default(o, "record", ""), "document"))
      continue;
    b->docs[b->n].path = g_strdup(json_object_get_string_member(o, "path"));
    b->docs[b->n].source_id = g_strdup(json_object_get_string_member(o, "source_id"));
    b->docs[b->n].size = (uint64_t)json_object_get_int_member_with_default(o, "size", 0);
    b->n++;
  }
  free(line);
  fclose(f);
  g_object_unref(parser);
  if (b->n == 0)
    die("no document records in %s", b->manifest);
}

static void
mkdir_parents(const char *file)
{
  char *dir = g_path_get_dirname(file);

  if (g_mkdir_with_parents(dir, 0755) != 0)
    die("cannot create %s: %s", dir, strerror(errno));
  g_free(dir);
}

static void
write_all(int fd, const void *buf, size_t len, const char *path)
{
  const char *p = buf;

  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      die("cannot write %s: %s", path, strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

static void
write_file(const char *path, const void *buf, size_t len, bool do_fsync)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0)
    die("cannot create %s: %s", path, strerror(errno));
  write_all(fd, buf, len, path);
  if (do_fsync && fsync(fd) != 0)
    die("cannot fsync %s: %s", path, strerror(errno));
  if (close(fd) != 0)
    die("cannot close %s: %s", path, strerror(errno));
}

/* ---- the feeder ---- */

static void *
feeder(void *arg)
{
  Bench *b = arg;
  int64_t period = (int64_t)(1e9 / b->rate);
  int64_t deadline = b->feed_start_ns + (int64_t)b->timeout_s * 1000000000ll;

  for (unsigned i = 0; i < b->n && !atomic_load(&b->stop); i++) {
    BenchDoc *d = &b->docs[i];
    int64_t due = b->feed_start_ns + (int64_t)i * period;
    char *content = g_build_filename(b->drop, d->path, NULL);
    char *sidecar = g_strconcat(content, ".meta.json", NULL);
    char *dir = g_path_get_dirname(content);
    char *base = g_path_get_basename(sidecar);
    char *tmp = g_strdup_printf("%s/.%s.tmp", dir, base);

    if (due > deadline)
      break;
    sleep_until_ns(due);
    mkdir_parents(content);
    write_file(content, d->content, d->content_len, false);
    write_file(tmp, d->sidecar, d->sidecar_len, false);
    if (rename(tmp, sidecar) != 0)
      die("cannot rename %s: %s", tmp, strerror(errno));
    int64_t t0 = now_ns();
    atomic_store(&d->renamed_ns, t0);
    if (t0 - due > b->max_lag_ns)
      b->max_lag_ns = t0 - due;
    b->feed_end_ns = t0;
    g_free(tmp);
    g_free(base);
    g_free(dir);
    g_free(sidecar);
    g_free(content);
  }
  atomic_store(&b->feeder_done, 1);
  return NULL;
}

static int
cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

  return x < y ? -1 : x > y;
}

static double
pct_ms(const int64_t *sorted, unsigned n, double p)
{
  /* nearest-rank percentile */
  unsigned k = (unsigned)(p / 100.0 * n + 0.999999);

  if (n == 0)
    return -1;
  if (k < 1)
    k = 1;
  if (k > n)
    k = n;
  return sorted[k - 1] / 1e6;
}

static int
run_visible(Bench *b)
{
  hk_store *s = NULL;
  pthread_t th;
  int64_t start = now_ns(), deadline = start + (int64_t)b->timeout_s * 1000000000ll;
  unsigned visible = 0, polls = 0;
  int ret;

  load_manifest(b, b->count);
  for (unsigned i = 0; i < b->n; i++) {
    char *c = g_build_filename(b->src, b->docs[i].path, NULL);
    char *m = g_strconcat(c, ".meta.json", NULL);
    GError *err = NULL;
    if (!g_file_get_contents(c, (char **)&b->docs[i].content, &b->docs[i].content_len, &err) ||
        !g_file_get_contents(m, (char **)&b->docs[i].sidecar, &b->docs[i].sidecar_len, &err))
      die("%s", err->message);
    g_free(c);
    g_free(m);
  }
  /* The indexer creates the store; wait for it (bounded). */
  while ((ret = hk_store_open(b->store, HK_STORE_RDONLY, &s)) != 0) {
    if (now_ns() > deadline)
      die("store %s did not appear: %s", b->store, hk_strerror(ret));
    usleep(10000);
  }
  b->feed_start_ns = now_ns() + 100000000ll; /* 100 ms from now */
  deadline = b->feed_start_ns + (int64_t)b->timeout_s * 1000000000ll;
  if (pthread_create(&th, NULL, feeder, b) != 0)
    die("cannot start the feeder thread");
  while (visible < b->n && now_ns() < deadline) {
    hk_txn *t = NULL;
    int64_t snap;
    ret = hk_txn_begin(s, false, &t);
    snap = now_ns();
    if (ret == 0) {
      for (unsigned i = 0; i < b->n; i++) {
        BenchDoc *d = &b->docs[i];
        char doc_id[HK_DOC_ID_LEN + 1];
        if (d->visible_ns || !atomic_load(&d->renamed_ns))
          continue;
        if (hk_store_find_source(t, d->source_id, doc_id) == 0) {
          d->visible_ns = snap;
          visible++;
        }
      }
      hk_txn_abort(t);
    }
    polls++;
    usleep(1000);
  }
  atomic_store(&b->stop, 1);
  pthread_join(th, NULL);
  hk_store_close(s);

  unsigned placed = 0, nlat = 0;
  int64_t *lat = g_new0(int64_t, b->n);
  double sum = 0;
  FILE *out = b->out ? fopen(b->out, "w") : NULL;
  for (unsigned i = 0; i < b->n; i++) {
    BenchDoc *d = &b->docs[i];
    int64_t r = atomic_load(&d->renamed_ns);
    if (!r)
      continue;
    placed++;
    if (d->visible_ns) {
      lat[nlat++] = d->visible_ns - r;
      sum += (double)(d->visible_ns - r);
    }
    if (out)
      fprintf(out, "%s\t%" G_GINT64_FORMAT "\t%.3f\n", d->source_id, (gint64)d->size,
              d->visible_ns ? (d->visible_ns - r) / 1e6 : -1.0);
  }
  if (out)
    fclose(out);
  qsort(lat, nlat, sizeof *lat, cmp_i64);
  double span = placed > 1 ? (b->feed_end_ns - b->feed_start_ns) / 1e9 : 0;
  printf("placed %u documents in %.2f s (%.1f/s, feeder at most %.1f ms late); %u visible, "
         "%u never within the timeout; %u store polls\n",
         placed, span, span > 0 ? (placed - 1) / span : 0, b->max_lag_ns / 1e6, nlat,
         placed - nlat, polls);
  printf("RESULT placed=%u visible=%u missing=%u rate=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f "
         "max_ms=%.1f mean_ms=%.1f\n",
         placed, nlat, placed - nlat, span > 0 ? (placed - 1) / span : 0, pct_ms(lat, nlat, 50),
         pct_ms(lat, nlat, 90), pct_ms(lat, nlat, 99), nlat ? lat[nlat - 1] / 1e6 : -1,
         nlat ? sum / nlat / 1e6 : -1);
  g_free(lat);
  return placed == 0 || placed != nlat;
}

/* ---- the baseline ---- */

static void
copy_one(const char *from, const char *to)
{
  char buf[1 << 16];
  int in = open(from, O_RDONLY | O_CLOEXEC), outfd;

  if (in < 0)
    die("cannot open %s: %s", from, strerror(errno));
  outfd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (outfd < 0)
    die("cannot create %s: %s", to, strerror(errno));
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      die("cannot read %s: %s", from, strerror(errno));
    if (n == 0)
      break;
    write_all(outfd, buf, (size_t)n, to);
  }
  if (fsync(outfd) != 0)
    die("cannot fsync %s: %s", to, strerror(errno));
  close(in);
  if (close(outfd) != 0)
    die("cannot close %s: %s", to, strerror(errno));
}

static int
run_copy(Bench *b)
{
  uint64_t bytes = 0;
  int64_t start;

  load_manifest(b, b->count);
  start = now_ns();
  for (unsigned i = 0; i < b->n; i++) {
    char *from = g_build_filename(b->src, b->docs[i].path, NULL);
    char *to = g_build_filename(b->dst, b->docs[i].path, NULL);
    char *from_m = g_strconcat(from, ".meta.json", NULL);
    char *to_m = g_strconcat(to, ".meta.json", NULL);
    struct stat st;
    mkdir_parents(to);
    copy_one(from, to);
    copy_one(from_m, to_m);
    if (stat(from, &st) == 0)
      bytes += (uint64_t)st.st_size;
    g_free(from);
    g_free(to);
    g_free(from_m);
    g_free(to_m);
  }
  double secs = (now_ns() - start) / 1e9;
  printf("copied %u documents (%u files, %" G_GUINT64_FORMAT " content bytes) in %.2f s\n", b->n,
         2 * b->n, (guint64)bytes, secs);
  printf("RESULT docs=%u bytes=%" G_GUINT64_FORMAT " secs=%.3f docs_per_s=%.1f mb_per_s=%.2f\n",
         b->n, (guint64)bytes, secs, b->n / secs, bytes / 1e6 / secs);
  return 0;
}

/* ---- the index's progress ---- */

static int
run_index(const Bench *b)
{
  hk_store *s = NULL;
  hk_fts *f = NULL;
  hk_txn *t = NULL;
  uint64_t seq = 0, through = 0;
  int ret = hk_store_open(b->store, HK_STORE_RDONLY, &s);

  if (ret)
    die("store %s: %s", b->store, hk_strerror(ret));
  ret = hk_txn_begin(s, false, &t);
  if (ret == 0)
    ret = hk_store_text_seq(t, &seq);
  hk_txn_abort(t);
  if (ret)
    die("text sequence: %s", hk_strerror(ret));
  ret = hk_fts_open(s, false, &f);
  if (ret == 0)
    ret = hk_fts_through(f, &through);
  printf("RESULT text_seq=%" G_GUINT64_FORMAT " through=%s%" G_GUINT64_FORMAT "\n", (guint64)seq,
         ret ? "-" : "", (guint64)(ret ? 1 : through));
  hk_fts_close(f);
  hk_store_close(s);
  return 0;
}

int
main(int argc, char **argv)
{
  Bench b = { .rate = 200, .count = 2000, .timeout_s = 120 };
  const char *mode = argc > 1 ? argv[1] : "";

  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v)
      die("option %s needs a value", a);
    if (!strcmp(a, "--store"))
      b.store = v;
    else if (!strcmp(a, "--drop"))
      b.drop = v;
    else if (!strcmp(a, "--src"))
      b.src = v;
    else if (!strcmp(a, "--dst"))
      b.dst = v;
    else if (!strcmp(a, "--manifest"))
      b.manifest = v;
    else if (!strcmp(a, "--out"))
      b.out = v;
    else if (!strcmp(a, "--rate"))
      b.rate = atof(v);
    else if (!strcmp(a, "--count"))
      b.count = (unsigned)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--timeout"))
      b.timeout_s = (unsigned)strtoul(v, NULL, 10);
    else
      die("unknown option %s", a);
    i++;
  }
  if (!strcmp(mode, "index")) {
    if (!b.store)
      die("index needs --store");
    return run_index(&b);
  }
  if (b.rate <= 0 || b.rate > 100000 || b.count == 0 || b.count > 10000000 || b.timeout_s == 0 ||
      b.timeout_s > 86400 || !b.manifest || !b.src)
    die("usage: hk-bench-visible visible|copy --src DIR --manifest FILE ... (see the source)");
  if (!strcmp(mode, "visible")) {
    if (!b.store || !b.drop)
      die("visible needs --store and --drop");
    return run_visible(&b);
  }
  if (!strcmp(mode, "copy")) {
    if (!b.dst)
      die("copy needs --dst");
    return run_copy(&b);
  }
  die("mode must be \"visible\" or \"copy\"");
}

/* hikae-indexer: the archive's only writer. It pulls finalized documents
 * from drop folders (and SS-MIX2 storage) into the store, and never writes
 * to its sources. */
#include "hk-config.h"
#include "hk-drop.h"
#include "hk-error.h"
#include "hk-extractor.h"
#include "hk-ingest.h"
#include "hk-log.h"
#include "hk-ssmix2-hook.h"
#include "hk-store.h"
#include "hk-inspect.h"
#include "hk-thumbnail.h"
#include "hk-ocr.h"
#include "hk-ftsq.h"
#include "hk-thumbq.h"
#include "hk-time.h"
#include "hk-watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define HK_PROGRAM "hikae-indexer"
#define HK_HEARTBEAT_S 10
#define HK_DEBOUNCE_MS 20

/* How often the loop looks for texts to index when nothing wakes it. */
#define HK_FTSQ_LOOK_MS 1000

typedef struct {
  char *store_dir;
  char **drops;
  char **ssmix2;
  gboolean once;
  gint poll_interval;
  gint tripwire_threshold;
  gint tripwire_window;
  gint replace_threshold;
  gint replace_window;
  gint max_size_mb;
  gint map_size_mb; /* 0: HK_STORE_MAP_DEFAULT */
  gint batch;
  gint workers;
  gint parser_cpu;
  gint parser_timeout;
  gint parser_memory;
  gint text_workers;
  gint text_cpu;
  gint text_timeout;
  gboolean ocr; /* accepted, as before OCR was on by default */
  gboolean no_ocr;
  gboolean no_text;
  gboolean verbose;
} HkIndexerOptions;

typedef struct {
  HkIndexerOptions *opt;
  hk_store *store;
  hk_ingest *ing;
  GPtrArray *drops;    /* hk_drop* */
  GPtrArray *sx_names; /* char*, the name of each SS-MIX2 root */
  GPtrArray *sx_roots; /* char* */
  hk_watch *watch;
  hk_ftsq *ftsq;           /* the full-text index, after the texts; NULL with --no-text */
  hk_extractor *extractor; /* NULL with --once or --no-text */
  int lock_fd;
} HkIndexer;

/* Take the store's writer lock so a second indexer cannot interleave. */
static int
hk_indexer_lock(HkIndexer *ix)
{
  char *path = g_build_filename(ix->opt->store_dir, "indexer.lock", NULL);
  int ret = 0;

  ix->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (ix->lock_fd < 0) {
    hk_error("cannot open %s: %s", path, g_strerror(errno));
    ret = hk_err_from_errno(errno);
  } else if (flock(ix->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    hk_error("another hikae-indexer is running on %s", ix->opt->store_dir);
    ret = -HK_EBUSY;
  }
  g_free(path);
  return ret;
}

/* Look at every source once. \return 0, -HK_ESEALED, or a store error. */
static int
hk_indexer_full_scan(HkIndexer *ix)
{
  int64_t start = hk_time_now();
  int ret = 0;

  hk_ingest_scan_start(ix->ing);
  for (guint i = 0; ret == 0 && i < ix->drops->len; i++)
    ret = hk_drop_scan(g_ptr_array_index(ix->drops, i), ix->ing, NULL);
  for (guint i = 0; ret == 0 && i < ix->sx_roots->len; i++)
    ret = hk_ssmix2_hook_scan(ix->ing, ix->sx_names->pdata[i], ix->sx_roots->pdata[i]);
  if (ret == 0)
    ret = hk_ingest_flush(ix->ing);
  hk_extractor_kick(ix->extractor);
  /* Freshness is only claimed for a scan that saw every source through. */
  if (ret == 0)
    ret = hk_ingest_heartbeat(ix->ing, HK_INDEXER_RUNNING, start);
  return ret;
}

static int
hk_indexer_events(HkIndexer *ix, GPtrArray *paths)
{
  int ret = 0;

  hk_ingest_scan_start(ix->ing);
  for (guint i = 0; ret == 0 && i < ix->drops->len; i++)
    ret = hk_drop_scan(g_ptr_array_index(ix->drops, i), ix->ing, paths);
  if (ret == 0)
    ret = hk_ingest_flush(ix->ing);
  hk_extractor_kick(ix->extractor);
  return ret;
}

/* A store queue that only ever follows a commit (thumbnails, texts). */
typedef int (*HkDrainFunc)(hk_store *s, unsigned max, unsigned parallel, unsigned *left);

/* Drain up to max entries of one queue, a few at a time so new documents
 * are not held up behind a long queue. \return true if more remain. */
static bool
hk_indexer_drain(HkIndexer *ix, HkDrainFunc drain, const char *what, unsigned max)
{
  unsigned left = 0;
  int ret = drain(ix->store, max, (unsigned)ix->opt->workers, &left);

  if (ret == -HK_ESEALED)
    hk_ingest_refresh_seal(ix->ing);
  else if (ret)
    hk_warn("%s: %s", what, hk_strerror(ret));
  return ret == 0 && left;
}

static bool
hk_indexer_thumbnails(HkIndexer *ix, unsigned max)
{
  return hk_indexer_drain(ix, hk_thumbq_drain, "thumbnails", max);
}

static void
hk_indexer_report(HkIndexer *ix)
{
  const HkIngestCounters *c = hk_ingest_counters(ix->ing);

  hk_info("added %" G_GUINT64_FORMAT " versions (%" G_GUINT64_FORMAT " bytes), %" G_GUINT64_FORMAT
          " unchanged, %" G_GUINT64_FORMAT " quarantined, %" G_GUINT64_FORMAT
          " suspect, %" G_GUINT64_FORMAT " replaced (%" G_GUINT64_FORMAT
          " moved to another patient)",
          c->added, c->bytes, c->unchanged, c->quarantined, c->suspect, c->replaced, c->moved);
  hk_info("parsers: %u workers started, %u documents answered, %u parsed again after a worker "
          "died",
          hk_inspect_stats().started, hk_inspect_stats().answered, hk_inspect_stats().retried);
}

static int
hk_indexer_run(HkIndexer *ix)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
  sigset_t mask;
  int sfd = -1, ret = 0;
  int64_t next_scan = 0, next_beat = 0, woke = g_get_monotonic_time();

  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (hk_watch_new(&ix->watch) != 0)
    hk_warn("inotify unavailable; relying on the rescan every %d s", ix->opt->poll_interval);
  for (guint i = 0; ix->watch && i < ix->drops->len; i++)
    hk_watch_add_tree(ix->watch, hk_drop_root(g_ptr_array_index(ix->drops, i)));
  hk_info("watching %u drop folder(s), %u SS-MIX2 root(s); rescan every %d s", ix->drops->len,
          ix->sx_roots->len, ix->opt->poll_interval);
  for (;;) {
    int64_t now = g_get_monotonic_time();
    struct pollfd pfd[3] = {
        {sfd, POLLIN, 0}, {ix->watch ? hk_watch_fd(ix->watch) : -1, POLLIN, 0}, {-1, POLLIN, 0}};
    bool overflow = false;

    if (now >= next_scan) {
      /* Both ways: an unseal resumes ingest, a seal by hand (hikae-admin
       * seal) stops it; the writes check the seal again themselves. */
      hk_ingest_refresh_seal(ix->ing);
      if (!hk_ingest_sealed(ix->ing)) {
        ret = hk_indexer_full_scan(ix);
        if (ret && ret != -HK_ESEALED)
          hk_error("scan failed: %s; retrying at the next interval", hk_strerror(ret));
      } else {
        hk_debug("sealed: rescan skipped");
      }
      next_scan = now + (int64_t)ix->opt->poll_interval * G_USEC_PER_SEC;
    }
    if (now >= next_beat) {
      hk_ingest_heartbeat(ix->ing, HK_INDEXER_RUNNING, 0);
      next_beat = now + HK_HEARTBEAT_S * G_USEC_PER_SEC;
    }
    /* Texts are extracted beside this loop (hk-extractor.h). */
    bool more_thumbs = !hk_ingest_sealed(ix->ing) && hk_indexer_thumbnails(ix, 8);
    /* The index is written by a child the loop does not wait for; its
     * pipe wakes the loop when it is done. Texts come from the extraction
     * thread without waking the loop: the text log is looked at again
     * within HK_FTSQ_LOOK_MS. */
    bool more_fts = false;
    if (ix->ftsq && !hk_ingest_sealed(ix->ing))
      hk_ftsq_step(ix->ftsq, 256, &more_fts);
    pfd[2].fd = ix->ftsq ? hk_ftsq_fd(ix->ftsq) : -1;
    int64_t wait_ms =
        more_thumbs || more_fts ? 0 : (MIN(next_scan, next_beat) - g_get_monotonic_time()) / 1000;
    /* The loop's time out of poll (scans, checks, commits, thumbnails):
     * the extraction waits while that is most of it (hk-extractor.c). At
     * 200 documents/s it was about all of it, at 10/s about a third. */
    hk_extractor_ingest_busy(ix->extractor, woke, g_get_monotonic_time());
    int pr = poll(pfd, 3, (int)CLAMP(wait_ms, 0, HK_FTSQ_LOOK_MS));
    woke = g_get_monotonic_time();
    if (pr < 0 && errno != EINTR) {
      ret = hk_err_from_errno(errno);
      break;
    }
    if (pr > 0 && (pfd[0].revents & POLLIN)) {
      hk_info("signal received; finishing and stopping");
      ret = 0;
      break;
    }
    if (pr > 0 && (pfd[1].revents & POLLIN)) {
      /* A writer usually drops content and sidecar together: wait a moment
       * so they are looked at in one batch. */
      g_usleep(HK_DEBOUNCE_MS * 1000);
      hk_watch_read(ix->watch, paths, &overflow);
      if (overflow)
        next_scan = 0;
      else if (paths->len && !hk_ingest_sealed(ix->ing)) {
        ret = hk_indexer_events(ix, paths);
        if (ret && ret != -HK_ESEALED)
          hk_error("ingest failed: %s; the rescan retries", hk_strerror(ret));
      } else if (paths->len) {
        hk_debug("sealed: %u changed path(s) left for after unseal", paths->len);
      }
      g_ptr_array_set_size(paths, 0);
    }
  }
  hk_ingest_flush(ix->ing);
  /* An extraction in hand is cancelled: its versions stay queued. */
  hk_extractor_stop(g_steal_pointer(&ix->extractor));
  hk_ingest_heartbeat(ix->ing, HK_INDEXER_STOPPED, 0);
  hk_indexer_report(ix);
  if (sfd >= 0)
    close(sfd);
  g_ptr_array_unref(paths);
  return ret;
}

/* A source argument: "NAME=DIR", or a bare "DIR" named default_name. A
 * '=' after a '/' is part of the folder's name ("./a=b" is a folder).
 * \return 0, or -HK_EINVAL after printing the usage error. */
static int
hk_source_arg(const char *opt, const char *arg, const char *default_name, char **name, char **dir)
{
  const char *eq = strchr(arg, '=');
  const char *slash = strchr(arg, '/');
  int ret = 0;

  if (eq && (!slash || eq < slash)) {
    *name = g_strndup(arg, (gsize)(eq - arg));
    *dir = g_strdup(eq + 1);
  } else {
    *name = g_strdup(default_name);
    *dir = g_strdup(arg);
  }
  if (!hk_source_name_valid(*name)) {
    hk_usage_error(HK_PROGRAM,
                   "%s %s: a source name is 1-%d of A-Za-z0-9._- (not starting "
                   "with . or -)",
                   opt, arg, HK_SOURCE_NAME_MAX);
    ret = -HK_EINVAL;
  } else if (!**dir) {
    hk_usage_error(HK_PROGRAM, "%s %s: no folder given", opt, arg);
    ret = -HK_EINVAL;
  }
  return ret;
}

/* Every source has its own name: a file in one can never supersede a
 * document of another. */
static int
hk_source_name_taken(GHashTable *names, const char *opt, const char *name)
{
  int ret = 0;

  if (g_hash_table_contains(names, name)) {
    hk_usage_error(HK_PROGRAM,
                   "two sources are named \"%s\"; give each its own name with "
                   "%s NAME=DIR",
                   name, opt);
    ret = -HK_EINVAL;
  } else {
    g_hash_table_add(names, g_strdup(name));
  }
  return ret;
}

int
main(int argc, char **argv)
{
  HkIndexerOptions opt = {.poll_interval = 30,
                          .tripwire_threshold = 10,
                          .tripwire_window = 300,
                          .replace_threshold = HK_REPLACE_THRESHOLD,
                          .replace_window = HK_REPLACE_WINDOW_S,
                          .max_size_mb = 256,
                          .batch = 128,
                          .workers = (gint)g_get_num_processors(),
                          .parser_cpu = 20,
                          .parser_timeout = 30,
                          .parser_memory = 2048,
                          .text_workers = 1,
                          .text_cpu = 300,
                          .text_timeout = 600};
  GOptionEntry entries[] = {
      {"store", 0, 0, G_OPTION_ARG_FILENAME, &opt.store_dir, "Document store folder", "DIR"},
      {"drop", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt.drops,
       "Drop folder, named NAME (repeatable; a bare DIR is named \"drop\")", "[NAME=]DIR"},
      {"ssmix2", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt.ssmix2,
       "SS-MIX2 storage root, named NAME (repeatable; a bare DIR is named \"ssmix2\")",
       "[NAME=]DIR"},
      {"once", 0, 0, G_OPTION_ARG_NONE, &opt.once, "Ingest what is present, then exit", NULL},
      {"poll-interval", 0, 0, G_OPTION_ARG_INT, &opt.poll_interval,
       "Seconds between full rescans (default 30)", "SECONDS"},
      {"tripwire-threshold", 0, 0, G_OPTION_ARG_INT, &opt.tripwire_threshold,
       "Seal after more than N suspect files in the window (default 10)", "N"},
      {"tripwire-window", 0, 0, G_OPTION_ARG_INT, &opt.tripwire_window,
       "Tripwire window in seconds (default 300)", "SECONDS"},
      {"replace-threshold", 0, 0, G_OPTION_ARG_INT, &opt.replace_threshold,
       "Seal after more than N valid replacements of stored documents in the window (default "
       "50)",
       "N"},
      {"replace-window", 0, 0, G_OPTION_ARG_INT, &opt.replace_window,
       "Replacement window in seconds (default 300)", "SECONDS"},
      {"max-size", 0, 0, G_OPTION_ARG_INT, &opt.max_size_mb,
       "Largest document accepted, in MiB (default 256)", "MIB"},
      {"batch", 0, 0, G_OPTION_ARG_INT, &opt.batch, "Documents per transaction (default 128)", "N"},
      {"workers", 0, 0, G_OPTION_ARG_INT, &opt.workers,
       "Parser processes at once (default: the number of cores)", "N"},
      {"parser-cpu", 0, 0, G_OPTION_ARG_INT, &opt.parser_cpu,
       "CPU seconds one parser process may use on a document (default 20)", "SECONDS"},
      {"parser-timeout", 0, 0, G_OPTION_ARG_INT, &opt.parser_timeout,
       "Seconds one parser process may take on a document (default 30)", "SECONDS"},
      {"parser-memory", 0, 0, G_OPTION_ARG_INT, &opt.parser_memory,
       "Memory one parser process may add, in MiB (default 2048)", "MIB"},
      {"text-workers", 0, 0, G_OPTION_ARG_INT, &opt.text_workers,
       "Parser processes extracting text beside ingest (default 1)", "N"},
      {"text-cpu", 0, 0, G_OPTION_ARG_INT, &opt.text_cpu,
       "CPU seconds one text extraction (OCR included) may use on a document (default 300)",
       "SECONDS"},
      {"text-timeout", 0, 0, G_OPTION_ARG_INT, &opt.text_timeout,
       "Seconds one text extraction may take on a document (default 600)", "SECONDS"},
      {"no-ocr", 0, 0, G_OPTION_ARG_NONE, &opt.no_ocr,
       "Do not OCR scans and PDF pages without text (their text stays \"needs_ocr\" or "
       "empty)",
       NULL},
      {"no-text", 0, 0, G_OPTION_ARG_NONE, &opt.no_text,
       "Neither extract text (no OCR either) nor write the search index: new versions stay "
       "queued for extraction (texts_pending), search finds nothing new",
       NULL},
      {"ocr", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt.ocr,
       "OCR scans (the default; kept for older command lines)", NULL},
      {"map-size", 0, 0, G_OPTION_ARG_INT, &opt.map_size_mb,
       "Map of the store, in MiB (default 1048576 = 1 TiB; doubles when full)", "MIB"},
      {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt.verbose, "Log debug messages", NULL},
      {NULL},
  };
  HkIndexer ix = {.opt = &opt, .lock_fd = -1};
  HkIngestConfig cfg = {0};
  HkExtractorConfig text_cfg = {0};
  GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  int ret, status = 1;

  hk_log_set_program(HK_PROGRAM);
  ret = hk_config_parse(HK_PROGRAM, "", "Copies finalized clinical documents into the store.",
                        entries, &argc, &argv);
  if (ret < 0) {
    status = ret == -HK_EINVAL ? 2 : 1;
    goto out;
  }
  if (argc > 1) {
    status = hk_usage_error(HK_PROGRAM, "unexpected argument \"%s\"", argv[1]);
    goto out;
  }
  if (!opt.store_dir) {
    status = hk_usage_error(HK_PROGRAM, "--store DIR is required");
    goto out;
  }
  if (!opt.drops && !opt.ssmix2) {
    status = hk_usage_error(HK_PROGRAM, "give at least one --drop DIR or --ssmix2 DIR");
    goto out;
  }
  if (opt.poll_interval < 1 || opt.poll_interval > 86400 || opt.tripwire_threshold < 1 ||
      opt.tripwire_window < 1 || opt.replace_threshold < 1 || opt.replace_window < 1 ||
      opt.max_size_mb < 1 || opt.max_size_mb > 4096 || opt.batch < 1 || opt.batch > 100000 ||
      opt.workers < 1 || opt.workers > HK_INSPECT_MAX_PARALLEL || opt.parser_cpu < 1 ||
      opt.parser_cpu > 3600 || opt.parser_timeout < 1 || opt.parser_timeout > 3600 ||
      opt.parser_memory < 64 || opt.parser_memory > 65536 || opt.text_workers < 1 ||
      opt.text_workers > HK_INSPECT_MAX_PARALLEL || opt.text_cpu < 1 || opt.text_cpu > 86400 ||
      opt.text_timeout < 1 || opt.text_timeout > 86400 ||
      (opt.map_size_mb && (uint64_t)opt.map_size_mb << 20 < HK_STORE_MAP_MIN)) {
    status = hk_usage_error(HK_PROGRAM, "a numeric option is out of range");
    goto out;
  }
  if (opt.ocr && (opt.no_ocr || opt.no_text)) {
    status = hk_usage_error(HK_PROGRAM, "--ocr and %s contradict each other",
                            opt.no_ocr ? "--no-ocr" : "--no-text");
    goto out;
  }
  if (opt.verbose)
    hk_log_set_level(HK_LOG_DEBUG);
  ix.drops = g_ptr_array_new_with_free_func((GDestroyNotify)hk_drop_free);
  ix.sx_names = g_ptr_array_new_with_free_func(g_free);
  ix.sx_roots = g_ptr_array_new_with_free_func(g_free);
  for (char **d = opt.drops; d && *d; d++) {
    hk_drop *drop = NULL;
    g_autofree char *name = NULL, *dir = NULL;
    if (hk_source_arg("--drop", *d, HK_SOURCE_DROP_DEFAULT, &name, &dir) < 0 ||
        hk_source_name_taken(names, "--drop", name) < 0) {
      status = 2;
      goto out;
    }
    ret = hk_drop_open(name, dir, (size_t)opt.max_size_mb << 20, (unsigned)opt.workers, &drop);
    if (ret) {
      fprintf(stderr, "%s: drop folder %s: %s\n", HK_PROGRAM, dir, hk_strerror(ret));
      goto out;
    }
    for (guint i = 0; i < ix.drops->len; i++) {
      if (strcmp(hk_drop_root(ix.drops->pdata[i]), hk_drop_root(drop)) == 0) {
        status = hk_usage_error(HK_PROGRAM, "drop folder %s is given twice (as %s and %s)",
                                hk_drop_root(drop), hk_drop_name(ix.drops->pdata[i]), name);
        hk_drop_free(drop);
        goto out;
      }
    }
    g_ptr_array_add(ix.drops, drop);
  }
  for (char **s = opt.ssmix2; s && *s; s++) {
    char *name = NULL, *dir = NULL;
    if (hk_source_arg("--ssmix2", *s, HK_SOURCE_SSMIX2_DEFAULT, &name, &dir) < 0 ||
        hk_source_name_taken(names, "--ssmix2", name) < 0) {
      g_free(name);
      g_free(dir);
      status = 2;
      goto out;
    }
    g_ptr_array_add(ix.sx_names, name);
    g_ptr_array_add(ix.sx_roots, dir);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
      fprintf(stderr, "%s: SS-MIX2 root %s: not a readable folder\n", HK_PROGRAM, dir);
      goto out;
    }
  }
  ret =
      hk_store_open_map(opt.store_dir, HK_STORE_CREATE, (uint64_t)opt.map_size_mb << 20, &ix.store);
  if (ret) {
    fprintf(stderr, "%s: cannot open store %s: %s\n", HK_PROGRAM, opt.store_dir, hk_strerror(ret));
    goto out;
  }
  if (hk_indexer_lock(&ix) != 0)
    goto out;
  cfg.batch_max_items = (unsigned)opt.batch;
  cfg.tripwire_threshold = (unsigned)opt.tripwire_threshold;
  cfg.tripwire_window_s = (unsigned)opt.tripwire_window;
  cfg.replace_threshold = (unsigned)opt.replace_threshold;
  cfg.replace_window_s = (unsigned)opt.replace_window;
  ix.ing = hk_ingest_new(ix.store, &cfg);
  /* --no-text: the queue is still filled by each commit, so a later run
   * without it extracts and indexes what this one left. */
  ix.ftsq = opt.no_text ? NULL : hk_ftsq_new(ix.store);
  hk_inspect_set_limits(&(HkInspectLimits){.cpu_s = (unsigned)opt.parser_cpu,
                                           .wall_s = (unsigned)opt.parser_timeout,
                                           .memory_mib = (unsigned)opt.parser_memory});
  hk_thumbnail_warmup();
  if (opt.no_ocr || opt.no_text)
    hk_ocr_disable();
  /* Before any thread: libgomp reads it once, and setenv beside another
   * thread's getenv is a race (hk-ocr.h). */
  g_setenv("OMP_THREAD_LIMIT", "1", TRUE);
  text_cfg.workers = (unsigned)opt.text_workers;
  text_cfg.limits = (HkInspectLimits){.cpu_s = (unsigned)opt.text_cpu,
                                      .wall_s = (unsigned)opt.text_timeout,
                                      .memory_mib = (unsigned)opt.parser_memory,
                                      .nice = HK_EXTRACTOR_NICE};
  if (opt.once) {
    int64_t t0 = g_get_monotonic_time();
    ret = hk_ingest_sealed(ix.ing) ? -HK_ESEALED : hk_indexer_full_scan(&ix);
    /* Every document is served from here on; thumbnails are extra
     * (bench/ingest reads this line). */
    if (ret == 0)
      hk_info("scan committed in %.3f s; drawing the thumbnails left",
              (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
    while (ret == 0 && hk_indexer_thumbnails(&ix, 64))
      ;
    /* Then the texts, backfill included, before exiting. */
    if (ret == 0 && !opt.no_text && !hk_ingest_sealed(ix.ing)) {
      int tret = hk_extractor_drain_all(ix.store, &text_cfg);
      if (tret == -HK_ESEALED)
        hk_ingest_refresh_seal(ix.ing);
      else if (tret)
        hk_warn("text extraction: %s", hk_strerror(tret));
    }
    /* Then the index, from the texts just stored. */
    for (bool more = ix.ftsq && ret == 0 && !hk_ingest_sealed(ix.ing); more;)
      hk_ftsq_drain(ix.ftsq, 1024, &more);
    if (ret == 0)
      ret = hk_ingest_heartbeat(ix.ing, HK_INDEXER_STOPPED, 0);
    hk_indexer_report(&ix);
  } else {
    ret = opt.no_text ? 0 : hk_extractor_start(ix.store, &text_cfg, &ix.extractor);
    if (ret == 0)
      ret = hk_indexer_run(&ix);
  }
  if (ret == -HK_ESEALED)
    fprintf(stderr,
            "%s: sealed (by the tripwire or by hikae-admin seal); see `hikae-admin stats`, "
            "then `hikae-admin unseal`\n",
            HK_PROGRAM);
  else if (ret)
    fprintf(stderr, "%s: %s\n", HK_PROGRAM, hk_strerror(ret));
  status = ret ? 1 : 0;
out:
  hk_extractor_stop(ix.extractor);
  hk_inspect_shutdown();
  hk_ftsq_free(ix.ftsq);
  hk_ingest_free(ix.ing);
  hk_watch_free(ix.watch);
  if (ix.drops)
    g_ptr_array_unref(ix.drops);
  if (ix.sx_names)
    g_ptr_array_unref(ix.sx_names);
  if (ix.sx_roots)
    g_ptr_array_unref(ix.sx_roots);
  g_hash_table_unref(names);
  hk_store_close(ix.store);
  if (ix.lock_fd >= 0)
    close(ix.lock_fd);
  g_free(opt.store_dir);
  g_strfreev(opt.drops);
  g_strfreev(opt.ssmix2);
  return status;
}

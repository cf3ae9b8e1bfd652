#include "hk-textq.h"

#include "hk-boxes.h"
#include "hk-error.h"
#include "hk-extract.h"
#include "hk-inspect.h"
#include "hk-log.h"
#include "hk-ocr.h"
#include "hk-time.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* A batch of the queue is extracted a few versions at a time but stored
 * in one write transaction, each of which is an fsync that ingest's
 * commits queue behind (LMDB has one writer): plain texts take
 * microseconds each, and stored one per commit they cost ingest a commit
 * each (docs/benchmarks.md, "Ingest", visibility). The batch is closed
 * after this long, so that its texts are not held back for an OCR
 * backlog. */
#define HK_TEXTQ_BATCH_MS 1000

/* One queued version between the read of the queue and the write of what
 * was found. */
typedef struct {
  HkTextKey key;
  uint32_t attempts; /* before this one */
  char *content_type;
  GBytes *bytes;
  /* what was found */
  uint8_t status;
  GBytes *list;  /* page list, or NULL */
  GBytes *boxes; /* box list (hk-boxes.h), checked against list, or NULL */
  char *reason;
} HkTextItem;

typedef struct {
  HkTextItem *items;
  guint n;
} HkTextqRun;

static void
hk_text_item_clear(HkTextItem *it)
{
  g_free(it->content_type);
  if (it->bytes)
    g_bytes_unref(it->bytes);
  if (it->list)
    g_bytes_unref(it->list);
  if (it->boxes)
    g_bytes_unref(it->boxes);
  g_free(it->reason);
}

/* Read what each queued version needs: its content type, its attempts so
 * far and, with bytes, its bytes (copied: the workers need them after the
 * snapshot ends). */
static int
hk_textq_read(hk_txn *t, HkTextItem *it, bool bytes)
{
  HkVersion *v = NULL;
  HkTextInfo info;
  const void *data = NULL;
  size_t len = 0;
  int ret = 0;

  if (it->status)
    goto out; /* found unreadable before */
  if (hk_store_get_text(t, it->key.doc_id, it->key.version, &info) == 0)
    it->attempts = info.attempts;
  ret = hk_store_get_version(t, it->key.doc_id, it->key.version, &v);
  if (ret == 0 && bytes)
    ret = hk_store_get_blob(t, v->sha256, &data, &len);
  /* verify names a version or blob that is missing; here it is a failed
   * extraction, not a reason to stop the queue. */
  if (ret == -HK_ENOTFOUND || ret == -HK_ECORRUPT) {
    it->status = HK_TEXT_FAILED;
    it->reason = g_strdup_printf("cannot read the version to extract from: %s", hk_strerror(ret));
    ret = 0;
  } else if (ret == 0) {
    g_free(it->content_type);
    it->content_type = g_strdup(v->content_type ? v->content_type : "");
    if (bytes)
      it->bytes = g_bytes_new(data, len);
  }
out:
  hk_version_free(v);
  return ret;
}

/* Store the boxes of a version's pages (checked in hk_textq_run). */
static int
hk_textq_put_boxes(hk_txn *t, HkTextItem *it)
{
  HkBoxListReader r;
  int ret = hk_box_list_decode(g_bytes_get_data(it->boxes, NULL), g_bytes_get_size(it->boxes), &r);

  for (uint32_t i = 0; ret == 0 && i < r.entries; i++) {
    uint32_t page;
    const uint8_t *rec;
    size_t len;
    hk_box_list_next(&r, &page, &rec, &len);
    ret = hk_store_put_text_boxes(t, it->key.doc_id, it->key.version, page, rec, len);
  }
  return ret;
}

/* Store what was found, and keep in the queue each failure with attempts
 * left. */
static int
hk_textq_put(hk_txn *t, void *data)
{
  HkTextqRun *r = data;
  /* Not after a seal (hikae-admin seal): the store stays as it was. */
  int ret = hk_store_check_unsealed(t);
  int64_t now = hk_time_now();

  for (guint i = 0; ret == 0 && i < r->n; i++) {
    HkTextItem *it = &r->items[i];
    HkTextInfo info = {.status = it->status, .attempts = it->attempts + 1, .at = now};
    HkTextListReader list = {0}, walk;
    bool failed = it->status == HK_TEXT_FAILED || it->status == HK_TEXT_TIMEOUT;
    if (it->reason) {
      size_t n = MIN(strlen(it->reason), HK_TEXT_REASON_MAX);
      /* Cut at a character boundary: the API writes the reason as it is. */
      while (n > 0 && n < strlen(it->reason) && ((unsigned char)it->reason[n] & 0xC0) == 0x80)
        n--;
      info.reason.p = it->reason;
      info.reason.len = (uint32_t)n;
    }
    if (it->list) {
      /* Decoded once in hk_textq_run. */
      hk_text_list_decode(g_bytes_get_data(it->list, NULL), g_bytes_get_size(it->list), &list);
      walk = list;
      info.pages = list.pages;
      info.flags = list.flags & HK_TEXT_TRUNCATED;
      for (uint32_t p = 0; p < list.pages; p++) {
        HkTextPage page;
        hk_text_list_next(&walk, &page);
        info.source = page.source;
        info.bytes += page.text.len;
        info.empty_pages += page.text.len == 0;
      }
    }
    ret = hk_store_put_text(t, it->key.doc_id, it->key.version, &info, it->list ? &list : NULL,
                            failed && info.attempts < HK_TEXT_MAX_ATTEMPTS);
    if (ret == 0 && it->boxes)
      ret = hk_textq_put_boxes(t, it);
  }
  return ret;
}

/* Whether a worker's page list (not checked yet: a failed decode is
 * "no") has a page with no text but white space. */
static bool
hk_textq_has_blank(GBytes *list)
{
  HkTextListReader r;
  bool blank = false;

  if (!list || hk_text_list_decode(g_bytes_get_data(list, NULL), g_bytes_get_size(list), &r) != 0)
    return false;
  for (uint32_t p = 0; p < r.pages && !blank; p++) {
    HkTextPage page;
    hk_text_list_next(&r, &page);
    blank = true;
    for (uint32_t i = 0; i < page.text.len && blank; i++)
      blank = g_ascii_isspace(page.text.p[i]);
  }
  return blank;
}

/* A PDF with a page without text, read while the model was not loaded:
 * load it now (the first time only, in this process) and read those PDFs
 * again in workers that have it, so that their scanned pages are OCRed.
 * A process that never meets a scanned page never pays for the model. */
static void
hk_textq_ocr_again(HkInspectJob *jobs, guint njobs, unsigned parallel)
{
  HkInspectJob *again = NULL;
  guint *of = NULL, n = 0;
  bool ocr = false;

  if (hk_ocr_ready() || hk_inspect_cancelled())
    return;
  for (guint j = 0; j < njobs; j++)
    if (!jobs[j].cancelled && jobs[j].ret == 0 &&
        strcmp(jobs[j].content_type, "application/pdf") == 0 && hk_textq_has_blank(jobs[j].text))
      n++;
  if (n == 0 || !hk_ocr_warmup(&ocr))
    return;
  hk_inspect_shutdown();
  again = g_new0(HkInspectJob, n);
  of = g_new0(guint, n);
  n = 0;
  for (guint j = 0; j < njobs; j++) {
    if (jobs[j].ret == 0 && strcmp(jobs[j].content_type, "application/pdf") == 0 &&
        hk_textq_has_blank(jobs[j].text)) {
      again[n] = (HkInspectJob){.content_type = jobs[j].content_type,
                                .data = jobs[j].data,
                                .len = jobs[j].len,
                                .want_text = true};
      of[n++] = j;
    }
  }
  hk_inspect_batch(again, n, parallel);
  for (guint k = 0; k < n; k++) {
    HkInspectJob *job = &jobs[of[k]];
    g_bytes_unref(job->text);
    if (job->boxes)
      g_bytes_unref(job->boxes);
    g_free(job->reason);
    *job = again[k];
  }
  g_free(again);
  g_free(of);
}

/* The OCR model is loaded with the first scan, not at start-up (it costs
 * a second or two and tens of MiB); the workers forked before it lack it
 * and are replaced. (A PDF loads it only once it shows a page without
 * text: hk_textq_ocr_again.) \return whether OCR can be done. */
static bool
hk_textq_warmup(const HkTextItem *items, guint n)
{
  bool ocr = false;

  for (guint i = 0; i < n; i++) {
    if (!items[i].status && strcmp(items[i].content_type, "image/jpeg") == 0) {
      if (hk_ocr_warmup(&ocr))
        hk_inspect_shutdown();
      break;
    }
  }
  return ocr;
}

/* Decide, extract, and take each worker's answer. */
static void
hk_textq_run(HkTextItem *items, guint n, unsigned parallel, bool *cancelled)
{
  HkInspectJob *jobs = g_new0(HkInspectJob, MAX(n, 1));
  guint *of = g_new0(guint, MAX(n, 1));
  guint njobs = 0;
  bool ocr = hk_textq_warmup(items, n);

  for (guint i = 0; i < n; i++) {
    HkTextItem *it = &items[i];
    gsize len = 0;
    const void *data = it->bytes ? g_bytes_get_data(it->bytes, &len) : NULL;
    if (it->status)
      continue; /* already failed to read */
    if (strcmp(it->content_type, "text/plain") == 0) {
      it->status =
          hk_extract_plain(data, len, &it->list, &it->reason) == 0 ? HK_TEXT_DONE : HK_TEXT_FAILED;
    } else if (strcmp(it->content_type, "application/pdf") == 0) {
      jobs[njobs] = (HkInspectJob){
          .content_type = "application/pdf", .data = data, .len = len, .want_text = true};
      of[njobs++] = i;
    } else if (strcmp(it->content_type, "image/jpeg") == 0 && ocr) {
      jobs[njobs] =
          (HkInspectJob){.content_type = "image/jpeg", .data = data, .len = len, .want_text = true};
      of[njobs++] = i;
    } else if (strcmp(it->content_type, "image/jpeg") == 0) {
      it->status = HK_TEXT_NEEDS_OCR;
    } else {
      it->status = HK_TEXT_UNSUPPORTED;
      it->reason = g_strdup_printf("no text is extracted from %s", it->content_type);
    }
  }
  if (njobs)
    hk_inspect_batch(jobs, njobs, parallel);
  hk_textq_ocr_again(jobs, njobs, parallel);
  for (guint j = 0; j < njobs; j++) {
    HkTextItem *it = &items[of[j]];
    HkInspectJob *job = &jobs[j];
    HkTextListReader check;
    if (job->cancelled) {
      *cancelled = true;
    } else if (job->ret == 0 && job->text &&
               hk_text_list_decode(g_bytes_get_data(job->text, NULL), g_bytes_get_size(job->text),
                                   &check) == 0) {
      it->status = HK_TEXT_DONE;
      it->list = g_steal_pointer(&job->text);
      /* Boxes are a hostile parser's answer too: all checked against the
       * text, or none kept; the text is kept either way. */
      if (job->boxes &&
          hk_box_list_check(g_bytes_get_data(job->boxes, NULL), g_bytes_get_size(job->boxes),
                            g_bytes_get_data(it->list, NULL), g_bytes_get_size(it->list)) == 0)
        it->boxes = g_steal_pointer(&job->boxes);
      else if (job->boxes)
        hk_info("text of %s v%u: the parser's box answer was malformed: stored without boxes",
                it->key.doc_id, it->key.version);
    } else {
      it->status = job->limit_hit ? HK_TEXT_TIMEOUT : HK_TEXT_FAILED;
      /* A worker is hostile input's parser: what it answers is checked. */
      it->reason = job->ret == 0 ? g_strdup("the parser's text answer was malformed")
                                 : g_steal_pointer(&job->reason);
      if (!it->reason)
        it->reason = g_strdup("the parser gave no reason");
    }
    if (job->text)
      g_bytes_unref(job->text);
    if (job->boxes)
      g_bytes_unref(job->boxes);
    if (job->thumb)
      g_bytes_unref(job->thumb);
    g_free(job->reason);
  }
  /* A worker's reason is a hostile parser's words: the API writes the
   * stored reason as it is, so it is made UTF-8 here. */
  for (guint i = 0; i < n; i++) {
    if (items[i].reason) {
      char *valid = g_utf8_make_valid(items[i].reason, -1);
      g_free(items[i].reason);
      items[i].reason = valid;
    }
  }
  g_free(of);
  g_free(jobs);
}

/* HK_TEST_EXTRACT_HOLD=FIFO (tests/indexer/test-extract-beside.sh): each
 * batch, once read from the queue, waits for a byte from FIFO before it is
 * extracted, and says so on stderr, so that a test can hold an extraction
 * as long as it likes without a clock; a cancel (hk_inspect_set_cancel)
 * ends the wait. */
static void
hk_textq_hold(void)
{
  const char *fifo = g_getenv("HK_TEST_EXTRACT_HOLD");
  bool released = false;

  if (!fifo)
    return;
  hk_info("text extraction held by HK_TEST_EXTRACT_HOLD");
  while (!released && !hk_inspect_cancelled()) {
    int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct pollfd pfd = {fd, POLLIN, 0};
    char c;
    if (fd < 0)
      break;
    while (!released && !hk_inspect_cancelled()) {
      if (poll(&pfd, 1, 100) <= 0)
        continue;
      released = read(fd, &c, 1) == 1;
      /* A writer that came and went without a byte: open again. */
      if (!released)
        break;
    }
    close(fd);
  }
  hk_info("text extraction released");
}

/* Read items (keys set) from one snapshot (with bytes: copied, the
 * workers need them after it ends). */
static int
hk_textq_read_all(hk_store *s, HkTextItem *items, guint n, bool bytes)
{
  hk_txn *t = NULL;
  int ret = hk_txn_begin(s, false, &t);

  for (guint i = 0; ret == 0 && i < n; i++)
    ret = hk_textq_read(t, &items[i], bytes);
  hk_txn_abort(t);
  return ret;
}

int
hk_textq_drain(hk_store *s, unsigned max, unsigned parallel, unsigned *left)
{
  GArray *keys = g_array_new(FALSE, FALSE, sizeof(HkTextKey));
  HkTextItem *items = NULL;
  hk_txn *t = NULL;
  int64_t until;
  guint done = 0;
  bool cancelled = false;
  int ret;

  *left = 0;
  parallel = MAX(parallel, 1);
  ret = hk_txn_begin(s, false, &t);
  if (ret == 0)
    ret = hk_store_text_queue(t, max, keys);
  hk_txn_abort(t);
  t = NULL;
  if (ret || keys->len == 0)
    goto out;
  items = g_new0(HkTextItem, keys->len);
  for (guint i = 0; i < keys->len; i++)
    items[i].key = g_array_index(keys, HkTextKey, i);
  /* The content types first, so that a scan anywhere in the batch loads
   * the OCR model before any worker is forked (else the workers of the
   * versions before it would be replaced). */
  ret = hk_textq_read_all(s, items, keys->len, false);
  if (ret)
    goto out;
  hk_textq_warmup(items, keys->len);
  hk_textq_hold();
  until = g_get_monotonic_time() + HK_TEXTQ_BATCH_MS * 1000;
  /* parallel versions at a time, each read just before its extraction
   * (only their bytes are held), until the batch is through or has
   * taken HK_TEXTQ_BATCH_MS; then one commit for all of them. */
  while (ret == 0 && done < keys->len && !hk_inspect_cancelled() &&
         (done == 0 || g_get_monotonic_time() < until)) {
    guint n = MIN(parallel, keys->len - done);
    ret = hk_textq_read_all(s, &items[done], n, true);
    if (ret == 0)
      hk_textq_run(&items[done], n, parallel, &cancelled);
    for (guint i = done; i < done + n; i++)
      g_clear_pointer(&items[i].bytes, g_bytes_unref);
    /* Stopping: the versions in hand stay queued with the attempts they
     * had; those extracted before are stored. */
    if (ret || cancelled || hk_inspect_cancelled())
      break;
    done += n;
  }
  /* The store's pages the batch touched go (the bytes were copied):
   * once a batch, each costs the pages' faults again. */
  hk_store_trim(s);
  if (ret)
    goto out;
  if (done < keys->len)
    *left = 1;
  if (done == 0)
    goto out;
  /* A failure is the operator's to know of; the document is served anyway. */
  for (guint i = 0; i < done; i++)
    if ((items[i].status == HK_TEXT_FAILED || items[i].status == HK_TEXT_TIMEOUT) &&
        items[i].reason)
      hk_info("text of %s v%u: %s: %s", items[i].key.doc_id, items[i].key.version,
              hk_text_status_name(items[i].status), items[i].reason);
  ret = hk_store_write(s, 8, hk_textq_put, &(HkTextqRun){items, done});
  if (ret == 0)
    hk_debug("text extraction: %u text(s) stored in one commit", done);
  /* A failure kept for another attempt counts as left: --once tries it
   * again now, at most HK_TEXT_MAX_ATTEMPTS passes in all. */
  for (guint i = 0; ret == 0 && i < done; i++)
    if ((items[i].status == HK_TEXT_FAILED || items[i].status == HK_TEXT_TIMEOUT) &&
        items[i].attempts + 1 < HK_TEXT_MAX_ATTEMPTS)
      *left = 1;
  if (ret == 0 && keys->len == max)
    *left = 1;
out:
  for (guint i = 0; items && i < keys->len; i++)
    hk_text_item_clear(&items[i]);
  g_free(items);
  g_array_unref(keys);
  return ret;
}

/* Text extraction (issue 14, item 1): the record codec (hk-text.h), the
 * store's text tables and queue (hk-store-texts.c) and the queue's drain
 * (hk-textq.c) with real poppler in the confined parser workers, over a
 * real LMDB store in a temporary folder. Versions are added to the store
 * directly, as the indexer's commit adds them, so that the queue can be
 * looked at between the commit and the drain: no clock is involved. */
#include "hk-error.h"
#include "hk-extract.h"
#include "hk-inspect.h"
#include "hk-ocr.h"
#include "hk-sha256.h"
#include "hk-store.h"
#include "hk-test.h"
#include "hk-text.h"
#include "hk-textq.h"
#include "hk-thumbnail.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <turbojpeg.h>

/* ---- helpers ---- */

typedef struct {
  char *tmp, *dir;
  hk_store *s;
} Fx;

static void
fx_open(Fx *fx, const char *name)
{
  hk_test_store_setup(name, &fx->tmp, &fx->dir);
  ck_assert_int_eq(hk_store_open(fx->dir, HK_STORE_CREATE, &fx->s), 0);
}

static void
fx_close(Fx *fx)
{
  hk_store_close(fx->s);
  hk_test_store_teardown(&fx->tmp, &fx->dir);
}

/* Commit bytes as a new version of source_id, as the indexer's commit
 * does; its document ID in doc_id. */
static void
add_doc(Fx *fx, const char *source_id, const char *content_type, const void *data, size_t len,
        char doc_id[HK_DOC_ID_LEN + 1])
{
  HkVersion *v = hk_version_new();
  uint8_t digest[HK_SHA256_LEN];
  hk_txn *t = NULL;
  bool added = false;

  v->patient_id = g_strdup("0000000001");
  v->source_id = g_strdup(source_id);
  v->type = g_strdup("progress_note");
  v->title = g_strdup("text");
  v->created_at = g_strdup("2026-11-20T14:03:00+09:00");
  v->created_usec = 1795150980000000;
  v->content_type = g_strdup(content_type);
  hk_sha256(data, len, digest);
  hk_sha256_hex(digest, v->sha256);
  v->size = len;
  ck_assert_int_eq(hk_txn_begin(fx->s, true, &t), 0);
  ck_assert_int_eq(hk_store_put_blob(t, v->sha256, data, len, NULL), 0);
  ck_assert_int_eq(hk_store_add_version(t, v, &added), 0);
  ck_assert(added);
  ck_assert_int_eq(hk_txn_commit(t), 0);
  memcpy(doc_id, v->doc_id, HK_DOC_ID_LEN + 1);
  hk_version_free(v);
}

/* Drain the queue until it is empty; \return how many drains it took. */
static unsigned
drain_all(Fx *fx)
{
  unsigned left = 1, passes = 0;

  while (left) {
    ck_assert_int_eq(hk_textq_drain(fx->s, 8, 2, &left), 0);
    passes++;
    ck_assert_uint_le(passes, 20);
  }
  return passes;
}

/* The status record of version 1 of doc_id, copied: reason in *reason. */
static void
get_info(Fx *fx, const char *doc_id, HkTextInfo *info, char **reason)
{
  hk_txn *t = NULL;

  ck_assert_int_eq(hk_txn_begin(fx->s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_text(t, doc_id, 1, info), 0);
  if (reason)
    *reason = info->reason.p ? g_strndup(info->reason.p, info->reason.len) : NULL;
  info->reason = (HkRowStr){0};
  hk_txn_abort(t);
}

/* Page `page` of version 1 of doc_id, copied (g_free); its source in *source. */
static char *
get_page(Fx *fx, const char *doc_id, uint32_t page, uint8_t *source)
{
  HkTextPage p;
  hk_txn *t = NULL;
  char *text;

  ck_assert_int_eq(hk_txn_begin(fx->s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_text_page(t, doc_id, 1, page, &p), 0);
  text = g_strndup(p.text.p, p.text.len);
  if (source)
    *source = p.source;
  ck_assert_uint_eq(p.confidence, HK_TEXT_NO_CONFIDENCE);
  hk_txn_abort(t);
  return text;
}

static bool
queued(Fx *fx, const char *doc_id)
{
  hk_txn *t = NULL;
  int ret;

  ck_assert_int_eq(hk_txn_begin(fx->s, false, &t), 0);
  ret = hk_store_text_queued(t, doc_id, 1);
  hk_txn_abort(t);
  ck_assert(ret == 0 || ret == -HK_ENOTFOUND);
  return ret == 0;
}

static cairo_status_t
append(void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append(closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* A PDF of n pages, cairo's as the samples' are; page i shows texts[i]
 * (NULL: a filled rectangle and no text at all, as a scan's page). */
static GByteArray *
make_pdf(const char *const *texts, unsigned n)
{
  GByteArray *pdf = g_byte_array_new();
  cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(append, pdf, 595, 842);
  cairo_t *cr = cairo_create(surf);

  cairo_select_font_face(cr, "Noto Sans CJK JP", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 14);
  for (unsigned i = 0; i < n; i++) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (texts[i]) {
      cairo_move_to(cr, 50, 100);
      cairo_show_text(cr, texts[i]);
    } else {
      cairo_rectangle(cr, 50, 50, 200, 300);
      cairo_fill(cr);
    }
    cairo_show_page(cr);
  }
  cairo_destroy(cr);
  cairo_surface_finish(surf);
  cairo_surface_destroy(surf);
  return pdf;
}

/* ---- the codec ---- */

START_TEST(test_codec_roundtrip)
{
  GByteArray *b = g_byte_array_new();
  HkTextInfo in = {.status = HK_TEXT_FAILED,
                   .source = HK_TEXT_SOURCE_PDF,
                   .flags = HK_TEXT_TRUNCATED,
                   .attempts = 2,
                   .pages = 3,
                   .empty_pages = 1,
                   .bytes = 77,
                   .at = -5,
                   .reason = {"why", 3}},
             out;
  HkTextPage page;

  hk_text_info_encode(&in, b);
  ck_assert_int_eq(hk_text_info_decode(b->data, b->len, &out), 0);
  ck_assert_uint_eq(out.status, HK_TEXT_FAILED);
  ck_assert_uint_eq(out.source, HK_TEXT_SOURCE_PDF);
  ck_assert_uint_eq(out.flags, HK_TEXT_TRUNCATED);
  ck_assert_uint_eq(out.attempts, 2);
  ck_assert_uint_eq(out.pages, 3);
  ck_assert_uint_eq(out.empty_pages, 1);
  ck_assert_uint_eq(out.bytes, 77);
  ck_assert_int_eq(out.at, -5);
  ck_assert_uint_eq(out.reason.len, 3);
  ck_assert(memcmp(out.reason.p, "why", 3) == 0);
  /* Every shorter prefix and one byte more are refused. */
  for (guint n = 0; n < b->len; n++)
    ck_assert_int_eq(hk_text_info_decode(b->data, n, &out), -HK_ECORRUPT);
  g_byte_array_append(b, (const guint8 *)"x", 1);
  ck_assert_int_eq(hk_text_info_decode(b->data, b->len, &out), -HK_ECORRUPT);
  /* An unknown status or layout is refused. */
  g_byte_array_set_size(b, b->len - 1);
  b->data[1] = HK_TEXT_STATUS_MAX;
  ck_assert_int_eq(hk_text_info_decode(b->data, b->len, &out), -HK_ECORRUPT);
  b->data[1] = HK_TEXT_DONE;
  b->data[0] = 2;
  ck_assert_int_eq(hk_text_info_decode(b->data, b->len, &out), -HK_ECORRUPT);
  /* Nor a reason that is not UTF-8: the API writes it as it is. */
  b->data[0] = HK_TEXT_VERSION;
  b->data[b->len - 1] = 0xFF;
  ck_assert_int_eq(hk_text_info_decode(b->data, b->len, &out), -HK_ECORRUPT);

  g_byte_array_set_size(b, 0);
  hk_text_page_encode(HK_TEXT_SOURCE_OCR, 0, 9512, "肺炎", strlen("肺炎"), b);
  ck_assert_int_eq(hk_text_page_decode(b->data, b->len, &page), 0);
  ck_assert_uint_eq(page.source, HK_TEXT_SOURCE_OCR);
  ck_assert_uint_eq(page.confidence, 9512);
  ck_assert(page.text.len == strlen("肺炎") && memcmp(page.text.p, "肺炎", page.text.len) == 0);
  /* Text that is not UTF-8, or holds a NUL, is not a page. */
  b->data[b->len - 1] = 0xFF;
  ck_assert_int_eq(hk_text_page_decode(b->data, b->len, &page), -HK_ECORRUPT);
  b->data[b->len - 1] = 0;
  ck_assert_int_eq(hk_text_page_decode(b->data, b->len, &page), -HK_ECORRUPT);
  g_byte_array_unref(b);
}
END_TEST

/* A page list keeps to the limits, cuts at a character boundary, and says
 * so; bytes that are not UTF-8 and NULs become U+FFFD. */
START_TEST(test_codec_list_limits)
{
  /* 3-byte characters, so that the page limit falls inside one. */
  size_t n = HK_TEXT_PAGE_MAX + 2;
  char *big = g_malloc(n + 1);
  HkTextList l;
  HkTextListReader r;
  HkTextPage page;
  GBytes *list;

  for (size_t i = 0; i + 3 <= n; i += 3)
    memcpy(big + i, "肺", 3);
  big[n - (n % 3)] = '\0';
  n -= n % 3;
  hk_text_list_begin(&l);
  ck_assert(hk_text_list_add(&l, HK_TEXT_SOURCE_PDF, HK_TEXT_NO_CONFIDENCE, big, n));
  ck_assert(hk_text_list_add(&l, HK_TEXT_SOURCE_PDF, HK_TEXT_NO_CONFIDENCE,
                             "a\xff"
                             "b\0c",
                             5));
  list = hk_text_list_end(&l);
  ck_assert_int_eq(hk_text_list_decode(g_bytes_get_data(list, NULL), g_bytes_get_size(list), &r),
                   0);
  ck_assert_uint_eq(r.pages, 2);
  ck_assert(r.flags & HK_TEXT_TRUNCATED);
  hk_text_list_next(&r, &page);
  ck_assert(page.flags & HK_TEXT_TRUNCATED);
  ck_assert_uint_le(page.text.len, HK_TEXT_PAGE_MAX);
  ck_assert_uint_eq(page.text.len % 3, 0);
  ck_assert_uint_gt(page.text.len, HK_TEXT_PAGE_MAX - 3);
  hk_text_list_next(&r, &page);
  ck_assert_uint_eq(page.text.len, strlen("a\xef\xbf\xbd"
                                          "b\xef\xbf\xbd"
                                          "c"));
  ck_assert(memcmp(page.text.p,
                   "a\xef\xbf\xbd"
                   "b\xef\xbf\xbd"
                   "c",
                   page.text.len) == 0);
  g_bytes_unref(list);

  /* The document limit: four full pages fill 1 MiB, the list says stop. */
  hk_text_list_begin(&l);
  memset(big, 'x', HK_TEXT_PAGE_MAX);
  for (int i = 0; i < 3; i++)
    ck_assert(
        hk_text_list_add(&l, HK_TEXT_SOURCE_PDF, HK_TEXT_NO_CONFIDENCE, big, HK_TEXT_PAGE_MAX));
  ck_assert(
      !hk_text_list_add(&l, HK_TEXT_SOURCE_PDF, HK_TEXT_NO_CONFIDENCE, big, HK_TEXT_PAGE_MAX));
  ck_assert_uint_eq(l.bytes, HK_TEXT_DOC_MAX);
  g_bytes_unref(hk_text_list_end(&l));
  g_free(big);
}
END_TEST

/* ---- the queue and the drain ---- */

/* A plain-text document is visible at its commit, queued, and has no text
 * until the queue is drained; then its text, as it is, on page 1. */
START_TEST(test_plain_text_after_commit)
{
  static const char body[] = "ペニシリンにアレルギー。\n造影剤 (contrast) OK\n";
  char id[HK_DOC_ID_LEN + 1], *text, *reason = NULL;
  HkDocument *d = NULL;
  HkTextInfo info;
  hk_txn *t = NULL;
  uint8_t source = 0;
  Fx fx;

  fx_open(&fx, "text-plain");
  add_doc(&fx, "T:1", "text/plain", body, strlen(body), id);
  /* Committed: readable now, its text still to come. */
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_document(t, id, &d), 0);
  ck_assert_int_eq(hk_store_get_text(t, id, 1, &info), -HK_ENOTFOUND);
  hk_txn_abort(t);
  hk_document_free(d);
  ck_assert(queued(&fx, id));
  ck_assert_uint_eq(drain_all(&fx), 1);
  ck_assert(!queued(&fx, id));
  get_info(&fx, id, &info, &reason);
  ck_assert_uint_eq(info.status, HK_TEXT_DONE);
  ck_assert_uint_eq(info.source, HK_TEXT_SOURCE_TEXT);
  ck_assert_uint_eq(info.pages, 1);
  ck_assert_uint_eq(info.attempts, 1);
  ck_assert_uint_eq(info.bytes, strlen(body));
  ck_assert_ptr_null(reason);
  text = get_page(&fx, id, 1, &source);
  ck_assert_str_eq(text, body);
  ck_assert_uint_eq(source, HK_TEXT_SOURCE_TEXT);
  g_free(text);
  fx_close(&fx);
}
END_TEST

/* A 3-page PDF: pages 1 and 3 have text, page 2 none (stored empty, source
 * pdf, for OCR later), each under its own page number. */
START_TEST(test_pdf_pages)
{
  static const char *const texts[] = {"first page ペニシリン", NULL, "third page 造影剤"};
  GByteArray *pdf = make_pdf(texts, 3);
  char id[HK_DOC_ID_LEN + 1], *text;
  HkTextInfo info;
  HkTextPage page;
  hk_txn *t = NULL;
  uint8_t source = 0;
  Fx fx;

  /* OCR off: a page without a text layer stays empty (with OCR on it is
   * read: test_pdf_scanned_page). */
  hk_ocr_disable();
  fx_open(&fx, "text-pdf");
  add_doc(&fx, "T:PDF", "application/pdf", pdf->data, pdf->len, id);
  ck_assert(queued(&fx, id));
  drain_all(&fx);
  get_info(&fx, id, &info, NULL);
  ck_assert_uint_eq(info.status, HK_TEXT_DONE);
  ck_assert_uint_eq(info.source, HK_TEXT_SOURCE_PDF);
  ck_assert_uint_eq(info.pages, 3);
  ck_assert_uint_eq(info.empty_pages, 1);
  ck_assert_uint_eq(info.flags & HK_TEXT_TRUNCATED, 0);
  text = get_page(&fx, id, 1, &source);
  ck_assert_msg(strstr(text, "first page") && strstr(text, "ペニシリン"), "page 1: %s", text);
  ck_assert_uint_eq(source, HK_TEXT_SOURCE_PDF);
  g_free(text);
  text = get_page(&fx, id, 2, &source);
  ck_assert_str_eq(text, "");
  ck_assert_uint_eq(source, HK_TEXT_SOURCE_PDF);
  g_free(text);
  text = get_page(&fx, id, 3, NULL);
  ck_assert_msg(strstr(text, "third page") && strstr(text, "造影剤"), "page 3: %s", text);
  g_free(text);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_text_page(t, id, 1, 4, &page), -HK_ENOTFOUND);
  ck_assert_int_eq(hk_store_get_text_page(t, id, 1, 0, &page), -HK_ENOTFOUND);
  hk_txn_abort(t);
  g_byte_array_unref(pdf);
  fx_close(&fx);
}
END_TEST

/* A PDF whose text poppler cannot read (bytes the gate would not have let
 * in, stored here directly as a PDF that passed it and broke later): the
 * extraction fails with poppler's reason, is tried HK_TEXT_MAX_ATTEMPTS
 * times in all, then leaves the queue and stays failed; the document
 * stays readable throughout. */
START_TEST(test_pdf_fails_retried)
{
  static const char bad[] = "%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n%%EOF\n";
  char id[HK_DOC_ID_LEN + 1], *reason = NULL;
  HkDocument *d = NULL;
  HkTextInfo info;
  hk_txn *t = NULL;
  unsigned left = 0;
  HkTextStats st;
  Fx fx;

  fx_open(&fx, "text-bad-pdf");
  add_doc(&fx, "T:BAD", "application/pdf", bad, strlen(bad), id);
  for (unsigned i = 1; i <= HK_TEXT_MAX_ATTEMPTS; i++) {
    ck_assert(queued(&fx, id));
    ck_assert_int_eq(hk_textq_drain(fx.s, 8, 1, &left), 0);
    get_info(&fx, id, &info, &reason);
    ck_assert_uint_eq(info.attempts, i);
    ck_assert_uint_eq(info.status, HK_TEXT_FAILED);
    ck_assert_msg(reason && strstr(reason, "not a readable PDF"), "reason %s", reason);
    g_free(reason);
    /* Left while attempts remain; not after the last. */
    ck_assert_uint_eq(left, i < HK_TEXT_MAX_ATTEMPTS);
  }
  ck_assert(!queued(&fx, id));
  ck_assert_int_eq(hk_textq_drain(fx.s, 8, 1, &left), 0);
  get_info(&fx, id, &info, NULL);
  ck_assert_uint_eq(info.attempts, HK_TEXT_MAX_ATTEMPTS);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_document(t, id, &d), 0);
  ck_assert_int_eq(hk_store_text_stats(t, &st), 0);
  ck_assert_uint_eq(st.failed, 1);
  ck_assert_uint_eq(st.pending, 0);
  hk_txn_abort(t);
  hk_document_free(d);
  fx_close(&fx);
}
END_TEST

/* A parser that meets its CPU limit on a PDF's text: timed out, and queued
 * for another attempt. HK_TEST_PARSER_HOOK=spin burns CPU in the confined
 * worker until RLIMIT_CPU (1 s) stops it. */
START_TEST(test_pdf_timeout)
{
  static const char *const texts[] = {"x"};
  GByteArray *pdf = make_pdf(texts, 1);
  char id[HK_DOC_ID_LEN + 1], *reason = NULL;
  HkTextInfo info;
  unsigned left = 0;
  Fx fx;

  fx_open(&fx, "text-timeout");
  add_doc(&fx, "T:SPIN", "application/pdf", pdf->data, pdf->len, id);
  hk_inspect_set_limits(&(HkInspectLimits){.cpu_s = 1, .wall_s = 120, .memory_mib = 2048});
  g_setenv("HK_TEST_PARSER_HOOK", "spin:application/pdf", TRUE);
  ck_assert_int_eq(hk_textq_drain(fx.s, 8, 1, &left), 0);
  g_unsetenv("HK_TEST_PARSER_HOOK");
  get_info(&fx, id, &info, &reason);
  ck_assert_uint_eq(info.status, HK_TEXT_TIMEOUT);
  ck_assert_uint_eq(info.attempts, 1);
  ck_assert_msg(reason && strstr(reason, "CPU"), "reason %s", reason);
  ck_assert(queued(&fx, id));
  ck_assert_uint_eq(left, 1);
  g_free(reason);
  g_byte_array_unref(pdf);
  fx_close(&fx);
}
END_TEST

/* Plain text that is not UTF-8 (stored as text/plain past the gate): a
 * failed extraction that names the offset, never made-up text. */
START_TEST(test_plain_invalid_utf8)
{
  static const char bad[] = "ok \xe8\x82 broken";
  char id[HK_DOC_ID_LEN + 1], *reason = NULL;
  HkTextInfo info;
  hk_txn *t = NULL;
  HkTextPage page;
  Fx fx;

  fx_open(&fx, "text-utf8");
  add_doc(&fx, "T:U", "text/plain", bad, strlen(bad), id);
  ck_assert_uint_eq(drain_all(&fx), HK_TEXT_MAX_ATTEMPTS);
  get_info(&fx, id, &info, &reason);
  ck_assert_uint_eq(info.status, HK_TEXT_FAILED);
  ck_assert_uint_eq(info.pages, 0);
  ck_assert_uint_eq(info.attempts, HK_TEXT_MAX_ATTEMPTS);
  ck_assert_msg(reason && strstr(reason, "not valid UTF-8 at byte offset 3"), "reason %s", reason);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_text_page(t, id, 1, 1, &page), -HK_ENOTFOUND);
  hk_txn_abort(t);
  g_free(reason);
  fx_close(&fx);
}
END_TEST

/* Plain text over the document limit: the first HK_TEXT_DOC_MAX bytes,
 * cut at a character boundary, and the status says truncated. */
START_TEST(test_plain_truncated)
{
  size_t n = HK_TEXT_DOC_MAX + 4096;
  char *body = g_malloc(n), *text;
  char id[HK_DOC_ID_LEN + 1];
  HkTextInfo info;
  Fx fx;

  /* "a" then 3-byte characters: the limit falls inside one. */
  body[0] = 'a';
  for (size_t i = 1; i + 3 <= n; i += 3)
    memcpy(body + i, "癌", 3);
  n = 1 + (n - 1) / 3 * 3;
  fx_open(&fx, "text-trunc");
  add_doc(&fx, "T:BIG", "text/plain", body, n, id);
  drain_all(&fx);
  get_info(&fx, id, &info, NULL);
  ck_assert_uint_eq(info.status, HK_TEXT_DONE);
  ck_assert(info.flags & HK_TEXT_TRUNCATED);
  /* 1 + 3k <= the document limit, the largest such (a plain-text
   * document is one page, with no page limit of its own). */
  ck_assert_uint_eq(info.bytes, 1 + (HK_TEXT_DOC_MAX - 1) / 3 * 3);
  text = get_page(&fx, id, 1, NULL);
  ck_assert(g_utf8_validate(text, -1, NULL));
  ck_assert_uint_eq(strlen(text), info.bytes);
  g_free(text);
  g_free(body);
  fx_close(&fx);
}
END_TEST

/* A scan of known Japanese text, as a scanner would send it: lines drawn
 * in a CJK face on a white page, grey, as a JPEG. */
static GBytes *
make_scan(const char *const *lines, unsigned n)
{
  int w = 900, h = 120 + 70 * (int)n;
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create(surf);
  unsigned char *buf = NULL;
  unsigned long size = 0;
  tjhandle tj = tjInitCompress();
  GBytes *out;

  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_select_font_face(cr, "Noto Sans CJK JP", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 36);
  for (unsigned i = 0; i < n; i++) {
    cairo_move_to(cr, 40, 90 + 70 * i);
    cairo_show_text(cr, lines[i]);
  }
  cairo_surface_flush(surf);
  ck_assert_int_eq(tjCompress2(tj, cairo_image_surface_get_data(surf), w,
                               cairo_image_surface_get_stride(surf), h, TJPF_BGRX, &buf, &size,
                               TJSAMP_420, 90, 0),
                   0);
  out = g_bytes_new(buf, size);
  tjFree(buf);
  tjDestroy(tj);
  cairo_destroy(cr);
  cairo_surface_destroy(surf);
  return out;
}

/* A JPEG scan is read by OCR in a confined worker: one page, source ocr,
 * with a confidence, the known words found, without the spaces Tesseract
 * puts between Japanese characters. */
START_TEST(test_jpeg_ocr)
{
  static const char *const lines[] = {"ペニシリンにアレルギー", "造影剤の使用に同意する"};
  GBytes *scan = make_scan(lines, 2);
  char id[HK_DOC_ID_LEN + 1], *text;
  HkTextInfo info;
  HkTextPage page;
  hk_txn *t = NULL;
  gsize len;
  const void *data = g_bytes_get_data(scan, &len);
  Fx fx;

  fx_open(&fx, "text-ocr");
  add_doc(&fx, "T:J", "image/jpeg", data, len, id);
  ck_assert(queued(&fx, id));
  drain_all(&fx);
  get_info(&fx, id, &info, NULL);
  ck_assert_uint_eq(info.status, HK_TEXT_DONE);
  ck_assert_uint_eq(info.source, HK_TEXT_SOURCE_OCR);
  ck_assert_uint_eq(info.pages, 1);
  ck_assert(!queued(&fx, id));
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_text_page(t, id, 1, 1, &page), 0);
  ck_assert_uint_eq(page.source, HK_TEXT_SOURCE_OCR);
  ck_assert_uint_le(page.confidence, 10000);
  ck_assert_uint_ge(page.confidence, 5000);
  text = g_strndup(page.text.p, page.text.len);
  hk_txn_abort(t);
  ck_assert_msg(strstr(text, "ペニシリン") && strstr(text, "造影剤"), "OCR: %s", text);
  ck_assert_msg(!strstr(text, "ペ ニ"), "spaces between kana: %s", text);
  g_free(text);
  g_bytes_unref(scan);
  fx_close(&fx);
}
END_TEST

/* With OCR off (hikae-indexer --no-ocr), a scan is "needs OCR": no pages,
 * off the queue, no worker asked. */
START_TEST(test_jpeg_no_ocr)
{
  static const char *const lines[] = {"肺炎"};
  GBytes *scan = make_scan(lines, 1);
  char id[HK_DOC_ID_LEN + 1];
  HkTextInfo info;
  gsize len;
  const void *data = g_bytes_get_data(scan, &len);
  unsigned answered = hk_inspect_stats().answered;
  Fx fx;

  hk_ocr_disable();
  fx_open(&fx, "text-no-ocr");
  add_doc(&fx, "T:J", "image/jpeg", data, len, id);
  drain_all(&fx);
  get_info(&fx, id, &info, NULL);
  ck_assert_uint_eq(info.status, HK_TEXT_NEEDS_OCR);
  ck_assert_uint_eq(info.pages, 0);
  ck_assert(!queued(&fx, id));
  ck_assert_uint_eq(hk_inspect_stats().answered, answered);
  g_bytes_unref(scan);
  fx_close(&fx);
}
END_TEST

/* Spaces Tesseract puts between Japanese characters go; those between
 * Latin words, or next to a Latin word, stay. */
START_TEST(test_ocr_join)
{
  static const char *const cases[][2] = {
      {"ペ ニ シ リ ン", "ペニシリン"},
      {"造 影 剤  を 使 用", "造影剤を使用"},
      {"CT 造 影", "CT 造影"},
      {"blood pressure 120", "blood pressure 120"},
      {"肺 炎\n癌", "肺炎\n癌"},
      {"（ 注 ）", "（注）"},
      {"", ""},
  };

  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *got = hk_ocr_join(cases[i][0]);
    ck_assert_str_eq(got, cases[i][1]);
    g_free(got);
  }
}
END_TEST

/* Overwrite the value under key in table db of the store in dir with val
 * (as a damaged disk or a bug would), through LMDB itself. */
static void
poke(const char *dir, const char *db, const void *key, size_t klen, const void *val, size_t vlen)
{
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};

  ck_assert_int_eq(mdb_env_create(&env), 0);
  ck_assert_int_eq(mdb_env_set_maxdbs(env, 64), 0);
  ck_assert_int_eq(mdb_env_set_mapsize(env, 1ull << 30), 0);
  ck_assert_int_eq(mdb_env_open(env, dir, 0, 0640), 0);
  ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
  ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
  ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
  ck_assert_int_eq(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

/* verify's check: a record that does not decode, a page past its status
 * record's count, and a record of a version that does not exist are each
 * named; a sound store has none. */
START_TEST(test_verify_catches_damage)
{
  static const char body[] = "note";
  char id[HK_DOC_ID_LEN + 1], *out = NULL;
  uint8_t key[16];
  uint64_t checked = 0, bad = 0;
  hk_txn *t = NULL;
  size_t outlen = 0;
  FILE *err;
  Fx fx;

  fx_open(&fx, "text-verify");
  add_doc(&fx, "T:V", "text/plain", body, strlen(body), id);
  drain_all(&fx);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_check_texts(t, stderr, &checked, &bad), 0);
  hk_txn_abort(t);
  ck_assert_uint_eq(checked, 3); /* status, page, text log entry */
  ck_assert_uint_eq(bad, 0);
  hk_store_close(fx.s);
  fx.s = NULL;

  ck_assert_int_eq(hk_version_doc_id_bin(id, key), 0);
  memset(key + 8, 0, 8);
  key[11] = 1;
  /* Page 2 of version 1, which counts one page. */
  key[15] = 2;
  {
    GByteArray *rec = g_byte_array_new();
    hk_text_page_encode(HK_TEXT_SOURCE_TEXT, 0, HK_TEXT_NO_CONFIDENCE, "x", 1, rec);
    poke(fx.dir, "text_pages", key, 16, rec->data, rec->len);
    /* And a page of version 7, which does not exist. */
    key[11] = 7;
    key[15] = 1;
    poke(fx.dir, "text_pages", key, 16, rec->data, rec->len);
    g_byte_array_unref(rec);
  }
  ck_assert_int_eq(hk_store_open(fx.dir, 0, &fx.s), 0);
  err = open_memstream(&out, &outlen);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_check_texts(t, err, &checked, &bad), 0);
  hk_txn_abort(t);
  fclose(err);
  ck_assert_uint_eq(bad, 2);
  ck_assert_msg(strstr(out, "v1 page 2 (page): page beyond its status record's count"), "%s", out);
  ck_assert_msg(strstr(out, "v7 page 1 (page): no such version"), "%s", out);
  free(out);
  hk_store_close(fx.s);
  fx.s = NULL;
  /* The status record of version 1, cut short. */
  key[11] = 1;
  poke(fx.dir, "texts", key, 12, "\x01\x01", 2);
  ck_assert_int_eq(hk_store_open(fx.dir, 0, &fx.s), 0);
  err = open_memstream(&out, &outlen);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_check_texts(t, err, &checked, &bad), 0);
  hk_txn_abort(t);
  fclose(err);
  ck_assert_msg(strstr(out, "v1 (status): does not decode"), "%s", out);
  free(out);
  fx_close(&fx);
}
END_TEST

/* A store opened read-only before any writer made the text tables reads
 * them as empty: an older store keeps opening, with no migration. */
START_TEST(test_tables_absent_read_only)
{
  char *tmp = hk_test_mkdtemp("text-absent"), *dir = g_build_filename(tmp, "store", NULL);
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  hk_store *s = NULL;
  hk_txn *t = NULL;
  HkTextStats st;
  HkTextInfo info;
  uint64_t checked = 1, bad = 1;
  GArray *q = g_array_new(FALSE, FALSE, sizeof(HkTextKey));
  static const char *const drop[] = {"texts", "text_pages", "textq"};

  ck_assert_int_eq(hk_store_open(dir, HK_STORE_CREATE, &s), 0);
  hk_store_close(s);
  /* Make it a store of before: without the three tables. */
  ck_assert_int_eq(mdb_env_create(&env), 0);
  ck_assert_int_eq(mdb_env_set_maxdbs(env, 64), 0);
  ck_assert_int_eq(mdb_env_open(env, dir, 0, 0640), 0);
  ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
  for (unsigned i = 0; i < G_N_ELEMENTS(drop); i++) {
    ck_assert_int_eq(mdb_dbi_open(txn, drop[i], 0, &dbi), 0);
    ck_assert_int_eq(mdb_drop(txn, dbi, 1), 0);
  }
  ck_assert_int_eq(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  ck_assert_int_eq(hk_store_open(dir, HK_STORE_RDONLY, &s), 0);
  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ck_assert_int_eq(hk_store_text_stats(t, &st), 0);
  ck_assert_uint_eq(st.pending + st.done + st.failed, 0);
  ck_assert_int_eq(hk_store_text_queue(t, 8, q), 0);
  ck_assert_uint_eq(q->len, 0);
  ck_assert_int_eq(hk_store_get_text(t, "0123456789abcdef", 1, &info), -HK_ENOTFOUND);
  ck_assert_int_eq(hk_store_text_queued(t, "0123456789abcdef", 1), -HK_ENOTFOUND);
  ck_assert_int_eq(hk_store_check_texts(t, stderr, &checked, &bad), 0);
  ck_assert_uint_eq(checked + bad, 0);
  hk_txn_abort(t);
  hk_store_close(s);
  /* The writer makes them. */
  ck_assert_int_eq(hk_store_open(dir, 0, &s), 0);
  hk_store_close(s);
  ck_assert_int_eq(hk_store_open(dir, HK_STORE_RDONLY, &s), 0);
  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ck_assert_int_eq(hk_store_text_stats(t, &st), 0);
  hk_txn_abort(t);
  hk_store_close(s);
  g_array_unref(q);
  hk_test_rmtree(tmp);
  g_free(dir);
  g_free(tmp);
}
END_TEST

/* A PDF of two pages: the first with a text layer, the second a scan of
 * the same kind of text (lines drawn onto an image, the image put on the
 * page, no text layer), as a scanner's PDF is. */
static GByteArray *
make_pdf_with_scan(const char *text, const char *const *lines, unsigned n)
{
  GByteArray *pdf = g_byte_array_new();
  /* A4's width, a short page: the scan at 150 dpi. */
  const double pw = 595, ph = 300, dpi = 150;
  int w = (int)(pw * dpi / 72), h = (int)(ph * dpi / 72);
  cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(append, pdf, pw, ph);
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create(surf), *ic = cairo_create(img);

  cairo_select_font_face(cr, "Noto Sans CJK JP", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 14);
  cairo_move_to(cr, 50, 100);
  cairo_show_text(cr, text);
  cairo_show_page(cr);
  cairo_set_source_rgb(ic, 1, 1, 1);
  cairo_paint(ic);
  cairo_set_source_rgb(ic, 0, 0, 0);
  cairo_select_font_face(ic, "Noto Sans CJK JP", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(ic, 36);
  for (unsigned i = 0; i < n; i++) {
    cairo_move_to(ic, 80, 150 + 70 * i);
    cairo_show_text(ic, lines[i]);
  }
  cairo_surface_flush(img);
  cairo_save(cr);
  cairo_scale(cr, 72 / dpi, 72 / dpi);
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_show_page(cr);
  cairo_destroy(ic);
  cairo_surface_destroy(img);
  cairo_destroy(cr);
  cairo_surface_finish(surf);
  cairo_surface_destroy(surf);
  return pdf;
}

/* A PDF page without a text layer is drawn and OCRed in the worker: it
 * gets source ocr and a confidence, with the scanned words; the page with
 * a text layer keeps source pdf and no confidence. */
START_TEST(test_pdf_scanned_page)
{
  static const char *const lines[] = {"ペニシリンにアレルギー", "造影剤の使用に同意する"};
  GByteArray *pdf = make_pdf_with_scan("first page 肺炎", lines, 2);
  char id[HK_DOC_ID_LEN + 1], *text;
  HkTextInfo info;
  HkTextPage page;
  hk_txn *t = NULL;
  uint8_t source = 0;
  Fx fx;

  fx_open(&fx, "text-pdf-scan");
  add_doc(&fx, "T:PDFSCAN", "application/pdf", pdf->data, pdf->len, id);
  drain_all(&fx);
  get_info(&fx, id, &info, NULL);
  ck_assert_uint_eq(info.status, HK_TEXT_DONE);
  ck_assert_uint_eq(info.pages, 2);
  ck_assert_uint_eq(info.empty_pages, 0);
  text = get_page(&fx, id, 1, &source);
  ck_assert_msg(strstr(text, "first page") && strstr(text, "肺炎"), "page 1: %s", text);
  ck_assert_uint_eq(source, HK_TEXT_SOURCE_PDF);
  g_free(text);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_text_page(t, id, 1, 2, &page), 0);
  ck_assert_uint_eq(page.source, HK_TEXT_SOURCE_OCR);
  ck_assert_uint_ge(page.confidence, 5000);
  ck_assert_uint_le(page.confidence, 10000);
  text = g_strndup(page.text.p, page.text.len);
  hk_txn_abort(t);
  ck_assert_msg(strstr(text, "ペニシリン") && strstr(text, "造影剤"), "page 2 by OCR: %s", text);
  g_free(text);
  g_byte_array_unref(pdf);
  fx_close(&fx);
}
END_TEST

/* Empty the text tables of the store in dir, as a store written before
 * extraction existed has them. */
static void
forget_texts(const char *dir)
{
  static const char *const tables[] = {"texts", "text_pages", "textq"};
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;

  ck_assert_int_eq(mdb_env_create(&env), 0);
  ck_assert_int_eq(mdb_env_set_maxdbs(env, 64), 0);
  ck_assert_int_eq(mdb_env_set_mapsize(env, 1ull << 30), 0);
  ck_assert_int_eq(mdb_env_open(env, dir, 0, 0640), 0);
  ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
  for (unsigned i = 0; i < G_N_ELEMENTS(tables); i++) {
    ck_assert_int_eq(mdb_dbi_open(txn, tables[i], 0, &dbi), 0);
    ck_assert_int_eq(mdb_drop(txn, dbi, 0), 0);
  }
  ck_assert_int_eq(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

/* One backfill step of at most max versions. */
static void
backfill_step(Fx *fx, unsigned max, unsigned *queued_n, bool *done)
{
  hk_txn *t = NULL;

  ck_assert_int_eq(hk_txn_begin(fx->s, true, &t), 0);
  ck_assert_int_eq(hk_store_text_backfill(t, max, queued_n, done), 0);
  ck_assert_int_eq(hk_txn_commit(t), 0);
}

/* The queue's versions, as "<id> v<N>" lines. */
static char *
queue_list(Fx *fx)
{
  GArray *q = g_array_new(FALSE, FALSE, sizeof(HkTextKey));
  GString *out = g_string_new("");
  hk_txn *t = NULL;

  ck_assert_int_eq(hk_txn_begin(fx->s, false, &t), 0);
  ck_assert_int_eq(hk_store_text_queue(t, 100, q), 0);
  hk_txn_abort(t);
  for (guint i = 0; i < q->len; i++)
    g_string_append_printf(out, "%s v%u\n", g_array_index(q, HkTextKey, i).doc_id,
                           g_array_index(q, HkTextKey, i).version);
  g_array_unref(q);
  return g_string_free(out, FALSE);
}

/* Versions stored before extraction existed (no status, not queued) are
 * queued by the backfill, a bounded step at a time, the current version
 * of each document before the older ones, with its place kept across a
 * close of the store; then extracted ("none" becomes "done"). Versions
 * already extracted are not queued again. */
START_TEST(test_backfill)
{
  char a[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1], *list, *want;
  unsigned n = 0, total = 0, steps = 0;
  bool done = false;
  HkTextInfo info;
  hk_txn *t = NULL;
  Fx fx;

  fx_open(&fx, "text-backfill");
  add_doc(&fx, "T:A", "text/plain", "alpha one", 9, a);
  add_doc(&fx, "T:A", "text/plain", "alpha two", 9, a);
  add_doc(&fx, "T:B", "text/plain", "beta", 4, b);
  drain_all(&fx);
  hk_store_close(fx.s);
  fx.s = NULL;
  forget_texts(fx.dir);
  ck_assert_int_eq(hk_store_open(fx.dir, 0, &fx.s), 0);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  ck_assert_int_eq(hk_store_get_text(t, a, 2, &info), -HK_ENOTFOUND);
  hk_txn_abort(t);

  /* Two steps of one version: the current versions of A and B. */
  backfill_step(&fx, 1, &n, &done);
  total += n;
  ck_assert(!done);
  /* A restart between two steps goes on where the walk stopped. */
  hk_store_close(fx.s);
  ck_assert_int_eq(hk_store_open(fx.dir, 0, &fx.s), 0);
  backfill_step(&fx, 1, &n, &done);
  total += n;
  ck_assert_uint_eq(total, 2);
  list = queue_list(&fx);
  want = g_strdup_printf("%s v2\n%s v1\n", a, b);
  if (strcmp(a, b) > 0) {
    g_free(want);
    want = g_strdup_printf("%s v1\n%s v2\n", b, a);
  }
  ck_assert_str_eq(list, want);
  g_free(list);
  g_free(want);
  /* Then every version: only A v1 is left to queue. */
  while (!done) {
    backfill_step(&fx, 1, &n, &done);
    total += n;
    ck_assert_uint_le(++steps, 10);
  }
  ck_assert_uint_eq(total, 3);
  drain_all(&fx);
  ck_assert_int_eq(hk_txn_begin(fx.s, false, &t), 0);
  for (uint32_t v = 1; v <= 2; v++) {
    ck_assert_int_eq(hk_store_get_text(t, a, v, &info), 0);
    ck_assert_uint_eq(info.status, HK_TEXT_DONE);
  }
  ck_assert_int_eq(hk_store_get_text(t, b, 1, &info), 0);
  ck_assert_uint_eq(info.status, HK_TEXT_DONE);
  hk_txn_abort(t);
  list = get_page(&fx, b, 1, NULL);
  ck_assert_str_eq(list, "beta");
  g_free(list);
  /* Done is done: nothing is walked or queued again. */
  backfill_step(&fx, 100, &n, &done);
  ck_assert(done);
  ck_assert_uint_eq(n, 0);
  list = queue_list(&fx);
  ck_assert_str_eq(list, "");
  g_free(list);
  fx_close(&fx);
}
END_TEST

static Suite *
text_suite(void)
{
  Suite *s = suite_create("text");
  TCase *codec = tcase_create("codec");
  TCase *queue = tcase_create("queue");

  tcase_add_test(codec, test_codec_roundtrip);
  tcase_add_test(codec, test_codec_list_limits);
  tcase_add_test(codec, test_ocr_join);
  suite_add_tcase(s, codec);
  tcase_add_test(queue, test_plain_text_after_commit);
  tcase_add_test(queue, test_pdf_pages);
  tcase_add_test(queue, test_pdf_scanned_page);
  tcase_add_test(queue, test_backfill);
  tcase_add_test(queue, test_pdf_fails_retried);
  tcase_add_test(queue, test_pdf_timeout);
  tcase_add_test(queue, test_plain_invalid_utf8);
  tcase_add_test(queue, test_plain_truncated);
  tcase_add_test(queue, test_jpeg_ocr);
  tcase_add_test(queue, test_jpeg_no_ocr);
  tcase_add_test(queue, test_verify_catches_damage);
  tcase_add_test(queue, test_tables_absent_read_only);
  suite_add_tcase(s, queue);
  return s;
}

int
main(void)
{
  hk_thumbnail_warmup();
  return hk_test_run(text_suite());
}

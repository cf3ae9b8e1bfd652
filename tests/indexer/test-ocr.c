/* OCR's deskew (indexer/hk-ocr.c, issue 14's accuracy goal): pages read
 * through the confined parser workers with real Tesseract and Leptonica: a
 * tilted page read straight, an untilted page read as before, and pages
 * whose tilt cannot be measured read as they are, never refused. */
#include "hk-boxes.h"
#include "hk-error.h"
#include "hk-inspect.h"
#include "hk-ocr.h"
#include "hk-test.h"
#include "hk-text.h"
#include "hk-thumbnail.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* A consent form's lines, as long as a 200 dpi A4 page's text is wide:
 * over such a line a 2-degree tilt drifts by most of the line spacing. */
static const char *const hk_lines[] = {
    "同意書　私は担当医から検査の目的と方法について十分な説明を受けました。",
    "アレルギー：ペニシリン系抗菌薬にて全身に発疹が出たことがあります。",
    "造影剤を用いる検査の必要性と危険性について理解し同意いたします。",
    "既往歴：肺炎にて入院加療、その後の経過は良好で外来通院中です。",
    "検査当日は朝食を控え、常用薬は医師の指示に従って内服します。",
    "検査後に気分が悪くなった場合は直ちに看護師へ申し出てください。",
};
/* Words a clinician searches for; each is on one line above. */
static const char *const hk_terms[] = {"ペニシリン", "造影剤", "肺炎", "アレルギー", "発疹"};

#define HK_PAGE_W 1654 /* A4 at 200 dpi */
#define HK_PAGE_H 700
#define HK_FONT_PX 30.0 /* 10.8 pt at 200 dpi, as the generated scans' body */
#define HK_PITCH_PX 52.0

/* The page as a flatbed scanner sends it, tilted by tilt_deg about its
 * centre: grey ink on off-white paper, a JPEG. */
static GBytes *
make_page(double tilt_deg)
{
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A8, HK_PAGE_W, HK_PAGE_H);
  cairo_t *cr = cairo_create(s);
  unsigned char *grey = g_malloc((size_t)HK_PAGE_W * HK_PAGE_H), *jpeg = NULL;
  unsigned long size = 0;
  tjhandle tj = tjInitCompress();
  const unsigned char *cov;
  GBytes *out;
  int stride;

  cairo_translate(cr, HK_PAGE_W / 2.0, HK_PAGE_H / 2.0);
  cairo_rotate(cr, tilt_deg * G_PI / 180.0);
  cairo_translate(cr, -HK_PAGE_W / 2.0, -HK_PAGE_H / 2.0);
  cairo_select_font_face(cr, "Noto Sans CJK JP", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, HK_FONT_PX);
  for (guint i = 0; i < G_N_ELEMENTS(hk_lines); i++) {
    cairo_move_to(cr, 120, 120 + HK_PITCH_PX * i);
    cairo_show_text(cr, hk_lines[i]);
  }
  ck_assert_int_eq(cairo_status(cr), CAIRO_STATUS_SUCCESS);
  cairo_surface_flush(s);
  cov = cairo_image_surface_get_data(s);
  stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < HK_PAGE_H; y++)
    for (int x = 0; x < HK_PAGE_W; x++)
      grey[(size_t)y * HK_PAGE_W + (size_t)x] =
          (unsigned char)(242 - cov[(size_t)y * (size_t)stride + (size_t)x] * (242 - 40) / 255);
  ck_assert_int_eq(tjCompress2(tj, grey, HK_PAGE_W, HK_PAGE_W, HK_PAGE_H, TJPF_GRAY, &jpeg, &size,
                               TJSAMP_GRAY, 85, 0),
                   0);
  out = g_bytes_new(jpeg, size);
  tjFree(jpeg);
  tjDestroy(tj);
  g_free(grey);
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return out;
}

/* Grey pixels as a JPEG, for pages drawn pixel by pixel. */
static GBytes *
jpeg_of(const unsigned char *grey, int w, int h)
{
  tjhandle tj = tjInitCompress();
  unsigned char *jpeg = NULL;
  unsigned long size = 0;
  GBytes *out;

  ck_assert_int_eq(tjCompress2(tj, grey, w, w, h, TJPF_GRAY, &jpeg, &size, TJSAMP_GRAY, 90, 0), 0);
  out = g_bytes_new(jpeg, size);
  tjFree(jpeg);
  tjDestroy(tj);
  return out;
}

/* text NFKC-folded (as the search index folds it: a full-width colon read
 * as ":" is no error) and without white space (g_free). */
static char *
fold(const char *text, size_t len)
{
  char *nfkc = g_utf8_normalize(text, (gssize)len, G_NORMALIZE_ALL_COMPOSE);
  GString *out = g_string_new(NULL);

  ck_assert_ptr_nonnull(nfkc);
  for (const char *p = nfkc; *p; p = g_utf8_next_char(p))
    if (!g_unichar_isspace(g_utf8_get_char(p)))
      g_string_append_unichar(out, g_utf8_get_char(p));
  g_free(nfkc);
  return g_string_free(out, FALSE);
}

/* OCR a JPEG in a parser worker, as the text queue does: 0 and the one
 * page's text folded (g_free) in *text, or the error. */
static int
ocr(GBytes *jpeg, char **text)
{
  gsize len = 0;
  const void *data = g_bytes_get_data(jpeg, &len);
  HkInspectJob job = {.content_type = "image/jpeg", .data = data, .len = len, .want_text = true};
  HkTextListReader r;
  HkTextPage page;

  *text = NULL;
  hk_inspect_batch(&job, 1, 1);
  if (job.ret != 0) {
    fprintf(stderr, "OCR refused the page: %s%s\n", job.reason ? job.reason : "(no reason)",
            job.limit_hit ? " (a limit)" : "");
    g_free(job.reason);
    return job.ret;
  }
  ck_assert_ptr_nonnull(job.text);
  ck_assert_int_eq(
      hk_text_list_decode(g_bytes_get_data(job.text, NULL), g_bytes_get_size(job.text), &r), 0);
  ck_assert_uint_eq(r.pages, 1);
  hk_text_list_next(&r, &page);
  ck_assert_uint_eq(page.source, HK_TEXT_SOURCE_OCR);
  *text = fold(page.text.p, page.text.len);
  g_bytes_unref(job.text);
  g_free(job.reason);
  return 0;
}

/* OCR a JPEG in a parser worker and keep the page's text as stored
 * (g_free) and its boxes (g_free; NULL if none), the box list checked as
 * the text queue checks it. */
static void
ocr_boxes(GBytes *jpeg, char **text, HkBox **boxes, uint32_t *n)
{
  gsize len = 0;
  const void *data = g_bytes_get_data(jpeg, &len);
  HkInspectJob job = {.content_type = "image/jpeg", .data = data, .len = len, .want_text = true};
  HkTextListReader r;
  HkTextPage page;

  *boxes = NULL;
  *n = 0;
  hk_inspect_batch(&job, 1, 1);
  ck_assert_msg(job.ret == 0, "OCR refused the page: %s", job.reason ? job.reason : "?");
  ck_assert_ptr_nonnull(job.text);
  ck_assert_int_eq(
      hk_text_list_decode(g_bytes_get_data(job.text, NULL), g_bytes_get_size(job.text), &r), 0);
  hk_text_list_next(&r, &page);
  *text = g_strndup(page.text.p, page.text.len);
  if (job.boxes) {
    HkBoxListReader br;
    HkBoxes b;
    uint32_t pno;
    const uint8_t *rec;
    size_t rlen;
    ck_assert_int_eq(
        hk_box_list_check(g_bytes_get_data(job.boxes, NULL), g_bytes_get_size(job.boxes),
                          g_bytes_get_data(job.text, NULL), g_bytes_get_size(job.text)),
        0);
    ck_assert_int_eq(
        hk_box_list_decode(g_bytes_get_data(job.boxes, NULL), g_bytes_get_size(job.boxes), &br), 0);
    ck_assert_uint_eq(br.entries, 1);
    hk_box_list_next(&br, &pno, &rec, &rlen);
    ck_assert_uint_eq(pno, 1);
    ck_assert_int_eq(hk_boxes_decode(rec, rlen, (uint32_t)g_utf8_strlen(*text, -1), &b), 0);
    *boxes = g_new(HkBox, b.n);
    for (uint32_t i = 0; i < b.n; i++)
      hk_boxes_get(&b, i, &(*boxes)[i]);
    *n = b.n;
    g_bytes_unref(job.boxes);
  }
  g_bytes_unref(job.text);
  g_free(job.reason);
}

/* Where make_page(tilt) draws word, on line line: the ink's bounding box,
 * turned with the page, in pixels (x0, y0, x1, y1). */
static void
word_rect(double tilt_deg, guint line, const char *word, double out[4])
{
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A8, 8, 8);
  cairo_t *cr = cairo_create(s);
  const char *at = strstr(hk_lines[line], word);
  char *prefix = g_strndup(hk_lines[line], (gsize)(at - hk_lines[line]));
  cairo_text_extents_t pre, w;
  double x, y, xs[4], ys[4];

  cairo_translate(cr, HK_PAGE_W / 2.0, HK_PAGE_H / 2.0);
  cairo_rotate(cr, tilt_deg * G_PI / 180.0);
  cairo_translate(cr, -HK_PAGE_W / 2.0, -HK_PAGE_H / 2.0);
  cairo_select_font_face(cr, "Noto Sans CJK JP", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, HK_FONT_PX);
  cairo_text_extents(cr, prefix, &pre);
  cairo_text_extents(cr, word, &w);
  x = 120 + pre.x_advance + w.x_bearing;
  y = 120 + HK_PITCH_PX * line + w.y_bearing;
  xs[0] = xs[3] = x;
  xs[1] = xs[2] = x + w.width;
  ys[0] = ys[1] = y;
  ys[2] = ys[3] = y + w.height;
  out[0] = out[1] = 1e9;
  out[2] = out[3] = -1e9;
  for (int i = 0; i < 4; i++) {
    cairo_user_to_device(cr, &xs[i], &ys[i]);
    out[0] = MIN(out[0], xs[i]);
    out[1] = MIN(out[1], ys[i]);
    out[2] = MAX(out[2], xs[i]);
    out[3] = MAX(out[3], ys[i]);
  }
  g_free(prefix);
  cairo_destroy(cr);
  cairo_surface_destroy(s);
}

/* Within this many pixels of the ink's middle height (a sixth of the line
 * pitch; a box left on the straightened page is 20 pixels off at 2.5
 * degrees, 50 pixels left of the ink's middle) a word's boxes are on its line. */
#define HK_BOX_SLACK 8.0

/* The boxes of a known word, in a page tilted by tilt, cover where it was
 * drawn: the characters' boxes are aligned with the stored text and mapped
 * back through the deskew's turn. */
static void
check_word_boxes(double tilt)
{
  static const struct {
    guint line;
    const char *word;
  } words[] = {{0, "同意書"}, {0, "十分な説明"}, {1, "ペニシリン"}, {2, "造影剤"},
               {3, "肺炎"},   {4, "常用薬"},     {5, "看護師"},     {5, "ください"}};
  GBytes *jpeg = make_page(tilt);
  char *text = NULL;
  HkBox *boxes = NULL;
  uint32_t n = 0;

  ocr_boxes(jpeg, &text, &boxes, &n);
  ck_assert_msg(n > 0, "no boxes at tilt %.1f for: %s", tilt, text);
  for (guint k = 0; k < G_N_ELEMENTS(words); k++) {
    const char *at = strstr(text, words[k].word);
    double want[4], got[4] = {1e9, 1e9, -1e9, -1e9};
    uint32_t from, to, covered = 0;
    ck_assert_msg(at != NULL, "%s not read at tilt %.1f: %s", words[k].word, tilt, text);
    from = (uint32_t)g_utf8_pointer_to_offset(text, at);
    to = from + (uint32_t)g_utf8_strlen(words[k].word, -1);
    for (uint32_t i = 0; i < n; i++) {
      if (boxes[i].start + boxes[i].len <= from || boxes[i].start >= to)
        continue;
      covered += boxes[i].len;
      got[0] = MIN(got[0], boxes[i].x0 * (double)HK_PAGE_W / HK_BOX_UNITS);
      got[1] = MIN(got[1], boxes[i].y0 * (double)HK_PAGE_H / HK_BOX_UNITS);
      got[2] = MAX(got[2], boxes[i].x1 * (double)HK_PAGE_W / HK_BOX_UNITS);
      got[3] = MAX(got[3], boxes[i].y1 * (double)HK_PAGE_H / HK_BOX_UNITS);
    }
    ck_assert_msg(covered == to - from, "%s: %u of %u characters boxed at tilt %.1f", words[k].word,
                  covered, to - from, tilt);
    word_rect(tilt, words[k].line, words[k].word, want);
    if (g_getenv("HK_BOX_DEBUG"))
      fprintf(stderr,
              "%s at tilt %.1f: box (%.0f,%.0f)-(%.0f,%.0f), drawn at (%.0f,%.0f)-(%.0f,%.0f)\n",
              words[k].word, tilt, got[0], got[1], got[2], got[3], want[0], want[1], want[2],
              want[3]);
    /* Tesseract's LSTM places a character's box roughly along its line
     * (a box may be a character too wide or start half a character late),
     * but on the line: the word's boxes are centred within where it was
     * drawn, and their middle at the ink's height. */
    double cx = (got[0] + got[2]) / 2, cy = (got[1] + got[3]) / 2;
    ck_assert_msg(g_getenv("HK_BOX_DEBUG") || (cx >= want[0] && cx <= want[2] &&
                                               fabs(cy - (want[1] + want[3]) / 2) <= HK_BOX_SLACK),
                  "%s at tilt %.1f: box (%.0f,%.0f)-(%.0f,%.0f), drawn at (%.0f,%.0f)-(%.0f,%.0f)",
                  words[k].word, tilt, got[0], got[1], got[2], got[3], want[0], want[1], want[2],
                  want[3]);
  }
  g_free(boxes);
  g_free(text);
  g_bytes_unref(jpeg);
}

START_TEST(test_boxes_where_drawn)
{
  check_word_boxes(0);
}
END_TEST

/* A page read turned straight: its boxes are on the page as scanned (the
 * turn undone), not on the straightened one, which is off by up to
 * 40 pixels at this tilt. */
START_TEST(test_boxes_tilted_page)
{
  check_word_boxes(2.5);
  check_word_boxes(-3.0);
}
END_TEST

/* A page with nothing to read has no boxes, and is not refused. */
START_TEST(test_blank_page_no_boxes)
{
  unsigned char *grey = g_malloc(400 * 300);
  GBytes *jpeg;
  char *text = NULL;
  HkBox *boxes = NULL;
  uint32_t n = 0;

  memset(grey, 245, 400 * 300);
  jpeg = jpeg_of(grey, 400, 300);
  ocr_boxes(jpeg, &text, &boxes, &n);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_null(boxes);
  g_free(text);
  g_bytes_unref(jpeg);
  g_free(grey);
}
END_TEST

/* A page scanned 2 degrees askew reads straight: every line's key words
 * are found. Read as it was (no deskew), the lines run into each other
 * and the words are lost (shown when this test was written). */
START_TEST(test_tilted_page_reads)
{
  static const double tilts[] = {2.0, -2.0, 3.0, -3.0};
  GString *missed = g_string_new(NULL);

  for (guint t = 0; t < G_N_ELEMENTS(tilts); t++) {
    GBytes *page = make_page(tilts[t]);
    char *text = NULL;
    ck_assert_int_eq(ocr(page, &text), 0);
    gsize before = missed->len;
    for (guint i = 0; i < G_N_ELEMENTS(hk_terms); i++)
      if (!strstr(text, hk_terms[i]))
        g_string_append_printf(missed, " %s (tilt %.1f)", hk_terms[i], tilts[t]);
    /* Check's message has room for the words, not the pages. */
    if (missed->len > before)
      fprintf(stderr, "tilt %.1f read as: %s\n", tilts[t], text);
    g_free(text);
    g_bytes_unref(page);
  }
  ck_assert_msg(missed->len == 0, "not read:%s", missed->str);
  g_string_free(missed, TRUE);
}
END_TEST

/* A straight page reads as before: every line, whole, in order. */
START_TEST(test_straight_page_reads)
{
  GBytes *page = make_page(0);
  char *text = NULL, *want;
  GString *lines = g_string_new(NULL);

  for (guint i = 0; i < G_N_ELEMENTS(hk_lines); i++)
    g_string_append(lines, hk_lines[i]);
  want = fold(lines->str, lines->len);
  ck_assert_int_eq(ocr(page, &text), 0);
  ck_assert_str_eq(text, want);
  g_free(text);
  g_free(want);
  g_string_free(lines, TRUE);
  g_bytes_unref(page);
}
END_TEST

/* Pages with no tilt to measure (blank, too small, only noise, one
 * stroke) are read as they are: the document is not refused. */
START_TEST(test_unmeasurable_pages_not_refused)
{
  static const int sizes[][2] = {{1, 1}, {20, 12}, {63, 400}, {400, 300}};
  guint32 seed = 7;

  for (guint k = 0; k < G_N_ELEMENTS(sizes); k++) {
    const int w = sizes[k][0], h = sizes[k][1];
    for (int kind = 0; kind < 3; kind++) {
      unsigned char *grey = g_malloc((size_t)w * (size_t)h);
      GBytes *jpeg;
      char *text = NULL;
      for (int i = 0; i < w * h; i++) {
        seed = seed * 1103515245u + 12345u;
        grey[i] = kind == 0 ? 245 : kind == 1 ? (unsigned char)(seed >> 24) : 245;
      }
      if (kind == 2) /* one dark bar across the middle */
        memset(grey + (size_t)(h / 2) * (size_t)w, 20, (size_t)w);
      jpeg = jpeg_of(grey, w, h);
      ck_assert_msg(ocr(jpeg, &text) == 0, "%dx%d page of kind %d refused", w, h, kind);
      ck_assert_ptr_nonnull(text);
      g_free(text);
      g_bytes_unref(jpeg);
      g_free(grey);
    }
  }
}
END_TEST

static Suite *
ocr_suite(void)
{
  Suite *s = suite_create("ocr");
  TCase *pages = tcase_create("pages");

  tcase_add_test(pages, test_tilted_page_reads);
  tcase_add_test(pages, test_straight_page_reads);
  tcase_add_test(pages, test_unmeasurable_pages_not_refused);
  tcase_add_test(pages, test_boxes_where_drawn);
  tcase_add_test(pages, test_boxes_tilted_page);
  tcase_add_test(pages, test_blank_page_no_boxes);
  suite_add_tcase(s, pages);
  return s;
}

int
main(void)
{
  bool available = false;

  hk_thumbnail_warmup();
  /* Workers forked after this hold the model (hk-ocr.h). Tesseract and
   * its Japanese model are dependencies: missing, the tests fail. */
  hk_ocr_warmup(&available);
  if (!available) {
    fprintf(stderr, "test-ocr: libtesseract or its Japanese model is missing\n");
    return EXIT_FAILURE;
  }
  /* The limits of the indexer's text workers (--text-cpu, --text-timeout),
   * not ingest's: a page of noise is slow to read under the sanitizers. */
  hk_inspect_set_limits(&(HkInspectLimits){.cpu_s = 300, .wall_s = 600, .memory_mib = 2048});
  return hk_test_run(ocr_suite());
}

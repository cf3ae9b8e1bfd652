/* Unit tests of indexer modules that need no store: the tripwire's sliding
 * window and ingest's busy share (explicit timestamps, no sleeping), and
 * the thumbnails the confined parser children make (real poppler, cairo
 * and libjpeg-turbo). */
#include "hk-busy.h"
#include "hk-error.h"
#include "hk-extractor.h"
#include "hk-ingest.h"
#include "hk-test.h"
#include "hk-inspect.h"
#include "hk-time.h"
#include "hk-thumbnail.h"
#include "hk-tripwire.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <string.h>
#include <turbojpeg.h>

#define SEC ((int64_t)G_USEC_PER_SEC)
#define T0 ((int64_t)1795150980 * SEC)

/* Events older than the window no longer count: 3 events at T0, then at
 * T0 + window + 1 s only the new one counts and it does not trip. */
START_TEST(test_tripwire_window_expiry)
{
  HkTripwire t;

  hk_tripwire_init(&t, 3, 60);
  ck_assert(!hk_tripwire_event(&t, T0));
  ck_assert(!hk_tripwire_event(&t, T0 + 1 * SEC));
  ck_assert(!hk_tripwire_event(&t, T0 + 2 * SEC));
  ck_assert_uint_eq(hk_tripwire_count(&t, T0 + 2 * SEC), 3);
  /* Still inside the window: the 4th event trips. */
  ck_assert_uint_eq(hk_tripwire_count(&t, T0 + 60 * SEC), 3);
  /* One second past the first event's window: it no longer counts. */
  ck_assert_uint_eq(hk_tripwire_count(&t, T0 + 61 * SEC), 2);
  ck_assert_uint_eq(hk_tripwire_count(&t, T0 + 63 * SEC), 0);
  ck_assert(!hk_tripwire_event(&t, T0 + 63 * SEC));
  ck_assert(!hk_tripwire_event(&t, T0 + 64 * SEC));
  ck_assert(!hk_tripwire_event(&t, T0 + 65 * SEC));
  ck_assert_uint_eq(hk_tripwire_count(&t, T0 + 65 * SEC), 3);
  hk_tripwire_clear(&t);
}
END_TEST

/* The same events packed inside the window trip it. */
START_TEST(test_tripwire_trips_inside_window)
{
  HkTripwire t;

  hk_tripwire_init(&t, 3, 60);
  ck_assert(!hk_tripwire_event(&t, T0));
  ck_assert(!hk_tripwire_event(&t, T0 + 20 * SEC));
  ck_assert(!hk_tripwire_event(&t, T0 + 40 * SEC));
  ck_assert(hk_tripwire_event(&t, T0 + 60 * SEC));
  hk_tripwire_clear(&t);
}
END_TEST

static cairo_status_t
append(void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append(closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Decode a thumbnail and check it is a JPEG whose longest side is at most
 * 256 px and whose sides keep the source's aspect ratio. */
static void
check_thumb(GBytes *thumb, int src_w, int src_h)
{
  tjhandle tj = tjInitDecompress();
  int w = 0, h = 0, ss, cs;
  gsize len;
  const unsigned char *p;
  unsigned char *pixels;

  ck_assert_ptr_nonnull(thumb);
  p = g_bytes_get_data(thumb, &len);
  ck_assert(len > 3 && p[0] == 0xFF && p[1] == 0xD8);
  ck_assert_int_eq(tjDecompressHeader3(tj, p, len, &w, &h, &ss, &cs), 0);
  ck_assert_msg(MAX(w, h) == HK_THUMB_MAX, "thumbnail %dx%d of %dx%d", w, h, src_w, src_h);
  ck_assert_int_gt(MIN(w, h), 0);
  /* Aspect ratio kept within a pixel's rounding. */
  ck_assert_msg(abs(w * src_h - h * src_w) <= MAX(src_w, src_h), "thumbnail %dx%d of %dx%d", w, h,
                src_w, src_h);
  pixels = g_malloc((size_t)w * h * 3);
  ck_assert_int_eq(tjDecompress2(tj, p, len, pixels, w, 0, h, TJPF_RGB, 0), 0);
  g_free(pixels);
  tjDestroy(tj);
}

START_TEST(test_thumbnail_pdf)
{
  GByteArray *pdf = g_byte_array_new();
  /* An A4 page in points: 595 x 842, both sides over 256. */
  cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(append, pdf, 595, 842);
  cairo_t *cr = cairo_create(surf);
  GBytes *thumb = NULL;
  char *reason = NULL;

  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, 50, 50, 200, 300);
  cairo_fill(cr);
  cairo_destroy(cr);
  cairo_surface_finish(surf);
  cairo_surface_destroy(surf);
  ck_assert_int_eq(hk_inspect("application/pdf", pdf->data, pdf->len, &thumb, &reason), 0);
  ck_assert_ptr_null(reason);
  check_thumb(thumb, 595, 842);
  g_bytes_unref(thumb);
  g_byte_array_unref(pdf);
}
END_TEST

static GBytes *
make_jpeg(int w, int h)
{
  tjhandle tj = tjInitCompress();
  unsigned char *px = g_malloc((size_t)w * h * 3), *buf = NULL;
  unsigned long size = 0;
  GBytes *b;

  for (size_t i = 0; i < (size_t)w * h * 3; i++)
    px[i] = (unsigned char)(i * 7);
  ck_assert_int_eq(tjCompress2(tj, px, w, 0, h, TJPF_RGB, &buf, &size, TJSAMP_420, 85, 0), 0);
  b = g_bytes_new(buf, size);
  tjFree(buf);
  tjDestroy(tj);
  g_free(px);
  return b;
}

START_TEST(test_thumbnail_jpeg)
{
  /* Landscape and portrait, one a long strip, all larger than 256 px. */
  static const int sizes[][2] = {{1200, 900}, {700, 2000}, {3000, 300}};

  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
    GBytes *jpeg = make_jpeg(sizes[i][0], sizes[i][1]), *thumb = NULL;
    char *reason = NULL;
    gsize len;
    const void *data = g_bytes_get_data(jpeg, &len);

    ck_assert_int_eq(hk_inspect("image/jpeg", data, len, &thumb, &reason), 0);
    ck_assert_ptr_null(reason);
    check_thumb(thumb, sizes[i][0], sizes[i][1]);
    g_bytes_unref(thumb);
    g_bytes_unref(jpeg);
  }
}
END_TEST

/* Group commit: items wait for company, but never longer than the commit
 * interval once the first of them is queued (issue 13, item 4). The clock
 * is moved, not waited for; the store is a real LMDB. */
START_TEST(test_commit_interval)
{
  char *tmp, *dir;
  hk_store *s = NULL;
  HkFileState st = { 0 };
  hk_ingest *ing;

  hk_test_store_setup("commit-interval", &tmp, &dir);
  ck_assert_int_eq(hk_store_open(dir, HK_STORE_CREATE, &s), 0);
  ing = hk_ingest_new(s, &(HkIngestConfig){ .batch_max_items = 1000, .commit_interval_ms = 200 });
  hk_time_set_offset(0);
  ck_assert_int_eq(hk_ingest_touch(ing, "drop/a", &st), 0);
  hk_time_set_offset(150 * 1000);
  ck_assert_int_eq(hk_ingest_touch(ing, "drop/b", &st), 0);
  ck_assert_uint_eq(hk_ingest_counters(ing)->commits, 0);
  /* 200 ms after the first: the three go in one commit. */
  hk_time_set_offset(200 * 1000);
  ck_assert_int_eq(hk_ingest_touch(ing, "drop/c", &st), 0);
  ck_assert_uint_eq(hk_ingest_counters(ing)->commits, 1);
  ck_assert_uint_eq(hk_ingest_counters(ing)->unchanged, 3);
  /* The interval starts again with the next item. */
  hk_time_set_offset(390 * 1000);
  ck_assert_int_eq(hk_ingest_touch(ing, "drop/d", &st), 0);
  hk_time_set_offset(580 * 1000);
  ck_assert_int_eq(hk_ingest_touch(ing, "drop/e", &st), 0);
  ck_assert_uint_eq(hk_ingest_counters(ing)->commits, 1);
  hk_time_set_offset(590 * 1000);
  ck_assert_int_eq(hk_ingest_touch(ing, "drop/f", &st), 0);
  ck_assert_uint_eq(hk_ingest_counters(ing)->commits, 2);
  hk_time_set_offset(0);
  hk_ingest_free(ing);
  hk_store_close(s);
  hk_test_store_teardown(&tmp, &dir);
}
END_TEST

#define MS ((int64_t)1000)

/* Ingest's share of busy time, on explicit timestamps: a loop at work 35
 * of every 100 ms (as at 10 documents/s) stays under the share at which
 * the extraction waits; one at work all the time (as at 200/s) passes it
 * within a few time constants; and after the burst it falls back. */
START_TEST(test_busy_share)
{
  HkBusy b;
  int64_t t = T0;

  hk_busy_init(&b, 250 * MS);
  ck_assert(hk_busy_share(&b, t) == 0.0);
  for (int i = 0; i < 50; i++, t += 100 * MS) {
    hk_busy_add(&b, t, t + 35 * MS);
    ck_assert_msg(hk_busy_share(&b, t + 35 * MS) < 0.5, "10/s: share %.2f at step %d",
                  hk_busy_share(&b, t + 35 * MS), i);
  }
  ck_assert(hk_busy_share(&b, t) > 0.2);
  for (int i = 0; i < 20; i++, t += 50 * MS)
    hk_busy_add(&b, t, t + 50 * MS);
  ck_assert_msg(hk_busy_share(&b, t) > 0.95, "burst: share %.2f", hk_busy_share(&b, t));
  /* An overlapping span counts once: the share cannot pass 1. */
  hk_busy_add(&b, t - 500 * MS, t + 10 * MS);
  t += 10 * MS;
  ck_assert(hk_busy_share(&b, t) <= 1.0);
  ck_assert_msg(hk_busy_share(&b, t + 1000 * MS) < 0.05, "a second idle: share %.2f",
                hk_busy_share(&b, t + 1000 * MS));
}
END_TEST

/* The extraction waits while ingest is busy, but never more than 30 s on
 * one hold: texts are not held back for ever by an ingest that never
 * rests. */
START_TEST(test_extractor_hold)
{
  HkBusy b;
  int64_t t = T0;

  hk_busy_init(&b, 250 * MS);
  ck_assert(!hk_extractor_should_hold(&b, t, t));
  for (int i = 0; i < 400; i++, t += 100 * MS)
    hk_busy_add(&b, t, t + 100 * MS);
  ck_assert(hk_extractor_should_hold(&b, t, t));
  ck_assert(hk_extractor_should_hold(&b, t - 29 * SEC, t));
  ck_assert(!hk_extractor_should_hold(&b, t - 30 * SEC, t));
  /* Ingest at rest again: no hold. */
  ck_assert(!hk_extractor_should_hold(&b, t, t + 1 * SEC));
}
END_TEST

static Suite *
indexer_suite(void)
{
  Suite *s = suite_create("indexer-units");
  TCase *tc = tcase_create("tripwire");
  TCase *th = tcase_create("thumbnail");

  tcase_add_test(tc, test_tripwire_window_expiry);
  tcase_add_test(tc, test_tripwire_trips_inside_window);
  suite_add_tcase(s, tc);
  tcase_add_test(th, test_thumbnail_pdf);
  tcase_add_test(th, test_thumbnail_jpeg);
  suite_add_tcase(s, th);
  TCase *ti = tcase_create("ingest");
  tcase_add_test(ti, test_commit_interval);
  tcase_add_test(ti, test_busy_share);
  tcase_add_test(ti, test_extractor_hold);
  suite_add_tcase(s, ti);
  return s;
}

int
main(void)
{
  hk_thumbnail_warmup();
  return hk_test_run(indexer_suite());
}

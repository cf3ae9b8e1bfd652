/* Tests of hk-boxes (where an OCR page's characters are) and of their
 * records in a real LMDB store in a private temporary folder: a worker's
 * box list that does not hold is refused whole, stored boxes read back,
 * a page or a store without boxes reads as none, a damaged record is
 * refused and named by verify. */
#include "hk-boxes.h"
#include "hk-error.h"
#include "hk-sha256.h"
#include "hk-store.h"
#include "hk-test.h"
#include "hk-time.h"

#include <lmdb.h>
#include <string.h>

static char *tmp;
static char *store_dir;

static void
setup(void)
{
  hk_test_store_setup("boxes", &tmp, &store_dir);
}

static void
teardown(void)
{
  hk_test_store_teardown(&tmp, &store_dir);
}

/* A page list of the given pages (NULL-terminated). */
static GBytes *
page_list(const char *const *pages)
{
  HkTextList l;

  hk_text_list_begin(&l);
  for (unsigned i = 0; pages[i]; i++)
    hk_text_list_add(&l, HK_TEXT_SOURCE_OCR, 9000, pages[i], strlen(pages[i]));
  return hk_text_list_end(&l);
}

static const char *const pages2[] = {"肺炎の疑い", "ペニシリン", NULL};

/* One box per character of "肺炎の疑い" (5 code points). */
static const HkBox five[] = {
    {0, 1, 100, 200, 900, 1200},   {1, 1, 900, 200, 1800, 1200},  {2, 1, 1800, 200, 2600, 1200},
    {3, 1, 2600, 200, 3500, 1200}, {4, 1, 3500, 200, 4400, 1200},
};

/* Field by field: the struct has padding. */
static bool
box_eq(const HkBox *a, const HkBox *b)
{
  return a->start == b->start && a->len == b->len && a->x0 == b->x0 && a->y0 == b->y0 &&
         a->x1 == b->x1 && a->y1 == b->y1;
}

static int
check(GBytes *boxes, GBytes *list)
{
  return hk_box_list_check(g_bytes_get_data(boxes, NULL), g_bytes_get_size(boxes),
                           g_bytes_get_data(list, NULL), g_bytes_get_size(list));
}

/* A box list of one entry for page, of n boxes. */
static GBytes *
one_entry(uint32_t page, const HkBox *b, uint32_t n)
{
  HkBoxList l;

  hk_box_list_begin(&l);
  ck_assert(hk_box_list_add(&l, page, b, n));
  return hk_box_list_end(&l);
}

START_TEST(test_list_round_trip)
{
  GBytes *list = page_list(pages2), *boxes;
  HkBoxListReader r;
  HkBoxes b;
  HkBox got;
  uint32_t page;
  const uint8_t *rec;
  size_t len;

  boxes = one_entry(1, five, 5);
  ck_assert_int_eq(check(boxes, list), 0);
  ck_assert_int_eq(hk_box_list_decode(g_bytes_get_data(boxes, NULL), g_bytes_get_size(boxes), &r),
                   0);
  ck_assert_uint_eq(r.entries, 1);
  hk_box_list_next(&r, &page, &rec, &len);
  ck_assert_uint_eq(page, 1);
  ck_assert_int_eq(hk_boxes_decode(rec, len, 5, &b), 0);
  ck_assert_uint_eq(b.n, 5);
  hk_boxes_get(&b, 3, &got);
  ck_assert(box_eq(&got, &five[3]));
  /* The same boxes against a text of 4 code points: the last is out. */
  ck_assert_int_eq(hk_boxes_decode(rec, len, 4, &b), -HK_ECORRUPT);
  ck_assert_uint_eq(b.n, 0);
  g_bytes_unref(boxes);
  g_bytes_unref(list);
}
END_TEST

/* Every way a worker's box list can fail to hold is refused whole. */
START_TEST(test_bad_lists_refused)
{
  GBytes *list = page_list(pages2), *good = one_entry(1, five, 5), *bad;
  gsize n = 0;
  const uint8_t *g = g_bytes_get_data(good, &n);
  uint8_t *copy;
  HkBox b[5];

  /* Cut anywhere: refused. */
  for (gsize cut = 0; cut < n; cut++) {
    bad = g_bytes_new(g, cut);
    ck_assert_msg(check(bad, list) == -HK_ECORRUPT, "cut at %zu accepted", cut);
    g_bytes_unref(bad);
  }
  /* A byte more: refused. */
  copy = g_malloc0(n + 1);
  memcpy(copy, g, n);
  bad = g_bytes_new_take(copy, n + 1);
  ck_assert_int_eq(check(bad, list), -HK_ECORRUPT);
  g_bytes_unref(bad);
  /* Another layout; a page record's count of 0, or past the limit. */
  {
    static const size_t at[] = {0, 16, 19};
    static const uint8_t to[] = {2, 1, 0};
    for (unsigned k = 0; k < G_N_ELEMENTS(at); k++) {
      copy = g_memdup2(g, n);
      if (k == 1) /* the record's count: 0 */
        memset(copy + at[k], 0, 4);
      else if (k == 2) /* the record's count: HK_BOXES_PAGE_MAX + 1 */
        copy[16] = 0, copy[17] = 0, copy[18] = 0x40, copy[19] = 1;
      else
        copy[at[k]] = to[k];
      bad = g_bytes_new_take(copy, n);
      ck_assert_msg(check(bad, list) == -HK_ECORRUPT, "change %u accepted", k);
      g_bytes_unref(bad);
    }
  }
  /* A page the list does not have; page 0. */
  bad = one_entry(3, five, 1);
  ck_assert_int_eq(check(bad, list), -HK_ECORRUPT);
  g_bytes_unref(bad);
  copy = g_memdup2(g, n);
  memset(copy + 8, 0, 4);
  bad = g_bytes_new_take(copy, n);
  ck_assert_int_eq(check(bad, list), -HK_ECORRUPT);
  g_bytes_unref(bad);
  /* Boxes past their page's text: page 2 has 5 code points too, page 1's
   * six boxes would pass it. */
  memcpy(b, five, sizeof b);
  b[4].start = 5;
  bad = one_entry(2, b, 5);
  ck_assert_int_eq(check(bad, list), -HK_ECORRUPT);
  g_bytes_unref(bad);
  /* Out of order, overlapping, of no length, corners swapped. */
  for (int k = 0; k < 4; k++) {
    memcpy(b, five, sizeof b);
    if (k == 0)
      b[2].start = 0;
    else if (k == 1)
      b[1].len = 2;
    else if (k == 2)
      b[3].len = 0;
    else
      b[0].x0 = 1000, b[0].x1 = 900;
    bad = one_entry(1, b, 5);
    ck_assert_msg(check(bad, list) == -HK_ECORRUPT, "bad box %d accepted", k);
    g_bytes_unref(bad);
  }
  /* Pages out of order. */
  {
    HkBoxList l;
    hk_box_list_begin(&l);
    ck_assert(hk_box_list_add(&l, 2, five, 5));
    ck_assert(!hk_box_list_add(&l, 1, five, 5));
    bad = hk_box_list_end(&l);
    copy = g_malloc(g_bytes_get_size(bad) * 2);
    /* Two entries for page 2, made by hand: refused. */
    memcpy(copy, g_bytes_get_data(bad, NULL), g_bytes_get_size(bad));
    memcpy(copy + g_bytes_get_size(bad), (const uint8_t *)g_bytes_get_data(bad, NULL) + 8,
           g_bytes_get_size(bad) - 8);
    copy[7] = 2;
    g_bytes_unref(bad);
    bad = g_bytes_new_take(copy, (n - 8) * 2 + 8);
    ck_assert_int_eq(check(bad, list), -HK_ECORRUPT);
    g_bytes_unref(bad);
  }
  g_bytes_unref(good);
  g_bytes_unref(list);
}
END_TEST

/* Over the limits, a page is left out whole: never some of its boxes. */
START_TEST(test_limits)
{
  HkBox *many = g_new0(HkBox, HK_BOXES_PAGE_MAX + 1);
  HkBoxList l;
  uint32_t page = 1;
  GBytes *out;
  HkBoxListReader r;

  for (uint32_t i = 0; i <= HK_BOXES_PAGE_MAX; i++)
    many[i] = (HkBox){i, 1, 0, 0, 10, 10};
  hk_box_list_begin(&l);
  ck_assert(!hk_box_list_add(&l, 1, many, HK_BOXES_PAGE_MAX + 1));
  ck_assert(!hk_box_list_add(&l, 1, many, 0));
  while (hk_box_list_add(&l, page, many, HK_BOXES_PAGE_MAX))
    page++;
  out = hk_box_list_end(&l);
  ck_assert_uint_le(g_bytes_get_size(out), HK_BOXES_DOC_MAX);
  ck_assert_uint_gt(g_bytes_get_size(out),
                    HK_BOXES_DOC_MAX - 8 - HK_BOXES_HDR - HK_BOXES_PAGE_MAX * HK_BOX_BYTES);
  ck_assert_int_eq(hk_box_list_decode(g_bytes_get_data(out, NULL), g_bytes_get_size(out), &r), 0);
  ck_assert_uint_eq(r.entries, page - 1);
  g_bytes_unref(out);
  g_free(many);
}
END_TEST

/* A scanned document of two OCR pages; its ID in id. */
static void
add_doc(hk_store *s, char id[HK_DOC_ID_LEN + 1])
{
  HkVersion *v = hk_version_new();
  uint8_t d[HK_SHA256_LEN];
  HkTextListReader r;
  HkTextInfo info = {.status = HK_TEXT_DONE, .source = HK_TEXT_SOURCE_OCR, .attempts = 1};
  GBytes *list = page_list(pages2);
  hk_txn *t = NULL;
  bool added;
  const char *bytes = "scan";

  ck_assert_int_eq(hk_txn_begin(s, true, &t), 0);
  v->patient_id = g_strdup("P001");
  v->source_id = g_strdup("S1");
  v->type = g_strdup("scan");
  v->title = g_strdup("同意書");
  v->content_type = g_strdup("image/jpeg");
  v->created_at = g_strdup("2026-11-01T09:00:00+09:00");
  ck_assert_int_eq(hk_time_parse(v->created_at, &v->created_usec), 0);
  ck_assert_int_eq(hk_sha256(bytes, strlen(bytes), d), 0);
  hk_sha256_hex(d, v->sha256);
  v->size = strlen(bytes);
  v->source = g_strdup("/drop/S1.jpg");
  ck_assert_int_eq(hk_store_put_blob(t, v->sha256, bytes, strlen(bytes), NULL), 0);
  ck_assert_int_eq(hk_store_add_version(t, v, &added), 0);
  ck_assert_int_eq(hk_text_list_decode(g_bytes_get_data(list, NULL), g_bytes_get_size(list), &r),
                   0);
  info.pages = r.pages;
  ck_assert_int_eq(hk_store_put_text(t, v->doc_id, v->version, &info, &r, false), 0);
  ck_assert_int_eq(hk_txn_commit(t), 0);
  g_strlcpy(id, v->doc_id, HK_DOC_ID_LEN + 1);
  g_bytes_unref(list);
  hk_version_free(v);
}

static void
put_boxes(hk_store *s, const char *id, uint32_t page, const void *rec, size_t len)
{
  hk_txn *t = NULL;

  ck_assert_int_eq(hk_txn_begin(s, true, &t), 0);
  ck_assert_int_eq(hk_store_put_text_boxes(t, id, 1, page, rec, len), 0);
  ck_assert_int_eq(hk_txn_commit(t), 0);
}

static int
get_boxes(hk_store *s, const char *id, uint32_t page, HkBox *first, uint32_t *n)
{
  hk_txn *t = NULL;
  HkBoxes b;
  int ret;

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ret = hk_store_get_text_boxes(t, id, 1, page, &b);
  *n = b.n;
  if (ret == 0 && b.n)
    hk_boxes_get(&b, 0, first);
  hk_txn_abort(t);
  return ret;
}

static uint64_t
verify_bad(hk_store *s)
{
  hk_txn *t = NULL;
  uint64_t checked = 0, bad = 0;
  FILE *err = fopen("/dev/null", "w");

  ck_assert_int_eq(hk_txn_begin(s, false, &t), 0);
  ck_assert_int_eq(hk_store_check_texts(t, err, &checked, &bad), 0);
  hk_txn_abort(t);
  fclose(err);
  return bad;
}

START_TEST(test_store_round_trip)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char id[HK_DOC_ID_LEN + 1];
  GByteArray *rec = g_byte_array_new();
  HkBox first = {0};
  uint32_t n = 9;

  add_doc(s, id);
  /* Before any boxes, and on a page that has none: no boxes, no error. */
  ck_assert_int_eq(get_boxes(s, id, 1, &first, &n), 0);
  ck_assert_uint_eq(n, 0);
  hk_boxes_encode(five, 5, rec);
  put_boxes(s, id, 1, rec->data, rec->len);
  ck_assert_int_eq(get_boxes(s, id, 1, &first, &n), 0);
  ck_assert_uint_eq(n, 5);
  ck_assert(box_eq(&first, &five[0]));
  ck_assert_int_eq(get_boxes(s, id, 2, &first, &n), 0);
  ck_assert_uint_eq(n, 0);
  ck_assert_uint_eq(verify_bad(s), 0);
  /* A damaged record: refused on read, named by verify. */
  put_boxes(s, id, 2, rec->data, rec->len - 1);
  ck_assert_int_eq(get_boxes(s, id, 2, &first, &n), -HK_ECORRUPT);
  ck_assert_uint_eq(n, 0);
  ck_assert_uint_eq(verify_bad(s), 1);
  /* The text extracted again (a retry, a model changed): the old boxes go
   * with the old text. */
  {
    GBytes *list = page_list(pages2);
    HkTextListReader r;
    HkTextInfo info = {.status = HK_TEXT_DONE, .source = HK_TEXT_SOURCE_OCR, .attempts = 2};
    hk_txn *t = NULL;
    ck_assert_int_eq(hk_text_list_decode(g_bytes_get_data(list, NULL), g_bytes_get_size(list), &r),
                     0);
    info.pages = r.pages;
    ck_assert_int_eq(hk_txn_begin(s, true, &t), 0);
    ck_assert_int_eq(hk_store_put_text(t, id, 1, &info, &r, false), 0);
    ck_assert_int_eq(hk_txn_commit(t), 0);
    g_bytes_unref(list);
  }
  ck_assert_int_eq(get_boxes(s, id, 1, &first, &n), 0);
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(get_boxes(s, id, 2, &first, &n), 0);
  ck_assert_uint_eq(verify_bad(s), 0);
  g_byte_array_unref(rec);
  hk_store_close(s);
}
END_TEST

/* A store written before boxes existed (no `text_boxes` table), opened
 * by a reader before its writer has added it: every page has no boxes. */
START_TEST(test_store_without_table)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char id[HK_DOC_ID_LEN + 1];
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  HkBox first;
  uint32_t n = 9;

  add_doc(s, id);
  hk_store_close(s);
  ck_assert_int_eq(mdb_env_create(&env), 0);
  ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
  ck_assert_int_eq(mdb_env_open(env, store_dir, 0, 0640), 0);
  ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
  ck_assert_int_eq(mdb_dbi_open(txn, "text_boxes", 0, &dbi), 0);
  ck_assert_int_eq(mdb_drop(txn, dbi, 1), 0);
  ck_assert_int_eq(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  s = hk_test_store_open(store_dir, HK_STORE_RDONLY);
  ck_assert_int_eq(get_boxes(s, id, 1, &first, &n), 0);
  ck_assert_uint_eq(n, 0);
  ck_assert_uint_eq(verify_bad(s), 0);
  hk_store_close(s);
}
END_TEST

static Suite *
boxes_suite(void)
{
  Suite *s = suite_create("boxes");
  TCase *codec = tcase_create("codec"), *store = tcase_create("store");

  tcase_add_test(codec, test_list_round_trip);
  tcase_add_test(codec, test_bad_lists_refused);
  tcase_add_test(codec, test_limits);
  tcase_add_checked_fixture(store, setup, teardown);
  tcase_add_test(store, test_store_round_trip);
  tcase_add_test(store, test_store_without_table);
  suite_add_tcase(s, codec);
  suite_add_tcase(s, store);
  return s;
}

int
main(void)
{
  return hk_test_run(boxes_suite());
}

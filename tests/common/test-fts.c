/* Tests of hk-fts (the Groonga full-text index) over a real LMDB store
 * and a real Groonga index in a private temporary folder. */
#include "hk-error.h"
#include "hk-fts.h"
#include "hk-sha256.h"
#include "hk-store.h"
#include "hk-test.h"
#include "hk-time.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp;
static char *store_dir;

static void
setup(void)
{
  hk_test_store_setup("fts", &tmp, &store_dir);
}

static void
teardown(void)
{
  hk_test_store_teardown(&tmp, &store_dir);
}

static hk_store *
open_store(unsigned flags)
{
  hk_store *s = NULL;

  ck_assert_int_eq(hk_store_open(store_dir, flags, &s), 0);
  return s;
}

static hk_txn *
begin(hk_store *s, bool write)
{
  hk_txn *t = NULL;

  ck_assert_int_eq(hk_txn_begin(s, write, &t), 0);
  return t;
}

/* Add a version of source sid for patient pid (bytes make it distinct)
 * and store its text: pages (NULL-terminated). Returns its document ID
 * in id. */
static void
add_text(hk_store *s, const char *pid, const char *sid, const char *bytes, const char *const *pages,
         char id[HK_DOC_ID_LEN + 1])
{
  HkVersion *v = hk_version_new();
  uint8_t d[HK_SHA256_LEN];
  HkTextList l;
  HkTextListReader r;
  HkTextInfo info = {.status = HK_TEXT_DONE, .source = HK_TEXT_SOURCE_PDF, .attempts = 1};
  GBytes *list;
  hk_txn *t = begin(s, true);
  bool added;

  v->patient_id = g_strdup(pid);
  v->source_id = g_strdup(sid);
  v->type = g_strdup("progress_note");
  v->title = g_strdup("経過記録");
  v->content_type = g_strdup("application/pdf");
  v->created_at = g_strdup("2026-11-01T09:00:00+09:00");
  ck_assert_int_eq(hk_time_parse(v->created_at, &v->created_usec), 0);
  ck_assert_int_eq(hk_sha256(bytes, strlen(bytes), d), 0);
  hk_sha256_hex(d, v->sha256);
  v->size = strlen(bytes);
  v->source = g_strdup_printf("/drop/%s.pdf", sid);
  ck_assert_int_eq(hk_store_put_blob(t, v->sha256, bytes, strlen(bytes), NULL), 0);
  ck_assert_int_eq(hk_store_add_version(t, v, &added), 0);
  ck_assert(added);
  hk_text_list_begin(&l);
  for (unsigned i = 0; pages[i]; i++)
    hk_text_list_add(&l, HK_TEXT_SOURCE_PDF, HK_TEXT_NO_CONFIDENCE, pages[i], strlen(pages[i]));
  list = hk_text_list_end(&l);
  ck_assert_int_eq(hk_text_list_decode(g_bytes_get_data(list, NULL), g_bytes_get_size(list), &r),
                   0);
  info.pages = r.pages;
  ck_assert_int_eq(hk_store_put_text(t, v->doc_id, v->version, &info, &r, false), 0);
  ck_assert_int_eq(hk_txn_commit(t), 0);
  g_strlcpy(id, v->doc_id, HK_DOC_ID_LEN + 1);
  g_bytes_unref(list);
  hk_version_free(v);
}

typedef struct {
  GString *out;
  unsigned hits;
} Collect;

static int
collect(const HkFtsHit *h, void *data)
{
  Collect *c = data;

  g_string_append_printf(c->out, "%s v%u %s p%u [", h->doc_id, h->version, h->patient, h->page);
  for (unsigned i = 0; i < h->nmarks; i++) {
    const char *s = g_utf8_offset_to_pointer(h->snippet, h->marks[i][0]);
    const char *e = g_utf8_offset_to_pointer(s, h->marks[i][1]);
    g_string_append_printf(c->out, "%s%.*s", i ? "|" : "", (int)(e - s), s);
  }
  g_string_append(c->out, "]\n");
  c->hits++;
  return 0;
}

/* The hits of query (under patient, or all), one line per page:
 * "DOCID vN PATIENT pPAGE [marked|texts]". */
static char *
search(hk_fts *f, const char *patient, const char *query)
{
  HkFtsQuery *q = NULL;
  char *msg = NULL;
  Collect c = {g_string_new(NULL), 0};

  ck_assert_msg(hk_fts_query_parse(query, &q, &msg) == 0, "%s: %s", query, msg);
  ck_assert_int_eq(hk_fts_search(f, patient, q, 100, collect, &c), 0);
  hk_fts_query_free(q);
  return g_string_free(c.out, FALSE);
}

/* How many documents query finds. */
static unsigned
count_docs(hk_fts *f, const char *patient, const char *query)
{
  char *r = search(f, patient, query);
  GHashTable *docs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  char **lines = g_strsplit(r, "\n", -1);
  unsigned n;

  for (char **l = lines; *l; l++)
    if (**l)
      g_hash_table_add(docs, g_strndup(*l, HK_DOC_ID_LEN));
  n = g_hash_table_size(docs);
  g_strfreev(lines);
  g_hash_table_unref(docs);
  g_free(r);
  return n;
}

/* r (freed) is the text made of fmt. */
static void G_GNUC_PRINTF(2, 3) assert_hits(char *r, const char *fmt, ...)
{
  va_list ap;
  char *want;

  va_start(ap, fmt);
  want = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  ck_assert_str_eq(r, want);
  g_free(want);
  g_free(r);
}

static hk_fts *
rebuild_and_open(hk_store *s)
{
  hk_fts *f = NULL;
  uint64_t docs;

  ck_assert_int_eq(hk_fts_rebuild(s, &docs), 0);
  ck_assert_int_eq(hk_fts_open(s, false, &f), 0);
  return f;
}

/* 1- and 2-character terms, and every kana and width form. */
START_TEST(test_fts_terms_and_forms)
{
  hk_store *s = open_store(HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"既往歴: 肺炎。ペニシリンにアレルギー。", "胃癌の疑い", NULL};
  const char *pb[] = {"ＡＢＣ検査は正常", NULL};
  hk_fts *f;
  char *r;

  add_text(s, "P1", "a", "a", pa, a);
  add_text(s, "P1", "b", "b", pb, b);
  f = rebuild_and_open(s);
  ck_assert_uint_eq(count_docs(f, NULL, "癌"), 1);
  ck_assert_uint_eq(count_docs(f, NULL, "肺炎"), 1);
  ck_assert_uint_eq(count_docs(f, NULL, "肺"), 1);
  ck_assert_uint_eq(count_docs(f, NULL, "炎"), 1);
  ck_assert_uint_eq(count_docs(f, NULL, "胃炎"), 0);
  for (const char *const *q =
           (const char *const[]){"ペニシリン", "ぺにしりん", "ﾍﾟﾆｼﾘﾝ", "ペニシリン", NULL};
       *q; q++)
    ck_assert_msg(count_docs(f, NULL, *q) == 1, "%s", *q);
  for (const char *const *q =
           (const char *const[]){"abc", "ABC", "ＡＢＣ", "ａｂｃ", "Abc", "bc", "ｂ", NULL};
       *q; q++)
    ck_assert_msg(count_docs(f, NULL, *q) == 1, "%s", *q);
  /* The page and the marks: the first matching page, the term marked as
   * written in the text. */
  r = search(f, NULL, "ぺにしりん");
  assert_hits(r, "%s v1 P1 p1 [ペニシリン]\n", a);
  r = search(f, NULL, "癌");
  assert_hits(r, "%s v1 P1 p2 [癌]\n", a);
  r = search(f, NULL, "abc");
  assert_hits(r, "%s v1 P1 p1 [ＡＢＣ]\n", b);
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* A term across a PDF line break, and across a blank. */
START_TEST(test_fts_line_break)
{
  hk_store *s = open_store(HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"本日、造影\n剤を使用した。\nヨード造影 剤", NULL};
  hk_fts *f;
  char *r;

  add_text(s, "P1", "a", "a", pa, a);
  f = rebuild_and_open(s);
  r = search(f, NULL, "造影剤");
  /* The snippet stays on one line: the line break shows as a space. */
  assert_hits(r, "%s v1 P1 p1 [造影 剤|造影 剤]\n", a);
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* Operators and query syntax are literal text. */
START_TEST(test_fts_escaping)
{
  hk_store *s = open_store(HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"所見 OR 所見なし \"引用\" 5*3 (括弧) @mail -x \\back text:value", NULL};
  const char *pb[] = {"所見あり", NULL};
  hk_fts *f;

  add_text(s, "P1", "a", "a", pa, a);
  add_text(s, "P1", "b", "b", pb, b);
  f = rebuild_and_open(s);
  /* Each is found where it is written, and only there; none is an
   * operator (OR would find b, -x everything without x, text:value a
   * column, * a prefix, @ a match on every column). */
  for (const char *const *q =
           (const char *const[]){"OR", "\"", "*", "(", ")", "@", "-x", "\\", "text:value",
                                 "\"引用\"", "5*3", "(括弧)", "@mail", "\\back", NULL};
       *q; q++)
    ck_assert_msg(count_docs(f, NULL, *q) == 1, "%s", *q);
  ck_assert_uint_eq(count_docs(f, NULL, "所見"), 2);
  ck_assert_uint_eq(count_docs(f, NULL, "-所見"), 0);
  ck_assert_uint_eq(count_docs(f, NULL, "所見 OR あり"), 0);
  ck_assert_uint_eq(count_docs(f, NULL, "*見"), 0);
  ck_assert_uint_eq(count_docs(f, NULL, "text:所見"), 0);
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* The query's limits and its AND. */
START_TEST(test_fts_query_limits)
{
  HkFtsQuery *q = NULL;
  char *msg = NULL;
  char *longq = g_strnfill(HK_FTS_QUERY_MAX + 1, 'a');

  ck_assert_int_eq(hk_fts_query_parse("", &q, &msg), -HK_EINVAL);
  ck_assert_ptr_nonnull(msg);
  g_free(msg);
  ck_assert_int_eq(hk_fts_query_parse(" \t　 ", &q, &msg), -HK_EINVAL);
  g_free(msg);
  ck_assert_int_eq(hk_fts_query_parse("a\x01", &q, &msg), -HK_EINVAL);
  ck_assert_str_eq(msg, "the query holds a control character");
  g_free(msg);
  ck_assert_int_eq(hk_fts_query_parse("\xff", &q, &msg), -HK_EINVAL);
  g_free(msg);
  ck_assert_int_eq(hk_fts_query_parse(longq, &q, &msg), -HK_EINVAL);
  ck_assert_str_eq(msg, "the query is longer than 64 characters");
  g_free(msg);
  longq[HK_FTS_QUERY_MAX] = 0;
  ck_assert_int_eq(hk_fts_query_parse(longq, &q, &msg), 0);
  hk_fts_query_free(q);
  /* Spaces around do not count; 64 Japanese characters do. */
  g_free(longq);
  {
    GString *g = g_string_new("　 ");
    for (int i = 0; i < HK_FTS_QUERY_MAX; i++)
      g_string_append(g, "癌");
    g_string_append(g, " 　");
    ck_assert_int_eq(hk_fts_query_parse(g->str, &q, &msg), 0);
    ck_assert_uint_eq(hk_fts_query_terms(q), 1);
    hk_fts_query_free(q);
    g_string_free(g, TRUE);
  }
  ck_assert_int_eq(hk_fts_query_parse("a b c d e f g h i", &q, &msg), -HK_EINVAL);
  ck_assert_str_eq(msg, "the query has more than 8 words");
  g_free(msg);
  ck_assert_int_eq(hk_fts_query_parse(" a　b  c ", &q, &msg), 0);
  ck_assert_uint_eq(hk_fts_query_terms(q), 3);
  ck_assert_str_eq(hk_fts_query_term(q, 1), "b");
  hk_fts_query_free(q);
}
END_TEST

/* Every word is required, anywhere in the document; the patient filter. */
START_TEST(test_fts_and_patient)
{
  hk_store *s = open_store(HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1], c[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"ペニシリン", "造影剤", NULL};
  const char *pb[] = {"ペニシリン", NULL};
  const char *pc[] = {"ペニシリン 造影剤", NULL};
  hk_fts *f;
  char *r;

  add_text(s, "P1", "a", "a", pa, a);
  add_text(s, "P1", "b", "b", pb, b);
  add_text(s, "P2", "c", "c", pc, c);
  f = rebuild_and_open(s);
  ck_assert_uint_eq(count_docs(f, NULL, "ペニシリン"), 3);
  ck_assert_uint_eq(count_docs(f, NULL, "ペニシリン 造影剤"), 2);
  ck_assert_uint_eq(count_docs(f, "P1", "ペニシリン 造影剤"), 1);
  ck_assert_uint_eq(count_docs(f, "P1", "ペニシリン"), 2);
  ck_assert_uint_eq(count_docs(f, "P2", "ペニシリン"), 1);
  ck_assert_uint_eq(count_docs(f, "P3", "ペニシリン"), 0);
  r = search(f, "P1", "造影剤 ぺにしりん");
  assert_hits(r, "%s v1 P1 p1 [ペニシリン]\n%s v1 P1 p2 [造影剤]\n", a, a);
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* No index: -HK_ENOTFOUND; the store's text counters. */
START_TEST(test_fts_missing)
{
  hk_store *s = open_store(HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"肺炎", NULL};
  hk_fts *f = (hk_fts *)1;
  uint64_t seq = 9, n = 9;
  hk_txn *t;

  t = begin(s, false);
  ck_assert_int_eq(hk_store_text_seq(t, &seq), 0);
  ck_assert_uint_eq(seq, 0);
  hk_txn_abort(t);
  add_text(s, "P1", "a", "a", pa, a);
  t = begin(s, false);
  ck_assert_int_eq(hk_store_text_seq(t, &seq), 0);
  ck_assert_uint_eq(seq, 1);
  ck_assert_int_eq(hk_store_textq_count(t, &n), 0);
  ck_assert_uint_eq(n, 0);
  hk_txn_abort(t);
  ck_assert_int_eq(hk_fts_open(s, false, &f), -HK_ENOTFOUND);
  ck_assert_ptr_null(f);
  ck_assert_int_eq(hk_fts_open(s, true, &f), -HK_ENOTFOUND);
  hk_store_close(s);
}
END_TEST

static Suite *
fts_suite(void)
{
  Suite *s = suite_create("fts");
  TCase *tc = tcase_create("core");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_fts_terms_and_forms);
  tcase_add_test(tc, test_fts_line_break);
  tcase_add_test(tc, test_fts_escaping);
  tcase_add_test(tc, test_fts_query_limits);
  tcase_add_test(tc, test_fts_and_patient);
  tcase_add_test(tc, test_fts_missing);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(fts_suite());
}

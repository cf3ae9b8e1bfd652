/* Tests of hk-fts (the Groonga full-text index) over a real LMDB store
 * and a real Groonga index in a private temporary folder. */
#include "hk-error.h"
#include "hk-fts-private.h"
#include "hk-sha256.h"
#include "hk-store.h"
#include "hk-test.h"
#include "hk-time.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <string.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
static const char *add_created = "2026-11-01T09:00:00+09:00"; /* for the next add_text */

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
  v->created_at = g_strdup(add_created);
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
  ck_assert_int_eq(hk_fts_search(f, patient, q, 1000, collect, &c), 0);
  /* The search reads the store or asks the index, whichever costs less
   * (hk_fts_set_plan): each way must answer alike. */
  for (HkFtsPlan plan = HK_FTS_PLAN_INDEX; plan <= HK_FTS_PLAN_STORE; plan++) {
    Collect i = {g_string_new(NULL), 0};
    hk_fts_set_plan(f, plan);
    ck_assert_int_eq(hk_fts_search(f, patient, q, 1000, collect, &i), 0);
    hk_fts_set_plan(f, HK_FTS_PLAN_AUTO);
    ck_assert_msg(strcmp(i.out->str, c.out->str) == 0, "%s (plan %d): %s\n, not\n%s", query, plan,
                  i.out->str, c.out->str);
    g_string_free(i.out, TRUE);
  }
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
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
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

/* The snippet starts at the first match in any form, and marks every
 * match inside it, whatever line the first match as typed is on (only
 * the text up to that line is normalised to find the first). */
START_TEST(test_fts_snippet_first_form)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"検査: ﾍﾟﾆｼﾘﾝ 陰性\n経過は良好\nペニシリン 再投与\n"
                      "翌日 ぺにしりん 継続",
                      NULL};
  hk_fts *f;
  char *r;

  add_text(s, "P1", "a", "a", pa, a);
  f = rebuild_and_open(s);
  for (const char *const *q = (const char *const[]){"ペニシリン", "ぺにしりん", "ﾍﾟﾆｼﾘﾝ", NULL}; *q;
       q++) {
    r = search(f, NULL, *q);
    assert_hits(r, "%s v1 P1 p1 [ﾍﾟﾆｼﾘﾝ|ペニシリン|ぺにしりん]\n", a);
  }
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* A term across a PDF line break, and across a blank. */
START_TEST(test_fts_line_break)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
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
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
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
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
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
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
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

/* Take what the text log holds into the index, as the indexer does,
 * per_step texts a step (a flush each). */
static unsigned
follow_by(hk_store *s, unsigned per_step)
{
  hk_fts *w = NULL;
  unsigned done = 0, all = 0;

  ck_assert_int_eq(hk_fts_open(s, true, &w), 0);
  do {
    ck_assert_int_eq(hk_fts_follow(w, per_step, &done), 0);
    all += done;
  } while (done);
  hk_fts_close(w);
  return all;
}

/* Two texts a step: the tests see a follow cut into several steps. */
static unsigned
follow(hk_store *s)
{
  return follow_by(s, 2);
}

/* A new version replaces the old text; a moved document is found under
 * its new patient only. */
START_TEST(test_fts_replace_and_move)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1], a2[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1], b2[HK_DOC_ID_LEN + 1];
  const char *v1[] = {"旧い所見: 肺炎", "二頁目", NULL};
  const char *v2[] = {"新しい所見: 気管支炎", NULL};
  const char *pb[] = {"転科の記録 心電図", NULL};
  hk_fts *f;
  char *r;

  add_text(s, "P1", "a", "a1", v1, a);
  add_text(s, "P1", "b", "b1", pb, b);
  f = rebuild_and_open(s);
  ck_assert_uint_eq(count_docs(f, "P1", "肺炎"), 1);
  ck_assert_uint_eq(count_docs(f, "P1", "二頁目"), 1);
  add_text(s, "P1", "a", "a2", v2, a2);
  ck_assert_str_eq(a, a2);
  add_text(s, "P2", "b", "b2", pb, b2);
  ck_assert_str_eq(b, b2);
  /* Not taken yet: the index still answers the old text. */
  ck_assert_uint_eq(count_docs(f, "P1", "肺炎"), 1);
  ck_assert_uint_eq(follow(s), 2);
  ck_assert_uint_eq(count_docs(f, "P1", "肺炎"), 0);
  ck_assert_uint_eq(count_docs(f, "P1", "二頁目"), 0);
  /* The old text's postings stay in the index (it keeps no copy of the
   * text to remove them by): a word only they hold must not complete an
   * AND with a word of the new text. */
  ck_assert_uint_eq(count_docs(f, NULL, "肺炎 所見"), 0);
  ck_assert_uint_eq(count_docs(f, "P1", "肺炎 所見"), 0);
  ck_assert_uint_eq(count_docs(f, NULL, "所見"), 1);
  r = search(f, "P1", "気管支炎");
  assert_hits(r, "%s v2 P1 p1 [気管支炎]\n", a);
  ck_assert_uint_eq(count_docs(f, "P1", "心電図"), 0);
  r = search(f, "P2", "心電図");
  assert_hits(r, "%s v2 P2 p1 [心電図]\n", b);
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* The document IDs of a search's answers, in order, one per line. */
static char *
doc_order(hk_fts *f, const char *query)
{
  char *r = search(f, NULL, query);
  char **lines = g_strsplit(r, "\n", -1);
  GString *got = g_string_new(NULL);

  for (char **l = lines; *l; l++) {
    char id[HK_DOC_ID_LEN + 1];
    g_strlcpy(id, *l, sizeof id);
    /* A document's pages are one line each: the document once. */
    if (**l && !strstr(got->str, id))
      g_string_append_printf(got, "%s\n", id);
  }
  g_strfreev(lines);
  g_free(r);
  return g_string_free(got, FALSE);
}

/* The answers to query are the documents of want (freed), in order. */
static void
assert_order(hk_fts *f, const char *query, char *want)
{
  char *got = doc_order(f, query);

  ck_assert_str_eq(got, want);
  g_free(got);
  g_free(want);
}

/* Answers come newest first (the clinician looks for the last report),
 * whichever way the search runs, then in document ID order. */
START_TEST(test_fts_newest_first)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  const char *p[] = {"心電図 異常なし", NULL};
  const char *when[] = {"2026-11-01T09:00:00+09:00", "2026-11-03T09:00:00+09:00",
                        "2026-11-02T09:00:00+09:00", "2026-11-03T09:00:00+09:00"};
  char id[4][HK_DOC_ID_LEN + 1], *want;
  hk_fts *f;

  for (unsigned i = 0; i < 4; i++) {
    char sid[8], bytes[8];
    g_snprintf(sid, sizeof sid, "e%u", i);
    g_snprintf(bytes, sizeof bytes, "b%u", i);
    add_created = when[i];
    add_text(s, i < 2 ? "P1" : "P2", sid, bytes, p, id[i]);
  }
  add_created = "2026-11-01T09:00:00+09:00";
  f = rebuild_and_open(s);
  /* 1 and 3 are as new: by ID. */
  if (strcmp(id[1], id[3]) < 0)
    want = g_strdup_printf("%s\n%s\n%s\n%s\n", id[1], id[3], id[2], id[0]);
  else
    want = g_strdup_printf("%s\n%s\n%s\n%s\n", id[3], id[1], id[2], id[0]);
  assert_order(f, "心電図", want);
  assert_hits(search(f, "P1", "心電図"), "%s v1 P1 p1 [心電図]\n%s v1 P1 p1 [心電図]\n", id[1],
              id[0]);
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* The order follows a document's new version taken record by record: its
 * new date moves it (the index on the documents' dates is kept by
 * Groonga as the date is written). */
START_TEST(test_fts_newest_after_replace)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  const char *p[] = {"胸部CT 所見なし", NULL}, *p2[] = {"胸部CT 再検", NULL};
  char a[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1], c[HK_DOC_ID_LEN + 1];
  hk_fts *f;

  add_created = "2026-11-01T09:00:00+09:00";
  add_text(s, "P1", "a", "a1", p, a);
  add_created = "2026-11-02T09:00:00+09:00";
  add_text(s, "P2", "b", "b1", p, b);
  add_created = "2026-11-03T09:00:00+09:00";
  add_text(s, "P3", "c", "c1", p, c);
  f = rebuild_and_open(s);
  assert_order(f, "胸部CT", g_strdup_printf("%s\n%s\n%s\n", c, b, a));
  /* a's second version is the newest document now. */
  add_created = "2026-11-05T09:00:00+09:00";
  add_text(s, "P1", "a", "a2", p2, a);
  ck_assert_uint_eq(follow(s), 1);
  assert_order(f, "胸部CT", g_strdup_printf("%s\n%s\n%s\n", a, c, b));
  add_created = "2026-11-01T09:00:00+09:00";
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* An index of layout 2 (no index on the documents' dates) is upgraded in
 * place by the writer's open, as the indexer's at its start; a reader
 * waits for that and does not take it as it is. */
START_TEST(test_fts_upgrade_layout_2)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  const char *p[] = {"肺炎 の 所見", NULL};
  char a[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1];
  hk_fts *f = NULL;

  add_created = "2026-11-01T09:00:00+09:00";
  add_text(s, "P1", "a", "a1", p, a);
  add_created = "2026-11-02T09:00:00+09:00";
  add_text(s, "P2", "b", "b1", p, b);
  add_created = "2026-11-01T09:00:00+09:00";
  hk_fts_close(rebuild_and_open(s));
  /* Made a layout 2 index: what layout 3 added, removed. */
  ck_assert_int_eq(hk_fts_open(s, true, &f), 0);
  ck_assert_int_eq(grn_obj_remove(&f->ctx, f->c_docs), GRN_SUCCESS);
  ck_assert_int_eq(grn_obj_remove(&f->ctx, f->created), GRN_SUCCESS);
  ck_assert_int_eq(hk_fts_meta_set(f, "layout", "2"), 0);
  f->c_docs = f->created = NULL;
  hk_fts_close(f);
  f = NULL;
  ck_assert_int_eq(hk_fts_open(s, false, &f), -HK_ECORRUPT);
  ck_assert_ptr_null(f);
  ck_assert_int_eq(hk_fts_open(s, true, &f), 0);
  hk_fts_close(f);
  f = NULL;
  ck_assert_int_eq(hk_fts_open(s, false, &f), 0);
  /* The dates of the documents already there are in the new index. */
  assert_order(f, "肺炎", g_strdup_printf("%s\n%s\n", b, a));
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

static const char *const answers_queries[] = {"肺炎", "ペニシリン", "造影剤", "癌", "記録",
                                              "abc",  "所見 記録",  "P",      NULL};

/* Every query's answer, across patients and under P1. */
static char *
answers(hk_fts *f)
{
  GString *g = g_string_new(NULL);

  for (const char *const *q = answers_queries; *q; q++) {
    char *all = search(f, NULL, *q), *p1 = search(f, "P1", *q);
    g_string_append_printf(g, "== %s\n%s-- P1\n%s", *q, all, p1);
    g_free(all);
    g_free(p1);
  }
  return g_string_free(g, FALSE);
}

/* The index built by following the log and one rebuilt from the store
 * answer the same; a reader open across the rebuild moves to the new one. */
START_TEST(test_fts_reindex_same)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char id[HK_DOC_ID_LEN + 1];
  const char *p1[] = {"肺炎の記録", "ペニシリン", NULL};
  const char *p2[] = {"造影\n剤 abc", NULL};
  const char *p3[] = {"癌 所見 記録", NULL};
  const char *p4[] = {"差し替え後の記録 ABC", NULL};
  const char *p5[] = {"再構築の後", NULL};
  char *before, *after, sid[8], bytes[8];
  hk_fts *f;
  uint64_t docs = 0, through = 0;

  f = rebuild_and_open(s); /* empty */
  for (int i = 0; i < 12; i++) {
    g_snprintf(sid, sizeof sid, "s%d", i % 5);
    g_snprintf(bytes, sizeof bytes, "x%d", i);
    add_text(s, i % 2 ? "P1" : "P2", sid, bytes, i % 3 == 0 ? p1 : i % 3 == 1 ? p2 : p3, id);
  }
  add_text(s, "P1", "s0", "last", p4, id);
  ck_assert_uint_eq(follow(s), 13);
  before = answers(f);
  /* Not followed: only the rebuilt index holds it. */
  add_text(s, "P3", "t", "t", p5, id);
  ck_assert_uint_eq(count_docs(f, NULL, "再構築"), 0);
  ck_assert_int_eq(hk_fts_rebuild(s, &docs), 0);
  ck_assert_uint_eq(docs, 6);
  ck_assert_int_eq(hk_fts_through(f, &through), 0);
  ck_assert_uint_eq(through, 14);
  ck_assert_uint_eq(count_docs(f, NULL, "再構築"), 1);
  after = answers(f);
  ck_assert_str_eq(before, after);
  ck_assert_ptr_nonnull(strstr(after, "v4 P1 p1 [ABC]"));
  g_free(before);
  g_free(after);
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* A reader sees what the writer in another process adds: lag, then
 * catch-up; the store's counters say how far behind it is. */
START_TEST(test_fts_lag_catch_up)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1], b[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"肺炎", NULL};
  const char *pb[] = {"心不全の増悪", NULL};
  hk_fts *f;
  uint64_t seq = 0, through = 0;
  hk_txn *t;
  pid_t pid;
  int st = 0;

  add_text(s, "P1", "a", "a", pa, a);
  f = rebuild_and_open(s);
  add_text(s, "P1", "b", "b", pb, b);
  t = begin(s, false);
  ck_assert_int_eq(hk_store_text_seq(t, &seq), 0);
  hk_txn_abort(t);
  ck_assert_int_eq(hk_fts_through(f, &through), 0);
  ck_assert_uint_eq(seq - through, 1);
  ck_assert_uint_eq(count_docs(f, NULL, "心不全"), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    /* The writer: its own process, its own store handle. */
    hk_store *w = NULL;
    int ok = hk_store_open(store_dir, 0, &w) == 0 && follow(w) == 1;
    hk_store_close(w);
    _exit(ok ? 0 : 1);
  }
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ck_assert_int_eq(hk_fts_through(f, &through), 0);
  ck_assert_uint_eq(through, seq);
  ck_assert_uint_eq(count_docs(f, NULL, "心不全"), 1);
  ck_assert_uint_eq(count_docs(f, NULL, "肺炎"), 1);
  hk_fts_close(f);
  hk_store_close(s);
}
END_TEST

/* An index from another store, or ahead of this one, is refused. */
START_TEST(test_fts_other_store)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE), *o;
  char a[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"肺炎", NULL};
  char *other = g_build_filename(tmp, "other", NULL);
  char *cmd;
  hk_fts *f = NULL;

  add_text(s, "P1", "a", "a", pa, a);
  f = rebuild_and_open(s);
  hk_fts_close(f);
  /* The same index beside another store (a restore, a copy by hand). */
  ck_assert_int_eq(hk_store_open(other, HK_STORE_CREATE, &o), 0);
  add_text(o, "P1", "a", "a", pa, a);
  cmd = g_strdup_printf("cp -a '%s/search' '%s/'", store_dir, other);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  f = NULL;
  ck_assert_int_eq(hk_fts_open(o, false, &f), -HK_ECORRUPT);
  ck_assert_ptr_null(f);
  ck_assert_int_eq(hk_fts_open(o, true, &f), -HK_ECORRUPT);
  hk_store_close(o);
  /* Ahead of the store: texts it does not have. */
  ck_assert_int_eq(hk_fts_open(s, true, &f), 0);
  ck_assert_int_eq(hk_fts_set_through(f, 2), 0);
  hk_fts_close(f);
  ck_assert_int_eq(hk_fts_open(s, false, &f), -HK_ECORRUPT);
  /* A damaged pointer to the generation. */
  {
    char *cur = g_build_filename(store_dir, "search", "current", NULL);
    ck_assert(g_file_set_contents(cur, "../../etc\n", -1, NULL));
    ck_assert_int_eq(hk_fts_open(s, false, &f), -HK_ECORRUPT);
    g_free(cur);
  }
  /* reindex mends both. */
  f = rebuild_and_open(s);
  ck_assert_uint_eq(count_docs(f, NULL, "肺炎"), 1);
  hk_fts_close(f);
  /* An index of another layout (an older hikae's kept a copy of the
   * text, which this one's searches do not look for) is unusable: the
   * indexer rebuilds it. */
  ck_assert_int_eq(hk_fts_open(s, true, &f), 0);
  ck_assert_int_eq(hk_fts_meta_set(f, "layout", "1"), 0);
  hk_fts_close(f);
  f = NULL;
  ck_assert_int_eq(hk_fts_open(s, false, &f), -HK_ECORRUPT);
  ck_assert_ptr_null(f);
  f = rebuild_and_open(s);
  ck_assert_uint_eq(count_docs(f, NULL, "肺炎"), 1);
  hk_fts_close(f);
  g_free(other);
  hk_store_close(s);
}
END_TEST

/* Take CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER from this
 * process (a no-op for a user without them). */
static int
drop_dac_caps(void)
{
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  uint32_t mask = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER);

  if (syscall(SYS_capget, &h, d) != 0)
    return -1;
  d[0].effective &= ~mask;
  d[0].permitted &= ~mask;
  d[0].inheritable &= ~mask;
  return (int)syscall(SYS_capset, &h, d);
}

/* Files this process may not write: Groonga opens them read-write, so the
 * open says so (-HK_EPERM), as the server's would under a read-only
 * mount; it does not crash or half-open. */
START_TEST(test_fts_read_only_files)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"肺炎", NULL};
  char *dir = g_build_filename(store_dir, "search", NULL);
  hk_fts *f;
  pid_t pid;
  int st = 0;

  add_text(s, "P1", "a", "a", pa, a);
  f = rebuild_and_open(s);
  hk_fts_close(f);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    hk_store *r = NULL;
    hk_fts *g = NULL;
    int rc;
    /* Root writes whatever the modes say: a read-only bind mount in a
     * private mount namespace, as systemd's ReadOnlyPaths= makes; where
     * a container refuses that, root without the capabilities that
     * override file modes, and read-only modes. */
    bool mounted = geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
                   mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
                   mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) == 0 &&
                   mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0;
    if (!mounted) {
      char *cmd = g_strdup_printf("chmod -R a-w '%s'", dir);
      if (system(cmd) != 0 || drop_dac_caps() != 0)
        _exit(3);
    }
    if (hk_store_open(store_dir, HK_STORE_RDONLY, &r) != 0)
      _exit(4);
    rc = hk_fts_open(r, false, &g);
    _exit(rc == -HK_EPERM && g == NULL ? 0 : 5);
  }
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", WEXITSTATUS(st));
  {
    /* Either way, so that the folder can be removed. */
    char *cmd = g_strdup_printf("chmod -R u+w '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
  }
  g_free(dir);
  hk_store_close(s);
}
END_TEST

/* verify names a damaged text log entry and one beyond the sequence. */
START_TEST(test_fts_verify_log)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1];
  const char *pa[] = {"肺炎", NULL};
  uint64_t checked = 0, bad = 0;
  uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 9}, val[12] = {0};
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  MDB_val k = {8, key}, v = {5, val};
  char *out = NULL;
  size_t outlen = 0;
  FILE *err;
  hk_txn *t;

  add_text(s, "P1", "a", "a", pa, a);
  t = begin(s, false);
  err = open_memstream(&out, &outlen);
  ck_assert_int_eq(hk_store_check_texts(t, err, &checked, &bad), 0);
  ck_assert_uint_eq(bad, 0);
  ck_assert_uint_eq(checked, 3); /* the status record, the page, the log entry */
  hk_txn_abort(t);
  hk_store_close(s);
  ck_assert_int_eq(mdb_env_create(&env), 0);
  ck_assert_int_eq(mdb_env_set_maxdbs(env, 64), 0);
  ck_assert_int_eq(mdb_env_open(env, store_dir, 0, 0640), 0);
  ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
  ck_assert_int_eq(mdb_dbi_open(txn, "textlog", 0, &dbi), 0);
  ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0); /* short value */
  key[7] = 1;
  ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
  memcpy(val, v.mv_data, 12);
  key[7] = 7;
  v = (MDB_val){12, val};
  ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0); /* beyond the sequence */
  ck_assert_int_eq(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  s = hk_test_store_open(store_dir, 0);
  t = begin(s, false);
  ck_assert_int_eq(hk_store_check_texts(t, err, &checked, &bad), 0);
  fclose(err);
  ck_assert_uint_eq(bad, 2);
  ck_assert_ptr_nonnull(strstr(out, "(log 9): malformed entry"));
  ck_assert_ptr_nonnull(strstr(out, "(log 7): beyond the store's text sequence"));
  free(out);
  hk_txn_abort(t);
  hk_store_close(s);
}
END_TEST

/* In a setgid folder (the archive host's) every file of the index opens
 * to the folder's group, read and write: Groonga needs both to read. */
START_TEST(test_fts_shared_group)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char a[HK_DOC_ID_LEN + 1], gen[80] = "";
  const char *pa[] = {"肺炎", NULL};
  char *dir = g_build_filename(store_dir, "search", NULL), *cur, *gdir, *text = NULL;
  unsigned files = 0;
  const char *name;
  struct stat st;
  hk_fts *f;
  GDir *d;

  ck_assert_int_eq(g_mkdir(dir, 0750), 0);
  ck_assert_int_eq(chmod(dir, 02750), 0);
  add_text(s, "P1", "a", "a", pa, a);
  f = rebuild_and_open(s);
  hk_fts_close(f);
  cur = g_build_filename(dir, "current", NULL);
  ck_assert(g_file_get_contents(cur, &text, NULL, NULL));
  g_strlcpy(gen, g_strstrip(text), sizeof gen);
  gdir = g_build_filename(dir, gen, NULL);
  d = g_dir_open(gdir, 0, NULL);
  ck_assert_ptr_nonnull(d);
  while ((name = g_dir_read_name(d))) {
    char *p = g_build_filename(gdir, name, NULL);
    ck_assert_int_eq(lstat(p, &st), 0);
    ck_assert_msg((st.st_mode & 0060) == 0060, "%s: mode %o", name, st.st_mode & 07777);
    ck_assert_msg((st.st_mode & 0007) == 0, "%s: mode %o", name, st.st_mode & 07777);
    files++;
    g_free(p);
  }
  g_dir_close(d);
  ck_assert_uint_ge(files, 5);
  g_free(text);
  g_free(gdir);
  g_free(cur);
  g_free(dir);
  hk_store_close(s);
}
END_TEST

typedef struct {
  hk_store *s;
  volatile int *stop;
  unsigned searches;
  int failed;
} Reader;

/* One server thread: its own handle, searching until told to stop; every
 * answer must be whole (the first document always, under its patient). */
static gpointer
reader_thread(gpointer data)
{
  Reader *r = data;
  hk_fts *f = NULL;
  HkFtsQuery *q = NULL;
  char *msg = NULL;

  if (hk_fts_open(r->s, false, &f) != 0 || hk_fts_query_parse("肺炎", &q, &msg) != 0) {
    r->failed = 1;
    goto out;
  }
  while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE) || r->searches < 5) {
    Collect c = {g_string_new(NULL), 0};
    if (hk_fts_search(f, "P1", q, 100, collect, &c) != 0 || c.hits < 1 ||
        !strstr(c.out->str, " P1 p1 [肺炎]"))
      r->failed = 1;
    g_string_free(c.out, TRUE);
    r->searches++;
  }
out:
  hk_fts_query_free(q);
  hk_fts_close(f);
  return NULL;
}

/* The server's way: one handle per thread, four threads searching while
 * the writer, in another process, takes 200 new texts. */
START_TEST(test_fts_threads)
{
  hk_store *s = hk_test_store_open(store_dir, HK_STORE_CREATE);
  char id[HK_DOC_ID_LEN + 1], sid[16];
  const char *pa[] = {"肺炎", NULL};
  const char *pn[] = {"肺炎の経過", "新しい記録", NULL};
  volatile int stop = 0;
  Reader r[4];
  GThread *th[4];
  hk_fts *f;
  pid_t pid;
  int st = 0, go[2];

  add_text(s, "P1", "first", "first", pa, id);
  f = rebuild_and_open(s);
  hk_fts_close(f);
  for (int i = 0; i < 200; i++) {
    g_snprintf(sid, sizeof sid, "n%d", i);
    add_text(s, i % 2 ? "P1" : "P2", sid, sid, pn, id);
  }
  /* The writer is forked before the readers start: a fork beside running
   * threads may copy a lock one of them holds (ASan's allocator's, or
   * Groonga's) into a child that then waits on it for ever. It starts
   * writing once the readers run. */
  ck_assert_int_eq(pipe(go), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    hk_store *w = NULL;
    char b;
    int ok;
    close(go[1]);
    ok = read(go[0], &b, 1) == 1;
    /* Ten texts a step, each step a flush of the index (msync). */
    ok = ok && hk_store_open(store_dir, 0, &w) == 0 && follow_by(w, 10) == 200;
    hk_store_close(w);
    _exit(ok ? 0 : 1);
  }
  close(go[0]);
  for (int i = 0; i < 4; i++) {
    r[i] = (Reader){.s = s, .stop = &stop};
    th[i] = g_thread_new("reader", reader_thread, &r[i]);
  }
  ck_assert_int_eq(write(go[1], "x", 1), 1);
  close(go[1]);
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < 4; i++) {
    g_thread_join(th[i]);
    ck_assert_int_eq(r[i].failed, 0);
    ck_assert_uint_ge(r[i].searches, 5);
  }
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  f = NULL;
  ck_assert_int_eq(hk_fts_open(s, false, &f), 0);
  ck_assert_uint_eq(count_docs(f, "P1", "肺炎"), 101);
  ck_assert_uint_eq(count_docs(f, NULL, "新しい記録"), 200);
  {
    /* At most max_docs documents. */
    HkFtsQuery *q = NULL;
    char *msg = NULL;
    Collect c = {g_string_new(NULL), 0};
    ck_assert_int_eq(hk_fts_query_parse("新しい記録", &q, &msg), 0);
    ck_assert_int_eq(hk_fts_search(f, NULL, q, 100, collect, &c), 0);
    ck_assert_uint_eq(c.hits, 100);
    g_string_free(c.out, TRUE);
    hk_fts_query_free(q);
  }
  hk_fts_close(f);
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
  tcase_add_test(tc, test_fts_replace_and_move);
  tcase_add_test(tc, test_fts_reindex_same);
  tcase_add_test(tc, test_fts_lag_catch_up);
  tcase_add_test(tc, test_fts_newest_first);
  tcase_add_test(tc, test_fts_snippet_first_form);
  tcase_add_test(tc, test_fts_newest_after_replace);
  tcase_add_test(tc, test_fts_upgrade_layout_2);
  tcase_add_test(tc, test_fts_other_store);
  tcase_add_test(tc, test_fts_read_only_files);
  tcase_add_test(tc, test_fts_verify_log);
  tcase_add_test(tc, test_fts_shared_group);
  tcase_add_test(tc, test_fts_threads);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(fts_suite());
}

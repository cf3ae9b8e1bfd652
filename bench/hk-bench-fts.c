/* hk-bench-fts: the search index's size against the text it indexes, its
 * build time, and query times (issue 14). Not a test.
 *
 *   hk-bench-fts DIR DOCS [QUERIES]
 *
 * Fills a new store in DIR with DOCS documents over DOCS / 10 patients,
 * each 1-3 pages of generated Japanese clinical text (deterministic),
 * stored as extracted PDF text; builds the index (hk_fts_rebuild, what
 * `hikae-admin reindex` runs); then times QUERIES (default 200) runs of
 * each query, within one patient and across patients, on a warm index.
 * Prints a Markdown table. Environment: HK_BENCH_VOCAB, HK_BENCH_FOLLOW,
 * HK_BENCH_QUERIES_ONLY, HK_BENCH_WHERE, HK_BENCH_LIMIT (below). */
#include "hk-error.h"
#include "hk-fts.h"
#include "hk-sha256.h"
#include "hk-store.h"
#include "hk-time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const hk_words[] = {"主訴",
                                       "発熱",
                                       "咳嗽",
                                       "呼吸困難",
                                       "胸痛",
                                       "腹痛",
                                       "嘔気",
                                       "既往歴",
                                       "高血圧",
                                       "糖尿病",
                                       "脂質異常症",
                                       "心房細動",
                                       "慢性腎臓病",
                                       "肺炎",
                                       "気管支炎",
                                       "胃癌",
                                       "大腸癌",
                                       "脳梗塞",
                                       "心不全",
                                       "ペニシリン",
                                       "セフトリアキソン",
                                       "アムロジピン",
                                       "メトホルミン",
                                       "ワルファリン",
                                       "造影剤",
                                       "ヨード",
                                       "アレルギー",
                                       "CT",
                                       "MRI",
                                       "心電図",
                                       "血液検査",
                                       "CRP",
                                       "WBC",
                                       "HbA1c",
                                       "eGFR",
                                       "入院",
                                       "退院",
                                       "外来",
                                       "経過観察",
                                       "投与",
                                       "中止",
                                       "再開",
                                       "改善",
                                       "増悪",
                                       "所見なし",
                                       "異常なし",
                                       "疑い",
                                       "の",
                                       "を",
                                       "に",
                                       "は",
                                       "が",
                                       "と",
                                       "で",
                                       "、",
                                       "。",
                                       "した",
                                       "する",
                                       "された",
                                       "あり",
                                       "なし",
                                       "患者",
                                       "本日",
                                       "昨日",
                                       "様子",
                                       "ご家族",
                                       "説明",
                                       "同意",
                                       "手術",
                                       "麻酔",
                                       "術後",
                                       "創部",
                                       "疼痛",
                                       "ロキソプロフェン",
                                       "mg",
                                       "ml",
                                       "錠",
                                       "回",
                                       "日",
                                       "週",
                                       "月",
                                       "左",
                                       "右",
                                       "両側"};

static uint64_t hk_rng = 88172645463325252ull;

static uint64_t
hk_rand(void)
{
  hk_rng ^= hk_rng << 13;
  hk_rng ^= hk_rng >> 7;
  hk_rng ^= hk_rng << 17;
  return hk_rng;
}

/* HK_BENCH_VOCAB=zipf: a vocabulary shaped like real notes. Half the
 * words are the particles and common words above (every page has them);
 * the other half come from HK_ZIPF_WORDS content words drawn with
 * Zipf's law (s = 1), made of kanji pairs and katakana, with the
 * clinical words above placed at ranks 20, 80, 140, ... so that a query
 * for one of them matches from about a tenth of the documents down to a
 * few in a thousand, as a drug or a finding does in a real archive.
 * Without it every word is drawn from the 100 above, uniformly: every
 * query matches a tenth of the documents or more, the worst case. */
#define HK_ZIPF_WORDS 20000
static char **hk_zipf_word;
static double *hk_zipf_cdf;

static const char hk_kanji[] = "痛熱咳痰腫瘍炎症状診断治療検査血圧脈拍呼吸循環消化器官肝腎臓"
                               "心肺脳神経骨関節皮膚眼耳鼻喉歯口腔胃腸膵胆嚢尿路性生殖内分泌代謝"
                               "感染免疫薬剤処方点滴注射輸液手術麻酔縫合切開創傷出血貧凝固栄養";
static const char hk_kana[] =
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミ"
    "ムメモヤユヨラリルレロワンガギグゲゴザジズゼゾダデドバビブベボパピプペポ";

static void
hk_zipf_init(void)
{
  const char *const *clinical = hk_words;
  unsigned nclin = 47; /* hk_words up to 疑い: the content words */
  double sum = 0;
  glong nk = g_utf8_strlen(hk_kanji, -1), nkana = g_utf8_strlen(hk_kana, -1);

  hk_zipf_word = g_new0(char *, HK_ZIPF_WORDS);
  hk_zipf_cdf = g_new(double, HK_ZIPF_WORDS);
  for (unsigned r = 0; r < HK_ZIPF_WORDS; r++) {
    GString *w = g_string_new(NULL);
    if (r >= 20 && (r - 20) % 60 == 0 && (r - 20) / 60 < nclin)
      g_string_append(w, clinical[(r - 20) / 60]);
    else if (r % 3 == 0)
      for (unsigned k = 0, n = 3 + (unsigned)(hk_rand() % 4); k < n; k++) {
        const char *c = g_utf8_offset_to_pointer(hk_kana, (glong)(hk_rand() % (guint64)nkana));
        g_string_append_len(w, c, g_utf8_next_char(c) - c);
      }
    else
      for (unsigned k = 0, n = 2 + (unsigned)(hk_rand() % 2); k < n; k++) {
        const char *c = g_utf8_offset_to_pointer(hk_kanji, (glong)(hk_rand() % (guint64)nk));
        g_string_append_len(w, c, g_utf8_next_char(c) - c);
      }
    hk_zipf_word[r] = g_string_free(w, FALSE);
    sum += 1.0 / (r + 1);
    hk_zipf_cdf[r] = sum;
  }
  for (unsigned r = 0; r < HK_ZIPF_WORDS; r++)
    hk_zipf_cdf[r] /= sum;
}

static const char *
hk_zipf_draw(void)
{
  double u = (double)(hk_rand() >> 11) / 9007199254740992.0;
  unsigned lo = 0, hi = HK_ZIPF_WORDS - 1;

  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (hk_zipf_cdf[mid] < u)
      lo = mid + 1;
    else
      hi = mid;
  }
  return hk_zipf_word[lo];
}

/* A page of roughly chars characters. */
static void
hk_page(GString *g, unsigned chars)
{
  glong n = 0;

  g_string_truncate(g, 0);
  while (n < (glong)chars) {
    const char *w;
    gsize before = g->len;
    if (hk_rand() % 9 == 0)
      g_string_append_printf(g, "%u", (unsigned)(hk_rand() % 500));
    if (hk_zipf_cdf && hk_rand() % 2 == 0)
      w = hk_zipf_draw();
    else if (hk_zipf_cdf)
      w = hk_words[47 + hk_rand() % (G_N_ELEMENTS(hk_words) - 47)];
    else
      w = hk_words[hk_rand() % G_N_ELEMENTS(hk_words)];
    g_string_append(g, w);
    if (hk_rand() % 40 == 0)
      g_string_append_c(g, '\n');
    n += g_utf8_strlen(g->str + before, (gssize)(g->len - before));
  }
}

static int
hk_fill(hk_store *s, unsigned docs, uint64_t *text_bytes)
{
  GString *page = g_string_new(NULL);
  hk_txn *t = NULL;
  int ret = 0;

  *text_bytes = 0;
  for (unsigned i = 0; i < docs && ret == 0; i++) {
    HkVersion *v = hk_version_new();
    HkTextInfo info = {.status = HK_TEXT_DONE, .source = HK_TEXT_SOURCE_PDF, .attempts = 1};
    HkTextList l;
    HkTextListReader r;
    GBytes *list;
    uint8_t d[HK_SHA256_LEN];
    char bytes[32];
    unsigned npages = 1 + (unsigned)(hk_rand() % 3);
    bool added;

    if (!t)
      ret = hk_txn_begin(s, true, &t);
    if (ret)
      break;
    g_snprintf(bytes, sizeof bytes, "doc %u", i);
    v->patient_id = g_strdup_printf("P%07u", i / 10);
    v->source_id = g_strdup_printf("BENCH:%u", i);
    v->type = g_strdup("progress_note");
    v->title = g_strdup("経過記録");
    v->content_type = g_strdup("application/pdf");
    /* One document a minute, back from 2026-11-01, in random order. */
    {
      GDateTime *base = g_date_time_new_utc(2026, 11, 1, 0, 0, 0);
      GDateTime *at = g_date_time_add_minutes(base, -(gint)(hk_rand() % (docs + 1)));
      v->created_at = g_date_time_format_iso8601(at);
      g_date_time_unref(at);
      g_date_time_unref(base);
    }
    hk_time_parse(v->created_at, &v->created_usec);
    hk_sha256(bytes, strlen(bytes), d);
    hk_sha256_hex(d, v->sha256);
    v->size = strlen(bytes);
    v->source = g_strdup("/bench");
    ret = hk_store_put_blob(t, v->sha256, bytes, strlen(bytes), NULL);
    if (ret == 0)
      ret = hk_store_add_version(t, v, &added);
    hk_text_list_begin(&l);
    for (unsigned p = 0; p < npages; p++) {
      hk_page(page, 300 + (unsigned)(hk_rand() % 900));
      hk_text_list_add(&l, HK_TEXT_SOURCE_PDF, HK_TEXT_NO_CONFIDENCE, page->str, page->len);
      *text_bytes += page->len;
    }
    list = hk_text_list_end(&l);
    if (ret == 0)
      ret = hk_text_list_decode(g_bytes_get_data(list, NULL), g_bytes_get_size(list), &r);
    info.pages = r.pages;
    if (ret == 0)
      ret = hk_store_put_text(t, v->doc_id, v->version, &info, &r, false);
    g_bytes_unref(list);
    hk_version_free(v);
    if (ret == 0 && (i % 2000 == 1999 || i + 1 == docs)) {
      ret = hk_txn_commit(t);
      t = NULL;
    }
  }
  if (t)
    hk_txn_abort(t);
  g_string_free(page, TRUE);
  return ret;
}

/* Bytes allocated on disk under path (du), and apparent bytes. */
static void
hk_du(const char *path, uint64_t *alloc, uint64_t *apparent)
{
  GDir *d = g_dir_open(path, 0, NULL);
  const char *name;
  struct stat st;

  while (d && (name = g_dir_read_name(d))) {
    char *p = g_build_filename(path, name, NULL);
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
      hk_du(p, alloc, apparent);
    else if (lstat(p, &st) == 0) {
      *alloc += (uint64_t)st.st_blocks * 512;
      *apparent += (uint64_t)st.st_size;
    }
    g_free(p);
  }
  if (d)
    g_dir_close(d);
}

static int
hk_count(const HkFtsHit *h, void *data)
{
  (void)h;
  (*(unsigned *)data)++;
  return 0;
}

static int
hk_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
  const char *const queries[] = {"癌",    "肺炎", "ペニシリン", "ぺにしりん", "造影剤 アレルギー",
                                 "HbA1c", "の",   NULL};
  hk_store *s = NULL;
  hk_fts *f = NULL;
  uint64_t text_bytes = 0, docs = 0, alloc = 0, apparent = 0;
  unsigned n, runs;
  int64_t t0;
  char *search;
  const char *where;
  unsigned across_docs;
  bool only, follow;
  int ret;

  if (argc < 3) {
    fprintf(stderr, "usage: %s DIR DOCS [QUERIES]\n", argv[0]);
    return 2;
  }
  n = (unsigned)atoi(argv[2]);
  if (g_strcmp0(g_getenv("HK_BENCH_VOCAB"), "zipf") == 0)
    hk_zipf_init();
  runs = argc > 3 ? (unsigned)atoi(argv[3]) : 200;
  /* HK_BENCH_QUERIES_ONLY=1: the store and index of an earlier run in
   * DIR (of DOCS documents), queries only. */
  only = g_getenv("HK_BENCH_QUERIES_ONLY") != NULL;
  /* HK_BENCH_WHERE=one, all or plans: only the searches within one
   * patient, or only those across patients (a profile of one kind), or
   * those and each plan forced across patients. */
  where = g_getenv("HK_BENCH_WHERE");
  /* HK_BENCH_LIMIT=N: documents asked for across patients (default 100,
   * the API's largest limit; its default is 20). */
  across_docs = g_getenv("HK_BENCH_LIMIT") ? (unsigned)atoi(g_getenv("HK_BENCH_LIMIT")) : 100;
  if (across_docs < 1 || across_docs > 1000)
    across_docs = 100;
  ret = hk_store_open(argv[1], only ? 0 : HK_STORE_CREATE, &s);
  t0 = g_get_monotonic_time();
  /* HK_BENCH_FOLLOW=1: the index is made empty first and takes the
   * texts as the indexer does (hk_fts_follow, record by record), not by
   * a rebuild. */
  follow = g_getenv("HK_BENCH_FOLLOW") != NULL;
  if (ret == 0 && !only && follow)
    ret = hk_fts_rebuild(s, &docs);
  if (ret == 0 && !only)
    ret = hk_fill(s, n, &text_bytes);
  if (ret) {
    fprintf(stderr, "fill: %s\n", hk_strerror(ret));
    return 1;
  }
  if (!only)
    printf("filled %u documents, %.1f MB of text, in %.1f s\n", n, text_bytes / 1e6,
           (g_get_monotonic_time() - t0) / 1e6);
  t0 = g_get_monotonic_time();
  if (!only && follow) {
    hk_fts *w = NULL;
    unsigned done = 0;
    ret = hk_fts_open(s, true, &w);
    do
      ret = ret ? ret : hk_fts_follow(w, 256, &done);
    while (ret == 0 && done);
    hk_fts_close(w);
    docs = n;
  } else if (!only)
    ret = hk_fts_rebuild(s, &docs);
  /* The writer's open upgrades an index of an older layout in place
   * (what the indexer does when it starts). */
  if (ret == 0 && only) {
    ret = hk_fts_open(s, true, &f);
    hk_fts_close(f);
    f = NULL;
  }
  if (ret == 0)
    ret = hk_fts_open(s, false, &f);
  if (ret) {
    fprintf(stderr, "index: %s %s\n", hk_strerror(ret), hk_fts_reason(f));
    return 1;
  }
  if (!only) {
    printf("indexed %" G_GUINT64_FORMAT " documents in %.1f s\n", docs,
           (g_get_monotonic_time() - t0) / 1e6);
    search = hk_fts_dir(argv[1]);
    hk_du(search, &alloc, &apparent);
    printf("\n| text | index on disk (du) | ratio | apparent size |\n|---|---|---|---|\n");
    printf("| %.1f MB | %.1f MB | %.2f× | %.1f MB |\n", text_bytes / 1e6, alloc / 1e6,
           (double)alloc / (double)text_bytes, apparent / 1e6);
    g_free(search);
  }
  printf("\n| query | where | plan | pages found | p50 ms | p99 ms |\n|---|---|---|---|---|---|\n");
  for (const char *const *q = queries; *q; q++) {
    /* 0: one patient, read from the store (the default for a patient
     * with up to HK_FTS_SCAN_PAGES pages); 1: one patient through the
     * index; 2: across patients; 3: across patients, walking the text;
     * with HK_BENCH_WHERE=plans, 4 and 5: across patients, the index
     * grouped, and the index walked (each plan forced). */
    /* The forced walk reads every document a rare word is not in: not
     * at a scale where that takes minutes. */
    for (int across = 0; across < 6; across++) {
      char where_s[64];
      double *ms;
      if (where && ((strcmp(where, "one") == 0) != (across < 2)))
        continue;
      if ((across == 3 && n > 20000) || (across >= 4 && g_strcmp0(where, "plans") != 0))
        continue;
      ms = g_new(double, runs);
      HkFtsQuery *pq = NULL;
      char *msg = NULL;
      unsigned hits = 0;
      if (hk_fts_query_parse(*q, &pq, &msg) != 0)
        return 1;
      for (unsigned i = 0; i < runs; i++) {
        char pid[16];
        int64_t a;
        g_snprintf(pid, sizeof pid, "P%07u", (unsigned)(hk_rand() % MAX(n / 10, 1)));
        hits = 0;
        hk_fts_set_plan(f, across == 1 || across == 4 ? HK_FTS_PLAN_INDEX
                           : across == 5              ? HK_FTS_PLAN_INDEX_WALK
                           : across == 3              ? HK_FTS_PLAN_STORE
                                                      : HK_FTS_PLAN_AUTO);
        a = g_get_monotonic_time();
        if (hk_fts_search(f, across >= 2 ? NULL : pid, pq, across >= 2 ? across_docs : 1000,
                          hk_count, &hits) != 0)
          return 1;
        ms[i] = (g_get_monotonic_time() - a) / 1e3;
      }
      qsort(ms, runs, sizeof *ms, hk_cmp_double);
      g_snprintf(where_s, sizeof where_s, "%s",
                 across == 1 ? "one patient, index" : "one patient, auto");
      if (across >= 2)
        g_snprintf(where_s, sizeof where_s, "all (%u docs), %s", across_docs,
                   across == 3   ? "walk"
                   : across == 4 ? "index forced"
                   : across == 5 ? "index walk forced"
                                 : "auto");
      printf("| %s | %s | %s | %u | %.2f | %.2f |\n", *q, where_s,
             hk_fts_last_plan(f) == HK_FTS_PLAN_STORE        ? "store"
             : hk_fts_last_plan(f) == HK_FTS_PLAN_INDEX_WALK ? "index, walk"
                                                             : "index",
             hits, ms[runs / 2], ms[(runs * 99) / 100]);
      hk_fts_query_free(pq);
      g_free(ms);
    }
  }
  hk_fts_close(f);
  hk_store_close(s);
  return 0;
}

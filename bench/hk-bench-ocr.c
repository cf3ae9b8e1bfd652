/* hk-bench-ocr: helper of bench/ocr and of tests/samples/test-ocr-scans.sh.
 *
 * Mode "cer" compares, for every known-text scan of a hikae-samples
 * manifest (the document lines that carry "text"), that text with what
 * hikae stored for the scan's current version (the store opened read-only)
 * and, with --peer, with a peer's OCR of the same images: a file of pages
 * separated by form feeds, in manifest order, as `tesseract LIST OUT`
 * writes it. It prints one tab-separated line per scan:
 *
 *   path dpi tilt status confidence ref_chars hikae_edits peer_edits
 *        ref_chars_nfkc hikae_edits_nfkc peer_edits_nfkc
 *
 * where edits is the Levenshtein distance over characters (code points)
 * after every white-space character is removed on both sides (OCR's line
 * breaks and the spaces it puts between Japanese characters are not the
 * text), and _nfkc the same after NFKC on both sides (full-width and
 * half-width forms then count as one, as the search index folds them).
 * peer_edits is -1 without --peer; hikae_edits is -1 when the store holds
 * no text for the scan (its status says why).
 *
 *   hk-bench-ocr cer --manifest FILE --store DIR [--peer FILE]
 *
 * Mode "grep" prints the source_id of every document whose current
 * version's stored text holds TERM (byte for byte), in source order.
 *
 *   hk-bench-ocr grep --store DIR TERM
 *
 * Exit 0, 1 on a failure (named on stderr), 2 on a usage error. */
#include "hk-error.h"
#include "hk-store.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

/* A manifest line is a few kB; a page of OCR text is within the store's
 * page limit. These bound what a damaged input can make us hold. */
#define HK_BENCH_MAX_CHARS (HK_TEXT_PAGE_MAX)

/* The text of s without white space, NFKC-normalized if nfkc, as code
 * points; *n is their count. */
static gunichar *
hk_chars(const char *s, gsize len, gboolean nfkc, glong *n)
{
  char *norm = nfkc ? g_utf8_normalize(s, (gssize)len, G_NORMALIZE_NFKC) : g_strndup(s, len);
  gunichar *all = g_utf8_to_ucs4_fast(norm ? norm : "", -1, n);
  glong k = 0;

  for (glong i = 0; i < *n; i++)
    if (!g_unichar_isspace(all[i]))
      all[k++] = all[i];
  *n = k;
  g_free(norm);
  return all;
}

/* Levenshtein distance of a and b (two rows, O(na * nb) time). */
static glong
hk_edits(const gunichar *a, glong na, const gunichar *b, glong nb)
{
  glong *prev = g_new(glong, nb + 1), *cur = g_new(glong, nb + 1), d;

  for (glong j = 0; j <= nb; j++)
    prev[j] = j;
  for (glong i = 1; i <= na; i++) {
    glong *t;
    cur[0] = i;
    for (glong j = 1; j <= nb; j++) {
      glong best = prev[j - 1] + (a[i - 1] != b[j - 1]);
      best = MIN(best, prev[j] + 1);
      best = MIN(best, cur[j - 1] + 1);
      cur[j] = best;
    }
    t = prev;
    prev = cur;
    cur = t;
  }
  d = prev[nb];
  g_free(prev);
  g_free(cur);
  return d;
}

/* Edits from ref to hyp (or -1 if hyp is NULL), and ref's length. */
static glong
hk_compare(const char *ref, const char *hyp, gsize hyp_len, gboolean nfkc, glong *ref_chars)
{
  glong nr, nh, d = -1;
  gunichar *r = hk_chars(ref, strlen(ref), nfkc, &nr);

  *ref_chars = nr;
  if (hyp) {
    gunichar *h = hk_chars(hyp, hyp_len, nfkc, &nh);
    d = hk_edits(r, MIN(nr, HK_BENCH_MAX_CHARS), h, MIN(nh, HK_BENCH_MAX_CHARS));
    g_free(h);
  }
  g_free(r);
  return d;
}

/* The stored text of the current version of doc_id, pages joined by a
 * newline, its status record and the first page's OCR confidence (0-100,
 * or -1). -HK_ENOTFOUND if none is stored. */
static int
hk_stored_text(hk_txn *t, const char *doc_id, HkTextInfo *info, GString *out, double *conf)
{
  HkVersion *v = NULL;
  HkTextPage page;
  int ret;

  g_string_truncate(out, 0);
  *conf = -1;
  ret = hk_store_get_version(t, doc_id, 0, &v);
  if (ret < 0)
    goto out;
  ret = hk_store_get_text(t, doc_id, v->version, info);
  if (ret < 0)
    goto out;
  for (uint32_t p = 1; p <= info->pages; p++) {
    ret = hk_store_get_text_page(t, doc_id, v->version, p, &page);
    if (ret < 0)
      goto out;
    if (p > 1)
      g_string_append_c(out, '\n');
    else if (page.confidence != HK_TEXT_NO_CONFIDENCE)
      *conf = page.confidence / 100.0;
    g_string_append_len(out, page.text.p, page.text.len);
  }
out:
  hk_version_free(v);
  return ret;
}

/* One text per form feed of the peer's output. */
static char **
hk_peer_pages(const char *path, guint *n)
{
  char *all = NULL;
  char **pages = NULL;
  GError *err = NULL;

  if (!g_file_get_contents(path, &all, NULL, &err)) {
    fprintf(stderr, "hk-bench-ocr: cannot read %s: %s\n", path, err->message);
    g_error_free(err);
    goto out;
  }
  pages = g_strsplit(all, "\f", -1);
  *n = g_strv_length(pages);
out:
  g_free(all);
  return pages;
}

static int
hk_cer(const char *manifest, const char *store_dir, const char *peer)
{
  hk_store *s = NULL;
  hk_txn *t = NULL;
  char **peer_pages = NULL;
  guint n_peer = 0, scan = 0;
  GString *stored = g_string_new(NULL);
  GIOChannel *in = NULL;
  GError *err = NULL;
  char *line = NULL;
  int ret;

  ret = hk_store_open(store_dir, HK_STORE_RDONLY, &s);
  if (ret < 0) {
    fprintf(stderr, "hk-bench-ocr: cannot open the store %s: %s\n", store_dir, hk_strerror(ret));
    goto out;
  }
  ret = hk_txn_begin(s, false, &t);
  if (ret < 0)
    goto out;
  if (peer) {
    peer_pages = hk_peer_pages(peer, &n_peer);
    if (!peer_pages) {
      ret = -HK_EIO;
      goto out;
    }
  }
  in = g_io_channel_new_file(manifest, "r", &err);
  if (!in) {
    fprintf(stderr, "hk-bench-ocr: cannot read %s: %s\n", manifest, err->message);
    ret = -HK_EIO;
    goto out;
  }
  while (g_io_channel_read_line(in, &line, NULL, NULL, &err) == G_IO_STATUS_NORMAL) {
    JsonParser *jp = json_parser_new();
    JsonObject *o;
    const char *text, *sid, *path;
    char doc_id[HK_DOC_ID_LEN + 1];
    HkTextInfo info = {0};
    double conf = -1;
    glong ref_raw, ref_nfkc, hk_raw = -1, hk_nfkc = -1, peer_raw = -1, peer_nfkc = -1;
    const char *hyp_peer = NULL;
    gboolean have = FALSE;

    if (!json_parser_load_from_data(jp, line, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
      fprintf(stderr, "hk-bench-ocr: %s: a line is not a JSON object\n", manifest);
      ret = -HK_EINVAL;
      g_object_unref(jp);
      goto out;
    }
    o = json_node_get_object(json_parser_get_root(jp));
    text = json_object_get_string_member_with_default(o, "text", NULL);
    /* The summary counts text documents in its own "text". */
    if (!text ||
        g_strcmp0(json_object_get_string_member_with_default(o, "record", NULL), "document")) {
      g_object_unref(jp);
      g_clear_pointer(&line, g_free);
      continue;
    }
    sid = json_object_get_string_member_with_default(o, "source_id", "");
    path = json_object_get_string_member_with_default(o, "path", "");
    if (hk_store_find_source(t, sid, doc_id) == 0 &&
        hk_stored_text(t, doc_id, &info, stored, &conf) == 0)
      have = info.status == HK_TEXT_DONE;
    else
      info.status = HK_TEXT_PENDING;
    if (peer_pages && scan < n_peer)
      hyp_peer = peer_pages[scan];
    hk_raw = hk_compare(text, have ? stored->str : NULL, stored->len, FALSE, &ref_raw);
    hk_nfkc = hk_compare(text, have ? stored->str : NULL, stored->len, TRUE, &ref_nfkc);
    if (hyp_peer) {
      peer_raw = hk_compare(text, hyp_peer, strlen(hyp_peer), FALSE, &ref_raw);
      peer_nfkc = hk_compare(text, hyp_peer, strlen(hyp_peer), TRUE, &ref_nfkc);
    }
    printf("%s\t%" G_GINT64_FORMAT "\t%.2f\t%s\t%.2f\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\n", path,
           json_object_get_int_member_with_default(o, "dpi", 0),
           json_object_get_double_member_with_default(o, "tilt", 0),
           hk_text_status_name(info.status), conf, ref_raw, hk_raw, peer_raw, ref_nfkc, hk_nfkc,
           peer_nfkc);
    scan++;
    g_object_unref(jp);
    g_clear_pointer(&line, g_free);
  }
  if (err) {
    fprintf(stderr, "hk-bench-ocr: cannot read %s: %s\n", manifest, err->message);
    ret = -HK_EIO;
    goto out;
  }
  if (peer_pages && n_peer < scan) {
    fprintf(stderr, "hk-bench-ocr: %s has %u pages for %u scans\n", peer, n_peer, scan);
    ret = -HK_EINVAL;
  }
out:
  g_free(line);
  if (err)
    g_error_free(err);
  if (in)
    g_io_channel_unref(in);
  g_strfreev(peer_pages);
  g_string_free(stored, TRUE);
  hk_txn_abort(t);
  hk_store_close(s);
  return ret;
}

typedef struct {
  hk_txn *t;
  const char *term;
  GString *text;
} HkGrep;

static int
hk_grep_one(const char *source_name, const char *source_id, const char *doc_id, void *data)
{
  HkGrep *g = data;
  HkTextInfo info;
  double conf;

  (void)source_name;
  if (hk_stored_text(g->t, doc_id, &info, g->text, &conf) == 0 && strstr(g->text->str, g->term))
    printf("%s\n", source_id);
  return 0;
}

static int
hk_grep(const char *store_dir, const char *term)
{
  hk_store *s = NULL;
  HkGrep g = {.term = term, .text = g_string_new(NULL)};
  int ret;

  ret = hk_store_open(store_dir, HK_STORE_RDONLY, &s);
  if (ret < 0) {
    fprintf(stderr, "hk-bench-ocr: cannot open the store %s: %s\n", store_dir, hk_strerror(ret));
    goto out;
  }
  ret = hk_txn_begin(s, false, &g.t);
  if (ret < 0)
    goto out;
  ret = hk_store_foreach_source(g.t, hk_grep_one, &g);
out:
  hk_txn_abort(g.t);
  hk_store_close(s);
  g_string_free(g.text, TRUE);
  return ret;
}

int
main(int argc, char **argv)
{
  const char *manifest = NULL, *store = NULL, *peer = NULL, *term = NULL;
  int rc = 2;

  if (argc < 2)
    goto usage;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--manifest") == 0 && i + 1 < argc)
      manifest = argv[++i];
    else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
      store = argv[++i];
    else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
      peer = argv[++i];
    else if (argv[i][0] != '-' && !term)
      term = argv[i];
    else
      goto usage;
  }
  if (strcmp(argv[1], "cer") == 0 && manifest && store && !term)
    rc = hk_cer(manifest, store, peer) < 0 ? 1 : 0;
  else if (strcmp(argv[1], "grep") == 0 && store && term && *term && !manifest && !peer)
    rc = hk_grep(store, term) < 0 ? 1 : 0;
  else
    goto usage;
  goto out;
usage:
  fprintf(stderr, "usage: hk-bench-ocr cer --manifest FILE --store DIR [--peer FILE]\n"
                  "       hk-bench-ocr grep --store DIR TERM\n");
out:
  return rc;
}

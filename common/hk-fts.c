/* hk-fts.c: opening the full-text index and searching it. The writer's
 * side is hk-fts-write.c; docs/search.md ("Index") has the layout. */
#include "hk-fts-private.h"

#include "hk-error.h"
#include "hk-log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct HkFtsQuery {
  GPtrArray *terms; /* char*, as written */
};

/* ---- process-wide start ---- */

static gsize hk_fts_inited;

void
hk_fts_global_init(void)
{
  if (g_once_init_enter(&hk_fts_inited)) {
    /* Groonga logs to a compiled-in path by default: not a file of ours,
     * and in the hardened units not writable anyway. Errors reach our log
     * through hk_fts_reason. */
    grn_default_logger_set_max_level(GRN_LOG_NONE);
    grn_default_logger_set_path(NULL);
    grn_default_query_logger_set_path(NULL);
    grn_init();
    g_once_init_leave(&hk_fts_inited, 1);
  }
}

int
hk_fts_fail(hk_fts *f, int err, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  g_vsnprintf(f->reason, sizeof f->reason, fmt, ap);
  va_end(ap);
  return err;
}

const char *
hk_fts_reason(const hk_fts *f)
{
  return f ? f->reason : "";
}

char *
hk_fts_dir(const char *store_dir)
{
  return g_build_filename(store_dir, "search", NULL);
}

static bool
hk_fts_gen_valid(const char *gen)
{
  size_t n = strlen(gen);

  if (n < 5 || n >= HK_FTS_GEN_MAX || strncmp(gen, "gen-", 4) != 0)
    return false;
  for (size_t i = 4; i < n; i++)
    if (!g_ascii_isxdigit(gen[i]) && gen[i] != '-')
      return false;
  return true;
}

int
hk_fts_read_current(const char *dir, char gen[HK_FTS_GEN_MAX])
{
  char *path = g_build_filename(dir, HK_FTS_CURRENT, NULL);
  ssize_t n = 0;
  int fd, ret = 0;

  gen[0] = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    ret = errno == ENOENT ? -HK_ENOTFOUND : hk_err_from_errno(errno);
    goto out;
  }
  n = read(fd, gen, HK_FTS_GEN_MAX - 1);
  close(fd);
  if (n < 0) {
    ret = hk_err_from_errno(errno);
    n = 0;
  }
  while (n > 0 && (gen[n - 1] == '\n' || gen[n - 1] == ' '))
    n--;
  gen[n] = 0;
  if (ret == 0 && !hk_fts_gen_valid(gen))
    ret = -HK_ECORRUPT;
out:
  g_free(path);
  return ret;
}

void
hk_fts_meta_get(hk_fts *f, const char *key, char *buf, size_t cap)
{
  grn_id id = grn_table_get(&f->ctx, f->meta, key, (unsigned)strlen(key));
  grn_obj v;

  buf[0] = 0;
  if (id == GRN_ID_NIL)
    return;
  GRN_TEXT_INIT(&v, 0);
  grn_obj_get_value(&f->ctx, f->m_value, id, &v);
  g_snprintf(buf, cap, "%.*s", (int)GRN_TEXT_LEN(&v), GRN_TEXT_VALUE(&v));
  GRN_OBJ_FIN(&f->ctx, &v);
}

void
hk_fts_close_gen(hk_fts *f)
{
  if (f->db) {
    grn_obj_close(&f->ctx, f->db);
    f->db = NULL;
  }
  f->gen[0] = 0;
}

static grn_obj *
hk_fts_obj(hk_fts *f, const char *name)
{
  return grn_ctx_get(&f->ctx, name, (int)strlen(name));
}

/* Check the generation open in f against its store: the identity, and
 * that it is not ahead of the store's text sequence (a copy of the index
 * from a later state of the store, or from another one). */
static int
hk_fts_check_store(hk_fts *f)
{
  char want[HK_STORE_ID_MAX + 1] = "", have[HK_STORE_ID_MAX + 1], buf[32];
  uint64_t seq = 0, through;
  hk_txn *t = NULL;
  int ret = hk_txn_begin(f->store, false, &t);

  if (ret == 0)
    ret = hk_store_get_id(t, want);
  if (ret == -HK_ENOTFOUND)
    ret = 0; /* a store no writer has opened since identities: none to compare */
  if (ret == 0)
    ret = hk_store_text_seq(t, &seq);
  if (t)
    hk_txn_abort(t);
  if (ret) {
    ret = hk_fts_fail(f, ret, "the store could not be read: %s", hk_strerror(ret));
    goto out;
  }
  hk_fts_meta_get(f, "store_id", have, sizeof have);
  if (want[0] && strcmp(want, have) != 0) {
    ret = hk_fts_fail(f, -HK_ECORRUPT,
                      "the search index belongs to another store (%s, not %s): "
                      "run hikae-admin reindex",
                      have[0] ? have : "none", want);
    goto out;
  }
  hk_fts_meta_get(f, "through", buf, sizeof buf);
  through = g_ascii_strtoull(buf, NULL, 10);
  if (through > seq)
    ret = hk_fts_fail(f, -HK_ECORRUPT,
                      "the search index is ahead of the store (text %" G_GUINT64_FORMAT
                      ", store %" G_GUINT64_FORMAT "): it was built from another copy; "
                      "run hikae-admin reindex",
                      through, seq);
out:
  return ret;
}

int
hk_fts_open_gen(hk_fts *f, const char *gen)
{
  char *path = g_build_filename(f->dir, gen, HK_FTS_DB, NULL);
  char layout[16];
  int ret = 0;

  hk_fts_close_gen(f);
  if (access(path, F_OK) != 0) {
    ret = hk_fts_fail(f, errno == ENOENT ? -HK_ENOTFOUND : hk_err_from_errno(errno),
                      "search index %s: %s", gen, g_strerror(errno));
    goto out;
  }
  /* Groonga opens every file read-write, even to read: say so, rather
   * than let it fail half-way through the files. */
  if (access(path, R_OK | W_OK) != 0) {
    ret = hk_fts_fail(f, -HK_EPERM,
                      "search index %s: %s (Groonga opens its files read-write; "
                      "docs/search.md, \"Index\")",
                      gen, g_strerror(errno));
    goto out;
  }
  f->db = grn_db_open(&f->ctx, path);
  if (!f->db || f->ctx.rc != GRN_SUCCESS) {
    ret = hk_fts_fail(f, f->ctx.rc == GRN_PERMISSION_DENIED ? -HK_EPERM : -HK_ECORRUPT,
                      "search index %s does not open: %s", gen, f->ctx.errbuf);
    if (f->db)
      grn_obj_close(&f->ctx, f->db);
    f->db = NULL;
    goto out;
  }
  if (f->writable && grn_db_recover(&f->ctx, f->db) != GRN_SUCCESS) {
    ret =
        hk_fts_fail(f, -HK_ECORRUPT, "search index %s cannot be recovered: %s", gen, f->ctx.errbuf);
    goto out;
  }
  f->meta = hk_fts_obj(f, "Meta");
  f->m_value = hk_fts_obj(f, "Meta.value");
  f->patients = hk_fts_obj(f, "Patients");
  f->docs = hk_fts_obj(f, "Docs");
  f->d_version = hk_fts_obj(f, "Docs.version");
  f->d_created = hk_fts_obj(f, "Docs.created");
  f->d_patient = hk_fts_obj(f, "Docs.patient");
  f->d_first = hk_fts_obj(f, "Docs.first");
  f->d_pages = hk_fts_obj(f, "Docs.pages");
  f->created = hk_fts_obj(f, "Created");
  f->c_docs = hk_fts_obj(f, "Created.docs");
  f->pages = hk_fts_obj(f, "Pages");
  f->p_doc = hk_fts_obj(f, "Pages.doc");
  f->terms = hk_fts_obj(f, "Terms");
  /* A rebuild opens its generation before the postings exist: it loads
   * the text into Pages.text first. */
  f->body = hk_fts_obj(f, "Terms.body");
  f->p_text = hk_fts_obj(f, "Pages.text");
  if (!f->meta || !f->m_value) {
    ret = hk_fts_fail(f, -HK_ECORRUPT, "search index %s lacks a table or column", gen);
    goto out;
  }
  hk_fts_meta_get(f, "layout", layout, sizeof layout);
  /* The writer upgrades layout 2 (the indexer opens its index when it
   * starts); a reader waits for it. */
  if (f->writable && strcmp(layout, HK_FTS_LAYOUT_UPGRADABLE) == 0) {
    hk_info("search index %s: upgrading layout " HK_FTS_LAYOUT_UPGRADABLE " to " HK_FTS_LAYOUT,
            gen);
    ret = hk_fts_upgrade(f);
    if (ret)
      goto out;
    g_strlcpy(layout, HK_FTS_LAYOUT, sizeof layout);
    f->created = hk_fts_obj(f, "Created");
    f->c_docs = hk_fts_obj(f, "Created.docs");
  }
  if (strcmp(layout, HK_FTS_LAYOUT_UPGRADABLE) == 0) {
    ret = hk_fts_fail(f, -HK_ECORRUPT,
                      "search index %s has layout " HK_FTS_LAYOUT_UPGRADABLE
                      ": the indexer upgrades it when it starts",
                      gen);
    goto out;
  }
  if (strcmp(layout, HK_FTS_LAYOUT) != 0) {
    ret = hk_fts_fail(f, -HK_ECORRUPT,
                      "search index %s has layout %s, not " HK_FTS_LAYOUT
                      " (an older hikae's): run hikae-admin reindex",
                      gen, layout[0] ? layout : "1");
    goto out;
  }
  if (!f->patients || !f->docs || !f->d_version || !f->d_created || !f->d_patient || !f->d_first ||
      !f->d_pages || !f->created || !f->c_docs || !f->pages || !f->p_doc || !f->terms ||
      (!f->body && !f->p_text)) {
    ret = hk_fts_fail(f, -HK_ECORRUPT, "search index %s lacks a table or column", gen);
    goto out;
  }
  g_strlcpy(f->gen, gen, sizeof f->gen);
  ret = hk_fts_check_store(f);
out:
  if (ret)
    hk_fts_close_gen(f);
  g_free(path);
  return ret;
}

int
hk_fts_open(hk_store *s, bool writable, hk_fts **out)
{
  hk_fts *f = g_new0(hk_fts, 1);
  char gen[HK_FTS_GEN_MAX];
  int ret;

  hk_fts_global_init();
  f->store = s;
  f->writable = writable;
  f->dir = hk_fts_dir(hk_store_dir(s));
  grn_ctx_init(&f->ctx, 0);
  f->ctx_init = true;
  ret = hk_fts_read_current(f->dir, gen);
  if (ret == -HK_ENOTFOUND)
    hk_fts_fail(f, ret, "no search index (run hikae-admin reindex, or start the indexer)");
  else if (ret)
    hk_fts_fail(f, ret, "%s/%s does not name a generation", f->dir, HK_FTS_CURRENT);
  if (ret == 0)
    ret = hk_fts_open_gen(f, gen);
  if (ret) {
    hk_fts_close(f);
    f = NULL;
  }
  *out = f;
  return ret;
}

void
hk_fts_close(hk_fts *f)
{
  if (!f)
    return;
  /* A writer that deferred its flush still flushes what it wrote. */
  if (f->db && f->writable && f->unflushed)
    hk_fts_flush(f);
  hk_fts_close_gen(f);
  if (f->ctx_init)
    grn_ctx_fin(&f->ctx);
  g_free(f->dir);
  g_free(f);
}

void
hk_fts_set_plan(hk_fts *f, HkFtsPlan plan)
{
  f->plan = plan;
}

HkFtsPlan
hk_fts_last_plan(const hk_fts *f)
{
  return f->last;
}

/* Reopen f if a rebuild made another generation current. */
static int
hk_fts_refresh(hk_fts *f)
{
  char gen[HK_FTS_GEN_MAX];
  int ret = hk_fts_read_current(f->dir, gen);

  if (ret)
    ret = hk_fts_fail(f, ret, "the search index is gone (%s)", hk_strerror(ret));
  else if (!f->db || strcmp(gen, f->gen) != 0)
    ret = hk_fts_open_gen(f, gen);
  return ret;
}

int
hk_fts_through(hk_fts *f, uint64_t *through)
{
  char buf[32];
  int ret = hk_fts_refresh(f);

  *through = 0;
  if (ret == 0) {
    hk_fts_meta_get(f, "through", buf, sizeof buf);
    *through = g_ascii_strtoull(buf, NULL, 10);
  }
  return ret;
}

/* ---- queries ---- */

static bool
hk_fts_is_space(gunichar c)
{
  return c == 0x3000 || g_unichar_isspace(c);
}

int
hk_fts_query_parse(const char *text, HkFtsQuery **out, char **message)
{
  HkFtsQuery *q = NULL;
  GString *term = g_string_new(NULL);
  const char *p;
  long chars = 0;
  int ret = 0;

  *out = NULL;
  *message = NULL;
  if (!text || !g_utf8_validate(text, -1, NULL)) {
    *message = g_strdup("the query is not UTF-8");
    ret = -HK_EINVAL;
    goto out;
  }
  q = g_new0(HkFtsQuery, 1);
  q->terms = g_ptr_array_new_with_free_func(g_free);
  for (p = text;; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (c == 0 || hk_fts_is_space(c)) {
      if (term->len && q->terms->len == HK_FTS_TERMS_MAX) {
        *message = g_strdup_printf("the query has more than %d words", HK_FTS_TERMS_MAX);
        ret = -HK_EINVAL;
        goto out;
      }
      if (term->len) {
        g_ptr_array_add(q->terms, g_strdup(term->str));
        g_string_truncate(term, 0);
      }
      if (c == 0)
        break;
      continue;
    }
    if (g_unichar_iscntrl(c) || c == 0xFFFD || g_unichar_type(c) == G_UNICODE_FORMAT) {
      *message = g_strdup("the query holds a control character");
      ret = -HK_EINVAL;
      goto out;
    }
    g_string_append_unichar(term, c);
    chars++;
  }
  /* Counted without the spaces around the words; those between them
   * count, as the user typed them. */
  if (q->terms->len) {
    const char *first = text, *last = text + strlen(text);
    while (*first && hk_fts_is_space(g_utf8_get_char(first)))
      first = g_utf8_next_char(first);
    while (last > first && hk_fts_is_space(g_utf8_get_char(g_utf8_prev_char(last))))
      last = g_utf8_prev_char(last);
    chars = g_utf8_strlen(first, last - first);
  }
  if (q->terms->len == 0) {
    *message = g_strdup("the query is empty");
    ret = -HK_EINVAL;
  } else if (chars > HK_FTS_QUERY_MAX) {
    *message = g_strdup_printf("the query is longer than %d characters", HK_FTS_QUERY_MAX);
    ret = -HK_EINVAL;
  }
out:
  g_string_free(term, TRUE);
  if (ret) {
    hk_fts_query_free(q);
    q = NULL;
  }
  *out = q;
  return ret;
}

void
hk_fts_query_free(HkFtsQuery *q)
{
  if (!q)
    return;
  g_ptr_array_unref(q->terms);
  g_free(q);
}

unsigned
hk_fts_query_terms(const HkFtsQuery *q)
{
  return q->terms->len;
}

const char *
hk_fts_query_term(const HkFtsQuery *q, unsigned i)
{
  return i < q->terms->len ? g_ptr_array_index(q->terms, i) : NULL;
}

/* ---- search ---- */

/* One term, normalised as the lexicon normalises (for the marks), and as
 * the user wrote it (borrowed from the query). */
typedef struct {
  char *norm;
  size_t len;
  const char *raw;
} HkFtsTerm;

/* Normalise s as the lexicon does, blanks removed. *checks (may be NULL)
 * receives how many bytes of s each byte of the result stands for. */
static char *
hk_fts_normalize(hk_fts *f, const char *s, size_t len, size_t *out_len, GArray **checks)
{
  grn_obj *str = grn_string_open(&f->ctx, s, (unsigned)len, f->terms,
                                 GRN_STRING_REMOVE_BLANK | (checks ? GRN_STRING_WITH_CHECKS : 0));
  const char *n = NULL;
  unsigned nl = 0, nc = 0;
  char *res = NULL;

  if (!str)
    goto out;
  grn_string_get_normalized(&f->ctx, str, &n, &nl, &nc);
  res = g_strndup(n ? n : "", nl);
  *out_len = nl;
  if (checks) {
    const int16_t *c = grn_string_get_checks(&f->ctx, str);
    *checks = g_array_sized_new(FALSE, TRUE, sizeof(int16_t), nl);
    if (c)
      g_array_append_vals(*checks, c, nl);
    else
      g_array_set_size(*checks, nl);
  }
  grn_obj_close(&f->ctx, str);
out:
  return res;
}

typedef struct {
  size_t start, end; /* bytes of the original text */
} HkFtsRange;

static gint
hk_fts_range_cmp(gconstpointer a, gconstpointer b)
{
  const HkFtsRange *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/* The matches of the terms in text, as byte ranges of text, in order. */
static GArray *
hk_fts_find(hk_fts *f, const char *text, size_t len, const HkFtsTerm *terms, unsigned nterms)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(HkFtsRange));
  GArray *checks = NULL;
  size_t nl = 0;
  char *norm = hk_fts_normalize(f, text, len, &nl, &checks);
  size_t *orig = NULL;

  if (!norm)
    goto out;
  /* orig[i]: the byte of text where normalised byte i begins. */
  orig = g_new(size_t, nl + 1);
  orig[0] = 0;
  for (size_t i = 0; i < nl; i++) {
    int16_t c = g_array_index(checks, int16_t, i);
    orig[i + 1] = MIN(orig[i] + (size_t)MAX(c, 0), len);
  }
  for (unsigned t = 0; t < nterms; t++) {
    const char *hay = norm;
    if (terms[t].len == 0)
      continue;
    while ((hay = memmem(hay, nl - (size_t)(hay - norm), terms[t].norm, terms[t].len))) {
      size_t at = (size_t)(hay - norm);
      HkFtsRange r = {orig[at], orig[at + terms[t].len]};
      /* A blank the normaliser dropped is counted with the character
       * after it: the mark starts at the character. */
      while (r.start < r.end && g_ascii_isspace(text[r.start]))
        r.start++;
      if (r.end > r.start)
        g_array_append_val(out, r);
      hay = g_utf8_next_char(hay);
      if (hay >= norm + nl)
        break;
    }
  }
  g_array_sort(out, hk_fts_range_cmp);
out:
  g_free(orig);
  g_free(norm);
  if (checks)
    g_array_unref(checks);
  return out;
}

int
hk_fts_match_ranges(hk_fts *f, const HkFtsQuery *q, const char *text, size_t len, GArray **out)
{
  unsigned n = q ? q->terms->len : 0;
  HkFtsTerm *terms = g_new0(HkFtsTerm, MAX(n, 1));
  GArray *ranges = NULL;
  int ret = hk_fts_refresh(f);

  *out = g_array_new(FALSE, FALSE, sizeof(unsigned[2]));
  for (unsigned i = 0; ret == 0 && i < n; i++) {
    const char *term = g_ptr_array_index(q->terms, i);
    terms[i].norm = hk_fts_normalize(f, term, strlen(term), &terms[i].len, NULL);
    if (!terms[i].norm)
      ret = -HK_ENOMEM;
  }
  if (ret == 0)
    ranges = hk_fts_find(f, text, len, terms, n);
  for (unsigned i = 0; ranges && i < ranges->len; i++) {
    const HkFtsRange *r = &g_array_index(ranges, HkFtsRange, i);
    unsigned m[2] = {(unsigned)g_utf8_pointer_to_offset(text, text + r->start),
                     (unsigned)g_utf8_pointer_to_offset(text + r->start, text + r->end)};
    /* Overlapping matches merge, as the snippet's marks do. */
    if ((*out)->len) {
      unsigned *last = (unsigned *)(void *)(*out)->data + 2 * ((*out)->len - 1);
      if (m[0] <= last[0] + last[1]) {
        last[1] = MAX(last[0] + last[1], m[0] + m[1]) - last[0];
        continue;
      }
    }
    g_array_append_vals(*out, m, 1);
  }
  if (ranges)
    g_array_unref(ranges);
  for (unsigned i = 0; i < n; i++)
    g_free(terms[i].norm);
  g_free(terms);
  return ret;
}

typedef struct {
  unsigned m[2];
} HkFtsMark;

typedef struct {
  char *snippet;
  GArray *marks; /* HkFtsMark */
} HkFtsSnippet;

/* How much of text surely holds the first match: up to the end of the
 * first place where a term is spelt as written or as normalised (the
 * normaliser maps that spelling to the term wherever it stands), and
 * on to the end of its line, so that no sequence the normaliser joins
 * is cut. len when no spelling is found as it is (another kana or
 * width form: the whole text is normalised). */
static size_t
hk_fts_first_cut(const char *text, size_t len, const HkFtsTerm *terms, unsigned nterms)
{
  size_t cut = len;

  for (unsigned t = 0; t < nterms; t++) {
    const char *sp[2] = {terms[t].norm, terms[t].raw};
    size_t sl[2] = {terms[t].len, terms[t].raw ? strlen(terms[t].raw) : 0};
    for (unsigned k = 0; k < 2; k++) {
      const char *at = sl[k] ? memmem(text, len, sp[k], sl[k]) : NULL;
      if (at)
        cut = MIN(cut, (size_t)(at - text) + sl[k]);
    }
  }
  while (cut < len && text[cut] != '\n')
    cut++;
  return cut;
}

/* The snippet of a page's text around its first match, with the marks of
 * every match inside it (code points). Normalising a page costs more
 * than the rest of a search's answer: only the text up to the first
 * match is normalised to find it, and the snippet's own text for the
 * marks. */
static void
hk_fts_snippet(hk_fts *f, const char *text, size_t len, const HkFtsTerm *terms, unsigned nterms,
               HkFtsSnippet *out)
{
  size_t cut = hk_fts_first_cut(text, len, terms, nterms);
  GArray *ranges = hk_fts_find(f, text, cut, terms, nterms), *marks = NULL;
  const char *from, *to;
  long first = 0, lead, total;

  /* A spelling found that the normaliser read otherwise in its context:
   * the whole text, as without the cut. */
  if (ranges->len == 0 && cut < len) {
    g_array_unref(ranges);
    cut = len;
    ranges = hk_fts_find(f, text, len, terms, nterms);
  }
  out->marks = g_array_new(FALSE, FALSE, sizeof(HkFtsMark));
  if (ranges->len)
    first = g_utf8_pointer_to_offset(text, text + g_array_index(ranges, HkFtsRange, 0).start);
  lead = MAX(first - HK_FTS_SNIPPET_BEFORE, 0);
  total = g_utf8_strlen(text, (gssize)len);
  from = g_utf8_offset_to_pointer(text, lead);
  to = g_utf8_offset_to_pointer(from, MIN(total - lead, HK_FTS_SNIPPET_MAX));
  out->snippet = g_strndup(from, (gsize)(to - from));
  /* Keep the snippet on one line; one character for one, so the marks
   * stay where they are. */
  for (char *p = out->snippet; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t')
      *p = ' ';
  /* The marks: from what was normalised if it covers the snippet, else
   * from the snippet's text (ranges relative to from). */
  if (cut < (size_t)(to - text)) {
    marks = hk_fts_find(f, from, (size_t)(to - from), terms, nterms);
    for (unsigned i = 0; i < marks->len; i++) {
      g_array_index(marks, HkFtsRange, i).start += (size_t)(from - text);
      g_array_index(marks, HkFtsRange, i).end += (size_t)(from - text);
    }
  }
  for (unsigned i = 0; i < (marks ? marks : ranges)->len; i++) {
    const HkFtsRange *r = &g_array_index(marks ? marks : ranges, HkFtsRange, i);
    const char *s = text + r->start, *e = text + r->end;
    HkFtsMark m;
    if (s < from || e > to)
      continue;
    m.m[0] = (unsigned)g_utf8_pointer_to_offset(from, s);
    m.m[1] = (unsigned)g_utf8_pointer_to_offset(s, e);
    /* Overlapping matches (two terms, or a term inside itself) merge. */
    if (out->marks->len) {
      unsigned *last = g_array_index(out->marks, HkFtsMark, out->marks->len - 1).m;
      if (m.m[0] <= last[0] + last[1]) {
        last[1] = MAX(last[0] + last[1], m.m[0] + m.m[1]) - last[0];
        continue;
      }
    }
    g_array_append_val(out->marks, m);
  }
  if (marks)
    g_array_unref(marks);
  g_array_unref(ranges);
}

/* Whether each term occurs in text (normalised as the lexicon does,
 * blanks removed, as loose_blank matches): bit i for term i. */
static uint32_t
hk_fts_page_mask(hk_fts *f, const char *text, size_t len, const HkFtsTerm *terms, unsigned nterms)
{
  size_t nl = 0;
  char *norm = hk_fts_normalize(f, text, len, &nl, NULL);
  uint32_t mask = 0;

  for (unsigned i = 0; norm && i < nterms; i++)
    if (terms[i].len && memmem(norm, nl, terms[i].norm, terms[i].len))
      mask |= 1u << i;
  g_free(norm);
  return mask;
}

/* A document the search reports, with its first matching pages. */
typedef struct {
  grn_id doc;
  int64_t created;
  uint32_t version, first, pages;
  uint32_t found[HK_FTS_PAGES_PER_DOC];
  unsigned nfound;
} HkFtsDoc;

static int64_t
hk_fts_doc_created(hk_fts *f, grn_id did)
{
  grn_obj v;
  int64_t created;

  GRN_INT64_INIT(&v, 0);
  grn_obj_get_value(&f->ctx, f->d_created, did, &v);
  created = GRN_BULK_VSIZE(&v) >= sizeof(int64_t) ? GRN_INT64_VALUE(&v) : 0;
  GRN_OBJ_FIN(&f->ctx, &v);
  return created;
}

static void
hk_fts_doc_read(hk_fts *f, grn_id did, HkFtsDoc *d, grn_obj *buf)
{
  memset(d, 0, sizeof *d);
  d->doc = did;
  GRN_BULK_REWIND(buf);
  grn_obj_get_value(&f->ctx, f->d_version, did, buf);
  d->version = GRN_BULK_VSIZE(buf) ? GRN_UINT32_VALUE(buf) : 0;
  d->created = hk_fts_doc_created(f, did);
  GRN_BULK_REWIND(buf);
  grn_obj_get_value(&f->ctx, f->d_first, did, buf);
  d->first = GRN_BULK_VSIZE(buf) ? GRN_UINT32_VALUE(buf) : 0;
  GRN_BULK_REWIND(buf);
  grn_obj_get_value(&f->ctx, f->d_pages, did, buf);
  d->pages = GRN_BULK_VSIZE(buf) ? GRN_UINT32_VALUE(buf) : 0;
}

/* Report document d: one call of fn per page in d->found, the snippet
 * read from the store's text of the indexed version. \return fn's. */
static int
hk_fts_report(hk_fts *f, hk_txn *t, const HkFtsDoc *d, const char *key, const HkFtsTerm *terms,
              unsigned nterms, HkFtsHitFn fn, void *data)
{
  grn_obj pat;
  char patient[HK_FTS_GEN_MAX * 4];
  HkFtsHit hit = {0};
  grn_id pid;
  int stop = 0;

  GRN_RECORD_INIT(&pat, 0, grn_obj_id(&f->ctx, f->patients));
  grn_obj_get_value(&f->ctx, f->d_patient, d->doc, &pat);
  pid = GRN_BULK_VSIZE(&pat) ? GRN_RECORD_VALUE(&pat) : GRN_ID_NIL;
  patient[0] = 0;
  if (pid != GRN_ID_NIL) {
    int n = grn_table_get_key(&f->ctx, f->patients, pid, patient, sizeof patient - 1);
    patient[n > 0 && n < (int)sizeof patient ? n : 0] = 0;
  }
  hit.doc_id = key;
  hit.version = d->version;
  hit.patient = patient;
  for (unsigned i = 0; i < d->nfound && !stop; i++) {
    HkTextPage page = {0};
    HkFtsSnippet snip;
    if (hk_store_get_text_page(t, key, d->version, d->found[i], &page) != 0)
      page.text.len = 0;
    hk_fts_snippet(f, page.text.len ? page.text.p : "", page.text.len, terms, nterms, &snip);
    hit.page = d->found[i];
    hit.snippet = snip.snippet;
    hit.marks = (const unsigned(*)[2])(void *)snip.marks->data;
    hit.nmarks = snip.marks->len;
    stop = fn(&hit, data);
    g_free(snip.snippet);
    g_array_unref(snip.marks);
  }
  GRN_OBJ_FIN(&f->ctx, &pat);
  return stop;
}

/* The records of table whose column col, compared by op with value,
 * hold: a new result table (keyed by table's records), or NULL after
 * setting the reason. The value is a constant of the expression, never
 * query syntax: nothing in a user's word is an operator. */
static grn_obj *
hk_fts_select(hk_fts *f, grn_obj *table, grn_obj *col, grn_operator op, const char *value)
{
  grn_obj *expr = NULL, *var = NULL, *res = NULL;

  GRN_EXPR_CREATE_FOR_QUERY(&f->ctx, table, expr, var);
  if (!expr)
    goto out;
  grn_expr_append_obj(&f->ctx, expr, col, GRN_OP_GET_VALUE, 1);
  grn_expr_append_const_str(&f->ctx, expr, value, (unsigned)strlen(value), GRN_OP_PUSH, 1);
  grn_expr_append_op(&f->ctx, expr, op, 2);
  if (f->ctx.rc == GRN_SUCCESS)
    res = grn_table_select(&f->ctx, table, expr, NULL, GRN_OP_OR);
  if (res && f->ctx.rc != GRN_SUCCESS) {
    grn_obj_close(&f->ctx, res);
    res = NULL;
  }
out:
  if (!res)
    hk_fts_fail(f, -HK_ECORRUPT, "search: %s", f->ctx.errbuf);
  if (expr)
    grn_obj_close(&f->ctx, expr);
  return res;
}

/* The documents that own the pages of res (keyed by Docs records). */
static grn_obj *
hk_fts_group_docs(hk_fts *f, grn_obj *res)
{
  grn_table_sort_key key = {.key = grn_obj_column(&f->ctx, res, "doc", 3)};
  grn_table_group_result g = {0};

  if (!key.key)
    goto out;
  g.table = grn_table_create_for_group(&f->ctx, NULL, 0, NULL, key.key, res, 0);
  g.op = GRN_OP_OR;
  if (g.table && grn_table_group(&f->ctx, res, &key, 1, &g, 1) != GRN_SUCCESS) {
    grn_obj_close(&f->ctx, g.table);
    g.table = NULL;
  }
out:
  if (key.key)
    grn_obj_unlink(&f->ctx, key.key);
  if (!g.table)
    hk_fts_fail(f, -HK_ECORRUPT, "search: %s", f->ctx.errbuf);
  return g.table;
}

/* The answers' order over table (Docs, or a result keyed by Docs):
 * newest first, then by ID. Makes keys[2] and *sorted, the table
 * grn_table_sort fills; hk_fts_order_close frees them. */
static int
hk_fts_order_open(hk_fts *f, grn_obj *table, grn_table_sort_key keys[2], grn_obj **sorted)
{
  int ret = 0;

  memset(keys, 0, 2 * sizeof *keys);
  keys[0].key = grn_obj_column(&f->ctx, table, "created", 7);
  keys[0].flags = GRN_TABLE_SORT_DESC;
  keys[1].key = grn_obj_column(&f->ctx, table, "_key", 4);
  *sorted = grn_table_create(&f->ctx, NULL, 0, NULL, GRN_OBJ_TABLE_NO_KEY, NULL, table);
  if (!keys[0].key || !keys[1].key || !*sorted)
    ret = hk_fts_fail(f, -HK_ENOMEM, "search: %s", f->ctx.errbuf);
  return ret;
}

static void
hk_fts_order_close(hk_fts *f, grn_table_sort_key keys[2], grn_obj *sorted)
{
  for (unsigned i = 0; i < 2; i++)
    if (keys[i].key)
      grn_obj_unlink(&f->ctx, keys[i].key);
  if (sorted)
    grn_obj_close(&f->ctx, sorted);
}

/* The row of the sorted table's cursor c: a sorted row's value is the row
 * of the table sorted that it stands for. */
static grn_id
hk_fts_sorted_row(hk_fts *f, grn_table_cursor *c)
{
  void *vp = NULL;

  return grn_table_cursor_get_value(&f->ctx, c, &vp) == sizeof(grn_id) && vp ? *(grn_id *)vp
                                                                             : GRN_ID_NIL;
}

/* Which terms document d holds on its live pages (the range Docs names;
 * a replaced page's postings are still in the index and count for
 * nothing), and its first matching pages into d->found. */
static uint32_t
hk_fts_doc_mask(hk_fts *f, HkFtsDoc *d, grn_obj *const *res, unsigned nterms)
{
  uint32_t mask = 0;

  d->nfound = 0;
  for (uint32_t p = 0; p < d->pages; p++) {
    grn_id rid = d->first + p;
    uint32_t m = 0;
    for (unsigned i = 0; i < nterms; i++)
      if (grn_table_get(&f->ctx, res[i], &rid, sizeof rid) != GRN_ID_NIL)
        m |= 1u << i;
    if (m && d->nfound < HK_FTS_PAGES_PER_DOC)
      d->found[d->nfound++] = p + 1;
    mask |= m;
  }
  return mask;
}

typedef struct {
  grn_id doc;
  int64_t created;
  char key[HK_DOC_ID_LEN + 1];
} HkFtsDocKey;

/* The answers' order: newest first, then by ID. */
static gint
hk_fts_doc_key_cmp(gconstpointer a, gconstpointer b)
{
  const HkFtsDocKey *x = a, *y = b;

  if (x->created != y->created)
    return x->created > y->created ? -1 : 1;
  return strcmp(x->key, y->key);
}

/* The documents in the answers' order, from the index on Docs.created
 * (layout 3): a cursor over its keys, newest first, instead of a sort of
 * every document. The documents of one created (a tie) are read
 * together and put in ID order. */
typedef struct {
  grn_table_cursor *tc;
  grn_obj *ic;
  GArray *tie; /* HkFtsDocKey */
  guint next;
  HkFtsDocKey held; /* the first document of the next tie, read ahead */
  grn_id held_term;
} HkFtsNewest;

static int
hk_fts_newest_open(hk_fts *f, HkFtsNewest *it)
{
  int ret = 0;

  memset(it, 0, sizeof *it);
  it->tie = g_array_new(FALSE, FALSE, sizeof(HkFtsDocKey));
  it->tc = grn_table_cursor_open(&f->ctx, f->created, NULL, 0, NULL, 0, 0, -1,
                                 GRN_CURSOR_DESCENDING | GRN_CURSOR_BY_KEY);
  if (it->tc)
    it->ic = grn_index_cursor_open(&f->ctx, it->tc, f->c_docs, GRN_ID_NIL, GRN_ID_MAX, 0);
  if (!it->ic)
    ret = hk_fts_fail(f, -HK_ECORRUPT, "search: documents by date: %s", f->ctx.errbuf);
  return ret;
}

static void
hk_fts_newest_close(hk_fts *f, HkFtsNewest *it)
{
  if (it->ic)
    grn_obj_close(&f->ctx, it->ic);
  if (it->tc)
    grn_table_cursor_close(&f->ctx, it->tc);
  if (it->tie)
    g_array_unref(it->tie);
  memset(it, 0, sizeof *it);
}

/* The next document into *k. \return false at the end. */
static bool
hk_fts_newest_next(hk_fts *f, HkFtsNewest *it, HkFtsDocKey *k)
{
  if (it->next >= it->tie->len) {
    grn_id term = it->held_term, t = GRN_ID_NIL;
    grn_posting *p;
    g_array_set_size(it->tie, 0);
    it->next = 0;
    if (term != GRN_ID_NIL)
      g_array_append_val(it->tie, it->held);
    it->held_term = GRN_ID_NIL;
    while ((p = grn_index_cursor_next(&f->ctx, it->ic, &t))) {
      HkFtsDocKey d = {.doc = p->rid};
      int kl = grn_table_get_key(&f->ctx, f->docs, d.doc, d.key, HK_DOC_ID_LEN);
      if (kl != HK_DOC_ID_LEN)
        continue;
      d.key[kl] = 0;
      d.created = hk_fts_doc_created(f, d.doc);
      if (term == GRN_ID_NIL)
        term = t;
      if (t != term) {
        it->held = d;
        it->held_term = t;
        break;
      }
      g_array_append_val(it->tie, d);
    }
    if (it->tie->len > 1)
      g_array_sort(it->tie, hk_fts_doc_key_cmp);
  }
  if (it->next >= it->tie->len)
    return false;
  *k = g_array_index(it->tie, HkFtsDocKey, it->next++);
  return true;
}

/* Read the live pages of d (of document key) from the store: the
 * words each holds, its first matching pages into d->found. \return
 * the words found. */
static uint32_t
hk_fts_doc_scan(hk_fts *f, hk_txn *t, const char *key, HkFtsDoc *d, const HkFtsTerm *terms,
                unsigned n)
{
  uint32_t all = (uint32_t)((1ull << n) - 1), mask = 0;

  d->nfound = 0;
  for (uint32_t p = 1; p <= d->pages; p++) {
    HkTextPage page;
    uint32_t m;
    if (hk_store_get_text_page(t, key, d->version, p, &page) != 0 || page.text.len == 0)
      continue;
    m = hk_fts_page_mask(f, page.text.p, page.text.len, terms, n);
    if (m && d->nfound < HK_FTS_PAGES_PER_DOC)
      d->found[d->nfound++] = p;
    mask |= m;
    if (mask == all && d->nfound == HK_FTS_PAGES_PER_DOC)
      break;
  }
  return mask;
}

/* One patient's search when the patient's text is small: each live page
 * read from the store and the words looked for in it, as the index would
 * match them (the lexicon's normaliser; blanks removed, as loose_blank
 * ignores them). Exact, and independent of how common a word is in the
 * rest of the archive. */
static int
hk_fts_search_scan(hk_fts *f, hk_txn *t, grn_obj *pdocs, const HkFtsTerm *terms, unsigned n,
                   unsigned max_docs, HkFtsHitFn fn, void *data)
{
  GArray *order = g_array_new(FALSE, FALSE, sizeof(HkFtsDocKey));
  uint32_t all = (uint32_t)((1ull << n) - 1);
  unsigned reported = 0;
  grn_obj buf;
  int stop = 0;

  GRN_UINT32_INIT(&buf, 0);
  GRN_TABLE_EACH_BEGIN(&f->ctx, pdocs, cursor, rid)
  {
    HkFtsDocKey k;
    void *kp;
    int kl;
    (void)rid;
    grn_table_cursor_get_key(&f->ctx, cursor, &kp);
    k.doc = *(grn_id *)kp;
    kl = grn_table_get_key(&f->ctx, f->docs, k.doc, k.key, HK_DOC_ID_LEN);
    if (kl != HK_DOC_ID_LEN)
      continue;
    k.key[kl] = 0;
    k.created = hk_fts_doc_created(f, k.doc);
    g_array_append_val(order, k);
  }
  GRN_TABLE_EACH_END(&f->ctx, cursor);
  g_array_sort(order, hk_fts_doc_key_cmp);
  for (unsigned i = 0; i < order->len && reported < max_docs && !stop; i++) {
    const HkFtsDocKey *k = &g_array_index(order, HkFtsDocKey, i);
    HkFtsDoc d;
    hk_fts_doc_read(f, k->doc, &d, &buf);
    if (hk_fts_doc_scan(f, t, k->key, &d, terms, n) != all)
      continue;
    stop = hk_fts_report(f, t, &d, k->key, terms, n, fn, data);
    reported++;
  }
  GRN_OBJ_FIN(&f->ctx, &buf);
  g_array_unref(order);
  return 0;
}

/* Across patients: the documents walked in the answers' order (newest
 * first), each checked for every word, until max_docs hold them all.
 * A document is checked on its live pages either in res, each word's
 * pages from the index, or (res NULL) in its text read from the store:
 * for words on most pages, whose postings are as long as the archive.
 * At most max_visits documents are read: if those were not enough,
 * *enough is false, nothing was reported, and the index's grouped
 * answer must be used. */
static int
hk_fts_walk(hk_fts *f, hk_txn *t, grn_obj *const *res, const HkFtsTerm *terms, unsigned n,
            unsigned max_docs, uint64_t max_visits, bool *enough, HkFtsHitFn fn, void *data)
{
  GArray *found = g_array_new(FALSE, FALSE, sizeof(HkFtsDoc));
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  uint32_t all = (uint32_t)((1ull << n) - 1);
  uint64_t visits = 0;
  HkFtsNewest it;
  HkFtsDocKey k;
  bool ended = false;
  grn_obj buf;
  int ret;

  *enough = false;
  GRN_UINT32_INIT(&buf, 0);
  ret = hk_fts_newest_open(f, &it);
  while (ret == 0 && found->len < max_docs && visits < max_visits) {
    HkFtsDoc d;
    uint32_t mask;
    if (!hk_fts_newest_next(f, &it, &k)) {
      ended = true;
      break;
    }
    visits++;
    hk_fts_doc_read(f, k.doc, &d, &buf);
    mask = res ? hk_fts_doc_mask(f, &d, res, n) : hk_fts_doc_scan(f, t, k.key, &d, terms, n);
    if (mask != all)
      continue;
    g_array_append_val(found, d);
    g_ptr_array_add(ids, g_strdup(k.key));
  }
  /* Enough when max_docs matched, or every document was read. */
  *enough = ret == 0 && (found->len >= max_docs || ended);
  for (unsigned i = 0; *enough && i < found->len; i++)
    if (hk_fts_report(f, t, &g_array_index(found, HkFtsDoc, i), g_ptr_array_index(ids, i), terms, n,
                      fn, data))
      break;
  hk_fts_newest_close(f, &it);
  GRN_OBJ_FIN(&f->ctx, &buf);
  g_ptr_array_unref(ids);
  g_array_unref(found);
  return ret;
}

/* Whether the index's answer should walk the documents newest first and
 * look each one's pages up in res (the words' pages), rather than group
 * the pages by document and sort the documents. A document holds word i
 * with a chance of about m_i / documents (m_i its pages), and all words,
 * taken as independent, with the product: the walk reads max_docs over
 * that. The grouping reads the rarest word's pages and sorts what they
 * name: the walk when it reads fewer. It gives up after 4 times as many
 * (words rarer together than apart), and *visits says when. */
static bool
hk_fts_index_walk_cheaper(hk_fts *f, grn_obj *const *res, unsigned n, unsigned max_docs,
                          uint64_t *visits)
{
  uint64_t docs = grn_table_size(&f->ctx, f->docs), m = UINT64_MAX;
  double share = 1, expect;
  bool walk = f->plan == HK_FTS_PLAN_INDEX_WALK;

  *visits = UINT64_MAX;
  if (f->plan != HK_FTS_PLAN_AUTO || docs == 0)
    goto out;
  for (unsigned i = 0; i < n; i++) {
    uint64_t mi = grn_table_size(&f->ctx, res[i]);
    m = MIN(m, mi);
    share *= MIN((double)mi / (double)docs, 1.0);
  }
  if (m == 0 || share <= 0)
    goto out;
  expect = (double)max_docs / share;
  walk = expect <= (double)m;
  *visits = (uint64_t)(4 * expect) + 64;
out:
  return walk;
}

/* The search through the index: each word's pages, their documents,
 * intersected and ordered by Groonga; then each candidate, in document ID
 * order, checked on its live pages until max_docs are reported. */
static int
hk_fts_search_index(hk_fts *f, hk_txn *t, grn_obj *pdocs, const HkFtsQuery *q,
                    const HkFtsTerm *terms, unsigned max_docs, HkFtsHitFn fn, void *data)
{
  unsigned n = q->terms->len, reported = 0;
  uint32_t all = (uint32_t)((1ull << n) - 1);
  grn_obj *res[HK_FTS_TERMS_MAX] = {0}, *docs = NULL, *sorted = NULL, buf;
  grn_table_sort_key keys[2] = {{0}};
  uint64_t visits;
  bool enough = false;
  int ret = 0, stop = 0;

  GRN_UINT32_INIT(&buf, 0);
  for (unsigned i = 0; i < n && ret == 0; i++) {
    /* Each word's pages, from the postings (Terms.body @ word). */
    res[i] = hk_fts_select(f, f->pages, f->body, GRN_OP_MATCH, g_ptr_array_index(q->terms, i));
    if (!res[i])
      ret = -HK_ECORRUPT;
  }
  /* Across patients, words on many pages: the documents in order, each
   * looked up in the words' pages, until enough. */
  if (ret == 0 && !pdocs && hk_fts_index_walk_cheaper(f, res, n, max_docs, &visits)) {
    ret = hk_fts_walk(f, t, res, terms, n, max_docs, visits, &enough, fn, data);
    if (ret || enough) {
      f->last = HK_FTS_PLAN_INDEX_WALK;
      goto out;
    }
  }
  for (unsigned i = 0; i < n && ret == 0; i++) {
    grn_obj *g = hk_fts_group_docs(f, res[i]);
    if (!g)
      ret = -HK_ECORRUPT;
    else if (!docs)
      docs = g;
    else {
      if (grn_table_setoperation(&f->ctx, docs, g, docs, GRN_OP_AND) != GRN_SUCCESS)
        ret = hk_fts_fail(f, -HK_ECORRUPT, "search: %s", f->ctx.errbuf);
      grn_obj_close(&f->ctx, g);
    }
  }
  /* One patient: the words' documents cut to theirs before any sort. */
  if (ret == 0 && pdocs && grn_table_setoperation(&f->ctx, docs, pdocs, docs, GRN_OP_AND))
    ret = hk_fts_fail(f, -HK_ECORRUPT, "search: %s", f->ctx.errbuf);
  if (ret || grn_table_size(&f->ctx, docs) == 0)
    goto out;
  if (!pdocs)
    f->last = HK_FTS_PLAN_INDEX;
  ret = hk_fts_order_open(f, docs, keys, &sorted);
  if (ret)
    goto out;
  /* Sorted in slices: a candidate whose live pages lack a word (its
   * postings were of a replaced text) takes no place in the answer. */
  for (int offset = 0; ret == 0 && !stop && reported < max_docs;) {
    int limit = (int)MAX(max_docs * 2, 16u), got;
    grn_table_truncate(&f->ctx, sorted);
    got = grn_table_sort(&f->ctx, docs, offset, limit, sorted, keys, 2);
    if (got <= 0)
      break;
    GRN_TABLE_EACH_BEGIN(&f->ctx, sorted, cursor, sid)
    {
      grn_id rid, did;
      HkFtsDoc d;
      char k[HK_DOC_ID_LEN + 1];
      int kl;
      (void)sid;
      if (stop || reported >= max_docs)
        break;
      rid = hk_fts_sorted_row(f, cursor);
      /* The row of docs; its key is the Docs record. */
      if (rid == GRN_ID_NIL || grn_table_get_key(&f->ctx, docs, rid, &did, sizeof did) <= 0)
        continue;
      hk_fts_doc_read(f, did, &d, &buf);
      if (hk_fts_doc_mask(f, &d, res, n) != all)
        continue;
      kl = grn_table_get_key(&f->ctx, f->docs, did, k, HK_DOC_ID_LEN);
      if (kl != HK_DOC_ID_LEN)
        continue;
      k[kl] = 0;
      stop = hk_fts_report(f, t, &d, k, terms, n, fn, data);
      reported++;
    }
    GRN_TABLE_EACH_END(&f->ctx, cursor);
    if (got < limit)
      break;
    offset += got;
  }
out:
  hk_fts_order_close(f, keys, sorted);
  if (docs)
    grn_obj_close(&f->ctx, docs);
  for (unsigned i = 0; i < n; i++)
    if (res[i])
      grn_obj_close(&f->ctx, res[i]);
  GRN_OBJ_FIN(&f->ctx, &buf);
  return ret;
}

/* See hk_fts_scan_cheaper. */
#define HK_FTS_POSTINGS_PER_PAGE 1000

/* Live pages of the documents of pdocs, counted up to cap. */
static uint64_t
hk_fts_count_pages(hk_fts *f, grn_obj *pdocs, uint64_t cap)
{
  uint64_t pages = 0;
  grn_obj buf;

  GRN_UINT32_INIT(&buf, 0);
  GRN_TABLE_EACH_BEGIN(&f->ctx, pdocs, cursor, rid)
  {
    void *kp;
    (void)rid;
    if (pages > cap)
      break;
    grn_table_cursor_get_key(&f->ctx, cursor, &kp);
    GRN_BULK_REWIND(&buf);
    grn_obj_get_value(&f->ctx, f->d_pages, *(grn_id *)kp, &buf);
    pages += GRN_BULK_VSIZE(&buf) ? GRN_UINT32_VALUE(&buf) : 0;
  }
  GRN_TABLE_EACH_END(&f->ctx, cursor);
  GRN_OBJ_FIN(&f->ctx, &buf);
  return pages;
}

/* Groonga's estimate of the pages of each word: *sum, and *least (that
 * of the rarest word). A one-character word matches every bigram it
 * begins (the tokenizer searches it by prefix), which the estimate for
 * the query does not count: those are summed from the lexicon. */
static void
hk_fts_estimate(hk_fts *f, const HkFtsQuery *q, const HkFtsTerm *terms, uint64_t *sum,
                uint64_t *least)
{
  *sum = 0;
  *least = UINT64_MAX;
  for (unsigned i = 0; i < q->terms->len; i++) {
    const char *term = g_ptr_array_index(q->terms, i);
    uint64_t e;
    if (g_utf8_strlen(terms[i].norm, (gssize)terms[i].len) == 1) {
      grn_table_cursor *c =
          grn_table_cursor_open(&f->ctx, f->terms, terms[i].norm, (unsigned)terms[i].len, NULL, 0,
                                0, -1, GRN_CURSOR_PREFIX);
      e = c ? grn_ii_estimate_size_for_lexicon_cursor(&f->ctx, (grn_ii *)f->body, c) : 0;
      if (c)
        grn_table_cursor_close(&f->ctx, c);
    } else
      e = grn_ii_estimate_size_for_query(&f->ctx, (grn_ii *)f->body, term, (unsigned)strlen(term),
                                         NULL);
    *sum += e;
    *least = MIN(*least, e);
  }
}

/* Whether one patient's search should read the store rather than the
 * index: always for up to HK_FTS_SCAN_PAGES pages; beyond, when the
 * words' postings outnumber HK_FTS_POSTINGS_PER_PAGE per page of the
 * patient's text (reading a page costs about as much as walking that
 * many postings; bench/hk-bench-fts.c). */
static bool
hk_fts_scan_cheaper(hk_fts *f, grn_obj *pdocs, const HkFtsQuery *q, const HkFtsTerm *terms)
{
  uint64_t pages, sum, least;
  bool store = f->plan == HK_FTS_PLAN_STORE;

  if (f->plan != HK_FTS_PLAN_AUTO)
    goto out;
  /* Most patients: counted no further than the bound, and no estimate. */
  store = hk_fts_count_pages(f, pdocs, HK_FTS_SCAN_PAGES) <= HK_FTS_SCAN_PAGES;
  if (store)
    goto out;
  pages = hk_fts_count_pages(f, pdocs, UINT64_MAX);
  hk_fts_estimate(f, q, terms, &sum, &least);
  store = sum >= pages * HK_FTS_POSTINGS_PER_PAGE;
out:
  return store;
}

/* Whether a search across patients should walk the documents (and how
 * many it may read before it gives up for the index): when the rarest
 * word is on so many pages that max_docs matches are near the start of
 * the walk, and reading those documents costs less than the postings. */
static bool
hk_fts_walk_cheaper(hk_fts *f, const HkFtsQuery *q, const HkFtsTerm *terms, unsigned max_docs,
                    uint64_t *visits)
{
  uint64_t pages = grn_table_size(&f->ctx, f->pages), docs = grn_table_size(&f->ctx, f->docs);
  uint64_t sum, least;
  double share, expect;
  bool walk = f->plan == HK_FTS_PLAN_STORE;

  *visits = UINT64_MAX;
  if (f->plan != HK_FTS_PLAN_AUTO || pages == 0 || docs == 0)
    goto out;
  hk_fts_estimate(f, q, terms, &sum, &least);
  share = MIN((double)least / (double)pages, 1.0);
  if (share <= 0)
    goto out;
  expect = max_docs / share;
  walk = expect * ((double)pages / (double)docs) * HK_FTS_POSTINGS_PER_PAGE < (double)sum;
  *visits = (uint64_t)(4 * expect) + 64;
out:
  return walk;
}

int
hk_fts_search(hk_fts *f, const char *patient, const HkFtsQuery *q, unsigned max_docs, HkFtsHitFn fn,
              void *data)
{
  unsigned n = q ? q->terms->len : 0;
  HkFtsTerm *terms = g_new0(HkFtsTerm, MAX(n, 1));
  grn_obj *pdocs = NULL;
  grn_id pid = GRN_ID_NIL;
  uint64_t visits;
  bool enough = false;
  hk_txn *t = NULL;
  int ret = 0;

  f->reason[0] = 0;
  if (n == 0 || n > HK_FTS_TERMS_MAX) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_fts_refresh(f);
  if (ret == 0 && !f->body)
    ret = hk_fts_fail(f, -HK_ECORRUPT, "search index %s has no postings", f->gen);
  if (ret)
    goto out;
  for (unsigned i = 0; i < n; i++) {
    const char *term = g_ptr_array_index(q->terms, i);
    terms[i].raw = term;
    terms[i].norm = hk_fts_normalize(f, term, strlen(term), &terms[i].len, NULL);
    /* A word the normaliser removes entirely finds nothing (and must not
     * reach Groonga empty: an empty match is no condition). */
    if (!terms[i].norm || terms[i].len == 0)
      goto out;
  }
  ret = hk_txn_begin(f->store, false, &t);
  if (ret) {
    ret = hk_fts_fail(f, ret, "the store could not be read: %s", hk_strerror(ret));
    goto out;
  }
  if (patient) {
    pid = grn_table_get(&f->ctx, f->patients, patient, (unsigned)strlen(patient));
    if (pid == GRN_ID_NIL)
      goto out; /* no text of this patient in the index */
    /* The patient's documents (through Patients.docs). */
    pdocs = hk_fts_select(f, f->docs, f->d_patient, GRN_OP_EQUAL, patient);
    if (!pdocs) {
      ret = -HK_ECORRUPT;
      goto out;
    }
  }
  f->last = HK_FTS_PLAN_INDEX;
  if (pdocs && hk_fts_scan_cheaper(f, pdocs, q, terms)) {
    f->last = HK_FTS_PLAN_STORE;
    ret = hk_fts_search_scan(f, t, pdocs, terms, n, max_docs, fn, data);
  } else if (!pdocs && hk_fts_walk_cheaper(f, q, terms, max_docs, &visits)) {
    ret = hk_fts_walk(f, t, NULL, terms, n, max_docs, visits, &enough, fn, data);
    if (ret == 0 && enough)
      f->last = HK_FTS_PLAN_STORE;
  }
  if (ret == 0 && f->last == HK_FTS_PLAN_INDEX)
    ret = hk_fts_search_index(f, t, pdocs, q, terms, max_docs, fn, data);
out:
  if (t)
    hk_txn_abort(t);
  if (pdocs)
    grn_obj_close(&f->ctx, pdocs);
  for (unsigned i = 0; i < n; i++)
    g_free(terms[i].norm);
  g_free(terms);
  return ret;
}

/* hk-fts.c: opening the full-text index and searching it. The writer's
 * side is hk-fts-write.c; docs/search.md ("Index") has the layout. */
#include "hk-fts-private.h"

#include "hk-error.h"

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
  f->docs = hk_fts_obj(f, "Docs");
  f->d_version = hk_fts_obj(f, "Docs.version");
  f->d_patient = hk_fts_obj(f, "Docs.patient");
  f->d_pages = hk_fts_obj(f, "Docs.pages");
  f->pages = hk_fts_obj(f, "Pages");
  f->p_doc = hk_fts_obj(f, "Pages.doc");
  f->p_page = hk_fts_obj(f, "Pages.page");
  f->p_patient = hk_fts_obj(f, "Pages.patient");
  f->p_text = hk_fts_obj(f, "Pages.text");
  f->terms = hk_fts_obj(f, "Terms");
  if (!f->meta || !f->m_value || !f->docs || !f->d_version || !f->d_patient || !f->d_pages ||
      !f->pages || !f->p_doc || !f->p_page || !f->p_patient || !f->p_text || !f->terms) {
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
  hk_fts_close_gen(f);
  if (f->ctx_init)
    grn_ctx_fin(&f->ctx);
  g_free(f->dir);
  g_free(f);
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

/* One term, normalised as the lexicon normalises (for the marks). */
typedef struct {
  char *norm;
  size_t len;
} HkFtsTerm;

typedef struct {
  grn_id page_id;
  uint32_t page;
} HkFtsPageRef;

typedef struct {
  grn_id doc;
  uint32_t mask; /* the terms found in the document */
  GArray *pages; /* HkFtsPageRef */
} HkFtsDocHit;

static void
hk_fts_doc_hit_free(HkFtsDocHit *h)
{
  g_array_unref(h->pages);
  g_free(h);
}

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

typedef struct {
  unsigned m[2];
} HkFtsMark;

typedef struct {
  char *snippet;
  GArray *marks; /* HkFtsMark */
} HkFtsSnippet;

/* The snippet of a page's text around its first match, with the marks of
 * every match inside it (code points). */
static void
hk_fts_snippet(hk_fts *f, const char *text, size_t len, const HkFtsTerm *terms, unsigned nterms,
               HkFtsSnippet *out)
{
  GArray *ranges = hk_fts_find(f, text, len, terms, nterms);
  const char *from, *to;
  long first = 0, lead, total;

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
  for (unsigned i = 0; i < ranges->len; i++) {
    const HkFtsRange *r = &g_array_index(ranges, HkFtsRange, i);
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
  g_array_unref(ranges);
}

/* Select the pages matching term (and patient), adding them to hits. */
static int
hk_fts_select_term(hk_fts *f, const char *patient, const char *term, unsigned bit, GHashTable *hits)
{
  grn_obj *expr = NULL, *var = NULL, *res = NULL;
  grn_obj docv, pagev;
  int ret = 0;

  GRN_RECORD_INIT(&docv, 0, grn_obj_id(&f->ctx, f->docs));
  GRN_UINT32_INIT(&pagev, 0);
  GRN_EXPR_CREATE_FOR_QUERY(&f->ctx, f->pages, expr, var);
  if (!expr) {
    ret = hk_fts_fail(f, -HK_ENOMEM, "search: %s", f->ctx.errbuf);
    goto out;
  }
  /* The user's words are constants of the expression, never query
   * syntax: nothing in them is an operator. */
  if (patient) {
    grn_expr_append_obj(&f->ctx, expr, f->p_patient, GRN_OP_GET_VALUE, 1);
    grn_expr_append_const_str(&f->ctx, expr, patient, (unsigned)strlen(patient), GRN_OP_PUSH, 1);
    grn_expr_append_op(&f->ctx, expr, GRN_OP_EQUAL, 2);
  }
  grn_expr_append_obj(&f->ctx, expr, f->p_text, GRN_OP_GET_VALUE, 1);
  grn_expr_append_const_str(&f->ctx, expr, term, (unsigned)strlen(term), GRN_OP_PUSH, 1);
  grn_expr_append_op(&f->ctx, expr, GRN_OP_MATCH, 2);
  if (patient)
    grn_expr_append_op(&f->ctx, expr, GRN_OP_AND, 2);
  if (f->ctx.rc != GRN_SUCCESS) {
    ret = hk_fts_fail(f, -HK_ECORRUPT, "search: %s", f->ctx.errbuf);
    goto out;
  }
  res = grn_table_select(&f->ctx, f->pages, expr, NULL, GRN_OP_OR);
  if (!res || f->ctx.rc != GRN_SUCCESS) {
    ret = hk_fts_fail(f, -HK_ECORRUPT, "search: %s", f->ctx.errbuf);
    goto out;
  }
  GRN_TABLE_EACH_BEGIN(&f->ctx, res, cursor, rid)
  {
    void *key;
    grn_id pid, did;
    HkFtsDocHit *h;
    HkFtsPageRef ref;
    (void)rid;
    grn_table_cursor_get_key(&f->ctx, cursor, &key);
    pid = *(grn_id *)key;
    GRN_BULK_REWIND(&docv);
    GRN_BULK_REWIND(&pagev);
    grn_obj_get_value(&f->ctx, f->p_doc, pid, &docv);
    grn_obj_get_value(&f->ctx, f->p_page, pid, &pagev);
    did = GRN_RECORD_VALUE(&docv);
    if (did == GRN_ID_NIL)
      continue;
    h = g_hash_table_lookup(hits, GUINT_TO_POINTER(did));
    if (!h) {
      h = g_new0(HkFtsDocHit, 1);
      h->doc = did;
      h->pages = g_array_new(FALSE, FALSE, sizeof(HkFtsPageRef));
      g_hash_table_insert(hits, GUINT_TO_POINTER(did), h);
    }
    h->mask |= 1u << bit;
    ref.page_id = pid;
    ref.page = GRN_UINT32_VALUE(&pagev);
    g_array_append_val(h->pages, ref);
  }
  GRN_TABLE_EACH_END(&f->ctx, cursor);
out:
  if (res)
    grn_obj_close(&f->ctx, res);
  if (expr)
    grn_obj_close(&f->ctx, expr);
  GRN_OBJ_FIN(&f->ctx, &docv);
  GRN_OBJ_FIN(&f->ctx, &pagev);
  return ret;
}

typedef struct {
  HkFtsDocHit *hit;
  char key[HK_DOC_ID_LEN + 1];
} HkFtsDocOrder;

static gint
hk_fts_order_cmp(gconstpointer a, gconstpointer b)
{
  return strcmp(((const HkFtsDocOrder *)a)->key, ((const HkFtsDocOrder *)b)->key);
}

static gint
hk_fts_page_cmp(gconstpointer a, gconstpointer b)
{
  const HkFtsPageRef *x = a, *y = b;
  return x->page < y->page ? -1 : x->page > y->page ? 1 : 0;
}

/* Report the pages of one document. */
static int
hk_fts_report(hk_fts *f, const HkFtsDocOrder *d, const HkFtsTerm *terms, unsigned nterms,
              HkFtsHitFn fn, void *data)
{
  grn_obj ver, pat, text;
  HkFtsHit hit = {0};
  uint32_t last = 0;
  unsigned reported = 0;
  int stop = 0;

  GRN_UINT32_INIT(&ver, 0);
  GRN_TEXT_INIT(&pat, 0);
  GRN_TEXT_INIT(&text, 0);
  grn_obj_get_value(&f->ctx, f->d_version, d->hit->doc, &ver);
  grn_obj_get_value(&f->ctx, f->d_patient, d->hit->doc, &pat);
  GRN_TEXT_PUTC(&f->ctx, &pat, '\0');
  g_array_sort(d->hit->pages, hk_fts_page_cmp);
  hit.doc_id = d->key;
  hit.version = GRN_UINT32_VALUE(&ver);
  hit.patient = GRN_TEXT_VALUE(&pat);
  for (unsigned i = 0; i < d->hit->pages->len && reported < HK_FTS_PAGES_PER_DOC && !stop; i++) {
    const HkFtsPageRef *r = &g_array_index(d->hit->pages, HkFtsPageRef, i);
    HkFtsSnippet snip;
    if (i > 0 && r->page == last)
      continue;
    last = r->page;
    GRN_BULK_REWIND(&text);
    grn_obj_get_value(&f->ctx, f->p_text, r->page_id, &text);
    hk_fts_snippet(f, GRN_TEXT_VALUE(&text), GRN_TEXT_LEN(&text), terms, nterms, &snip);
    hit.page = r->page;
    hit.snippet = snip.snippet;
    hit.marks = (const unsigned(*)[2])(void *)snip.marks->data;
    hit.nmarks = snip.marks->len;
    stop = fn(&hit, data);
    g_free(snip.snippet);
    g_array_unref(snip.marks);
    reported++;
  }
  GRN_OBJ_FIN(&f->ctx, &ver);
  GRN_OBJ_FIN(&f->ctx, &pat);
  GRN_OBJ_FIN(&f->ctx, &text);
  return stop;
}

int
hk_fts_search(hk_fts *f, const char *patient, const HkFtsQuery *q, unsigned max_docs, HkFtsHitFn fn,
              void *data)
{
  GHashTable *hits = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                           (GDestroyNotify)hk_fts_doc_hit_free);
  GArray *order = g_array_new(FALSE, FALSE, sizeof(HkFtsDocOrder));
  unsigned n = q ? q->terms->len : 0;
  HkFtsTerm *terms = g_new0(HkFtsTerm, MAX(n, 1));
  uint32_t all = n ? (uint32_t)((1ull << n) - 1) : 0;
  GHashTableIter it;
  gpointer v;
  int ret = 0;

  f->reason[0] = 0;
  if (n == 0 || n > HK_FTS_TERMS_MAX) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_fts_refresh(f);
  if (ret)
    goto out;
  for (unsigned i = 0; i < n; i++) {
    const char *term = g_ptr_array_index(q->terms, i);
    terms[i].norm = hk_fts_normalize(f, term, strlen(term), &terms[i].len, NULL);
    /* A word the normaliser removes entirely finds nothing (and must not
     * reach Groonga empty: an empty match is no condition). */
    if (!terms[i].norm || terms[i].len == 0)
      goto out;
  }
  for (unsigned i = 0; i < n && ret == 0; i++)
    ret = hk_fts_select_term(f, patient, g_ptr_array_index(q->terms, i), i, hits);
  if (ret)
    goto out;
  g_hash_table_iter_init(&it, hits);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    HkFtsDocOrder o = {.hit = v};
    int kl;
    if (o.hit->mask != all)
      continue;
    kl = grn_table_get_key(&f->ctx, f->docs, o.hit->doc, o.key, HK_DOC_ID_LEN);
    if (kl != HK_DOC_ID_LEN)
      continue;
    o.key[kl] = 0;
    g_array_append_val(order, o);
  }
  g_array_sort(order, hk_fts_order_cmp);
  for (unsigned i = 0; i < order->len && i < max_docs; i++)
    if (hk_fts_report(f, &g_array_index(order, HkFtsDocOrder, i), terms, n, fn, data))
      break;
out:
  for (unsigned i = 0; i < n; i++)
    g_free(terms[i].norm);
  g_free(terms);
  g_array_unref(order);
  g_hash_table_unref(hits);
  return ret;
}

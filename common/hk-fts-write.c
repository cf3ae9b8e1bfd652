/* hk-fts-write.c: the writer's side of the full-text index: the schema,
 * taking texts from the store, following its text log, and rebuilding a
 * whole generation. Only the store's writer (the indexer) and `hikae-admin
 * reindex` call these. docs/search.md, "Index". */
#include "hk-fts-private.h"

#include "hk-error.h"
#include "hk-log.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The schema, as Groonga commands: fixed text, no value from outside.
 * The lexicon: bigrams of every character class (letters and digits too,
 * so that any two characters match as a substring), blanks loose (a line
 * break inside a word does not split it), and NFKC with the kana folded
 * (hiragana = katakana, small = large kana, hyphens and prolonged sound
 * marks, middle dots): what patient search folds, and more. */
static const char *const hk_fts_schema[] = {
    "table_create Meta TABLE_HASH_KEY ShortText",
    "column_create Meta value COLUMN_SCALAR ShortText",
    "table_create Docs TABLE_HASH_KEY ShortText",
    "column_create Docs version COLUMN_SCALAR UInt32",
    "column_create Docs patient COLUMN_SCALAR ShortText",
    "column_create Docs pages COLUMN_SCALAR UInt32",
    "table_create Pages TABLE_HASH_KEY ShortText",
    "column_create Pages doc COLUMN_SCALAR Docs",
    "column_create Pages page COLUMN_SCALAR UInt32",
    "column_create Pages patient COLUMN_SCALAR ShortText",
    /* Page text compresses about 3 to 1 (Japanese, zstd): it is kept
     * for the snippets. */
    "column_create Pages text COLUMN_SCALAR|COMPRESS_ZSTD LongText",
    "table_create Patients TABLE_HASH_KEY ShortText",
    "column_create Patients pages COLUMN_INDEX Pages patient",
    "table_create Terms TABLE_PAT_KEY ShortText"
    " --default_tokenizer 'TokenNgram(\"n\", 2, \"loose_blank\", true,"
    " \"unify_alphabet\", false, \"unify_symbol\", false, \"unify_digit\", false)'"
    " --normalizer 'NormalizerNFKC150(\"unify_kana\", true, \"unify_kana_case\", true,"
    " \"unify_hyphen\", true, \"unify_prolonged_sound_mark\", true,"
    " \"unify_middle_dot\", true)'",
};

/* The full-text index column: a rebuild creates it after the pages are
 * loaded, so that Groonga builds it in one pass (static index
 * construction: a fraction of the size and time of one record at a
 * time); later writes update it record by record. */
static const char hk_fts_body_index[] =
    "column_create Terms body COLUMN_INDEX|WITH_POSITION Pages text";

static int
hk_fts_command(hk_fts *f, const char *cmd)
{
  char *res = NULL;
  unsigned len = 0;
  int flags = 0, ret = 0;

  grn_ctx_send(&f->ctx, cmd, (unsigned)strlen(cmd), 0);
  if (f->ctx.rc == GRN_SUCCESS)
    grn_ctx_recv(&f->ctx, &res, &len, &flags);
  if (f->ctx.rc != GRN_SUCCESS)
    ret = hk_fts_fail(f, -HK_EIO, "search index schema: %s", f->ctx.errbuf);
  return ret;
}

int
hk_fts_meta_set(hk_fts *f, const char *key, const char *value)
{
  grn_id id = grn_table_add(&f->ctx, f->meta, key, (unsigned)strlen(key), NULL);
  grn_obj v;
  int ret = 0;

  GRN_SHORT_TEXT_INIT(&v, 0);
  GRN_TEXT_SETS(&f->ctx, &v, value);
  if (id == GRN_ID_NIL ||
      grn_obj_set_value(&f->ctx, f->m_value, id, &v, GRN_OBJ_SET) != GRN_SUCCESS)
    ret = hk_fts_fail(f, -HK_EIO, "search index: %s", f->ctx.errbuf);
  GRN_OBJ_FIN(&f->ctx, &v);
  return ret;
}

/* On the archive host the server reads the index as another user, of
 * the folder's group, and Groonga opens every file read-write even to
 * read: where the folder is setgid (deploy/tmpfiles.d: shared with its
 * group), each file Groonga made (0640) is opened to the group. The
 * generation's folder stays the writer's: a file the server made there
 * would be one the indexer could not write. */
static void
hk_fts_share(hk_fts *f)
{
  char *gdir = g_build_filename(f->dir, f->gen, NULL);
  struct stat st;
  GDir *d = NULL;
  const char *name;

  if (stat(f->dir, &st) != 0 || !(st.st_mode & S_ISGID))
    goto out;
  d = g_dir_open(gdir, 0, NULL);
  while (d && (name = g_dir_read_name(d))) {
    char *p = g_build_filename(gdir, name, NULL);
    if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        (st.st_mode & 0060) != 0060 && chmod(p, (st.st_mode & 07777) | 0060) != 0)
      hk_warn("%s: %s", p, g_strerror(errno));
    g_free(p);
  }
out:
  if (d)
    g_dir_close(d);
  g_free(gdir);
}

int
hk_fts_set_through(hk_fts *f, uint64_t seq)
{
  char buf[32];
  int ret;

  g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, seq);
  ret = hk_fts_meta_set(f, "through", buf);
  /* The pages written before it reach the disk before it does not
   * matter (Groonga has no order between files): after a crash of the
   * host, not of the process, reindex (docs/search.md). */
  if (ret == 0 && grn_obj_flush_recursive(&f->ctx, f->db) != GRN_SUCCESS)
    ret = hk_fts_fail(f, -HK_EIO, "search index flush: %s", f->ctx.errbuf);
  if (ret == 0)
    hk_fts_share(f);
  return ret;
}

static void
hk_fts_page_key(char *buf, size_t cap, const char *doc_id, uint32_t page)
{
  g_snprintf(buf, cap, "%s:%u", doc_id, page);
}

/* Remove pages from+1..to of doc_id. */
static int
hk_fts_drop_pages(hk_fts *f, const char *doc_id, uint32_t from, uint32_t to)
{
  char key[64];
  int ret = 0;

  for (uint32_t p = from + 1; p <= to && ret == 0; p++) {
    hk_fts_page_key(key, sizeof key, doc_id, p);
    grn_rc rc = grn_table_delete(&f->ctx, f->pages, key, (unsigned)strlen(key));
    if (rc != GRN_SUCCESS && rc != GRN_INVALID_ARGUMENT)
      ret = hk_fts_fail(f, -HK_EIO, "search index: %s", f->ctx.errbuf);
    f->ctx.rc = GRN_SUCCESS;
  }
  return ret;
}

static int
hk_fts_set(hk_fts *f, grn_obj *col, grn_id id, grn_obj *v)
{
  int ret = 0;

  if (grn_obj_set_value(&f->ctx, col, id, v, GRN_OBJ_SET) != GRN_SUCCESS)
    ret = hk_fts_fail(f, -HK_EIO, "search index: %s", f->ctx.errbuf);
  return ret;
}

int
hk_fts_put(hk_fts *f, hk_txn *t, const char *doc_id)
{
  HkDocument *d = NULL;
  const HkVersion *cur;
  HkTextInfo info;
  grn_obj u32, text, pat, ref;
  grn_id did;
  uint32_t old_pages = 0, pages = 0;
  char key[64];
  int ret;

  GRN_UINT32_INIT(&u32, 0);
  GRN_TEXT_INIT(&text, 0);
  GRN_SHORT_TEXT_INIT(&pat, 0);
  GRN_RECORD_INIT(&ref, 0, grn_obj_id(&f->ctx, f->docs));
  ret = hk_store_get_document(t, doc_id, &d);
  if (ret)
    goto out;
  cur = hk_document_current(d);
  ret = hk_store_get_text(t, doc_id, cur->version, &info);
  if (ret == -HK_ENOTFOUND)
    info.pages = 0; /* not extracted yet: the older text goes */
  else if (ret)
    goto out;
  ret = 0;
  did = grn_table_get(&f->ctx, f->docs, doc_id, (unsigned)strlen(doc_id));
  if (did != GRN_ID_NIL) {
    grn_obj_get_value(&f->ctx, f->d_pages, did, &u32);
    old_pages = GRN_UINT32_VALUE(&u32);
  }
  pages = MIN(info.pages, HK_TEXT_PAGES_MAX);
  if (pages == 0) {
    ret = hk_fts_drop_pages(f, doc_id, 0, old_pages);
    if (ret == 0 && did != GRN_ID_NIL)
      grn_table_delete_by_id(&f->ctx, f->docs, did);
    goto out;
  }
  did = grn_table_add(&f->ctx, f->docs, doc_id, (unsigned)strlen(doc_id), NULL);
  if (did == GRN_ID_NIL) {
    ret = hk_fts_fail(f, -HK_EIO, "search index: %s", f->ctx.errbuf);
    goto out;
  }
  GRN_UINT32_SET(&f->ctx, &u32, cur->version);
  ret = hk_fts_set(f, f->d_version, did, &u32);
  GRN_TEXT_SETS(&f->ctx, &pat, cur->patient_id);
  if (ret == 0)
    ret = hk_fts_set(f, f->d_patient, did, &pat);
  GRN_UINT32_SET(&f->ctx, &u32, pages);
  if (ret == 0)
    ret = hk_fts_set(f, f->d_pages, did, &u32);
  GRN_RECORD_SET(&f->ctx, &ref, did);
  for (uint32_t p = 1; ret == 0 && p <= pages; p++) {
    HkTextPage page;
    grn_id pid;
    hk_fts_page_key(key, sizeof key, doc_id, p);
    ret = hk_store_get_text_page(t, doc_id, cur->version, p, &page);
    if (ret == -HK_ENOTFOUND) {
      ret = 0;
      page.text.len = 0;
    }
    if (ret)
      break;
    /* An empty page holds nothing to find. */
    if (page.text.len == 0) {
      ret = hk_fts_drop_pages(f, doc_id, p - 1, p);
      continue;
    }
    pid = grn_table_add(&f->ctx, f->pages, key, (unsigned)strlen(key), NULL);
    if (pid == GRN_ID_NIL) {
      ret = hk_fts_fail(f, -HK_EIO, "search index: %s", f->ctx.errbuf);
      break;
    }
    ret = hk_fts_set(f, f->p_doc, pid, &ref);
    GRN_UINT32_SET(&f->ctx, &u32, p);
    if (ret == 0)
      ret = hk_fts_set(f, f->p_page, pid, &u32);
    if (ret == 0)
      ret = hk_fts_set(f, f->p_patient, pid, &pat);
    GRN_TEXT_SET(&f->ctx, &text, page.text.p, page.text.len);
    if (ret == 0)
      ret = hk_fts_set(f, f->p_text, pid, &text);
  }
  if (ret == 0 && old_pages > pages)
    ret = hk_fts_drop_pages(f, doc_id, pages, old_pages);
out:
  hk_document_free(d);
  GRN_OBJ_FIN(&f->ctx, &u32);
  GRN_OBJ_FIN(&f->ctx, &text);
  GRN_OBJ_FIN(&f->ctx, &pat);
  GRN_OBJ_FIN(&f->ctx, &ref);
  return ret;
}

/* Reopen f if a rebuild made another generation current. */
static int
hk_fts_writer_refresh(hk_fts *f)
{
  char gen[HK_FTS_GEN_MAX];
  int ret = hk_fts_read_current(f->dir, gen);

  if (ret == 0 && (!f->db || strcmp(gen, f->gen) != 0))
    ret = hk_fts_open_gen(f, gen);
  return ret;
}

int
hk_fts_follow(hk_fts *f, unsigned max, unsigned *done)
{
  GArray *log = g_array_new(FALSE, FALSE, sizeof(HkTextLogEntry));
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  char buf[32];
  uint64_t through;
  hk_txn *t = NULL;
  int ret = hk_fts_writer_refresh(f);

  *done = 0;
  if (ret)
    goto out;
  hk_fts_meta_get(f, "through", buf, sizeof buf);
  through = g_ascii_strtoull(buf, NULL, 10);
  ret = hk_txn_begin(f->store, false, &t);
  if (ret == 0)
    ret = hk_store_text_log(t, through, max, log);
  for (unsigned i = 0; ret == 0 && i < log->len; i++) {
    HkTextLogEntry *e = &g_array_index(log, HkTextLogEntry, i);
    /* hk_fts_put takes the current text: once per document is enough. */
    if (g_hash_table_contains(seen, e->doc_id))
      continue;
    g_hash_table_add(seen, e->doc_id);
    ret = hk_fts_put(f, t, e->doc_id);
    /* A log entry of a version that is gone (verify names it) is skipped. */
    if (ret == -HK_ENOTFOUND)
      ret = 0;
  }
  if (t)
    hk_txn_abort(t);
  if (ret == 0 && log->len) {
    ret = hk_fts_set_through(f, g_array_index(log, HkTextLogEntry, log->len - 1).seq);
    *done = log->len;
  }
out:
  g_hash_table_unref(seen);
  g_array_unref(log);
  return ret;
}

/* ---- rebuild ---- */

static void
hk_fts_rmtree(const char *path)
{
  GDir *d = g_dir_open(path, 0, NULL);
  const char *name;

  if (d) {
    while ((name = g_dir_read_name(d))) {
      char *child = g_build_filename(path, name, NULL);
      if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
        hk_fts_rmtree(child);
      else
        unlink(child);
      g_free(child);
    }
    g_dir_close(d);
  }
  rmdir(path);
}

typedef struct {
  hk_fts *f;
  hk_txn *t;
  uint64_t docs;
} HkFtsBuild;

static int
hk_fts_build_one(const HkTextKey *k, void *data)
{
  HkFtsBuild *b = data;
  HkDocument *d = NULL;
  int ret = hk_store_get_document(b->t, k->doc_id, &d);

  /* Only the current version's text is searchable. */
  if (ret == 0 && hk_document_current(d)->version == k->version) {
    ret = hk_fts_put(b->f, b->t, k->doc_id);
    b->docs++;
  }
  if (ret == -HK_ENOTFOUND)
    ret = 0;
  hk_document_free(d);
  return ret;
}

/* Write name into dir/current with one rename. */
static int
hk_fts_set_current(const char *dir, const char *gen)
{
  char *tmp = g_build_filename(dir, HK_FTS_CURRENT ".tmp", NULL);
  char *path = g_build_filename(dir, HK_FTS_CURRENT, NULL);
  char *line = g_strdup_printf("%s\n", gen);
  size_t len = strlen(line);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  int dfd = -1, ret = 0;

  if (fd < 0 || write(fd, line, len) != (ssize_t)len || fsync(fd) != 0 || rename(tmp, path) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    fsync(dfd);
out:
  if (fd >= 0)
    close(fd);
  if (dfd >= 0)
    close(dfd);
  if (ret)
    unlink(tmp);
  g_free(tmp);
  g_free(path);
  g_free(line);
  return ret;
}

/* Create generation gen in f->dir with the schema and the store's id. */
static int
hk_fts_create_gen(hk_fts *f, const char *gen, const char *store_id)
{
  char *gdir = g_build_filename(f->dir, gen, NULL);
  char *path = g_build_filename(gdir, HK_FTS_DB, NULL);
  int ret = 0;

  if (g_mkdir(gdir, 0750) != 0) {
    ret = hk_fts_fail(f, hk_err_from_errno(errno), "%s: %s", gdir, g_strerror(errno));
    goto out;
  }
  f->db = grn_db_create(&f->ctx, path, NULL);
  if (!f->db) {
    ret = hk_fts_fail(f, -HK_EIO, "search index %s: %s", gen, f->ctx.errbuf);
    goto out;
  }
  for (size_t i = 0; ret == 0 && i < G_N_ELEMENTS(hk_fts_schema); i++)
    ret = hk_fts_command(f, hk_fts_schema[i]);
  if (ret)
    goto out;
  grn_obj_close(&f->ctx, f->db);
  f->db = NULL;
  /* Opened as a reader would, so the schema is checked as it will be. */
  {
    grn_obj *db = grn_db_open(&f->ctx, path);
    f->db = db;
  }
  f->meta = grn_ctx_get(&f->ctx, "Meta", 4);
  f->m_value = grn_ctx_get(&f->ctx, "Meta.value", 10);
  if (!f->db || !f->meta || !f->m_value) {
    ret = hk_fts_fail(f, -HK_EIO, "search index %s: %s", gen, f->ctx.errbuf);
    goto out;
  }
  ret = hk_fts_meta_set(f, "store_id", store_id);
  if (ret == 0)
    ret = hk_fts_meta_set(f, "through", "0");
  grn_obj_close(&f->ctx, f->db);
  f->db = NULL;
  if (ret == 0)
    ret = hk_fts_open_gen(f, gen);
out:
  g_free(path);
  g_free(gdir);
  return ret;
}

int
hk_fts_rebuild(hk_store *s, uint64_t *docs)
{
  hk_fts *f = g_new0(hk_fts, 1);
  char gen[HK_FTS_GEN_MAX], old[HK_FTS_GEN_MAX] = "", store_id[HK_STORE_ID_MAX + 1] = "";
  char *lock = NULL, *uuid = g_uuid_string_random();
  HkFtsBuild b = {.f = f};
  uint64_t seq = 0;
  int lfd = -1, ret = 0;
  bool made = false;

  *docs = 0;
  hk_fts_global_init();
  f->store = s;
  f->writable = true;
  f->dir = hk_fts_dir(hk_store_dir(s));
  grn_ctx_init(&f->ctx, 0);
  f->ctx_init = true;
  g_snprintf(gen, sizeof gen, "gen-%s", uuid);
  if (g_mkdir_with_parents(f->dir, 0750) != 0) {
    ret = hk_err_from_errno(errno);
    hk_error("%s: %s", f->dir, g_strerror(errno));
    goto out;
  }
  /* One build at a time: a second one would remove the first's folder. */
  lock = g_build_filename(f->dir, HK_FTS_BUILD_LOCK, NULL);
  lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) != 0) {
    ret = lfd < 0 ? hk_err_from_errno(errno) : -HK_EBUSY;
    hk_error("%s: %s", lock, lfd < 0 ? g_strerror(errno) : "another rebuild is running");
    goto out;
  }
  /* The sequence is read before the walk, in its transaction: a text
   * stored during the build has a later number, so the indexer takes it
   * again after the swap. */
  ret = hk_txn_begin(s, false, &b.t);
  if (ret == 0)
    ret = hk_store_text_seq(b.t, &seq);
  if (ret == 0) {
    ret = hk_store_get_id(b.t, store_id);
    if (ret == -HK_ENOTFOUND)
      ret = 0;
  }
  if (ret) {
    hk_error("search index rebuild: the store: %s", hk_strerror(ret));
    goto out;
  }
  ret = hk_fts_create_gen(f, gen, store_id);
  made = true;
  if (ret == 0)
    ret = hk_store_foreach_text(b.t, hk_fts_build_one, &b);
  if (ret == 0)
    ret = hk_fts_command(f, hk_fts_body_index);
  if (ret == 0)
    ret = hk_fts_set_through(f, seq);
  if (ret) {
    hk_error("search index rebuild: %s", f->reason[0] ? f->reason : hk_strerror(ret));
    goto out;
  }
  hk_fts_close_gen(f);
  if (hk_fts_read_current(f->dir, old) != 0)
    old[0] = 0;
  ret = hk_fts_set_current(f->dir, gen);
  if (ret) {
    hk_error("search index rebuild: %s/%s: %s", f->dir, HK_FTS_CURRENT, hk_strerror(ret));
    goto out;
  }
  made = false;
  *docs = b.docs;
  /* Every other generation goes: the one replaced (a reader that has it
   * open keeps its files until it reopens) and any a crashed build left. */
  {
    GDir *d = g_dir_open(f->dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
      if (strncmp(name, "gen-", 4) == 0 && strcmp(name, gen) != 0) {
        char *p = g_build_filename(f->dir, name, NULL);
        hk_fts_rmtree(p);
        g_free(p);
      }
    }
    if (d)
      g_dir_close(d);
  }
out:
  if (b.t)
    hk_txn_abort(b.t);
  hk_fts_close_gen(f);
  if (made) {
    char *p = g_build_filename(f->dir, gen, NULL);
    hk_fts_rmtree(p);
    g_free(p);
  }
  if (lfd >= 0)
    close(lfd);
  g_free(lock);
  g_free(uuid);
  hk_fts_close(f);
  return ret;
}

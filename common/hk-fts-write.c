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
    "table_create Patients TABLE_HASH_KEY ShortText",
    "table_create Docs TABLE_HASH_KEY ShortText",
    "column_create Docs version COLUMN_SCALAR UInt32",
    /* The current version's created_at (µs): answers are newest first. */
    "column_create Docs created COLUMN_SCALAR Int64",
    "column_create Docs patient COLUMN_SCALAR Patients",
    /* The document's pages are the Pages records first..first+pages-1. */
    "column_create Docs first COLUMN_SCALAR UInt32",
    "column_create Docs pages COLUMN_SCALAR UInt32",
    "column_create Patients docs COLUMN_INDEX Docs patient",
    /* Records are only added, never removed or reused: a replaced page's
     * postings stay (the index keeps no copy of the text to remove them
     * by), and a hit on a record outside its document's range is
     * dropped. */
    "table_create Pages TABLE_NO_KEY",
    "column_create Pages doc COLUMN_SCALAR Docs",
    "table_create Terms TABLE_PAT_KEY ShortText"
    " --default_tokenizer 'TokenNgram(\"n\", 2, \"loose_blank\", true,"
    " \"unify_alphabet\", false, \"unify_symbol\", false, \"unify_digit\", false)'"
    " --normalizer 'NormalizerNFKC150(\"unify_kana\", true, \"unify_kana_case\", true,"
    " \"unify_hyphen\", true, \"unify_prolonged_sound_mark\", true,"
    " \"unify_middle_dot\", true)'",
    /* Layout 3 (hk_fts_created_schema): the last two. */
    "table_create Created TABLE_PAT_KEY Int64",
    "column_create Created docs COLUMN_INDEX Docs created",
};

/* Layout 3's addition to layout 2, the last two commands of the schema:
 * the documents by created, so that the answers' order (newest first) is
 * a cursor, not a sort of every document matched or of the archive. */
static const char *const *const hk_fts_created_schema =
    hk_fts_schema + G_N_ELEMENTS(hk_fts_schema) - 2;

/* The full-text index column. A rebuild loads the pages' text into a
 * column of its own, creates the index on it (Groonga then builds it in
 * one pass, static index construction: about half the size and time of
 * one record at a time), detaches it and removes the text: the index
 * keeps no copy of the text (LMDB has it), and later writes update the
 * postings by hand (grn_column_index_update). */
static const char hk_fts_build_text[] = "column_create Pages text COLUMN_SCALAR LongText";
static const char hk_fts_body_index[] =
    "column_create Terms body COLUMN_INDEX|WITH_POSITION Pages text";
static const char hk_fts_build_text_remove[] = "column_remove Pages text";

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
hk_fts_flush(hk_fts *f)
{
  int ret = 0;

  /* The pages written before `through` reach the disk before it does
   * not matter (Groonga has no order between files): after a crash of
   * the host, not of the process, reindex (docs/search.md). */
  if (grn_obj_flush_recursive(&f->ctx, f->db) != GRN_SUCCESS)
    ret = hk_fts_fail(f, -HK_EIO, "search index flush: %s", f->ctx.errbuf);
  if (ret == 0)
    hk_fts_share(f);
  f->unflushed = ret != 0;
  return ret;
}

void
hk_fts_defer_flush(hk_fts *f)
{
  f->defer_flush = true;
}

int
hk_fts_set_through(hk_fts *f, uint64_t seq)
{
  char buf[32];
  int ret;

  g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, seq);
  ret = hk_fts_meta_set(f, "through", buf);
  f->unflushed = true;
  if (ret == 0 && !f->defer_flush)
    ret = hk_fts_flush(f);
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

/* Add one page record of document did and index its text: into the
 * rebuild's text column (f->p_text, while it exists), else straight into
 * the postings. *rid receives the record. */
static int
hk_fts_add_page(hk_fts *f, grn_obj *ref, const HkTextPage *page, grn_id *rid)
{
  grn_obj text;
  int ret = 0;

  GRN_TEXT_INIT(&text, GRN_OBJ_DO_SHALLOW_COPY);
  *rid = grn_table_add(&f->ctx, f->pages, NULL, 0, NULL);
  if (*rid == GRN_ID_NIL) {
    ret = hk_fts_fail(f, -HK_EIO, "search index: %s", f->ctx.errbuf);
    goto out;
  }
  ret = hk_fts_set(f, f->p_doc, *rid, ref);
  /* An empty page holds nothing to find, but keeps its place. */
  if (ret || page->text.len == 0)
    goto out;
  GRN_TEXT_SET_REF(&text, page->text.p, page->text.len);
  if (f->p_text)
    ret = hk_fts_set(f, f->p_text, *rid, &text);
  else if (grn_column_index_update(&f->ctx, f->body, *rid, 1, NULL, &text) != GRN_SUCCESS)
    ret = hk_fts_fail(f, -HK_EIO, "search index: %s", f->ctx.errbuf);
out:
  GRN_OBJ_FIN(&f->ctx, &text);
  return ret;
}

int
hk_fts_put(hk_fts *f, hk_txn *t, const char *doc_id)
{
  HkDocument *d = NULL;
  const HkVersion *cur;
  HkTextInfo info;
  grn_obj u32, i64, ref, pref;
  grn_id did, pat, first = GRN_ID_NIL;
  uint32_t pages = 0;
  int ret;

  GRN_UINT32_INIT(&u32, 0);
  GRN_INT64_INIT(&i64, 0);
  GRN_RECORD_INIT(&ref, 0, grn_obj_id(&f->ctx, f->docs));
  GRN_RECORD_INIT(&pref, 0, grn_obj_id(&f->ctx, f->patients));
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
  pages = MIN(info.pages, HK_TEXT_PAGES_MAX);
  did = grn_table_add(&f->ctx, f->docs, doc_id, (unsigned)strlen(doc_id), NULL);
  pat =
      grn_table_add(&f->ctx, f->patients, cur->patient_id, (unsigned)strlen(cur->patient_id), NULL);
  if (did == GRN_ID_NIL || pat == GRN_ID_NIL) {
    ret = hk_fts_fail(f, -HK_EIO, "search index: %s", f->ctx.errbuf);
    goto out;
  }
  /* The new pages first, then the document's range: a write cut short
   * leaves the old range (the old text) in force, and records no range
   * names, which no search reports. */
  GRN_RECORD_SET(&f->ctx, &ref, did);
  for (uint32_t p = 1; ret == 0 && p <= pages; p++) {
    HkTextPage page;
    grn_id rid;
    ret = hk_store_get_text_page(t, doc_id, cur->version, p, &page);
    if (ret == -HK_ENOTFOUND) {
      ret = 0;
      page.text.len = 0;
    }
    if (ret == 0)
      ret = hk_fts_add_page(f, &ref, &page, &rid);
    if (ret == 0 && p == 1)
      first = rid;
    else if (ret == 0 && rid != first + p - 1)
      ret = hk_fts_fail(f, -HK_ECORRUPT,
                        "search index: the pages of %s are not in one range (run hikae-admin "
                        "reindex)",
                        doc_id);
  }
  if (ret)
    goto out;
  GRN_UINT32_SET(&f->ctx, &u32, cur->version);
  ret = hk_fts_set(f, f->d_version, did, &u32);
  GRN_INT64_SET(&f->ctx, &i64, cur->created_usec);
  if (ret == 0)
    ret = hk_fts_set(f, f->d_created, did, &i64);
  GRN_RECORD_SET(&f->ctx, &pref, pat);
  if (ret == 0)
    ret = hk_fts_set(f, f->d_patient, did, &pref);
  GRN_UINT32_SET(&f->ctx, &u32, pages ? first : 0);
  if (ret == 0)
    ret = hk_fts_set(f, f->d_first, did, &u32);
  GRN_UINT32_SET(&f->ctx, &u32, pages);
  if (ret == 0)
    ret = hk_fts_set(f, f->d_pages, did, &u32);
out:
  hk_document_free(d);
  GRN_OBJ_FIN(&f->ctx, &u32);
  GRN_OBJ_FIN(&f->ctx, &i64);
  GRN_OBJ_FIN(&f->ctx, &ref);
  GRN_OBJ_FIN(&f->ctx, &pref);
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

int
hk_fts_upgrade(hk_fts *f)
{
  int ret = 0;

  /* A layout 2 generation that a writer died upgrading has the table
   * already: what exists is kept. */
  if (!grn_ctx_get(&f->ctx, "Created", 7))
    ret = hk_fts_command(f, hk_fts_created_schema[0]);
  if (ret == 0 && !grn_ctx_get(&f->ctx, "Created.docs", 12))
    ret = hk_fts_command(f, hk_fts_created_schema[1]);
  if (ret == 0)
    ret = hk_fts_meta_set(f, "layout", HK_FTS_LAYOUT);
  if (ret == 0 && grn_obj_flush_recursive(&f->ctx, f->db) != GRN_SUCCESS)
    ret = hk_fts_fail(f, -HK_EIO, "search index: upgrade: %s", f->ctx.errbuf);
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
    ret = hk_fts_meta_set(f, "layout", HK_FTS_LAYOUT);
  if (ret == 0)
    ret = hk_fts_meta_set(f, "through", "0");
  if (ret == 0)
    ret = hk_fts_command(f, hk_fts_build_text);
  grn_obj_close(&f->ctx, f->db);
  f->db = NULL;
  if (ret == 0)
    ret = hk_fts_open_gen(f, gen);
out:
  g_free(path);
  g_free(gdir);
  return ret;
}

/* Build the postings from the rebuild's text column in one pass, then
 * detach the index from it and remove it. Groonga 13's set_info with no
 * source forgets the source but leaves the column's hook, and removing
 * a column removes every index its hooks name: the hook goes by hand. */
static int
hk_fts_index_text(hk_fts *f)
{
  grn_obj none;
  int ret = hk_fts_command(f, hk_fts_body_index);

  GRN_RECORD_INIT(&none, GRN_OBJ_VECTOR, GRN_ID_NIL);
  if (ret == 0) {
    f->body = grn_ctx_get(&f->ctx, "Terms.body", 10);
    if (!f->body || grn_obj_set_info(&f->ctx, f->body, GRN_INFO_SOURCE, &none) != GRN_SUCCESS)
      ret = hk_fts_fail(f, -HK_EIO, "search index: detaching the text: %s", f->ctx.errbuf);
  }
  while (ret == 0 && grn_obj_get_nhooks(&f->ctx, f->p_text, GRN_HOOK_SET) > 0)
    if (grn_obj_delete_hook(&f->ctx, f->p_text, GRN_HOOK_SET, 0) != GRN_SUCCESS)
      ret = hk_fts_fail(f, -HK_EIO, "search index: detaching the text: %s", f->ctx.errbuf);
  if (ret == 0) {
    f->p_text = NULL;
    ret = hk_fts_command(f, hk_fts_build_text_remove);
  }
  /* What removing the column took with it would be the postings. */
  if (ret == 0 && !grn_ctx_get(&f->ctx, "Terms.body", 10))
    ret = hk_fts_fail(f, -HK_EIO, "search index: the postings went with the text");
  GRN_OBJ_FIN(&f->ctx, &none);
  return ret;
}

/* Remove every generation in dir but keep. */
static int
hk_fts_remove_others(const char *dir, const char *keep)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  int n = 0;

  while (d && (name = g_dir_read_name(d))) {
    if (strncmp(name, "gen-", 4) == 0 && (!keep || strcmp(name, keep) != 0)) {
      char *p = g_build_filename(dir, name, NULL);
      hk_fts_rmtree(p);
      g_free(p);
      n++;
    }
  }
  if (d)
    g_dir_close(d);
  return n;
}

int
hk_fts_prune(const char *store_dir)
{
  char *dir = hk_fts_dir(store_dir);
  char *lock = g_build_filename(dir, HK_FTS_BUILD_LOCK, NULL);
  char gen[HK_FTS_GEN_MAX];
  int lfd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  int ret = 0, cur;

  if (lfd < 0) {
    ret = errno == ENOENT ? 0 : hk_err_from_errno(errno);
    goto out;
  }
  if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
    ret = -HK_EBUSY;
    goto out;
  }
  cur = hk_fts_read_current(dir, gen);
  /* A damaged `current` keeps everything: reindex sorts it out. */
  if (cur == 0 || cur == -HK_ENOTFOUND)
    ret = hk_fts_remove_others(dir, cur == 0 ? gen : NULL);
out:
  if (lfd >= 0)
    close(lfd);
  g_free(lock);
  g_free(dir);
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
  /* What a build that died left (not the current generation) goes
   * first: its space is the new one's. */
  if (hk_fts_read_current(f->dir, old) == 0)
    hk_fts_remove_others(f->dir, old);
  else
    hk_fts_remove_others(f->dir, NULL);
  old[0] = 0;
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
    ret = hk_fts_index_text(f);
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
  hk_fts_remove_others(f->dir, gen);
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

#include "hk-drop.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-sha256.h"
#include "hk-sidecar.h"
#include "hk-source-file.h"
#include "hk-inspect.h"
#include "hk-thumbnail.h"
#include "hk-time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hk_drop {
  char *name; /* the source's name */
  char *root; /* real path, no trailing slash */
  size_t max_content;
  unsigned parallel; /* parser children at once */
};

typedef struct {
  char *rel; /* sidecar path relative to the root */
  int64_t mtime_ns;
  HkFileState st;
  HkFileState old;
  bool has_old;
  bool seen_before;
  char *escape; /* set if the sidecar or content path leaves the root */
} HkCandidate;

static void
hk_candidate_free(HkCandidate *c)
{
  g_free(c->rel);
  g_free(c->escape);
  g_free(c);
}

int
hk_drop_open(const char *name, const char *root, size_t max_content, unsigned parallel,
             hk_drop **out)
{
  char *real = realpath(root, NULL);
  struct stat st;
  int ret = 0;

  *out = NULL;
  if (!hk_source_name_valid(name)) {
    ret = -HK_EINVAL;
    goto out;
  }
  if (!real || stat(real, &st) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  if (!S_ISDIR(st.st_mode)) {
    ret = -HK_EINVAL;
    goto out;
  }
  *out = g_new0(hk_drop, 1);
  (*out)->name = g_strdup(name);
  (*out)->root = g_strdup(real);
  (*out)->max_content = max_content;
  (*out)->parallel = parallel;
out:
  free(real);
  return ret;
}

void
hk_drop_free(hk_drop *d)
{
  if (!d)
    return;
  g_free(d->name);
  g_free(d->root);
  g_free(d);
}

const char *
hk_drop_root(const hk_drop *d)
{
  return d->root;
}

const char *
hk_drop_name(const hk_drop *d)
{
  return d->name;
}

static int64_t
hk_ns(const struct timespec *ts)
{
  return (int64_t)ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

/* True if the real location of abs lies inside the root. */
static bool
hk_inside(const hk_drop *d, const char *abs, char **target)
{
  char *real = realpath(abs, NULL);
  size_t n = strlen(d->root);
  bool ok = real && strncmp(real, d->root, n) == 0 && (real[n] == '/' || real[n] == 0);

  *target = g_strdup(real ? real : "(unresolvable)");
  free(real);
  return ok;
}

/* The file's state is the source's: the same folder under another name is
 * another source and looks at its files afresh. The default name keeps the
 * key of stores from before source names. */
static char *
hk_file_key(const hk_drop *d, const char *rel)
{
  if (strcmp(d->name, HK_SOURCE_DROP_DEFAULT) == 0)
    return g_strdup_printf("drop:%s|%s", d->root, rel);
  return g_strdup_printf("drop@%s:%s|%s", d->name, d->root, rel);
}

/* Fill the candidate's file state from the sidecar and content files. A
 * symlink that leaves the root sets c->escape. */
static void
hk_candidate_stat(const hk_drop *d, HkCandidate *c)
{
  char *abs = g_build_filename(d->root, c->rel, NULL);
  char *content = g_strndup(abs, strlen(abs) - strlen(HK_SIDECAR_SUFFIX));
  char *target = NULL;
  struct stat st;

  if (lstat(abs, &st) == 0) {
    if (S_ISLNK(st.st_mode) && !hk_inside(d, abs, &target)) {
      c->escape = g_strdup_printf("path escapes the drop folder: %s links to %s", c->rel, target);
    } else if (stat(abs, &st) == 0) {
      c->st.meta_mtime_ns = hk_ns(&st.st_mtim);
      c->st.meta_size = st.st_size;
    }
  }
  c->mtime_ns = c->st.meta_mtime_ns;
  g_clear_pointer(&target, g_free);
  if (!c->escape && lstat(content, &st) == 0) {
    if (S_ISLNK(st.st_mode) && !hk_inside(d, content, &target)) {
      c->escape = g_strdup_printf("path escapes the drop folder: %s links to %s",
                                  c->rel, target);
    } else if (stat(content, &st) == 0) {
      c->st.content_mtime_ns = hk_ns(&st.st_mtim);
      c->st.content_ctime_ns = hk_ns(&st.st_ctim);
      c->st.content_size = st.st_size;
      c->st.content_ino = (int64_t)st.st_ino;
    }
  }
  g_free(target);
  g_free(content);
  g_free(abs);
}

static void
hk_walk(const hk_drop *d, const char *rel, int depth, GPtrArray *out)
{
  char *abs = rel[0] ? g_build_filename(d->root, rel, NULL) : g_strdup(d->root);
  DIR *dir = NULL;
  struct dirent *e;

  if (depth > HK_DROP_MAX_DEPTH) {
    hk_warn("drop folder %s: %s is nested too deep; not descending", d->root, rel);
    goto out;
  }
  dir = opendir(abs);
  if (!dir) {
    hk_warn("drop folder %s: cannot read %s: %s", d->root, rel[0] ? rel : ".", g_strerror(errno));
    goto out;
  }
  while ((e = readdir(dir))) {
    char *child;
    unsigned char type = e->d_type;
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
      continue;
    child = rel[0] ? g_build_filename(rel, e->d_name, NULL) : g_strdup(e->d_name);
    if (type == DT_UNKNOWN) {
      struct stat st;
      char *cabs = g_build_filename(d->root, child, NULL);
      if (lstat(cabs, &st) == 0)
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
      g_free(cabs);
    }
    /* Symlinked folders are not followed: a loop or a link out of the drop
     * folder must not pull in files from elsewhere. */
    if (type == DT_DIR)
      hk_walk(d, child, depth + 1, out);
    /* Anything else named like a sidecar (a link, FIFO, socket or device
     * too) is a candidate, so that it is quarantined with its reason. */
    else if (g_str_has_suffix(e->d_name, HK_SIDECAR_SUFFIX) &&
             strlen(e->d_name) > strlen(HK_SIDECAR_SUFFIX))
      g_ptr_array_add(out, g_strdup(child));
    g_free(child);
  }
out:
  if (dir)
    closedir(dir);
  g_free(abs);
}

/* Read a whole file below the root, refusing links, FIFOs, sockets,
 * devices and anything over max bytes (hk-source-file.h). */
static int
hk_read_file(const hk_drop *d, const char *path, size_t max, GBytes **out, char **reason)
{
  char *data = NULL;
  size_t len = 0;
  int ret = hk_source_file_read(d->root, path, max, &data, &len, reason);

  if (ret == 0)
    *out = g_bytes_new_take(data, len);
  return ret;
}

/* Without a declared content_type, the content file's extension is the
 * declaration: "x.pdf" holding text is as wrong as a sidecar saying so. */
static const char *
hk_type_from_name(const char *path)
{
  const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
  const char *type = NULL;

  if (!dot || (slash && dot < slash))
    return NULL;
  if (g_ascii_strcasecmp(dot, ".pdf") == 0)
    type = "application/pdf";
  else if (g_ascii_strcasecmp(dot, ".jpg") == 0 || g_ascii_strcasecmp(dot, ".jpeg") == 0)
    type = "image/jpeg";
  else if (g_ascii_strcasecmp(dot, ".txt") == 0)
    type = "text/plain";
  return type;
}

static int
hk_fail(hk_drop *d, hk_ingest *ing, const char *source, const char *source_id, const char *sha,
        char *reason, const char *key, const HkCandidate *c)
{
  HkQuarantine *q = g_new0(HkQuarantine, 1);

  q->source_name = g_strdup(d->name);
  q->source = g_strdup(source);
  q->kind = g_strdup("bad_input");
  q->reason = reason;
  q->at = hk_time_now();
  q->source_id = g_strdup(source_id);
  q->sha256 = g_strdup(sha);
  return hk_ingest_add_failure(ing, q, key, &c->st, c->seen_before);
}

/* One candidate between reading and queueing: documents are read and
 * checked one by one, parsed in parallel children, then queued in order. */
typedef struct {
  HkCandidate *c;
  char *abs;
  char *content_path;
  char *key;
  HkVersion *v;
  HkPatient *patient;
  GBytes *content;
  char sha[HK_SHA256_HEX_LEN + 1];
  const char *sniffed;
  char *reason;            /* refused, for this reason */
  const char *fail_source; /* the path the refusal names */
  bool touch;              /* the same bytes this file gave last time */
  bool inspect;
  HkInspectJob job;
} HkPending;

static void
hk_pending_clear(HkPending *p)
{
  g_free(p->abs);
  g_free(p->content_path);
  g_free(p->key);
  hk_version_free(p->v);
  hk_patient_free(p->patient);
  if (p->content)
    g_bytes_unref(p->content);
  g_free(p->reason);
  if (p->job.thumb)
    g_bytes_unref(p->job.thumb);
  g_free(p->job.reason);
  memset(p, 0, sizeof *p);
}

/* Read and check everything but the parse. */
static void
hk_prepare(hk_drop *d, HkCandidate *c, HkPending *p)
{
  GBytes *sidecar = NULL;
  uint8_t digest[HK_SHA256_LEN];
  char *why = NULL;
  int ret;

  p->c = c;
  p->abs = g_build_filename(d->root, c->rel, NULL);
  p->content_path = g_strndup(p->abs, strlen(p->abs) - strlen(HK_SIDECAR_SUFFIX));
  p->key = hk_file_key(d, c->rel);
  p->v = hk_version_new();
  p->fail_source = p->abs;
  if (c->escape) {
    p->reason = g_strdup(c->escape);
    goto out;
  }
  if (hk_read_file(d, p->abs, HK_SIDECAR_MAX, &sidecar, &why) != 0) {
    p->reason = g_strdup_printf("sidecar: %s", why);
    goto out;
  }
  hk_sha256(g_bytes_get_data(sidecar, NULL), g_bytes_get_size(sidecar), c->st.meta_sha256);
  hk_sidecar_parse(sidecar, p->v, &p->patient, &p->reason);
  if (p->reason)
    goto out;
  p->fail_source = p->content_path;
  ret = hk_read_file(d, p->content_path, d->max_content, &p->content, &why);
  if (ret == -HK_ENOTFOUND) {
    p->reason = g_strdup_printf("content file missing: the sidecar names %s, which does not exist",
                                p->content_path);
    goto out;
  }
  if (ret) {
    p->reason = g_steal_pointer(&why);
    goto out;
  }
  hk_sha256(g_bytes_get_data(p->content, NULL), g_bytes_get_size(p->content), digest);
  hk_sha256_hex(digest, p->sha);
  memcpy(c->st.sha256, digest, sizeof digest);
  /* The same file with the bytes it gave last time (touched, or its sidecar
   * rewritten unchanged) is not a new arrival. */
  if (c->seen_before && memcmp(c->old.sha256, digest, sizeof digest) == 0 &&
      memcmp(c->old.meta_sha256, c->st.meta_sha256, sizeof digest) == 0) {
    p->touch = true;
    goto out;
  }
  p->sniffed = hk_sniff(g_bytes_get_data(p->content, NULL), g_bytes_get_size(p->content));
  if (!p->v->content_type && hk_type_from_name(p->content_path))
    p->v->content_type = g_strdup(hk_type_from_name(p->content_path));
  if (g_bytes_get_size(p->content) == 0) {
    p->reason = g_strdup("content file is empty");
  } else if (p->v->content_type && strcmp(p->v->content_type, "application/pdf") != 0 &&
             strcmp(p->v->content_type, "image/jpeg") != 0 &&
             strcmp(p->v->content_type, "text/plain") != 0) {
    p->reason = g_strdup_printf("unsupported content_type \"%s\" (PDF, JPEG and UTF-8 text only)",
                                p->v->content_type);
  } else if (!p->sniffed) {
    p->reason = g_strdup_printf("content is not a PDF, a JPEG or UTF-8 text%s%s",
                                p->v->content_type ? " as declared: " : "",
                                p->v->content_type ? p->v->content_type : "");
  } else if (p->v->content_type && strcmp(p->v->content_type, p->sniffed) != 0) {
    p->reason = g_strdup_printf("declared content_type %s, but the bytes are %s",
                                p->v->content_type, p->sniffed);
  } else {
    p->inspect = true;
    p->job.content_type = p->sniffed;
    p->job.data = g_bytes_get_data(p->content, &p->job.len);
    /* A JPEG's thumbnail comes almost free with its check; a PDF's first
     * page is drawn later (hk-thumbq.c). */
    p->job.want_thumb = strcmp(p->sniffed, "image/jpeg") == 0;
  }
out:
  if (sidecar)
    g_bytes_unref(sidecar);
  g_free(why);
}

/* Queue the outcome, in candidate order. */
static int
hk_finish(hk_drop *d, hk_ingest *ing, HkPending *p)
{
  int ret = 0;

  /* The parser could not work (no sandbox, no worker): the document is not
   * at fault. Nothing is recorded of the file, so the next scan looks at it
   * again. */
  if (!p->reason && p->inspect && p->job.ret == -HK_EIO) {
    hk_error("%s: not parsed, left for the next scan: %s", p->content_path,
             p->job.reason ? p->job.reason : "the parser could not run");
    goto out;
  }
  if (!p->reason && p->inspect && p->job.ret != 0)
    p->reason = p->job.reason ? g_strdup(p->job.reason) : g_strdup("content does not parse");
  if (p->reason) {
    ret = hk_fail(d, ing, p->fail_source, p->v->source_id, p->sha[0] ? p->sha : NULL,
                  g_steal_pointer(&p->reason), p->key, p->c);
  } else if (p->touch) {
    ret = hk_ingest_touch(ing, p->key, &p->c->st);
  } else {
    HkVersion *v = g_steal_pointer(&p->v);
    g_free(v->content_type);
    v->content_type = g_strdup(p->sniffed);
    memcpy(v->sha256, p->sha, sizeof p->sha);
    v->size = g_bytes_get_size(p->content);
    v->source = g_strdup(p->content_path);
    v->source_name = g_strdup(d->name);
    ret = hk_ingest_add_document(ing, v, g_steal_pointer(&p->content),
                                 g_steal_pointer(&p->job.thumb), g_steal_pointer(&p->patient),
                                 p->key, &p->c->st);
  }
out:
  return ret;
}

#define HK_CHUNK_DOCS 16
#define HK_CHUNK_BYTES (64u << 20)

/* Read, check, parse (in parallel) and queue candidates [from, from+n). */
static int
hk_process_chunk(hk_drop *d, hk_ingest *ing, GPtrArray *cands, guint from, guint *used)
{
  HkPending p[HK_CHUNK_DOCS];
  HkInspectJob jobs[HK_CHUNK_DOCS];
  guint n = 0, nj = 0;
  size_t bytes = 0;
  int ret = 0;

  memset(p, 0, sizeof p);
  while (n < HK_CHUNK_DOCS && from + n < cands->len && bytes < HK_CHUNK_BYTES) {
    hk_prepare(d, g_ptr_array_index(cands, from + n), &p[n]);
    if (p[n].content)
      bytes += g_bytes_get_size(p[n].content);
    n++;
  }
  for (guint i = 0; i < n; i++)
    if (p[i].inspect)
      jobs[nj++] = p[i].job;
  hk_inspect_batch(jobs, nj, d->parallel);
  nj = 0;
  for (guint i = 0; i < n; i++)
    if (p[i].inspect)
      p[i].job = jobs[nj++];
  for (guint i = 0; ret == 0 && i < n; i++)
    ret = hk_finish(d, ing, &p[i]);
  for (guint i = 0; i < n; i++)
    hk_pending_clear(&p[i]);
  *used = n;
  return ret;
}

static gint
hk_candidate_cmp(gconstpointer a, gconstpointer b)
{
  const HkCandidate *ca = *(HkCandidate *const *)a, *cb = *(HkCandidate *const *)b;

  if (ca->mtime_ns != cb->mtime_ns)
    return ca->mtime_ns < cb->mtime_ns ? -1 : 1;
  return strcmp(ca->rel, cb->rel);
}

/* Turn inotify's absolute paths into sidecar paths relative to the root. */
static void
hk_paths_to_sidecars(const hk_drop *d, GPtrArray *paths, GPtrArray *rels)
{
  size_t n = strlen(d->root);
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

  for (guint i = 0; i < paths->len; i++) {
    const char *p = g_ptr_array_index(paths, i);
    struct stat st;
    char *rel;
    if (strncmp(p, d->root, n) != 0 || (p[n] != '/' && p[n] != 0))
      continue;
    rel = g_strdup(p[n] ? p + n + 1 : "");
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
      GPtrArray *found = g_ptr_array_new_with_free_func(g_free);
      hk_walk(d, rel, 0, found);
      for (guint j = 0; j < found->len; j++)
        g_ptr_array_add(rels, g_strdup(g_ptr_array_index(found, j)));
      g_ptr_array_unref(found);
      g_free(rel);
      continue;
    }
    if (!g_str_has_suffix(rel, HK_SIDECAR_SUFFIX)) {
      /* A content file changed: look at its sidecar. */
      char *sc = g_strconcat(rel, HK_SIDECAR_SUFFIX, NULL);
      g_free(rel);
      rel = sc;
    }
    g_ptr_array_add(rels, rel);
  }
  /* One look per sidecar. */
  for (guint i = 0; i < rels->len;) {
    if (g_hash_table_contains(seen, g_ptr_array_index(rels, i))) {
      g_ptr_array_remove_index(rels, i);
    } else {
      g_hash_table_add(seen, g_ptr_array_index(rels, i));
      i++;
    }
  }
  g_hash_table_unref(seen);
}

int
hk_drop_scan(hk_drop *d, hk_ingest *ing, GPtrArray *paths)
{
  GPtrArray *rels = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *cands = g_ptr_array_new_with_free_func((GDestroyNotify)hk_candidate_free);
  hk_txn *t = NULL;
  int ret;

  if (paths)
    hk_paths_to_sidecars(d, paths, rels);
  else
    hk_walk(d, "", 0, rels);
  ret = hk_txn_begin(hk_ingest_store(ing), false, &t);
  if (ret)
    goto out;
  for (guint i = 0; i < rels->len; i++) {
    HkCandidate *c = g_new0(HkCandidate, 1);
    char *key;
    c->rel = g_strdup(g_ptr_array_index(rels, i));
    hk_candidate_stat(d, c);
    key = hk_file_key(d, c->rel);
    if (!c->escape && c->st.meta_mtime_ns == 0) {
      hk_candidate_free(c); /* gone before we looked (or never a sidecar) */
    } else if (hk_ingest_file_done(ing, t, key, &c->st)) {
      hk_candidate_free(c);
    } else {
      c->has_old = hk_store_get_file_state(t, key, &c->old) == 0;
      c->seen_before = c->has_old && c->old.ingested;
      g_ptr_array_add(cands, c);
    }
    g_free(key);
  }
  hk_txn_abort(t);
  g_ptr_array_sort(cands, hk_candidate_cmp);
  for (guint i = 0, used = 0; ret == 0 && i < cands->len; i += used)
    ret = hk_process_chunk(d, ing, cands, i, &used);
out:
  g_ptr_array_unref(cands);
  g_ptr_array_unref(rels);
  return ret;
}

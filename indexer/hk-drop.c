#include "hk-drop.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-sha256.h"
#include "hk-thumbnail.h"
#include "hk-time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hk_drop {
  char *root; /* real path, no trailing slash */
  size_t max_content;
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
hk_drop_open(const char *root, size_t max_content, hk_drop **out)
{
  char *real = realpath(root, NULL);
  struct stat st;
  int ret = 0;

  *out = NULL;
  if (!real || stat(real, &st) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  if (!S_ISDIR(st.st_mode)) {
    ret = -HK_EINVAL;
    goto out;
  }
  *out = g_new0(hk_drop, 1);
  (*out)->root = g_strdup(real);
  (*out)->max_content = max_content;
out:
  free(real);
  return ret;
}

void
hk_drop_free(hk_drop *d)
{
  if (!d)
    return;
  g_free(d->root);
  g_free(d);
}

const char *
hk_drop_root(const hk_drop *d)
{
  return d->root;
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

static char *
hk_file_key(const hk_drop *d, const char *rel)
{
  return g_strdup_printf("drop:%s|%s", d->root, rel);
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
    else if ((type == DT_REG || type == DT_LNK) && g_str_has_suffix(e->d_name, HK_SIDECAR_SUFFIX) &&
             strlen(e->d_name) > strlen(HK_SIDECAR_SUFFIX))
      g_ptr_array_add(out, g_strdup(child));
    g_free(child);
  }
out:
  if (dir)
    closedir(dir);
  g_free(abs);
}

/* Read a whole file, refusing links and anything over max bytes. */
static int
hk_read_file(const char *path, size_t max, GBytes **out, char **reason)
{
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  struct stat st;
  char *buf = NULL;
  size_t got = 0;
  int ret = -HK_EIO;

  if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ELOOP) {
    /* A link that stays inside the drop folder (checked by the caller). */
    fd = open(path, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    *reason = g_strdup_printf("cannot read %s: %s", path, g_strerror(errno));
    ret = errno == ENOENT ? -HK_ENOTFOUND : -HK_EIO;
    goto out;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *reason = g_strdup_printf("%s is not a regular file", path);
    goto out;
  }
  if ((uint64_t)st.st_size > max) {
    *reason = g_strdup_printf("%s is %" G_GINT64_FORMAT " bytes, over the limit of %zu", path,
                              (gint64)st.st_size, max);
    ret = -HK_ETOOBIG;
    goto out;
  }
  buf = g_malloc((size_t)st.st_size + 1);
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      *reason = g_strdup_printf("cannot read %s: %s", path, g_strerror(errno));
      goto out;
    }
    if (n == 0)
      break; /* shrank while we read: take what is there, the next scan sees the rest */
    got += (size_t)n;
  }
  buf[got] = 0;
  *out = g_bytes_new_take(buf, got);
  buf = NULL;
  ret = 0;
out:
  g_free(buf);
  if (fd >= 0)
    close(fd);
  return ret;
}

static const char *
hk_member_str(JsonObject *o, const char *k, size_t maxlen, bool required, char **reason)
{
  JsonNode *n = json_object_get_member(o, k);
  const char *v;

  if (!n || JSON_NODE_HOLDS_NULL(n)) {
    if (required && !*reason)
      *reason = g_strdup_printf("sidecar: missing required field \"%s\"", k);
    return NULL;
  }
  if (json_node_get_value_type(n) != G_TYPE_STRING) {
    if (!*reason)
      *reason = g_strdup_printf("sidecar: field \"%s\" must be a string", k);
    return NULL;
  }
  v = json_node_get_string(n);
  if ((required && !*v) || strlen(v) > maxlen) {
    if (!*reason)
      *reason = g_strdup_printf("sidecar: field \"%s\" must be 1-%zu bytes", k, maxlen);
    return NULL;
  }
  return v;
}

/* Parse and check a sidecar. On success fills v (and *patient if the
 * sidecar names the patient); else sets *reason. source_id is set as soon as
 * it is known, so a failure can still be tied to its document. */
static void
hk_parse_sidecar(GBytes *bytes, HkVersion *v, HkPatient **patient, char **reason)
{
  JsonParser *p = json_parser_new_immutable();
  GError *err = NULL;
  JsonObject *o;
  JsonNode *pn;
  gsize len;
  const char *data = g_bytes_get_data(bytes, &len);
  const char *s;

  if (!json_parser_load_from_data(p, data, (gssize)len, &err)) {
    *reason = g_strdup_printf("sidecar is not valid JSON: %s", err->message);
    goto out;
  }
  if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    *reason = g_strdup("sidecar is not a JSON object");
    goto out;
  }
  o = json_node_get_object(json_parser_get_root(p));
  if ((s = hk_member_str(o, "source_id", 256, true, reason)))
    v->source_id = g_strdup(s);
  if ((s = hk_member_str(o, "patient_id", 32, true, reason))) {
    if (!hk_patient_id_valid(s) && !*reason)
      *reason = g_strdup("sidecar: patient_id must be 1-32 of A-Za-z0-9-_");
    v->patient_id = g_strdup(s);
  }
  if ((s = hk_member_str(o, "type", 64, true, reason))) {
    if (!hk_version_type_valid(s) && !*reason)
      *reason = g_strdup_printf("sidecar: unknown document type \"%s\"", s);
    v->type = g_strdup(s);
  }
  if ((s = hk_member_str(o, "title", 1024, true, reason)))
    v->title = g_strdup(s);
  if ((s = hk_member_str(o, "created_at", 64, true, reason))) {
    if (hk_time_parse(s, &v->created_usec) != 0 && !*reason)
      *reason = g_strdup_printf("sidecar: created_at \"%s\" is not an RFC 3339 date-time", s);
    v->created_at = g_strdup(s);
  }
  if ((s = hk_member_str(o, "author", 256, false, reason)))
    v->author = g_strdup(s);
  if ((s = hk_member_str(o, "department", 256, false, reason)))
    v->department = g_strdup(s);
  if ((s = hk_member_str(o, "content_type", 128, false, reason))) {
    /* Parameters such as "; charset=utf-8" do not change what we check. */
    char *ct = g_ascii_strdown(s, -1), *semi = strchr(ct, ';');
    if (semi)
      *semi = 0;
    v->content_type = g_strdup(g_strstrip(ct));
    g_free(ct);
  }
  pn = json_object_get_member(o, "patient");
  if (pn && !*reason && !JSON_NODE_HOLDS_NULL(pn)) {
    if (!JSON_NODE_HOLDS_OBJECT(pn)) {
      *reason = g_strdup("sidecar: \"patient\" must be an object");
      goto out;
    }
    JsonObject *po = json_node_get_object(pn);
    HkPatient *pt = hk_patient_new(v->patient_id);
    if ((s = hk_member_str(po, "name", 256, false, reason)))
      pt->name = g_strdup(s);
    if ((s = hk_member_str(po, "kana", 256, false, reason)))
      pt->kana = g_strdup(s);
    if ((s = hk_member_str(po, "birth_date", 10, false, reason))) {
      if (!hk_time_is_date(s) && !*reason)
        *reason = g_strdup_printf("sidecar: patient.birth_date \"%s\" is not YYYY-MM-DD", s);
      pt->birth_date = g_strdup(s);
    }
    if ((s = hk_member_str(po, "sex", 1, false, reason))) {
      if (!strchr("FMOU", s[0]) && !*reason)
        *reason = g_strdup_printf("sidecar: patient.sex \"%s\" is not F, M, O or U", s);
      pt->sex = g_strdup(s);
    }
    pt->origin = HK_PATIENT_FROM_DROP;
    *patient = pt;
  }
out:
  g_clear_error(&err);
  g_object_unref(p);
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
hk_fail(hk_ingest *ing, const char *source, const char *source_id, const char *sha,
        char *reason, const char *key, const HkCandidate *c)
{
  HkQuarantine *q = g_new0(HkQuarantine, 1);

  q->source = g_strdup(source);
  q->kind = g_strdup("bad_input");
  q->reason = reason;
  q->at = hk_time_now();
  q->source_id = g_strdup(source_id);
  q->sha256 = g_strdup(sha);
  return hk_ingest_add_failure(ing, q, key, &c->st, c->seen_before);
}

static int
hk_process(hk_drop *d, hk_ingest *ing, HkCandidate *c)
{
  char *abs = g_build_filename(d->root, c->rel, NULL);
  char *content_path = g_strndup(abs, strlen(abs) - strlen(HK_SIDECAR_SUFFIX));
  char *key = hk_file_key(d, c->rel);
  char *reason = NULL;
  GBytes *sidecar = NULL, *content = NULL, *thumb = NULL;
  HkVersion *v = hk_version_new();
  HkPatient *patient = NULL;
  const char *sniffed;
  uint8_t digest[HK_SHA256_LEN];
  char sha[HK_SHA256_HEX_LEN + 1] = "";
  int ret = 0;

  if (c->escape) {
    ret = hk_fail(ing, abs, NULL, NULL, g_strdup(c->escape), key, c);
    goto out;
  }
  if (hk_read_file(abs, HK_SIDECAR_MAX, &sidecar, &reason) != 0) {
    ret = hk_fail(ing, abs, NULL, NULL, g_strdup_printf("sidecar: %s", reason), key, c);
    goto out;
  }
  hk_sha256(g_bytes_get_data(sidecar, NULL), g_bytes_get_size(sidecar), c->st.meta_sha256);
  hk_parse_sidecar(sidecar, v, &patient, &reason);
  if (reason) {
    ret = hk_fail(ing, abs, v->source_id, NULL, g_steal_pointer(&reason), key, c);
    goto out;
  }
  ret = hk_read_file(content_path, d->max_content, &content, &reason);
  if (ret == -HK_ENOTFOUND) {
    g_free(reason);
    reason = g_strdup_printf("content file missing: the sidecar names %s, which does not exist",
                             content_path);
  }
  if (ret) {
    ret = hk_fail(ing, content_path, v->source_id, NULL, g_steal_pointer(&reason), key, c);
    goto out;
  }
  hk_sha256(g_bytes_get_data(content, NULL), g_bytes_get_size(content), digest);
  hk_sha256_hex(digest, sha);
  memcpy(c->st.sha256, digest, sizeof digest);
  /* The same file with the bytes it gave last time (touched, or its sidecar
   * rewritten unchanged) is not a new arrival. */
  if (c->seen_before && memcmp(c->old.sha256, digest, sizeof digest) == 0 &&
      memcmp(c->old.meta_sha256, c->st.meta_sha256, sizeof digest) == 0) {
    ret = hk_ingest_touch(ing, key, &c->st);
    goto out;
  }
  sniffed = hk_sniff(g_bytes_get_data(content, NULL), g_bytes_get_size(content));
  if (!v->content_type && hk_type_from_name(content_path))
    v->content_type = g_strdup(hk_type_from_name(content_path));
  if (g_bytes_get_size(content) == 0) {
    reason = g_strdup("content file is empty");
  } else if (v->content_type && strcmp(v->content_type, "application/pdf") != 0 &&
             strcmp(v->content_type, "image/jpeg") != 0 &&
             strcmp(v->content_type, "text/plain") != 0) {
    reason = g_strdup_printf("unsupported content_type \"%s\" (PDF, JPEG and UTF-8 text only)",
                             v->content_type);
  } else if (!sniffed) {
    reason = g_strdup_printf("content is not a PDF, a JPEG or UTF-8 text%s%s",
                             v->content_type ? " as declared: " : "",
                             v->content_type ? v->content_type : "");
  } else if (v->content_type && strcmp(v->content_type, sniffed) != 0) {
    reason = g_strdup_printf("declared content_type %s, but the bytes are %s", v->content_type,
                             sniffed);
  }
  if (!reason && hk_inspect(sniffed, g_bytes_get_data(content, NULL), g_bytes_get_size(content),
                            &thumb, &reason) != 0 && !reason)
    reason = g_strdup("content does not parse");
  if (reason) {
    ret = hk_fail(ing, content_path, v->source_id, sha, g_steal_pointer(&reason), key, c);
    goto out;
  }
  g_free(v->content_type);
  v->content_type = g_strdup(sniffed);
  memcpy(v->sha256, sha, sizeof sha);
  v->size = g_bytes_get_size(content);
  v->source = g_strdup(content_path);
  ret = hk_ingest_add_document(ing, v, g_steal_pointer(&content), g_steal_pointer(&thumb),
                               g_steal_pointer(&patient), key, &c->st);
  v = NULL;
out:
  if (sidecar)
    g_bytes_unref(sidecar);
  if (content)
    g_bytes_unref(content);
  if (thumb)
    g_bytes_unref(thumb);
  hk_version_free(v);
  hk_patient_free(patient);
  g_free(reason);
  g_free(key);
  g_free(content_path);
  g_free(abs);
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
  for (guint i = 0; ret == 0 && i < cands->len; i++)
    ret = hk_process(d, ing, g_ptr_array_index(cands, i));
out:
  g_ptr_array_unref(cands);
  g_ptr_array_unref(rels);
  return ret;
}

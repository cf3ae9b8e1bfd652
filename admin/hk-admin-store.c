/* hikae-admin's store commands: stats, ls, export, verify, quarantine,
 * seal, unseal. All but seal and unseal open the store read-only. */
#include "hk-admin.h"

#include "hk-config.h"
#include "hk-error.h"
#include "hk-fts.h"
#include "hk-json.h"
#include "hk-sha256.h"
#include "hk-time.h"

#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void
hk_print_json(JsonBuilder *b)
{
  char *text = hk_json_to_text(b);

  puts(text);
  g_free(text);
}

static void
hk_member_time(JsonBuilder *b, const char *name, int64_t usec)
{
  json_builder_set_member_name(b, name);
  if (usec) {
    char *t = hk_time_format(usec);
    json_builder_add_string_value(b, t);
    g_free(t);
  } else {
    json_builder_add_null_value(b);
  }
}

static void
hk_member_int(JsonBuilder *b, const char *name, int64_t v)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, v);
}

/* Parse "--store DIR" plus extra entries; open the store. */
static int
hk_admin_open(int *argc, char ***argv, GOptionEntry *extra, const char *params, bool write,
              hk_store **s, char **store_dir)
{
  GOptionEntry store_entry[] = {
    { "store", 0, 0, G_OPTION_ARG_FILENAME, store_dir, "Document store folder", "DIR" },
    { NULL },
  };
  GArray *all = g_array_new(TRUE, TRUE, sizeof(GOptionEntry));
  char *data = NULL, *why = NULL;
  int fd = -1, ret, status = 0;

  g_array_append_vals(all, store_entry, 1);
  for (GOptionEntry *e = extra; e && e->long_name; e++)
    g_array_append_vals(all, e, 1);
  status = hk_admin_parse(params, NULL, (GOptionEntry *)(void *)all->data, argc, argv, store_dir,
                          "--store DIR");
  if (status)
    goto out;
  /* These commands are what is run on a store in doubt: a data.mdb cut
   * short must be named, not kill the process with SIGBUS at its first
   * read past the end (a missing one is told by the open below). */
  data = g_build_filename(*store_dir, "data.mdb", NULL);
  fd = open(data, O_RDONLY | O_CLOEXEC);
  ret = fd < 0 ? 0 : hk_admin_check_lmdb(fd, &why);
  if (ret) {
    fprintf(stderr, "%s: cannot open store %s: %s\n", HK_ADMIN_PROGRAM, *store_dir,
            why ? why : hk_strerror(ret));
    status = 1;
    goto out;
  }
  ret = hk_store_open(*store_dir, write ? 0 : HK_STORE_RDONLY, s);
  if (ret) {
    fprintf(stderr, "%s: cannot open store %s: %s\n", HK_ADMIN_PROGRAM, *store_dir,
            ret == -HK_ENOTFOUND ? "no store there" : hk_strerror(ret));
    status = 1;
  }
out:
  if (fd >= 0)
    close(fd);
  g_free(data);
  g_free(why);
  g_array_unref(all);
  return status;
}

/* The search index's state for stats: "ok" (then *unindexed: texts
 * stored but not in it yet), "missing", "unusable" (of another store or
 * layout, damaged: the indexer rebuilds a small store's, else reindex),
 * or "no_access" (Groonga opens its files read-write: docs/search.md). */
static const char *
hk_admin_search_state(hk_store *s, uint64_t seq, int64_t *unindexed)
{
  hk_fts *f = NULL;
  uint64_t through = 0;
  int ret = hk_fts_open(s, false, &f);
  const char *state = ret == 0               ? "ok"
                      : ret == -HK_ENOTFOUND ? "missing"
                      : ret == -HK_EPERM     ? "no_access"
                                             : "unusable";

  *unindexed = -1;
  if (ret == 0 && hk_fts_through(f, &through) == 0)
    *unindexed = seq > through ? (int64_t)(seq - through) : 0;
  hk_fts_close(f);
  return state;
}

int
hk_admin_stats_main(int argc, char **argv)
{
  char *dir = NULL;
  hk_store *s = NULL;
  hk_txn *t = NULL;
  HkStoreStats st = { 0 };
  HkTextStats ts = {0};
  JsonBuilder *b = NULL;
  const char *search;
  uint64_t seq = 0;
  int64_t unindexed;
  int ret, status;

  status = hk_admin_open(&argc, &argv, NULL, "stats", false, &s, &dir);
  if (status)
    goto out;
  status = 1;
  ret = hk_txn_begin(s, false, &t);
  if (ret == 0)
    ret = hk_store_stats(t, &st);
  if (ret == 0)
    ret = hk_store_text_stats(t, &ts);
  if (ret == 0) {
    ret = hk_store_text_seq(t, &seq);
    if (ret == -HK_ENOTFOUND)
      ret = 0;
  }
  if (ret) {
    fprintf(stderr, "%s: stats: %s\n", HK_ADMIN_PROGRAM, hk_strerror(ret));
    goto out;
  }
  search = hk_admin_search_state(s, seq, &unindexed);
  b = json_builder_new();
  json_builder_begin_object(b);
  hk_member_int(b, "documents", (int64_t)st.documents);
  hk_member_int(b, "versions", (int64_t)st.versions);
  hk_member_int(b, "patients", (int64_t)st.patients);
  hk_member_int(b, "blobs", (int64_t)st.blobs);
  hk_member_int(b, "thumbnails", (int64_t)st.thumbnails);
  hk_member_int(b, "thumbnails_pending", (int64_t)st.thumbnails_pending);
  hk_member_int(b, "quarantined", (int64_t)st.quarantined);
  hk_member_int(b, "withdrawn", (int64_t)st.withdrawn);
  hk_member_int(b, "inpatients", (int64_t)st.inpatients);
  /* Text extraction (docs/search.md): failed counts those with no attempt
   * left; a failure to be tried again is pending. */
  hk_member_int(b, "texts_done", (int64_t)ts.done);
  hk_member_int(b, "texts_pending", (int64_t)ts.pending);
  hk_member_int(b, "texts_failed", (int64_t)ts.failed);
  hk_member_int(b, "texts_needs_ocr", (int64_t)ts.needs_ocr);
  hk_member_int(b, "texts_unsupported", (int64_t)ts.unsupported);
  /* The index's lag: texts stored but not searchable yet. */
  hk_json_member_str(b, "search_index", search);
  if (unindexed >= 0)
    hk_member_int(b, "texts_unindexed", unindexed);
  hk_member_time(b, "archive_as_of", st.archive_as_of);
  hk_member_time(b, "last_document_at", st.last_document_at);
  hk_json_member_str(b, "indexer", hk_indexer_state_name(hk_indexer_effective_state(
                                  &st.indexer, hk_time_now(), HK_ADMIN_STALE_S)));
  if (st.indexer.state == HK_INDEXER_SEALED) {
    hk_json_member_str(b, "sealed_reason", st.indexer.reason);
    hk_member_time(b, "sealed_at", st.indexer.sealed_at);
  }
  hk_member_time(b, "indexer_heartbeat_at", st.indexer.heartbeat_at);
  hk_member_int(b, "map_size", (int64_t)hk_store_map_size(s));
  json_builder_end_object(b);
  hk_print_json(b);
  status = 0;
out:
  if (b)
    g_object_unref(b);
  hk_indexer_info_clear(&st.indexer);
  hk_txn_abort(t);
  hk_store_close(s);
  g_free(dir);
  return status;
}

static int
hk_ls_one(const HkVersion *v, bool current, bool withdrawn, void *data)
{
  JsonBuilder *b = json_builder_new();
  char *ingested = hk_time_format(v->ingested_at);
  HkDocument *d = NULL;
  hk_txn *t = data;

  /* The document's own record (its source, refusals, moves) for the
   * current version's line. */
  if (current && t && hk_store_get_document(t, v->doc_id, &d) != 0)
    d = NULL;
  json_builder_begin_object(b);
  hk_json_member_str(b, "id", v->doc_id);
  hk_json_member_str(b, "patient_id", v->patient_id);
  hk_json_member_str(b, "source_id", v->source_id);
  hk_json_member_str(b, "type", v->type);
  hk_json_member_str(b, "title", v->title);
  hk_member_int(b, "version", v->version);
  json_builder_set_member_name(b, "current");
  json_builder_add_boolean_value(b, current);
  json_builder_set_member_name(b, "withdrawn");
  json_builder_add_boolean_value(b, withdrawn);
  hk_json_member_str(b, "sha256", v->sha256);
  hk_member_int(b, "size", (int64_t)v->size);
  hk_json_member_str(b, "content_type", v->content_type);
  hk_json_member_str(b, "created_at", v->created_at);
  hk_json_member_str(b, "ingested_at", ingested);
  hk_json_member_str(b, "author", v->author);
  hk_json_member_str(b, "department", v->department);
  hk_json_member_str(b, "source", v->source);
  if (v->code) {
    hk_json_member_str(b, "code", v->code);
    hk_json_member_str(b, "code_name", v->code_name);
  }
  hk_json_member_str(b, "source_name", v->source_name ? v->source_name : d ? d->source_name : NULL);
  if (d) {
    HkMove m;
    hk_member_int(b, "refused_newer", d->refused->len);
    if (d->refused->len) {
      const HkRefusal *r = d->refused->pdata[d->refused->len - 1];
      hk_member_time(b, "refused_at", r->at);
      hk_json_member_str(b, "refused_reason", r->reason);
      hk_json_member_str(b, "refused_sha256", r->sha256);
    }
    /* A moved document: where it came from. */
    hk_document_move(d, v->patient_id, &m);
    if (m.kind == HK_MOVE_FROM) {
      hk_json_member_str(b, "moved_from", m.other_patient);
      hk_member_time(b, "moved_at", m.at);
    }
  }
  json_builder_end_object(b);
  hk_print_json(b);
  g_object_unref(b);
  g_free(ingested);
  hk_document_free(d);
  return 0;
}

int
hk_admin_ls_main(int argc, char **argv)
{
  char *dir = NULL, *patient = NULL;
  GOptionEntry extra[] = {
    { "patient", 0, 0, G_OPTION_ARG_STRING, &patient, "Only this patient's documents", "ID" },
    { NULL },
  };
  hk_store *s = NULL;
  hk_txn *t = NULL;
  int ret, status;

  status = hk_admin_open(&argc, &argv, extra, "ls", false, &s, &dir);
  if (status)
    goto out;
  if (patient && !hk_patient_id_valid(patient)) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "--patient: not a patient ID");
    goto out;
  }
  ret = hk_txn_begin(s, false, &t);
  if (ret == 0)
    ret = hk_store_foreach_version(t, patient, hk_ls_one, t);
  if (ret) {
    fprintf(stderr, "%s: ls: %s\n", HK_ADMIN_PROGRAM, hk_strerror(ret));
    status = 1;
  }
out:
  hk_txn_abort(t);
  hk_store_close(s);
  g_free(dir);
  g_free(patient);
  return status;
}

/* Write all of data to path through a temporary file and a rename, so a
 * reader never sees half an export. */
static int
hk_write_atomic(const char *path, const void *data, size_t len)
{
  char *tmp = g_strdup_printf("%s.tmp-%d", path, (int)getpid());
  const char *p = data;
  int fd = -1, ret = 0;

  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ret = hk_err_from_errno(errno);
      goto out;
    }
    p += n;
    len -= (size_t)n;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    fd = -1;
    ret = hk_err_from_errno(errno);
    goto out;
  }
  fd = -1;
  if (rename(tmp, path) != 0)
    ret = hk_err_from_errno(errno);
out:
  if (fd >= 0)
    close(fd);
  if (ret)
    unlink(tmp);
  g_free(tmp);
  return ret;
}

int
hk_admin_export_main(int argc, char **argv)
{
  char *dir = NULL, *doc = NULL, *out_path = NULL;
  gint version = 0;
  GOptionEntry extra[] = {
    { "doc", 0, 0, G_OPTION_ARG_STRING, &doc, "Document ID", "ID" },
    { "version", 0, 0, G_OPTION_ARG_INT, &version, "Version (default: current)", "N" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "Where to write the bytes (- for stdout)",
      "FILE" },
    { NULL },
  };
  hk_store *s = NULL;
  hk_txn *t = NULL;
  HkVersion *v = NULL;
  const void *data;
  size_t len;
  uint8_t digest[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];
  int ret, status;

  status = hk_admin_open(&argc, &argv, extra, "export", false, &s, &dir);
  if (status)
    goto out;
  if (!doc || !out_path || version < 0) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "export needs --doc ID and --out FILE");
    goto out;
  }
  status = 1;
  ret = hk_txn_begin(s, false, &t);
  if (ret == 0)
    ret = hk_store_get_version(t, doc, (uint32_t)version, &v);
  if (ret == -HK_ENOTFOUND) {
    fprintf(stderr, "%s: export: no document %s%s\n", HK_ADMIN_PROGRAM, doc,
            version ? " at that version" : "");
    goto out;
  }
  if (ret == 0)
    ret = hk_store_get_blob(t, v->sha256, &data, &len);
  if (ret) {
    fprintf(stderr, "%s: export: %s\n", HK_ADMIN_PROGRAM, hk_strerror(ret));
    goto out;
  }
  /* Never hand out bytes that do not match their recorded hash. */
  hk_sha256(data, len, digest);
  hk_sha256_hex(digest, hex);
  if (strcmp(hex, v->sha256) != 0) {
    fprintf(stderr, "%s: export: stored bytes of %s v%u do not match their SHA-256\n",
            HK_ADMIN_PROGRAM, doc, v->version);
    goto out;
  }
  if (strcmp(out_path, "-") == 0)
    ret = fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -HK_EIO;
  else
    ret = hk_write_atomic(out_path, data, len);
  if (ret) {
    fprintf(stderr, "%s: export: cannot write %s: %s\n", HK_ADMIN_PROGRAM, out_path,
            hk_strerror(ret));
    goto out;
  }
  status = 0;
out:
  hk_version_free(v);
  hk_txn_abort(t);
  hk_store_close(s);
  g_free(dir);
  g_free(doc);
  g_free(out_path);
  return status;
}

typedef struct {
  hk_txn *t;
  FILE *err;
  uint64_t checked;
  uint64_t bad;
} HkVerify;

static int
hk_verify_one(const HkVersion *v, bool current, bool withdrawn, void *data)
{
  HkVerify *vf = data;
  const void *bytes;
  size_t len;
  uint8_t digest[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];
  int ret = hk_store_get_blob(vf->t, v->sha256, &bytes, &len);

  vf->checked++;
  if (ret) {
    fprintf(vf->err, "MISSING %s v%u sha256 %s: %s\n", v->doc_id, v->version, v->sha256,
            hk_strerror(ret));
    vf->bad++;
    return 0;
  }
  hk_sha256(bytes, len, digest);
  hk_sha256_hex(digest, hex);
  if (strcmp(hex, v->sha256) != 0 || len != v->size) {
    fprintf(vf->err, "MISMATCH %s v%u: recorded sha256 %s size %" G_GUINT64_FORMAT
                     ", stored bytes hash to %s size %zu\n",
            v->doc_id, v->version, v->sha256, v->size, hex, len);
    vf->bad++;
  }
  return 0;
}

int
hk_admin_verify_store(hk_store *s, FILE *err, uint64_t *checked, uint64_t *bad)
{
  HkVerify vf = { .err = err };
  int ret = hk_txn_begin(s, false, &vf.t);

  if (ret == 0)
    ret = hk_store_foreach_version(vf.t, NULL, hk_verify_one, &vf);
  /* The source registry must agree with the documents, or a file could
   * reach the wrong document (docs/store.md). */
  if (ret == 0) {
    uint64_t docs = 0, bad_sources = 0;
    ret = hk_store_check_sources(vf.t, err, &docs, &bad_sources);
    vf.bad += bad_sources;
  }
  /* The rows answer timelines: each must say what its records say. */
  if (ret == 0) {
    uint64_t docs = 0, bad_rows = 0;
    ret = hk_store_check_rows(vf.t, err, &docs, &bad_rows);
    vf.bad += bad_rows;
  }
  /* So do the patient rows, for search and the census. */
  if (ret == 0) {
    uint64_t patients = 0, bad_prows = 0;
    ret = hk_store_check_patient_rows(vf.t, err, &patients, &bad_prows);
    vf.bad += bad_prows;
  }
  /* Extracted text is derived, but the API and search read it as it is:
   * each record must decode and belong to a version. */
  if (ret == 0) {
    uint64_t texts = 0, bad_texts = 0;
    ret = hk_store_check_texts(vf.t, err, &texts, &bad_texts);
    vf.bad += bad_texts;
  }
  hk_txn_abort(vf.t);
  *checked = vf.checked;
  *bad = vf.bad;
  return ret;
}

int
hk_admin_verify_main(int argc, char **argv)
{
  char *dir = NULL;
  hk_store *s = NULL;
  uint64_t checked = 0, bad = 0;
  int ret, status;

  status = hk_admin_open(&argc, &argv, NULL, "verify", false, &s, &dir);
  if (status)
    goto out;
  ret = hk_admin_verify_store(s, stdout, &checked, &bad);
  if (ret) {
    fprintf(stderr, "%s: verify: %s\n", HK_ADMIN_PROGRAM, hk_strerror(ret));
    status = 1;
    goto out;
  }
  printf("verified %" G_GUINT64_FORMAT " versions: %" G_GUINT64_FORMAT " mismatches\n", checked,
         bad);
  status = bad ? 1 : 0;
out:
  hk_store_close(s);
  g_free(dir);
  return status;
}

/* The index is derived: rebuilt from LMDB, opened read-only here, so it
 * may run while the indexer writes (docs/search.md, "Index"). */
int
hk_admin_reindex_main(int argc, char **argv)
{
  char *dir = NULL, *where = NULL;
  hk_store *s = NULL;
  hk_fts *f = NULL;
  uint64_t docs = 0, through = 0;
  int64_t t0 = g_get_monotonic_time();
  int ret, status;

  status = hk_admin_open(&argc, &argv, NULL, "reindex", false, &s, &dir);
  if (status)
    goto out;
  where = hk_fts_dir(dir);
  ret = hk_fts_rebuild(s, &docs);
  if (ret == 0)
    ret = hk_fts_open(s, false, &f);
  if (ret == 0)
    ret = hk_fts_through(f, &through);
  if (ret) {
    const char *why = f && hk_fts_reason(f)[0] ? hk_fts_reason(f) : hk_strerror(ret);
    if (ret == -HK_EBUSY)
      why = "another reindex is running";
    /* The operator is told which folder, not only what went wrong. */
    fprintf(stderr, "%s: reindex: %s: %s\n", HK_ADMIN_PROGRAM, where, why);
    status = 1;
    goto out;
  }
  printf("reindexed %" G_GUINT64_FORMAT " documents (texts through %" G_GUINT64_FORMAT
         ") into %s in %.1f s\n",
         docs, through, where, (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
out:
  hk_fts_close(f);
  hk_store_close(s);
  g_free(where);
  g_free(dir);
  return status;
}

static int
hk_quarantine_one(const HkQuarantine *q, void *data)
{
  JsonBuilder *b = json_builder_new();

  json_builder_begin_object(b);
  hk_json_member_str(b, "source", q->source);
  hk_json_member_str(b, "kind", q->kind);
  hk_json_member_str(b, "reason", q->reason);
  hk_member_time(b, "at", q->at);
  if (q->source_id)
    hk_json_member_str(b, "source_id", q->source_id);
  if (q->source_name)
    hk_json_member_str(b, "source_name", q->source_name);
  if (q->doc_id)
    hk_json_member_str(b, "doc_id", q->doc_id);
  if (q->sha256)
    hk_json_member_str(b, "sha256", q->sha256);
  json_builder_end_object(b);
  hk_print_json(b);
  g_object_unref(b);
  return 0;
}

int
hk_admin_quarantine_main(int argc, char **argv)
{
  char *dir = NULL;
  hk_store *s = NULL;
  hk_txn *t = NULL;
  int ret, status;

  status = hk_admin_open(&argc, &argv, NULL, "quarantine", false, &s, &dir);
  if (status)
    goto out;
  ret = hk_txn_begin(s, false, &t);
  if (ret == 0)
    ret = hk_store_quarantine_foreach(t, hk_quarantine_one, NULL);
  if (ret) {
    fprintf(stderr, "%s: quarantine: %s\n", HK_ADMIN_PROGRAM, hk_strerror(ret));
    status = 1;
  }
out:
  hk_txn_abort(t);
  hk_store_close(s);
  g_free(dir);
  return status;
}

int
hk_admin_unseal_main(int argc, char **argv)
{
  char *dir = NULL;
  hk_store *s = NULL;
  hk_txn *t = NULL;
  HkIndexerInfo info = { 0 };
  int ret, status;

  status = hk_admin_open(&argc, &argv, NULL, "unseal", true, &s, &dir);
  if (status)
    goto out;
  status = 1;
  ret = hk_txn_begin(s, true, &t);
  if (ret == 0)
    ret = hk_store_get_indexer(t, &info);
  if (ret)
    goto fail;
  if (info.state != HK_INDEXER_SEALED) {
    printf("the indexer is not sealed (%s); nothing to do\n", hk_indexer_state_name(info.state));
    status = 0;
    goto out;
  }
  printf("unsealing; the seal said: %s\n", info.reason ? info.reason : "(no reason)");
  g_clear_pointer(&info.reason, g_free);
  /* A running indexer sees the change at its next rescan and resumes. */
  info.state = HK_INDEXER_STOPPED;
  info.sealed_at = 0;
  ret = hk_store_set_indexer(t, &info);
  if (ret == 0)
    ret = hk_txn_commit(t);
  t = NULL;
  if (ret)
    goto fail;
  status = 0;
  goto out;
fail:
  fprintf(stderr, "%s: unseal: %s\n", HK_ADMIN_PROGRAM, hk_strerror(ret));
out:
  hk_indexer_info_clear(&info);
  hk_txn_abort(t);
  hk_store_close(s);
  g_free(dir);
  return status;
}

/* A reason is shown by stats, the API's status and the viewer: one line
 * of printable text, short enough to read at a glance. */
static const char *
hk_seal_reason_problem(const char *reason)
{
  const char *why = NULL;

  if (!*reason || strspn(reason, " \t") == strlen(reason))
    why = "--reason: say why (it is shown with the seal)";
  else if (strlen(reason) > HK_SEAL_REASON_MAX)
    why = "--reason: at most " G_STRINGIFY(HK_SEAL_REASON_MAX) " bytes";
  else if (!g_utf8_validate(reason, -1, NULL))
    why = "--reason: not valid UTF-8";
  for (const char *p = reason; !why && *p; p = g_utf8_next_char(p))
    if (g_unichar_iscntrl(g_utf8_get_char(p)))
      why = "--reason: one line of text, no control characters";
  return why;
}

int
hk_admin_seal_main(int argc, char **argv)
{
  char *dir = NULL, *reason = NULL, *t_text = NULL;
  GOptionEntry extra[] = {
    { "reason", 0, 0, G_OPTION_ARG_STRING, &reason,
      "Why ingest stops (required; shown by stats and /api/v1/status)", "TEXT" },
    { NULL },
  };
  struct passwd *pw = getpwuid(getuid());
  hk_store *s = NULL;
  hk_txn *t = NULL;
  HkIndexerInfo info = { 0 };
  const char *why;
  int ret, status;

  status = hk_admin_open(&argc, &argv, extra, "seal", true, &s, &dir);
  if (status)
    goto out;
  if (!reason) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "--reason TEXT is required");
    goto out;
  }
  why = hk_seal_reason_problem(reason);
  if (why) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "%s", why);
    goto out;
  }
  status = 1;
  ret = hk_txn_begin(s, true, &t);
  if (ret == 0)
    ret = hk_store_get_indexer(t, &info);
  if (ret)
    goto fail;
  if (info.state == HK_INDEXER_SEALED) {
    /* The first seal says what happened first: keep it. */
    t_text = hk_time_format(info.sealed_at);
    printf("already sealed since %s: %s\nthe seal is kept as it was\n", t_text,
           info.reason ? info.reason : "(no reason)");
    status = 0;
    goto out;
  }
  g_free(info.reason);
  info.reason = g_strdup_printf("by hand (host:%s): %s", pw ? pw->pw_name : "?", reason);
  info.state = HK_INDEXER_SEALED;
  info.sealed_at = hk_time_now();
  /* heartbeat_at and pid stay the indexer's own: they tell whether one
   * runs. Every ingest write checks the seal in its own transaction
   * (hk_store_check_unsealed), so nothing is ingested after this commit. */
  ret = hk_store_set_indexer(t, &info);
  if (ret == 0)
    ret = hk_txn_commit(t);
  t = NULL;
  if (ret)
    goto fail;
  t_text = hk_time_format(info.sealed_at);
  printf("sealed at %s: %s\nnothing more is ingested; the archive is served as it is.\n"
         "`%s unseal --store %s` resumes ingest.\n",
         t_text, info.reason, HK_ADMIN_PROGRAM, dir);
  status = 0;
  goto out;
fail:
  fprintf(stderr, "%s: seal: %s\n", HK_ADMIN_PROGRAM, hk_strerror(ret));
out:
  hk_indexer_info_clear(&info);
  hk_txn_abort(t);
  hk_store_close(s);
  g_free(dir);
  g_free(reason);
  g_free(t_text);
  return status;
}

int
hk_admin_migrate_main(int argc, char **argv)
{
  char *dir = NULL, *drop_name = NULL, *ssmix2_name = NULL, *lock_path = NULL;
  GOptionEntry entries[] = {
      {"store", 0, 0, G_OPTION_ARG_FILENAME, &dir, "Document store folder", "DIR"},
      {"drop-name", 0, 0, G_OPTION_ARG_STRING, &drop_name,
       "Source name for drop-folder documents (default \"drop\")", "NAME"},
      {"ssmix2-name", 0, 0, G_OPTION_ARG_STRING, &ssmix2_name,
       "Source name for SS-MIX2 documents (default \"ssmix2\")", "NAME"},
      {NULL},
  };
  hk_store *s = NULL;
  uint64_t migrated = 0;
  int from;
  int lock_fd = -1, ret, status = 1;

  ret = hk_admin_parse("migrate", NULL, entries, &argc, &argv, &dir, "--store DIR");
  if (ret) {
    status = ret;
    goto out;
  }
  if (!drop_name)
    drop_name = g_strdup(HK_SOURCE_DROP_DEFAULT);
  if (!ssmix2_name)
    ssmix2_name = g_strdup(HK_SOURCE_SSMIX2_DEFAULT);
  if (!hk_source_name_valid(drop_name) || !hk_source_name_valid(ssmix2_name)) {
    status = hk_usage_error(HK_ADMIN_PROGRAM,
                            "a source name is 1-%d of A-Za-z0-9._- (not starting with . or -)",
                            HK_SOURCE_NAME_MAX);
    goto out;
  }
  /* No indexer may write while the store changes format. */
  lock_path = g_build_filename(dir, "indexer.lock", NULL);
  lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    fprintf(stderr, "%s: migrate: %s: %s\n", HK_ADMIN_PROGRAM, lock_path,
            lock_fd < 0 ? g_strerror(errno) : "a hikae-indexer is running; stop it first");
    goto out;
  }
  ret = hk_store_open(dir, HK_STORE_MIGRATE, &s);
  if (ret) {
    fprintf(stderr, "%s: cannot open store %s: %s\n", HK_ADMIN_PROGRAM, dir,
            ret == -HK_ENOTFOUND ? "no store there" : hk_strerror(ret));
    goto out;
  }
  if (hk_store_format(s) == HK_STORE_FORMAT) {
    printf("store format %d already; nothing to migrate\n", HK_STORE_FORMAT);
    status = 0;
    goto out;
  }
  from = hk_store_format(s);
  ret = hk_store_migrate(s, drop_name, ssmix2_name, &migrated);
  if (ret) {
    fprintf(stderr,
            "%s: migrate: %s; the store is left at format %d (run migrate again to finish)\n",
            HK_ADMIN_PROGRAM, hk_strerror(ret), hk_store_format(s));
    goto out;
  }
  if (from == 1)
    printf("migrated store format 1 to 2: %" G_GUINT64_FORMAT " documents registered (SS-MIX2 "
           "under \"%s\", the rest under \"%s\"), every document ID kept\n",
           migrated, ssmix2_name, drop_name);
  if (from <= 2)
    printf("migrated store format 2 to 3: a row built for every document\n");
  if (from <= 3)
    printf("migrated store format 3 to 4: a row built for every patient\n");
  printf("migrated store format 4 to %d: every timeline entry holds its document's row\n",
         HK_STORE_FORMAT);
  status = 0;
out:
  hk_store_close(s);
  if (lock_fd >= 0)
    close(lock_fd);
  g_free(lock_path);
  g_free(dir);
  g_free(drop_name);
  g_free(ssmix2_name);
  return status;
}

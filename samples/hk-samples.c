/* hikae-samples: a deterministic generator of synthetic patients and
 * drop-folder documents (and, with --ssmix2, SS-MIX2 storage).
 *
 * Everything written is a function of --seed, --patients and
 * --docs-per-patient: the same command gives byte-identical files, whatever
 * --jobs is. Each document draws from its own generator, seeded from (seed,
 * document number), so one document's draws never shift another's and
 * worker processes can each take a share of the patients. Documents are
 * streamed: only the patient table stays in memory. */
#include "hk-config.h"
#include "hk-error.h"
#include "hk-log.h"
#include "hk-sha256.h"
#include "hk-samples-doc.h"
#include "hk-samples-ocr.h"
#include "hk-samples-patient.h"
#include "hk-samples-render.h"
#include "hk-samples-scan.h"
#include "hk-samples-ssmix2.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HK_PROGRAM "hikae-samples"

/* Limits that keep a typo from filling the disk; 100,000 documents is the
 * scale the project needs, these leave room far beyond it. */
#define HK_MAX_PATIENTS 1000000
#define HK_MAX_DOCS_PER_PATIENT 10000
#define HK_MAX_DOCUMENTS G_GUINT64_CONSTANT(10000000)
#define HK_MAX_JOBS 64
/* Known-text scans are 0.2-0.6 MB each. */
#define HK_MAX_OCR_SCANS 100000

/* Independent random streams, so that changing one part of the output (more
 * documents per patient, --ssmix2) leaves the others as they were. */
enum {
  HK_STREAM_PATIENTS = 1,
  HK_STREAM_TIMES = 2,
  HK_STREAM_DOC = 3,
  HK_STREAM_SSMIX2 = 4,
  HK_STREAM_OCR = 5,
};

typedef struct {
  char *out;
  int patients;
  int docs_per_patient;
  int seed;
  int jobs;
  int ocr_scans;
  guint ocr_defects; /* HkSamplesScanDefect */
  gboolean ssmix2;
} HkSamplesOptions;

/* What a process has written, summed over its documents. */
typedef struct {
  guint64 documents;
  guint64 bytes;
  guint64 per_kind[HK_SAMPLES_N_KINDS];
  guint64 ocr_scans; /* of the JPEGs, those with known text */
} HkSamplesTotals;

/* What one process needs to write documents. Each worker process has its
 * own: cairo 1.16 deadlocks when threads share fonts (a scaled-font destroy
 * in one thread against text_to_glyphs in another), so parallel rendering
 * uses processes, not threads. */
typedef struct {
  const char *drop;          /* DIR/drop */
  FILE *manifest;            /* where document lines go */
  const char *manifest_name; /* its path, for messages */
  FILE *ocr_manifest;        /* where the known-text scans' lines go */
  const char *ocr_manifest_name;
  GHashTable *dirs; /* folders already made */
  HkSamplesRender *render;
  GByteArray *content;
  HkSamplesTotals totals;
} HkSamplesWriter;

static GRand *
hk_stream(guint32 seed, guint32 stream, guint64 index)
{
  const guint32 key[4] = {seed, stream, (guint32)(index >> 32), (guint32)index};

  return g_rand_new_with_seed_array(key, G_N_ELEMENTS(key));
}

/* Write data to path through path.tmp and a rename, so that a reader (the
 * indexer may be watching) sees either nothing or the whole file. The temp
 * name does not end in .meta.json, so a half-written sidecar is never taken
 * for a finalized document. */
static int
hk_write_atomic(const char *path, const void *data, size_t len)
{
  char *tmp = g_strconcat(path, ".tmp", NULL);
  const char *p = data;
  int fd, ret = 0;

  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot create %s: %s", tmp, g_strerror(errno));
    goto out;
  }
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ret = hk_err_from_errno(errno);
      hk_error("cannot write %s: %s", tmp, g_strerror(errno));
      goto out;
    }
    p += n;
    len -= (size_t)n;
  }
  if (close(fd) != 0) {
    fd = -1;
    ret = hk_err_from_errno(errno);
    hk_error("cannot write %s: %s", tmp, g_strerror(errno));
    goto out;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot rename %s to %s: %s", tmp, path, g_strerror(errno));
    goto out;
  }
out:
  if (fd >= 0)
    close(fd);
  if (ret < 0)
    unlink(tmp);
  g_free(tmp);
  return ret;
}

static int
hk_mkdirs(HkSamplesWriter *w, const char *dir)
{
  int ret = 0;

  if (g_hash_table_contains(w->dirs, dir))
    goto out;
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot create folder %s: %s", dir, g_strerror(errno));
    goto out;
  }
  g_hash_table_add(w->dirs, g_strdup(dir));
out:
  return ret;
}

static char *
hk_json_to_string(JsonBuilder *b, gboolean pretty)
{
  JsonGenerator *gen = json_generator_new();
  JsonNode *root = json_builder_get_root(b);
  char *s;

  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, pretty);
  json_generator_set_indent(gen, 2);
  s = json_generator_to_data(gen, NULL);
  json_node_unref(root);
  g_object_unref(gen);
  return s;
}

static void
hk_json_add(JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name(b, key);
  json_builder_add_string_value(b, value);
}

static void
hk_json_add_patient(JsonBuilder *b, const HkSamplesPatient *p, gboolean with_id)
{
  const char sex[2] = {p->sex, '\0'};

  if (with_id)
    hk_json_add(b, "id", p->id);
  hk_json_add(b, "name", p->name);
  hk_json_add(b, "kana", p->kana);
  hk_json_add(b, "birth_date", p->birth_date);
  hk_json_add(b, "sex", sex);
}

/* The sidecar of interfaces.md's drop-folder protocol. */
static char *
hk_sidecar_json(const HkSamplesDoc *d)
{
  JsonBuilder *b = json_builder_new();
  char *s, *with_nl;

  json_builder_begin_object(b);
  hk_json_add(b, "patient_id", d->patient->id);
  hk_json_add(b, "source_id", d->source_id);
  hk_json_add(b, "type", d->type);
  hk_json_add(b, "title", d->title);
  hk_json_add(b, "created_at", d->created_at);
  hk_json_add(b, "author", d->author);
  hk_json_add(b, "department", d->department);
  hk_json_add(b, "content_type", d->content_type);
  json_builder_set_member_name(b, "patient");
  json_builder_begin_object(b);
  hk_json_add_patient(b, d->patient, FALSE);
  json_builder_end_object(b);
  json_builder_end_object(b);
  s = hk_json_to_string(b, TRUE);
  g_object_unref(b);
  with_nl = g_strconcat(s, "\n", NULL);
  g_free(s);
  return with_nl;
}

static int
hk_manifest_line(FILE *f, const char *name, JsonBuilder *b)
{
  char *s = hk_json_to_string(b, FALSE);
  int ret = 0;

  if (fputs(s, f) == EOF || fputc('\n', f) == EOF) {
    ret = -HK_EIO;
    hk_error("cannot write %s: %s", name, g_strerror(errno));
  }
  g_free(s);
  return ret;
}

static int
hk_manifest_patient(FILE *f, const char *name, const HkSamplesPatient *p)
{
  JsonBuilder *b = json_builder_new();
  int ret;

  json_builder_begin_object(b);
  hk_json_add(b, "record", "patient");
  hk_json_add_patient(b, p, TRUE);
  json_builder_end_object(b);
  ret = hk_manifest_line(f, name, b);
  g_object_unref(b);
  return ret;
}

static int
hk_manifest_document(HkSamplesWriter *w, const HkSamplesDoc *d, const char *sha256, gsize size)
{
  JsonBuilder *b = json_builder_new();
  int ret;

  json_builder_begin_object(b);
  hk_json_add(b, "record", "document");
  hk_json_add(b, "path", d->rel_path);
  hk_json_add(b, "patient_id", d->patient->id);
  hk_json_add(b, "source_id", d->source_id);
  hk_json_add(b, "type", d->type);
  hk_json_add(b, "title", d->title);
  hk_json_add(b, "created_at", d->created_at);
  hk_json_add(b, "content_type", d->content_type);
  json_builder_set_member_name(b, "size");
  json_builder_add_int_value(b, (gint64)size);
  json_builder_set_member_name(b, "pages");
  json_builder_add_int_value(b, d->pages);
  hk_json_add(b, "sha256", sha256);
  if (d->dpi) {
    char *text = hk_samples_ocr_text(d);
    hk_json_add(b, "text", text);
    g_free(text);
    json_builder_set_member_name(b, "dpi");
    json_builder_add_int_value(b, d->dpi);
    json_builder_set_member_name(b, "tilt");
    json_builder_add_double_value(b, d->tilt_deg);
  }
  json_builder_end_object(b);
  ret = d->dpi ? hk_manifest_line(w->ocr_manifest, w->ocr_manifest_name, b)
               : hk_manifest_line(w->manifest, w->manifest_name, b);
  g_object_unref(b);
  return ret;
}

static int
hk_manifest_summary(FILE *f, const char *name, const HkSamplesOptions *o, const HkSamplesTotals *t)
{
  JsonBuilder *b = json_builder_new();
  int ret;

  json_builder_begin_object(b);
  hk_json_add(b, "record", "summary");
  json_builder_set_member_name(b, "seed");
  json_builder_add_int_value(b, o->seed);
  json_builder_set_member_name(b, "patients");
  json_builder_add_int_value(b, o->patients);
  json_builder_set_member_name(b, "documents");
  json_builder_add_int_value(b, (gint64)t->documents);
  json_builder_set_member_name(b, "bytes");
  json_builder_add_int_value(b, (gint64)t->bytes);
  json_builder_set_member_name(b, "pdf");
  json_builder_add_int_value(b, (gint64)t->per_kind[HK_SAMPLES_PDF]);
  json_builder_set_member_name(b, "jpeg");
  json_builder_add_int_value(b, (gint64)t->per_kind[HK_SAMPLES_JPEG]);
  json_builder_set_member_name(b, "text");
  json_builder_add_int_value(b, (gint64)t->per_kind[HK_SAMPLES_TEXT]);
  /* Only when asked for, so that a manifest without them is as before. */
  if (o->ocr_scans > 0) {
    json_builder_set_member_name(b, "ocr_scans");
    json_builder_add_int_value(b, (gint64)t->ocr_scans);
  }
  json_builder_end_object(b);
  ret = hk_manifest_line(f, name, b);
  g_object_unref(b);
  return ret;
}

/* Render one document, write its content, then its sidecar: the sidecar's
 * arrival is what tells the indexer the document is final. */
static int
hk_write_document(HkSamplesWriter *w, const HkSamplesDoc *d, GRand *rng)
{
  uint8_t digest[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];
  char *path = g_build_filename(w->drop, d->rel_path, NULL);
  char *dir = g_path_get_dirname(path);
  char *meta_path = g_strconcat(path, ".meta.json", NULL);
  char *meta = NULL;
  int ret;

  ret = hk_samples_render(w->render, d, rng, w->content);
  if (ret < 0)
    goto out;
  ret = hk_sha256(w->content->data, w->content->len, digest);
  if (ret < 0)
    goto out;
  hk_sha256_hex(digest, hex);
  ret = hk_mkdirs(w, dir);
  if (ret < 0)
    goto out;
  ret = hk_write_atomic(path, w->content->data, w->content->len);
  if (ret < 0)
    goto out;
  meta = hk_sidecar_json(d);
  ret = hk_write_atomic(meta_path, meta, strlen(meta));
  if (ret < 0)
    goto out;
  ret = hk_manifest_document(w, d, hex, w->content->len);
  if (ret < 0)
    goto out;
  w->totals.documents++;
  w->totals.bytes += w->content->len;
  w->totals.per_kind[d->kind]++;
  if (d->dpi)
    w->totals.ocr_scans++;
out:
  g_free(meta);
  g_free(meta_path);
  g_free(dir);
  g_free(path);
  return ret;
}

/* A share of the work: the documents of patients [first, last), and the
 * known-text scans [ocr_first, ocr_last). */
typedef struct {
  guint first, last;
  guint64 ocr_first, ocr_last;
} HkSamplesShare;

/* Write every document of the share into the drop folder, their lines into
 * manifest in document order, then its known-text scans, their lines into
 * ocr_manifest (which may be manifest). */
static int
hk_write_range(const HkSamplesOptions *o, const char *drop, const GPtrArray *patients,
               const HkSamplesShare *share, FILE *manifest, const char *manifest_name,
               FILE *ocr_manifest, const char *ocr_manifest_name, HkSamplesTotals *totals)
{
  HkSamplesWriter w = {
      .drop = drop,
      .manifest = manifest,
      .manifest_name = manifest_name,
      .ocr_manifest = ocr_manifest,
      .ocr_manifest_name = ocr_manifest_name,
  };
  const guint first = share->first, last = share->last;
  const guint32 seed = (guint32)o->seed;
  guint64 index = (guint64)first * (guint64)o->docs_per_patient;
  gint64 *times = g_new(gint64, o->docs_per_patient);
  int ret;

  w.dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  w.content = g_byte_array_sized_new(256 * 1024);
  ret = hk_samples_render_new(&w.render);
  if (ret < 0) {
    hk_error("cannot set up the renderer: %s", hk_strerror(ret));
    goto out;
  }
  for (guint i = first; i < last; i++) {
    const HkSamplesPatient *p = g_ptr_array_index(patients, i);
    GRand *rng = hk_stream(seed, HK_STREAM_TIMES, i);

    hk_samples_doc_times(rng, p, (guint)o->docs_per_patient, times);
    g_rand_free(rng);
    for (int k = 0; k < o->docs_per_patient; k++, index++) {
      HkSamplesDoc *d;

      rng = hk_stream(seed, HK_STREAM_DOC, index);
      d = hk_samples_doc_new(p, index, times[k], rng);
      ret = hk_write_document(&w, d, rng);
      hk_samples_doc_free(d);
      g_rand_free(rng);
      if (ret < 0)
        goto out;
      if (w.totals.documents % 10000 == 0)
        hk_info("%" G_GUINT64_FORMAT " documents written (patients %u-%u)", w.totals.documents,
                first + 1, last);
    }
  }
  /* Known-text scans go round the patients, each from a stream of its own,
   * so that asking for them leaves every other document as it was. */
  for (guint64 n = share->ocr_first; n < share->ocr_last; n++) {
    GRand *rng = hk_stream(seed, HK_STREAM_OCR, n);
    HkSamplesDoc *d =
        hk_samples_ocr_doc_new(g_ptr_array_index(patients, n % patients->len), n, rng);

    d->defects = o->ocr_defects;
    if (!(d->defects & HK_SCAN_TILT))
      d->tilt_deg = 0;
    ret = hk_write_document(&w, d, rng);
    hk_samples_doc_free(d);
    g_rand_free(rng);
    if (ret < 0)
      goto out;
  }
  *totals = w.totals;
out:
  hk_samples_render_free(w.render);
  g_byte_array_unref(w.content);
  g_hash_table_destroy(w.dirs);
  g_free(times);
  return ret;
}

/* Append the file at path to f. */
static int
hk_append_file(FILE *f, const char *f_name, const char *path)
{
  char buf[65536];
  FILE *in = fopen(path, "re");
  size_t n;
  int ret = 0;

  if (!in) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot read %s: %s", path, g_strerror(errno));
    goto out;
  }
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
    if (fwrite(buf, 1, n, f) != n) {
      ret = -HK_EIO;
      hk_error("cannot write %s: %s", f_name, g_strerror(errno));
      goto out;
    }
  }
  if (ferror(in)) {
    ret = -HK_EIO;
    hk_error("cannot read %s", path);
  }
out:
  if (in)
    fclose(in);
  return ret;
}

/* The body of worker process number k: write its share of the patients
 * into its own part of the manifest, report its totals through fd, and
 * leave with _exit() so that nothing inherited from the parent (stdio
 * buffers, atexit handlers) runs twice. */
static void G_GNUC_NORETURN
hk_worker_main(const HkSamplesOptions *o, const char *drop, const GPtrArray *patients,
               const HkSamplesShare *share, const char *part, const char *ocr_part, int fd)
{
  HkSamplesTotals t = {0};
  FILE *f = fopen(part, "we");
  FILE *g = fopen(ocr_part, "we");
  int ret;

  if (!f || !g) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot create %s: %s", f ? ocr_part : part, g_strerror(errno));
    goto out;
  }
  ret = hk_write_range(o, drop, patients, share, f, part, g, ocr_part, &t);
  if (fclose(f) != 0 && ret == 0) {
    ret = -HK_EIO;
    hk_error("cannot write %s: %s", part, g_strerror(errno));
  }
  f = NULL;
  if (fclose(g) != 0 && ret == 0) {
    ret = -HK_EIO;
    hk_error("cannot write %s: %s", ocr_part, g_strerror(errno));
  }
  g = NULL;
  if (ret == 0 && write(fd, &t, sizeof t) != (ssize_t)sizeof t)
    ret = -HK_EIO;
out:
  if (f)
    fclose(f);
  if (g)
    fclose(g);
  _exit(ret == 0 ? 0 : 1);
}

/* Split the patients, and the known-text scans, into n contiguous shares,
 * one per worker process. Document numbers follow patients, so the parts
 * of the manifest, joined in worker order, then the known-text scans'
 * parts, are exactly what one process would have written. */
static int
hk_write_parallel(const HkSamplesOptions *o, const char *drop, const GPtrArray *patients, guint n,
                  FILE *manifest, const char *manifest_name, HkSamplesTotals *totals)
{
  pid_t *pids = g_new0(pid_t, n);
  int *fds = g_new(int, n);
  char **parts = g_new0(char *, 2 * n + 1);
  guint spawned = 0;
  int ret = 0;

  for (guint k = 0; k < n; k++)
    fds[k] = -1;
  /* The children inherit the stdio buffer: empty it first. */
  if (fflush(manifest) != 0 || fflush(stdout) != 0) {
    ret = -HK_EIO;
    hk_error("cannot write %s: %s", manifest_name, g_strerror(errno));
    goto out;
  }
  for (guint k = 0; k < n; k++) {
    const guint64 scans = (guint64)o->ocr_scans;
    const HkSamplesShare share = {
        .first = (guint)((guint64)patients->len * k / n),
        .last = (guint)((guint64)patients->len * (k + 1) / n),
        .ocr_first = scans * k / n,
        .ocr_last = scans * (k + 1) / n,
    };
    int p[2];

    parts[k] = g_strdup_printf("%s.part%u", manifest_name, k);
    parts[n + k] = g_strdup_printf("%s.ocrpart%u", manifest_name, k);
    if (pipe2(p, O_CLOEXEC) != 0) {
      ret = hk_err_from_errno(errno);
      hk_error("cannot create a pipe: %s", g_strerror(errno));
      goto wait;
    }
    pids[k] = fork();
    if (pids[k] < 0) {
      ret = hk_err_from_errno(errno);
      hk_error("cannot start a worker: %s", g_strerror(errno));
      close(p[0]);
      close(p[1]);
      goto wait;
    }
    if (pids[k] == 0) {
      close(p[0]);
      hk_worker_main(o, drop, patients, &share, parts[k], parts[n + k], p[1]);
    }
    close(p[1]);
    fds[k] = p[0];
    spawned++;
  }
wait:
  /* Wait for every worker that started, even after a failure, so that
   * none is left writing once this returns. */
  for (guint k = 0; k < spawned; k++) {
    HkSamplesTotals t;
    int status = 0;
    ssize_t got;

    while (waitpid(pids[k], &status, 0) < 0 && errno == EINTR)
      ;
    got = read(fds[k], &t, sizeof t);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != (ssize_t)sizeof t) {
      if (ret == 0)
        ret = -HK_EIO;
      hk_error("worker %u (pid %d) failed", k, (int)pids[k]);
      continue;
    }
    totals->documents += t.documents;
    totals->bytes += t.bytes;
    for (int kind = 0; kind < HK_SAMPLES_N_KINDS; kind++)
      totals->per_kind[kind] += t.per_kind[kind];
    totals->ocr_scans += t.ocr_scans;
  }
  for (guint k = 0; ret == 0 && k < 2 * n; k++)
    ret = hk_append_file(manifest, manifest_name, parts[k]);
out:
  for (guint k = 0; k < n; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  for (guint k = 0; k < 2 * n; k++)
    if (parts[k])
      unlink(parts[k]);
  g_strfreev(parts);
  g_free(fds);
  g_free(pids);
  return ret;
}

static int
hk_samples_run(const HkSamplesOptions *o)
{
  HkSamplesTotals totals = {0};
  GRand *rng = NULL;
  GPtrArray *patients = NULL;
  FILE *manifest = NULL;
  char *drop = g_build_filename(o->out, "drop", NULL);
  char *manifest_path = g_build_filename(o->out, "manifest.jsonl", NULL);
  char *manifest_tmp = g_strconcat(manifest_path, ".tmp", NULL);
  char *ssmix2_dir = NULL;
  char *known = NULL;
  guint n_workers;
  int ret = 0;

  if (g_mkdir_with_parents(drop, 0755) != 0) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot create folder %s: %s", drop, g_strerror(errno));
    goto out;
  }
  manifest = fopen(manifest_tmp, "we");
  if (!manifest) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot create %s: %s", manifest_tmp, g_strerror(errno));
    goto out;
  }

  rng = hk_stream((guint32)o->seed, HK_STREAM_PATIENTS, 0);
  ret = hk_samples_patients_generate(rng, (guint)o->patients, &patients);
  g_clear_pointer(&rng, g_rand_free);
  if (ret < 0) {
    hk_error("cannot make %d patients: %s", o->patients, hk_strerror(ret));
    goto out;
  }
  for (guint i = 0; i < patients->len; i++) {
    ret = hk_manifest_patient(manifest, manifest_tmp, g_ptr_array_index(patients, i));
    if (ret < 0)
      goto out;
  }

  n_workers = MIN((guint)o->jobs, patients->len);
  if (n_workers <= 1) {
    const HkSamplesShare all = {0, patients->len, 0, (guint64)o->ocr_scans};
    ret = hk_write_range(o, drop, patients, &all, manifest, manifest_tmp, manifest, manifest_tmp,
                         &totals);
  } else
    ret = hk_write_parallel(o, drop, patients, n_workers, manifest, manifest_tmp, &totals);
  if (ret < 0)
    goto out;

  if (o->ssmix2) {
    ssmix2_dir = g_build_filename(o->out, "ssmix2", NULL);
    rng = hk_stream((guint32)o->seed, HK_STREAM_SSMIX2, 0);
    ret = hk_samples_ssmix2_write(ssmix2_dir, rng, patients);
    g_clear_pointer(&rng, g_rand_free);
    if (ret < 0) {
      hk_error("cannot write SS-MIX2 storage %s: %s", ssmix2_dir, hk_strerror(ret));
      goto out;
    }
  }

  ret = hk_manifest_summary(manifest, manifest_tmp, o, &totals);
  if (ret < 0)
    goto out;
  if (fclose(manifest) != 0) {
    manifest = NULL;
    ret = -HK_EIO;
    hk_error("cannot write %s: %s", manifest_tmp, g_strerror(errno));
    goto out;
  }
  manifest = NULL;
  /* The manifest appears whole, and only once every document is there. */
  if (rename(manifest_tmp, manifest_path) != 0) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot rename %s: %s", manifest_tmp, g_strerror(errno));
    goto out;
  }
  known = o->ocr_scans > 0
              ? g_strdup_printf(" of which %" G_GUINT64_FORMAT " of known text", totals.ocr_scans)
              : g_strdup("");
  printf("%s: %u patients, %" G_GUINT64_FORMAT " documents (%" G_GUINT64_FORMAT
         " PDF, %" G_GUINT64_FORMAT " JPEG%s, %" G_GUINT64_FORMAT " text), %" G_GUINT64_FORMAT
         " bytes in %s%s\n",
         HK_PROGRAM, patients->len, totals.documents, totals.per_kind[HK_SAMPLES_PDF],
         totals.per_kind[HK_SAMPLES_JPEG], known, totals.per_kind[HK_SAMPLES_TEXT], totals.bytes,
         drop, o->ssmix2 ? " (and SS-MIX2)" : "");
out:
  if (manifest) {
    fclose(manifest);
    unlink(manifest_tmp);
  }
  if (rng)
    g_rand_free(rng);
  if (patients)
    g_ptr_array_unref(patients);
  g_free(known);
  g_free(ssmix2_dir);
  g_free(manifest_tmp);
  g_free(manifest_path);
  g_free(drop);
  return ret;
}

int
main(int argc, char **argv)
{
  HkSamplesOptions o = {
      .patients = 50, .docs_per_patient = 10, .seed = 1, .jobs = 0, .ocr_defects = HK_SCAN_ALL};
  char *defects = NULL;
  const GOptionEntry entries[] = {
      {"out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out,
       "Write DIR/drop, DIR/manifest.jsonl (and DIR/ssmix2)", "DIR"},
      {"patients", 'p', 0, G_OPTION_ARG_INT, &o.patients, "Number of patients (default 50)", "N"},
      {"docs-per-patient", 'd', 0, G_OPTION_ARG_INT, &o.docs_per_patient,
       "Documents per patient (default 10)", "N"},
      {"seed", 's', 0, G_OPTION_ARG_INT, &o.seed,
       "Seed: the same seed gives the same bytes (default 1)", "N"},
      {"jobs", 'j', 0, G_OPTION_ARG_INT, &o.jobs,
       "Render in N processes (default: one per CPU, at most 8); the output does not depend on it",
       "N"},
      {"ocr-scans", 0, 0, G_OPTION_ARG_INT, &o.ocr_scans,
       "Also write N scans of known text (A4, 200 or 300 dpi, grey, tilted 1-2 degrees); the "
       "manifest holds their text (default 0)",
       "N"},
      {"ocr-defects", 0, 0, G_OPTION_ARG_STRING, &defects,
       "What the known-text scans' scanner adds: all (default), none, or a list of tilt, noise, "
       "specks, streak",
       "LIST"},
      {"ssmix2", 0, 0, G_OPTION_ARG_NONE, &o.ssmix2,
       "Also write an SS-MIX2 storage for the same patients under DIR/ssmix2", NULL},
      {NULL},
  };
  int rc = 0;
  int ret;

  hk_log_set_program(HK_PROGRAM);
  ret = hk_config_parse(HK_PROGRAM, "",
                        "Generate synthetic patients and drop-folder documents (PDF, JPEG, text).",
                        entries, &argc, &argv);
  if (ret < 0) {
    rc = ret == -HK_EINVAL ? 2 : 1;
    goto out;
  }
  if (argc > 1) {
    rc = hk_usage_error(HK_PROGRAM, "unexpected argument '%s'", argv[1]);
    goto out;
  }
  if (!o.out || !*o.out) {
    rc = hk_usage_error(HK_PROGRAM, "--out DIR is required");
    goto out;
  }
  if (o.patients < 1 || o.patients > HK_MAX_PATIENTS) {
    rc = hk_usage_error(HK_PROGRAM, "--patients must be 1 to %d", HK_MAX_PATIENTS);
    goto out;
  }
  if (o.ocr_scans < 0 || o.ocr_scans > HK_MAX_OCR_SCANS) {
    rc = hk_usage_error(HK_PROGRAM, "--ocr-scans must be 0 to %d", HK_MAX_OCR_SCANS);
    goto out;
  }
  if (defects && hk_samples_scan_defects_parse(defects, &o.ocr_defects) < 0) {
    rc = hk_usage_error(HK_PROGRAM,
                        "--ocr-defects takes all, none, or a list of tilt, noise, specks, streak");
    goto out;
  }
  /* 0 makes a drop folder of known-text scans only (bench/ocr). */
  if (o.docs_per_patient < (o.ocr_scans > 0 ? 0 : 1) ||
      o.docs_per_patient > HK_MAX_DOCS_PER_PATIENT) {
    rc = hk_usage_error(HK_PROGRAM, "--docs-per-patient must be %d to %d", o.ocr_scans > 0 ? 0 : 1,
                        HK_MAX_DOCS_PER_PATIENT);
    goto out;
  }
  if ((guint64)o.patients * (guint64)o.docs_per_patient > HK_MAX_DOCUMENTS) {
    rc = hk_usage_error(HK_PROGRAM, "at most %" G_GUINT64_FORMAT " documents in one run",
                        HK_MAX_DOCUMENTS);
    goto out;
  }
  if (o.jobs < 0 || o.jobs > HK_MAX_JOBS) {
    rc = hk_usage_error(HK_PROGRAM, "--jobs must be 1 to %d", HK_MAX_JOBS);
    goto out;
  }
  if (o.jobs == 0)
    o.jobs = CLAMP(g_get_num_processors(), 1, 8);
  if (o.seed < 0) {
    rc = hk_usage_error(HK_PROGRAM, "--seed must be 0 or more");
    goto out;
  }
  if (hk_samples_run(&o) < 0)
    rc = 1;
  hk_samples_render_release_caches();
out:
  g_free(defects);
  g_free(o.out);
  return rc;
}

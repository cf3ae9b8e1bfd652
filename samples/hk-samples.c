/* hikae-samples: a deterministic generator of synthetic patients and
 * drop-folder documents (and, with --ssmix2, SS-MIX2 storage).
 *
 * Everything written is a function of --seed, --patients and
 * --docs-per-patient: the same command gives byte-identical files. Each
 * document draws from its own generator, seeded from (seed, document
 * number), so one document's draws never shift another's. Documents are
 * streamed: only the patient table stays in memory. */
#include "hk-config.h"
#include "hk-error.h"
#include "hk-log.h"
#include "hk-sha256.h"
#include "hk-samples-doc.h"
#include "hk-samples-patient.h"
#include "hk-samples-render.h"
#include "hk-samples-ssmix2.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HK_PROGRAM "hikae-samples"

/* Limits that keep a typo from filling the disk; 100,000 documents is the
 * scale the project needs, these leave room far beyond it. */
#define HK_MAX_PATIENTS 1000000
#define HK_MAX_DOCS_PER_PATIENT 10000
#define HK_MAX_DOCUMENTS G_GUINT64_CONSTANT(10000000)
#define HK_MAX_JOBS 64

/* Independent random streams, so that changing one part of the output (more
 * documents per patient, --ssmix2) leaves the others as they were. */
enum { HK_STREAM_PATIENTS = 1, HK_STREAM_TIMES = 2, HK_STREAM_DOC = 3, HK_STREAM_SSMIX2 = 4 };

typedef struct {
  char *out;
  int patients;
  int docs_per_patient;
  int seed;
  int jobs;
  gboolean ssmix2;
} HkSamplesOptions;

/* Documents are made in batches: planned and rendered by worker threads
 * (the PDFs are the slow part), then written by the main thread in
 * document order, so the output does not depend on the number of threads. */
#define HK_BATCH 64

typedef struct {
  const HkSamplesPatient *patient; /* borrowed */
  guint64 index;
  gint64 when;
  HkSamplesDoc *doc;
  GByteArray *content; /* reused from batch to batch */
  char sha256[HK_SHA256_HEX_LEN + 1];
  int ret;
} HkSamplesJob;

typedef struct {
  HkSamplesJob jobs[HK_BATCH];
  guint n;
  gint next; /* atomic: the next job a worker takes */
  guint32 seed;
} HkSamplesBatch;

typedef struct {
  HkSamplesBatch *batch;
  HkSamplesRender *render; /* one per worker: renderers are not thread-safe */
} HkSamplesWorker;

typedef struct {
  char *drop;          /* DIR/drop */
  char *manifest_path; /* DIR/manifest.jsonl */
  char *manifest_tmp;  /* written there, renamed at the end */
  FILE *manifest;
  GHashTable *dirs; /* folders already made */
  HkSamplesWorker *workers;
  guint n_workers;
  HkSamplesBatch *batch;
  guint64 documents;
  guint64 bytes;
  guint64 per_kind[HK_SAMPLES_N_KINDS];
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
hk_manifest_line(HkSamplesWriter *w, JsonBuilder *b)
{
  char *s = hk_json_to_string(b, FALSE);
  int ret = 0;

  if (fputs(s, w->manifest) == EOF || fputc('\n', w->manifest) == EOF) {
    ret = -HK_EIO;
    hk_error("cannot write %s: %s", w->manifest_tmp, g_strerror(errno));
  }
  g_free(s);
  return ret;
}

static int
hk_manifest_patient(HkSamplesWriter *w, const HkSamplesPatient *p)
{
  JsonBuilder *b = json_builder_new();
  int ret;

  json_builder_begin_object(b);
  hk_json_add(b, "record", "patient");
  hk_json_add_patient(b, p, TRUE);
  json_builder_end_object(b);
  ret = hk_manifest_line(w, b);
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
  json_builder_end_object(b);
  ret = hk_manifest_line(w, b);
  g_object_unref(b);
  return ret;
}

/* Plan, render and hash the jobs of a batch, taking them one by one until
 * none is left. Runs in a worker thread. */
static gpointer
hk_worker_run(gpointer data)
{
  HkSamplesWorker *wk = data;
  HkSamplesBatch *b = wk->batch;
  guint i;

  while ((i = (guint)g_atomic_int_add(&b->next, 1)) < b->n) {
    HkSamplesJob *job = &b->jobs[i];
    uint8_t digest[HK_SHA256_LEN];
    GRand *rng = hk_stream(b->seed, HK_STREAM_DOC, job->index);

    job->doc = hk_samples_doc_new(job->patient, job->index, job->when, rng);
    job->ret = hk_samples_render(wk->render, job->doc, rng, job->content);
    if (job->ret == 0)
      job->ret = hk_sha256(job->content->data, job->content->len, digest);
    if (job->ret == 0)
      hk_sha256_hex(digest, job->sha256);
    g_rand_free(rng);
  }
  return NULL;
}

/* Write one rendered document: its content, then its sidecar, whose
 * arrival is what tells the indexer the document is final. */
static int
hk_write_document(HkSamplesWriter *w, const HkSamplesJob *job)
{
  const HkSamplesDoc *d = job->doc;
  char *path = g_build_filename(w->drop, d->rel_path, NULL);
  char *dir = g_path_get_dirname(path);
  char *meta_path = g_strconcat(path, ".meta.json", NULL);
  char *meta = NULL;
  int ret;

  ret = hk_mkdirs(w, dir);
  if (ret < 0)
    goto out;
  ret = hk_write_atomic(path, job->content->data, job->content->len);
  if (ret < 0)
    goto out;
  meta = hk_sidecar_json(d);
  ret = hk_write_atomic(meta_path, meta, strlen(meta));
  if (ret < 0)
    goto out;
  ret = hk_manifest_document(w, d, job->sha256, job->content->len);
  if (ret < 0)
    goto out;
  w->documents++;
  w->bytes += job->content->len;
  w->per_kind[d->kind]++;
out:
  g_free(meta);
  g_free(meta_path);
  g_free(dir);
  g_free(path);
  return ret;
}

/* Render the batch on every worker, then write it in order and empty it. */
static int
hk_batch_flush(HkSamplesWriter *w)
{
  HkSamplesBatch *b = w->batch;
  GThread *threads[HK_MAX_JOBS] = {NULL};
  int ret = 0;

  b->next = 0;
  if (w->n_workers == 1) {
    hk_worker_run(&w->workers[0]);
  } else {
    for (guint t = 0; t < w->n_workers; t++)
      threads[t] = g_thread_new("hk-samples", hk_worker_run, &w->workers[t]);
    for (guint t = 0; t < w->n_workers; t++)
      g_thread_join(threads[t]);
  }
  for (guint i = 0; i < b->n; i++) {
    HkSamplesJob *job = &b->jobs[i];

    if (ret == 0 && job->ret < 0) {
      ret = job->ret;
      hk_error("cannot make %s: %s", job->doc->rel_path, hk_strerror(ret));
    }
    if (ret == 0)
      ret = hk_write_document(w, job);
    if (ret == 0 && (job->index + 1) % 10000 == 0)
      hk_info("%" G_GUINT64_FORMAT " documents written", job->index + 1);
    g_clear_pointer(&job->doc, hk_samples_doc_free);
  }
  b->n = 0;
  return ret;
}

static int
hk_manifest_summary(HkSamplesWriter *w, const HkSamplesOptions *o)
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
  json_builder_add_int_value(b, (gint64)w->documents);
  json_builder_set_member_name(b, "bytes");
  json_builder_add_int_value(b, (gint64)w->bytes);
  json_builder_set_member_name(b, "pdf");
  json_builder_add_int_value(b, (gint64)w->per_kind[HK_SAMPLES_PDF]);
  json_builder_set_member_name(b, "jpeg");
  json_builder_add_int_value(b, (gint64)w->per_kind[HK_SAMPLES_JPEG]);
  json_builder_set_member_name(b, "text");
  json_builder_add_int_value(b, (gint64)w->per_kind[HK_SAMPLES_TEXT]);
  json_builder_end_object(b);
  ret = hk_manifest_line(w, b);
  g_object_unref(b);
  return ret;
}

static int
hk_samples_run(const HkSamplesOptions *o)
{
  HkSamplesWriter w = {0};
  GRand *rng = NULL;
  GPtrArray *patients = NULL;
  gint64 *times = NULL;
  char *ssmix2_dir = NULL;
  guint64 index = 0;
  int ret;

  w.drop = g_build_filename(o->out, "drop", NULL);
  w.manifest_path = g_build_filename(o->out, "manifest.jsonl", NULL);
  w.manifest_tmp = g_strconcat(w.manifest_path, ".tmp", NULL);
  w.dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  w.batch = g_new0(HkSamplesBatch, 1);
  w.batch->seed = (guint32)o->seed;
  for (guint i = 0; i < HK_BATCH; i++)
    w.batch->jobs[i].content = g_byte_array_sized_new(256 * 1024);
  w.n_workers = (guint)o->jobs;
  w.workers = g_new0(HkSamplesWorker, w.n_workers);
  for (guint t = 0; t < w.n_workers; t++) {
    w.workers[t].batch = w.batch;
    ret = hk_samples_render_new(&w.workers[t].render);
    if (ret < 0) {
      hk_error("cannot set up the renderer: %s", hk_strerror(ret));
      goto out;
    }
  }
  ret = hk_mkdirs(&w, w.drop);
  if (ret < 0)
    goto out;
  w.manifest = fopen(w.manifest_tmp, "we");
  if (!w.manifest) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot create %s: %s", w.manifest_tmp, g_strerror(errno));
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
    ret = hk_manifest_patient(&w, g_ptr_array_index(patients, i));
    if (ret < 0)
      goto out;
  }

  times = g_new(gint64, o->docs_per_patient);
  for (guint i = 0; i < patients->len; i++) {
    const HkSamplesPatient *p = g_ptr_array_index(patients, i);

    rng = hk_stream((guint32)o->seed, HK_STREAM_TIMES, i);
    hk_samples_doc_times(rng, p, (guint)o->docs_per_patient, times);
    g_clear_pointer(&rng, g_rand_free);
    for (int k = 0; k < o->docs_per_patient; k++, index++) {
      HkSamplesJob *job = &w.batch->jobs[w.batch->n++];

      job->patient = p;
      job->index = index;
      job->when = times[k];
      if (w.batch->n == HK_BATCH) {
        ret = hk_batch_flush(&w);
        if (ret < 0)
          goto out;
      }
    }
  }
  ret = hk_batch_flush(&w);
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

  ret = hk_manifest_summary(&w, o);
  if (ret < 0)
    goto out;
  if (fclose(w.manifest) != 0) {
    w.manifest = NULL;
    ret = -HK_EIO;
    hk_error("cannot write %s: %s", w.manifest_tmp, g_strerror(errno));
    goto out;
  }
  w.manifest = NULL;
  /* The manifest appears whole, and only once every document is there. */
  if (rename(w.manifest_tmp, w.manifest_path) != 0) {
    ret = hk_err_from_errno(errno);
    hk_error("cannot rename %s: %s", w.manifest_tmp, g_strerror(errno));
    goto out;
  }
  printf("%s: %u patients, %" G_GUINT64_FORMAT " documents (%" G_GUINT64_FORMAT
         " PDF, %" G_GUINT64_FORMAT " JPEG, %" G_GUINT64_FORMAT " text), %" G_GUINT64_FORMAT
         " bytes in %s%s\n",
         HK_PROGRAM, patients->len, w.documents, w.per_kind[HK_SAMPLES_PDF],
         w.per_kind[HK_SAMPLES_JPEG], w.per_kind[HK_SAMPLES_TEXT], w.bytes, w.drop,
         o->ssmix2 ? " (and SS-MIX2)" : "");
out:
  if (w.manifest) {
    fclose(w.manifest);
    unlink(w.manifest_tmp);
  }
  if (rng)
    g_rand_free(rng);
  g_free(times);
  g_free(ssmix2_dir);
  if (patients)
    g_ptr_array_unref(patients);
  for (guint t = 0; w.workers && t < w.n_workers; t++)
    hk_samples_render_free(w.workers[t].render);
  g_free(w.workers);
  for (guint i = 0; i < HK_BATCH; i++) {
    g_clear_pointer(&w.batch->jobs[i].doc, hk_samples_doc_free);
    g_byte_array_unref(w.batch->jobs[i].content);
  }
  g_free(w.batch);
  g_hash_table_destroy(w.dirs);
  g_free(w.manifest_tmp);
  g_free(w.manifest_path);
  g_free(w.drop);
  return ret;
}

int
main(int argc, char **argv)
{
  HkSamplesOptions o = {.patients = 50, .docs_per_patient = 10, .seed = 1, .jobs = 0};
  const GOptionEntry entries[] = {
      {"out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out,
       "Write DIR/drop, DIR/manifest.jsonl (and DIR/ssmix2)", "DIR"},
      {"patients", 'p', 0, G_OPTION_ARG_INT, &o.patients, "Number of patients (default 50)", "N"},
      {"docs-per-patient", 'd', 0, G_OPTION_ARG_INT, &o.docs_per_patient,
       "Documents per patient (default 10)", "N"},
      {"seed", 's', 0, G_OPTION_ARG_INT, &o.seed,
       "Seed: the same seed gives the same bytes (default 1)", "N"},
      {"jobs", 'j', 0, G_OPTION_ARG_INT, &o.jobs,
       "Render with N threads (default: one per CPU, at most 8); the output does not depend on it",
       "N"},
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
  if (o.docs_per_patient < 1 || o.docs_per_patient > HK_MAX_DOCS_PER_PATIENT) {
    rc = hk_usage_error(HK_PROGRAM, "--docs-per-patient must be 1 to %d", HK_MAX_DOCS_PER_PATIENT);
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
  g_free(o.out);
  return rc;
}

/* serve-fill: write N synthetic documents straight into a hikae store
 * through the store API (the one the indexer uses), for bench/serve's and
 * bench/openloop's figures at 1,000,000 documents and more: the sample
 * generator renders real PDFs and would take hours at that size.
 *
 *   serve-fill STORE_DIR N [PATIENTS [SKEW]]
 *
 * PATIENTS (default N / 50) patients, B0000000 up, are written first, so
 * that every ID a bench draws exists. With SKEW 0 (the default) document i
 * belongs to patient i / 50. With SKEW k > 0 it belongs to patient
 * floor(PATIENTS * u^k), u uniform in [0, 1) from a fixed seed: a hospital's
 * shape, where a few patients (long stays, dialysis, oncology) have
 * thousands of documents and most have a handful. At k = 2, 10 M documents
 * over 1 M patients give the first patient about 10,000 and the median one
 * about 7. The distribution is printed at the end. Each document is a tiny
 * text blob: the figures are of the metadata, rows and indexes.
 *
 * About 1,000 of the patients (every PATIENTS / 1000th, at least one) are
 * inpatients, 40 to a ward W00, W01...: a census of one ward is what a
 * 1,000-bed hospital's ward clerk asks for. Every fifth patient has an
 * allergy, so records are not all the same size. */
#include "hk-error.h"
#include "hk-sha256.h"
#include "hk-store.h"
#include "hk-time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
hk_u32_cmp(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

  return x < y ? -1 : x > y;
}

/* Write patients [0, n) in transactions of batch. */
static int
hk_fill_patients(hk_store *s, long n, long batch)
{
  hk_txn *t = NULL;
  int ret = 0;

  for (long i = 0; ret == 0 && i < n; i++) {
    char pid[32];
    HkPatient *p;
    if (!t && (ret = hk_txn_begin(s, true, &t)) < 0)
      break;
    snprintf(pid, sizeof pid, "B%07ld", i);
    p = hk_patient_new(pid);
    p->name = g_strdup_printf("試験 %ld", i);
    p->kana = g_strdup("シケン");
    p->birth_date = g_strdup("1960-01-01");
    p->sex = g_strdup("U");
    if (i % MAX(n / 1000, 1) == 0) {
      long k = i / MAX(n / 1000, 1);
      char *ward = g_strdup_printf("W%02ld", k / 40),
           *room = g_strdup_printf("%ld", 100 + k % 40 / 4),
           *bed = g_strdup_printf("%ld", k % 4 + 1);
      p->admission = hk_admission_new(ward, room, bed, "2026-10-20T09:00:00+09:00");
      g_free(ward);
      g_free(room);
      g_free(bed);
    }
    if (i % 5 == 0)
      g_ptr_array_add(p->allergies, hk_allergy_new("ペニシリン", "drug", "発疹", "moderate"));
    ret = hk_store_put_patient(t, p);
    hk_patient_free(p);
    if (ret == 0 && ((i + 1) % batch == 0 || i + 1 == n)) {
      ret = hk_txn_commit(t);
      t = NULL;
    }
    if (ret == -HK_ESPACE) {
      /* Map full: grow and redo the batch from its start. */
      hk_txn_abort(t);
      t = NULL;
      ret = hk_store_grow(s);
      i = (i / batch) * batch - 1;
    }
  }
  hk_txn_abort(t);
  return ret;
}

int
main(int argc, char **argv)
{
  hk_store *s = NULL;
  hk_txn *t = NULL;
  long n = argc >= 3 ? atol(argv[2]) : 0;
  long per = 50, batch = 20000;
  long npat = argc >= 4 ? atol(argv[3]) : (n + per - 1) / per;
  double skew = argc >= 5 ? atof(argv[4]) : 0;
  uint32_t *count = NULL;
  GRand *rng = g_rand_new_with_seed(20261202);
  int ret = 0;

  if (argc < 3 || argc > 5 || n <= 0 || npat <= 0 || skew < 0 || skew > 10) {
    fprintf(stderr, "usage: serve-fill STORE_DIR N [PATIENTS [SKEW]]\n");
    return 2;
  }
  count = g_new0(uint32_t, npat);
  ret = hk_store_open(argv[1], HK_STORE_CREATE, &s);
  if (ret == 0)
    ret = hk_fill_patients(s, npat, batch);
  for (long i = 0; ret == 0 && i < n; i++) {
    char pid[32], src[64], body[96], hex[65], when[40];
    uint8_t d[32];
    HkVersion v = {0};
    bool added = false;

    if (!t) {
      ret = hk_txn_begin(s, true, &t);
      if (ret < 0)
        break;
    }
    long who = skew > 0 ? MIN((long)(npat * pow(g_rand_double(rng), skew)), npat - 1)
                        : MIN(i / per, npat - 1);
    /* The patient's how-many-th document: redone batches count again, which
     * only moves a date. */
    uint32_t nth = count[who]++;
    snprintf(pid, sizeof pid, "B%07ld", who);
    snprintf(src, sizeof src, "BENCH:%ld", i);
    snprintf(body, sizeof body, "synthetic note %ld of patient %s\n", i, pid);
    hk_sha256(body, strlen(body), d);
    hk_sha256_hex(d, hex);
    ret = hk_store_put_blob(t, hex, body, strlen(body), NULL);
    /* One document per hour going back from 2026-11-01, per patient (a
     * patient with thousands has them over months, not decades). */
    v.created_usec = (int64_t)1793491200 * G_USEC_PER_SEC - (int64_t)nth * 3600 * G_USEC_PER_SEC;
    {
      char *f = hk_time_format(v.created_usec);
      g_strlcpy(when, f, sizeof when);
      g_free(f);
    }
    v.patient_id = pid;
    v.source_id = src;
    v.type = "progress_note";
    v.title = "経過記録";
    v.content_type = "text/plain";
    v.created_at = when;
    v.size = strlen(body);
    v.source = "bench";
    memcpy(v.sha256, hex, sizeof v.sha256);
    if (ret == 0)
      ret = hk_store_add_version(t, &v, &added);
    if (ret == 0 && (i + 1) % batch == 0) {
      ret = hk_txn_commit(t);
      t = NULL;
      if (ret == -HK_ESPACE) {
        /* Map full: grow and redo the batch from its start. */
        ret = hk_store_grow(s);
        i -= batch;
      }
    } else if (ret == -HK_ESPACE) {
      hk_txn_abort(t);
      t = NULL;
      ret = hk_store_grow(s);
      i = (i / batch) * batch - 1;
    }
  }
  if (ret == 0 && t) {
    ret = hk_txn_commit(t);
    t = NULL;
  }
  if (ret == 0) {
    ret = hk_txn_begin(s, true, &t);
    if (ret == 0)
      ret = hk_store_set_archive_as_of(t, hk_time_now());
    if (ret == 0)
      ret = hk_txn_commit(t);
    t = NULL;
  }
  hk_txn_abort(t);
  if (s)
    hk_store_close(s);
  if (ret < 0) {
    fprintf(stderr, "serve-fill: %s\n", hk_strerror(ret));
  } else {
    /* The shape, for the benchmark's report. */
    long with1000 = 0;
    qsort(count, npat, sizeof count[0], hk_u32_cmp);
    for (long i = 0; i < npat; i++)
      with1000 += count[i] >= 1000;
    printf("serve-fill: %ld documents over %ld patients; documents per patient: max %u, p99 %u, "
           "median %u, min %u; %ld patients with 1000 or more\n",
           n, npat, count[npat - 1], count[(long)(npat * 0.99)], count[npat / 2], count[0],
           with1000);
  }
  g_free(count);
  g_rand_free(rng);
  return ret < 0 ? 1 : 0;
}

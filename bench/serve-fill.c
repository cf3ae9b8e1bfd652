/* serve-fill: write N synthetic documents straight into a hikae store
 * through the store API (the one the indexer uses), for bench/serve's
 * timeline figures at 1,000,000 documents: the sample generator renders
 * real PDFs and would take hours at that size. 50 documents per patient.
 *
 *   serve-fill STORE_DIR N */
#include "hk-error.h"
#include "hk-sha256.h"
#include "hk-store.h"
#include "hk-time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
  hk_store *s = NULL;
  hk_txn *t = NULL;
  long n = argc == 3 ? atol(argv[2]) : 0;
  long per = 50, batch = 20000;
  int ret = 0;

  if (n <= 0) {
    fprintf(stderr, "usage: serve-fill STORE_DIR N\n");
    return 2;
  }
  ret = hk_store_open(argv[1], HK_STORE_CREATE, &s);
  for (long i = 0; ret == 0 && i < n; i++) {
    char pid[32], src[64], body[96], hex[65], when[40];
    uint8_t d[32];
    HkVersion v = { 0 };
    bool added = false;

    if (!t) {
      ret = hk_txn_begin(s, true, &t);
      if (ret < 0)
        break;
    }
    snprintf(pid, sizeof pid, "B%07ld", i / per);
    snprintf(src, sizeof src, "BENCH:%ld", i);
    snprintf(body, sizeof body, "synthetic note %ld of patient %s\n", i, pid);
    hk_sha256(body, strlen(body), d);
    hk_sha256_hex(d, hex);
    if (i % per == 0) {
      HkPatient *p = hk_patient_new(pid);
      p->name = g_strdup_printf("試験 %ld", i / per);
      p->kana = g_strdup("シケン");
      p->birth_date = g_strdup("1960-01-01");
      p->sex = g_strdup("U");
      ret = hk_store_put_patient(t, p);
      hk_patient_free(p);
    }
    if (ret == 0)
      ret = hk_store_put_blob(t, hex, body, strlen(body), NULL);
    /* One document per day going back from 2026-11-01, per patient. */
    v.created_usec = (int64_t)1793491200 * G_USEC_PER_SEC - (i % per) * (int64_t)86400 * G_USEC_PER_SEC;
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
  if (ret < 0)
    fprintf(stderr, "serve-fill: %s\n", hk_strerror(ret));
  return ret < 0 ? 1 : 0;
}

/* libFuzzer target: stored version and patient records, rows (the binary
 * list records, hk-row.h), patient rows (hk-patient-row.h), text records
 * and page lists (hk-text.h) and the kana fold, which read bytes from the
 * store, from parser workers and from queries. */
#include "hk-kana.h"
#include "hk-patient-row.h"
#include "hk-patient.h"
#include "hk-row.h"
#include "hk-text.h"
#include "hk-version.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  HkVersion *v = NULL;
  HkPatient *p = NULL;
  HkRow row;
  char *text = g_strndup((const char *)data, size);
  uint64_t sum = 0;

  if (hk_version_from_json((const char *)data, size, &v) == 0) {
    char *again = hk_version_to_json(v);
    g_free(again);
  }
  if (hk_patient_from_json((const char *)data, size, &p) == 0) {
    char *again = hk_patient_to_json(p);
    g_free(again);
  }
  /* A row that decodes is walked as the timeline writer walks it, without
   * bounds checks of its own: the decode must have made them all. */
  if (hk_row_decode(data, size, &row) == 0) {
    const uint8_t *at = row.versions_at;
    for (uint32_t i = 0; i < row.n_versions; i++) {
      HkRowVersion o;
      hk_row_next_version(&at, &o);
      sum += o.sha256[31] + (o.patient_id.len ? (uint8_t)o.patient_id.p[o.patient_id.len - 1] : 0);
    }
    at = row.refused_at;
    for (uint32_t i = 0; i < row.n_refused; i++) {
      HkRowRefusal rf;
      hk_row_next_refusal(&at, &rf);
      sum += rf.reason.len ? (uint8_t)rf.reason.p[rf.reason.len - 1] : 0;
    }
  }
  /* A patient row that decodes is written out as search and the census
   * write it: every string within the bytes. */
  {
    HkPatientRow pr;
    if (hk_patient_row_decode(data, size, &pr) == 0) {
      const HkRowStr *f[] = {&pr.id,   &pr.name, &pr.kana, &pr.birth_date, &pr.sex,
                             &pr.ward, &pr.room, &pr.bed,  &pr.admitted_at};
      for (unsigned i = 0; i < sizeof f / sizeof f[0]; i++)
        sum += f[i]->len ? (uint8_t)f[i]->p[f[i]->len - 1] : 0;
      sum += (uintptr_t)hk_patient_row_admission_status(&pr);
    }
  }
  /* Text records: a page list that decodes is walked as the indexer walks
   * a parser worker's answer, with no checks of its own, and each page's
   * text must be UTF-8 within the bytes. */
  {
    HkTextInfo ti;
    HkTextPage tp;
    HkTextListReader tr;
    if (hk_text_info_decode(data, size, &ti) == 0)
      sum += ti.reason.len ? (uint8_t)ti.reason.p[ti.reason.len - 1] : 0;
    if (hk_text_page_decode(data, size, &tp) == 0 && tp.text.len) {
      sum += (uint8_t)tp.text.p[tp.text.len - 1];
      if (!g_utf8_validate(tp.text.p, tp.text.len, NULL))
        __builtin_trap();
    }
    if (hk_text_list_decode(data, size, &tr) == 0) {
      for (uint32_t i = 0; i < tr.pages; i++) {
        hk_text_list_next(&tr, &tp);
        sum += tp.text.len ? (uint8_t)tp.text.p[tp.text.len - 1] : 0;
      }
      if (tr.at != tr.end)
        __builtin_trap();
    }
  }
  (void)sum;
  g_free(hk_kana_fold(text));
  hk_kana_is_kana(text);
  hk_version_free(v);
  hk_patient_free(p);
  g_free(text);
  return 0;
}

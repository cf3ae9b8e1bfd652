/* hk-samples-patient.h: the synthetic patients of hikae-samples.
 *
 * Shared by the drop-folder writer (hk-samples.c) and the SS-MIX2 writer
 * (hk-samples-ssmix2.c), so that both describe the same people. Names are
 * drawn from tables of real Japanese family and given names with their
 * katakana readings; every field is a function of the seed alone. */
#pragma once

#include <glib.h>

#define HK_SAMPLES_PATIENT_ID_LEN 10 /* digits, zero-padded: "0000001234" */

typedef struct {
  char id[HK_SAMPLES_PATIENT_ID_LEN + 1];
  /* Whole names as the drop-folder sidecar and the API carry them: family
   * and given name separated by one ASCII space ("山田 花子", "ヤマダ ハナコ"). */
  char *name;
  char *kana;
  /* The parts, for writers that need them apart (HL7 PID-5: family^given). */
  const char *family;      /* kanji; static, never freed */
  const char *given;       /* kanji; static */
  const char *family_kana; /* full-width katakana; static */
  const char *given_kana;  /* full-width katakana; static */
  char birth_date[11];     /* YYYY-MM-DD, 1930-01-01 .. 2020-12-31 */
  char sex;                /* 'F' or 'M' */
  const char *department;  /* the clinical department that follows the patient; static */
} HkSamplesPatient;

/* Make n patients with distinct IDs from rng. The result owns its elements
 * (freed with the array). Returns 0 or -HK_EINVAL if n is out of range. */
int hk_samples_patients_generate(GRand *rng, guint n, GPtrArray **out);

void hk_samples_patient_free(HkSamplesPatient *p);

/* A person's name for a document's author or a physician in a letter:
 * "佐藤 健一". Static tables only; returns a newly allocated string. */
char *hk_samples_staff_name(GRand *rng);

/* Clinical departments a patient may follow (static strings). */
extern const char *const hk_samples_departments[];
extern const guint hk_samples_n_departments;

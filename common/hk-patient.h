/* hk-patient.h: a patient's identity and the clinical facts the first hour
 * of a downtime needs: allergies, problems, current admission. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define HK_PATIENT_ID_MAX 32

typedef struct {
  char *allergen;
  char *type;     /* drug, food, environmental... (may be NULL) */
  char *reaction; /* may be NULL */
  char *severity; /* may be NULL */
} HkAllergy;

typedef struct {
  char *code; /* may be NULL */
  char *name;
  char *onset; /* may be NULL */
} HkProblem;

typedef struct {
  char *ward;
  char *room;
  char *bed;
  char *admitted_at; /* RFC 3339 or HL7 time as given */
} HkAdmission;

/* Where the identity fields came from; an SS-MIX2 patient master outranks
 * a drop-folder sidecar. */
typedef enum { HK_PATIENT_FROM_DROP = 0, HK_PATIENT_FROM_SSMIX2 = 1 } HkPatientOrigin;

typedef struct {
  char *id;
  char *name;       /* kanji; may be NULL */
  char *kana;       /* may be NULL */
  char *birth_date; /* YYYY-MM-DD; may be NULL */
  char *sex;        /* F, M, O, U; may be NULL */
  HkPatientOrigin origin;
  GPtrArray *allergies; /* HkAllergy* */
  GPtrArray *problems;  /* HkProblem* */
  HkAdmission *admission; /* NULL when not an inpatient */
  int64_t updated_at;
} HkPatient;

/* True if id is 1-32 of A-Za-z0-9-_ (interfaces.md). */
bool hk_patient_id_valid(const char *id);

HkPatient *hk_patient_new(const char *id);
void hk_patient_free(HkPatient *p);

HkAllergy *hk_allergy_new(const char *allergen, const char *type, const char *reaction,
                          const char *severity);
void hk_allergy_free(HkAllergy *a);
HkProblem *hk_problem_new(const char *code, const char *name, const char *onset);
void hk_problem_free(HkProblem *p);
HkAdmission *hk_admission_new(const char *ward, const char *room, const char *bed,
                              const char *admitted_at);
void hk_admission_free(HkAdmission *a);

/* Serialize in the shape of GET /api/v1/patients/{id} (plus "origin"). */
char *hk_patient_to_json(const HkPatient *p);
/* Returns 0 or -HK_ECORRUPT. */
int hk_patient_from_json(const char *json, size_t len, HkPatient **out);

/* Fill the identity fields of dst from src where src has a value and may
 * override dst: a higher or equal origin overrides, a lower one only fills
 * gaps. Allergies, problems and admission are left alone. */
void hk_patient_merge_identity(HkPatient *dst, const HkPatient *src);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkPatient, hk_patient_free)

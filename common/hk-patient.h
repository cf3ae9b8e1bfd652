/* hk-patient.h: a patient's identity and the clinical facts the first hour
 * of a downtime needs: allergies, problems, current admission. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
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

/* A clinical fact (the allergy list, the problem list, the admission) whose
 * newest source message could not be read. The fact then keeps what it was
 * before, and the reader must be told it may be out of date: "no allergies"
 * and "allergies unknown" are different things at the bedside. */
typedef struct {
  char *reason;  /* NULL: the fact is what the sources say */
  int64_t since; /* when it was first found unreadable (usec), 0 if reason is NULL */
} HkFactUnreadable;

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
  HkFactUnreadable allergies_unreadable;
  HkFactUnreadable problems_unreadable;
  HkFactUnreadable admission_unreadable;
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

/* "recorded", "none_recorded" or "unreadable": what the patient header says
 * of a fact (has_data: the list is non-empty, or the patient is admitted). */
const char *hk_fact_status(bool has_data, const HkFactUnreadable *u);
/* Mark u unreadable for reason (copied), keeping an earlier since. */
void hk_fact_set_unreadable(HkFactUnreadable *u, const char *reason, int64_t now);
void hk_fact_clear(HkFactUnreadable *u);

typedef enum {
  HK_PATIENT_JSON_API = 0,   /* GET /api/v1/patients/{id} */
  HK_PATIENT_JSON_STORE = 1, /* adds "origin" and "updated_usec" */
} HkPatientJsonShape;

/* Add the members of a patient to the open object of b. The one writer of
 * patient JSON, for the store and for the API alike. */
void hk_patient_build_json(JsonBuilder *b, const HkPatient *p, HkPatientJsonShape shape);
/* Serialize in the shape of GET /api/v1/patients/{id} plus "origin" and
 * "updated_usec" (the store's record). */
char *hk_patient_to_json(const HkPatient *p);
/* Returns 0 or -HK_ECORRUPT. */
int hk_patient_from_json(const char *json, size_t len, HkPatient **out);

/* Fill the identity fields of dst from src where src has a value and may
 * override dst: a higher or equal origin overrides, a lower one only fills
 * gaps. Allergies, problems and admission are left alone. */
void hk_patient_merge_identity(HkPatient *dst, const HkPatient *src);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkPatient, hk_patient_free)

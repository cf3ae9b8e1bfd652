/* hk-patient-row.h: the list record ("row") of a patient, the codec of the
 * store's `patient_rows` table (docs/store.md, "Patient rows").
 *
 * A patient search answers each patient's identity, a census each
 * inpatient's identity and bed. Read from the patient records, that was a
 * JSON parse of the whole record (allergies, problems and all) per patient
 * per request: the census of one ward spent most of its time in json-glib
 * (docs/benchmarks.md, "Patient search and census from rows"). A patient row holds exactly
 * those fields, in the layout of hk-row.h. It is derived data:
 * hk_patient_row_encode makes it from the record, and `hikae-admin verify`
 * checks every stored row against its record. */
#pragma once

#include "hk-patient.h"
#include "hk-row.h"

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* The first byte of every patient row: its layout. */
#define HK_PATIENT_ROW_VERSION 1

enum {
  HK_PROW_ADMITTED = 1 << 0,             /* the record holds an admission */
  HK_PROW_ADMISSION_UNREADABLE = 1 << 1, /* its newest source message could not be read */
};

/* A decoded patient row: every string points into the row's bytes (valid
 * while they are, i.e. until the transaction that read them ends). */
typedef struct {
  uint8_t flags; /* HK_PROW_* */
  HkRowStr id, name, kana, birth_date, sex, ward, room, bed, admitted_at;
} HkPatientRow;

/* Append the row of p to out. */
void hk_patient_row_encode(const HkPatient *p, GByteArray *out);
/* Check the whole of data as a patient row and decode it.
 * \return 0, or -HK_ECORRUPT for another row version, a length that passes
 * its end, bytes left over, or no ID. */
int hk_patient_row_decode(const void *data, size_t len, HkPatientRow *out);
/* What GET /census says of the admission: hk_fact_status of the record. */
const char *hk_patient_row_admission_status(const HkPatientRow *r);

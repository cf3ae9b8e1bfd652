/* hk-samples-doc.h: one synthetic clinical document of hikae-samples: its
 * sidecar fields, where it goes in the drop folder, and the lines of its
 * body. Rendering it to bytes is hk-samples-render's job. */
#pragma once

#include "hk-samples-patient.h"

#include <glib.h>

typedef enum { HK_SAMPLES_PDF, HK_SAMPLES_JPEG, HK_SAMPLES_TEXT, HK_SAMPLES_N_KINDS } HkSamplesKind;

/* Body lines that one PDF page holds (fewer on ECG pages, whose lower part
 * holds the traces). The renderer lays out exactly this many. */
#define HK_SAMPLES_LINES_PER_PAGE 32
#define HK_SAMPLES_ECG_LINES_PER_PAGE 10

/* The document types of interfaces.md, in its order. */
#define HK_SAMPLES_N_TYPES 12
extern const char *const hk_samples_types[HK_SAMPLES_N_TYPES];

typedef struct {
  const HkSamplesPatient *patient; /* borrowed */
  guint64 index;                   /* 0-based, over the whole run */
  HkSamplesKind kind;
  const char *type;         /* static */
  const char *type_code;    /* static: "PN" in "EHR:PN:0000001" */
  const char *content_type; /* static */
  const char *department;   /* static */
  char *title;
  char *source_id;
  char *author;
  char created_at[32]; /* RFC 3339, +09:00 */
  char *rel_path;      /* relative to the drop folder */
  guint pages;         /* 1 for JPEG and text */
  GPtrArray *lines;    /* char*: the body; '\t' separates table columns */
  int heart_rate;      /* ECG traces only */
  /* Known-text scans (hk-samples-ocr.h) only, else 0: the scan's
   * resolution, its tilt in degrees and the body's size in points. */
  guint dpi;
  double tilt_deg;
  double font_pt;
  guint defects; /* HkSamplesScanDefect: what the scanner adds */
} HkSamplesDoc;

/* Draw n creation times for one patient, in minutes since the Julian day
 * epoch of GDate, sorted ascending so that a patient's documents arrive in
 * the order they were written. All fall on or after the birth date, between
 * 2016-01-01 and 2026-10-31, during the day (07:00-21:00 JST). */
void hk_samples_doc_times(GRand *rng, const HkSamplesPatient *p, guint n, gint64 *out);

/* Plan document number index (0-based over the run) of patient p, created at
 * minute when (as given by hk_samples_doc_times), drawing everything else
 * from rng. The first 12 documents of a run take each type once and the
 * first three each kind once, so that even a small run holds every type and
 * kind; the rest are drawn (about 50% PDF, 25% JPEG, 25% text). */
HkSamplesDoc *hk_samples_doc_new(const HkSamplesPatient *p, guint64 index, gint64 when, GRand *rng);
void hk_samples_doc_free(HkSamplesDoc *d);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkSamplesDoc, hk_samples_doc_free)

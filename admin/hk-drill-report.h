/* hk-drill-report.h: what one run of hikae-admin drill found, and its two
 * written forms: a JSON file for machines and a PDF a manager can file
 * (hk-drill-pdf.h). Neither ever holds a password or a session token; the
 * report names the patient ID and document ID the drill used, never a
 * patient's name. */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef enum {
  HK_DRILL_PASS,
  HK_DRILL_FAIL,
  HK_DRILL_SKIPPED, /* not run because an earlier step it needs failed */
} HkDrillResult;

typedef struct {
  const char *name;     /* machine name: "health", "login"... */
  const char *title;    /* English title */
  const char *title_ja; /* Japanese title */
  HkDrillResult result;
  double ms;    /* monotonic clock, whole step */
  char *reason; /* why it failed or was skipped; NULL when it passed */
  char *detail; /* what it saw ("3 inpatients"); may be NULL */
} HkDrillStep;

#define HK_DRILL_MAX_STEPS 16

typedef struct {
  char *server;         /* the --server URL */
  char *user;           /* the operator account */
  int64_t started_at;   /* wall clock, microseconds since the epoch */
  double total_ms;      /* monotonic, every step */
  char *patient_id;     /* the patient the drill used; may be NULL */
  char *patient_source; /* "--patient" or "census"; may be NULL */
  char *document_id;    /* the document it fetched; may be NULL */
  /* Freshness, as /api/v1/status gave it. */
  char *archive_as_of; /* RFC 3339; NULL if unknown */
  int64_t as_of_usec;  /* 0 if unknown */
  gboolean have_age;
  int64_t age_s;       /* drill clock minus archive_as_of */
  int max_age_min;     /* --max-age */
  char *indexer;       /* "running", "sealed", "stopped"; NULL if unknown */
  char *sealed_reason; /* may be NULL */
  char *server_time;   /* may be NULL */
  HkDrillStep steps[HK_DRILL_MAX_STEPS];
  guint nsteps;
} HkDrillReport;

/* Add a step (not run yet: skipped, "not run"); \return it. */
HkDrillStep *hk_drill_report_add(HkDrillReport *r, const char *name, const char *title,
                                 const char *title_ja);

/* The first step that did not pass, or NULL when every step passed. */
const HkDrillStep *hk_drill_report_failed(const HkDrillReport *r);

/* "PASS"/"FAIL"... of a result, and its Japanese word. */
const char *hk_drill_result_name(HkDrillResult res);
const char *hk_drill_result_ja(HkDrillResult res);

/* A wall-clock time (microseconds) as "2026-12-02 11:53:04 JST" (g_free). */
char *hk_drill_format_jst(int64_t usec);

/* The report as pretty-printed JSON text (g_free). */
char *hk_drill_report_json(const HkDrillReport *r);

/* Write DIR/hikae-drill-YYYYMMDDTHHMMSSZ.pdf and .json (each to a
 * temporary name first, then renamed into place); creates dir (0750) if
 * missing. Sets *pdf and *json to the paths written (g_free).
 * \return 0; -HK_EIO with *reason set (g_free). */
int hk_drill_report_write(const HkDrillReport *r, const char *dir, char **pdf, char **json,
                          char **reason);

void hk_drill_report_clear(HkDrillReport *r);

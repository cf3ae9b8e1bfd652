/* hk-format.h: how the viewer words and judges what the API gives it.
 *
 * Pure functions (no widgets) so that the rules a clinician relies on (age,
 * freshness, what counts as stale) are unit-tested. Strings are translated
 * with gettext; callers free every returned string with g_free. */
#pragma once

#include "hk-api.h"

G_BEGIN_DECLS

/* Age in whole years on the day `today` (local calendar date) of someone
 * born on birth_date "YYYY-MM-DD". A 29 February birthday counts as passed
 * on 1 March in common years. Returns -1 if birth_date is not a date or lies
 * after today. */
int hk_format_age(const char *birth_date, GDateTime *today);

/* "1950-05-04 (76 y)" / "1950-05-04（76歳）"; "unknown" when absent. */
char *hk_format_birth_and_age(const char *birth_date, GDateTime *today);

/* Sex code (F, M, O, U, or anything) as a word for the UI. */
char *hk_format_sex(const char *sex);

/* Local "YYYY-MM-DD HH:MM" of t, or "—" for NULL. */
char *hk_format_datetime(GDateTime *t);
/* Local "YYYY-MM-DD" of t, or "—" for NULL. */
char *hk_format_date(GDateTime *t);

/* "3 min ago", "2 h 5 min ago", "4 days ago", "just now" for now - t. */
char *hk_format_ago(GDateTime *t, GDateTime *now);

typedef enum {
  HK_FRESHNESS_OK,
  HK_FRESHNESS_STALE,   /* archive older than the threshold */
  HK_FRESHNESS_SEALED,  /* the indexer sealed itself (tripwire) */
  HK_FRESHNESS_STOPPED, /* the indexer is not running */
  HK_FRESHNESS_UNKNOWN, /* no status yet, or the server does not answer */
} HkFreshness;

/* Judge status at now: a sealed or stopped indexer is worse than an old
 * archive, so it wins. threshold_s is the allowed age of archive_as_of.
 * *text (may be NULL) gets the banner text, e.g. "Archive current as of
 * 08:42 (3 min ago)", followed by the reason when not OK. */
HkFreshness hk_format_freshness(const HkStatusInfo *status, GDateTime *now, gint64 threshold_s,
                                char **text);

/* A document type of interfaces.md as a word, and its icon name. Unknown
 * types read as the type itself with a generic icon. */
const char *hk_format_doc_type(const char *type);
const char *hk_format_doc_type_icon(const char *type);
/* The document types of interfaces.md, NULL-terminated, in menu order. */
const char *const *hk_format_doc_types(void);

/* "ID 0001234567  山田 花子 (ヤマダ ハナコ)" for headers and the cover page. */
char *hk_format_patient_line(const HkPatientInfo *p);

/* "Ward 5A, room 512, bed 2", or "Not admitted" / "Ward unknown". */
char *hk_format_location(const HkPatientInfo *p);

/* The allergens, joined by "、" or ", " as the locale wants; NULL if none. */
char *hk_format_allergens(const HkPatientInfo *p);
/* The allergy banner of the patient header and the printed pack: the
 * allergens, "none recorded", or that allergy data could not be read (with
 * what is known). *alarm is TRUE when it must stand out (allergies, or
 * unknown). with_sign adds the ⚠ the screen shows. */
char *hk_format_allergy_banner(const HkPatientInfo *p, gboolean with_sign, gboolean *alarm);

/* The first 12 hex digits of a SHA-256, the prefix that stamps carry. */
char *hk_format_sha_prefix(const char *sha256);

/* Pango markup of a search hit's snippet: "p. 2: …the <b>words</b>…", the
 * text escaped, each mark in bold. */
char *hk_format_snippet_markup(const HkDocMatch *m);

G_END_DECLS

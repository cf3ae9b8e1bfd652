/* hk-samples-ocr.h: scans whose text is known, for measuring OCR (issue 14,
 * item 5): a consent form or a referral letter of one patient, laid out as
 * lines that fit an A4 page, to be drawn by hk-samples-scan.h at a
 * scanner's resolution. The lines are the text: every character drawn on
 * the page is in them, and nothing else is, so what OCR reads can be
 * compared with them character by character.
 *
 * The text mixes what clinical Japanese holds: kanji, hiragana, katakana,
 * ASCII and full-width digits and Latin letters, full-width punctuation,
 * and terms a clinician searches for (ペニシリン, 造影剤, 癌, 肺炎). */
#pragma once

#include "hk-samples-doc.h"

/* Resolutions a scanner is set to for OCR (the doc's dpi is one of them). */
#define HK_SAMPLES_OCR_DPI_LO 200
#define HK_SAMPLES_OCR_DPI_HI 300

/* Plan known-text scan number n (0-based over the run's known-text scans)
 * of patient p, drawing everything from rng: a JPEG document with dpi,
 * tilt_deg and font_pt set and its lines the exact text. */
HkSamplesDoc *hk_samples_ocr_doc_new(const HkSamplesPatient *p, guint64 n, GRand *rng);

/* The text of a planned known-text scan as the manifest holds it: the
 * title, then each line, separated by '\n' (newly allocated). */
char *hk_samples_ocr_text(const HkSamplesDoc *d);

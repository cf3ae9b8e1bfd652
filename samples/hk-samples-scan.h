/* hk-samples-scan.h: draw a known-text scan (hk-samples-ocr.h) as a
 * scanner set up for OCR makes it: a grey A4 page at the document's
 * resolution, tilted by its tilt_deg, with sensor noise, specks of dust
 * and JPEG compression, every draw from the document's generator. */
#pragma once

#include "hk-samples-doc.h"

#include <cairo.h>
#include <glib.h>
#include <turbojpeg.h>

/* What a scan adds to the page's text (the document's defects); bench/ocr
 * turns them off one at a time to see what costs OCR its accuracy. The
 * draws are made whatever is on, so that the rest stays as it was. */
typedef enum {
  HK_SCAN_TILT = 1 << 0,   /* 1-2 degrees (the document's tilt_deg) */
  HK_SCAN_NOISE = 1 << 1,  /* Gaussian sensor noise */
  HK_SCAN_SPECKS = 1 << 2, /* dust */
  HK_SCAN_STREAK = 1 << 3, /* a faint line down the page */
  HK_SCAN_ALL = (1 << 4) - 1,
} HkSamplesScanDefect;

/* Parse "all", "none" or a comma-separated list of "tilt", "noise",
 * "specks", "streak" into *out. Returns 0 or -HK_EINVAL. */
int hk_samples_scan_defects_parse(const char *s, guint *out);

/* Replace the contents of out with the JPEG of d, drawn with the faces
 * regular and bold (the title), compressed with tj; rng supplies the
 * noise. Returns 0, or -HK_EIO if cairo or TurboJPEG fails. */
int hk_samples_scan_render(const HkSamplesDoc *d, cairo_font_face_t *regular,
                           cairo_font_face_t *bold, tjhandle tj, GRand *rng, GByteArray *out);

/* hk-samples-scan.h: draw a known-text scan (hk-samples-ocr.h) as a
 * scanner set up for OCR makes it: a grey A4 page at the document's
 * resolution, tilted by its tilt_deg, with sensor noise, specks of dust
 * and JPEG compression, every draw from the document's generator. */
#pragma once

#include "hk-samples-doc.h"

#include <cairo.h>
#include <glib.h>
#include <turbojpeg.h>

/* Replace the contents of out with the JPEG of d, drawn with the faces
 * regular and bold (the title), compressed with tj; rng supplies the
 * noise. Returns 0, or -HK_EIO if cairo or TurboJPEG fails. */
int hk_samples_scan_render(const HkSamplesDoc *d, cairo_font_face_t *regular,
                           cairo_font_face_t *bold, tjhandle tj, GRand *rng, GByteArray *out);

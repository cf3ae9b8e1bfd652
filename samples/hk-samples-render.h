/* hk-samples-render.h: turn a planned document (hk-samples-doc.h) into the
 * bytes of its content file: a multi-page PDF drawn with cairo, a JPEG
 * "scan" compressed with TurboJPEG, or a UTF-8 text note.
 *
 * A renderer keeps what is costly to set up (font faces, the TurboJPEG
 * handle, the scan raster) across documents; it is not thread-safe. */
#pragma once

#include "hk-samples-doc.h"

#include <glib.h>

/* The font every page is drawn in (fonts-noto-cjk). */
#define HK_SAMPLES_FONT "Noto Sans CJK JP"

typedef struct HkSamplesRender HkSamplesRender;

/* Returns 0 and a renderer in *out, or -HK_ENOMEM if TurboJPEG or cairo
 * cannot be set up. */
int hk_samples_render_new(HkSamplesRender **out);
void hk_samples_render_free(HkSamplesRender *r);

/* Drop cairo's and fontconfig's process-wide caches, once no renderer is
 * left, so that a leak checker (ASan in the test suite) sees a clean exit. */
void hk_samples_render_release_caches(void);

/* Replace the contents of out with d's content bytes. rng supplies the
 * imperfections of a scan (tilt, specks, scale); the same draws give the
 * same bytes. Returns 0, or -HK_EIO if cairo or TurboJPEG fails. */
int hk_samples_render(HkSamplesRender *r, const HkSamplesDoc *d, GRand *rng, GByteArray *out);

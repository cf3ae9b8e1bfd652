/* hk-jpeg.h: JPEG scans decoded with libjpeg-turbo (TurboJPEG API). */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

#define HK_JPEG_ERROR (hk_jpeg_error_quark())
GQuark hk_jpeg_error_quark(void);

/* Decode JPEG bytes into an cairo ARGB32 image surface (opaque), turned clockwise by
 * rotation degrees (0, 90, 180 or 270). Returns NULL and sets error if the
 * bytes are not a JPEG or the image is unreasonably large. */
cairo_surface_t *hk_jpeg_decode(GBytes *bytes, int rotation, GError **error);

/* The same surface turned clockwise by rotation degrees (new surface). */
cairo_surface_t *hk_jpeg_rotate(cairo_surface_t *src, int rotation);

G_END_DECLS

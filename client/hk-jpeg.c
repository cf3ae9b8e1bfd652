#include "hk-jpeg.h"

#include <turbojpeg.h>

G_DEFINE_QUARK(hk - jpeg - error - quark, hk_jpeg_error)

/* A scanned A3 page at 600 dpi is about 7000 x 10000; anything much larger
 * is a broken or hostile file, and would exhaust a laptop's memory. */
#define MAX_SIDE 20000
#define MAX_PIXELS (120 * 1000 * 1000)

cairo_surface_t *
hk_jpeg_rotate(cairo_surface_t *src, int rotation)
{
  int w = cairo_image_surface_get_width(src);
  int h = cairo_image_surface_get_height(src);
  int r = ((rotation % 360) + 360) % 360;
  gboolean swap = r == 90 || r == 270;
  cairo_surface_t *dst =
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, swap ? h : w, swap ? w : h);
  cairo_t *cr = cairo_create(dst);

  switch (r) {
  case 90:
    cairo_translate(cr, h, 0);
    break;
  case 180:
    cairo_translate(cr, w, h);
    break;
  case 270:
    cairo_translate(cr, 0, w);
    break;
  default:
    break;
  }
  cairo_rotate(cr, r * G_PI / 180.0);
  cairo_set_source_surface(cr, src, 0, 0);
  cairo_paint(cr);
  cairo_destroy(cr);
  return dst;
}

cairo_surface_t *
hk_jpeg_decode(GBytes *bytes, int rotation, GError **error)
{
  tjhandle tj = tjInitDecompress();
  cairo_surface_t *surface = NULL;
  cairo_surface_t *res = NULL;
  gsize len = 0;
  const unsigned char *data = g_bytes_get_data(bytes, &len);
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  /* cairo's ARGB32/RGB24 is native-endian 32-bit: B,G,R,X in memory on
   * little-endian machines. */
  int pf = G_BYTE_ORDER == G_LITTLE_ENDIAN ? TJPF_BGRA : TJPF_ARGB;

  if (!tj) {
    g_set_error(error, HK_JPEG_ERROR, 0, "TurboJPEG: %s", tjGetErrorStr2(NULL));
    goto out;
  }
  if (!data || len < 4 ||
      tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp, &colorspace) != 0) {
    g_set_error(error, HK_JPEG_ERROR, 0, "not a JPEG image: %s", tjGetErrorStr2(tj));
    goto out;
  }
  if (w <= 0 || h <= 0 || w > MAX_SIDE || h > MAX_SIDE || (gint64)w * h > MAX_PIXELS) {
    g_set_error(error, HK_JPEG_ERROR, 0, "JPEG image too large (%d x %d)", w, h);
    goto out;
  }
  surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    g_set_error(error, HK_JPEG_ERROR, 0, "out of memory for a %d x %d image", w, h);
    goto out;
  }
  cairo_surface_flush(surface);
  if (tjDecompress2(tj, data, (unsigned long)len, cairo_image_surface_get_data(surface), w,
                    cairo_image_surface_get_stride(surface), h, pf, TJFLAG_ACCURATEDCT) != 0 &&
      tjGetErrorCode(tj) == TJERR_FATAL) {
    /* A warning (e.g. a truncated scan) still yields a usable picture. */
    g_set_error(error, HK_JPEG_ERROR, 0, "cannot decode JPEG: %s", tjGetErrorStr2(tj));
    goto out;
  }
  cairo_surface_mark_dirty(surface);
  if (rotation % 360 != 0)
    res = hk_jpeg_rotate(surface, rotation);
  else
    res = cairo_surface_reference(surface);
out:
  if (surface)
    cairo_surface_destroy(surface);
  if (tj)
    tjDestroy(tj);
  return res;
}

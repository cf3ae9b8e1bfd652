#include "hk-thumbnail.h"

#include "hk-error.h"
#include "hk-sandbox.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <poppler.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

const char *
hk_sniff(const void *data, size_t len)
{
  const unsigned char *p = data;
  const char *type = NULL;

  if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    type = "image/jpeg";
  } else if (len >= 5 && memmem(p, MIN(len, 1024), "%PDF-", 5)) {
    /* Readers accept the header anywhere in the first 1024 bytes. */
    type = "application/pdf";
  } else if (len > 0 && !memchr(p, 0, len) && g_utf8_validate((const char *)p, (gssize)len, NULL)) {
    type = "text/plain";
  }
  return type;
}

static int
hk_jpeg_encode(const unsigned char *pixels, int w, int h, int pitch, int pf, GBytes **out,
               char **reason)
{
  tjhandle tj = tjInitCompress();
  unsigned char *buf = NULL;
  unsigned long size = 0;
  int ret = -HK_EINVAL;

  if (!tj) {
    *reason = g_strdup("cannot start JPEG encoder");
    goto out;
  }
  if (tjCompress2(tj, pixels, w, pitch, h, pf, &buf, &size, TJSAMP_420, 80, TJFLAG_FASTDCT) != 0) {
    *reason = g_strdup_printf("thumbnail encode: %s", tjGetErrorStr2(tj));
    goto out;
  }
  *out = g_bytes_new(buf, size);
  ret = 0;
out:
  if (buf)
    tjFree(buf);
  if (tj)
    tjDestroy(tj);
  return ret;
}

static void
hk_fit(double w, double h, int *tw, int *th)
{
  double s = HK_THUMB_MAX / MAX(w, h);

  if (s > 1)
    s = 1;
  *tw = MAX(1, (int)(w * s + 0.5));
  *th = MAX(1, (int)(h * s + 0.5));
}

static int
hk_pdf(const void *data, size_t len, GBytes **thumb, char **reason)
{
  GBytes *bytes = g_bytes_new_static(data, len);
  PopplerDocument *doc = NULL;
  PopplerPage *page = NULL;
  cairo_surface_t *surf = NULL;
  cairo_t *cr = NULL;
  GError *err = NULL;
  double pw, ph;
  int tw, th, ret = -HK_EINVAL;

  doc = poppler_document_new_from_bytes(bytes, NULL, &err);
  if (!doc) {
    if (g_error_matches(err, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
      *reason = g_strdup("PDF is encrypted and needs a password: staff could not read it");
    else
      *reason = g_strdup_printf("not a readable PDF: %s", err ? err->message : "unknown error");
    goto out;
  }
  if (poppler_document_get_n_pages(doc) < 1) {
    *reason = g_strdup("PDF has no pages");
    goto out;
  }
  ret = 0;
  /* From here on a failure costs only the thumbnail. */
  if (!thumb)
    goto out;
  page = poppler_document_get_page(doc, 0);
  if (!page)
    goto out;
  poppler_page_get_size(page, &pw, &ph);
  if (!(pw > 1 && ph > 1 && pw < 100000 && ph < 100000))
    goto out;
  hk_fit(pw, ph, &tw, &th);
  surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, tw, th);
  cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_scale(cr, tw / pw, th / ph);
  poppler_page_render(page, cr);
  cairo_surface_flush(surf);
  if (cairo_status(cr) == CAIRO_STATUS_SUCCESS) {
    char *why = NULL;
    /* CAIRO_FORMAT_RGB24 is B,G,R,X in memory on little-endian machines. */
    hk_jpeg_encode(cairo_image_surface_get_data(surf), tw, th, cairo_image_surface_get_stride(surf),
                   G_BYTE_ORDER == G_LITTLE_ENDIAN ? TJPF_BGRX : TJPF_XRGB, thumb, &why);
    g_free(why);
  }
out:
  if (cr)
    cairo_destroy(cr);
  if (surf)
    cairo_surface_destroy(surf);
  if (page)
    g_object_unref(page);
  if (doc)
    g_object_unref(doc);
  g_clear_error(&err);
  g_bytes_unref(bytes);
  return ret;
}

static int
hk_jpeg(const void *data, size_t len, GBytes **thumb, char **reason)
{
  tjhandle tj = tjInitDecompress();
  unsigned char *pixels = NULL;
  /* Set before the header is read: TurboJPEG leaves them untouched on a
   * stream with no frame header (SOF) and still returns success, and what
   * was on the stack then decided whether the document passed. */
  int w = 0, h = 0, subsamp = -1, cs = -1, nsf = 0, ret = -HK_EINVAL;
  tjscalingfactor *sf, best = { 1, 1 };

  if (!tj) {
    *reason = g_strdup("cannot start JPEG decoder");
    goto out;
  }
  if (len > ULONG_MAX ||
      tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp, &cs) != 0) {
    *reason = g_strdup_printf("not a readable JPEG: %s", tjGetErrorStr2(tj));
    goto out;
  }
  if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > HK_IMAGE_MAX_PIXELS) {
    *reason = g_strdup_printf("JPEG dimensions %dx%d out of range", w, h);
    goto out;
  }
  /* The smallest libjpeg-turbo scale that still covers the thumbnail: the
   * decoder then skips most of the IDCT work. */
  sf = tjGetScalingFactors(&nsf);
  for (int i = 0; sf && i < nsf; i++) {
    int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
    int bw = TJSCALED(w, best), bh = TJSCALED(h, best);
    if (MAX(sw, sh) >= MIN(HK_THUMB_MAX, MAX(w, h)) && MAX(sw, sh) < MAX(bw, bh))
      best = sf[i];
  }
  int sw = TJSCALED(w, best), sh = TJSCALED(h, best);
  /* Scanners write CMYK (Adobe) JPEGs too; TurboJPEG decodes those only
   * to CMYK, so convert here. */
  bool cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
  pixels = g_malloc((size_t)sw * (size_t)sh * (cmyk ? 4 : 3));
  if (tjDecompress2(tj, data, (unsigned long)len, pixels, sw, 0, sh, cmyk ? TJPF_CMYK : TJPF_RGB,
                    TJFLAG_FASTDCT) != 0 &&
      tjGetErrorCode(tj) == TJERR_FATAL) {
    *reason = g_strdup_printf("JPEG data do not decode: %s", tjGetErrorStr2(tj));
    goto out;
  }
  if (cmyk) {
    /* Adobe stores CMYK inverted: each byte is already 255 - ink. */
    for (size_t i = 0; i < (size_t)sw * (size_t)sh; i++) {
      const unsigned char *p = pixels + i * 4;
      unsigned char *q = pixels + i * 3;
      unsigned k = p[3];
      unsigned char r = (unsigned char)(p[0] * k / 255), g = (unsigned char)(p[1] * k / 255),
                    b = (unsigned char)(p[2] * k / 255);
      q[0] = r;
      q[1] = g;
      q[2] = b;
    }
  }
  ret = 0;
  /* Box-reduce to the exact size with cairo, then encode. */
  {
    int tw, th;
    hk_fit(sw, sh, &tw, &th);
    cairo_surface_t *src = cairo_image_surface_create(CAIRO_FORMAT_RGB24, sw, sh);
    unsigned char *sp = cairo_image_surface_get_data(src);
    int stride = cairo_image_surface_get_stride(src);
    for (int y = 0; y < sh; y++)
      for (int x = 0; x < sw; x++) {
        const unsigned char *px = pixels + ((size_t)y * sw + x) * 3;
        uint32_t v = 0xff000000u | (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
        memcpy(sp + (size_t)y * stride + (size_t)x * 4, &v, 4);
      }
    cairo_surface_mark_dirty(src);
    cairo_surface_t *dst = cairo_image_surface_create(CAIRO_FORMAT_RGB24, tw, th);
    cairo_t *cr = cairo_create(dst);
    cairo_scale(cr, (double)tw / sw, (double)th / sh);
    cairo_set_source_surface(cr, src, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_surface_flush(dst);
    char *why = NULL;
    hk_jpeg_encode(cairo_image_surface_get_data(dst), tw, th, cairo_image_surface_get_stride(dst),
                   G_BYTE_ORDER == G_LITTLE_ENDIAN ? TJPF_BGRX : TJPF_XRGB, thumb, &why);
    g_free(why);
    cairo_destroy(cr);
    cairo_surface_destroy(dst);
    cairo_surface_destroy(src);
  }
out:
  g_free(pixels);
  if (tj)
    tjDestroy(tj);
  return ret;
}

int
hk_thumbnail_check(const char *content_type, const void *data, size_t len, bool want_thumb,
                   GBytes **thumb, char **reason)
{
  int ret = -HK_EINVAL;

  *thumb = NULL;
  *reason = NULL;
  if (g_strcmp0(content_type, "application/pdf") == 0) {
    ret = hk_pdf(data, len, want_thumb ? thumb : NULL, reason);
  } else if (g_strcmp0(content_type, "image/jpeg") == 0) {
    ret = hk_jpeg(data, len, thumb, reason);
  } else if (g_strcmp0(content_type, "text/plain") == 0) {
    ret = hk_sniff(data, len) && strcmp(hk_sniff(data, len), "text/plain") == 0 ? 0 : -HK_EINVAL;
    if (ret)
      *reason = g_strdup("text is not valid UTF-8 (or holds NUL bytes)");
  } else {
    *reason = g_strdup_printf("unsupported content type %s", content_type ? content_type : "(none)");
  }
  return ret;
}

static cairo_status_t
hk_append(void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append(closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static PopplerDocument *hk_poppler_keeper;

void
hk_thumbnail_warmup(void)
{
  GByteArray *pdf = g_byte_array_new();
  cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(hk_append, pdf, 200, 200);
  cairo_t *cr = cairo_create(surf);
  GBytes *thumb = NULL;
  char *reason = NULL;

  /* Text in a CJK face makes fontconfig and FreeType load what real
   * documents need. */
  cairo_select_font_face(cr, "Noto Sans CJK JP", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_move_to(cr, 10, 100);
  cairo_show_text(cr, "\xe6\x8e\xa7\xe3\x81\x88 hikae");
  cairo_destroy(cr);
  cairo_surface_finish(surf);
  cairo_surface_destroy(surf);
  hk_thumbnail_check("application/pdf", pdf->data, pdf->len, true, &thumb, &reason);
  /* poppler builds its global state (a scan of /usr/share/poppler) with
   * its first document and drops it with its last: one kept for good lets
   * every child inherit it instead of opening files in its sandbox. */
  if (!hk_poppler_keeper)
    hk_poppler_keeper =
        poppler_document_new_from_bytes(g_bytes_new(pdf->data, pdf->len), NULL, NULL);
  if (thumb)
    g_bytes_unref(thumb);
  g_free(reason);
  g_byte_array_unref(pdf);
}

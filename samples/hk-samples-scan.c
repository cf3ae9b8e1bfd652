#include "hk-samples-scan.h"

#include "hk-error.h"
#include "hk-log.h"

#include <math.h>
#include <string.h>

/* A4 in millimetres and points; the layout is in points, as the PDFs'. */
#define HK_A4_W_MM 210.0
#define HK_A4_H_MM 297.0
#define HK_MARGIN_PT 56.0
#define HK_TITLE_PT 16.0
#define HK_TITLE_Y_PT 72.0
#define HK_BODY_Y_PT 112.0
#define HK_LINE_SPACING 1.75

/* xorshift64*: the noise takes millions of draws per page, GRand's
 * Mersenne Twister would double the page's cost; seeded from rng, so the
 * bytes stay a function of the seed. */
static guint64
hk_next(guint64 *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * G_GUINT64_CONSTANT(2685821657736338717);
}

/* A normal draw of standard deviation 1 (Box-Muller, one of the pair). */
static double
hk_gauss(guint64 *s)
{
  const double u1 = ((hk_next(s) >> 11) + 1.0) / 9007199254740993.0;
  const double u2 = (hk_next(s) >> 11) / 9007199254740992.0;

  return sqrt(-2.0 * log(u1)) * cos(2 * G_PI * u2);
}

int
hk_samples_scan_defects_parse(const char *s, guint *out)
{
  static const struct {
    const char *name;
    guint flag;
  } names[] = {{"tilt", HK_SCAN_TILT},     {"noise", HK_SCAN_NOISE}, {"specks", HK_SCAN_SPECKS},
               {"streak", HK_SCAN_STREAK}, {"all", HK_SCAN_ALL},     {"none", 0}};
  char **parts = g_strsplit(s, ",", 8);
  int ret = 0;

  *out = 0;
  for (guint i = 0; parts[i] && ret == 0; i++) {
    guint k = 0;
    while (k < G_N_ELEMENTS(names) && strcmp(parts[i], names[k].name) != 0)
      k++;
    if (k == G_N_ELEMENTS(names))
      ret = -HK_EINVAL;
    else
      *out |= names[k].flag;
  }
  if (!parts[0])
    ret = -HK_EINVAL;
  g_strfreev(parts);
  return ret;
}

/* Draw the text of d as ink coverage on an A8 surface of w x h pixels. */
static void
hk_draw_ink(cairo_t *cr, const HkSamplesDoc *d, cairo_font_face_t *regular, cairo_font_face_t *bold,
            int w, int h)
{
  const double scale = d->dpi / 72.0;
  const double step = d->font_pt * HK_LINE_SPACING;

  cairo_save(cr);
  cairo_translate(cr, w / 2.0, h / 2.0);
  if (d->defects & HK_SCAN_TILT)
    cairo_rotate(cr, d->tilt_deg * G_PI / 180.0);
  cairo_translate(cr, -w / 2.0, -h / 2.0);
  cairo_scale(cr, scale, scale);
  cairo_set_source_rgba(cr, 0, 0, 0, 1);
  cairo_set_font_face(cr, bold);
  cairo_set_font_size(cr, HK_TITLE_PT);
  cairo_move_to(cr, HK_MARGIN_PT, HK_TITLE_Y_PT);
  cairo_show_text(cr, d->title);
  cairo_set_font_face(cr, regular);
  cairo_set_font_size(cr, d->font_pt);
  for (guint i = 0; i < d->lines->len; i++) {
    cairo_move_to(cr, HK_MARGIN_PT, HK_BODY_Y_PT + i * step);
    cairo_show_text(cr, g_ptr_array_index(d->lines, i));
  }
  cairo_restore(cr);
}

int
hk_samples_scan_render(const HkSamplesDoc *d, cairo_font_face_t *regular, cairo_font_face_t *bold,
                       tjhandle tj, GRand *rng, GByteArray *out)
{
  const int w = (int)lround(HK_A4_W_MM / 25.4 * d->dpi);
  const int h = (int)lround(HK_A4_H_MM / 25.4 * d->dpi);
  const double paper = 236 + g_rand_int_range(rng, 0, 14); /* off-white, as paper scans */
  const double ink = 18 + g_rand_int_range(rng, 0, 40);    /* toner is not black */
  const double sigma = (2.0 + g_rand_double(rng) * 3.0) * !!(d->defects & HK_SCAN_NOISE);
  const int specks = g_rand_int_range(rng, 30, 200);
  const int quality = g_rand_int_range(rng, 70, 86);
  guint64 state = ((guint64)g_rand_int(rng) << 32) | g_rand_int(rng) | 1;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
  cairo_t *cr = cairo_create(s);
  unsigned char *grey = g_malloc((size_t)w * (size_t)h);
  unsigned char *jpeg = NULL;
  unsigned long size = 0;
  const unsigned char *cov;
  int stride, ret = 0;

  hk_draw_ink(cr, d, regular, bold, w, h);
  /* Dust on the glass: dots of one to three pixels, some faint. */
  for (int i = 0; i < ((d->defects & HK_SCAN_SPECKS) ? specks : 0); i++) {
    const int r = g_rand_int_range(rng, 1, 4);
    cairo_set_source_rgba(cr, 0, 0, 0, 0.3 + g_rand_double(rng) * 0.7);
    cairo_rectangle(cr, g_rand_int_range(rng, 0, w), g_rand_int_range(rng, 0, h), r, r);
    cairo_fill(cr);
  }
  /* A faint streak down the page from a mark on the scanner's glass. */
  cairo_set_source_rgba(cr, 0, 0, 0, (d->defects & HK_SCAN_STREAK) ? 0.08 : 0);
  cairo_rectangle(cr, g_rand_int_range(rng, 0, w), 0, MAX(1, d->dpi / 100), h);
  cairo_fill(cr);
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    hk_error("cannot draw %s: %s", d->rel_path, cairo_status_to_string(cairo_status(cr)));
    ret = -HK_EIO;
    goto out;
  }
  cairo_surface_flush(s);
  cov = cairo_image_surface_get_data(s);
  stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      const double a = cov[(size_t)y * (size_t)stride + (size_t)x] / 255.0;
      const double v = paper - a * (paper - ink) + sigma * hk_gauss(&state);
      grey[(size_t)y * (size_t)w + (size_t)x] = (unsigned char)CLAMP(lround(v), 0, 255);
    }
  }
  if (tjCompress2(tj, grey, w, w, h, TJPF_GRAY, &jpeg, &size, TJSAMP_GRAY, quality, 0) != 0) {
    hk_error("cannot compress %s: %s", d->rel_path, tjGetErrorStr2(tj));
    ret = -HK_EIO;
    goto out;
  }
  g_byte_array_set_size(out, 0);
  g_byte_array_append(out, jpeg, (guint)size);
out:
  if (jpeg)
    tjFree(jpeg);
  g_free(grey);
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return ret;
}

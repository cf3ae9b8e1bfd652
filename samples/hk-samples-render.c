#include "hk-samples-render.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-samples-scan.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <string.h>
#include <turbojpeg.h>

/* A4 in PostScript points; the JPEG scans use the same layout, scaled. */
#define HK_PAGE_W 595.276
#define HK_PAGE_H 841.890
#define HK_MARGIN 50.0
#define HK_BODY_TOP 165.0
#define HK_LINE_STEP 18.5
/* Two sizes only: a PDF holds one Type 3 font per face and size, each with
 * its own copy of every glyph it uses. */
#define HK_FONT_BODY 10.0
#define HK_FONT_TITLE 16.0

/* Scans come in a few widths, as scanners set to different resolutions
 * would make them; the height keeps the A4 ratio. */
static const int hk_scan_widths[] = {480, 540, 600};
#define HK_SCAN_MAX_W 600
#define HK_SCAN_MAX_H 849

typedef enum { HK_FONT_REGULAR, HK_FONT_BOLD, HK_N_FONTS } HkFontWeight;

/* Faces a page is drawn with: the PDF and the scan use different ones. */
typedef struct {
  cairo_font_face_t *face[HK_N_FONTS];
} HkFonts;

struct HkSamplesRender {
  /* The font itself, for rasters: cairo draws it through FreeType. */
  HkFonts raster;
  /* The same glyphs for PDFs, as Type 3 fonts. cairo 1.16 embeds Noto Sans
   * CJK as a CFF subset, and for some sets of glyphs its subsetter gives up
   * on subroutines and embeds them all: 0.9 MB for a one-page note. Glyph
   * outlines drawn through a user font cost about 400 bytes per distinct
   * glyph instead, and the text stays extractable. */
  HkFonts pdf;
  cairo_scaled_font_t *outline[HK_N_FONTS]; /* unit-size, unhinted: the outlines */
  tjhandle tj;
  unsigned char *jpeg; /* reused output buffer, tjBufSize() of the largest scan */
  unsigned long jpeg_cap;
};

static const cairo_user_data_key_t hk_outline_key;

/* Draw one glyph of a user font from the outline of the real font. */
static cairo_status_t
hk_user_render_glyph(cairo_scaled_font_t *sf, unsigned long glyph, cairo_t *cr,
                     cairo_text_extents_t *extents)
{
  cairo_scaled_font_t *outline =
      cairo_font_face_get_user_data(cairo_scaled_font_get_font_face(sf), &hk_outline_key);
  cairo_glyph_t g = {glyph, 0, 0};

  cairo_set_scaled_font(cr, outline);
  cairo_glyph_path(cr, &g, 1);
  cairo_fill(cr);
  cairo_scaled_font_glyph_extents(outline, &g, 1, extents);
  return CAIRO_STATUS_SUCCESS;
}

/* A user font's glyph indices are the real font's. */
static cairo_status_t
hk_user_unicode_to_glyph(cairo_scaled_font_t *sf, unsigned long unicode, unsigned long *glyph)
{
  cairo_scaled_font_t *outline =
      cairo_font_face_get_user_data(cairo_scaled_font_get_font_face(sf), &hk_outline_key);
  cairo_glyph_t *glyphs = NULL;
  int n = 0, len;
  char utf8[8];

  len = g_unichar_to_utf8((gunichar)unicode, utf8);
  *glyph = 0;
  if (cairo_scaled_font_text_to_glyphs(outline, 0, 0, utf8, len, &glyphs, &n, NULL, NULL, NULL) ==
          CAIRO_STATUS_SUCCESS &&
      n > 0)
    *glyph = glyphs[0].index;
  cairo_glyph_free(glyphs);
  return CAIRO_STATUS_SUCCESS;
}

/* True if the font cairo found has a glyph for a kanji: fontconfig falls
 * back silently to a font without one when fonts-noto-cjk is missing. */
static gboolean
hk_font_has_kanji(cairo_scaled_font_t *sf)
{
  cairo_glyph_t *glyphs = NULL;
  int n = 0;
  gboolean ok;

  ok = cairo_scaled_font_text_to_glyphs(sf, 0, 0, "患", -1, &glyphs, &n, NULL, NULL, NULL) ==
           CAIRO_STATUS_SUCCESS &&
       n == 1 && glyphs[0].index != 0;
  cairo_glyph_free(glyphs);
  return ok;
}

int
hk_samples_render_new(HkSamplesRender **out)
{
  static const cairo_font_weight_t weights[HK_N_FONTS] = {CAIRO_FONT_WEIGHT_NORMAL,
                                                          CAIRO_FONT_WEIGHT_BOLD};
  HkSamplesRender *r = g_new0(HkSamplesRender, 1);
  cairo_font_options_t *fo = cairo_font_options_create();
  cairo_matrix_t unit;
  int ret = 0;

  *out = NULL;
  cairo_matrix_init_identity(&unit);
  /* Unhinted metrics: at unit size hinting would round every advance to
   * 0 or 1. */
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
  /* One face per weight for the whole run: cairo then keeps the scaled
   * fonts and glyph caches warm from one document to the next. */
  for (int i = 0; i < HK_N_FONTS; i++) {
    r->raster.face[i] =
        cairo_toy_font_face_create(HK_SAMPLES_FONT, CAIRO_FONT_SLANT_NORMAL, weights[i]);
    r->outline[i] = cairo_scaled_font_create(r->raster.face[i], &unit, &unit, fo);
    r->pdf.face[i] = cairo_user_font_face_create();
    cairo_user_font_face_set_render_glyph_func(r->pdf.face[i], hk_user_render_glyph);
    cairo_user_font_face_set_unicode_to_glyph_func(r->pdf.face[i], hk_user_unicode_to_glyph);
    if (cairo_scaled_font_status(r->outline[i]) != CAIRO_STATUS_SUCCESS ||
        cairo_font_face_set_user_data(r->pdf.face[i], &hk_outline_key, r->outline[i], NULL) !=
            CAIRO_STATUS_SUCCESS) {
      ret = -HK_ENOMEM;
      goto out;
    }
  }
  if (!hk_font_has_kanji(r->outline[HK_FONT_REGULAR]))
    hk_warn("font \"%s\" not found (install fonts-noto-cjk): Japanese text will not show",
            HK_SAMPLES_FONT);
  r->tj = tjInitCompress();
  if (!r->tj) {
    ret = -HK_ENOMEM;
    goto out;
  }
  r->jpeg_cap = tjBufSize(HK_SCAN_MAX_W, HK_SCAN_MAX_H, TJSAMP_444);
  r->jpeg = tjAlloc((int)r->jpeg_cap);
  if (!r->jpeg) {
    ret = -HK_ENOMEM;
    goto out;
  }
  *out = g_steal_pointer(&r);
out:
  cairo_font_options_destroy(fo);
  hk_samples_render_free(r);
  return ret;
}

void
hk_samples_render_free(HkSamplesRender *r)
{
  if (!r)
    return;
  for (int i = 0; i < HK_N_FONTS; i++) {
    /* The user faces hold a borrowed pointer to the outline fonts: go first. */
    if (r->pdf.face[i])
      cairo_font_face_destroy(r->pdf.face[i]);
    if (r->outline[i])
      cairo_scaled_font_destroy(r->outline[i]);
    if (r->raster.face[i])
      cairo_font_face_destroy(r->raster.face[i]);
  }
  if (r->jpeg)
    tjFree(r->jpeg);
  if (r->tj)
    tjDestroy(r->tj);
  g_free(r);
}

void
hk_samples_render_release_caches(void)
{
  cairo_debug_reset_static_data();
  FcFini();
}

static const char *
hk_sex_label(char sex)
{
  return sex == 'F' ? "女" : (sex == 'M' ? "男" : "不明");
}

static void
hk_show_right(cairo_t *cr, double right, double y, const char *text)
{
  cairo_text_extents_t ext;

  cairo_text_extents(cr, text, &ext);
  cairo_move_to(cr, right - ext.x_advance, y);
  cairo_show_text(cr, text);
}

/* One body line; a '\t' moves to the next of four table columns. */
static void
hk_show_line(cairo_t *cr, double y, const char *line)
{
  static const double columns[] = {HK_MARGIN, HK_MARGIN + 130, HK_MARGIN + 250, HK_MARGIN + 350};
  const char *tab = strchr(line, '\t');

  if (!tab) {
    cairo_move_to(cr, HK_MARGIN, y);
    cairo_show_text(cr, line);
    return;
  }
  char **cells = g_strsplit(line, "\t", G_N_ELEMENTS(columns));
  for (guint c = 0; cells[c]; c++) {
    cairo_move_to(cr, columns[c], y);
    cairo_show_text(cr, cells[c]);
  }
  g_strfreev(cells);
}

/* Three leads of a synthetic PQRST trace on ECG paper (5 mm grid), filling
 * the band from top to top + height. */
static void
hk_draw_ecg(cairo_t *cr, double top, double height, int rate)
{
  static const char *const leads[] = {"II", "V1", "V5"};
  const double mm = 72.0 / 25.4;
  const double left = HK_MARGIN, width = HK_PAGE_W - 2 * HK_MARGIN;
  const double beat = 60.0 / rate * 25.0 * mm; /* 25 mm/s paper speed */
  const double strip = height / G_N_ELEMENTS(leads);

  cairo_save(cr);
  cairo_set_line_width(cr, 0.3);
  cairo_set_source_rgb(cr, 0.96, 0.70, 0.70);
  for (double x = left; x <= left + width + 0.01; x += 5 * mm) {
    cairo_move_to(cr, x, top);
    cairo_line_to(cr, x, top + height);
  }
  for (double y = top; y <= top + height + 0.01; y += 5 * mm) {
    cairo_move_to(cr, left, y);
    cairo_line_to(cr, left + width, y);
  }
  cairo_stroke(cr);

  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 0.8);
  for (guint l = 0; l < G_N_ELEMENTS(leads); l++) {
    const double base = top + strip * (l + 0.6);
    const double gain = (l == 1 ? -0.6 : 1.0) * 10 * mm; /* 10 mm/mV; V1 mostly negative */

    cairo_move_to(cr, left + 4, base - strip * 0.35);
    cairo_show_text(cr, leads[l]);
    for (double x = 0; x <= width; x += 1.0) {
      const double t = fmod(x, beat) / beat; /* phase within one beat */
      /* P, Q, R, S and T waves as narrow Gaussians. */
      const double mv =
          0.15 * exp(-pow((t - 0.15) / 0.025, 2)) - 0.10 * exp(-pow((t - 0.27) / 0.008, 2)) +
          1.10 * exp(-pow((t - 0.30) / 0.010, 2)) - 0.25 * exp(-pow((t - 0.33) / 0.010, 2)) +
          0.30 * exp(-pow((t - 0.55) / 0.050, 2));
      if (x == 0)
        cairo_move_to(cr, left + x, base - mv * gain);
      else
        cairo_line_to(cr, left + x, base - mv * gain);
    }
    cairo_stroke(cr);
  }
  cairo_restore(cr);
}

/* Draw page number page (0-based) of d in points on an A4 page. Every page
 * says whose it is, as printed pages must in a downtime. */
static void
hk_draw_page(const HkFonts *f, cairo_t *cr, const HkSamplesDoc *d, guint page)
{
  const HkSamplesPatient *p = d->patient;
  const gboolean ecg = strcmp(d->type, "ecg") == 0;
  const guint per_page = ecg ? HK_SAMPLES_ECG_LINES_PER_PAGE : HK_SAMPLES_LINES_PER_PAGE;
  char when[20];
  char *text;

  /* "2024-01-05T09:31:00+09:00" -> "2024-01-05 09:31" */
  g_strlcpy(when, d->created_at, 17);
  when[10] = ' ';

  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_face(cr, f->face[HK_FONT_BOLD]);
  cairo_set_font_size(cr, HK_FONT_TITLE);
  cairo_move_to(cr, HK_MARGIN, 72);
  cairo_show_text(cr, d->title);

  cairo_set_font_face(cr, f->face[HK_FONT_REGULAR]);
  cairo_set_font_size(cr, HK_FONT_BODY);
  text = g_strdup_printf("作成日時 %s", when);
  hk_show_right(cr, HK_PAGE_W - HK_MARGIN, 48, text);
  g_free(text);
  hk_show_right(cr, HK_PAGE_W - HK_MARGIN, 72, d->source_id);

  cairo_set_line_width(cr, 0.8);
  cairo_rectangle(cr, HK_MARGIN, 86, HK_PAGE_W - 2 * HK_MARGIN, 50);
  cairo_stroke(cr);
  text = g_strdup_printf("患者ID %s    氏名 %s (%s)", p->id, p->name, p->kana);
  cairo_move_to(cr, HK_MARGIN + 8, 106);
  cairo_show_text(cr, text);
  g_free(text);
  text = g_strdup_printf("生年月日 %s    性別 %s    診療科 %s    記載者 %s", p->birth_date,
                         hk_sex_label(p->sex), d->department, d->author);
  cairo_move_to(cr, HK_MARGIN + 8, 126);
  cairo_show_text(cr, text);
  g_free(text);

  for (guint i = 0; i < per_page; i++) {
    const guint n = page * per_page + i;
    if (n >= d->lines->len)
      break;
    hk_show_line(cr, HK_BODY_TOP + i * HK_LINE_STEP, g_ptr_array_index(d->lines, n));
  }
  if (ecg)
    hk_draw_ecg(cr, HK_BODY_TOP + per_page * HK_LINE_STEP + 10, 390, d->heart_rate);

  cairo_set_line_width(cr, 0.5);
  cairo_move_to(cr, HK_MARGIN, HK_PAGE_H - 50);
  cairo_line_to(cr, HK_PAGE_W - HK_MARGIN, HK_PAGE_H - 50);
  cairo_stroke(cr);
  text = g_strdup_printf("%s %s  架空の患者・文書 (hikae-samples 合成データ)", p->id, p->name);
  cairo_move_to(cr, HK_MARGIN, HK_PAGE_H - 36);
  cairo_show_text(cr, text);
  g_free(text);
  text = g_strdup_printf("%u / %u", page + 1, d->pages);
  hk_show_right(cr, HK_PAGE_W - HK_MARGIN, HK_PAGE_H - 36, text);
  g_free(text);
}

static cairo_status_t
hk_pdf_write(void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append(closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static int
hk_render_pdf(HkSamplesRender *r, const HkSamplesDoc *d, GByteArray *out)
{
  cairo_surface_t *s;
  cairo_t *cr = NULL;
  int ret = 0;

  s = cairo_pdf_surface_create_for_stream(hk_pdf_write, out, HK_PAGE_W, HK_PAGE_H);
  /* cairo stamps the wall clock into CreationDate unless told otherwise;
   * the document's own time keeps the bytes a function of the seed. */
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, d->created_at);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, d->title);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_AUTHOR, d->author);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "hikae-samples");
  cr = cairo_create(s);
  for (guint page = 0; page < d->pages; page++) {
    hk_draw_page(&r->pdf, cr, d, page);
    cairo_show_page(cr);
  }
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    hk_error("cannot draw %s: %s", d->rel_path, cairo_status_to_string(cairo_status(cr)));
    ret = -HK_EIO;
    goto out;
  }
  cairo_surface_finish(s);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    hk_error("cannot write PDF %s: %s", d->rel_path,
             cairo_status_to_string(cairo_surface_status(s)));
    ret = -HK_EIO;
    goto out;
  }
out:
  if (cr)
    cairo_destroy(cr);
  cairo_surface_destroy(s);
  return ret;
}

/* A page as a scanner sees it: off-white paper, a slight tilt, specks of
 * dust, a faint streak from the glass; consents and letters carry a red
 * seal. Half the scans are grey, half colour. */
static int
hk_render_jpeg(HkSamplesRender *r, const HkSamplesDoc *d, GRand *rng, GByteArray *out)
{
  const int w = hk_scan_widths[g_rand_int_range(rng, 0, G_N_ELEMENTS(hk_scan_widths))];
  const int h = (int)lround(w * HK_PAGE_H / HK_PAGE_W);
  const gboolean grey = g_rand_boolean(rng);
  const double tilt = (g_rand_double(rng) - 0.5) * 0.03; /* radians, about +-0.9 degrees */
  cairo_surface_t *s;
  cairo_t *cr = NULL;
  unsigned long size = r->jpeg_cap;
  int ret = 0;

  s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cr = cairo_create(s);
  if (grey)
    cairo_set_source_rgb(cr, 0.94, 0.94, 0.94);
  else
    cairo_set_source_rgb(cr, 0.98, 0.96, 0.91);
  cairo_paint(cr);

  cairo_save(cr);
  cairo_translate(cr, w / 2.0, h / 2.0);
  cairo_rotate(cr, tilt);
  cairo_translate(cr, -w / 2.0, -h / 2.0);
  cairo_scale(cr, w / HK_PAGE_W, h / HK_PAGE_H);
  hk_draw_page(&r->raster, cr, d, 0);
  if (strcmp(d->type, "consent") == 0 || strcmp(d->type, "referral_letter") == 0 ||
      strcmp(d->type, "other") == 0) {
    cairo_set_source_rgba(cr, 0.85, 0.1, 0.1, 0.8);
    cairo_set_line_width(cr, 2);
    cairo_new_path(cr);
    cairo_arc(cr, HK_PAGE_W - 95, HK_PAGE_H - 110, 22, 0, 2 * G_PI);
    cairo_stroke(cr);
    cairo_set_font_face(cr, r->raster.face[HK_FONT_BOLD]);
    cairo_set_font_size(cr, 20);
    cairo_move_to(cr, HK_PAGE_W - 105, HK_PAGE_H - 103);
    cairo_show_text(cr, "印");
  }
  cairo_restore(cr);

  for (int i = 0; i < 300; i++) {
    const double g = g_rand_double(rng) * 0.6;
    cairo_set_source_rgb(cr, g, g, g);
    cairo_rectangle(cr, g_rand_int_range(rng, 0, w), g_rand_int_range(rng, 0, h),
                    g_rand_int_range(rng, 1, 3), g_rand_int_range(rng, 1, 3));
    cairo_fill(cr);
  }
  cairo_set_source_rgba(cr, 0.5, 0.5, 0.5, 0.15);
  cairo_rectangle(cr, g_rand_int_range(rng, 0, w), 0, 2, h);
  cairo_fill(cr);

  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    hk_error("cannot draw %s: %s", d->rel_path, cairo_status_to_string(cairo_status(cr)));
    ret = -HK_EIO;
    goto out;
  }
  cairo_surface_flush(s);
  /* cairo's RGB24 is a native-endian 0xXXRRGGBB word per pixel. */
  if (tjCompress2(r->tj, cairo_image_surface_get_data(s), w, cairo_image_surface_get_stride(s), h,
                  G_BYTE_ORDER == G_LITTLE_ENDIAN ? TJPF_BGRX : TJPF_XRGB, &r->jpeg, &size,
                  grey ? TJSAMP_GRAY : TJSAMP_420, 80, TJFLAG_NOREALLOC) != 0) {
    hk_error("cannot compress %s: %s", d->rel_path, tjGetErrorStr2(r->tj));
    ret = -HK_EIO;
    goto out;
  }
  g_byte_array_append(out, r->jpeg, (guint)size);
out:
  if (cr)
    cairo_destroy(cr);
  cairo_surface_destroy(s);
  return ret;
}

/* A note as the EHR exports it: a short header, the body, a marker that it
 * is synthetic. Tabs become spaces, as a plain-text export would. */
static int
hk_render_text(const HkSamplesDoc *d, GByteArray *out)
{
  const HkSamplesPatient *p = d->patient;
  GString *s = g_string_sized_new(2048);
  char when[20];

  g_strlcpy(when, d->created_at, 17);
  when[10] = ' ';
  g_string_append_printf(s, "【%s】\n", d->title);
  g_string_append_printf(s, "患者ID: %s\n氏名: %s (%s)  生年月日: %s  性別: %s\n", p->id, p->name,
                         p->kana, p->birth_date, hk_sex_label(p->sex));
  g_string_append_printf(s, "作成日時: %s  診療科: %s  記載者: %s\n", when, d->department,
                         d->author);
  g_string_append(s, "----------------------------------------\n");
  for (guint i = 0; i < d->lines->len; i++) {
    char **cells = g_strsplit(g_ptr_array_index(d->lines, i), "\t", -1);
    char *line = g_strjoinv("  ", cells);
    g_string_append(s, line);
    g_string_append_c(s, '\n');
    g_free(line);
    g_strfreev(cells);
  }
  g_string_append(s, "----------------------------------------\n");
  g_string_append(s, "※ 架空の患者・文書です (hikae-samples 合成データ)\n");
  g_byte_array_append(out, (const guint8 *)s->str, (guint)s->len);
  g_string_free(s, TRUE);
  return 0;
}

int
hk_samples_render(HkSamplesRender *r, const HkSamplesDoc *d, GRand *rng, GByteArray *out)
{
  int ret;

  g_byte_array_set_size(out, 0);
  switch (d->kind) {
  case HK_SAMPLES_PDF:
    ret = hk_render_pdf(r, d, out);
    break;
  case HK_SAMPLES_JPEG:
    /* A known-text scan (hk-samples-ocr.h) has a resolution of its own. */
    if (d->dpi)
      ret = hk_samples_scan_render(d, r->raster.face[HK_FONT_REGULAR], r->raster.face[HK_FONT_BOLD],
                                   r->tj, rng, out);
    else
      ret = hk_render_jpeg(r, d, rng, out);
    break;
  default:
    ret = hk_render_text(d, out);
    break;
  }
  return ret;
}

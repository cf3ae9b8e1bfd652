/* hk-drill-pdf.c: the drill report on A4 (see hk-drill-pdf.h). The verdict
 * comes first and large, because the page is read by someone who files it
 * and wants one answer; the steps table below is for whoever must act. */
#include "hk-drill-pdf.h"

#include "hk-build.h"
#include "hk-error.h"

#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <string.h>

#define HK_A4_W 595.28
#define HK_A4_H 841.89
#define HK_MARGIN 42.0
#define HK_FONT "Noto Sans CJK JP"

typedef struct {
  double r, g, b;
} HkRgb;

static const HkRgb hk_black = {0.1, 0.1, 0.1};
static const HkRgb hk_gray = {0.4, 0.4, 0.4};
static const HkRgb hk_pass = {0.05, 0.45, 0.15};
static const HkRgb hk_fail = {0.75, 0.05, 0.05};
static const HkRgb hk_pass_bg = {0.88, 0.96, 0.88};
static const HkRgb hk_fail_bg = {0.99, 0.9, 0.9};

static PangoLayout *
hk_layout(cairo_t *cr, const char *text, const char *font, double width)
{
  PangoLayout *l = pango_cairo_create_layout(cr);
  PangoFontDescription *fd = pango_font_description_from_string(font);

  /* Points on paper: pangocairo's default is 96 dpi, which would print
   * a "9" font at 12 pt. */
  pango_cairo_context_set_resolution(pango_layout_get_context(l), 72.0);
  pango_layout_context_changed(l);
  pango_layout_set_font_description(l, fd);
  pango_layout_set_width(l, (int)(width * PANGO_SCALE));
  pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_text(l, text, -1);
  pango_font_description_free(fd);
  return l;
}

static double
hk_text_height(cairo_t *cr, const char *text, const char *font, double width)
{
  PangoLayout *l = hk_layout(cr, text, font, width);
  int h;

  pango_layout_get_pixel_size(l, NULL, &h);
  g_object_unref(l);
  return h;
}

/* Draw text wrapped to width at (x, y), aligned within it; \return its
 * height. */
static double
hk_text_aligned(cairo_t *cr, const char *text, const char *font, double x, double y,
                double width, PangoAlignment align, const HkRgb *c)
{
  PangoLayout *l = hk_layout(cr, text, font, width);
  int h;

  pango_layout_set_alignment(l, align);
  cairo_set_source_rgb(cr, c->r, c->g, c->b);
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, l);
  pango_layout_get_pixel_size(l, NULL, &h);
  g_object_unref(l);
  return h;
}

/* Draw text wrapped to width at (x, y); \return its height. */
static double
hk_text(cairo_t *cr, const char *text, const char *font, double x, double y, double width,
        const HkRgb *c)
{
  return hk_text_aligned(cr, text, font, x, y, width, PANGO_ALIGN_LEFT, c);
}

/* Draw text centred in [x, x + width]. */
static double
hk_text_centred(cairo_t *cr, const char *text, const char *font, double x, double y, double width,
                const HkRgb *c)
{
  return hk_text_aligned(cr, text, font, x, y, width, PANGO_ALIGN_CENTER, c);
}

static void
hk_rule(cairo_t *cr, double x, double y, double w, double width)
{
  cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
  cairo_set_line_width(cr, width);
  cairo_move_to(cr, x, y);
  cairo_line_to(cr, x + w, y);
  cairo_stroke(cr);
}

/* A label (Japanese / English, small, grey) and its value on one row. */
static double
hk_field(cairo_t *cr, const char *label, const char *value, double x, double y, double w)
{
  const double lw = 150;
  double h1 = hk_text(cr, label, HK_FONT " 9.5", x, y + 1.5, lw - 6, &hk_gray);
  double h2 = hk_text(cr, value, HK_FONT " 11.5", x + lw, y, w - lw, &hk_black);

  return MAX(h1, h2) + 2;
}

static double
hk_heading(cairo_t *cr, const char *text, double x, double y, double w)
{
  double h = hk_text(cr, text, HK_FONT " Bold 13", x, y, w, &hk_black);

  hk_rule(cr, x, y + h + 1, w, 0.8);
  return h + 5;
}

static char *
hk_ms_text(double ms)
{
  return g_strdup_printf("%.1f", ms);
}

static char *
hk_age_text(int64_t s)
{
  if (s < 0)
    return g_strdup_printf("%" G_GINT64_FORMAT " 秒先 / %" G_GINT64_FORMAT " s ahead", -s, -s);
  if (s < 120)
    return g_strdup_printf("%" G_GINT64_FORMAT " 秒 / %" G_GINT64_FORMAT " s", s, s);
  if (s < 2 * 3600)
    return g_strdup_printf("%" G_GINT64_FORMAT " 分 / %" G_GINT64_FORMAT " min", s / 60, s / 60);
  return g_strdup_printf("%" G_GINT64_FORMAT " 時間 %" G_GINT64_FORMAT " 分 / %" G_GINT64_FORMAT
                         " h %" G_GINT64_FORMAT " min",
                         s / 3600, s / 60 % 60, s / 3600, s / 60 % 60);
}

static const char *
hk_indexer_ja(const char *state)
{
  if (g_strcmp0(state, "running") == 0)
    return "稼働中 / running";
  if (g_strcmp0(state, "sealed") == 0)
    return "封鎖中 / sealed";
  if (g_strcmp0(state, "stopped") == 0)
    return "停止 / stopped";
  return "不明 / unknown";
}

/* The steps table: one row per step, the reason wrapped in its column.
 * Rows that do not fit go on a new page under a repeated header. */
static double
hk_steps(cairo_t *cr, const HkDrillReport *r, double x, double y, double w)
{
  const double cn = 16, cs = 168, ct = 38, cr_ = 86;
  const double cd = w - cn - cs - ct - cr_;
  const double bottom = HK_A4_H - HK_MARGIN - 30;
  gboolean header = TRUE;

  for (guint i = 0; i < r->nsteps; i++) {
    const HkDrillStep *s = &r->steps[i];
    char *no = g_strdup_printf("%u", i + 1);
    /* A step not run has no time, not 0.0 ms. */
    char *ms = s->result == HK_DRILL_SKIPPED ? g_strdup("—") : hk_ms_text(s->ms);
    char *title = g_strdup_printf("%s / %s", s->title_ja, s->title);
    char *res =
        g_strdup_printf("%s %s", hk_drill_result_ja(s->result), hk_drill_result_name(s->result));
    const char *why = s->result == HK_DRILL_PASS ? s->detail : s->reason;
    const HkRgb *rc = s->result == HK_DRILL_PASS   ? &hk_pass
                      : s->result == HK_DRILL_FAIL ? &hk_fail
                                                   : &hk_gray;
    double h = MAX(MAX(hk_text_height(cr, title, HK_FONT " 9.5", cs - 6),
                       hk_text_height(cr, res, HK_FONT " Bold 10", cr_ - 4)),
                   hk_text_height(cr, why ? why : "", HK_FONT " 9.5", cd - 6)) +
               4;

    if (y + h > bottom) {
      cairo_show_page(cr);
      y = HK_MARGIN;
      header = TRUE;
    }
    if (header) {
      double hh = 0;
      hh = MAX(hh, hk_text(cr, "No.", HK_FONT " Bold 10", x, y, cn, &hk_gray));
      hh = MAX(hh, hk_text(cr, "手順 / Step", HK_FONT " Bold 10", x + cn, y, cs, &hk_gray));
      hh = MAX(hh, hk_text(cr, "ms", HK_FONT " Bold 10", x + cn + cs, y, ct, &hk_gray));
      hh = MAX(
          hh, hk_text(cr, "結果 / Result", HK_FONT " Bold 10", x + cn + cs + ct, y, cr_, &hk_gray));
      hh = MAX(hh, hk_text(cr, "理由・確認内容 / Reason, checked", HK_FONT " Bold 10",
                           x + cn + cs + ct + cr_, y, cd, &hk_gray));
      y += hh + 3;
      hk_rule(cr, x, y, w, 0.8);
      y += 4;
      header = FALSE;
    }
    if (s->result != HK_DRILL_PASS) {
      const HkRgb *bg = s->result == HK_DRILL_FAIL ? &hk_fail_bg : &(HkRgb){0.95, 0.95, 0.95};
      cairo_set_source_rgb(cr, bg->r, bg->g, bg->b);
      cairo_rectangle(cr, x, y - 3, w, h);
      cairo_fill(cr);
    }
    hk_text(cr, no, HK_FONT " 10", x, y, cn, &hk_black);
    hk_text(cr, title, HK_FONT " 9.5", x + cn, y, cs - 6, &hk_black);
    /* Not a mono face: one more embedded CJK face is more PDF for nothing. */
    hk_text(cr, ms, HK_FONT " 10", x + cn + cs, y, ct - 6, &hk_black);
    hk_text(cr, res, HK_FONT " Bold 10", x + cn + cs + ct, y, cr_ - 4, rc);
    if (why)
      hk_text(cr, why, HK_FONT " 9.5", x + cn + cs + ct + cr_, y, cd - 6,
              s->result == HK_DRILL_FAIL ? &hk_fail : &hk_black);
    y += h;
    hk_rule(cr, x, y - 3, w, 0.3);
    g_free(no);
    g_free(ms);
    g_free(title);
    g_free(res);
  }
  return y;
}

static void
hk_draw(cairo_t *cr, const HkDrillReport *r)
{
  const double x = HK_MARGIN, w = HK_A4_W - 2 * HK_MARGIN;
  const HkDrillStep *failed = hk_drill_report_failed(r);
  const HkRgb *vc = failed ? &hk_fail : &hk_pass, *vbg = failed ? &hk_fail_bg : &hk_pass_bg;
  char *when = hk_drill_format_jst(r->started_at), *utc = NULL, *v = NULL;
  GDateTime *dt = g_date_time_new_from_unix_utc(r->started_at / G_USEC_PER_SEC);
  double y = HK_MARGIN, box_h;

  y += hk_text(cr, "訓練報告 / Downtime drill report", HK_FONT " Bold 24", x, y, w, &hk_black);
  y += hk_text(cr, "hikae（控え）電子カルテ停止時の参照用アーカイブ / read-only downtime archive",
               HK_FONT " 11", x, y, w, &hk_gray) +
       8;

  /* The verdict: a coloured box, the words in both languages. */
  box_h = failed ? 98 : 66;
  cairo_set_source_rgb(cr, vbg->r, vbg->g, vbg->b);
  cairo_rectangle(cr, x, y, w, box_h);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, vc->r, vc->g, vc->b);
  cairo_set_line_width(cr, 2.5);
  cairo_stroke(cr);
  hk_text(cr, "判定 / Verdict", HK_FONT " Bold 11", x + 10, y + 6, 150, vc);
  hk_text_centred(cr, failed ? "不合格  FAIL" : "合格  PASS", HK_FONT " Bold 41", x, y + 6, w, vc);
  if (failed) {
    char *f = g_strdup_printf("失敗した手順 / failed step: %s (%s) — %s", failed->title_ja,
                              failed->name, failed->reason ? failed->reason : "");
    PangoLayout *l = hk_layout(cr, f, HK_FONT " Bold 10.5", w - 20);
    pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
    pango_layout_set_height(l, -2); /* at most two lines; the table has it all */
    cairo_set_source_rgb(cr, vc->r, vc->g, vc->b);
    cairo_move_to(cr, x + 10, y + 58);
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
    g_free(f);
  }
  y += box_h + 12;

  y += hk_heading(cr, "実施記録 / Record", x, y, w);
  utc = dt ? g_date_time_format(dt, "%H:%M:%S UTC") : g_strdup("?");
  v = g_strdup_printf("%s（%s）", when, utc);
  y += hk_field(cr, "実施日時 / Date and time", v, x, y, w);
  g_free(v);
  y += hk_field(cr, "アーカイブ / Archive", r->server, x, y, w);
  y += hk_field(cr, "操作者 / Operator account", r->user, x, y, w);
  v = g_strdup_printf("%.1f ms（%u 手順 / steps）", r->total_ms, r->nsteps);
  y += hk_field(cr, "所要時間 / Total time", v, x, y, w);
  g_free(v);
  v = g_strdup_printf("患者 ID %s%s%s%s · 文書 ID %s", r->patient_id ? r->patient_id : "—",
                      r->patient_source ? "（" : "", r->patient_source ? r->patient_source : "",
                      r->patient_source ? "）" : "", r->document_id ? r->document_id : "—");
  y += hk_field(cr, "使用データ / Data used", v, x, y, w) + 6;
  g_free(v);

  y += hk_heading(cr, "鮮度 / Freshness", x, y, w);
  if (r->as_of_usec) {
    char *a = hk_drill_format_jst(r->as_of_usec);
    GDateTime *t = g_date_time_new_from_unix_utc(r->as_of_usec / G_USEC_PER_SEC);
    char *u = t ? g_date_time_format(t, "%H:%M:%S UTC") : g_strdup("?");
    v = g_strdup_printf("%s（%s）", a, u);
    if (t)
      g_date_time_unref(t);
    g_free(a);
    g_free(u);
  } else {
    v = g_strdup("不明 / unknown");
  }
  y += hk_field(cr, "データ時点 / Archive as of", v, x, y, w);
  g_free(v);
  if (r->have_age) {
    char *a = hk_age_text(r->age_s);
    v = g_strdup_printf("%s（上限 / limit %d 分 / min）", a, r->max_age_min);
    g_free(a);
  } else {
    v = g_strdup_printf("不明 / unknown（上限 / limit %d 分 / min）", r->max_age_min);
  }
  y += hk_field(cr, "経過 / Age", v, x, y, w);
  g_free(v);
  v = r->sealed_reason ? g_strdup_printf("%s: %s", hk_indexer_ja(r->indexer), r->sealed_reason)
                       : g_strdup(hk_indexer_ja(r->indexer));
  y += hk_field(cr, "取り込み / Indexer", v, x, y, w) + 6;
  g_free(v);

  y += hk_heading(cr, "手順 / Steps", x, y, w);
  y = hk_steps(cr, r, x, y, w) + 14;

  /* Sign-off lines: the page is meant to be filed. */
  if (y > HK_A4_H - HK_MARGIN - 24) {
    cairo_show_page(cr);
    y = HK_MARGIN;
  }
  hk_text(cr, "確認者 / Reviewed by", HK_FONT " 11", x, y, 200, &hk_gray);
  hk_rule(cr, x + 125, y + 15, 170, 0.6);
  hk_text(cr, "日付 / Date", HK_FONT " 11", x + 300, y, 100, &hk_gray);
  hk_rule(cr, x + 375, y + 15, w - 375, 0.6);
  v = g_strdup_printf("hikae-admin drill %s · この報告にパスワードやトークンは含まれません / this "
                      "report holds no password or token",
                      HK_VERSION);
  hk_text(cr, v, HK_FONT " 9", x, HK_A4_H - HK_MARGIN + 10, w, &hk_gray);
  g_free(v);
  if (dt)
    g_date_time_unref(dt);
  g_free(when);
  g_free(utc);
}

int
hk_drill_pdf_write(const HkDrillReport *r, const char *path, char **reason)
{
  cairo_surface_t *s = cairo_pdf_surface_create(path, HK_A4_W, HK_A4_H);
  cairo_t *cr = NULL;
  cairo_status_t st;
  char *title = NULL;
  int ret = -HK_EIO;

  st = cairo_surface_status(s);
  if (st != CAIRO_STATUS_SUCCESS)
    goto out;
  title = g_strdup_printf("訓練報告 / Downtime drill report — %s", r->server);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "hikae-admin drill " HK_VERSION);
  cr = cairo_create(s);
  hk_draw(cr, r);
  cairo_show_page(cr);
  st = cairo_status(cr);
  if (st != CAIRO_STATUS_SUCCESS)
    goto out;
  cairo_surface_finish(s);
  st = cairo_surface_status(s);
  if (st != CAIRO_STATUS_SUCCESS)
    goto out;
  ret = 0;
out:
  if (ret)
    *reason = g_strdup_printf("cannot write the PDF %s: %s", path, cairo_status_to_string(st));
  if (cr)
    cairo_destroy(cr);
  cairo_surface_destroy(s);
  g_free(title);
  return ret;
}

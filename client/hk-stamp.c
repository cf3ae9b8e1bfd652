#include "hk-stamp.h"

#include "hk-client-config.h"
#include "hk-paper.h"

#include <glib/gi18n-lib.h>

static char *
format_time(GDateTime *t)
{
  g_autoptr(GDateTime) local = t ? g_date_time_to_local(t) : NULL;

  /* With the offset: a page may be read in another hospital, or after the
   * clocks changed. */
  return local ? g_date_time_format(local, "%Y-%m-%d %H:%M %:z") : g_strdup(_("unknown"));
}

char *
hk_stamp_identity_text(const HkStamp *s)
{
  char *res;

  if (s->list_title)
    res = g_strconcat(s->list_title, "  —  ", HK_STAMP_MOTTO, NULL);
  else
    res = g_strdup_printf(_("ID %s  %s  born %s  —  %s"), s->patient_id ? s->patient_id : "?",
                          s->patient_name ? s->patient_name : _("(no name recorded)"),
                          s->birth_date ? s->birth_date : _("unknown"), HK_STAMP_MOTTO);
  return res;
}

char *
hk_stamp_document_text(const HkStamp *s)
{
  g_autofree char *prefix = g_strndup(s->sha256 ? s->sha256 : "", 12);
  char *res;

  if (s->version > 0 && *prefix)
    res = g_strdup_printf(_("%s  ·  version %u  ·  SHA-256 %s"), s->doc_title, s->version, prefix);
  else
    res = g_strdup(s->doc_title ? s->doc_title : "");
  return res;
}

char *
hk_stamp_footer_text(const HkStamp *s, int page, int n_pages)
{
  g_autofree char *printed = format_time(s->printed_at);
  g_autofree char *asof = format_time(s->archive_as_of);

  return g_strdup_printf(_("Printed by %s at %s  ·  Archive current as of %s  ·  Page %d of %d"),
                         s->user ? s->user : "?", printed, asof, page, n_pages);
}

cairo_rectangle_t
hk_stamp_content_area(double w, double h)
{
  /* A few points clear of each band's rule. */
  cairo_rectangle_t r = {HK_STAMP_MARGIN_PT, HK_STAMP_HEADER_PT + 4, w - 2 * HK_STAMP_MARGIN_PT,
                         h - HK_STAMP_HEADER_PT - HK_STAMP_FOOTER_PT - 8};

  return r;
}

void
hk_stamp_draw(cairo_t *cr, const HkStamp *s, double w, double h, int page, int n_pages)
{
  g_autofree char *id = hk_stamp_identity_text(s);
  g_autofree char *doc = hk_stamp_document_text(s);
  g_autofree char *foot = hk_stamp_footer_text(s, page, n_pages);
  double m = HK_STAMP_MARGIN_PT;
  double inner = w - 2 * m;

  cairo_save(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  hk_paper_show_line(cr, id, "Noto Sans CJK JP Bold 8.5", m, m * 0.5, inner);
  hk_paper_show_line(cr, doc, "Noto Sans CJK JP 8", m, m * 0.5 + 13, inner);
  cairo_set_line_width(cr, 0.6);
  cairo_move_to(cr, m, HK_STAMP_HEADER_PT - 4);
  cairo_line_to(cr, w - m, HK_STAMP_HEADER_PT - 4);
  cairo_move_to(cr, m, h - HK_STAMP_FOOTER_PT + 4);
  cairo_line_to(cr, w - m, h - HK_STAMP_FOOTER_PT + 4);
  cairo_stroke(cr);
  hk_paper_show_line(cr, foot, "Noto Sans CJK JP 7.5", m, h - HK_STAMP_FOOTER_PT + 8, inner);
  cairo_restore(cr);
}

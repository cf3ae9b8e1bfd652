#include "hk-stamp.h"

#include "hk-client-config.h"

#include <glib/gi18n-lib.h>
#include <pango/pangocairo.h>

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
  return g_strdup_printf(_("ID %s  %s  born %s  —  %s"), s->patient_id ? s->patient_id : "?",
                         s->patient_name ? s->patient_name : _("(no name recorded)"),
                         s->birth_date ? s->birth_date : _("unknown"), HK_STAMP_MOTTO);
}

char *
hk_stamp_document_text(const HkStamp *s)
{
  g_autofree char *prefix = g_strndup(s->sha256 ? s->sha256 : "", 12);
  char *res;

  if (s->version > 0 && *prefix)
    res = g_strdup_printf(_("%s  ·  version %u  ·  SHA-256 %s"), s->doc_title, s->version,
                          prefix);
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

static void
show_line(cairo_t *cr, const char *text, const char *font, double x, double y, double width)
{
  PangoLayout *layout = pango_cairo_create_layout(cr);
  PangoFontDescription *fd = pango_font_description_from_string(font);

  pango_layout_set_font_description(layout, fd);
  pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
  /* One line, always: a long name is cut with an ellipsis rather than
   * pushed into the document's content. */
  pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_text(layout, text, -1);
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, layout);
  pango_font_description_free(fd);
  g_object_unref(layout);
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
  show_line(cr, id, "Noto Sans CJK JP Bold 8.5", m, m * 0.5, inner);
  show_line(cr, doc, "Noto Sans CJK JP 8", m, m * 0.5 + 13, inner);
  cairo_set_line_width(cr, 0.6);
  cairo_move_to(cr, m, HK_STAMP_HEADER_PT - 4);
  cairo_line_to(cr, w - m, HK_STAMP_HEADER_PT - 4);
  cairo_move_to(cr, m, h - HK_STAMP_FOOTER_PT + 4);
  cairo_line_to(cr, w - m, h - HK_STAMP_FOOTER_PT + 4);
  cairo_stroke(cr);
  show_line(cr, foot, "Noto Sans CJK JP 7.5", m, h - HK_STAMP_FOOTER_PT + 8, inner);
  cairo_restore(cr);
}

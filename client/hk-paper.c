#include "hk-paper.h"

#include "hk-client-config.h"

#include <cairo-pdf.h>
#include <glib/gi18n-lib.h>

G_DEFINE_QUARK(hk - paper - error - quark, hk_paper_error)

gboolean
hk_paper_write_pdf(const HkPaper *paper, const char *filename, GError **error)
{
  cairo_surface_t *s = NULL;
  cairo_t *cr = NULL;
  gboolean ok = FALSE;
  int n = paper->paginate(paper->self, HK_PAPER_A4_WIDTH, HK_PAPER_A4_HEIGHT);
  cairo_status_t st;

  s = cairo_pdf_surface_create(filename, HK_PAPER_A4_WIDTH, HK_PAPER_A4_HEIGHT);
  cr = cairo_create(s);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "hikae downtime copy");
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "hikae-viewer");
  for (int i = 0; i < n; i++) {
    paper->draw_page(paper->self, cr, i);
    cairo_show_page(cr);
  }
  cairo_destroy(cr);
  cr = NULL;
  cairo_surface_finish(s);
  st = cairo_surface_status(s);
  if (st != CAIRO_STATUS_SUCCESS) {
    g_set_error(error, HK_PAPER_ERROR, HK_PAPER_ERROR_IO, _("Cannot write %s: %s"), filename,
                cairo_status_to_string(st));
    goto out;
  }
  ok = TRUE;
out:
  cairo_surface_destroy(s);
  return ok;
}

void
hk_paper_fill_white(cairo_t *cr, double width, double height)
{
  cairo_save(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_rectangle(cr, 0, 0, width, height);
  cairo_fill(cr);
  cairo_restore(cr);
}

PangoLayout *
hk_paper_text_layout(cairo_t *cr, const char *font, double width)
{
  PangoLayout *layout = pango_cairo_create_layout(cr);
  PangoFontDescription *fd = pango_font_description_from_string(font);

  pango_layout_set_font_description(layout, fd);
  pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
  pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
  pango_font_description_free(fd);
  return layout;
}

double
hk_paper_draw_text(cairo_t *cr, const char *text, const char *font, double x, double y,
                   double width)
{
  g_autoptr(PangoLayout) layout = hk_paper_text_layout(cr, font, width);
  int h = 0;

  pango_layout_set_text(layout, text, -1);
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, layout);
  pango_layout_get_size(layout, NULL, &h);
  return (double)h / PANGO_SCALE;
}

void
hk_paper_show_line(cairo_t *cr, const char *text, const char *font, double x, double y,
                   double width)
{
  g_autoptr(PangoLayout) layout = hk_paper_text_layout(cr, font, width);

  /* One line, always: a band of fixed height must not grow into the
   * content below it. */
  pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_text(layout, text, -1);
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, layout);
}

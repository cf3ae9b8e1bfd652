/* hk-paper.h: what every printable thing of the viewer has in common.
 *
 * A transfer pack (HkPack) and a ward list (HkWardList) each lay out pages
 * and draw them. HkPaper is that pair of functions, so that one PDF writer
 * here and one GtkPrintOperation in hk-print serve both, and what is
 * exported is exactly what is printed. The drawing helpers below are the
 * ones their pages (and the stamp) share. */
#pragma once

#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

G_BEGIN_DECLS

#define HK_PAPER_ERROR (hk_paper_error_quark())
GQuark hk_paper_error_quark(void);

typedef enum {
  HK_PAPER_ERROR_IO, /* the PDF cannot be written */
} HkPaperError;

/* A4 in points, the paper of Japanese hospitals. */
#define HK_PAPER_A4_WIDTH 595.276
#define HK_PAPER_A4_HEIGHT 841.89

typedef struct {
  gpointer self; /* the pack or list; borrowed */
  /* Lay out on pages of width x height points; returns the number of
   * pages (at least 1). Called again when the paper changes. */
  int (*paginate)(gpointer self, double width, double height);
  /* Draw page (0-based) of the last pagination on cr, whose user space is
   * in points with the page's top left at 0,0. */
  void (*draw_page)(gpointer self, cairo_t *cr, int page);
} HkPaper;

/* Paginate paper on A4 and write every page to the PDF file filename.
 * Returns FALSE with HK_PAPER_ERROR_IO if the file cannot be written. */
gboolean hk_paper_write_pdf(const HkPaper *paper, const char *filename, GError **error);

/* Paint a whole page white: a page printed over a transparent background
 * must not show whatever the printer or viewer puts behind it. */
void hk_paper_fill_white(cairo_t *cr, double width, double height);

/* A layout in font, wrapped at word or character boundaries to width
 * points. Free with g_object_unref. */
PangoLayout *hk_paper_text_layout(cairo_t *cr, const char *font, double width);

/* Draw text at x,y (top left) in font, wrapped to width; returns the
 * height it took in points. */
double hk_paper_draw_text(cairo_t *cr, const char *text, const char *font, double x, double y,
                          double width);

/* Draw text at x,y in font on one line of width points, cut with an
 * ellipsis if it is longer: for bands whose height is fixed. */
void hk_paper_show_line(cairo_t *cr, const char *text, const char *font, double x, double y,
                        double width);

G_END_DECLS

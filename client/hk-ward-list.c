#include "hk-ward-list.h"

#include "hk-client-config.h"
#include "hk-format.h"
#include "hk-stamp.h"

#include <glib/gi18n-lib.h>
#include <pango/pangocairo.h>

/* One line of the table: a patient's row, or the heading of a ward before
 * its first row (only on a list of every ward, where wards follow each
 * other; a one-ward list says its ward in the title). */
typedef struct {
  int patient; /* index in patients */
  gboolean heading;
  double y; /* top on its page, in points */
  double height;
} Line;

struct _HkWardList {
  GPtrArray *patients; /* HkPatientInfo*, in ward, room, bed order */
  char *ward;          /* NULL: every ward */
  char *title;
  char *count;
  HkStatusInfo *status; /* may be NULL */
  char *user;
  GDateTime *printed_at;
  GArray *lines;      /* Line, in order */
  GArray *page_first; /* int: the first line of each page, then lines->len */
  double width, height;
};

enum { COL_WARD, COL_ROOM, COL_BED, COL_ID, COL_NAME, COL_KANA, COL_ADMITTED, N_COLUMNS };

/* Shares of the width. The ID and the admission time ("2026-11-20 09:30")
 * fit on one line on A4; name and kana take the rest, as Japanese names
 * can be long. */
static const struct {
  const char *header;
  double share;
} columns[N_COLUMNS] = {
    /* TRANSLATORS: column headers of the printed ward list; keep them short */
    {N_("Ward"), 0.09}, {N_("Room"), 0.08}, {N_("Bed"), 0.08},      {N_("Patient ID"), 0.15},
    {N_("Name"), 0.20}, {N_("Kana"), 0.20}, {N_("Admitted"), 0.20},
};

#define TITLE_FONT "Noto Sans CJK JP Bold 16"
#define SUBTITLE_FONT "Noto Sans CJK JP 10"
#define CONTINUED_FONT "Noto Sans CJK JP Bold 10"
#define HEADER_FONT "Noto Sans CJK JP Bold 9"
#define CELL_FONT "Noto Sans CJK JP 9"
#define WARD_FONT "Noto Sans CJK JP Bold 10"
#define CELL_PAD_X 3.0
#define CELL_PAD_Y 3.0

HkWardList *
hk_ward_list_new(GPtrArray *inpatients, const char *ward, const HkStatusInfo *status,
                 const char *user, GDateTime *printed_at)
{
  HkWardList *l = g_new0(HkWardList, 1);

  l->patients = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_info_free);
  for (guint i = 0; inpatients && i < inpatients->len; i++)
    g_ptr_array_add(l->patients, hk_patient_info_copy(g_ptr_array_index(inpatients, i)));
  /* Sorted here, not trusted from the caller: the order on paper is what
   * a nurse walks the ward by. */
  g_ptr_array_sort(l->patients, hk_patient_info_compare_bed);
  l->ward = ward && *ward ? g_strdup(ward) : NULL;
  /* TRANSLATORS: title of the printed ward list; %s is a ward or "all wards" */
  l->title = g_strdup_printf(_("Ward list: %s"), l->ward ? l->ward : _("all wards"));
  l->count = g_strdup_printf(
      g_dngettext(GETTEXT_PACKAGE, "%u inpatient", "%u inpatients", l->patients->len),
      l->patients->len);
  l->status = status ? hk_status_info_copy(status) : NULL;
  l->user = g_strdup(user);
  l->printed_at = printed_at ? g_date_time_ref(printed_at) : g_date_time_new_now_local();
  l->lines = g_array_new(FALSE, FALSE, sizeof(Line));
  l->page_first = g_array_new(FALSE, FALSE, sizeof(int));
  return l;
}

void
hk_ward_list_free(HkWardList *l)
{
  if (!l)
    return;
  g_ptr_array_unref(l->patients);
  g_free(l->ward);
  g_free(l->title);
  g_free(l->count);
  hk_status_info_free(l->status);
  g_free(l->user);
  g_date_time_unref(l->printed_at);
  g_array_unref(l->lines);
  g_array_unref(l->page_first);
  g_free(l);
}

guint
hk_ward_list_get_n_patients(HkWardList *l)
{
  return l->patients->len;
}

char **
hk_ward_list_dup_patient_ids(HkWardList *l)
{
  GStrvBuilder *b = g_strv_builder_new();
  char **res;

  for (guint i = 0; i < l->patients->len; i++)
    g_strv_builder_add(b, ((HkPatientInfo *)g_ptr_array_index(l->patients, i))->id);
  res = g_strv_builder_end(b);
  g_strv_builder_unref(b);
  return res;
}

const char *
hk_ward_list_get_title(HkWardList *l)
{
  return l->title;
}

static const HkPatientInfo *
patient_at(HkWardList *l, int i)
{
  return g_ptr_array_index(l->patients, i);
}

static gboolean
ward_starts_at(HkWardList *l, int i)
{
  return i == 0 || g_strcmp0(patient_at(l, i - 1)->ward, patient_at(l, i)->ward) != 0;
}

static char *
ward_heading_text(HkWardList *l, int first)
{
  const char *ward = patient_at(l, first)->ward;
  guint n = 0;
  g_autofree char *count = NULL;

  for (guint i = first; i < l->patients->len && !g_strcmp0(patient_at(l, i)->ward, ward); i++)
    n++;
  count = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u inpatient", "%u inpatients", n), n);
  /* TRANSLATORS: a ward's heading on the printed list: ward, "20 inpatients" */
  return g_strdup_printf(_("Ward %s · %s"), ward ? ward : "—", count);
}

/* Lay out (and with draw, draw) one table row of cells at y; returns its
 * height. A cell wraps rather than being cut: a name or ID shortened with
 * an ellipsis could be taken for another patient's. */
static double
table_row(HkWardList *l, cairo_t *cr, const char *const cells[N_COLUMNS], const char *font,
          double y, gboolean draw)
{
  cairo_rectangle_t a = hk_stamp_content_area(l->width, l->height);
  PangoAttrList *attrs = pango_attr_list_new();
  double x = a.x, tallest = 0;

  /* A wrapped ID must not gain a hyphen that is not in it. */
  pango_attr_list_insert(attrs, pango_attr_insert_hyphens_new(FALSE));
  for (int c = 0; c < N_COLUMNS; c++) {
    double w = columns[c].share * a.width;
    g_autoptr(PangoLayout) layout = hk_paper_text_layout(cr, font, w - 2 * CELL_PAD_X);
    int h = 0;
    pango_layout_set_attributes(layout, attrs);
    pango_layout_set_text(layout, cells[c] && *cells[c] ? cells[c] : "—", -1);
    pango_layout_get_size(layout, NULL, &h);
    tallest = MAX(tallest, (double)h / PANGO_SCALE);
    if (draw) {
      cairo_move_to(cr, x + CELL_PAD_X, y + CELL_PAD_Y);
      pango_cairo_show_layout(cr, layout);
    }
    x += w;
  }
  pango_attr_list_unref(attrs);
  return tallest + 2 * CELL_PAD_Y;
}

static double
header_row(HkWardList *l, cairo_t *cr, double y, gboolean draw)
{
  const char *cells[N_COLUMNS];

  for (int c = 0; c < N_COLUMNS; c++)
    cells[c] = _(columns[c].header);
  return table_row(l, cr, cells, HEADER_FONT, y, draw);
}

static double
patient_row(HkWardList *l, cairo_t *cr, int i, double y, gboolean draw)
{
  const HkPatientInfo *p = patient_at(l, i);
  g_autofree char *admitted = hk_format_datetime(p->admitted_at);
  const char *cells[N_COLUMNS] = {p->ward, p->room, p->bed, p->id, p->name, p->kana, admitted};

  return table_row(l, cr, cells, CELL_FONT, y, draw);
}

static double
ward_heading(HkWardList *l, cairo_t *cr, int first, double y, gboolean draw)
{
  cairo_rectangle_t a = hk_stamp_content_area(l->width, l->height);
  g_autofree char *text = ward_heading_text(l, first);
  g_autoptr(PangoLayout) layout = hk_paper_text_layout(cr, WARD_FONT, a.width - 2 * CELL_PAD_X);
  int h = 0;
  double height;

  pango_layout_set_text(layout, text, -1);
  pango_layout_get_size(layout, NULL, &h);
  /* Space above the heading, so that wards stand apart. */
  height = (double)h / PANGO_SCALE + 2 * CELL_PAD_Y + 6;
  if (draw) {
    cairo_save(cr);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_rectangle(cr, a.x, y + 6, a.width, height - 6);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_move_to(cr, a.x + CELL_PAD_X, y + 6 + CELL_PAD_Y);
    pango_cairo_show_layout(cr, layout);
  }
  return height;
}

/* What stands above the table: the title, count and freshness on the
 * first page, the title marked as continued on the others. */
static double
page_top(HkWardList *l, cairo_t *cr, int page, double y, gboolean draw)
{
  cairo_rectangle_t a = hk_stamp_content_area(l->width, l->height);
  double y0 = y;

  if (page == 0) {
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *fresh = NULL;
    g_autoptr(PangoLayout) t = hk_paper_text_layout(cr, TITLE_FONT, a.width);
    g_autoptr(PangoLayout) s = hk_paper_text_layout(cr, SUBTITLE_FONT, a.width);
    g_autofree char *sub = NULL;
    int h = 0;

    /* A stale or sealed archive is said on the list itself, not only in
     * the footer's small print: the census may have moved since. */
    hk_format_freshness(l->status, now, 3600, &fresh);
    sub = g_strdup_printf("%s  ·  %s", l->count, fresh);
    pango_layout_set_text(t, l->title, -1);
    pango_layout_set_text(s, sub, -1);
    if (draw) {
      cairo_move_to(cr, a.x, y);
      pango_cairo_show_layout(cr, t);
    }
    pango_layout_get_size(t, NULL, &h);
    y += (double)h / PANGO_SCALE + 2;
    if (draw) {
      cairo_move_to(cr, a.x, y);
      pango_cairo_show_layout(cr, s);
    }
    pango_layout_get_size(s, NULL, &h);
    y += (double)h / PANGO_SCALE + 8;
  } else {
    /* TRANSLATORS: the ward list's title on its second and later pages */
    g_autofree char *cont = g_strdup_printf(_("%s (continued)"), l->title);
    g_autoptr(PangoLayout) t = hk_paper_text_layout(cr, CONTINUED_FONT, a.width);
    int h = 0;

    pango_layout_set_text(t, cont, -1);
    if (draw) {
      cairo_move_to(cr, a.x, y);
      pango_cairo_show_layout(cr, t);
    }
    pango_layout_get_size(t, NULL, &h);
    y += (double)h / PANGO_SCALE + 6;
  }
  return y - y0;
}

static double
line_height(HkWardList *l, cairo_t *cr, const Line *line)
{
  return line->heading ? ward_heading(l, cr, line->patient, 0, FALSE)
                       : patient_row(l, cr, line->patient, 0, FALSE);
}

int
hk_ward_list_paginate(HkWardList *l, double width, double height)
{
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create(s);
  cairo_rectangle_t a;
  double bottom, y, head_h;
  int page = 0, first = 0;

  l->width = width;
  l->height = height;
  a = hk_stamp_content_area(width, height);
  bottom = a.y + a.height;
  g_array_set_size(l->lines, 0);
  g_array_set_size(l->page_first, 0);
  for (guint i = 0; i < l->patients->len; i++) {
    Line row = {(int)i, FALSE, 0, 0};
    if (!l->ward && ward_starts_at(l, (int)i)) {
      Line heading = {(int)i, TRUE, 0, 0};
      heading.height = line_height(l, cr, &heading);
      g_array_append_val(l->lines, heading);
    }
    row.height = line_height(l, cr, &row);
    g_array_append_val(l->lines, row);
  }

  head_h = header_row(l, cr, 0, FALSE);
  y = a.y + page_top(l, cr, 0, a.y, FALSE) + head_h;
  g_array_append_val(l->page_first, first);
  for (guint i = 0; i < l->lines->len; i++) {
    Line *line = &g_array_index(l->lines, Line, i);
    /* A ward's heading never ends a page: it goes with its first row. */
    double need =
        line->height +
        (line->heading && i + 1 < l->lines->len ? g_array_index(l->lines, Line, i + 1).height : 0);
    if (y + need > bottom && (int)i > first) {
      page++;
      first = (int)i;
      g_array_append_val(l->page_first, first);
      y = a.y + page_top(l, cr, page, a.y, FALSE) + head_h;
    }
    line->y = y;
    y += line->height;
  }
  first = (int)l->lines->len;
  g_array_append_val(l->page_first, first);
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return page + 1;
}

void
hk_ward_list_draw_page(HkWardList *l, cairo_t *cr, int page)
{
  int n_pages = (int)l->page_first->len - 1;
  cairo_rectangle_t a = hk_stamp_content_area(l->width, l->height);
  /* TRANSLATORS: the stamp's second line on a ward list; %s is "42 inpatients" */
  g_autofree char *summary = g_strdup_printf(_("Census: %s"), l->count);
  HkStamp st = {0};
  double y;
  int first, end;

  g_return_if_fail(page >= 0 && page < n_pages);
  first = g_array_index(l->page_first, int, page);
  end = g_array_index(l->page_first, int, page + 1);
  hk_paper_fill_white(cr, l->width, l->height);
  cairo_save(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  y = a.y + page_top(l, cr, page, a.y, TRUE);
  y += header_row(l, cr, y, TRUE);
  cairo_set_line_width(cr, 0.8);
  cairo_move_to(cr, a.x, y);
  cairo_line_to(cr, a.x + a.width, y);
  cairo_stroke(cr);
  if (l->lines->len == 0)
    hk_paper_draw_text(cr, _("No current inpatients."), CELL_FONT, a.x + CELL_PAD_X, y + CELL_PAD_Y,
                       a.width);
  for (int i = first; i < end; i++) {
    const Line *line = &g_array_index(l->lines, Line, i);
    if (line->heading) {
      ward_heading(l, cr, line->patient, line->y, TRUE);
    } else {
      patient_row(l, cr, line->patient, line->y, TRUE);
      /* A light rule under each row keeps the eye on one patient's line
       * across the page. */
      cairo_save(cr);
      cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
      cairo_set_line_width(cr, 0.4);
      cairo_move_to(cr, a.x, line->y + line->height);
      cairo_line_to(cr, a.x + a.width, line->y + line->height);
      cairo_stroke(cr);
      cairo_restore(cr);
    }
  }
  cairo_restore(cr);

  st.list_title = l->title;
  st.doc_title = summary;
  st.user = l->user;
  st.printed_at = l->printed_at;
  st.archive_as_of = l->status ? l->status->archive_as_of : NULL;
  hk_stamp_draw(cr, &st, l->width, l->height, page + 1, n_pages);
}

static int
paper_paginate(gpointer self, double width, double height)
{
  return hk_ward_list_paginate(self, width, height);
}

static void
paper_draw_page(gpointer self, cairo_t *cr, int page)
{
  hk_ward_list_draw_page(self, cr, page);
}

HkPaper
hk_ward_list_as_paper(HkWardList *list)
{
  HkPaper paper = {list, paper_paginate, paper_draw_page};

  return paper;
}

gboolean
hk_ward_list_write_pdf(HkWardList *list, const char *filename, GError **error)
{
  HkPaper paper = hk_ward_list_as_paper(list);

  return hk_paper_write_pdf(&paper, filename, error);
}

#include "hk-pack.h"

#include "hk-client-config.h"
#include "hk-format.h"
#include "hk-jpeg.h"
#include "hk-stamp.h"

#include <glib/gi18n-lib.h>
#include <pango/pangocairo.h>
#include <poppler.h>
#include <string.h>

G_DEFINE_QUARK(hk - pack - error - quark, hk_pack_error)

typedef enum { KIND_PDF, KIND_JPEG, KIND_TEXT } Kind;

typedef struct {
  HkDocInfo *doc;
  GBytes *content;
  Kind kind;
  PopplerDocument *pdf;
  cairo_surface_t *image;
  char *text;
  GArray *text_breaks; /* byte offsets where each text page starts */
} PackDoc;

typedef struct {
  int doc;   /* -1: cover page */
  int index; /* page within the document (or the cover) */
} PageRef;

struct _HkPack {
  HkPatientInfo *patient;
  HkStatusInfo *status; /* may be NULL */
  char *user;
  GDateTime *printed_at;
  gboolean with_cover;
  GPtrArray *docs; /* PackDoc* */
  GArray *pages;   /* PageRef */
  int cover_pages;
  int cover_rows_per_page;
  double width, height;
};

#define TEXT_FONT "Noto Sans Mono CJK JP 9"
#define COVER_ROW_PT 26.0

static void
pack_doc_free(PackDoc *d)
{
  hk_doc_info_free(d->doc);
  g_bytes_unref(d->content);
  g_clear_object(&d->pdf);
  g_clear_pointer(&d->image, cairo_surface_destroy);
  g_free(d->text);
  if (d->text_breaks)
    g_array_unref(d->text_breaks);
  g_free(d);
}

HkPack *
hk_pack_new(const HkPatientInfo *patient, const HkStatusInfo *status, const char *user,
            GDateTime *printed_at, gboolean with_cover)
{
  HkPack *p = g_new0(HkPack, 1);

  p->patient = hk_patient_info_copy(patient);
  p->status = status ? hk_status_info_copy(status) : NULL;
  p->user = g_strdup(user);
  p->printed_at = printed_at ? g_date_time_ref(printed_at) : g_date_time_new_now_local();
  p->with_cover = with_cover;
  p->docs = g_ptr_array_new_with_free_func((GDestroyNotify)pack_doc_free);
  p->pages = g_array_new(FALSE, FALSE, sizeof(PageRef));
  return p;
}

void
hk_pack_free(HkPack *p)
{
  if (!p)
    return;
  hk_patient_info_free(p->patient);
  hk_status_info_free(p->status);
  g_free(p->user);
  g_date_time_unref(p->printed_at);
  g_ptr_array_unref(p->docs);
  g_array_unref(p->pages);
  g_free(p);
}

gboolean
hk_pack_add(HkPack *pack, const HkDocInfo *doc, GBytes *content, GError **error)
{
  PackDoc *d = g_new0(PackDoc, 1);
  g_autoptr(GError) e = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data(content, &len);
  gboolean ok = FALSE;

  d->doc = hk_doc_info_copy(doc);
  d->content = g_bytes_ref(content);
  if (!hk_api_sha256_matches(content, doc->sha256)) {
    /* The stamp names this SHA-256: the paper must be those bytes. */
    g_set_error(error, HK_PACK_ERROR, HK_PACK_ERROR_CONTENT,
                _("“%s”: the bytes received do not match the SHA-256 the archive recorded; "
                  "it is not printed."),
                doc->title);
    goto out;
  }
  /* Trust the bytes, not the label: the archive sniffs content on ingest,
   * and a mislabelled document must still print as what it is. */
  if (len >= 5 && memcmp(data, "%PDF-", 5) == 0) {
    d->kind = KIND_PDF;
    d->pdf = poppler_document_new_from_bytes(content, NULL, &e);
    if (!d->pdf) {
      g_set_error(error, HK_PACK_ERROR, HK_PACK_ERROR_CONTENT, _("“%s”: cannot read PDF: %s"),
                  doc->title, e->message);
      goto out;
    }
  } else if (len >= 3 && (guchar)data[0] == 0xFF && (guchar)data[1] == 0xD8 &&
             (guchar)data[2] == 0xFF) {
    d->kind = KIND_JPEG;
    d->image = hk_jpeg_decode(content, 0, &e);
    if (!d->image) {
      g_set_error(error, HK_PACK_ERROR, HK_PACK_ERROR_CONTENT, _("“%s”: %s"), doc->title,
                  e->message);
      goto out;
    }
  } else if (g_utf8_validate(data ? data : "", (gssize)len, NULL)) {
    d->kind = KIND_TEXT;
    d->text = g_strndup(data ? data : "", len);
  } else {
    g_set_error(error, HK_PACK_ERROR, HK_PACK_ERROR_CONTENT,
                _("“%s”: content is neither PDF, JPEG nor UTF-8 text"), doc->title);
    goto out;
  }
  g_ptr_array_add(pack->docs, g_steal_pointer(&d));
  ok = TRUE;
out:
  if (d)
    pack_doc_free(d);
  return ok;
}

guint
hk_pack_get_n_documents(HkPack *pack)
{
  return pack->docs->len;
}

char **
hk_pack_dup_doc_ids(HkPack *pack)
{
  GStrvBuilder *b = g_strv_builder_new();
  char **res;

  for (guint i = 0; i < pack->docs->len; i++)
    g_strv_builder_add(b, ((PackDoc *)g_ptr_array_index(pack->docs, i))->doc->id);
  res = g_strv_builder_end(b);
  g_strv_builder_unref(b);
  return res;
}

static double
content_top(HkPack *p)
{
  return hk_stamp_content_area(p->width, p->height).y;
}

static double
content_height(HkPack *p)
{
  return hk_stamp_content_area(p->width, p->height).height;
}

static double
content_width(HkPack *p)
{
  return hk_stamp_content_area(p->width, p->height).width;
}

/* Split text into pages by whole lines; the breaks are byte offsets so that
 * drawing a page lays out only its own text. */
static void
paginate_text(HkPack *p, PackDoc *d, cairo_t *cr)
{
  g_autoptr(PangoLayout) layout = hk_paper_text_layout(cr, TEXT_FONT, content_width(p));
  PangoLayoutIter *it;
  double page_h = content_height(p);
  double page_top = 0;
  int start = 0;

  if (d->text_breaks)
    g_array_unref(d->text_breaks);
  d->text_breaks = g_array_new(FALSE, FALSE, sizeof(int));
  g_array_append_val(d->text_breaks, start);
  pango_layout_set_text(layout, d->text, -1);
  it = pango_layout_get_iter(layout);
  do {
    PangoRectangle logical;
    double bottom;
    pango_layout_iter_get_line_extents(it, NULL, &logical);
    bottom = (double)(logical.y + logical.height) / PANGO_SCALE;
    if (bottom - page_top > page_h) {
      int idx = pango_layout_iter_get_index(it);
      g_array_append_val(d->text_breaks, idx);
      page_top = (double)logical.y / PANGO_SCALE;
    }
  } while (pango_layout_iter_next_line(it));
  pango_layout_iter_free(it);
}

int
hk_pack_paginate(HkPack *p, double width, double height)
{
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create(s);
  double list_h;

  p->width = width;
  p->height = height;
  g_array_set_size(p->pages, 0);
  p->cover_pages = 0;
  if (p->with_cover) {
    /* The first cover page spends about 330 pt on identity, allergies and
     * freshness; the document list takes the rest, then continues. */
    list_h = content_height(p) - 330;
    p->cover_rows_per_page = MAX(1, (int)(list_h / COVER_ROW_PT));
    p->cover_pages = 1;
    if ((int)p->docs->len > p->cover_rows_per_page) {
      int rest = (int)p->docs->len - p->cover_rows_per_page;
      int per = MAX(1, (int)((content_height(p) - 40) / COVER_ROW_PT));
      p->cover_pages += (rest + per - 1) / per;
    }
    for (int i = 0; i < p->cover_pages; i++) {
      PageRef r = {-1, i};
      g_array_append_val(p->pages, r);
    }
  }
  for (guint i = 0; i < p->docs->len; i++) {
    PackDoc *d = g_ptr_array_index(p->docs, i);
    int n = 1;
    if (d->kind == KIND_PDF)
      n = MAX(1, poppler_document_get_n_pages(d->pdf));
    else if (d->kind == KIND_TEXT) {
      paginate_text(p, d, cr);
      n = (int)d->text_breaks->len;
    }
    for (int k = 0; k < n; k++) {
      PageRef r = {(int)i, k};
      g_array_append_val(p->pages, r);
    }
  }
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return (int)p->pages->len;
}

static void
draw_cover(HkPack *p, cairo_t *cr, int index)
{
  double x = HK_STAMP_MARGIN_PT;
  double y = content_top(p) + 8;
  double w = content_width(p);
  int first = 0, count;

  cairo_set_source_rgb(cr, 0, 0, 0);
  if (index == 0) {
    g_autoptr(GDateTime) today = g_date_time_new_now_local();
    g_autofree char *line = hk_format_patient_line(p->patient);
    g_autofree char *birth = hk_format_birth_and_age(p->patient->birth_date, today);
    g_autofree char *sex = hk_format_sex(p->patient->sex);
    g_autofree char *loc = hk_format_location(p->patient);
    gboolean alarm = FALSE;
    g_autofree char *allergy = hk_format_allergy_banner(p->patient, FALSE, &alarm);
    g_autofree char *fresh = NULL;
    g_autofree char *printed = hk_format_datetime(p->printed_at);
    g_autofree char *who = NULL;
    g_autofree char *idl = NULL;

    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    hk_format_freshness(p->status, now, 3600, &fresh);
    y += hk_paper_draw_text(cr, _("Transfer pack"), "Noto Sans CJK JP Bold 18", x, y, w) + 8;
    y += hk_paper_draw_text(cr, line, "Noto Sans CJK JP Bold 13", x, y, w) + 4;
    idl = g_strdup_printf("%s  ·  %s  ·  %s", birth, sex, loc);
    y += hk_paper_draw_text(cr, idl, "Noto Sans CJK JP 11", x, y, w) + 12;

    /* Allergies: the one thing a receiving team must not miss. */
    {
      const char *a = allergy;
      g_autoptr(PangoLayout) l = hk_paper_text_layout(cr, "Noto Sans CJK JP Bold 12", w - 16);
      int lh = 0;
      pango_layout_set_text(l, a, -1);
      pango_layout_get_size(l, NULL, &lh);
      cairo_rectangle(cr, x, y, w, (double)lh / PANGO_SCALE + 12);
      cairo_set_line_width(cr, alarm ? 2.5 : 1.0);
      cairo_stroke(cr);
      cairo_move_to(cr, x + 8, y + 6);
      pango_cairo_show_layout(cr, l);
      y += (double)lh / PANGO_SCALE + 24;
    }
    if (p->patient->problems && p->patient->problems->len > 0) {
      GString *s = g_string_new(_("Problems: "));
      for (guint i = 0; i < p->patient->problems->len && i < 8; i++) {
        const HkProblemInfo *q = g_ptr_array_index(p->patient->problems, i);
        g_string_append_printf(s, "%s%s", i ? _(", ") : "", q->name);
      }
      y += hk_paper_draw_text(cr, s->str, "Noto Sans CJK JP 10", x, y, w) + 8;
      g_string_free(s, TRUE);
    }
    who = g_strdup_printf(_("Printed by %s at %s"), p->user ? p->user : "?", printed);
    y += hk_paper_draw_text(cr, who, "Noto Sans CJK JP 10", x, y, w) + 2;
    y += hk_paper_draw_text(cr, fresh, "Noto Sans CJK JP 10", x, y, w) + 14;
    {
      g_autofree char *n = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u document in this pack:",
                                                       "%u documents in this pack:", p->docs->len),
                                           p->docs->len);
      y += hk_paper_draw_text(cr, n, "Noto Sans CJK JP Bold 11", x, y, w) + 6;
    }
    count = p->cover_rows_per_page;
  } else {
    int per = MAX(1, (int)((content_height(p) - 40) / COVER_ROW_PT));
    first = p->cover_rows_per_page + (index - 1) * per;
    count = per;
    y += hk_paper_draw_text(cr, _("Transfer pack: documents (continued)"),
                            "Noto Sans CJK JP Bold 11", x, y, w) +
         6;
  }
  for (int i = first; i < first + count && i < (int)p->docs->len; i++) {
    PackDoc *d = g_ptr_array_index(p->docs, i);
    g_autofree char *when = hk_format_date(d->doc->created_at);
    g_autofree char *sha = hk_format_sha_prefix(d->doc->sha256);
    g_autofree char *row = g_strdup_printf("%d. %s  %s — %s", i + 1, when,
                                           hk_format_doc_type(d->doc->type), d->doc->title);
    g_autofree char *sub = g_strdup_printf(_("version %u · SHA-256 %s%s"), d->doc->version, sha,
                                           d->doc->withdrawn ? _(" · WITHDRAWN at source") : "");
    hk_paper_draw_text(cr, row, "Noto Sans CJK JP 10", x + 6, y, w - 6);
    hk_paper_draw_text(cr, sub, "Noto Sans Mono CJK JP 7.5", x + 20, y + 13, w - 20);
    y += COVER_ROW_PT;
  }
}

static void
draw_fit_box(HkPack *p, cairo_t *cr, double cw, double ch)
{
  double aw = content_width(p), ah = content_height(p);
  double scale = MIN(aw / cw, ah / ch);

  cairo_translate(cr, HK_STAMP_MARGIN_PT + (aw - cw * scale) / 2, content_top(p));
  cairo_scale(cr, scale, scale);
  cairo_rectangle(cr, 0, 0, cw, ch);
  cairo_clip(cr);
}

static void
draw_doc_page(HkPack *p, PackDoc *d, cairo_t *cr, int index)
{
  cairo_save(cr);
  if (d->kind == KIND_PDF && index < poppler_document_get_n_pages(d->pdf)) {
    PopplerPage *page = poppler_document_get_page(d->pdf, index);
    double pw = 0, ph = 0;
    if (page)
      poppler_page_get_size(page, &pw, &ph);
    draw_fit_box(p, cr, MAX(pw, 1), MAX(ph, 1));
    /* Keep the PDF's vectors and text (render_for_printing), on white. */
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    if (page)
      poppler_page_render_for_printing(page, cr);
    g_clear_object(&page);
  } else if (d->kind == KIND_JPEG) {
    int iw = cairo_image_surface_get_width(d->image);
    int ih = cairo_image_surface_get_height(d->image);
    draw_fit_box(p, cr, iw, ih);
    cairo_set_source_surface(cr, d->image, 0, 0);
    cairo_paint(cr);
  } else if (d->kind == KIND_TEXT) {
    int start = g_array_index(d->text_breaks, int, index);
    int end = index + 1 < (int)d->text_breaks->len ? g_array_index(d->text_breaks, int, index + 1)
                                                   : (int)strlen(d->text);
    g_autoptr(PangoLayout) l = hk_paper_text_layout(cr, TEXT_FONT, content_width(p));
    cairo_rectangle(cr, HK_STAMP_MARGIN_PT, content_top(p), content_width(p), content_height(p));
    cairo_clip(cr);
    pango_layout_set_text(l, d->text + start, end - start);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, HK_STAMP_MARGIN_PT, content_top(p));
    pango_cairo_show_layout(cr, l);
  }
  cairo_restore(cr);
}

void
hk_pack_draw_page(HkPack *p, cairo_t *cr, int page)
{
  PageRef r;
  HkStamp st = {0};
  g_autofree char *cover_title = NULL;
  PackDoc *d = NULL;

  g_return_if_fail(page >= 0 && page < (int)p->pages->len);
  r = g_array_index(p->pages, PageRef, page);
  hk_paper_fill_white(cr, p->width, p->height);
  if (r.doc < 0) {
    cairo_save(cr);
    draw_cover(p, cr, r.index);
    cairo_restore(cr);
    cover_title = g_strdup_printf(_("Transfer pack cover (%u documents)"), p->docs->len);
    st.doc_title = cover_title;
  } else {
    d = g_ptr_array_index(p->docs, r.doc);
    draw_doc_page(p, d, cr, r.index);
    st.doc_title = d->doc->title;
    st.sha256 = d->doc->sha256;
    st.version = d->doc->version;
  }
  st.patient_id = p->patient->id;
  st.patient_name = p->patient->name;
  st.birth_date = p->patient->birth_date;
  st.user = p->user;
  st.printed_at = p->printed_at;
  st.archive_as_of = p->status ? p->status->archive_as_of : NULL;
  /* The stamp goes on last, over anything a document drew near its edge. */
  hk_stamp_draw(cr, &st, p->width, p->height, page + 1, (int)p->pages->len);
}

static int
paper_paginate(gpointer self, double width, double height)
{
  return hk_pack_paginate(self, width, height);
}

static void
paper_draw_page(gpointer self, cairo_t *cr, int page)
{
  hk_pack_draw_page(self, cr, page);
}

HkPaper
hk_pack_as_paper(HkPack *pack)
{
  HkPaper paper = {pack, paper_paginate, paper_draw_page};

  return paper;
}

gboolean
hk_pack_write_pdf(HkPack *pack, const char *filename, GError **error)
{
  HkPaper paper = hk_pack_as_paper(pack);

  return hk_paper_write_pdf(&paper, filename, error);
}

#include "hk-document-view.h"

#include "hk-client-config.h"
#include "hk-format.h"
#include "hk-jpeg.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <poppler.h>
#include <string.h>

/* Poppler documents are not thread-safe; every worker that touches one
 * holds this lock, and only one render runs per view at a time anyway. */
static GMutex poppler_lock;

#define THUMB_SCALE 0.16

struct _HkDocumentView {
  GtkWidget parent_instance;

  /* Template widgets */
  GtkWidget *box;
  GtkLabel *patient_label;
  GtkLabel *title_label;
  GtkDropDown *version_dropdown;
  GtkSearchEntry *find_entry;
  GtkLabel *notice_label;
  GtkLabel *info_label;
  GtkStack *stack;
  GtkSpinner *spinner;
  GtkListBox *thumbs;
  GtkScrolledWindow *pdf_scroll;
  GtkBox *pages;
  GtkScrolledWindow *image_scroll;
  GtkPicture *image;
  GtkTextView *text_view;
  GtkLabel *error_label;

  /* Owned */
  HkClient *client;
  GCancellable *cancel;
  HkPatientInfo *patient;
  HkDocInfo *doc;
  guint version; /* shown; 0 = current */
  HkDocumentKind kind;
  PopplerDocument *pdf;
  GPtrArray *page_pics; /* GtkPicture* (borrowed from pages) */
  cairo_surface_t *jpeg;
  int rotation;
  double zoom;        /* PDF: points to pixels; JPEG: image pixels to pixels */
  gboolean fit_width; /* recompute zoom from the width */
  guint gen;          /* bumped on every zoom or load: stale renders are dropped */
  int next_page;      /* next page to render */
  gboolean rendering;
  gboolean thumbs_done;
  int n_rendered;
  int find_page;
  /* Words marked on every PDF page drawn (a search hit, or the find
   * field), or NULL; and the 1-based page a search hit opens at, or 0. */
  char *highlight;
  guint open_page;
  /* Where the server's OCR boxes put the hit's words on a scan, or on the
   * PDF page marks_page (0-based) that has no text layer (HkHighlightBox),
   * or NULL; n_marks: the rectangles drawn so far. */
  GArray *marks;
  int marks_page;
  guint n_marks;
  guint mark_ticks;       /* frames waited to scroll to the first mark */
  gboolean mark_scrolled; /* the scan was scrolled to its first mark */
  int scroll_page;        /* a page to scroll to once the pages are laid out, or -1 */
  char *notice;
  GBytes *bytes;      /* arrived before the document's record: waits for it */
  gboolean refetched; /* the current version's bytes were asked for again */
  gboolean first_drawn;
  gboolean updating_versions;
};

G_DEFINE_FINAL_TYPE(HkDocumentView, hk_document_view, GTK_TYPE_WIDGET)

enum { SIGNAL_FIRST_PAGE_DRAWN, SIGNAL_FAILED, N_SIGNALS };
static guint signals[N_SIGNALS];

static GdkTexture *
texture_from_surface(cairo_surface_t *s)
{
  int w = cairo_image_surface_get_width(s);
  int h = cairo_image_surface_get_height(s);
  int stride = cairo_image_surface_get_stride(s);
  g_autoptr(GBytes) bytes = NULL;

  cairo_surface_flush(s);
  /* The texture keeps the surface's pixels alive rather than a copy. */
  bytes =
      g_bytes_new_with_free_func(cairo_image_surface_get_data(s), (gsize)stride * h,
                                 (GDestroyNotify)cairo_surface_destroy, cairo_surface_reference(s));
  /* cairo ARGB32 is premultiplied native-endian: GDK_MEMORY_DEFAULT. */
  return gdk_memory_texture_new(w, h, GDK_MEMORY_DEFAULT, bytes, stride);
}

static void
show_error(HkDocumentView *self, const char *message)
{
  gtk_label_set_text(self->error_label, message);
  gtk_stack_set_visible_child_name(self->stack, "error");
  gtk_spinner_set_spinning(self->spinner, FALSE);
  g_signal_emit(self, signals[SIGNAL_FAILED], 0, message);
}

static gboolean
first_frame(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  HkDocumentView *self = user_data;

  /* Emitted on the frame after the content was set: it is on screen. */
  g_signal_emit(self, signals[SIGNAL_FIRST_PAGE_DRAWN], 0);
  return G_SOURCE_REMOVE;
}

static void
content_shown(HkDocumentView *self, GtkWidget *widget)
{
  if (self->first_drawn)
    return;
  self->first_drawn = TRUE;
  gtk_spinner_set_spinning(self->spinner, FALSE);
  if (gtk_widget_get_mapped(widget))
    gtk_widget_add_tick_callback(widget, first_frame, self, NULL);
  else
    g_signal_emit(self, signals[SIGNAL_FIRST_PAGE_DRAWN], 0);
}

/* ---- PDF ------------------------------------------------------------ */

typedef struct {
  PopplerDocument *pdf;
  int page;
  double scale;
  guint gen;
  gboolean thumb;
  char *highlight;
  GArray *marks; /* HkHighlightBox for this page, or NULL */
} RenderJob;

static void
render_job_free(RenderJob *j)
{
  g_clear_object(&j->pdf);
  g_free(j->highlight);
  if (j->marks)
    g_array_unref(j->marks);
  g_free(j);
}

/* The server's rectangles (HkHighlightBox, fractions of the page) as
 * translucent yellow boxes, the colour of mark_text's, over a page drawn
 * w by h in cr's units. */
static void
mark_boxes(cairo_t *cr, double w, double h, const GArray *marks)
{
  cairo_save(cr);
  cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
  cairo_set_source_rgba(cr, 1.0, 0.85, 0.0, 0.6);
  for (guint i = 0; i < marks->len; i++) {
    const HkHighlightBox *b = &g_array_index(marks, HkHighlightBox, i);
    cairo_rectangle(cr, b->x0 * w, b->y0 * h, (b->x1 - b->x0) * w, (b->y1 - b->y0) * h);
  }
  cairo_fill(cr);
  cairo_restore(cr);
}

/* Mark each place highlight is on page, as a translucent yellow box over
 * the drawn page (cr in points). poppler gives the boxes with the origin
 * at the page's bottom left; cairo's is at the top left. */
static void
mark_text(PopplerPage *page, cairo_t *cr, double ph, const char *highlight)
{
  GList *hits = poppler_page_find_text(page, highlight);

  cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
  cairo_set_source_rgba(cr, 1.0, 0.85, 0.0, 0.6);
  for (GList *l = hits; l; l = l->next) {
    const PopplerRectangle *r = l->data;
    cairo_rectangle(cr, r->x1, ph - r->y2, r->x2 - r->x1, r->y2 - r->y1);
  }
  cairo_fill(cr);
  g_list_free_full(hits, (GDestroyNotify)poppler_rectangle_free);
}

/* Draw one page at scale (pixels per point) on white, highlight (if not
 * NULL) marked; the caller holds poppler_lock. */
static GdkTexture *
render_page(PopplerDocument *pdf, int index, double scale, const char *highlight,
            const GArray *marks)
{
  PopplerPage *page = poppler_document_get_page(pdf, index);
  cairo_surface_t *s;
  cairo_t *cr;
  double pw = 0, ph = 0;
  int w, h;
  GdkTexture *tex;

  if (page)
    poppler_page_get_size(page, &pw, &ph);
  w = MAX(1, (int)ceil(pw * scale));
  h = MAX(1, (int)ceil(ph * scale));
  s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cr = cairo_create(s);
  cairo_scale(cr, scale, scale);
  if (page)
    poppler_page_render(page, cr);
  /* White under the page, as Papers does: transparent PDFs read on white. */
  cairo_set_operator(cr, CAIRO_OPERATOR_DEST_OVER);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  if (page && highlight && *highlight)
    mark_text(page, cr, ph, highlight);
  if (page && marks)
    mark_boxes(cr, pw, ph, marks);
  cairo_destroy(cr);
  g_clear_object(&page);
  tex = texture_from_surface(s);
  cairo_surface_destroy(s);
  return tex;
}

static void
render_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  RenderJob *j = data;
  GdkTexture *tex;

  g_mutex_lock(&poppler_lock);
  tex = render_page(j->pdf, j->page, j->scale, j->thumb ? NULL : j->highlight,
                    j->thumb ? NULL : j->marks);
  g_mutex_unlock(&poppler_lock);
  g_task_return_pointer(task, tex, g_object_unref);
}

static void render_next(HkDocumentView *self);

static void
render_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkDocumentView *self = HK_DOCUMENT_VIEW(source);
  RenderJob *j = g_task_get_task_data(G_TASK(result));
  g_autoptr(GdkTexture) tex = g_task_propagate_pointer(G_TASK(result), NULL);

  self->rendering = FALSE;
  if (!tex || !self->pdf || j->gen != self->gen) {
    render_next(self); /* a zoom or a new load: start over at the new scale */
    return;
  }
  if (j->thumb) {
    GtkWidget *pic = gtk_picture_new_for_paintable(GDK_PAINTABLE(tex));
    GtkWidget *row = gtk_list_box_row_new();
    GtkWidget *vb = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
    g_autofree char *n = g_strdup_printf("%d", j->page + 1);
    g_autofree char *a11y = g_strdup_printf(_("Page %d"), j->page + 1);
    gtk_picture_set_can_shrink(GTK_PICTURE(pic), FALSE);
    gtk_box_append(GTK_BOX(vb), pic);
    gtk_box_append(GTK_BOX(vb), gtk_label_new(n));
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), vb);
    gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
    gtk_list_box_append(self->thumbs, row);
  } else if (j->page < (int)self->page_pics->len) {
    GtkWidget *pic = g_ptr_array_index(self->page_pics, j->page);
    gtk_picture_set_paintable(GTK_PICTURE(pic), GDK_PAINTABLE(tex));
    self->n_rendered = MAX(self->n_rendered, j->page + 1);
    if (j->marks)
      self->n_marks = j->marks->len;
    if (j->page == 0)
      content_shown(self, pic);
  }
  render_next(self);
}

static void
start_render(HkDocumentView *self, int page, double scale, gboolean thumb)
{
  g_autoptr(GTask) task = g_task_new(self, self->cancel, render_done, NULL);
  RenderJob *j = g_new0(RenderJob, 1);

  j->pdf = g_object_ref(self->pdf);
  j->page = page;
  j->scale = scale;
  j->gen = self->gen;
  j->thumb = thumb;
  j->highlight = g_strdup(self->highlight);
  if (self->marks && page == self->marks_page)
    j->marks = g_array_ref(self->marks);
  g_task_set_task_data(task, j, (GDestroyNotify)render_job_free);
  self->rendering = TRUE;
  g_task_run_in_thread(task, render_thread);
}

/* Render pages in order, first page first, one at a time, then the
 * thumbnails. One job in flight keeps poppler single-threaded per view. */
static void
render_next(HkDocumentView *self)
{
  int n;

  if (self->rendering || !self->pdf)
    return;
  n = (int)self->page_pics->len;
  if (self->next_page < n) {
    start_render(self, self->next_page++, self->zoom, FALSE);
  } else if (!self->thumbs_done) {
    int t = 0;
    for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self->thumbs)); c;
         c = gtk_widget_get_next_sibling(c))
      t++;
    if (t < n)
      start_render(self, t, THUMB_SCALE, TRUE);
    else
      self->thumbs_done = TRUE;
  }
}

/* The pixels a page may take across at "fit to width"; 0 before the view
 * has been laid out. */
static double
fit_pixels(HkDocumentView *self)
{
  int w = gtk_widget_get_width(GTK_WIDGET(self->pdf_scroll));

  if (w <= 0)
    w = gtk_widget_get_width(GTK_WIDGET(self)) - 160;
  return w > 100 ? w - 40 : 0;
}

/* The zoom for a page page_w points wide: the same sum in the worker that
 * draws the first page early and in layout_pages, so that the two agree. */
static double
zoom_for(gboolean fit, double zoom, double fit_px, double page_w)
{
  if (fit)
    zoom = fit_px > 0 ? fit_px / MAX(page_w, 1) : 1.0;
  return CLAMP(zoom, 0.2, 6.0);
}

static void
layout_pages(HkDocumentView *self)
{
  int n = self->pdf ? poppler_document_get_n_pages(self->pdf) : 0;
  double first_w = 595;

  self->gen++;
  self->next_page = 0;
  self->n_rendered = 0;
  if (n > 0) {
    PopplerPage *p0;
    g_mutex_lock(&poppler_lock);
    p0 = poppler_document_get_page(self->pdf, 0);
    if (p0)
      poppler_page_get_size(p0, &first_w, NULL);
    g_clear_object(&p0);
    g_mutex_unlock(&poppler_lock);
  }
  self->zoom = zoom_for(self->fit_width, self->zoom, fit_pixels(self), first_w);
  for (int i = 0; i < n; i++) {
    GtkWidget *pic;
    double pw = 595, ph = 842;
    if (i < (int)self->page_pics->len) {
      pic = g_ptr_array_index(self->page_pics, i);
    } else {
      g_autofree char *a11y = g_strdup_printf(_("Page %d of %d"), i + 1, n);
      pic = gtk_picture_new();
      gtk_picture_set_can_shrink(GTK_PICTURE(pic), TRUE);
      gtk_widget_add_css_class(pic, "hk-page");
      gtk_accessible_update_property(GTK_ACCESSIBLE(pic), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
      gtk_box_append(self->pages, pic);
      g_ptr_array_add(self->page_pics, pic);
    }
    g_mutex_lock(&poppler_lock);
    {
      PopplerPage *pg = poppler_document_get_page(self->pdf, i);
      if (pg) {
        poppler_page_get_size(pg, &pw, &ph);
        g_object_unref(pg);
      }
    }
    g_mutex_unlock(&poppler_lock);
    /* Reserve each page's size now so that scrolling is right before it
     * is rendered. */
    gtk_widget_set_size_request(pic, (int)(pw * self->zoom), (int)(ph * self->zoom));
  }
}

/* ---- JPEG ----------------------------------------------------------- */

typedef struct {
  cairo_surface_t *surface;
  int rotation;
} JpegJob;

static void
jpeg_job_free(JpegJob *j)
{
  if (j->surface)
    cairo_surface_destroy(j->surface);
  g_free(j);
}

static void
jpeg_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  JpegJob *j = data;

  g_task_return_pointer(task, hk_jpeg_rotate(j->surface, j->rotation),
                        (GDestroyNotify)cairo_surface_destroy);
}

static void
apply_image_zoom(HkDocumentView *self)
{
  GdkPaintable *p = gtk_picture_get_paintable(self->image);
  int w, h;

  if (!p)
    return;
  w = gdk_paintable_get_intrinsic_width(p);
  h = gdk_paintable_get_intrinsic_height(p);
  if (self->fit_width) {
    int avail = gtk_widget_get_width(GTK_WIDGET(self->image_scroll));
    if (avail <= 0)
      avail = gtk_widget_get_width(GTK_WIDGET(self));
    self->zoom = avail > 100 && w > 0 ? (double)(avail - 24) / w : 1.0;
  }
  self->zoom = CLAMP(self->zoom, 0.05, 8.0);
  gtk_widget_set_size_request(GTK_WIDGET(self->image), (int)(w * self->zoom),
                              (int)(h * self->zoom));
}

static void
show_image(HkDocumentView *self, GdkTexture *tex)
{
  gtk_picture_set_paintable(self->image, GDK_PAINTABLE(tex));
  self->kind = HK_DOCUMENT_KIND_JPEG;
  self->n_rendered = 1;
  gtk_stack_set_visible_child_name(self->stack, "image");
  apply_image_zoom(self);
  content_shown(self, GTK_WIDGET(self->image));
}

static void
jpeg_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkDocumentView *self = HK_DOCUMENT_VIEW(source);
  g_autoptr(GError) e = NULL;
  cairo_surface_t *s = g_task_propagate_pointer(G_TASK(result), &e);
  g_autoptr(GdkTexture) tex = NULL;

  if (!s) {
    if (!g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_autofree char *m = g_strdup_printf(_("Cannot show this scan: %s"), e->message);
      show_error(self, m);
    }
    return;
  }
  tex = texture_from_surface(s);
  cairo_surface_destroy(s);
  show_image(self, tex);
}

/* A copy of the upright scan src with the marks drawn on it, so that they
 * turn with it. */
static cairo_surface_t *
marked_scan(cairo_surface_t *src, const GArray *marks)
{
  int w = cairo_image_surface_get_width(src), h = cairo_image_surface_get_height(src);
  cairo_surface_t *out = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create(out);

  cairo_set_source_surface(cr, src, 0, 0);
  cairo_paint(cr);
  mark_boxes(cr, w, h, marks);
  cairo_destroy(cr);
  return out;
}

static void start_rotate(HkDocumentView *self);

/* Turn the decoded scan (self->jpeg) to self->rotation, off the main loop. */
static void
start_rotate(HkDocumentView *self)
{
  g_autoptr(GTask) task = g_task_new(self, self->cancel, jpeg_done, NULL);
  JpegJob *j = g_new0(JpegJob, 1);

  j->surface = cairo_surface_reference(self->jpeg);
  j->rotation = self->rotation;
  g_task_set_task_data(task, j, (GDestroyNotify)jpeg_job_free);
  g_task_run_in_thread(task, jpeg_thread);
}

/* ---- loading -------------------------------------------------------- */

/* The document's record and its bytes are asked for at once. Nothing is
 * shown until both are here, the record names this patient, and the bytes
 * hash to the SHA-256 the record gives for the shown version; then one
 * worker checks the hash, parses and, for a PDF, draws the first page, so
 * that the first page costs one trip off the main loop. */

/* The SHA-256 the record gives for version (0 = the current one). */
static const char *
shown_sha256(const HkDocInfo *d, guint version)
{
  const char *sha = d->sha256;
  guint shown = version ? version : d->version;

  for (guint i = 0; i < d->versions->len; i++) {
    const HkVersionInfo *v = g_ptr_array_index(d->versions, i);
    if (v->version == shown)
      sha = v->sha256;
  }
  return sha;
}

typedef struct {
  GBytes *bytes;
  char *sha256;  /* what the record says the bytes hash to */
  double fit_px; /* PDF: the width to draw the first page at; 0 = unknown */
  char *highlight;
  gboolean fit; /* ... at "fit to width", else at zoom */
  double zoom;
  /* Results */
  gboolean mismatch;
  HkDocumentKind kind;
  PopplerDocument *pdf;
  GdkTexture *first; /* the PDF's first page, at first_scale */
  double first_scale;
  cairo_surface_t *jpeg;
} OpenJob;

static void
open_job_free(OpenJob *j)
{
  g_bytes_unref(j->bytes);
  g_free(j->sha256);
  g_free(j->highlight);
  g_clear_object(&j->pdf);
  g_clear_object(&j->first);
  if (j->jpeg)
    cairo_surface_destroy(j->jpeg);
  g_free(j);
}

/* Say what failed in the viewer's words (message, taken), which carry the
 * library's reason. */
static void
reword_error(GError **e, char *message)
{
  g_error_free(*e);
  *e = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
  g_free(message);
}

static void
open_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  OpenJob *j = data;
  GError *e = NULL;
  gsize len = 0;
  const guchar *bytes = g_bytes_get_data(j->bytes, &len);

  if (!hk_api_sha256_matches(j->bytes, j->sha256)) {
    j->mismatch = TRUE;
    e = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            _("The bytes received do not match the SHA-256 the archive "
                              "recorded for this document, so they are not shown."));
  } else if (len >= 5 && memcmp(bytes, "%PDF-", 5) == 0) {
    /* The bytes decide, not the label (the archive sniffed them on ingest). */
    g_mutex_lock(&poppler_lock);
    j->pdf = poppler_document_new_from_bytes(j->bytes, NULL, &e);
    if (j->pdf && poppler_document_get_n_pages(j->pdf) > 0 && (j->fit_px > 0 || !j->fit)) {
      PopplerPage *p0 = poppler_document_get_page(j->pdf, 0);
      double pw = 595;
      if (p0)
        poppler_page_get_size(p0, &pw, NULL);
      g_clear_object(&p0);
      j->first_scale = zoom_for(j->fit, j->zoom, j->fit_px, pw);
      j->first = render_page(j->pdf, 0, j->first_scale, j->highlight, NULL);
    }
    g_mutex_unlock(&poppler_lock);
    if (j->pdf)
      j->kind = HK_DOCUMENT_KIND_PDF;
    else
      reword_error(&e, g_strdup_printf(_("Cannot read this PDF: %s"), e->message));
  } else if (len >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    j->jpeg = hk_jpeg_decode(j->bytes, 0, &e);
    if (j->jpeg)
      j->kind = HK_DOCUMENT_KIND_JPEG;
    else
      reword_error(&e, g_strdup_printf(_("Cannot show this scan: %s"), e->message));
  } else if (g_utf8_validate((const char *)bytes, (gssize)len, NULL)) {
    j->kind = HK_DOCUMENT_KIND_TEXT;
  } else {
    e = g_error_new(G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s",
                    _("This document is neither PDF, JPEG nor text; it cannot be shown."));
  }
  if (e)
    g_task_return_error(task, e);
  else
    g_task_return_boolean(task, TRUE);
}

static void content_done(GObject *source, GAsyncResult *result, gpointer user_data);
static void find_activate(GtkSearchEntry *entry, HkDocumentView *self);

/* Bring the first mark into sight, a little below the top, once the
 * scan's size is laid out (a few frames at most). */
static gboolean
scroll_to_mark(GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  HkDocumentView *self = user_data;
  GtkAdjustment *v = gtk_scrolled_window_get_vadjustment(self->image_scroll);
  double y, want;

  if (!self->marks || !self->jpeg || self->kind != HK_DOCUMENT_KIND_JPEG)
    return G_SOURCE_REMOVE;
  y = g_array_index(self->marks, HkHighlightBox, 0).y0 *
      cairo_image_surface_get_height(self->jpeg) * self->zoom;
  want = MAX(0, y - gtk_adjustment_get_page_size(v) / 4);
  if (gtk_adjustment_get_upper(v) - gtk_adjustment_get_page_size(v) < want &&
      ++self->mark_ticks < 30)
    return G_SOURCE_CONTINUE;
  gtk_adjustment_set_value(v, want);
  self->mark_scrolled = TRUE;
  return G_SOURCE_REMOVE;
}

static void
marks_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkDocumentView *self = user_data;
  g_autoptr(GError) e = NULL;
  g_autoptr(GArray) marks = hk_client_highlights_finish(HK_CLIENT(source), result, &e);

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  /* Marks are a help, not the record: without them the page is shown as
   * it is (the server's index may be down, the page may have no boxes). */
  if (!marks || marks->len == 0) {
    if (e)
      g_message("no highlights for this page: %s", e->message);
    goto out;
  }
  g_clear_pointer(&self->marks, g_array_unref);
  self->marks = g_steal_pointer(&marks);
  if (self->kind == HK_DOCUMENT_KIND_JPEG && self->jpeg) {
    cairo_surface_t *marked = marked_scan(self->jpeg, self->marks);
    cairo_surface_destroy(self->jpeg);
    self->jpeg = marked;
    self->n_marks = self->marks->len;
    if (self->rotation == 0) {
      g_autoptr(GdkTexture) tex = texture_from_surface(self->jpeg);
      show_image(self, tex);
      self->mark_ticks = 0;
      gtk_widget_add_tick_callback(GTK_WIDGET(self->image_scroll), scroll_to_mark,
                                   g_object_ref(self), g_object_unref);
    } else {
      /* A turned scan is left where the user had it. */
      self->mark_scrolled = TRUE;
      start_rotate(self);
    }
  } else if (self->kind == HK_DOCUMENT_KIND_PDF && self->pdf) {
    /* Draw the pages again: the marked one with its marks. */
    layout_pages(self);
    render_next(self);
  }
out:
  g_object_unref(self);
}

/* Ask the server where the hit's words are on page (1-based) of a scan,
 * from its OCR boxes: drawn when they come. */
static void
fetch_marks(HkDocumentView *self, guint page)
{
  if (!self->client || !self->doc || !self->highlight)
    return;
  self->marks_page = (int)page - 1;
  hk_client_highlights_async(self->client, self->doc->id,
                             self->version ? self->version : self->doc->version, page,
                             self->highlight, self->cancel, marks_done, g_object_ref(self));
}

/* Opened from a search hit: find the words from the page the hit named,
 * as if typed in the find field (which then shows them). A scan has no
 * text to find in: its OCR boxes, from the server, mark the words. */
static void
find_opened(HkDocumentView *self)
{
  if (!self->highlight || self->open_page == 0)
    return;
  self->find_page = (int)self->open_page - 2;
  gtk_editable_set_text(GTK_EDITABLE(self->find_entry), self->highlight);
  find_activate(self->find_entry, self);
}

static void
open_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkDocumentView *self = HK_DOCUMENT_VIEW(source);
  OpenJob *j = g_task_get_task_data(G_TASK(result));
  g_autoptr(GError) e = NULL;

  if (!g_task_propagate_boolean(G_TASK(result), &e)) {
    if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      /* another document, or none, is being shown now */
    } else if (j->mismatch && self->version == 0 && !self->refetched && self->client) {
      /* Most likely a new version arrived between the record and the
       * bytes: ask for the version the record describes. */
      self->refetched = TRUE;
      hk_client_content_async(self->client, self->doc->id, self->doc->version, self->cancel,
                              content_done, g_object_ref(self));
    } else {
      show_error(self, e->message);
    }
    return;
  }
  switch (j->kind) {
  case HK_DOCUMENT_KIND_PDF:
    self->pdf = g_steal_pointer(&j->pdf);
    self->kind = HK_DOCUMENT_KIND_PDF;
    gtk_stack_set_visible_child_name(self->stack, "pdf");
    layout_pages(self);
    if (j->first && j->first_scale == self->zoom && self->page_pics->len > 0) {
      /* The worker's first page is at the scale the layout chose: use it. */
      GtkWidget *pic = g_ptr_array_index(self->page_pics, 0);
      gtk_picture_set_paintable(GTK_PICTURE(pic), GDK_PAINTABLE(j->first));
      self->next_page = 1;
      self->n_rendered = 1;
      content_shown(self, pic);
    }
    render_next(self);
    find_opened(self);
    break;
  case HK_DOCUMENT_KIND_JPEG: {
    g_autoptr(GdkTexture) tex = texture_from_surface(j->jpeg);
    /* Keep the upright image for later rotations. */
    g_clear_pointer(&self->jpeg, cairo_surface_destroy);
    self->jpeg = g_steal_pointer(&j->jpeg);
    show_image(self, tex);
    if (self->highlight && self->open_page > 0)
      fetch_marks(self, 1);
    break;
  }
  case HK_DOCUMENT_KIND_TEXT: {
    gsize len = 0;
    const char *text = g_bytes_get_data(j->bytes, &len);
    gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->text_view), text, (int)len);
    self->kind = HK_DOCUMENT_KIND_TEXT;
    self->n_rendered = 1;
    gtk_stack_set_visible_child_name(self->stack, "text");
    content_shown(self, GTK_WIDGET(self->text_view));
    find_opened(self);
    break;
  }
  case HK_DOCUMENT_KIND_NONE:
  default:
    break;
  }
}

/* Both the record and the bytes are here: check and open them. */
static void
open_when_ready(HkDocumentView *self)
{
  g_autoptr(GTask) task = NULL;
  OpenJob *j;

  if (!self->doc || !self->bytes)
    return;
  j = g_new0(OpenJob, 1);
  j->bytes = g_steal_pointer(&self->bytes);
  j->sha256 = g_strdup(shown_sha256(self->doc, self->version));
  j->fit_px = fit_pixels(self);
  j->fit = self->fit_width;
  j->zoom = self->zoom;
  j->highlight = g_strdup(self->highlight);
  task = g_task_new(self, self->cancel, open_done, NULL);
  g_task_set_task_data(task, j, (GDestroyNotify)open_job_free);
  g_task_run_in_thread(task, open_thread);
}

static void
content_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkDocumentView *self = user_data;
  g_autoptr(GError) e = NULL;
  g_autoptr(GBytes) bytes = hk_client_content_finish(HK_CLIENT(source), result, NULL, &e);

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  if (!bytes) {
    show_error(self, e->message);
    goto out;
  }
  g_clear_pointer(&self->bytes, g_bytes_unref);
  self->bytes = g_steal_pointer(&bytes);
  open_when_ready(self);
out:
  g_object_unref(self);
}

static void
update_notice(HkDocumentView *self)
{
  const HkDocInfo *d = self->doc;
  guint shown = self->version ? self->version : d->version;
  GString *s = g_string_new(NULL);
  GtkWidget *n = GTK_WIDGET(self->notice_label);

  gtk_widget_remove_css_class(n, "hk-notice-old");
  gtk_widget_remove_css_class(n, "hk-notice-red");
  if (d->withdrawn) {
    g_string_append_printf(s, _("WITHDRAWN at its source%s%s. Shown for reference only."),
                           d->withdrawn_reason ? ": " : "",
                           d->withdrawn_reason ? d->withdrawn_reason : "");
    gtk_widget_add_css_class(n, "hk-notice-red");
  }
  if (d->moved_direction && d->moved_patient) {
    g_autofree char *when = d->moved_at ? hk_format_datetime(d->moved_at) : g_strdup("?");
    if (s->len)
      g_string_append_c(s, ' ');
    if (strcmp(d->moved_direction, "to") == 0) {
      g_string_append_printf(s,
                             _("MOVED to patient %s at %s: this patient no longer holds this "
                               "document."),
                             d->moved_patient, when);
      gtk_widget_add_css_class(n, "hk-notice-red");
    } else {
      g_string_append_printf(s, _("Moved from patient %s at %s."), d->moved_patient, when);
      gtk_widget_add_css_class(n, "hk-notice-old");
    }
  }
  if (d->refused_count) {
    g_autofree char *when = d->refused_at ? hk_format_datetime(d->refused_at) : g_strdup("?");
    if (s->len)
      g_string_append_c(s, ' ');
    g_string_append_printf(s,
                           _("A newer version was refused as suspect at %s; see the "
                             "quarantine."),
                           when);
    gtk_widget_add_css_class(n, "hk-notice-old");
  }
  if (shown < d->latest_version) {
    if (s->len)
      g_string_append_c(s, ' ');
    g_string_append_printf(s, _("OLDER VERSION %u of %u: this is not the current document."), shown,
                           d->latest_version);
    if (!d->withdrawn)
      gtk_widget_add_css_class(n, "hk-notice-old");
  }
  g_free(self->notice);
  self->notice = s->len ? g_strdup(s->str) : NULL;
  gtk_label_set_text(self->notice_label, s->str);
  gtk_widget_set_visible(n, s->len > 0);
  g_string_free(s, TRUE);
}

static void
fill_versions(HkDocumentView *self)
{
  g_autoptr(GtkStringList) list = gtk_string_list_new(NULL);
  guint sel = 0, shown = self->version ? self->version : self->doc->version;
  guint n = self->doc->versions->len;

  self->updating_versions = TRUE;
  /* Newest first: the dropdown's first entry is the current document. */
  for (guint k = n; k > 0; k--) {
    const HkVersionInfo *v = g_ptr_array_index(self->doc->versions, k - 1);
    g_autofree char *when = hk_format_datetime(v->ingested_at);
    g_autofree char *label = v->version == self->doc->latest_version
                                 ? g_strdup_printf(_("Version %u (current) · %s"), v->version, when)
                                 : g_strdup_printf(_("Version %u · %s"), v->version, when);
    if (v->version == shown)
      sel = n - k;
    gtk_string_list_append(list, label);
  }
  if (n == 0) {
    g_autofree char *label = g_strdup_printf(_("Version %u"), self->doc->version);
    gtk_string_list_append(list, label);
  }
  gtk_drop_down_set_model(self->version_dropdown, G_LIST_MODEL(list));
  gtk_drop_down_set_selected(self->version_dropdown, sel);
  gtk_widget_set_sensitive(GTK_WIDGET(self->version_dropdown), n > 1);
  self->updating_versions = FALSE;
}

static void
doc_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkDocumentView *self = user_data;
  g_autoptr(GError) e = NULL;
  HkDocInfo *d = hk_client_document_finish(HK_CLIENT(source), result, &e);
  g_autofree char *created = NULL;
  g_autofree char *info = NULL;
  g_autofree char *sha = NULL;

  if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  if (!d) {
    show_error(self, e->message);
    goto out;
  }
  if (self->patient && d->patient_id && g_strcmp0(d->patient_id, self->patient->id) != 0) {
    /* Never show another patient's document under this patient's header. */
    show_error(self, _("This document belongs to another patient; it is not shown."));
    hk_doc_info_free(d);
    goto out;
  }
  hk_doc_info_free(self->doc);
  self->doc = d;
  sha = hk_format_sha_prefix(shown_sha256(d, self->version));
  created = hk_format_datetime(d->created_at);
  info = g_strdup_printf(_("%s · %s%s%s · created %s · SHA-256 %s…"), hk_format_doc_type(d->type),
                         d->department ? d->department : "", d->author ? " · " : "",
                         d->author ? d->author : "", created, sha);
  gtk_label_set_text(self->title_label, d->title);
  gtk_label_set_text(self->info_label, info);
  update_notice(self);
  fill_versions(self);
  open_when_ready(self);
out:
  g_object_unref(self);
}

static void
reset(HkDocumentView *self)
{
  GtkWidget *c;

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  self->gen++;
  g_clear_object(&self->pdf);
  g_clear_pointer(&self->jpeg, cairo_surface_destroy);
  while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->pages))))
    gtk_box_remove(self->pages, c);
  while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->thumbs))))
    gtk_list_box_remove(self->thumbs, c);
  g_ptr_array_set_size(self->page_pics, 0);
  gtk_picture_set_paintable(self->image, NULL);
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->text_view), "", 0);
  self->kind = HK_DOCUMENT_KIND_NONE;
  self->rendering = FALSE;
  self->thumbs_done = FALSE;
  self->n_rendered = 0;
  self->next_page = 0;
  self->find_page = -1;
  self->scroll_page = -1;
  self->open_page = 0;
  g_clear_pointer(&self->highlight, g_free);
  g_clear_pointer(&self->marks, g_array_unref);
  self->marks_page = -1;
  self->n_marks = 0;
  self->mark_scrolled = FALSE;
  self->rotation = 0;
  self->zoom = 1.0;
  self->fit_width = TRUE;
  self->first_drawn = FALSE;
  self->refetched = FALSE;
  g_clear_pointer(&self->bytes, g_bytes_unref);
  gtk_editable_set_text(GTK_EDITABLE(self->find_entry), "");
}

void
hk_document_view_load(HkDocumentView *self, const HkPatientInfo *patient, const char *doc_id,
                      guint version)
{
  g_autofree char *id = g_strdup(doc_id);

  reset(self);
  /* The record of what was shown before must not vouch for what comes. */
  g_clear_pointer(&self->doc, hk_doc_info_free);
  if (patient != self->patient) {
    g_clear_pointer(&self->patient, hk_patient_info_free);
    self->patient = patient ? hk_patient_info_copy(patient) : NULL;
  }
  self->version = version;
  /* Whose document this is stays on screen above it: a wrong patient must
   * be impossible to miss. */
  if (self->patient) {
    g_autoptr(GDateTime) today = g_date_time_new_now_local();
    g_autofree char *line = hk_format_patient_line(self->patient);
    g_autofree char *birth = hk_format_birth_and_age(self->patient->birth_date, today);
    g_autofree char *strip = g_strdup_printf("%s  ·  %s", line, birth);
    gtk_label_set_text(self->patient_label, strip);
  }
  if (!self->client)
    return;
  self->cancel = g_cancellable_new();
  gtk_stack_set_visible_child_name(self->stack, "loading");
  gtk_spinner_set_spinning(self->spinner, TRUE);
  gtk_label_set_text(self->title_label, _("Loading…"));
  hk_client_document_under_async(self->client, id, self->patient ? self->patient->id : NULL,
                                 self->cancel, doc_done, g_object_ref(self));
  hk_client_content_async(self->client, id, version, self->cancel, content_done,
                          g_object_ref(self));
}

void
hk_document_view_load_at(HkDocumentView *self, const HkPatientInfo *patient, const char *doc_id,
                         guint version, const char *words, guint page)
{
  hk_document_view_load(self, patient, doc_id, version);
  g_free(self->highlight);
  self->highlight = words && *words ? g_strdup(words) : NULL;
  self->open_page = self->highlight ? MAX(page, 1) : 0;
}

gboolean
hk_document_view_get_found(HkDocumentView *self, int *page)
{
  if (page)
    *page = self->find_page + 1;
  return self->find_page >= 0 && !gtk_widget_has_css_class(GTK_WIDGET(self->find_entry), "error");
}

const char *
hk_document_view_get_highlight(HkDocumentView *self)
{
  return self->highlight;
}

void
hk_document_view_clear(HkDocumentView *self)
{
  reset(self);
  g_clear_pointer(&self->doc, hk_doc_info_free);
  g_clear_pointer(&self->patient, hk_patient_info_free);
  g_clear_pointer(&self->notice, g_free);
  gtk_label_set_text(self->patient_label, "");
  gtk_label_set_text(self->title_label, "");
  gtk_label_set_text(self->info_label, "");
  gtk_widget_set_visible(GTK_WIDGET(self->notice_label), FALSE);
  gtk_stack_set_visible_child_name(self->stack, "loading");
  gtk_spinner_set_spinning(self->spinner, FALSE);
}

static void
version_changed(GtkDropDown *dd, GParamSpec *pspec, HkDocumentView *self)
{
  guint sel = gtk_drop_down_get_selected(dd);
  guint n;
  const HkVersionInfo *v;
  g_autofree char *id = NULL;

  if (self->updating_versions || !self->doc || sel == GTK_INVALID_LIST_POSITION)
    return;
  n = self->doc->versions->len;
  if (sel >= n)
    return;
  v = g_ptr_array_index(self->doc->versions, n - 1 - sel);
  id = g_strdup(self->doc->id);
  hk_document_view_load(self, self->patient, id,
                        v->version == self->doc->latest_version ? 0 : v->version);
}

/* ---- actions -------------------------------------------------------- */

static void
rezoom(HkDocumentView *self, double factor, gboolean fit)
{
  self->fit_width = fit;
  if (!fit)
    self->zoom *= factor;
  if (self->kind == HK_DOCUMENT_KIND_PDF) {
    layout_pages(self);
    render_next(self);
  } else if (self->kind == HK_DOCUMENT_KIND_JPEG)
    apply_image_zoom(self);
}

static void
zoom_in(GtkWidget *w, const char *a, GVariant *p)
{
  rezoom(HK_DOCUMENT_VIEW(w), 1.25, FALSE);
}

static void
zoom_out(GtkWidget *w, const char *a, GVariant *p)
{
  rezoom(HK_DOCUMENT_VIEW(w), 0.8, FALSE);
}

static void
fit_width(GtkWidget *w, const char *a, GVariant *p)
{
  rezoom(HK_DOCUMENT_VIEW(w), 1.0, TRUE);
}

static void
rotate(GtkWidget *w, const char *a, GVariant *p)
{
  HkDocumentView *self = HK_DOCUMENT_VIEW(w);

  if (self->kind != HK_DOCUMENT_KIND_JPEG || !self->jpeg)
    return;
  self->rotation = (self->rotation + 90) % 360;
  start_rotate(self);
}

static void
scroll_to_page(HkDocumentView *self, int page)
{
  GtkWidget *pic;
  graphene_point_t pt;
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(self->pdf_scroll);

  if (page < 0 || page >= (int)self->page_pics->len)
    return;
  pic = g_ptr_array_index(self->page_pics, page);
  /* Before the pages are laid out (a search hit opening the document) the
   * page has no place yet: scroll when the adjustment next changes. */
  self->scroll_page = page;
  if (gtk_widget_get_height(pic) > 0 &&
      gtk_widget_compute_point(pic, GTK_WIDGET(self->pages), &GRAPHENE_POINT_INIT(0, 0), &pt) &&
      gtk_adjustment_get_upper(adj) > pt.y) {
    gtk_adjustment_set_value(adj, pt.y);
    self->scroll_page = -1;
  }
}

static void
scroll_pending(GtkAdjustment *adj, HkDocumentView *self)
{
  if (self->scroll_page >= 0)
    scroll_to_page(self, self->scroll_page);
}

static void
thumb_activated(GtkListBox *list, GtkListBoxRow *row, HkDocumentView *self)
{
  scroll_to_page(self, gtk_list_box_row_get_index(row));
}

typedef struct {
  PopplerDocument *pdf;
  char *text;
  int from;
} FindJob;

static void
find_job_free(FindJob *j)
{
  g_clear_object(&j->pdf);
  g_free(j->text);
  g_free(j);
}

static void
find_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  FindJob *j = data;
  int n, found = -1;

  g_mutex_lock(&poppler_lock);
  n = poppler_document_get_n_pages(j->pdf);
  for (int k = 0; k < n && found < 0; k++) {
    int i = (j->from + k) % n;
    PopplerPage *page = poppler_document_get_page(j->pdf, i);
    GList *hits = page ? poppler_page_find_text(page, j->text) : NULL;
    if (hits)
      found = i;
    g_list_free_full(hits, (GDestroyNotify)poppler_rectangle_free);
    g_clear_object(&page);
  }
  g_mutex_unlock(&poppler_lock);
  g_task_return_int(task, found);
}

static void
find_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  HkDocumentView *self = HK_DOCUMENT_VIEW(source);
  gssize page = g_task_propagate_int(G_TASK(result), NULL);

  if (page >= 0) {
    g_autofree char *m = g_strdup_printf(_("Found on page %d"), (int)page + 1);
    self->find_page = (int)page;
    scroll_to_page(self, (int)page);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->find_entry), m);
    gtk_widget_remove_css_class(GTK_WIDGET(self->find_entry), "error");
  } else {
    gtk_widget_add_css_class(GTK_WIDGET(self->find_entry), "error");
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->find_entry), _("Not found"));
    /* The archive's text matched on this page but the PDF's own search
     * does not (a term across a line break, or text read by OCR): still
     * show the page the hit named. */
    if (self->open_page > 0)
      scroll_to_page(self, (int)self->open_page - 1);
    /* A page without a text layer (a scan in a PDF): its OCR boxes may
     * mark the words. */
    if (self->open_page > 0 &&
        g_strcmp0(self->highlight, gtk_editable_get_text(GTK_EDITABLE(self->find_entry))) == 0)
      fetch_marks(self, self->open_page);
  }
  self->open_page = 0;
}

static void
find_activate(GtkSearchEntry *entry, HkDocumentView *self)
{
  const char *text = gtk_editable_get_text(GTK_EDITABLE(entry));
  g_autoptr(GTask) task = NULL;
  FindJob *j;

  if (!*text)
    return;
  if (self->kind == HK_DOCUMENT_KIND_TEXT) {
    GtkTextBuffer *buf = gtk_text_view_get_buffer(self->text_view);
    GtkTextIter start, ms, me;
    GtkTextMark *ins = gtk_text_buffer_get_insert(buf);
    gtk_text_buffer_get_iter_at_mark(buf, &start, ins);
    if (gtk_text_iter_forward_search(&start, text, GTK_TEXT_SEARCH_CASE_INSENSITIVE, &ms, &me,
                                     NULL) ||
        (gtk_text_buffer_get_start_iter(buf, &start),
         gtk_text_iter_forward_search(&start, text, GTK_TEXT_SEARCH_CASE_INSENSITIVE, &ms, &me,
                                      NULL))) {
      gtk_text_buffer_select_range(buf, &me, &ms);
      gtk_text_view_scroll_to_iter(self->text_view, &ms, 0.1, FALSE, 0, 0);
    }
    return;
  }
  if (self->kind != HK_DOCUMENT_KIND_PDF || !self->pdf)
    return;
  if (g_strcmp0(self->highlight, text) != 0) {
    /* Mark the new words on every page: draw the pages again. */
    g_free(self->highlight);
    self->highlight = g_strdup(text);
    layout_pages(self);
    render_next(self);
  }
  j = g_new0(FindJob, 1);
  j->pdf = g_object_ref(self->pdf);
  j->text = g_strdup(text);
  j->from = self->find_page + 1;
  task = g_task_new(self, self->cancel, find_done, NULL);
  g_task_set_task_data(task, j, (GDestroyNotify)find_job_free);
  g_task_run_in_thread(task, find_thread);
}

/* ---- accessors ------------------------------------------------------ */

void
hk_document_view_set_client(HkDocumentView *self, HkClient *client)
{
  g_set_object(&self->client, client);
}

const HkDocInfo *
hk_document_view_get_doc(HkDocumentView *self)
{
  return self->doc;
}

HkDocumentKind
hk_document_view_get_kind(HkDocumentView *self)
{
  return self->kind;
}

int
hk_document_view_get_n_pages(HkDocumentView *self)
{
  return self->kind == HK_DOCUMENT_KIND_PDF ? (int)self->page_pics->len
                                            : (self->kind != HK_DOCUMENT_KIND_NONE);
}

int
hk_document_view_get_n_rendered(HkDocumentView *self)
{
  return self->n_rendered;
}

const char *
hk_document_view_get_notice(HkDocumentView *self)
{
  return self->notice;
}

static void
hk_document_view_dispose(GObject *object)
{
  HkDocumentView *self = HK_DOCUMENT_VIEW(object);

  if (self->cancel)
    g_cancellable_cancel(self->cancel);
  g_clear_object(&self->cancel);
  g_clear_object(&self->client);
  g_clear_object(&self->pdf);
  g_clear_pointer(&self->jpeg, cairo_surface_destroy);
  g_clear_pointer(&self->bytes, g_bytes_unref);
  gtk_widget_dispose_template(GTK_WIDGET(self), HK_TYPE_DOCUMENT_VIEW);
  G_OBJECT_CLASS(hk_document_view_parent_class)->dispose(object);
}

static void
hk_document_view_finalize(GObject *object)
{
  HkDocumentView *self = HK_DOCUMENT_VIEW(object);

  hk_doc_info_free(self->doc);
  hk_patient_info_free(self->patient);
  g_ptr_array_unref(self->page_pics);
  g_free(self->highlight);
  if (self->marks)
    g_array_unref(self->marks);
  g_free(self->notice);
  G_OBJECT_CLASS(hk_document_view_parent_class)->finalize(object);
}

static void
hk_document_view_class_init(HkDocumentViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  G_OBJECT_CLASS(klass)->dispose = hk_document_view_dispose;
  G_OBJECT_CLASS(klass)->finalize = hk_document_view_finalize;
  signals[SIGNAL_FIRST_PAGE_DRAWN] =
      g_signal_new("first-page-drawn", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_FAILED] = g_signal_new("failed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/org/hikae/viewer/hk-document-view.ui");
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, box);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, patient_label);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, title_label);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, version_dropdown);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, find_entry);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, notice_label);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, info_label);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, stack);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, spinner);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, thumbs);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, pdf_scroll);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, pages);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, image_scroll);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, image);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, text_view);
  gtk_widget_class_bind_template_child(widget_class, HkDocumentView, error_label);
  gtk_widget_class_install_action(widget_class, "doc.zoom-in", NULL, zoom_in);
  gtk_widget_class_install_action(widget_class, "doc.zoom-out", NULL, zoom_out);
  gtk_widget_class_install_action(widget_class, "doc.fit-width", NULL, fit_width);
  gtk_widget_class_install_action(widget_class, "doc.rotate", NULL, rotate);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "doc.zoom-in",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_equal, GDK_CONTROL_MASK, "doc.zoom-in",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "doc.zoom-out",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "doc.rotate",
                                      NULL);
}

static void
hk_document_view_init(HkDocumentView *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->page_pics = g_ptr_array_new();
  self->zoom = 1.0;
  self->fit_width = TRUE;
  self->find_page = -1;
  self->scroll_page = -1;
  g_signal_connect(gtk_scrolled_window_get_vadjustment(self->pdf_scroll), "changed",
                   G_CALLBACK(scroll_pending), self);
  g_signal_connect(self->version_dropdown, "notify::selected", G_CALLBACK(version_changed), self);
  g_signal_connect(self->thumbs, "row-activated", G_CALLBACK(thumb_activated), self);
  g_signal_connect(self->find_entry, "activate", G_CALLBACK(find_activate), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Document"),
                                 -1);
}

guint
hk_document_view_get_n_marks(HkDocumentView *self)
{
  return self->mark_scrolled || self->kind != HK_DOCUMENT_KIND_JPEG ? self->n_marks : 0;
}

#include "hk-extract.h"

#include "hk-boxes.h"
#include "hk-error.h"
#include "hk-ocr.h"
#include "hk-text.h"

#include <cairo.h>
#include <math.h>
#include <poppler.h>
#include <string.h>

/* Is a page's text layer empty (nothing but white space)? */
static bool
hk_extract_blank(const char *text)
{
  for (const char *p = text; p && *p; p++)
    if (!g_ascii_isspace(*p))
      return false;
  return true;
}

/* Draw a page at HK_EXTRACT_OCR_DPI, or less if that passes
 * HK_EXTRACT_OCR_MAX_PIXELS, on white, in grey, and OCR it. \return the
 * text (g_free) and its confidence, or NULL if the page cannot be drawn. */
static char *
hk_extract_ocr_page(PopplerPage *page, uint32_t *confidence, GArray **boxes)
{
  cairo_surface_t *surf = NULL;
  cairo_t *cr = NULL;
  unsigned char *gray = NULL;
  char *text = NULL;
  double pw = 0, ph = 0, scale = HK_EXTRACT_OCR_DPI / 72.0;
  int w, h, stride;
  const unsigned char *px;

  poppler_page_get_size(page, &pw, &ph);
  if (!(pw >= 1 && ph >= 1 && pw <= 1e5 && ph <= 1e5))
    goto out;
  if (pw * scale * ph * scale > HK_EXTRACT_OCR_MAX_PIXELS)
    scale *= sqrt(HK_EXTRACT_OCR_MAX_PIXELS / (pw * scale * ph * scale));
  w = MAX(1, (int)(pw * scale));
  h = MAX(1, (int)(ph * scale));
  surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS)
    goto out;
  cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_scale(cr, scale, scale);
  poppler_page_render_for_printing(page, cr);
  cairo_surface_flush(surf);
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
    goto out;
  px = cairo_image_surface_get_data(surf);
  stride = cairo_image_surface_get_stride(surf);
  gray = g_malloc((size_t)w * (size_t)h);
  for (int y = 0; y < h; y++) {
    const uint32_t *row = (const uint32_t *)(const void *)(px + (size_t)y * (size_t)stride);
    for (int x = 0; x < w; x++) {
      uint32_t c = row[x];
      /* ITU-R BT.601 luma, in integers. */
      gray[(size_t)y * (size_t)w + (size_t)x] =
          (unsigned char)((((c >> 16) & 0xff) * 77 + ((c >> 8) & 0xff) * 150 + (c & 0xff) * 29) >>
                          8);
    }
  }
  text = hk_ocr_gray(gray, w, h, w, confidence, boxes);
out:
  g_free(gray);
  if (cr)
    cairo_destroy(cr);
  if (surf)
    cairo_surface_destroy(surf);
  return text;
}

int
hk_extract_pdf(const void *data, size_t len, GBytes **list, GBytes **boxes, char **reason)
{
  GBytes *bytes = g_bytes_new_static(data, len);
  PopplerDocument *doc = NULL;
  GError *err = NULL;
  HkTextList l;
  HkBoxList bl;
  unsigned ocr_pages = 0;
  int n, ret = -HK_EINVAL;

  *list = NULL;
  *boxes = NULL;
  *reason = NULL;
  hk_text_list_begin(&l);
  hk_box_list_begin(&bl);
  doc = poppler_document_new_from_bytes(bytes, NULL, &err);
  if (!doc) {
    if (g_error_matches(err, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
      *reason = g_strdup("PDF is encrypted and needs a password: no text");
    else
      *reason = g_strdup_printf("not a readable PDF: %s", err ? err->message : "unknown error");
    goto out;
  }
  n = poppler_document_get_n_pages(doc);
  if (n < 1) {
    *reason = g_strdup("PDF has no pages");
    goto out;
  }
  for (int i = 0; i < n; i++) {
    PopplerPage *page = poppler_document_get_page(doc, i);
    char *text = page ? poppler_page_get_text(page) : NULL;
    uint8_t source = HK_TEXT_SOURCE_PDF;
    uint32_t conf = HK_TEXT_NO_CONFIDENCE;
    GArray *found = NULL;
    size_t before = l.bytes;
    bool more;
    /* No text layer: a scanned page, read by OCR while the page limit
     * lasts; past it the page stays empty and the list says it was cut. */
    if (page && hk_extract_blank(text) && hk_ocr_ready()) {
      if (ocr_pages < HK_EXTRACT_OCR_PAGES_MAX) {
        char *read = hk_extract_ocr_page(page, &conf, &found);
        ocr_pages++;
        if (read) {
          g_free(text);
          text = read;
          source = HK_TEXT_SOURCE_OCR;
        }
      } else {
        l.flags |= HK_TEXT_TRUNCATED;
      }
    }
    more = hk_text_list_add(&l, source, conf, text, text ? strlen(text) : 0);
    /* Boxes belong to the text as stored: a page cut at a limit has none,
     * and past the list's own limit the pages have none. */
    if (found && source == HK_TEXT_SOURCE_OCR && l.bytes - before == strlen(text))
      hk_box_list_add(&bl, (uint32_t)i + 1, (const HkBox *)(void *)found->data, found->len);
    if (found)
      g_array_unref(found);
    g_free(text);
    if (page)
      g_object_unref(page);
    /* Full: the pages after this one are not stored, and the list says
     * the text was cut. */
    if (!more && i + 1 < n) {
      l.flags |= HK_TEXT_TRUNCATED;
      break;
    }
  }
  ret = 0;
out:
  if (ret == 0) {
    *list = hk_text_list_end(&l);
    *boxes = hk_box_list_end(&bl);
  } else {
    g_bytes_unref(hk_text_list_end(&l));
    g_clear_pointer(&bl.out, g_byte_array_unref);
  }
  if (doc)
    g_object_unref(doc);
  g_clear_error(&err);
  g_bytes_unref(bytes);
  return ret;
}

int
hk_extract_plain(const void *data, size_t len, GBytes **list, char **reason)
{
  const char *end = NULL;
  HkTextList l;
  int ret = -HK_EINVAL;

  *list = NULL;
  *reason = NULL;
  if (!g_utf8_validate_len(data, len, &end)) {
    /* g_utf8_validate_len stops at a NUL too. */
    size_t at = (size_t)(end - (const char *)data);
    *reason = at < len && ((const char *)data)[at] == '\0'
                  ? g_strdup_printf("text holds a NUL byte at offset %zu", at)
                  : g_strdup_printf("text is not valid UTF-8 at byte offset %zu", at);
    goto out;
  }
  hk_text_list_begin(&l);
  hk_text_list_add(&l, HK_TEXT_SOURCE_TEXT, HK_TEXT_NO_CONFIDENCE, data, len);
  *list = hk_text_list_end(&l);
  ret = 0;
out:
  return ret;
}

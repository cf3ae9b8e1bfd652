#include "hk-extract.h"

#include "hk-error.h"
#include "hk-text.h"

#include <poppler.h>
#include <string.h>

int
hk_extract_pdf(const void *data, size_t len, GBytes **list, char **reason)
{
  GBytes *bytes = g_bytes_new_static(data, len);
  PopplerDocument *doc = NULL;
  GError *err = NULL;
  HkTextList l;
  int n, ret = -HK_EINVAL;

  *list = NULL;
  *reason = NULL;
  hk_text_list_begin(&l);
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
    bool more = hk_text_list_add(&l, HK_TEXT_SOURCE_PDF, HK_TEXT_NO_CONFIDENCE, text,
                                 text ? strlen(text) : 0);
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
  if (ret == 0)
    *list = hk_text_list_end(&l);
  else
    g_bytes_unref(hk_text_list_end(&l));
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

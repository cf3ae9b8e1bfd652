#include "hk-text.h"

#include "hk-error.h"

#include <string.h>

/* Layouts, version 1 (docs/store.md, "Texts"):
 * status: version (1), status (1), source (1), flags (1), attempts (4),
 *   pages (4), empty pages (4), bytes (4), at (8), reason (string);
 * page: version (1), source (1), flags (1), reserved (1), confidence (4),
 *   text (string, never null);
 * page list: version (1), flags (1), reserved (2), pages (4), then each
 *   page record as a string. */
#define HK_TEXT_INFO_FIXED 28
#define HK_TEXT_PAGE_FIXED 8
#define HK_TEXT_LIST_FIXED 8

static const char *const hk_status_names[HK_TEXT_STATUS_MAX] = {
    "pending", "done", "failed", "timed_out", "needs_ocr", "unsupported",
};
static const char *const hk_source_names[HK_TEXT_SOURCE_MAX] = {"none", "text", "pdf", "ocr"};

const char *
hk_text_status_name(unsigned status)
{
  return status < HK_TEXT_STATUS_MAX ? hk_status_names[status] : "unknown";
}

const char *
hk_text_source_name(unsigned source)
{
  return source < HK_TEXT_SOURCE_MAX ? hk_source_names[source] : "unknown";
}

/* ---- status records ---- */

void
hk_text_info_encode(const HkTextInfo *info, GByteArray *out)
{
  hk_row_put(out, HK_TEXT_VERSION, 1);
  hk_row_put(out, info->status, 1);
  hk_row_put(out, info->source, 1);
  hk_row_put(out, info->flags, 1);
  hk_row_put(out, info->attempts, 4);
  hk_row_put(out, info->pages, 4);
  hk_row_put(out, info->empty_pages, 4);
  hk_row_put(out, info->bytes, 4);
  hk_row_put(out, (uint64_t)info->at, 8);
  hk_row_put(out, info->reason.p ? info->reason.len : UINT32_MAX, 4);
  if (info->reason.p)
    g_byte_array_append(out, (const guint8 *)info->reason.p, info->reason.len);
}

int
hk_text_info_decode(const void *data, size_t len, HkTextInfo *out)
{
  const uint8_t *p = data, *end = p + len, *at = p + HK_TEXT_INFO_FIXED;
  int ret = -HK_ECORRUPT;

  memset(out, 0, sizeof *out);
  if (len < HK_TEXT_INFO_FIXED || p[0] != HK_TEXT_VERSION)
    goto out;
  out->status = p[1];
  out->source = p[2];
  out->flags = p[3];
  out->attempts = (uint32_t)hk_row_get(p + 4, 4);
  out->pages = (uint32_t)hk_row_get(p + 8, 4);
  out->empty_pages = (uint32_t)hk_row_get(p + 12, 4);
  out->bytes = (uint32_t)hk_row_get(p + 16, 4);
  out->at = (int64_t)hk_row_get(p + 20, 8);
  if (out->status >= HK_TEXT_STATUS_MAX || out->source >= HK_TEXT_SOURCE_MAX ||
      out->empty_pages > out->pages)
    goto out;
  /* The API writes the reason as it is (hk-textq.c makes it UTF-8). */
  if (hk_row_str(&at, end, &out->reason) && at == end &&
      (!out->reason.p || g_utf8_validate(out->reason.p, out->reason.len, NULL)))
    ret = 0;
out:
  return ret;
}

/* ---- page records ---- */

void
hk_text_page_encode(uint8_t source, uint8_t flags, uint32_t confidence, const char *text,
                    size_t len, GByteArray *out)
{
  hk_row_put(out, HK_TEXT_VERSION, 1);
  hk_row_put(out, source, 1);
  hk_row_put(out, flags, 1);
  hk_row_put(out, 0, 1);
  hk_row_put(out, confidence, 4);
  hk_row_put(out, (uint32_t)len, 4);
  g_byte_array_append(out, (const guint8 *)text, (guint)len);
}

int
hk_text_page_decode(const void *data, size_t len, HkTextPage *out)
{
  const uint8_t *p = data, *end = p + len, *at = p + HK_TEXT_PAGE_FIXED;
  int ret = -HK_ECORRUPT;

  memset(out, 0, sizeof *out);
  if (len < HK_TEXT_PAGE_FIXED || p[0] != HK_TEXT_VERSION)
    goto out;
  out->source = p[1];
  out->flags = p[2];
  out->confidence = (uint32_t)hk_row_get(p + 4, 4);
  if (out->source >= HK_TEXT_SOURCE_MAX ||
      (out->confidence != HK_TEXT_NO_CONFIDENCE && out->confidence > 10000))
    goto out;
  if (!hk_row_str(&at, end, &out->text) || at != end || !out->text.p)
    goto out;
  /* The API writes the text into JSON as it is: it must be what
   * hk_text_list_add lets in. */
  if (!g_utf8_validate(out->text.p, out->text.len, NULL) || memchr(out->text.p, 0, out->text.len))
    goto out;
  ret = 0;
out:
  return ret;
}

/* ---- page lists ---- */

void
hk_text_list_begin(HkTextList *l)
{
  memset(l, 0, sizeof *l);
  l->out = g_byte_array_new();
  hk_row_put(l->out, HK_TEXT_VERSION, 1);
  hk_row_put(l->out, 0, 1);
  hk_row_put(l->out, 0, 2);
  hk_row_put(l->out, 0, 4); /* the count, set by hk_text_list_end */
}

/* The longest prefix of UTF-8 text within max bytes that ends at a
 * character boundary. */
static size_t
hk_text_cut(const char *text, size_t len, size_t max)
{
  size_t n = len;

  if (n > max) {
    n = max;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
      n--;
  }
  return n;
}

bool
hk_text_list_add(HkTextList *l, uint8_t source, uint32_t confidence, const char *text, size_t len)
{
  GByteArray *rec = g_byte_array_new();
  char *valid = g_utf8_make_valid(text ? text : "", text ? (gssize)len : 0);
  size_t n = 0, cut, room = HK_TEXT_DOC_MAX - MIN(l->bytes, HK_TEXT_DOC_MAX);
  uint8_t flags = 0;

  /* A parser's text may hold anything a PDF's strings say: make_valid
   * replaces every byte that is not UTF-8, a NUL included, with U+FFFD. */
  n = strlen(valid);
  /* A plain-text document is one page: only the document's limit applies
   * to it. */
  cut = hk_text_cut(
      valid, n,
      MIN(source == HK_TEXT_SOURCE_TEXT ? (size_t)HK_TEXT_DOC_MAX : (size_t)HK_TEXT_PAGE_MAX,
          room));
  if (cut < n) {
    flags |= HK_TEXT_TRUNCATED;
    l->flags |= HK_TEXT_TRUNCATED;
  }
  hk_text_page_encode(source, flags, confidence, valid, cut, rec);
  hk_row_put(l->out, rec->len, 4);
  g_byte_array_append(l->out, rec->data, rec->len);
  l->pages++;
  l->bytes += cut;
  g_byte_array_unref(rec);
  g_free(valid);
  return l->pages < HK_TEXT_PAGES_MAX && l->bytes < HK_TEXT_DOC_MAX;
}

GBytes *
hk_text_list_end(HkTextList *l)
{
  l->out->data[1] = l->flags;
  for (int i = 0; i < 4; i++)
    l->out->data[4 + i] = (uint8_t)(l->pages >> (8 * (3 - i)));
  return g_byte_array_free_to_bytes(g_steal_pointer(&l->out));
}

int
hk_text_list_decode(const void *data, size_t len, HkTextListReader *out)
{
  const uint8_t *p = data, *end = p + len, *at = p + HK_TEXT_LIST_FIXED;
  int ret = -HK_ECORRUPT;
  bool ok = true;

  memset(out, 0, sizeof *out);
  if (len < HK_TEXT_LIST_FIXED || p[0] != HK_TEXT_VERSION)
    goto out;
  out->flags = p[1];
  out->pages = (uint32_t)hk_row_get(p + 4, 4);
  if (out->pages > HK_TEXT_PAGES_MAX)
    goto out;
  out->at = at;
  out->end = end;
  /* Check every page once, so that hk_text_list_next needs no checks. */
  for (uint32_t i = 0; ok && i < out->pages; i++) {
    HkRowStr rec;
    HkTextPage page;
    ok = hk_row_str(&at, end, &rec) && rec.p && hk_text_page_decode(rec.p, rec.len, &page) == 0;
  }
  if (ok && at == end)
    ret = 0;
out:
  return ret;
}

void
hk_text_list_next(HkTextListReader *r, HkTextPage *out)
{
  HkRowStr rec;

  hk_row_str(&r->at, NULL, &rec);
  hk_text_page_decode(rec.p, rec.len, out);
}

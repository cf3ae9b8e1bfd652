#include "hk-boxes.h"

#include "hk-error.h"
#include "hk-row.h"
#include "hk-text.h"

#include <string.h>

void
hk_boxes_encode(const HkBox *boxes, uint32_t n, GByteArray *out)
{
  hk_row_put(out, HK_BOXES_VERSION, 1);
  hk_row_put(out, 0, 3);
  hk_row_put(out, n, 4);
  for (uint32_t i = 0; i < n; i++) {
    hk_row_put(out, boxes[i].start, 4);
    hk_row_put(out, boxes[i].len, 2);
    hk_row_put(out, boxes[i].x0, 2);
    hk_row_put(out, boxes[i].y0, 2);
    hk_row_put(out, boxes[i].x1, 2);
    hk_row_put(out, boxes[i].y1, 2);
  }
}

void
hk_boxes_get(const HkBoxes *b, uint32_t i, HkBox *out)
{
  const uint8_t *p = b->at + (size_t)i * HK_BOX_BYTES;

  out->start = (uint32_t)hk_row_get(p, 4);
  out->len = (uint16_t)hk_row_get(p + 4, 2);
  out->x0 = (uint16_t)hk_row_get(p + 6, 2);
  out->y0 = (uint16_t)hk_row_get(p + 8, 2);
  out->x1 = (uint16_t)hk_row_get(p + 10, 2);
  out->y1 = (uint16_t)hk_row_get(p + 12, 2);
}

int
hk_boxes_decode(const void *data, size_t len, uint32_t text_cps, HkBoxes *out)
{
  const uint8_t *p = data;
  uint64_t next = 0; /* the first code point the next box may start at */
  int ret = -HK_ECORRUPT;

  out->n = 0;
  out->at = NULL;
  if (len < HK_BOXES_HDR || p[0] != HK_BOXES_VERSION)
    goto out;
  out->n = (uint32_t)hk_row_get(p + 4, 4);
  out->at = p + HK_BOXES_HDR;
  if (out->n == 0 || out->n > HK_BOXES_PAGE_MAX ||
      len != HK_BOXES_HDR + (size_t)out->n * HK_BOX_BYTES)
    goto out;
  for (uint32_t i = 0; i < out->n; i++) {
    HkBox b;
    hk_boxes_get(out, i, &b);
    if (b.len == 0 || b.start < next || (uint64_t)b.start + b.len > text_cps || b.x0 > b.x1 ||
        b.y0 > b.y1)
      goto out;
    next = (uint64_t)b.start + b.len;
  }
  ret = 0;
out:
  if (ret) {
    out->n = 0;
    out->at = NULL;
  }
  return ret;
}

void
hk_box_list_begin(HkBoxList *l)
{
  l->out = g_byte_array_new();
  l->entries = 0;
  l->last_page = 0;
  hk_row_put(l->out, HK_BOXES_VERSION, 1);
  hk_row_put(l->out, 0, 3);
  hk_row_put(l->out, 0, 4); /* entries, set by hk_box_list_end */
}

bool
hk_box_list_add(HkBoxList *l, uint32_t page, const HkBox *boxes, uint32_t n)
{
  size_t rec = HK_BOXES_HDR + (size_t)n * HK_BOX_BYTES;

  if (n == 0 || n > HK_BOXES_PAGE_MAX || page <= l->last_page ||
      l->out->len + 8 + rec > HK_BOXES_DOC_MAX)
    return false;
  hk_row_put(l->out, page, 4);
  hk_row_put(l->out, rec, 4);
  hk_boxes_encode(boxes, n, l->out);
  l->entries++;
  l->last_page = page;
  return true;
}

GBytes *
hk_box_list_end(HkBoxList *l)
{
  GBytes *out = NULL;

  if (l->entries) {
    uint8_t *p = l->out->data + 4;
    p[0] = (uint8_t)(l->entries >> 24);
    p[1] = (uint8_t)(l->entries >> 16);
    p[2] = (uint8_t)(l->entries >> 8);
    p[3] = (uint8_t)l->entries;
    out = g_byte_array_free_to_bytes(l->out);
  } else {
    g_byte_array_unref(l->out);
  }
  l->out = NULL;
  return out;
}

int
hk_box_list_decode(const void *data, size_t len, HkBoxListReader *out)
{
  const uint8_t *p = data, *end = p + len, *at;
  uint32_t last = 0;
  int ret = -HK_ECORRUPT;

  memset(out, 0, sizeof *out);
  if (len < 8 || len > HK_BOXES_DOC_MAX || p[0] != HK_BOXES_VERSION)
    goto out;
  out->entries = (uint32_t)hk_row_get(p + 4, 4);
  at = p + 8;
  for (uint32_t i = 0; i < out->entries; i++) {
    uint32_t page, rec;
    if ((size_t)(end - at) < 8)
      goto out;
    page = (uint32_t)hk_row_get(at, 4);
    rec = (uint32_t)hk_row_get(at + 4, 4);
    if (page <= last || rec > (size_t)(end - at) - 8)
      goto out;
    last = page;
    at += 8 + rec;
  }
  if (at != end)
    goto out;
  out->at = p + 8;
  out->end = end;
  ret = 0;
out:
  if (ret)
    memset(out, 0, sizeof *out);
  return ret;
}

void
hk_box_list_next(HkBoxListReader *r, uint32_t *page, const uint8_t **rec, size_t *len)
{
  *page = (uint32_t)hk_row_get(r->at, 4);
  *len = (size_t)hk_row_get(r->at + 4, 4);
  *rec = r->at + 8;
  r->at += 8 + *len;
}

int
hk_box_list_check(const void *data, size_t len, const void *list, size_t list_len)
{
  HkTextListReader pages;
  HkBoxListReader r;
  uint32_t at = 0; /* pages of the list read so far */
  int ret = hk_text_list_decode(list, list_len, &pages);

  if (ret == 0)
    ret = hk_box_list_decode(data, len, &r);
  for (uint32_t i = 0; ret == 0 && i < r.entries; i++) {
    uint32_t page;
    const uint8_t *rec;
    size_t rlen;
    HkTextPage text = {0};
    HkBoxes b;
    hk_box_list_next(&r, &page, &rec, &rlen);
    if (page > pages.pages) {
      ret = -HK_ECORRUPT;
      break;
    }
    /* Entries are in page order: the list is walked once. */
    while (at < page) {
      hk_text_list_next(&pages, &text);
      at++;
    }
    ret =
        hk_boxes_decode(rec, rlen, (uint32_t)g_utf8_strlen(text.text.p, (gssize)text.text.len), &b);
  }
  return ret;
}

/* hk-boxes.h: where the characters of an OCR page are on the page (issue
 * 14: a search hit on a scan opens with the words highlighted), the codec
 * of the store's `text_boxes` table (docs/store.md, "Texts") and of the
 * box list a parser worker answers with beside its page list.
 *
 * A box covers a range of code points of the page's STORED text (after
 * hk_ocr_join, so that the search's matches, which are found in that text,
 * map to boxes directly): [start, start + len), usually one character (one
 * Tesseract symbol). Its rectangle is in the page as the viewer shows it
 * (the image before the OCR turned it straight), in 0..HK_BOX_UNITS of the
 * page's width and height, so that any drawing size can use it. Boxes are
 * in text order and do not overlap in text.
 *
 * The layouts are those of hk-text.h: fixed-width big-endian fields, a
 * layout byte first, and a decode that checks every length and every
 * rectangle, so that a worker's damaged answer or a damaged record is
 * refused, never read past. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HK_BOXES_VERSION 1
/* Page-relative units: 0 is the left (top) edge, HK_BOX_UNITS the right
 * (bottom) one. */
#define HK_BOX_UNITS 65535u
/* At most this many boxes a page (a dense A4 page holds some 3,000
 * characters); a page with more has none, never some. */
#define HK_BOXES_PAGE_MAX 16384u
/* At most this many bytes of boxes a document (about 300 dense pages);
 * the pages past it have none. With the text's 1 MiB (hk-text.h) it stays
 * within a worker's answer. */
#define HK_BOXES_DOC_MAX (4u << 20)
/* A box's bytes: start (4), len (2), x0, y0, x1, y1 (2 each). */
#define HK_BOX_BYTES 14u
/* A page record's header: layout, 3 reserved, count (4). */
#define HK_BOXES_HDR 8u

typedef struct {
  uint32_t start; /* first code point of the stored page text */
  uint16_t len;   /* code points, at least 1 */
  uint16_t x0, y0, x1, y1;
} HkBox;

/* A page's boxes, decoded: n boxes of HK_BOX_BYTES at at (into the
 * record's bytes; hk_boxes_get reads one). */
typedef struct {
  uint32_t n;
  const uint8_t *at;
} HkBoxes;

/* Append a page record of n boxes to out. */
void hk_boxes_encode(const HkBox *boxes, uint32_t n, GByteArray *out);
/* Check the whole of data as a page record and decode it. text_cps: the
 * code points of the page's stored text; every box must lie within it.
 * \return 0, or -HK_ECORRUPT for another layout, a count of 0 or over
 * HK_BOXES_PAGE_MAX, a length that is not the count's, a box of no length,
 * out of the text, out of order or overlapping the one before, or a
 * rectangle whose corners are swapped. */
int hk_boxes_decode(const void *data, size_t len, uint32_t text_cps, HkBoxes *out);
/* Box i (< b->n) of a decoded page. */
void hk_boxes_get(const HkBoxes *b, uint32_t i, HkBox *out);

/* A box list, what a parser worker answers beside its page list: a layout
 * byte, 3 reserved bytes, a count of entries, then per entry the page
 * (4, from 1, increasing) and a page record as a string (4 + bytes). */
typedef struct {
  GByteArray *out;
  uint32_t entries;
  uint32_t last_page;
} HkBoxList;

void hk_box_list_begin(HkBoxList *l);
/* Add the boxes of page (from 1, after the pages added before). \return
 * false, and the page left out whole, if it has no box, more than
 * HK_BOXES_PAGE_MAX, or would take the list past HK_BOXES_DOC_MAX. */
bool hk_box_list_add(HkBoxList *l, uint32_t page, const HkBox *boxes, uint32_t n);
/* Finish the list: its bytes (the caller frees), or NULL if it has no
 * entry. */
GBytes *hk_box_list_end(HkBoxList *l);

typedef struct {
  uint32_t entries;
  const uint8_t *at;
  const uint8_t *end;
} HkBoxListReader;

/* Check the framing of data as a box list (the pages increasing, each
 * record's length within the list and HK_BOXES_DOC_MAX); each record is
 * checked against its page's text by hk_boxes_decode. \return 0, or
 * -HK_ECORRUPT. */
int hk_box_list_decode(const void *data, size_t len, HkBoxListReader *out);
/* The next entry of a decoded list (call r->entries times): its page and
 * its record's bytes. */
void hk_box_list_next(HkBoxListReader *r, uint32_t *page, const uint8_t **rec, size_t *len);

/* Check a worker's box list (data, len) against the page list it came with
 * (list, list_len, itself checked): the framing, each entry's page within
 * the list, each record against its page's text (hk_boxes_decode).
 * \return 0, or -HK_ECORRUPT: the whole list is refused, never part. */
int hk_box_list_check(const void *data, size_t len, const void *list, size_t list_len);

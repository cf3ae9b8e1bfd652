/* hk-text.h: the text extracted from a document version, the codec of the
 * store's `texts` and `text_pages` tables (docs/store.md, "Texts"), and of
 * the page list a parser worker answers with.
 *
 * Text is derived data, like thumbnails: it is extracted after the version
 * is committed and visible (indexer/hk-textq.c), never before. Each
 * version has one status record (what the last extraction found, how often
 * it was tried) and one page record per page (the page's text, where it
 * came from and, for OCR, its confidence). The layouts are those of
 * hk-row.h: fixed-width big-endian fields and length-prefixed strings, a
 * layout byte first, and a decode that checks every length against the
 * end, so that a damaged record is refused, never read past. */
#pragma once

#include "hk-row.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first byte of every status and page record, and of a page list. */
#define HK_TEXT_VERSION 1

/* Limits, so that one document cannot fill the store or a worker's
 * answer: at most HK_TEXT_PAGE_MAX bytes of text per PDF or OCR page and
 * HK_TEXT_DOC_MAX per version (pages past it are not stored; a plain-text
 * document, one page, has only this limit), at most HK_TEXT_PAGES_MAX
 * pages. Cut at a character boundary; the status then
 * says truncated. 1 MiB holds about 350,000 Japanese characters, some
 * 400 dense A4 pages. */
#define HK_TEXT_PAGE_MAX (256u * 1024u)
#define HK_TEXT_DOC_MAX (1024u * 1024u)
#define HK_TEXT_PAGES_MAX 10000u
/* Attempts in all before a failed or timed-out extraction stays failed. */
#define HK_TEXT_MAX_ATTEMPTS 3u
/* A reason is kept to this many bytes. */
#define HK_TEXT_REASON_MAX 1024u
/* Confidence of a page not read by OCR. */
#define HK_TEXT_NO_CONFIDENCE UINT32_MAX

/* The outcome of the last extraction of a version. */
typedef enum {
  HK_TEXT_PENDING = 0,     /* never tried (only ever shown, not stored) */
  HK_TEXT_DONE = 1,        /* every page stored (some may be empty) */
  HK_TEXT_FAILED = 2,      /* the bytes gave no text: reason says why */
  HK_TEXT_TIMEOUT = 3,     /* the parser met its time limit */
  HK_TEXT_NEEDS_OCR = 4,   /* a scan (JPEG): only OCR can read it */
  HK_TEXT_UNSUPPORTED = 5, /* a content type with no text to extract */
  HK_TEXT_STATUS_MAX
} HkTextStatus;

/* Where a page's text came from. */
typedef enum {
  HK_TEXT_SOURCE_NONE = 0,
  HK_TEXT_SOURCE_TEXT = 1, /* a text/plain document, as it is */
  HK_TEXT_SOURCE_PDF = 2,  /* a PDF's text layer */
  HK_TEXT_SOURCE_OCR = 3,  /* OCR of a page image */
  HK_TEXT_SOURCE_MAX
} HkTextSource;

enum {
  HK_TEXT_TRUNCATED = 1 << 0, /* text was cut at a limit */
};

/* A version's status record. reason points into the record's bytes. */
typedef struct {
  uint8_t status; /* HkTextStatus */
  uint8_t source; /* HkTextSource of its pages */
  uint8_t flags;  /* HK_TEXT_* */
  uint32_t attempts;
  uint32_t pages;       /* page records stored */
  uint32_t empty_pages; /* of which hold no text */
  uint32_t bytes;       /* text bytes stored, all pages */
  int64_t at;           /* µs of the last attempt */
  HkRowStr reason;      /* why it failed, or null */
} HkTextInfo;

/* A page record. text points into the record's bytes. */
typedef struct {
  uint8_t source; /* HkTextSource */
  uint8_t flags;  /* HK_TEXT_* */
  uint32_t
      confidence; /* OCR confidence, 0-10000 (hundredths of a percent), or HK_TEXT_NO_CONFIDENCE */
  HkRowStr text;  /* UTF-8, no NUL */
} HkTextPage;

/* Append the status record of info to out. */
void hk_text_info_encode(const HkTextInfo *info, GByteArray *out);
/* Check the whole of data as a status record and decode it.
 * \return 0, or -HK_ECORRUPT for another layout, an unknown status or
 * source, a length that passes the end, bytes left over, or a reason that
 * is not UTF-8. */
int hk_text_info_decode(const void *data, size_t len, HkTextInfo *out);

/* Append a page record to out: text of len bytes. */
void hk_text_page_encode(uint8_t source, uint8_t flags, uint32_t confidence, const char *text,
                         size_t len, GByteArray *out);
/* Check the whole of data as a page record and decode it.
 * \return 0, or -HK_ECORRUPT as hk_text_info_decode, or for text that is
 * not UTF-8 or holds a NUL. */
int hk_text_page_decode(const void *data, size_t len, HkTextPage *out);

/* A page list, what a parser worker answers for a PDF: a layout byte,
 * flags (HK_TEXT_TRUNCATED), 2 reserved bytes, a page count, then that
 * many page records, each as a string. Build one with
 * hk_text_list_begin, hk_text_list_add (which applies the limits, so
 * that the list stays within them), and read one with hk_text_list_decode
 * and hk_text_list_next. */
typedef struct {
  GByteArray *out;
  uint32_t pages;
  size_t bytes; /* text bytes so far */
  uint8_t flags;
} HkTextList;

void hk_text_list_begin(HkTextList *l);
/* Add a page of text (UTF-8 made valid, NULs dropped, cut at the page and
 * document limits). \return false once the list holds HK_TEXT_PAGES_MAX
 * pages or the document limit is reached: the caller stops. */
bool hk_text_list_add(HkTextList *l, uint8_t source, uint32_t confidence, const char *text,
                      size_t len);
/* Finish the list: its bytes (the caller frees). */
GBytes *hk_text_list_end(HkTextList *l);

typedef struct {
  uint8_t flags;
  uint32_t pages;
  const uint8_t *at; /* the next page's record string */
  const uint8_t *end;
} HkTextListReader;

/* Check the whole of data as a page list, every page record included.
 * \return 0, or -HK_ECORRUPT. */
int hk_text_list_decode(const void *data, size_t len, HkTextListReader *out);
/* The next page of a decoded list (call r->pages times). */
void hk_text_list_next(HkTextListReader *r, HkTextPage *out);

/* Names, as the API and `hikae-admin` write them: "pending", "done",
 * "failed", "timed_out", "needs_ocr", "unsupported"; "none", "text",
 * "pdf", "ocr". */
const char *hk_text_status_name(unsigned status);
const char *hk_text_source_name(unsigned source);

/* hk-stamp.h: the stamp that every printed or exported page carries
 * (interfaces.md, "Printed pages").
 *
 * Paper leaves the archive and goes to a bedside or another hospital; it
 * must say whose it is, which version of which document it shows, who
 * printed it, when, and how current the archive was. The stamp sits in a
 * header and a footer band outside the document's own content. */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

/* The fixed words of the stamp; never translated so that any reader (and
 * the tests) can find them. */
#define HK_STAMP_MOTTO "DOWNTIME COPY — hikae read-only archive"

/* Heights in points of the bands the stamp takes at the top and bottom of
 * a page; content goes between them. */
#define HK_STAMP_HEADER_PT 46.0
#define HK_STAMP_FOOTER_PT 30.0
#define HK_STAMP_MARGIN_PT 24.0

/* The stamp of one patient's pages sets patient_id (and name and birth
 * date). A list of many patients (a ward list) sets list_title instead:
 * each of its rows carries its own patient's ID and name, so the header
 * names the list, and every other part of the stamp stays the same. */
typedef struct {
  const char *patient_id;   /* NULL on a list */
  const char *patient_name; /* may be NULL */
  const char *birth_date;   /* may be NULL */
  const char *list_title;   /* NULL unless a list: "Ward list: 5E" */
  const char *doc_title;    /* the document, the cover page's or the list's summary */
  const char *sha256;       /* the version's hash; may be NULL (cover page) */
  guint version;            /* 0 when not a document */
  const char *user;
  GDateTime *printed_at;
  GDateTime *archive_as_of; /* may be NULL */
} HkStamp;

/* First header line: identity (or the list's title) and motto. */
char *hk_stamp_identity_text(const HkStamp *s);
/* Second header line: document title, version, SHA-256 prefix. */
char *hk_stamp_document_text(const HkStamp *s);
/* Footer line: who printed, when, archive freshness, page n of total. */
char *hk_stamp_footer_text(const HkStamp *s, int page, int n_pages);

/* The part of a page of width w and height h (points) between the stamp's
 * bands and side margins: where the page's own content goes. */
cairo_rectangle_t hk_stamp_content_area(double w, double h);

/* Draw the stamp's bands on a page of width w and height h (points). page
 * counts from 1. */
void hk_stamp_draw(cairo_t *cr, const HkStamp *s, double w, double h, int page, int n_pages);

G_END_DECLS

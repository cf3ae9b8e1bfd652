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

typedef struct {
  const char *patient_id;
  const char *patient_name; /* may be NULL */
  const char *birth_date;   /* may be NULL */
  const char *doc_title;    /* the document, or the cover page's title */
  const char *sha256;       /* the version's hash; may be NULL (cover page) */
  guint version;            /* 0 when not a document */
  const char *user;
  GDateTime *printed_at;
  GDateTime *archive_as_of; /* may be NULL */
} HkStamp;

/* First header line: identity and motto. */
char *hk_stamp_identity_text(const HkStamp *s);
/* Second header line: document title, version, SHA-256 prefix. */
char *hk_stamp_document_text(const HkStamp *s);
/* Footer line: who printed, when, archive freshness, page n of total. */
char *hk_stamp_footer_text(const HkStamp *s, int page, int n_pages);

/* Draw the stamp's bands on a page of width w and height h (points). page
 * counts from 1. */
void hk_stamp_draw(cairo_t *cr, const HkStamp *s, double w, double h, int page, int n_pages);

G_END_DECLS

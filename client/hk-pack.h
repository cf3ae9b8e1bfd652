/* hk-pack.h: a printable set of documents for one patient: one document,
 * or a transfer pack with a cover page.
 *
 * The same HkPack draws the pages for GtkPrintOperation and for
 * `hikae-viewer --export-pack` (a cairo PDF surface), so that what is
 * exported is exactly what is printed. Every page carries the stamp of
 * hk-stamp.h. The pack holds document bytes in memory only. */
#pragma once

#include "hk-api.h"
#include "hk-paper.h"

#include <cairo.h>

G_BEGIN_DECLS

#define HK_PACK_ERROR (hk_pack_error_quark())
GQuark hk_pack_error_quark(void);

typedef enum {
  HK_PACK_ERROR_CONTENT, /* a document's bytes cannot be rendered */
} HkPackError;

typedef struct _HkPack HkPack;

/* A pack for patient (copied) printed by user at printed_at. status (may be
 * NULL) gives the archive's freshness for the stamp and the cover page.
 * with_cover: a transfer pack starts with a cover page. */
HkPack *hk_pack_new(const HkPatientInfo *patient, const HkStatusInfo *status, const char *user,
                    GDateTime *printed_at, gboolean with_cover);
void hk_pack_free(HkPack *pack);

/* Add a document with its content. The content must hash to doc->sha256,
 * and its kind is sniffed from the bytes (PDF, JPEG, UTF-8 text); returns
 * FALSE with HK_PACK_ERROR_CONTENT if they do not match or are none of
 * those kinds. */
gboolean hk_pack_add(HkPack *pack, const HkDocInfo *doc, GBytes *content, GError **error);

guint hk_pack_get_n_documents(HkPack *pack);
/* The documents' IDs, NULL-terminated (g_strfreev). */
char **hk_pack_dup_doc_ids(HkPack *pack);

/* Lay out the pack on pages of width x height points; returns the number
 * of pages. Call again when the paper changes. */
int hk_pack_paginate(HkPack *pack, double width, double height);

/* Draw page (0-based) of the last pagination on cr, whose user space is in
 * points with the page's top left at 0,0. */
void hk_pack_draw_page(HkPack *pack, cairo_t *cr, int page);

/* The pack as HkPaper, for hk-print's GtkPrintOperation. The pack must
 * outlive it. */
HkPaper hk_pack_as_paper(HkPack *pack);

/* Paginate on A4 and write every page to a PDF file (hk_paper_write_pdf:
 * HK_PAPER_ERROR_IO on failure). */
gboolean hk_pack_write_pdf(HkPack *pack, const char *filename, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkPack, hk_pack_free)

G_END_DECLS

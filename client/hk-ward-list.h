/* hk-ward-list.h: the census as paper: a ward list of current inpatients.
 *
 * In a downtime the ward's whiteboard and the EHR's census screen are gone;
 * nurses and the ER work from a printed list. Each row gives ward, room,
 * bed, patient ID, name, kana and admission time, in ward, room and bed
 * order, under a column header repeated on every page. Every page carries
 * the stamp of hk-stamp.h in its list form: the list's title stands where a
 * single patient's identity would, since each row names its own patient.
 *
 * The same HkWardList draws the pages for GtkPrintOperation (hk-print) and
 * for a PDF file, so that what is exported is exactly what is printed. It
 * holds patient data in memory only. */
#pragma once

#include "hk-api.h"
#include "hk-paper.h"

#include <cairo.h>

G_BEGIN_DECLS

typedef struct _HkWardList HkWardList;

/* A list of inpatients (HkPatientInfo*, as GET /api/v1/census gives them;
 * copied, then sorted by ward, room and bed) of ward (NULL or "": every
 * ward), printed by user at printed_at (NULL: now). status (may be NULL)
 * gives the archive's freshness for the stamp. */
HkWardList *hk_ward_list_new(GPtrArray *inpatients, const char *ward, const HkStatusInfo *status,
                             const char *user, GDateTime *printed_at);
void hk_ward_list_free(HkWardList *list);

guint hk_ward_list_get_n_patients(HkWardList *list);
/* The listed patients' IDs in print order, NULL-terminated (g_strfreev):
 * what the print events must record. */
char **hk_ward_list_dup_patient_ids(HkWardList *list);
/* "Ward list: 5E" or "Ward list: all wards". */
const char *hk_ward_list_get_title(HkWardList *list);

/* Lay out the list on pages of width x height points; returns the number
 * of pages (1 for an empty list). Call again when the paper changes. */
int hk_ward_list_paginate(HkWardList *list, double width, double height);

/* Draw page (0-based) of the last pagination on cr, whose user space is in
 * points with the page's top left at 0,0. */
void hk_ward_list_draw_page(HkWardList *list, cairo_t *cr, int page);

/* The list as HkPaper, for hk-print's GtkPrintOperation. The list must
 * outlive it. */
HkPaper hk_ward_list_as_paper(HkWardList *list);

/* Paginate on A4 and write every page to a PDF file (hk_paper_write_pdf:
 * HK_PAPER_ERROR_IO on failure). */
gboolean hk_ward_list_write_pdf(HkWardList *list, const char *filename, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HkWardList, hk_ward_list_free)

G_END_DECLS

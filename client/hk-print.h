/* hk-print.h: from a choice of documents, or the census, to stamped paper.
 *
 * hk_print_load_pack_async() fetches what a pack needs (status, patient,
 * each document and its bytes) into an HkPack; hk_print_run_async() records
 * the print event with the server and only then runs GtkPrintOperation over
 * the pack. --export-pack uses the same loader and the same HkPack.
 * hk_print_load_ward_list_async() and hk_print_run_ward_list_async() do the
 * same for a ward list (HkWardList), through the same GtkPrintOperation. */
#pragma once

#include "hk-client.h"
#include "hk-pack.h"
#include "hk-ward-list.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

void hk_print_load_pack_async(HkClient *client, const char *patient_id, const char *const *doc_ids,
                              gboolean with_cover, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
HkPack *hk_print_load_pack_finish(HkClient *client, GAsyncResult *result, GError **error);

/* Record the print event (purpose "print" or "transfer_pack"), then print
 * pack through GtkPrintOperation. With export_to (a PDF path) the operation
 * runs GTK_PRINT_OPERATION_ACTION_EXPORT without a dialog, which the tests
 * use; otherwise the print dialog (with "Print to File") opens on parent. */
void hk_print_run_async(HkClient *client, HkPack *pack, const char *patient_id, const char *purpose,
                        GtkWindow *parent, const char *export_to, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data);
gboolean hk_print_run_finish(HkClient *client, GAsyncResult *result, GError **error);

/* Fetch the archive's status, then the census of ward (NULL or "": every
 * ward), into a ward list printed by the client's user now. Fails with
 * HK_CLIENT_ERROR_NOT_FOUND when there is no current inpatient, and with
 * the client's error when either call fails: a list is never built without
 * the freshness its stamp must give. */
void hk_print_load_ward_list_async(HkClient *client, const char *ward, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
HkWardList *hk_print_load_ward_list_finish(HkClient *client, GAsyncResult *result, GError **error);

/* Record one print event per listed patient (purpose "ward_list", no
 * documents), in turn; once every one is recorded, print list as
 * hk_print_run_async() prints a pack (export_to: to that PDF without a
 * dialog). If any event fails, nothing is printed and the error says so.
 * list is borrowed until finish. */
void hk_print_run_ward_list_async(HkClient *client, HkWardList *list, GtkWindow *parent,
                                  const char *export_to, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean hk_print_run_ward_list_finish(HkClient *client, GAsyncResult *result, GError **error);

G_END_DECLS

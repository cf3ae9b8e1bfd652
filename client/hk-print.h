/* hk-print.h: from a choice of documents to stamped paper.
 *
 * hk_print_load_pack_async() fetches what a pack needs (status, patient,
 * each document and its bytes) into an HkPack; hk_print_run_async() records
 * the print event with the server and only then runs GtkPrintOperation over
 * the pack. --export-pack uses the same loader and the same HkPack. */
#pragma once

#include "hk-client.h"
#include "hk-pack.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

void hk_print_load_pack_async(HkClient *client, const char *patient_id,
                              const char *const *doc_ids, gboolean with_cover,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
HkPack *hk_print_load_pack_finish(HkClient *client, GAsyncResult *result, GError **error);

/* Record the print event (purpose "print" or "transfer_pack"), then print
 * pack through GtkPrintOperation. With export_to (a PDF path) the operation
 * runs GTK_PRINT_OPERATION_ACTION_EXPORT without a dialog, which the tests
 * use; otherwise the print dialog (with "Print to File") opens on parent. */
void hk_print_run_async(HkClient *client, HkPack *pack, const char *patient_id,
                        const char *purpose, GtkWindow *parent, const char *export_to,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data);
gboolean hk_print_run_finish(HkClient *client, GAsyncResult *result, GError **error);

G_END_DECLS

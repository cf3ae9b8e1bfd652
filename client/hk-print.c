#include "hk-print.h"

#include "hk-client-config.h"

#include <glib/gi18n-lib.h>

/* ---- loading a pack ------------------------------------------------- */

typedef struct {
  char *patient_id;
  char **doc_ids;
  gboolean with_cover;
  guint next;
  HkStatusInfo *status;
  HkPatientInfo *patient;
  HkDocInfo *doc; /* the one being fetched */
  HkPack *pack;
} LoadJob;

static void
load_job_free(LoadJob *j)
{
  g_free(j->patient_id);
  g_strfreev(j->doc_ids);
  hk_status_info_free(j->status);
  hk_patient_info_free(j->patient);
  hk_doc_info_free(j->doc);
  hk_pack_free(j->pack);
  g_free(j);
}

static void load_next_doc(GTask *task);

static void
content_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  g_autoptr(GBytes) bytes = hk_client_content_finish(HK_CLIENT(source), result, NULL, &e);

  if (!bytes || !hk_pack_add(j->pack, j->doc, bytes, &e)) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  g_clear_pointer(&j->doc, hk_doc_info_free);
  load_next_doc(g_steal_pointer(&task));
out:
  return;
}

static void
doc_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  GCancellable *cancel;

  j->doc = hk_client_document_finish(HK_CLIENT(source), result, &e);
  if (!j->doc) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  if (g_strcmp0(j->doc->patient_id, j->patient_id) != 0 && j->doc->patient_id) {
    /* Never let another patient's page into this patient's pack. */
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_PROTOCOL,
                            _("Document %s belongs to patient %s, not %s."), j->doc->id,
                            j->doc->patient_id, j->patient_id);
    goto out;
  }
  cancel = g_task_get_cancellable(task);
  hk_client_content_async(HK_CLIENT(source), j->doc->id, 0, cancel, content_done,
                          g_steal_pointer(&task));
out:
  return;
}

static void
load_next_doc(GTask *task)
{
  LoadJob *j = g_task_get_task_data(task);
  HkClient *client = g_task_get_source_object(task);

  if (j->doc_ids[j->next]) {
    const char *id = j->doc_ids[j->next++];
    hk_client_document_async(client, id, g_task_get_cancellable(task), doc_done, task);
  } else {
    g_task_return_pointer(task, g_steal_pointer(&j->pack), (GDestroyNotify)hk_pack_free);
    g_object_unref(task);
  }
}

static void
patient_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local();

  j->patient = hk_client_patient_finish(HK_CLIENT(source), result, &e);
  if (!j->patient) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  j->pack = hk_pack_new(j->patient, j->status, hk_client_get_user(HK_CLIENT(source)), now,
                        j->with_cover);
  load_next_doc(g_steal_pointer(&task));
out:
  return;
}

static void
status_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  GCancellable *cancel;

  /* A pack without the freshness line would be printed without saying how
   * old it is: a status failure fails the pack. */
  j->status = hk_client_status_finish(HK_CLIENT(source), result, &e);
  if (!j->status) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  cancel = g_task_get_cancellable(task);
  hk_client_patient_async(HK_CLIENT(source), j->patient_id, cancel, patient_done,
                          g_steal_pointer(&task));
out:
  return;
}

void
hk_print_load_pack_async(HkClient *client, const char *patient_id, const char *const *doc_ids,
                         gboolean with_cover, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(client, cancellable, callback, user_data);
  LoadJob *j = g_new0(LoadJob, 1);

  j->patient_id = g_strdup(patient_id);
  j->doc_ids = g_strdupv((char **)doc_ids);
  j->with_cover = with_cover;
  g_task_set_source_tag(task, hk_print_load_pack_async);
  g_task_set_task_data(task, j, (GDestroyNotify)load_job_free);
  if (!j->doc_ids || !j->doc_ids[0]) {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_NOT_FOUND, "%s",
                            _("No documents selected."));
    g_object_unref(task);
    return;
  }
  hk_client_status_async(client, cancellable, status_done, task);
}

HkPack *
hk_print_load_pack_finish(HkClient *client, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- printing ------------------------------------------------------- */

typedef struct {
  HkPack *pack; /* borrowed: the caller keeps it alive until finish */
  GtkWindow *parent;
  char *export_to;
} RunJob;

static void
run_job_free(RunJob *j)
{
  g_clear_object(&j->parent);
  g_free(j->export_to);
  g_free(j);
}

static void
begin_print(GtkPrintOperation *op, GtkPrintContext *ctx, gpointer user_data)
{
  HkPack *pack = user_data;
  int n = hk_pack_paginate(pack, gtk_print_context_get_width(ctx),
                           gtk_print_context_get_height(ctx));

  gtk_print_operation_set_n_pages(op, MAX(n, 1));
}

static void
draw_page(GtkPrintOperation *op, GtkPrintContext *ctx, int page, gpointer user_data)
{
  hk_pack_draw_page(user_data, gtk_print_context_get_cairo_context(ctx), page);
}

static void
event_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  RunJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  g_autoptr(GtkPrintOperation) op = NULL;
  g_autoptr(GtkPageSetup) setup = NULL;
  g_autoptr(GtkPaperSize) a4 = NULL;
  GtkPrintOperationResult res;

  if (!hk_client_print_event_finish(HK_CLIENT(source), result, &e)) {
    /* Unaudited paper must not exist: no event, no print. */
    g_prefix_error(&e, "%s ", _("The print could not be recorded, so nothing was printed."));
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  op = gtk_print_operation_new();
  setup = gtk_page_setup_new();
  a4 = gtk_paper_size_new(GTK_PAPER_NAME_A4);
  gtk_page_setup_set_paper_size_and_default_margins(setup, a4);
  gtk_print_operation_set_default_page_setup(op, setup);
  /* Full page in points: the stamp sets its own margins, identical to the
   * exported PDF. */
  gtk_print_operation_set_use_full_page(op, TRUE);
  gtk_print_operation_set_unit(op, GTK_UNIT_POINTS);
  gtk_print_operation_set_job_name(op, "hikae downtime copy");
  gtk_print_operation_set_embed_page_setup(op, TRUE);
  g_signal_connect(op, "begin-print", G_CALLBACK(begin_print), j->pack);
  g_signal_connect(op, "draw-page", G_CALLBACK(draw_page), j->pack);
  if (j->export_to)
    gtk_print_operation_set_export_filename(op, j->export_to);
  res = gtk_print_operation_run(op,
                                j->export_to ? GTK_PRINT_OPERATION_ACTION_EXPORT
                                             : GTK_PRINT_OPERATION_ACTION_PRINT_DIALOG,
                                j->parent, &e);
  if (res == GTK_PRINT_OPERATION_RESULT_ERROR) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  g_task_return_boolean(task, TRUE);
out:
  return;
}

void
hk_print_run_async(HkClient *client, HkPack *pack, const char *patient_id, const char *purpose,
                   GtkWindow *parent, const char *export_to, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(client, cancellable, callback, user_data);
  RunJob *j = g_new0(RunJob, 1);
  g_auto(GStrv) ids = hk_pack_dup_doc_ids(pack);

  j->pack = pack;
  j->parent = parent ? g_object_ref(parent) : NULL;
  j->export_to = g_strdup(export_to);
  g_task_set_source_tag(task, hk_print_run_async);
  g_task_set_task_data(task, j, (GDestroyNotify)run_job_free);
  hk_client_print_event_async(client, patient_id, (const char *const *)ids, purpose, cancellable,
                              event_done, task);
}

gboolean
hk_print_run_finish(HkClient *client, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean(G_TASK(result), error);
}

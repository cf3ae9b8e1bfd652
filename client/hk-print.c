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
  /* The version the record describes, not "the current one", which may
   * have changed since: the stamp shows this record's SHA-256. */
  hk_client_content_async(HK_CLIENT(source), j->doc->id, j->doc->version, cancel, content_done,
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
  j->pack =
      hk_pack_new(j->patient, j->status, hk_client_get_user(HK_CLIENT(source)), now, j->with_cover);
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

/* ---- loading a ward list ------------------------------------------- */

typedef struct {
  char *ward;
  HkStatusInfo *status;
} WardJob;

static void
ward_job_free(WardJob *j)
{
  g_free(j->ward);
  hk_status_info_free(j->status);
  g_free(j);
}

static void
census_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  WardJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  g_autoptr(GPtrArray) rows = hk_client_census_finish(HK_CLIENT(source), result, &e);
  g_autoptr(GDateTime) now = g_date_time_new_now_local();

  if (!rows) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  if (rows->len == 0) {
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_NOT_FOUND, "%s",
                            _("No current inpatients to print."));
    goto out;
  }
  g_task_return_pointer(
      task, hk_ward_list_new(rows, j->ward, j->status, hk_client_get_user(HK_CLIENT(source)), now),
      (GDestroyNotify)hk_ward_list_free);
out:
  return;
}

static void
ward_status_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  WardJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;
  GCancellable *cancel;

  /* As for a pack: a list without its freshness would not say how old it
   * is. The status comes first, so the list is at least as current as the
   * time its stamp gives. */
  j->status = hk_client_status_finish(HK_CLIENT(source), result, &e);
  if (!j->status) {
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  /* Taken before the call: its arguments are evaluated in no set order, and
   * one of them steals the task. */
  cancel = g_task_get_cancellable(task);
  hk_client_census_async(HK_CLIENT(source), j->ward, cancel, census_done, g_steal_pointer(&task));
out:
  return;
}

void
hk_print_load_ward_list_async(HkClient *client, const char *ward, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(client, cancellable, callback, user_data);
  WardJob *j = g_new0(WardJob, 1);

  j->ward = ward && *ward ? g_strdup(ward) : NULL;
  g_task_set_source_tag(task, hk_print_load_ward_list_async);
  g_task_set_task_data(task, j, (GDestroyNotify)ward_job_free);
  hk_client_status_async(client, cancellable, ward_status_done, task);
}

HkWardList *
hk_print_load_ward_list_finish(HkClient *client, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- printing ------------------------------------------------------- */

typedef struct {
  HkPaper paper;      /* borrowed: the caller keeps the pack or list alive until finish */
  char **patient_ids; /* one print event each */
  char **doc_ids;
  char *purpose;
  guint next;
  GtkWindow *parent;
  char *export_to;
  GCancellable *cancel; /* may be NULL */
} RunJob;

static void
run_job_free(RunJob *j)
{
  g_strfreev(j->patient_ids);
  g_strfreev(j->doc_ids);
  g_free(j->purpose);
  g_clear_object(&j->parent);
  g_free(j->export_to);
  g_clear_object(&j->cancel);
  g_free(j);
}

/* The print dialog runs a nested main loop, in which the window may lock
 * (idle time) or log out. Once the job is cancelled, nothing more is drawn
 * from the paper, and the operation ends. */
static gboolean
stopped(GtkPrintOperation *op, const RunJob *j)
{
  gboolean c = j->cancel && g_cancellable_is_cancelled(j->cancel);

  if (c)
    gtk_print_operation_cancel(op);
  return c;
}

static void
begin_print(GtkPrintOperation *op, GtkPrintContext *ctx, gpointer user_data)
{
  const RunJob *j = user_data;
  int n = 1;

  if (!stopped(op, j))
    n = j->paper.paginate(j->paper.self, gtk_print_context_get_width(ctx),
                          gtk_print_context_get_height(ctx));
  gtk_print_operation_set_n_pages(op, MAX(n, 1));
}

static void
draw_page(GtkPrintOperation *op, GtkPrintContext *ctx, int page, gpointer user_data)
{
  const RunJob *j = user_data;

  if (!stopped(op, j))
    j->paper.draw_page(j->paper.self, gtk_print_context_get_cairo_context(ctx), page);
}

static gboolean
run_operation(RunJob *j, GError **error)
{
  g_autoptr(GtkPrintOperation) op = gtk_print_operation_new();
  g_autoptr(GtkPageSetup) setup = gtk_page_setup_new();
  g_autoptr(GtkPaperSize) a4 = gtk_paper_size_new(GTK_PAPER_NAME_A4);
  GtkPrintOperationResult res;

  gtk_page_setup_set_paper_size_and_default_margins(setup, a4);
  gtk_print_operation_set_default_page_setup(op, setup);
  /* Full page in points: the stamp sets its own margins, identical to the
   * exported PDF. */
  gtk_print_operation_set_use_full_page(op, TRUE);
  gtk_print_operation_set_unit(op, GTK_UNIT_POINTS);
  gtk_print_operation_set_job_name(op, "hikae downtime copy");
  gtk_print_operation_set_embed_page_setup(op, TRUE);
  g_signal_connect(op, "begin-print", G_CALLBACK(begin_print), j);
  g_signal_connect(op, "draw-page", G_CALLBACK(draw_page), j);
  if (j->export_to)
    gtk_print_operation_set_export_filename(op, j->export_to);
  res = gtk_print_operation_run(op,
                                j->export_to ? GTK_PRINT_OPERATION_ACTION_EXPORT
                                             : GTK_PRINT_OPERATION_ACTION_PRINT_DIALOG,
                                j->parent, error);
  return res != GTK_PRINT_OPERATION_RESULT_ERROR;
}

static void record_next(GTask *task);

static void
event_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) e = NULL;

  if (!hk_client_print_event_finish(HK_CLIENT(source), result, &e)) {
    /* Unaudited paper must not exist: no event, no print. */
    g_prefix_error(&e, "%s ", _("The print could not be recorded, so nothing was printed."));
    g_task_return_error(task, g_steal_pointer(&e));
    goto out;
  }
  record_next(g_steal_pointer(&task));
out:
  return;
}

/* Record one event per patient on the paper, in turn, and print only once
 * every one is recorded. */
static void
record_next(GTask *task)
{
  RunJob *j = g_task_get_task_data(task);
  g_autoptr(GError) e = NULL;

  if (j->patient_ids[j->next]) {
    const char *id = j->patient_ids[j->next++];
    hk_client_print_event_async(g_task_get_source_object(task), id, (const char *const *)j->doc_ids,
                                j->purpose, g_task_get_cancellable(task), event_done, task);
  } else {
    if (run_operation(j, &e))
      g_task_return_boolean(task, TRUE);
    else
      g_task_return_error(task, g_steal_pointer(&e));
    g_object_unref(task);
  }
}

static void
run_async(HkClient *client, const HkPaper *paper, char **patient_ids, char **doc_ids,
          const char *purpose, GtkWindow *parent, const char *export_to, GCancellable *cancellable,
          GAsyncReadyCallback callback, gpointer user_data, gpointer source_tag)
{
  GTask *task = g_task_new(client, cancellable, callback, user_data);
  RunJob *j = g_new0(RunJob, 1);

  j->paper = *paper;
  j->patient_ids = patient_ids;
  j->doc_ids = doc_ids;
  j->purpose = g_strdup(purpose);
  j->parent = parent ? g_object_ref(parent) : NULL;
  j->export_to = g_strdup(export_to);
  j->cancel = cancellable ? g_object_ref(cancellable) : NULL;
  g_task_set_source_tag(task, source_tag);
  g_task_set_task_data(task, j, (GDestroyNotify)run_job_free);
  if (patient_ids && patient_ids[0]) {
    record_next(task);
  } else {
    /* No patient, no event: and then no print. */
    g_task_return_new_error(task, HK_CLIENT_ERROR, HK_CLIENT_ERROR_NOT_FOUND, "%s",
                            _("Nothing to print."));
    g_object_unref(task);
  }
}

void
hk_print_run_async(HkClient *client, HkPack *pack, const char *patient_id, const char *purpose,
                   GtkWindow *parent, const char *export_to, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  HkPaper paper = hk_pack_as_paper(pack);
  char **ids = g_new0(char *, 2);

  ids[0] = g_strdup(patient_id);
  run_async(client, &paper, ids, hk_pack_dup_doc_ids(pack), purpose, parent, export_to, cancellable,
            callback, user_data, hk_print_run_async);
}

gboolean
hk_print_run_finish(HkClient *client, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean(G_TASK(result), error);
}

void
hk_print_run_ward_list_async(HkClient *client, HkWardList *list, GtkWindow *parent,
                             const char *export_to, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  HkPaper paper = hk_ward_list_as_paper(list);

  /* One event per listed patient, with no documents: the audit then says,
   * patient by patient, whose name and bed left on paper. */
  run_async(client, &paper, hk_ward_list_dup_patient_ids(list), g_new0(char *, 1), "ward_list",
            parent, export_to, cancellable, callback, user_data, hk_print_run_ward_list_async);
}

gboolean
hk_print_run_ward_list_finish(HkClient *client, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean(G_TASK(result), error);
}

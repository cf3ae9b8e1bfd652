#include "hk-export.h"

#include "hk-client-config.h"
#include "hk-client.h"
#include "hk-print.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  GMainLoop *loop;
  GAsyncResult *result;
} Waiter;

static void
waiter_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *w = user_data;

  w->result = g_object_ref(result);
  g_main_loop_quit(w->loop);
}

/* Block on one async call: the export has no UI to keep alive, and the
 * async API is the one the viewer uses, so the code paths stay the same. */
static GAsyncResult *
wait_result(Waiter *w)
{
  g_main_loop_run(w->loop);
  return w->result;
}

char *
hk_export_read_password(const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  char *res = NULL;
  char *nl;

  if (!g_file_get_contents(path, &data, &len, error))
    goto out;
  nl = strpbrk(data, "\r\n");
  if (nl)
    *nl = '\0';
  res = g_strdup(data);
  explicit_bzero(data, len);
out:
  return res;
}

gboolean
hk_export_pack(const HkExportOptions *o, int *n_pages, GError **error)
{
  g_autoptr(GMainContext) ctx = g_main_context_new();
  g_autoptr(GMainLoop) loop = g_main_loop_new(ctx, FALSE);
  g_autoptr(HkClient) client = NULL;
  g_autoptr(HkPack) pack = NULL;
  g_autofree char *password = NULL;
  g_autofree char *tmp = NULL;
  Waiter w = {loop, NULL};
  gboolean ok = FALSE;
  int n = 0;

  g_main_context_push_thread_default(ctx);
  password = hk_export_read_password(o->password_file, error);
  if (!password)
    goto out;
  client = hk_client_new(o->server, o->ca_file, error);
  if (!client)
    goto out;
  hk_client_login_async(client, o->user, password, o->otp, NULL, waiter_done, &w);
  explicit_bzero(password, strlen(password));
  if (!hk_client_login_finish(client, wait_result(&w), error))
    goto out;
  g_clear_object(&w.result);

  hk_print_load_pack_async(client, o->patient_id, (const char *const *)o->doc_ids, TRUE, NULL,
                           waiter_done, &w);
  pack = hk_print_load_pack_finish(client, wait_result(&w), error);
  g_clear_object(&w.result);
  if (!pack)
    goto out;

  {
    g_auto(GStrv) ids = hk_pack_dup_doc_ids(pack);
    hk_client_print_event_async(client, o->patient_id, (const char *const *)ids, "export_pack",
                                NULL, waiter_done, &w);
    if (!hk_client_print_event_finish(client, wait_result(&w), error)) {
      g_clear_object(&w.result);
      goto out;
    }
    g_clear_object(&w.result);
  }

  /* Write beside the target and rename, so that a failure leaves no half
   * PDF that someone might print. */
  tmp = g_strdup_printf("%s.part", o->out);
  if (!hk_pack_write_pdf(pack, tmp, error)) {
    g_unlink(tmp);
    goto out;
  }
  if (g_rename(tmp, o->out) != 0) {
    int e = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), _("Cannot write %s: %s"), o->out,
                g_strerror(e));
    g_unlink(tmp);
    goto out;
  }
  n = hk_pack_paginate(pack, HK_PAPER_A4_WIDTH, HK_PAPER_A4_HEIGHT);
  ok = TRUE;
out:
  if (client && hk_client_is_logged_in(client)) {
    hk_client_logout(client);
    /* Let the DELETE reach the server before the process exits. */
    for (int i = 0; i < 50 && g_main_context_iteration(ctx, FALSE); i++)
      ;
  }
  g_clear_object(&w.result);
  g_main_context_pop_thread_default(ctx);
  if (n_pages)
    *n_pages = n;
  return ok;
}

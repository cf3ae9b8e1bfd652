/* hk-export.h: `hikae-viewer --export-pack`: the transfer pack that the
 * viewer prints, rendered to a PDF file without a window, through the same
 * loader (hk-print) and renderer (hk-pack). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *server;
  const char *ca_file;
  const char *user;
  const char *password_file;
  const char *otp; /* may be NULL */
  const char *patient_id;
  char **doc_ids;  /* NULL-terminated */
  const char *out; /* the PDF to write */
} HkExportOptions;

/* Log in, load the pack, record the print event, write the PDF, log out.
 * Runs its own main loop. Returns FALSE and sets error on any failure; no
 * partial PDF is left behind. *n_pages (may be NULL) gets the page count. */
gboolean hk_export_pack(const HkExportOptions *opts, int *n_pages, GError **error);

/* The first line of a password file, without its line end. */
char *hk_export_read_password(const char *path, GError **error);

G_END_DECLS

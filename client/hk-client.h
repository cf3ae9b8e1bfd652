/* hk-client.h: the viewer's one connection to the archive server.
 *
 * HkClient speaks the HTTP API of interfaces.md over HTTPS with libsoup. It
 * trusts only the CA given to hk_client_new() (never the system store), owns
 * the session token, and keeps everything in memory: no cookie jar, no HTTP
 * cache, nothing written to disk. Every method is an _async/_finish pair run
 * on the caller's main context, so the UI never blocks. */
#pragma once

#include "hk-api.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define HK_CLIENT_ERROR (hk_client_error_quark())
GQuark hk_client_error_quark(void);

typedef enum {
  HK_CLIENT_ERROR_CERTIFICATE,   /* the server's certificate is not from the archive CA */
  HK_CLIENT_ERROR_NETWORK,       /* cannot reach the server */
  HK_CLIENT_ERROR_CREDENTIALS,   /* wrong user, password or one-time code */
  HK_CLIENT_ERROR_LOCKED,        /* too many failures: see hk_client_get_retry_after() */
  HK_CLIENT_ERROR_EXPIRED,       /* the session expired or was ended; log in again */
  HK_CLIENT_ERROR_FORBIDDEN,     /* the role may not do this */
  HK_CLIENT_ERROR_NOT_FOUND,     /* no such patient or document */
  HK_CLIENT_ERROR_SERVER,        /* the server failed (5xx or unexpected status) */
  HK_CLIENT_ERROR_PROTOCOL,      /* the answer does not follow the contract */
  HK_CLIENT_ERROR_NOT_LOGGED_IN, /* a call that needs a session, without one */
} HkClientError;

#define HK_TYPE_CLIENT (hk_client_get_type())
G_DECLARE_FINAL_TYPE(HkClient, hk_client, HK, CLIENT, GObject)

/* A client for base_url ("https://127.0.0.1:8443"); ca_file is the PEM of
 * the archive CA. Returns NULL and sets error if the URL is not https or the
 * CA file does not load. */
HkClient *hk_client_new(const char *base_url, const char *ca_file, GError **error);

const char *hk_client_get_base_url(HkClient *self);
/* The logged-in user name, or NULL. */
const char *hk_client_get_user(HkClient *self);
const char *hk_client_get_role(HkClient *self);
/* The role that may search the documents of all patients (docs/api.md). */
#define HK_ROLE_TEXT_SEARCH "clinician_search"
gboolean hk_client_is_logged_in(HkClient *self);
/* Seconds to wait after HK_CLIENT_ERROR_LOCKED (-1 if the server gave none). */
gint64 hk_client_get_retry_after(HkClient *self);
/* The session's expiry as the server gave it, or NULL. */
GDateTime *hk_client_get_expires_at(HkClient *self);

/* The "session-expired" signal is emitted when any call is answered 401
 * after login: the window drops to the login screen. */

void hk_client_login_async(HkClient *self, const char *user, const char *password, const char *otp,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean hk_client_login_finish(HkClient *self, GAsyncResult *result, GError **error);

/* End the session on the server (best effort) and wipe the token now. */
void hk_client_logout(HkClient *self);

void hk_client_status_async(HkClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
HkStatusInfo *hk_client_status_finish(HkClient *self, GAsyncResult *result, GError **error);

/* Patients matching q: GPtrArray of HkPatientInfo*. */
void hk_client_search_async(HkClient *self, const char *q, guint limit, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *hk_client_search_finish(HkClient *self, GAsyncResult *result, GError **error);

/* GET /api/v1/search: documents of every patient whose text contains q
 * (role clinician_search only; others get HK_CLIENT_ERROR_FORBIDDEN). */
void hk_client_text_search_async(HkClient *self, const char *q, guint limit,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
HkTextSearch *hk_client_text_search_finish(HkClient *self, GAsyncResult *result, GError **error);

void hk_client_patient_async(HkClient *self, const char *id, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
HkPatientInfo *hk_client_patient_finish(HkClient *self, GAsyncResult *result, GError **error);

/* Every document of a patient, newest first, following next_cursor up to
 * max_docs. type, from and to may be NULL (from/to: "YYYY-MM-DD"); q, if
 * not NULL or empty, keeps only the documents whose text contains it, each
 * with its matches (docs/api.md). GPtrArray of HkDocInfo*. *more (if not
 * NULL) is set when the list stopped at max_docs while older documents
 * exist: the caller must say so, or a patient's older documents would look
 * absent. *unsearched (if not NULL) gets how many documents the server
 * could not search yet: a search is complete only when it is 0. */
void hk_client_documents_async(HkClient *self, const char *patient_id, const char *type,
                               const char *from, const char *to, const char *q, guint max_docs,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);
GPtrArray *hk_client_documents_finish(HkClient *self, GAsyncResult *result, gboolean *more,
                                      gint64 *unsearched, GError **error);

void hk_client_document_async(HkClient *self, const char *doc_id, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
/* The same, read under the patient whose timeline showed it (NULL: its
 * current patient), so that a moved document says where it went and the
 * audit names that patient. Finish with hk_client_document_finish. */
void hk_client_document_under_async(HkClient *self, const char *doc_id, const char *patient_id,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
HkDocInfo *hk_client_document_finish(HkClient *self, GAsyncResult *result, GError **error);

/* The bytes of a document version (version 0 = current). *content_type (may
 * be NULL) gets the answer's Content-Type. The bytes stay in memory only. */
void hk_client_content_async(HkClient *self, const char *doc_id, guint version,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
GBytes *hk_client_content_finish(HkClient *self, GAsyncResult *result, char **content_type,
                                 GError **error);

/* GET /documents/{id}/thumbnail: JPEG bytes, or NULL with NOT_FOUND. */
/* GET /api/v1/documents/{id}/highlights: where the words q are on page
 * (from 1) of version (0: current) of a scan, as HkHighlightBox (hk-api.h),
 * an empty array if the page has no OCR boxes. */
void hk_client_highlights_async(HkClient *self, const char *doc_id, guint version, guint page,
                                const char *q, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
GArray *hk_client_highlights_finish(HkClient *self, GAsyncResult *result, GError **error);
void hk_client_thumbnail_async(HkClient *self, const char *doc_id, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
GBytes *hk_client_thumbnail_finish(HkClient *self, GAsyncResult *result, GError **error);

/* Current inpatients (ward may be NULL for all): GPtrArray of HkPatientInfo*. */
void hk_client_census_async(HkClient *self, const char *ward, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *hk_client_census_finish(HkClient *self, GAsyncResult *result, GError **error);

/* Record a print with the server's audit log; the viewer prints only after
 * this succeeds. doc_ids is NULL-terminated. */
void hk_client_print_event_async(HkClient *self, const char *patient_id, const char *const *doc_ids,
                                 const char *purpose, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean hk_client_print_event_finish(HkClient *self, GAsyncResult *result, GError **error);

G_END_DECLS

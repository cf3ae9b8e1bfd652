/* hk-audit.h: the append-only, hash-chained audit log of hikae-server.
 *
 * STATE/audit.log holds one JSON object per line:
 *   {"seq":N,"time":"RFC 3339","prev":"<hash of record N-1>",<fields>,"hash":"<hex>"}
 * where hash is the SHA-256 of the line's bytes from '{' up to (not including)
 * ',"hash":' and prev of record 1 is 64 zeros. Changing a byte breaks that
 * record's hash; removing or reordering records breaks seq and prev. Removing
 * records from the end is caught by STATE/audit.head, rewritten in place after
 * every append with the newest "seq hash": the log may run ahead of it (a
 * crash between the two writes) but never behind it. docs/audit.md maps the
 * fields onto IHE ATNA / FHIR AuditEvent.
 *
 * hk_audit_append is durable (fdatasync) when it returns 0. The server uses
 * the two halves instead: hk_audit_append_nowait has write(2) the whole record
 * (it is in the kernel: a crash of the process cannot lose it), and
 * hk_audit_sync makes it durable against power loss, either before each
 * answer or every interval (hikae-server --audit-sync, docs/audit.md). Syncs
 * from several threads share one fdatasync (group commit). After a failed
 * fdatasync every later append fails (the kernel may have dropped the dirty
 * pages and cleared the error, so nothing more is served). Appends from
 * several processes (server, hikae-admin) are serialized with flock(2). */
#pragma once

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct hk_audit HkAudit;

typedef struct {
  int64_t time;        /* usec since the epoch; 0 means now */
  const char *user;    /* the authenticated user, or the name a login tried */
  const char *client;  /* peer address "IP" */
  const char *action;  /* "login", "logout", "patient.search", "patient.read", ... */
  const char *patient; /* patient ID or NULL */
  const char *document; /* document ID or NULL */
  uint32_t version;    /* document version or 0 */
  const char *outcome; /* "success", "failure", "denied", "not_found", "locked", "error" */
  int status;          /* HTTP status answered, or 0 */
  const char *query;   /* search text or filter, or NULL */
  const char *detail;  /* free text: print purpose, document list, reason, or NULL */
} HkAuditEvent;

typedef struct {
  uint64_t records;   /* records that verified */
  uint64_t bad_line;  /* 1-based line of the first problem, 0 if none */
  char *reason;       /* what is wrong (g_free), NULL if none */
} HkAuditReport;

/* Open (creating, mode 0600) the log of state_dir for appending. A torn last
 * line (a crash during a write, never acknowledged) is cut off.
 * \return 0; -HK_EPERM; -HK_EIO; -HK_ECORRUPT if the last record does not
 * parse (the log must be verified and repaired by a person). */
int hk_audit_open(const char *state_dir, HkAudit **out);
void hk_audit_close(HkAudit *a);

/* Append one record and make it durable. *seq (may be NULL) gets its number.
 * \return 0; -HK_EIO (nothing is served then: the caller answers 503);
 * -HK_ECORRUPT; -HK_EINVAL (no action). */
int hk_audit_append(HkAudit *a, const HkAuditEvent *e, uint64_t *seq);

/* The two halves of hk_audit_append, for callers that wait for the disk
 * elsewhere (the server's sync thread): write the record (in the kernel, not
 * yet durable) and get in *end the offset to sync up to; then
 * hk_audit_sync(end), which covers every record written before it, or
 * hk_audit_sync(-1): everything written so far (no fdatasync if nothing is
 * new). \return 0; -HK_EIO (also for every append after a failed sync);
 * -HK_ETOOBIG (file size limit); -HK_ESPACE; -HK_ECORRUPT; -HK_EINVAL. */
int hk_audit_append_nowait(HkAudit *a, const HkAuditEvent *e, uint64_t *seq, int64_t *end);
int hk_audit_sync(HkAudit *a, int64_t end);

/* Verify the log of state_dir from its first record and against the head.
 * \return 0 (report->records counted); -HK_ECORRUPT (report->bad_line and
 * ->reason say where and what); -HK_ENOTFOUND (no log); -HK_EIO. */
int hk_audit_verify(const char *state_dir, HkAuditReport *report);
void hk_audit_report_clear(HkAuditReport *r);

/* Called for each record in order; o is the parsed record (borrowed). A
 * non-zero return stops the walk and is returned. */
typedef int (*HkAuditFunc)(JsonObject *o, const char *line, void *data);
/* Walk the records of state_dir's log (without verifying the chain).
 * \return 0; what fn returned; -HK_ENOTFOUND; -HK_EIO; -HK_ECORRUPT for a
 * line that does not parse. */
int hk_audit_foreach(const char *state_dir, HkAuditFunc fn, void *data);

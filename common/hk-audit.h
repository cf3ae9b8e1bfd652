/* hk-audit.h: the append-only, hash-chained audit log of hikae-server.
 *
 * STATE/audit.log holds one JSON object per line:
 *   {"seq":N,"time":"RFC 3339","prev":"<hash of record N-1>",<fields>,"hash":"<hex>"}
 * where hash is the SHA-256 of the line's bytes from '{' up to (not including)
 * ',"hash":' and prev of record 1 is 64 zeros. Changing a byte breaks that
 * record's hash; removing or reordering records breaks seq and prev.
 *
 * Removing records from the end is caught by two anchors kept off the log:
 * STATE/audit.head ("seq hash end-offset" of the newest durable record,
 * replaced atomically after every sync: temp file, fdatasync, rename) and
 * checkpoints sent to the system journal (hk_audit_set_checkpoints). The log
 * may run ahead of an anchor (a crash after a write) but never behind it. A
 * process that opens a log shorter than its anchor, or one that shrank while
 * open, first appends an "audit.truncated" record naming the gap, so the
 * chain it continues can never verify again. docs/audit.md maps the fields
 * onto IHE ATNA / FHIR AuditEvent.
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
  /* One event split over several records (a print of many documents):
   * the same id on every part, part 1..parts. parts == 0: not split. */
  const char *print_id;
  unsigned part, parts;
} HkAuditEvent;

/* The action of the record that marks a cut log: verify always fails on it. */
#define HK_AUDIT_TRUNCATED "audit.truncated"

/* A checkpoint: the sequence number and hash of one record (as the journal
 * holds them, "SEQ:HASH"). */
typedef struct {
  uint64_t seq;
  char hash[64 + 1];
} HkAuditCheckpoint;

typedef struct {
  uint64_t records;   /* records that verified */
  uint64_t bad_line;  /* 1-based line of the first problem, 0 if none */
  char *reason;       /* what is wrong (g_free), NULL if none */
  uint64_t missing;   /* records cut from the end, when that is the problem */
} HkAuditReport;

/* Open (creating, mode 0600) the log of state_dir for appending. A torn last
 * line (a crash during a write, never acknowledged) is cut off. A log that
 * does not reach its anchor (audit.head) gets an "audit.truncated" record
 * naming the gap (written and synced here).
 * \return 0; -HK_EPERM; -HK_EIO; -HK_ECORRUPT if the last record does not
 * parse (the log must be verified and repaired by a person). */
int hk_audit_open(const char *state_dir, HkAudit **out);
/* Send a checkpoint (seq and hash of the newest durable record) to the
 * system journal now, then at most every interval_s seconds after a sync
 * that moved the log on, and on close. Also logged on stderr. */
void hk_audit_set_checkpoints(HkAudit *a, int interval_s);
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
/* hk_audit_sync in two steps, so that answers waiting for their records can
 * leave before the anchor is written: hk_audit_flush makes the log durable
 * up to end (same returns as hk_audit_sync); hk_audit_anchor then replaces
 * the anchor with the newest durable record (and sends a checkpoint when
 * one is due). */
int hk_audit_flush(HkAudit *a, int64_t end);
void hk_audit_anchor(HkAudit *a);
/* Write the n records of e[] with one write(2): all of them or none, one
 * after the other in the chain. *seq (may be NULL) gets the last one's. */
int hk_audit_append_many_nowait(HkAudit *a, const HkAuditEvent *e, size_t n, uint64_t *seq,
                                int64_t *end);

/* Verify the log of state_dir from its first record, against its anchor
 * (audit.head) and against the nexpect checkpoints of expect (from the
 * journal; may be NULL). A log that ends before an anchor or a checkpoint,
 * or holds an "audit.truncated" record, is cut: report->missing says by how
 * many records when that is known.
 * \return 0 (report->records counted); -HK_ECORRUPT (report->bad_line and
 * ->reason say where and what); -HK_ENOTFOUND (no log); -HK_EIO. */
int hk_audit_verify(const char *state_dir, const HkAuditCheckpoint *expect, size_t nexpect,
                    HkAuditReport *report);
void hk_audit_report_clear(HkAuditReport *r);
/* Parse "SEQ:HASH" (64 lower-case hex digits). \return 0 or -HK_EINVAL. */
int hk_audit_checkpoint_parse(const char *text, HkAuditCheckpoint *out);

/* Called for each record in order; o is the parsed record (borrowed). A
 * non-zero return stops the walk and is returned. */
typedef int (*HkAuditFunc)(JsonObject *o, const char *line, void *data);
/* Walk the records of state_dir's log (without verifying the chain).
 * \return 0; what fn returned; -HK_ENOTFOUND; -HK_EIO; -HK_ECORRUPT for a
 * line that does not parse. */
int hk_audit_foreach(const char *state_dir, HkAuditFunc fn, void *data);

/* One bounded page of the log, for GET /api/v1/audit. */
typedef struct {
  int64_t from, to;           /* usec; INT64_MIN / INT64_MAX: no bound */
  const char *user, *patient; /* exact match, or NULL */
  unsigned limit;             /* records handed to fn at most */
  unsigned scan_max;          /* records read at most (matching or not) */
} HkAuditPage;

/* Read the log of state_dir from byte offset cursor (the start of a record:
 * 0, or a next_cursor from before; -1: the first record at or after
 * q->from, found by bisection over the time-ordered log, or the start), and
 * hand each record that matches q to fn, until q->limit matched, q->scan_max
 * were read, or the log ends (as it was when the call began). *next gets
 * the offset to continue from, or -1 when the log was read to its end.
 * \return 0; what fn returned; -HK_EINVAL (cursor is not the start of a
 * record of this log); -HK_ENOTFOUND (no log); -HK_EIO; -HK_ECORRUPT. */
int hk_audit_page(const char *state_dir, const HkAuditPage *q, int64_t cursor, HkAuditFunc fn,
                  void *data, int64_t *next);

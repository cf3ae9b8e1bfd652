/* libFuzzer target: the audit-log verifier (hikae-admin audit verify) over
 * corrupted logs.
 *
 * At start a real log of HK_FUZZ_RECORDS records and its anchor are written
 * with the server's own writer. Each input is then read as edits of that
 * log (3 bytes each: position, position, value; the value's low bits choose
 * set, delete or insert), and the verifier must reject every log that is no
 * longer byte for byte the original: an edit it accepts is a forgery that
 * would pass an audit. An input that starts with '{' is written as a log of
 * its own, with no anchor, and must only not crash the verifier. */
#include "hk-audit.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HK_FUZZ_RECORDS 12

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *hk_dir;         /* the state folder each input is verified in */
static char *hk_log_path;    /* hk_dir/audit.log */
static char *hk_head_path;   /* hk_dir/audit.head */
static GBytes *hk_good_log;  /* the log as the writer left it */
static GBytes *hk_good_head; /* its anchor */

/* The state folder goes at exit (libFuzzer returns from main after its
 * runs; an input that crashes leaves it, with what it wrote). */
static void
hk_fuzz_cleanup(void)
{
  g_unlink(hk_log_path);
  g_unlink(hk_head_path);
  g_rmdir(hk_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  HkAudit *a = NULL;
  char *log = NULL, *head = NULL;
  gsize log_len = 0, head_len = 0;

  (void)argc;
  (void)argv;
  /* In memory where there is /dev/shm: on ext4 a file truncated and
   * written again is flushed at close (auto_da_alloc), and the target
   * waited on the disk. */
  hk_dir = g_strdup("/dev/shm/hk-fuzz-audit-XXXXXX");
  if (!g_mkdtemp(hk_dir)) {
    g_free(hk_dir);
    hk_dir = g_dir_make_tmp("hk-fuzz-audit-XXXXXX", NULL);
  }
  if (!hk_dir || hk_audit_open(hk_dir, &a) != 0)
    abort();
  for (unsigned i = 0; i < HK_FUZZ_RECORDS; i++) {
    char pid[16];
    g_snprintf(pid, sizeof pid, "%010u", 1000 + i);
    HkAuditEvent e = { .user = i % 3 ? "yamada" : "鈴木", .client = "127.0.0.1",
                       .action = i % 4 ? "patient.read" : "login", .patient = pid,
                       .outcome = i % 5 ? "success" : "denied", .status = i % 5 ? 200 : 403,
                       .query = i % 2 ? "ヤマダ" : NULL, .detail = i == 7 ? "転院 \"pack\"" : NULL };
    if (hk_audit_append(a, &e, NULL) != 0)
      abort();
  }
  hk_audit_close(a);
  hk_log_path = g_build_filename(hk_dir, "audit.log", NULL);
  hk_head_path = g_build_filename(hk_dir, "audit.head", NULL);
  if (!g_file_get_contents(hk_log_path, &log, &log_len, NULL) ||
      !g_file_get_contents(hk_head_path, &head, &head_len, NULL))
    abort();
  hk_good_log = g_bytes_new_take(log, log_len);
  hk_good_head = g_bytes_new_take(head, head_len);
  atexit(hk_fuzz_cleanup);
  return 0;
}

/* Written in place, without the fsync and rename of g_file_set_contents:
 * two fsyncs per input made the target wait on the disk, not fuzz (139
 * inputs a second in the campaign, a third of a core). Not with GLib's
 * G_FILE_SET_CONTENTS_NONE either: GLib 2.74 then does not truncate, and a
 * shorter log kept the tail of the one before. */
static void
hk_fuzz_write(const char *path, const void *data, size_t len)
{
  const char *p = data;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  if (fd < 0)
    abort();
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n <= 0)
      abort();
    p += n;
    len -= (size_t)n;
  }
  if (close(fd) != 0)
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  gsize good_len = 0;
  const uint8_t *good = g_bytes_get_data(hk_good_log, &good_len);
  GByteArray *log = g_byte_array_new();
  HkAuditReport report;
  int ret;

  if (size > 0 && data[0] == '{') {
    /* A log of its own, no anchor. */
    g_unlink(hk_head_path);
    hk_fuzz_write(hk_log_path, data, size);
    hk_audit_verify(hk_dir, NULL, 0, &report);
    hk_audit_report_clear(&report);
    goto out;
  }
  g_byte_array_append(log, good, (guint)good_len);
  for (size_t i = 0; i + 3 <= size && i < 3 * 64; i += 3) {
    size_t pos = ((size_t)data[i] << 8 | data[i + 1]);
    uint8_t v = data[i + 2];
    switch (v % 3) {
    case 0: /* set the byte to v */
      if (log->len)
        log->data[pos % log->len] = v;
      break;
    case 1: /* delete the byte */
      if (log->len)
        g_byte_array_remove_index(log, (guint)(pos % log->len));
      break;
    default: { /* insert v */
      guint at = (guint)(pos % (log->len + 1));
      g_byte_array_set_size(log, log->len + 1);
      memmove(log->data + at + 1, log->data + at, log->len - 1 - at);
      log->data[at] = v;
      break;
    }
    }
  }
  hk_fuzz_write(hk_head_path, g_bytes_get_data(hk_good_head, NULL),
                g_bytes_get_size(hk_good_head));
  hk_fuzz_write(hk_log_path, log->data, log->len);
  ret = hk_audit_verify(hk_dir, NULL, 0, &report);
  if (log->len == good_len && memcmp(log->data, good, good_len) == 0) {
    if (ret != 0)
      abort(); /* the untouched log must verify */
  } else if (ret == 0) {
    abort(); /* a changed log verified: a forgery would pass an audit */
  }
  hk_audit_report_clear(&report);
out:
  g_byte_array_unref(log);
  return 0;
}

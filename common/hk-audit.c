#include "hk-audit.h"
#include "hk-json-writer.h"

#include "hk-build.h"
#include "hk-error.h"
#include "hk-log.h"
#include "hk-sha256.h"
#include "hk-time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#if HK_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#define HK_AUDIT_TAIL_MAX (256 * 1024) /* longest record we ever write, with margin */
#define HK_AUDIT_FIELD_MAX 1024        /* longer texts are cut: records stay small */
#define HK_AUDIT_HEAD_OLD_LEN 86       /* "%020" PRIu64 " " 64 hex "\n" (before issue 10) */
#define HK_AUDIT_HEAD_LEN 107          /* "%020" PRIu64 " " 64 hex " %020" PRId64 "\n" */
/* The journal's MESSAGE_ID of a checkpoint (journalctl MESSAGE_ID=...). */
#define HK_AUDIT_CHECKPOINT_ID "5b0c2d1f8e6a4c3b9d7e1a2f4c6b8d0e"
#define HK_HASH_SEP ",\"hash\":\""

static const char hk_audit_zero[HK_SHA256_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct hk_audit {
  GMutex lock;      /* order of appends within this process */
  GMutex sync_lock; /* one fdatasync at a time; others ride along */
  int fd;
  char *path;            /* audit.log */
  char *head_path;       /* audit.head: the anchor */
  uint64_t anchored;     /* seq of the newest anchor this process wrote */
  int checkpoint_s;      /* 0: no journal checkpoints */
  int64_t checkpoint_at; /* monotonic usec of the last one */
  uint64_t checkpoint_seq;
  uint64_t durable_seq; /* the newest record known on disk (sync_lock) */
  char durable_hash[HK_SHA256_HEX_LEN + 1];
  off_t durable_end;
  uint64_t last_seq;
  char last_hash[HK_SHA256_HEX_LEN + 1];
  off_t end;    /* file size after our last write (or the last we saw) */
  off_t synced; /* bytes known durable */
  gint failed;  /* an fdatasync failed: what the page cache holds is no longer
                 * known to reach the disk, so every later append fails */
};

void
hk_audit_report_clear(HkAuditReport *r)
{
  g_clear_pointer(&r->reason, g_free);
  r->records = 0;
  r->bad_line = 0;
}

/* Check one line (without its '\n'): its own hash and that it parses.
 * Returns the parsed object (unref) or NULL with *why set. */
static JsonObject *
hk_audit_parse_line(const char *line, size_t len, char hash[HK_SHA256_HEX_LEN + 1],
                    const char **why)
{
  JsonParser *p = NULL;
  JsonObject *o = NULL;
  const char *sep = NULL;
  uint8_t d[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];
  size_t sep_len = strlen(HK_HASH_SEP);

  *why = NULL;
  /* The hash is the last member: ,"hash":"<64 hex>"} at the very end. */
  if (len < sep_len + HK_SHA256_HEX_LEN + 2 || line[len - 1] != '}' || line[len - 2] != '"') {
    *why = "record does not end with its hash";
    goto out;
  }
  sep = line + len - 2 - HK_SHA256_HEX_LEN - sep_len;
  if (memcmp(sep, HK_HASH_SEP, sep_len) != 0) {
    *why = "record does not end with its hash";
    goto out;
  }
  if (memchr(line, '\0', len)) {
    *why = "record holds a NUL byte";
    goto out;
  }
  memcpy(hash, sep + sep_len, HK_SHA256_HEX_LEN);
  hash[HK_SHA256_HEX_LEN] = 0;
  if (hk_sha256(line, (size_t)(sep - line), d) < 0) {
    *why = "cannot hash";
    goto out;
  }
  hk_sha256_hex(d, hex);
  if (strcmp(hex, hash) != 0) {
    *why = "record was changed (hash mismatch)";
    goto out;
  }
  p = json_parser_new();
  if (!json_parser_load_from_data(p, line, (gssize)len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    *why = "record is not a JSON object";
    goto out;
  }
  o = json_object_ref(json_node_get_object(json_parser_get_root(p)));
out:
  if (p)
    g_object_unref(p);
  return o;
}

/* Read the newest record (under flock) to continue the chain after it, and
 * cut a torn last line. Sets end, last_seq, last_hash. */
static int
hk_audit_load_tail(HkAudit *a)
{
  struct stat st;
  char *buf = NULL;
  JsonObject *o = NULL;
  off_t from;
  ssize_t n;
  int ret = 0;

  if (fstat(a->fd, &st) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  a->end = st.st_size;
  a->last_seq = 0;
  memcpy(a->last_hash, hk_audit_zero, sizeof a->last_hash);
  if (st.st_size == 0)
    goto out;
  from = st.st_size > HK_AUDIT_TAIL_MAX ? st.st_size - HK_AUDIT_TAIL_MAX : 0;
  buf = g_malloc((size_t)(st.st_size - from) + 1);
  n = pread(a->fd, buf, (size_t)(st.st_size - from), from);
  if (n != st.st_size - from) {
    ret = -HK_EIO;
    goto out;
  }
  buf[n] = 0;
  if (buf[n - 1] != '\n') {
    /* A record is acknowledged only after its full line is synced, so a
     * torn line was never acknowledged: drop it. */
    char *nl = g_strrstr_len(buf, n, "\n");
    off_t keep = nl ? from + (nl - buf) + 1 : from;
    if (!nl && from > 0) {
      ret = -HK_ECORRUPT;
      goto out;
    }
    hk_warn("audit log: cutting a torn last record (%lld bytes)", (long long)(st.st_size - keep));
    if (ftruncate(a->fd, keep) != 0 || fdatasync(a->fd) != 0) {
      ret = hk_err_from_errno(errno);
      goto out;
    }
    a->end = keep;
    n = keep - from;
    buf[n] = 0;
    if (n == 0)
      goto out;
  }
  {
    char *start;
    const char *why;
    char hash[HK_SHA256_HEX_LEN + 1];
    buf[n - 1] = 0; /* the final newline */
    start = strrchr(buf, '\n');
    start = start ? start + 1 : buf;
    if (start == buf && from > 0) {
      ret = -HK_ECORRUPT;
      goto out;
    }
    o = hk_audit_parse_line(start, strlen(start), hash, &why);
    if (!o || !json_object_has_member(o, "seq")) {
      hk_error("audit log: last record unusable: %s", why ? why : "no seq");
      ret = -HK_ECORRUPT;
      goto out;
    }
    a->last_seq = (uint64_t)json_object_get_int_member(o, "seq");
    memcpy(a->last_hash, hash, sizeof a->last_hash);
  }
out:
  if (o)
    json_object_unref(o);
  g_free(buf);
  return ret;
}

static int
hk_audit_write_all(int fd, const char *buf, size_t len)
{
  int ret = 0;

  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ret = n < 0 ? hk_err_from_errno(errno) : -HK_EIO;
      goto out;
    }
    buf += n;
    len -= (size_t)n;
  }
out:
  return ret;
}

/* The anchor: the newest durable record, kept off the log. */
typedef struct {
  uint64_t seq;
  char hash[HK_SHA256_HEX_LEN + 1];
  int64_t end; /* offset just after that record; -1 if unknown (old format) */
} HkAnchor;

static bool
hk_audit_hex64(const char *s)
{
  return strlen(s) == HK_SHA256_HEX_LEN && strspn(s, "0123456789abcdef") == HK_SHA256_HEX_LEN;
}

/* Read the anchor at path. *present is false (and 0 returned) when there is
 * none or it is empty. \return 0; -HK_ECORRUPT (damaged); -HK_EIO. */
static int
hk_anchor_read(const char *path, HkAnchor *an, bool *present)
{
  char *text = NULL;
  gsize len = 0;
  GError *err = NULL;
  unsigned long long seq = 0;
  long long end = -1;
  char hex[HK_SHA256_HEX_LEN + 2] = "";
  int ret = 0;

  *present = false;
  memset(an, 0, sizeof *an);
  if (!g_file_get_contents(path, &text, &len, &err)) {
    if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      ret = -HK_EIO;
    goto out;
  }
  if (len == 0)
    goto out;
  *present = true;
  ret = -HK_ECORRUPT;
  if (memchr(text, 0, len) || text[len - 1] != '\n' || text[20] != ' ')
    goto out;
  if (len == HK_AUDIT_HEAD_OLD_LEN) {
    if (sscanf(text, "%20llu %64s", &seq, hex) != 2)
      goto out;
  } else if (len == HK_AUDIT_HEAD_LEN) {
    if (sscanf(text, "%20llu %64s %20lld", &seq, hex, &end) != 3 || end <= 0)
      goto out;
  } else {
    goto out;
  }
  if (!hk_audit_hex64(hex) || seq == 0)
    goto out;
  an->seq = seq;
  memcpy(an->hash, hex, sizeof an->hash);
  an->end = end;
  ret = 0;
out:
  g_clear_error(&err);
  g_free(text);
  return ret;
}

/* Replace the anchor with (seq, hash, end), which must be durable in the
 * log already. Atomic: a temp file, fdatasync, rename; the folder is not
 * synced, so after a power loss the anchor may lag the log, never lead it.
 * Never moves the anchor back (another process may have anchored a newer
 * record). */
static int
hk_anchor_write(HkAudit *a, uint64_t seq, const char *hash, int64_t end)
{
  /* Own to this process and handle: two writers never share a temp file. */
  char *tmp = g_strdup_printf("%s.%d.%p.tmp", a->head_path, (int)getpid(), (void *)a);
  char text[HK_AUDIT_HEAD_LEN + 1];
  HkAnchor cur;
  bool present = false, locked = false;
  int fd = -1, ret = 0;

  g_snprintf(text, sizeof text, "%020" PRIu64 " %s %020" PRId64 "\n", seq, hash, end);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  ret = hk_audit_write_all(fd, text, HK_AUDIT_HEAD_LEN);
  if (ret == 0 && fdatasync(fd) != 0)
    ret = hk_err_from_errno(errno);
  if (ret < 0)
    goto out;
  /* a->lock: flock is per open file, shared by this process's threads. */
  g_mutex_lock(&a->lock);
  locked = true;
  if (flock(a->fd, LOCK_EX) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  if (hk_anchor_read(a->head_path, &cur, &present) == 0 && present && cur.seq >= seq) {
    /* Someone anchored this record or a newer one already. */
  } else if (rename(tmp, a->head_path) != 0) {
    ret = hk_err_from_errno(errno);
  }
  flock(a->fd, LOCK_UN);
  if (ret == 0)
    a->anchored = MAX(a->anchored, seq);
out:
  if (locked)
    g_mutex_unlock(&a->lock);
  if (fd >= 0)
    close(fd);
  unlink(tmp); /* gone already if renamed */
  g_free(tmp);
  return ret;
}

/* A copy of the anchor off the log's own file: the system journal (or
 * syslog), and the program's log. */
static void
hk_audit_checkpoint(HkAudit *a, uint64_t seq, const char *hash)
{
  if (seq == 0)
    return;
#if HK_HAVE_SYSTEMD
  sd_journal_send("MESSAGE=hikae audit checkpoint %" PRIu64 ":%s (%s)", seq, hash, a->path,
                  "MESSAGE_ID=" HK_AUDIT_CHECKPOINT_ID, "PRIORITY=%d", LOG_INFO,
                  "HIKAE_AUDIT_LOG=%s", a->path, "HIKAE_AUDIT_SEQ=%" PRIu64, seq,
                  "HIKAE_AUDIT_HASH=%s", hash, NULL);
#else
  syslog(LOG_INFO, "hikae audit checkpoint %" PRIu64 ":%s (%s)", seq, hash, a->path);
#endif
  hk_info("audit checkpoint %" PRIu64 ":%s (%s)", seq, hash, a->path);
  a->checkpoint_seq = seq;
  a->checkpoint_at = g_get_monotonic_time();
}

/* Does the log (as loaded: a->end, a->last_seq) reach the anchor? NULL, or
 * what is wrong (g_free). */
static char *
hk_audit_check_anchor(HkAudit *a, const HkAnchor *an)
{
  char *why = NULL, *buf = NULL;
  JsonObject *o = NULL;

  if (an->seq > a->last_seq) {
    why = g_strdup_printf("log ends at seq %" PRIu64 ", anchor says %" PRIu64 ": %" PRIu64
                          " records missing",
                          a->last_seq, an->seq, an->seq - a->last_seq);
    goto out;
  }
  if (an->end < 0)
    goto out; /* old anchor: hikae-admin audit verify checks the hash */
  if (an->end > a->end) {
    why = g_strdup_printf("log ends at seq %" PRIu64 " (%lld bytes), anchor says seq %" PRIu64
                          " ends at byte %" PRId64 ": the log was cut and rewritten",
                          a->last_seq, (long long)a->end, an->seq, an->end);
    goto out;
  }
  {
    off_t from = an->end > HK_AUDIT_TAIL_MAX ? an->end - HK_AUDIT_TAIL_MAX : 0;
    size_t n = (size_t)(an->end - from);
    char hash[HK_SHA256_HEX_LEN + 1];
    const char *start, *bad = NULL;

    buf = g_malloc(n + 1);
    if (pread(a->fd, buf, n, from) != (ssize_t)n || n == 0 || buf[n - 1] != '\n') {
      bad = "no record ends there";
    } else {
      buf[n - 1] = 0;
      start = strrchr(buf, '\n');
      start = start ? start + 1 : buf;
      o = hk_audit_parse_line(start, strlen(start), hash, &bad);
      if (o && ((uint64_t)json_object_get_int_member_with_default(o, "seq", 0) != an->seq ||
                strcmp(hash, an->hash) != 0))
        bad = "another record is there";
    }
    if (bad)
      why = g_strdup_printf("anchor names seq %" PRIu64 " at byte %" PRId64 " but %s (log "
                            "ends at seq %" PRIu64 "): the log was cut and rewritten",
                            an->seq, an->end, bad, a->last_seq);
  }
out:
  if (o)
    json_object_unref(o);
  g_free(buf);
  return why;
}

static int hk_audit_append_locked(HkAudit *a, const HkAuditEvent *e, size_t n);

/* With the log locked and its tail loaded: if it does not reach what was
 * anchored, append the record that says so. */
static int
hk_audit_mark_if_cut(HkAudit *a)
{
  HkAnchor an;
  bool present = false;
  char *why = NULL;
  int ret = hk_anchor_read(a->head_path, &an, &present);

  if (ret == -HK_ECORRUPT)
    why = g_strdup_printf("the anchor %s is damaged (log ends at seq %" PRIu64 ")", a->head_path,
                          a->last_seq);
  else if (ret < 0)
    goto out;
  else if (!present && a->last_seq > 0)
    why = g_strdup_printf("the anchor %s is missing (log ends at seq %" PRIu64 ")", a->head_path,
                          a->last_seq);
  else if (present)
    why = hk_audit_check_anchor(a, &an);
  ret = 0;
  if (why) {
    HkAuditEvent e = {.user = "-",
                      .client = "local",
                      .action = HK_AUDIT_TRUNCATED,
                      .outcome = "failure",
                      .detail = why};
    hk_error("audit log %s: %s: recording it", a->path, why);
    ret = hk_audit_append_locked(a, &e, 1);
  }
out:
  g_free(why);
  return ret;
}

int
hk_audit_open(const char *state_dir, HkAudit **out)
{
  HkAudit *a = g_new0(HkAudit, 1);
  bool marked = false;
  int ret = 0;

  g_mutex_init(&a->lock);
  g_mutex_init(&a->sync_lock);
  a->path = g_build_filename(state_dir, "audit.log", NULL);
  a->head_path = g_build_filename(state_dir, "audit.head", NULL);
  a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (a->fd < 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  if (flock(a->fd, LOCK_EX) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  ret = hk_audit_load_tail(a);
  a->synced = a->end;
  a->durable_seq = a->last_seq;
  a->durable_end = a->end;
  memcpy(a->durable_hash, a->last_hash, sizeof a->durable_hash);
  if (ret == 0) {
    uint64_t before = a->last_seq;
    ret = hk_audit_mark_if_cut(a);
    marked = a->last_seq != before;
  }
  flock(a->fd, LOCK_UN);
  if (ret == 0 && marked)
    ret = hk_audit_sync(a, -1);
out:
  if (ret < 0) {
    hk_audit_close(a);
    a = NULL;
  }
  *out = a;
  return ret;
}

void
hk_audit_set_checkpoints(HkAudit *a, int interval_s)
{
  char hash[HK_SHA256_HEX_LEN + 1];
  uint64_t seq;

  g_mutex_lock(&a->sync_lock);
  a->checkpoint_s = MAX(1, interval_s);
  seq = a->durable_seq;
  memcpy(hash, a->durable_hash, sizeof hash);
  hk_audit_checkpoint(a, seq, hash);
  g_mutex_unlock(&a->sync_lock);
}

void
hk_audit_close(HkAudit *a)
{
  if (!a)
    return;
  if (a->checkpoint_s && a->fd >= 0 && hk_audit_sync(a, -1) == 0 &&
      a->checkpoint_seq != a->durable_seq)
    hk_audit_checkpoint(a, a->durable_seq, a->durable_hash);
  if (a->fd >= 0)
    close(a->fd);
  g_free(a->path);
  g_free(a->head_path);
  g_mutex_clear(&a->lock);
  g_mutex_clear(&a->sync_lock);
  g_free(a);
}

static void
hk_audit_add_str(GString *g, const char *name, const char *value)
{
  if (!value)
    return;
  if (strlen(value) > HK_AUDIT_FIELD_MAX || !g_utf8_validate(value, -1, NULL)) {
    /* Keep records bounded and valid UTF-8 whatever a client sent. */
    char *v = g_utf8_make_valid(value, MIN(strlen(value), HK_AUDIT_FIELD_MAX));
    hk_jw_str(g, name, v);
    g_free(v);
  } else {
    hk_jw_str(g, name, value);
  }
}

/* The line of record seq after prev, with its hash, and a newline. Written
 * straight as text (hk-json-writer): one record per answer is on the
 * server's hot path. verify hashes the bytes and parses them as JSON, so
 * any valid writer would do; the field order is the contract's. */
static char *
hk_audit_format(const HkAuditEvent *e, uint64_t seq, const char *prev, char hash[65])
{
  GString *g = g_string_sized_new(512);
  uint8_t d[HK_SHA256_LEN];

  hk_jw_begin(g, NULL, '{');
  hk_jw_int(g, "seq", (int64_t)seq);
  hk_jw_time(g, "time", e->time ? e->time : hk_time_now());
  hk_audit_add_str(g, "prev", prev);
  hk_audit_add_str(g, "action", e->action);
  hk_audit_add_str(g, "outcome", e->outcome ? e->outcome : "success");
  if (e->status)
    hk_jw_int(g, "status", e->status);
  hk_audit_add_str(g, "user", e->user);
  hk_audit_add_str(g, "client", e->client);
  hk_audit_add_str(g, "patient", e->patient);
  hk_audit_add_str(g, "document", e->document);
  if (e->version)
    hk_jw_int(g, "version", e->version);
  hk_audit_add_str(g, "query", e->query);
  hk_audit_add_str(g, "detail", e->detail);
  if (e->parts) {
    hk_audit_add_str(g, "print_id", e->print_id);
    hk_jw_int(g, "part", e->part);
    hk_jw_int(g, "parts", e->parts);
  }
  /* The hash covers the text up to here; it goes before the closing brace. */
  hk_jw_finish(g);
  hk_sha256(g->str, g->len, d);
  hk_sha256_hex(d, hash);
  g_string_append(g, HK_HASH_SEP);
  g_string_append(g, hash);
  g_string_append(g, "\"}\n");
  return g_string_free(g, FALSE);
}

/* With a->lock and the flock held, the tail loaded: write the n records of
 * e[] in one write(2), after the newest. */
static int
hk_audit_append_locked(HkAudit *a, const HkAuditEvent *e, size_t n)
{
  GString *text = g_string_new(NULL);
  char hash[HK_SHA256_HEX_LEN + 1], prev[HK_SHA256_HEX_LEN + 1];
  int ret = 0;

  memcpy(prev, a->last_hash, sizeof prev);
  for (size_t i = 0; i < n; i++) {
    char *line;
    if (!e[i].action) {
      ret = -HK_EINVAL;
      goto out;
    }
    line = hk_audit_format(&e[i], a->last_seq + 1 + i, prev, hash);
    g_string_append(text, line);
    g_free(line);
    memcpy(prev, hash, sizeof prev);
  }
  ret = hk_audit_write_all(a->fd, text->str, text->len);
  if (ret < 0) {
    /* Leave no torn record behind for the next append to glue onto. */
    if (ftruncate(a->fd, a->end) != 0)
      hk_error("audit log: cannot cut a failed write: %s", g_strerror(errno));
    goto out;
  }
  a->end += (off_t)text->len;
  a->last_seq += n;
  memcpy(a->last_hash, prev, sizeof a->last_hash);
out:
  g_string_free(text, TRUE);
  return ret;
}

int
hk_audit_append_many_nowait(HkAudit *a, const HkAuditEvent *e, size_t n, uint64_t *seq,
                            int64_t *end)
{
  struct stat st;
  bool flocked = false;
  off_t my_end = 0;
  int ret = 0;

  if (n == 0 || !e[0].action) {
    ret = -HK_EINVAL;
    goto out;
  }
  if (g_atomic_int_get(&a->failed)) {
    /* After a failed fdatasync the kernel may have dropped dirty pages
     * (and cleared the error): appending on would serve unaudited. */
    ret = -HK_EIO;
    goto out;
  }
  g_mutex_lock(&a->lock);
  if (flock(a->fd, LOCK_EX) != 0) {
    ret = hk_err_from_errno(errno);
    goto unlock;
  }
  flocked = true;
  /* Another process (hikae-admin) may have appended: continue its chain. */
  if (fstat(a->fd, &st) != 0) {
    ret = hk_err_from_errno(errno);
    goto unlock;
  }
  if (st.st_size != a->end) {
    uint64_t seq_was = a->last_seq;
    off_t end_was = a->end;
    ret = hk_audit_load_tail(a);
    if (ret < 0)
      goto unlock;
    if (a->end < end_was || a->last_seq < seq_was) {
      /* Cut while we had it open: say so before going on. */
      char *why = g_strdup_printf("log shrank while open: it ended at seq %" PRIu64
                                  " (%lld bytes), now at seq %" PRIu64 " (%lld bytes): %" PRIu64
                                  " records missing",
                                  seq_was, (long long)end_was, a->last_seq, (long long)a->end,
                                  seq_was > a->last_seq ? seq_was - a->last_seq : 0);
      HkAuditEvent cut = {.user = "-",
                          .client = "local",
                          .action = HK_AUDIT_TRUNCATED,
                          .outcome = "failure",
                          .detail = why};
      hk_error("audit log %s: %s: recording it", a->path, why);
      ret = hk_audit_append_locked(a, &cut, 1);
      g_free(why);
      if (ret < 0)
        goto unlock;
    }
  }
  ret = hk_audit_append_locked(a, e, n);
  if (ret < 0)
    goto unlock;
  my_end = a->end;
  if (seq)
    *seq = a->last_seq;
unlock:
  if (flocked)
    flock(a->fd, LOCK_UN);
  g_mutex_unlock(&a->lock);
  if (ret == 0)
    *end = my_end;
out:
  return ret;
}

int
hk_audit_append_nowait(HkAudit *a, const HkAuditEvent *e, uint64_t *seq, int64_t *end)
{
  return hk_audit_append_many_nowait(a, e, 1, seq, end);
}

int
hk_audit_flush(HkAudit *a, int64_t end)
{
  int ret = 0;

  /* Group commit: whoever syncs first makes every record written so far
   * durable; later callers whose record is already covered return at once.
   * end < 0 means "everything written so far". */
  g_mutex_lock(&a->sync_lock);
  if (g_atomic_int_get(&a->failed)) {
    ret = -HK_EIO;
  } else {
    off_t target;
    uint64_t seq;
    char hash[HK_SHA256_HEX_LEN + 1];
    g_mutex_lock(&a->lock);
    target = a->end;
    seq = a->last_seq;
    memcpy(hash, a->last_hash, sizeof hash);
    g_mutex_unlock(&a->lock);
    if (end < 0)
      end = target;
    /* synced > target: the file was cut under us and grew again. */
    if (a->synced < end || a->synced > target) {
      if (fdatasync(a->fd) != 0) {
        ret = hk_err_from_errno(errno);
        g_atomic_int_set(&a->failed, 1);
        hk_error("audit log: fdatasync failed (%s): refusing every further record",
                 g_strerror(errno));
      } else {
        a->synced = target;
        /* What the anchor may name from now on. */
        a->durable_seq = seq;
        a->durable_end = target;
        memcpy(a->durable_hash, hash, sizeof hash);
      }
    }
  }
  g_mutex_unlock(&a->sync_lock);
  return ret;
}

void
hk_audit_anchor(HkAudit *a)
{
  g_mutex_lock(&a->sync_lock);
  if (a->durable_seq > a->anchored) {
    /* A failed anchor write is loud but does not stop the service: the
     * records themselves are on disk. */
    int r = hk_anchor_write(a, a->durable_seq, a->durable_hash, (int64_t)a->durable_end);
    if (r < 0)
      hk_error("audit anchor %s: cannot write: %s", a->head_path, hk_strerror(r));
  }
  if (a->checkpoint_s && a->durable_seq != a->checkpoint_seq &&
      g_get_monotonic_time() - a->checkpoint_at >= (int64_t)a->checkpoint_s * G_USEC_PER_SEC)
    hk_audit_checkpoint(a, a->durable_seq, a->durable_hash);
  g_mutex_unlock(&a->sync_lock);
}

int
hk_audit_sync(HkAudit *a, int64_t end)
{
  int ret = hk_audit_flush(a, end);

  if (ret == 0)
    hk_audit_anchor(a);
  return ret;
}

int
hk_audit_append(HkAudit *a, const HkAuditEvent *e, uint64_t *seq)
{
  int64_t end = 0;
  int ret = hk_audit_append_nowait(a, e, seq, &end);

  if (ret == 0)
    ret = hk_audit_sync(a, end);
  return ret;
}

typedef struct {
  HkAuditReport *report;
  uint64_t expect_seq;
  char prev[HK_SHA256_HEX_LEN + 1];
  HkAuditCheckpoint *want; /* the anchor first, then the journal's checkpoints */
  const char **want_from;  /* "anchor" or "checkpoint", for the report */
  bool *want_seen;
  size_t nwant;
} HkVerifyState;

/* Walk the lines of the log; verify=true checks hash, seq and prev. */
static int
hk_audit_walk(const char *state_dir, bool verify, HkVerifyState *vs, HkAuditFunc fn, void *data)
{
  char *path = g_build_filename(state_dir, "audit.log", NULL);
  FILE *f = fopen(path, "re");
  char *line = NULL, *why_owned = NULL;
  size_t cap = 0;
  ssize_t n;
  uint64_t lineno = 0;
  int ret = 0;

  if (!f) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  while ((n = getline(&line, &cap, f)) > 0) {
    char hash[HK_SHA256_HEX_LEN + 1];
    const char *why = NULL;
    JsonObject *o;

    lineno++;
    if (line[n - 1] != '\n') {
      why = "last record is torn (no newline)";
      goto bad;
    }
    line[--n] = 0;
    o = hk_audit_parse_line(line, (size_t)n, hash, &why);
    if (!o) {
      if (!verify) {
        why = why ? why : "record does not parse";
      }
      goto bad;
    }
    if (verify) {
      const char *prev = json_object_get_string_member_with_default(o, "prev", "");
      const char *action = json_object_get_string_member_with_default(o, "action", "");
      gint64 seq = json_object_get_int_member_with_default(o, "seq", -1);
      if (seq < 0 || (uint64_t)seq != vs->expect_seq) {
        why = "record out of sequence (removed, inserted or reordered)";
      } else if (strcmp(prev, vs->prev) != 0) {
        why = "chain broken: prev does not match the record before";
      } else if (strcmp(action, HK_AUDIT_TRUNCATED) == 0) {
        /* The writer found the log cut and said so here: the records
         * between are gone for good, whatever follows verifies. */
        why = why_owned = g_strdup_printf(
            "TRUNCATED: records were cut from the end of the log before this one: %s",
            json_object_get_string_member_with_default(o, "detail", "(no detail)"));
      }
      for (size_t i = 0; !why && i < vs->nwant; i++) {
        if ((uint64_t)seq != vs->want[i].seq)
          continue;
        vs->want_seen[i] = true;
        if (strcmp(hash, vs->want[i].hash) != 0)
          why = why_owned = g_strdup_printf("record %" PRIu64 " does not match the %s (%.12s…): "
                                            "the log was cut and rewritten",
                                            (uint64_t)seq, vs->want_from[i], vs->want[i].hash);
      }
      if (why) {
        json_object_unref(o);
        goto bad;
      }
      vs->expect_seq++;
      memcpy(vs->prev, hash, sizeof vs->prev);
      vs->report->records++;
    }
    if (fn)
      ret = fn(o, line, data);
    json_object_unref(o);
    if (ret != 0)
      goto out;
    continue;
  bad:
    if (vs) {
      vs->report->bad_line = lineno;
      vs->report->reason = g_strdup(why);
    } else {
      hk_warn("audit log line %" PRIu64 ": %s", lineno, why);
    }
    ret = -HK_ECORRUPT;
    goto out;
  }
  if (ferror(f))
    ret = -HK_EIO;
out:
  if (f)
    fclose(f);
  free(line);
  g_free(why_owned);
  g_free(path);
  return ret;
}

int
hk_audit_checkpoint_parse(const char *text, HkAuditCheckpoint *out)
{
  const char *colon = text ? strchr(text, ':') : NULL;
  guint64 seq = 0;
  char *num = NULL;
  int ret = -HK_EINVAL;

  memset(out, 0, sizeof *out);
  if (!colon)
    goto out;
  num = g_strndup(text, (gsize)(colon - text));
  if (!g_ascii_string_to_unsigned(num, 10, 1, G_MAXINT64, &seq, NULL) || !hk_audit_hex64(colon + 1))
    goto out;
  out->seq = seq;
  memcpy(out->hash, colon + 1, HK_SHA256_HEX_LEN + 1);
  ret = 0;
out:
  g_free(num);
  return ret;
}

int
hk_audit_verify(const char *state_dir, const HkAuditCheckpoint *expect, size_t nexpect,
                HkAuditReport *report)
{
  HkVerifyState vs = {.report = report, .expect_seq = 1};
  char *head_path = g_build_filename(state_dir, "audit.head", NULL);
  HkAnchor an;
  bool present = false;
  int ret;

  memset(report, 0, sizeof *report);
  memcpy(vs.prev, hk_audit_zero, sizeof vs.prev);
  vs.want = g_new0(HkAuditCheckpoint, nexpect + 1);
  vs.want_from = g_new0(const char *, nexpect + 1);
  vs.want_seen = g_new0(bool, nexpect + 1);
  ret = hk_anchor_read(head_path, &an, &present);
  if (ret == -HK_ECORRUPT) {
    report->reason = g_strdup("audit.head (the anchor) is damaged");
    goto out;
  }
  if (ret < 0)
    goto out;
  if (present) {
    vs.want[vs.nwant].seq = an.seq;
    memcpy(vs.want[vs.nwant].hash, an.hash, sizeof an.hash);
    vs.want_from[vs.nwant++] = "anchor";
  }
  for (size_t i = 0; i < nexpect; i++) {
    vs.want[vs.nwant] = expect[i];
    vs.want_from[vs.nwant++] = "checkpoint";
  }
  ret = hk_audit_walk(state_dir, true, &vs, NULL, NULL);
  if (ret < 0)
    goto out;
  for (size_t i = 0; i < vs.nwant; i++) {
    uint64_t last = vs.expect_seq - 1;
    if (vs.want_seen[i])
      continue;
    /* The log may run ahead of an anchor, never end before it. */
    report->missing = vs.want[i].seq - last;
    report->reason = g_strdup_printf("TRUNCATED: log ends at seq %" PRIu64 ", %s says %" PRIu64
                                     ": %" PRIu64 " records missing",
                                     last, vs.want_from[i], vs.want[i].seq, report->missing);
    report->bad_line = vs.expect_seq;
    ret = -HK_ECORRUPT;
    goto out;
  }
  if (!present && report->records > 0) {
    report->reason = g_strdup("audit.head (the anchor) is missing or empty");
    ret = -HK_ECORRUPT;
    goto out;
  }
out:
  g_free(vs.want);
  g_free(vs.want_from);
  g_free(vs.want_seen);
  g_free(head_path);
  return ret;
}

int
hk_audit_foreach(const char *state_dir, HkAuditFunc fn, void *data)
{
  return hk_audit_walk(state_dir, false, NULL, fn, data);
}

/* The time of the record that starts at off (or the first one after it,
 * if off is inside a record), and where that record starts. */
static int
hk_audit_time_at(int fd, off_t off, off_t size, off_t *start, int64_t *when)
{
  char *buf = g_malloc(HK_AUDIT_TAIL_MAX + 1);
  const char *why = NULL, *p;
  char hash[HK_SHA256_HEX_LEN + 1];
  JsonObject *o = NULL;
  off_t from = off > 0 ? off - 1 : 0; /* one byte back: is off a line start? */
  size_t want = (size_t)MIN((off_t)HK_AUDIT_TAIL_MAX, size - from);
  ssize_t n = pread(fd, buf, want, from);
  int ret = -HK_ECORRUPT;
  char *nl;

  if (n <= 0) {
    ret = -HK_EIO;
    goto out;
  }
  buf[n] = 0;
  p = buf;
  if (off > 0) {
    /* Skip to just after the first newline at or after off - 1. */
    nl = memchr(buf, '\n', (size_t)n);
    if (!nl)
      goto out;
    p = nl + 1;
  }
  *start = from + (p - buf);
  nl = memchr(p, '\n', (size_t)(n - (p - buf)));
  if (!nl)
    goto out;
  o = hk_audit_parse_line(p, (size_t)(nl - p), hash, &why);
  if (!o || hk_time_parse(json_object_get_string_member_with_default(o, "time", ""), when) < 0)
    goto out;
  ret = 0;
out:
  if (o)
    json_object_unref(o);
  g_free(buf);
  return ret;
}

/* The offset of a record at or before the first one whose time is >= from,
 * close enough that a page scan reaches it: bisection over the file. */
static int
hk_audit_seek_time(int fd, off_t size, int64_t from, off_t *out)
{
  off_t lo = 0, hi = size;
  int ret = 0;

  while (hi - lo > 8192) {
    off_t mid = lo + (hi - lo) / 2, start = 0;
    int64_t when = 0;
    ret = hk_audit_time_at(fd, mid, size, &start, &when);
    if (ret < 0)
      goto out;
    if (start >= hi)
      break;
    if (when < from)
      lo = start;
    else
      hi = start;
  }
  *out = lo;
out:
  return ret;
}

/* ,"name":"value" exactly as hk_audit_format writes that member. */
static char *
hk_audit_member_bytes(const char *name, const char *value)
{
  JsonNode *n = json_node_init_string(json_node_alloc(), value);
  char *v = json_to_string(n, FALSE);
  char *out = g_strdup_printf(",\"%s\":%s,", name, v);

  /* The member may also be the last before the hash: match without the
   * trailing comma then (a longer value of the same prefix only costs a
   * full parse, which checks exactly). */
  out[strlen(out) - 1] = 0;
  g_free(v);
  json_node_unref(n);
  return out;
}

/* The time of a record line from its bytes ({"seq":N,"time":"...",...). */
static int
hk_audit_line_time(const char *line, int64_t *when)
{
  const char *t = strstr(line, ",\"time\":\"");
  const char *end = t ? strchr(t + 9, '"') : NULL;
  char buf[64];
  int ret = -HK_EINVAL;

  if (!end || end - (t + 9) >= (ptrdiff_t)sizeof buf)
    goto out;
  memcpy(buf, t + 9, (size_t)(end - (t + 9)));
  buf[end - (t + 9)] = 0;
  ret = hk_time_parse(buf, when);
out:
  return ret;
}

int
hk_audit_page(const char *state_dir, const HkAuditPage *q, int64_t cursor, HkAuditFunc fn,
              void *data, int64_t *next)
{
  char *path = g_build_filename(state_dir, "audit.log", NULL);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  FILE *f = NULL;
  char *line = NULL;
  size_t cap = 0;
  struct stat st;
  off_t pos = 0;
  unsigned matched = 0, scanned = 0;
  char *user_needle = NULL, *patient_needle = NULL;
  int ret = 0;

  *next = -1;
  if (fd < 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  if (fstat(fd, &st) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  if (cursor >= 0) {
    char c = '\n';
    /* Only the start of a record of this log: 0, or just after a newline. */
    if (cursor > st.st_size || (cursor > 0 && pread(fd, &c, 1, cursor - 1) != 1) || c != '\n') {
      ret = -HK_EINVAL;
      goto out;
    }
    pos = cursor;
  } else if (q->from != INT64_MIN && st.st_size > 0) {
    ret = hk_audit_seek_time(fd, st.st_size, q->from, &pos);
    if (ret < 0)
      goto out;
  }
  f = fdopen(fd, "r");
  if (!f) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  fd = -1;
  if (fseeko(f, pos, SEEK_SET) != 0) {
    ret = -HK_EIO;
    goto out;
  }
  if (q->user)
    user_needle = hk_audit_member_bytes("user", q->user);
  if (q->patient)
    patient_needle = hk_audit_member_bytes("patient", q->patient);
  while (pos < st.st_size && matched < q->limit && scanned < q->scan_max) {
    char hash[HK_SHA256_HEX_LEN + 1];
    const char *why = NULL;
    JsonObject *o;
    int64_t when = 0;
    ssize_t n = getline(&line, &cap, f);

    if (n <= 0 || line[n - 1] != '\n')
      break; /* a record being written right now: the next page has it */
    pos += n;
    scanned++;
    line[n - 1] = 0;
    /* Most records of a filtered walk do not match: skip those on their
     * bytes (the member as the writer formats it), without parsing. */
    if ((user_needle && !strstr(line, user_needle)) ||
        (patient_needle && !strstr(line, patient_needle)) ||
        ((q->from != INT64_MIN || q->to != INT64_MAX) && hk_audit_line_time(line, &when) == 0 &&
         (when < q->from || when > q->to)))
      continue;
    o = hk_audit_parse_line(line, (size_t)n - 1, hash, &why);
    if (!o) {
      hk_warn("audit log at byte %lld: %s", (long long)(pos - n), why);
      ret = -HK_ECORRUPT;
      goto out;
    }
    if ((!q->user ||
         g_strcmp0(json_object_get_string_member_with_default(o, "user", NULL), q->user) == 0) &&
        (!q->patient || g_strcmp0(json_object_get_string_member_with_default(o, "patient", NULL),
                                  q->patient) == 0) &&
        ((q->from == INT64_MIN && q->to == INT64_MAX) ||
         (hk_time_parse(json_object_get_string_member_with_default(o, "time", ""), &when) == 0 &&
          when >= q->from && when <= q->to))) {
      matched++;
      ret = fn(o, line, data);
    }
    json_object_unref(o);
    if (ret != 0)
      goto out;
  }
  *next = pos < st.st_size ? (int64_t)pos : -1;
out:
  if (f)
    fclose(f);
  if (fd >= 0)
    close(fd);
  free(line);
  g_free(user_needle);
  g_free(patient_needle);
  g_free(path);
  return ret;
}

#include "hk-audit.h"

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
#include <unistd.h>

#define HK_AUDIT_TAIL_MAX (256 * 1024) /* longest record we ever write, with margin */
#define HK_AUDIT_FIELD_MAX 1024        /* longer texts are cut: records stay small */
#define HK_AUDIT_HEAD_LEN 86           /* "%020" PRIu64 " " 64 hex "\n" */
#define HK_HASH_SEP ",\"hash\":\""

static const char hk_audit_zero[HK_SHA256_HEX_LEN + 1] =
  "0000000000000000000000000000000000000000000000000000000000000000";

struct hk_audit {
  GMutex lock;      /* order of appends within this process */
  GMutex sync_lock; /* one fdatasync at a time; others ride along */
  int fd;
  int head_fd;
  uint64_t last_seq;
  char last_hash[HK_SHA256_HEX_LEN + 1];
  off_t end;     /* file size after our last write (or the last we saw) */
  off_t synced;  /* bytes known durable */
  gint failed;   /* an fdatasync failed: what the page cache holds is no longer
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
  if (len < sep_len + HK_SHA256_HEX_LEN + 2 || line[len - 1] != '}' ||
      line[len - 2] != '"') {
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

int
hk_audit_open(const char *state_dir, HkAudit **out)
{
  HkAudit *a = g_new0(HkAudit, 1);
  char *path = g_build_filename(state_dir, "audit.log", NULL);
  char *head = g_build_filename(state_dir, "audit.head", NULL);
  int ret = 0;

  g_mutex_init(&a->lock);
  g_mutex_init(&a->sync_lock);
  a->head_fd = -1;
  a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (a->fd < 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  a->head_fd = open(head, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (a->head_fd < 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  if (flock(a->fd, LOCK_EX) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  ret = hk_audit_load_tail(a);
  flock(a->fd, LOCK_UN);
  a->synced = a->end;
out:
  if (ret < 0) {
    hk_audit_close(a);
    a = NULL;
  }
  *out = a;
  g_free(path);
  g_free(head);
  return ret;
}

void
hk_audit_close(HkAudit *a)
{
  if (!a)
    return;
  if (a->fd >= 0)
    close(a->fd);
  if (a->head_fd >= 0)
    close(a->head_fd);
  g_mutex_clear(&a->lock);
  g_mutex_clear(&a->sync_lock);
  g_free(a);
}

static void
hk_audit_add_str(JsonBuilder *b, const char *name, const char *value)
{
  if (!value)
    return;
  json_builder_set_member_name(b, name);
  if (strlen(value) > HK_AUDIT_FIELD_MAX || !g_utf8_validate(value, -1, NULL)) {
    /* Keep records bounded and valid UTF-8 whatever a client sent. */
    char *v = g_utf8_make_valid(value, MIN(strlen(value), HK_AUDIT_FIELD_MAX));
    json_builder_add_string_value(b, v);
    g_free(v);
  } else {
    json_builder_add_string_value(b, value);
  }
}

/* The line of record seq after prev, with its hash, and a newline. */
static char *
hk_audit_format(const HkAuditEvent *e, uint64_t seq, const char *prev, char hash[65])
{
  JsonBuilder *b = json_builder_new();
  JsonNode *root;
  char *body, *line, *when;
  uint8_t d[HK_SHA256_LEN];
  size_t len;

  when = hk_time_format(e->time ? e->time : hk_time_now());
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "seq");
  json_builder_add_int_value(b, (gint64)seq);
  hk_audit_add_str(b, "time", when);
  hk_audit_add_str(b, "prev", prev);
  hk_audit_add_str(b, "action", e->action);
  hk_audit_add_str(b, "outcome", e->outcome ? e->outcome : "success");
  if (e->status) {
    json_builder_set_member_name(b, "status");
    json_builder_add_int_value(b, e->status);
  }
  hk_audit_add_str(b, "user", e->user);
  hk_audit_add_str(b, "client", e->client);
  hk_audit_add_str(b, "patient", e->patient);
  hk_audit_add_str(b, "document", e->document);
  if (e->version) {
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, e->version);
  }
  hk_audit_add_str(b, "query", e->query);
  hk_audit_add_str(b, "detail", e->detail);
  json_builder_end_object(b);
  root = json_builder_get_root(b);
  body = json_to_string(root, FALSE);
  json_node_unref(root);
  g_object_unref(b);
  g_free(when);

  len = strlen(body);
  body[len - 1] = 0; /* the closing brace: the hash goes before it */
  hk_sha256(body, len - 1, d);
  hk_sha256_hex(d, hash);
  line = g_strdup_printf("%s" HK_HASH_SEP "%s\"}\n", body, hash);
  g_free(body);
  return line;
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

int
hk_audit_append_nowait(HkAudit *a, const HkAuditEvent *e, uint64_t *seq, int64_t *end)
{
  char hash[HK_SHA256_HEX_LEN + 1];
  char head[HK_AUDIT_HEAD_LEN + 1];
  char *line = NULL;
  struct stat st;
  bool flocked = false;
  off_t my_end = 0;
  int ret = 0;

  if (!e->action) {
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
    ret = hk_audit_load_tail(a);
    if (ret < 0)
      goto unlock;
  }
  line = hk_audit_format(e, a->last_seq + 1, a->last_hash, hash);
  ret = hk_audit_write_all(a->fd, line, strlen(line));
  if (ret < 0) {
    /* Leave no torn record behind for the next append to glue onto. */
    if (ftruncate(a->fd, a->end) != 0)
      hk_error("audit log: cannot cut a failed write: %s", g_strerror(errno));
    goto unlock;
  }
  a->end += (off_t)strlen(line);
  a->last_seq++;
  memcpy(a->last_hash, hash, sizeof a->last_hash);
  my_end = a->end;
  if (seq)
    *seq = a->last_seq;
  g_snprintf(head, sizeof head, "%020" PRIu64 " %s\n", a->last_seq, a->last_hash);
  /* The head is not synced: after a crash it may lag the log, which verify
   * accepts; it must only never be ahead of it, and it is written after. */
  if (pwrite(a->head_fd, head, HK_AUDIT_HEAD_LEN, 0) != HK_AUDIT_HEAD_LEN)
    hk_warn("audit head: cannot write: %s", g_strerror(errno));
unlock:
  if (flocked)
    flock(a->fd, LOCK_UN);
  g_mutex_unlock(&a->lock);
  if (ret == 0)
    *end = my_end;
out:
  g_free(line);
  return ret;
}

int
hk_audit_sync(HkAudit *a, int64_t end)
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
    g_mutex_lock(&a->lock);
    target = a->end;
    g_mutex_unlock(&a->lock);
    if (end < 0)
      end = target;
    if (a->synced < end) {
      if (fdatasync(a->fd) != 0) {
        ret = hk_err_from_errno(errno);
        g_atomic_int_set(&a->failed, 1);
        hk_error("audit log: fdatasync failed (%s): refusing every further record",
                 g_strerror(errno));
      } else {
        a->synced = target;
      }
    }
  }
  g_mutex_unlock(&a->sync_lock);
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
  uint64_t head_seq;
  char head_hash[HK_SHA256_HEX_LEN + 1];
  bool head_seen;
} HkVerifyState;

/* Walk the lines of the log; verify=true checks hash, seq and prev. */
static int
hk_audit_walk(const char *state_dir, bool verify, HkVerifyState *vs, HkAuditFunc fn,
              void *data)
{
  char *path = g_build_filename(state_dir, "audit.log", NULL);
  FILE *f = fopen(path, "re");
  char *line = NULL;
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
      gint64 seq = json_object_get_int_member_with_default(o, "seq", -1);
      if (seq < 0 || (uint64_t)seq != vs->expect_seq) {
        why = "record out of sequence (removed, inserted or reordered)";
      } else if (strcmp(prev, vs->prev) != 0) {
        why = "chain broken: prev does not match the record before";
      }
      if (why) {
        json_object_unref(o);
        goto bad;
      }
      if ((uint64_t)seq == vs->head_seq) {
        vs->head_seen = true;
        if (strcmp(hash, vs->head_hash) != 0) {
          why = "record does not match the head";
          json_object_unref(o);
          goto bad;
        }
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
  g_free(path);
  return ret;
}

int
hk_audit_verify(const char *state_dir, HkAuditReport *report)
{
  HkVerifyState vs = { .report = report, .expect_seq = 1 };
  char *head_path = g_build_filename(state_dir, "audit.head", NULL);
  char *head = NULL;
  gsize head_len = 0;
  int ret;

  memset(report, 0, sizeof *report);
  memcpy(vs.prev, hk_audit_zero, sizeof vs.prev);
  if (g_file_get_contents(head_path, &head, &head_len, NULL) && head_len > 0) {
    char hex[HK_SHA256_HEX_LEN + 1];
    unsigned long long s;
    if (head_len != HK_AUDIT_HEAD_LEN || sscanf(head, "%20llu %64s", &s, hex) != 2 ||
        strlen(hex) != HK_SHA256_HEX_LEN || head[20] != ' ' || head[85] != '\n') {
      report->reason = g_strdup("audit.head is damaged");
      ret = -HK_ECORRUPT;
      goto out;
    }
    vs.head_seq = s;
    memcpy(vs.head_hash, hex, sizeof vs.head_hash);
  }
  ret = hk_audit_walk(state_dir, true, &vs, NULL, NULL);
  if (ret < 0)
    goto out;
  if (vs.head_seq > 0 && !vs.head_seen) {
    report->reason = g_strdup_printf("records removed from the end: the head names record %" PRIu64
                                     " but the log ends at %" PRIu64,
                                     vs.head_seq, vs.expect_seq - 1);
    report->bad_line = vs.expect_seq;
    ret = -HK_ECORRUPT;
    goto out;
  }
  if (vs.head_seq == 0 && report->records > 0) {
    report->reason = g_strdup("audit.head is missing or empty");
    ret = -HK_ECORRUPT;
    goto out;
  }
out:
  g_free(head);
  g_free(head_path);
  return ret;
}

int
hk_audit_foreach(const char *state_dir, HkAuditFunc fn, void *data)
{
  return hk_audit_walk(state_dir, false, NULL, fn, data);
}

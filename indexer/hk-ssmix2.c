#include "hk-ssmix2.h"

#include "hk-error.h"
#include "hk-hl7.h"
#include "hk-log.h"
#include "hk-source-file.h"
#include "hk-sha256.h"
#include "hk-time.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HK_SX_BATCH 1024                          /* files per write transaction: one fsync each */
#define HK_SX_MAX_ATTACHMENT (256u * 1024 * 1024) /* bytes of one extended-storage file */
#define HK_SX_MAIN "main_document.hl7"

/* ---------------------------------------------------------------- names */

void
hk_ssmix2_name_clear(HkSsmix2Name *n)
{
  g_clear_pointer(&n->pid, g_free);
  g_clear_pointer(&n->date, g_free);
  g_clear_pointer(&n->datatype, g_free);
  g_clear_pointer(&n->order_no, g_free);
  g_clear_pointer(&n->timestamp, g_free);
  g_clear_pointer(&n->dept, g_free);
  n->flag = -1;
}

static bool
hk_sx_all_digits(const char *s)
{
  if (!s || !*s)
    return false;
  for (; *s; s++)
    if (!g_ascii_isdigit(*s))
      return false;
  return true;
}

int
hk_ssmix2_name_parse(const char *name, const char *expected_type, HkSsmix2Name *out, char **reason)
{
  gchar **parts = NULL, **rest = NULL;
  guint n;
  int ret = -HK_EINVAL;

  memset(out, 0, sizeof *out);
  out->flag = -1;
  if (reason)
    *reason = NULL;
  parts = g_strsplit(name, "_", -1);
  n = g_strv_length(parts);
  if (n >= 3 && expected_type && strchr(expected_type, '_')) {
    /* A data type with '_' in it: find it by the folder's name. */
    g_autofree char *prefix = g_strdup_printf("%s_%s_%s_", parts[0], parts[1], expected_type);
    if (g_str_has_prefix(name, prefix)) {
      rest = g_strsplit(name + strlen(prefix), "_", -1);
      guint rn = g_strv_length(rest);
      if (rn == 3 || rn == 4) {
        out->pid = g_strdup(parts[0]);
        out->date = g_strdup(parts[1]);
        out->datatype = g_strdup(expected_type);
        out->order_no = g_strdup(rest[0]);
        out->timestamp = g_strdup(rest[1]);
        out->dept = rn == 4 ? g_strdup(rest[2]) : NULL;
        out->flag = rest[rn - 1][0] ? rest[rn - 1][0] - '0' : -1;
        if (strlen(rest[rn - 1]) != 1)
          out->flag = -1;
      }
    }
  }
  if (!out->pid && (n == 7 || n == 6)) {
    out->pid = g_strdup(parts[0]);
    out->date = g_strdup(parts[1]);
    out->datatype = g_strdup(parts[2]);
    out->order_no = g_strdup(parts[3]);
    out->timestamp = g_strdup(parts[4]);
    out->dept = n == 7 ? g_strdup(parts[5]) : NULL;
    out->flag = strlen(parts[n - 1]) == 1 ? parts[n - 1][0] - '0' : -1;
  }
  if (!out->pid) {
    if (reason)
      *reason =
          g_strdup_printf("file name \"%s\" has %u parts, not the 7 (or 6) of SS-MIX2", name, n);
    goto out;
  }
  if (!*out->pid || !*out->datatype || !*out->order_no) {
    if (reason)
      *reason =
          g_strdup_printf("file name \"%s\" has an empty patient, data type or order part", name);
    goto out;
  }
  if (strcmp(out->date, "-") != 0 && !(strlen(out->date) == 8 && hk_sx_all_digits(out->date))) {
    if (reason)
      *reason =
          g_strdup_printf("file name \"%s\": \"%s\" is neither a date nor \"-\"", name, out->date);
    goto out;
  }
  if (!hk_sx_all_digits(out->timestamp)) {
    if (reason)
      *reason =
          g_strdup_printf("file name \"%s\": \"%s\" is not a time stamp", name, out->timestamp);
    goto out;
  }
  if (out->flag < 0 || out->flag > 2) {
    if (reason)
      *reason =
          g_strdup_printf("file name \"%s\" does not end in a condition flag 0, 1 or 2", name);
    goto out;
  }
  ret = 0;
out:
  if (ret < 0)
    hk_ssmix2_name_clear(out);
  g_strfreev(parts);
  g_strfreev(rest);
  return ret;
}

const char *
hk_ssmix2_doc_type(const char *datatype)
{
  static const struct {
    const char *code, *type;
  } map[] = {
      {"11506-3", "progress_note"},
      {"18842-5", "discharge_summary"},
      {"57133-1", "referral_letter"},
  };
  size_t n = datatype ? strcspn(datatype, "^") : 0;

  for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
    if (n == strlen(map[i].code) && strncmp(datatype, map[i].code, n) == 0)
      return map[i].type;
  return "other";
}

/* -------------------------------------------------------------- entries */

typedef enum { HK_SX_STANDARD, HK_SX_EXTENDED } HkSxKind;

typedef struct {
  char *rel;  /* relative to the root */
  char *path; /* absolute (the root as given, joined) */
  char *l1, *l2, *pid_dir, *date_dir, *type_dir, *base;
  char *patient_dir;
  HkSxKind kind;
  HkFileState st;
  bool seen_before; /* the walk had recorded an older state of this path */
  HkSsmix2Name name;
  char *name_reason; /* set if the name does not parse */
  char *key;         /* file-state key */
} HkSxEntry;

static void
hk_sx_entry_free(HkSxEntry *e)
{
  if (!e)
    return;
  g_free(e->rel);
  g_free(e->path);
  g_free(e->l1);
  g_free(e->l2);
  g_free(e->pid_dir);
  g_free(e->date_dir);
  g_free(e->type_dir);
  g_free(e->base);
  g_free(e->patient_dir);
  hk_ssmix2_name_clear(&e->name);
  g_free(e->name_reason);
  g_free(e->key);
  g_free(e);
}

static int64_t
hk_sx_ns(const struct timespec *ts)
{
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void
hk_sx_state_from_stat(HkFileState *st, const struct stat *content, const struct stat *folder)
{
  memset(st, 0, sizeof *st);
  st->content_mtime_ns = hk_sx_ns(&content->st_mtim);
  st->content_size = content->st_size;
  st->content_ino = (int64_t)content->st_ino;
  st->content_ctime_ns = hk_sx_ns(&content->st_ctim);
  if (folder) {
    /* An extended-storage content folder changes when an attachment comes
     * or goes: its own times stand for that. */
    st->meta_mtime_ns = hk_sx_ns(&folder->st_mtim);
    st->meta_size = hk_sx_ns(&folder->st_ctim);
  }
}

static gint
hk_sx_strcmp(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of dir (NULL if it cannot be read). */
static GPtrArray *
hk_sx_list(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  GPtrArray *names;
  const char *n;

  if (!d)
    return NULL;
  names = g_ptr_array_new_with_free_func(g_free);
  /* Dot files are a gateway's temporary files (written, then renamed). */
  while ((n = g_dir_read_name(d)))
    if (n[0] != '.')
      g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  g_ptr_array_sort(names, hk_sx_strcmp);
  return names;
}

static bool
hk_sx_is_dir(const char *path, struct stat *st)
{
  return g_lstat(path, st) == 0 && S_ISDIR(st->st_mode);
}

typedef struct {
  const char *root;
  GPtrArray *entries; /* HkSxEntry* */
} HkSxWalk;

static void
hk_sx_walk_add(HkSxWalk *w, const char *const parts[6], const char *path, HkSxKind kind,
               const HkFileState *st)
{
  HkSxEntry *e = g_new0(HkSxEntry, 1);

  e->l1 = g_strdup(parts[0]);
  e->l2 = g_strdup(parts[1]);
  e->pid_dir = g_strdup(parts[2]);
  e->date_dir = g_strdup(parts[3]);
  e->type_dir = g_strdup(parts[4]);
  e->base = g_strdup(parts[5]);
  e->rel = g_build_filename(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], NULL);
  e->path = g_strdup(path);
  e->patient_dir = g_build_filename(w->root, parts[0], parts[1], parts[2], NULL);
  e->kind = kind;
  e->st = *st;
  e->key = g_strdup_printf("ssmix2\x1f%s\x1f%s", w->root, e->rel);
  if (hk_ssmix2_name_parse(e->base, e->type_dir, &e->name, &e->name_reason) < 0)
    e->name.flag = -1;
  g_ptr_array_add(w->entries, e);
}

/* Walk the six levels below root. Only folders are descended into, and
 * symbolic links are never followed (lstat), so nothing outside root is
 * read. */
static void
hk_sx_walk(HkSxWalk *w)
{
  const char *parts[6];
  g_autoptr(GPtrArray) l1 = hk_sx_list(w->root);
  struct stat st;

  for (guint a = 0; l1 && a < l1->len; a++) {
    g_autofree char *p1 = g_build_filename(w->root, l1->pdata[a], NULL);
    g_autoptr(GPtrArray) l2 = hk_sx_is_dir(p1, &st) ? hk_sx_list(p1) : NULL;
    parts[0] = l1->pdata[a];
    for (guint b = 0; l2 && b < l2->len; b++) {
      g_autofree char *p2 = g_build_filename(p1, l2->pdata[b], NULL);
      g_autoptr(GPtrArray) l3 = hk_sx_is_dir(p2, &st) ? hk_sx_list(p2) : NULL;
      parts[1] = l2->pdata[b];
      for (guint c = 0; l3 && c < l3->len; c++) {
        g_autofree char *p3 = g_build_filename(p2, l3->pdata[c], NULL);
        g_autoptr(GPtrArray) l4 = hk_sx_is_dir(p3, &st) ? hk_sx_list(p3) : NULL;
        parts[2] = l3->pdata[c];
        for (guint d = 0; l4 && d < l4->len; d++) {
          g_autofree char *p4 = g_build_filename(p3, l4->pdata[d], NULL);
          g_autoptr(GPtrArray) l5 = hk_sx_is_dir(p4, &st) ? hk_sx_list(p4) : NULL;
          parts[3] = l4->pdata[d];
          for (guint e = 0; l5 && e < l5->len; e++) {
            g_autofree char *p5 = g_build_filename(p4, l5->pdata[e], NULL);
            g_autoptr(GPtrArray) l6 = hk_sx_is_dir(p5, &st) ? hk_sx_list(p5) : NULL;
            parts[4] = l5->pdata[e];
            for (guint f = 0; l6 && f < l6->len; f++) {
              g_autofree char *p6 = g_build_filename(p5, l6->pdata[f], NULL);
              struct stat fs, ms;
              HkFileState state;
              parts[5] = l6->pdata[f];
              if (g_lstat(p6, &fs) != 0)
                continue;
              if (S_ISREG(fs.st_mode)) {
                hk_sx_state_from_stat(&state, &fs, NULL);
                hk_sx_walk_add(w, parts, p6, HK_SX_STANDARD, &state);
              } else if (S_ISDIR(fs.st_mode)) {
                g_autofree char *main = g_build_filename(p6, HK_SX_MAIN, NULL);
                if (g_lstat(main, &ms) != 0)
                  memset(&ms, 0, sizeof ms);
                hk_sx_state_from_stat(&state, &ms, &fs);
                hk_sx_walk_add(w, parts, p6, HK_SX_EXTENDED, &state);
              } else {
                /* A link, FIFO, socket or device where a message belongs:
                 * listed so that its read refuses it into the quarantine. */
                hk_sx_state_from_stat(&state, &fs, NULL);
                hk_sx_walk_add(w, parts, p6, HK_SX_STANDARD, &state);
              }
            }
          }
        }
      }
    }
  }
}

static int
hk_sx_flag_rank(int flag)
{
  return flag == 2 ? 0 : flag == 1 ? 1 : 2; /* history, then current, then deletions */
}

/* Files of one order in the order they happened: superseded (flag 2) by
 * time stamp, then current, then deletions. */
static gint
hk_sx_entry_cmp(gconstpointer pa, gconstpointer pb)
{
  const HkSxEntry *a = *(HkSxEntry *const *)pa, *b = *(HkSxEntry *const *)pb;
  int r;

  if ((r = strcmp(a->pid_dir, b->pid_dir)) || (r = strcmp(a->type_dir, b->type_dir)))
    return r;
  if ((r = g_strcmp0(a->name.order_no, b->name.order_no)))
    return r;
  if ((r = hk_sx_flag_rank(a->name.flag) - hk_sx_flag_rank(b->name.flag)))
    return r;
  if ((r = g_strcmp0(a->name.timestamp, b->name.timestamp)))
    return r;
  return strcmp(a->rel, b->rel);
}

/* ---------------------------------------------------------------- input */

/* Does PID-3 (bare, or id^^^^PI among its repetitions) name pid?
 * \return 0; -HK_EINVAL if there is no PID (the message is incomplete);
 *         -HK_EPERM if it names another patient (a misfiled message). */
static int
hk_sx_pid_matches(HkHl7Msg *m, const char *pid, char **reason)
{
  int seg = hk_hl7_find(m, "PID", 0);
  const char *first = NULL;
  unsigned reps;

  if (seg < 0) {
    *reason = g_strdup("the message has no PID segment");
    return -HK_EINVAL;
  }
  reps = hk_hl7_reps_at(m, (unsigned)seg, 3);
  for (unsigned r = 1; r <= reps; r++) {
    const char *id = hk_hl7_get_at(m, (unsigned)seg, 3, r, 1, 0);
    const char *type = hk_hl7_get_at(m, (unsigned)seg, 3, r, 5, 0);
    if (!id || (type && strcmp(type, "PI") != 0))
      continue;
    if (strcmp(id, pid) == 0)
      return 0;
    if (!first)
      first = id;
  }
  *reason = g_strdup_printf("patient ID mismatch: PID-3 says %s, folder and file name say %s",
                            first ? first : "nothing", pid);
  return -HK_EPERM;
}

static bool hk_sx_is_patient_type(const char *dt);
static bool hk_sx_is_census_type(const char *dt);
static const char *hk_sx_first(const char *a, const char *b);

/* A message that carries clinical facts must be whole before it may change
 * them: HL7 ends every segment, the last one too, with CR, so bytes that
 * stop elsewhere were cut (0x1C, the MLLP end byte some gateways keep, may
 * follow). A fact segment without the fact (an allergy without allergen, a
 * problem without name) or a census message without PV1 is cut or broken
 * too; today's reader would have skipped it and shown a shorter list. */
static int
hk_sx_fact_complete(const char *data, size_t len, HkHl7Msg *m, const char *dt, char **reason)
{
  size_t end = len;
  int ret = -HK_EINVAL;

  while (end > 0 && data[end - 1] == '\x1c')
    end--;
  if (end == 0 || (data[end - 1] != '\r' && data[end - 1] != '\n')) {
    *reason = g_strdup("incomplete message: the file does not end with a segment terminator "
                       "(CR), so it was cut (truncated)");
    goto out;
  }
  for (unsigned i = 0; i < hk_hl7_n_segments(m); i++) {
    const char *seg = hk_hl7_segment_name(m, i);
    if (strcmp(seg, "AL1") == 0 || strcmp(seg, "IAM") == 0) {
      const char *action = seg[0] == 'I' ? hk_hl7_get_at(m, i, 6, 1, 1, 0) : NULL;
      if (!(action && strcmp(action, "D") == 0) &&
          !hk_sx_first(hk_hl7_get_at(m, i, 3, 1, 2, 0), hk_hl7_get_at(m, i, 3, 1, 1, 0))) {
        *reason = g_strdup_printf("incomplete message: %s segment %u has no allergen (%s-3)", seg,
                                  i + 1, seg);
        goto out;
      }
    } else if (strcmp(seg, "PRB") == 0) {
      const char *action = hk_hl7_get_at(m, i, 1, 1, 1, 0);
      if (!(action && strcmp(action, "DE") == 0) &&
          !hk_sx_first(hk_hl7_get_at(m, i, 3, 1, 2, 0), hk_hl7_get_at(m, i, 3, 1, 1, 0))) {
        *reason =
            g_strdup_printf("incomplete message: PRB segment %u has no problem (PRB-3)", i + 1);
        goto out;
      }
    }
  }
  if (hk_sx_is_census_type(dt) && hk_hl7_find(m, "PV1", 0) < 0) {
    *reason = g_strdup("incomplete message: an admission, transfer or discharge without its "
                       "PV1 segment");
    goto out;
  }
  ret = 0;
out:
  return ret;
}

/* Read, parse and check one message file against the patient pid. A
 * message of a patient-fact type (dt) must also be complete.
 * \return 0; -HK_EPERM if it names another patient; another -HK_E code
 *         if it cannot be read, decoded, parsed, or is incomplete. */
static int
hk_sx_load(const char *root, const char *path, const char *pid, const char *dt, HkHl7Msg **out,
           char **reason)
{
  g_autofree char *data = NULL, *why = NULL;
  size_t len = 0;
  int ret;

  *out = NULL;
  ret = hk_source_file_read(root, path, HK_HL7_MAX_MESSAGE, &data, &len, &why);
  if (ret == -HK_ENOTFOUND) {
    /* Name what is missing, not an errno. */
    g_autofree char *base = g_path_get_basename(path);
    *reason =
        g_strdup_printf("missing: %s was removed or renamed after its folder was listed", base);
    goto out;
  }
  if (ret < 0) {
    *reason = g_strdup_printf("unreadable: %s", why);
    goto out;
  }
  ret = hk_hl7_parse(data, len, HK_HL7_REPLACE, out, &why);
  if (ret < 0) {
    *reason = g_strdup_printf("not an HL7 v2.5 message: %s", why);
    goto out;
  }
  ret = hk_sx_pid_matches(*out, pid, reason);
  if (ret == 0 && dt && hk_sx_is_patient_type(dt))
    ret = hk_sx_fact_complete(data, len, *out, dt, reason);
  if (ret < 0) {
    hk_hl7_free(*out);
    *out = NULL;
    goto out;
  }
  if (hk_hl7_replaced(*out))
    hk_warn("%s: %u JIS codes without a character shown as U+3013", path, hk_hl7_replaced(*out));
out:
  return ret;
}

/* Do the name and the folders agree? */
static bool
hk_sx_names_agree(const HkSxEntry *e, char **reason)
{
  const HkSsmix2Name *n = &e->name;
  size_t pl = strlen(e->pid_dir);

  if (e->name_reason) {
    *reason = g_strdup(e->name_reason);
    return false;
  }
  if (strcmp(n->pid, e->pid_dir) != 0 || strcmp(n->date, e->date_dir) != 0 ||
      strcmp(n->datatype, e->type_dir) != 0) {
    *reason = g_strdup_printf("patient ID mismatch between file name and folders: the name says "
                              "patient %s, date %s, data type %s; the folders say %s, %s, %s",
                              n->pid, n->date, n->datatype, e->pid_dir, e->date_dir, e->type_dir);
    return false;
  }
  /* root/pid[0:3]/pid[3:6]/pid */
  if (strncmp(e->l1, e->pid_dir, MIN(pl, 3)) != 0 ||
      (pl > 3 && strncmp(e->l2, e->pid_dir + 3, MIN(pl - 3, 3)) != 0)) {
    *reason = g_strdup_printf("patient ID mismatch: folders %s/%s do not begin patient %s", e->l1,
                              e->l2, e->pid_dir);
    return false;
  }
  if (!hk_patient_id_valid(n->pid)) {
    *reason = g_strdup_printf("patient ID \"%s\" is not 1-32 of A-Za-z0-9-_", n->pid);
    return false;
  }
  return true;
}

/* -------------------------------------------------------------- helpers */

static const char *
hk_sx_first(const char *a, const char *b)
{
  return a ? a : b;
}

/* "family given" from XCN/XPN-like components (id^family^given). */
static char *
hk_sx_person(HkHl7Msg *m, unsigned seg, unsigned field, unsigned first_comp)
{
  const char *fam = hk_hl7_get_at(m, seg, field, 1, first_comp, 0);
  const char *giv = hk_hl7_get_at(m, seg, field, 1, first_comp + 1, 0);

  if (fam && giv)
    return g_strdup_printf("%s %s", fam, giv);
  return g_strdup(fam ? fam : giv);
}

/* Human-readable time "2011-12-19 15:00" of an HL7 TS. */
static char *
hk_sx_show_time(const char *ts)
{
  g_autofree char *r = hk_hl7_ts_to_rfc3339(ts);

  if (!r)
    return g_strdup(ts ? ts : "");
  if (strlen(ts) <= 8)
    return g_strndup(r, 10);
  return g_strdup_printf("%.10s %.5s", r, r + 11);
}

/* The message's time: the first of ts (may be NULL), MSH-7, the file name. */
static char *
hk_sx_created(HkHl7Msg *m, const char *ts, const HkSxEntry *e)
{
  char *r = ts ? hk_hl7_ts_to_rfc3339(ts) : NULL;

  if (!r && m)
    r = hk_hl7_ts_to_rfc3339(hk_hl7_get_at(m, 0, 7, 1, 1, 0));
  if (!r)
    r = hk_hl7_ts_to_rfc3339(e->name.timestamp);
  if (!r)
    r = g_strdup("1970-01-01T09:00:00+09:00");
  return r;
}

/* One observation line: test, value, unit, reference range, flag, time. */
static void
hk_sx_append_obx(GString *s, HkHl7Msg *m, unsigned seg)
{
  const char *vt = hk_hl7_get_at(m, seg, 2, 1, 1, 0);
  const char *test =
      hk_sx_first(hk_hl7_get_at(m, seg, 3, 1, 2, 0), hk_hl7_get_at(m, seg, 3, 1, 1, 0));
  const char *value;
  const char *unit =
      hk_sx_first(hk_hl7_get_at(m, seg, 6, 1, 2, 0), hk_hl7_get_at(m, seg, 6, 1, 1, 0));
  const char *range = hk_hl7_get_at(m, seg, 7, 1, 0, 0);
  const char *flag = hk_hl7_get_at(m, seg, 8, 1, 1, 0);
  const char *when = hk_hl7_get_at(m, seg, 14, 1, 1, 0);

  if (vt && (strcmp(vt, "CWE") == 0 || strcmp(vt, "CE") == 0 || strcmp(vt, "CNE") == 0))
    value = hk_sx_first(hk_hl7_get_at(m, seg, 5, 1, 2, 0), hk_hl7_get_at(m, seg, 5, 1, 1, 0));
  else
    value = hk_hl7_get_at(m, seg, 5, 1, 0, 0);
  g_string_append_printf(s, "- %s: %s", test ? test : "(no name)", value ? value : "");
  if (unit)
    g_string_append_printf(s, " %s", unit);
  if (flag)
    g_string_append_printf(s, "  [%s]", flag);
  if (range)
    g_string_append_printf(s, "  (基準値 %s)", range);
  if (when) {
    g_autofree char *t = hk_sx_show_time(when);
    g_string_append_printf(s, "  %s", t);
  }
  g_string_append_c(s, '\n');
}

static void
hk_sx_append_header(GString *s, const char *title, const HkSxEntry *e, const char *author,
                    const char *dept)
{
  g_string_append_printf(s, "%s\n", title);
  g_string_append_printf(s, "患者ID: %s\n", e->name.pid);
  g_string_append_printf(s, "オーダ番号: %s\n", e->name.order_no);
  if (dept)
    g_string_append_printf(s, "診療科: %s\n", dept);
  if (author)
    g_string_append_printf(s, "依頼医: %s\n", author);
}

/* Observations (OML-11 results, extended-storage ORU) as readable text. */
static char *
hk_sx_observation_text(HkHl7Msg *m, const char *title, const HkSxEntry *e, const char *author,
                       const char *dept)
{
  GString *s = g_string_new(NULL);
  const char *specimen = NULL;

  hk_sx_append_header(s, title, e, author, dept);
  for (unsigned i = 0; i < hk_hl7_n_segments(m); i++) {
    const char *seg = hk_hl7_segment_name(m, i);
    if (strcmp(seg, "SPM") == 0) {
      specimen = hk_sx_first(hk_hl7_get_at(m, i, 4, 1, 2, 0), hk_hl7_get_at(m, i, 4, 1, 1, 0));
    } else if (strcmp(seg, "OBR") == 0) {
      const char *test =
          hk_sx_first(hk_hl7_get_at(m, i, 4, 1, 2, 0), hk_hl7_get_at(m, i, 4, 1, 1, 0));
      const char *when = hk_hl7_get_at(m, i, 7, 1, 1, 0);
      g_string_append_printf(s, "\n検査: %s", test ? test : "(no name)");
      if (specimen)
        g_string_append_printf(s, "  検体: %s", specimen);
      if (when) {
        g_autofree char *t = hk_sx_show_time(when);
        g_string_append_printf(s, "  採取: %s", t);
      }
      g_string_append_c(s, '\n');
    } else if (strcmp(seg, "OBX") == 0) {
      hk_sx_append_obx(s, m, i);
    } else if (strcmp(seg, "NTE") == 0) {
      const char *c = hk_hl7_get_at(m, i, 3, 1, 0, 0);
      if (c)
        g_string_append_printf(s, "  注記: %s\n", c);
    }
  }
  return g_string_free(s, FALSE);
}

/* Prescription and injection orders: one line per drug. */
static char *
hk_sx_prescription_text(HkHl7Msg *m, const char *title, const HkSxEntry *e, const char *author,
                        const char *dept)
{
  GString *s = g_string_new(NULL);
  int rxe = -1;

  hk_sx_append_header(s, title, e, author, dept);
  g_string_append_c(s, '\n');
  for (unsigned i = 0; i <= hk_hl7_n_segments(m); i++) {
    const char *seg = hk_hl7_segment_name(m, i);
    bool ends = !seg || strcmp(seg, "ORC") == 0 || strcmp(seg, "RXE") == 0;

    /* An RXE group (RXE, TQ1, RXR, RXC) is written when the next begins. */
    if (ends && rxe >= 0) {
      unsigned r = (unsigned)rxe;
      int tq1 = -1, rxr = -1;
      for (unsigned j = r + 1; j < i; j++) {
        const char *sj = hk_hl7_segment_name(m, j);
        if (strcmp(sj, "TQ1") == 0 && tq1 < 0)
          tq1 = (int)j;
        else if (strcmp(sj, "RXR") == 0 && rxr < 0)
          rxr = (int)j;
      }
      const char *drug =
          hk_sx_first(hk_hl7_get_at(m, r, 2, 1, 2, 0), hk_hl7_get_at(m, r, 2, 1, 1, 0));
      const char *dose = hk_hl7_get_at(m, r, 3, 1, 1, 0);
      const char *dose_unit =
          hk_sx_first(hk_hl7_get_at(m, r, 5, 1, 2, 0), hk_hl7_get_at(m, r, 5, 1, 1, 0));
      const char *daily = hk_hl7_get_at(m, r, 19, 1, 1, 0);
      const char *daily_unit =
          hk_sx_first(hk_hl7_get_at(m, r, 19, 1, 2, 2), hk_hl7_get_at(m, r, 19, 1, 2, 1));
      const char *route = rxr < 0 ? NULL
                                  : hk_sx_first(hk_hl7_get_at(m, (unsigned)rxr, 1, 1, 2, 0),
                                                hk_hl7_get_at(m, (unsigned)rxr, 1, 1, 1, 0));
      const char *freq = tq1 < 0 ? NULL
                                 : hk_sx_first(hk_hl7_get_at(m, (unsigned)tq1, 3, 1, 1, 2),
                                               hk_hl7_get_at(m, (unsigned)tq1, 3, 1, 1, 1));
      const char *days = tq1 < 0 ? NULL : hk_hl7_get_at(m, (unsigned)tq1, 6, 1, 1, 0);
      const char *days_unit = tq1 < 0 ? NULL : hk_hl7_get_at(m, (unsigned)tq1, 6, 1, 2, 0);

      g_string_append_printf(s, "- %s", drug ? drug : "(no name)");
      if (dose)
        g_string_append_printf(s, "  1回 %s%s%s", dose, dose_unit ? " " : "",
                               dose_unit ? dose_unit : "");
      if (daily)
        g_string_append_printf(s, "  1日 %s%s%s", daily, daily_unit ? " " : "",
                               daily_unit ? daily_unit : "");
      if (route)
        g_string_append_printf(s, "  経路 %s", route);
      if (freq)
        g_string_append_printf(s, "  用法 %s", freq);
      if (days)
        g_string_append_printf(s, "  %s %s", days,
                               days_unit && strcmp(days_unit, "d") == 0 ? "日分"
                               : days_unit                              ? days_unit
                                                                        : "");
      g_string_append_c(s, '\n');
      for (unsigned j = r + 1; j < i; j++) {
        if (strcmp(hk_hl7_segment_name(m, j), "RXC") != 0)
          continue;
        const char *c =
            hk_sx_first(hk_hl7_get_at(m, j, 2, 1, 2, 0), hk_hl7_get_at(m, j, 2, 1, 1, 0));
        const char *amt = hk_hl7_get_at(m, j, 3, 1, 1, 0);
        const char *u =
            hk_sx_first(hk_hl7_get_at(m, j, 4, 1, 2, 0), hk_hl7_get_at(m, j, 4, 1, 1, 0));
        g_string_append_printf(s, "    %s %s%s%s\n", c ? c : "(no name)", amt ? amt : "",
                               u ? " " : "", u ? u : "");
      }
      rxe = -1;
    }
    if (seg && strcmp(seg, "RXE") == 0)
      rxe = (int)i;
  }
  return g_string_free(s, FALSE);
}

/* ------------------------------------------------------------ the batch */

typedef struct {
  char *dir;           /* root/pid[0:3]/pid[3:6]/pid */
  HkPatient *fallback; /* identity from some message, for gaps only */
} HkSxTouched;

static void
hk_sx_touched_free(HkSxTouched *t)
{
  g_free(t->dir);
  hk_patient_free(t->fallback);
  g_free(t);
}

typedef struct {
  const char *root;
  HkSsmix2Stats st;
  GHashTable *touched;     /* pid -> HkSxTouched* */
  const char *source_name; /* document IDs are namespaced by it */
  int64_t walk_started;
} HkSxBatch;

static void hk_sx_pid_identity(HkHl7Msg *m, HkPatient *p);

static void
hk_sx_touch(HkSxBatch *b, const HkSxEntry *e, HkHl7Msg *m)
{
  HkSxTouched *t = g_hash_table_lookup(b->touched, e->name.pid);

  if (!t) {
    t = g_new0(HkSxTouched, 1);
    t->dir = g_strdup(e->patient_dir);
    g_hash_table_insert(b->touched, g_strdup(e->name.pid), t);
  }
  if (!t->fallback && m) {
    t->fallback = hk_patient_new(e->name.pid);
    hk_sx_pid_identity(m, t->fallback);
  }
}

/* Quarantine e with reason. It is suspect (the tripwire's business, not
 * bad input) if source_id names a document we hold, whose file no longer
 * reads as one (what ransomware leaves behind), or if force_suspect says
 * so: a patient-fact message that cannot be read hides a clinical fact. */
static int
hk_sx_quarantine_at(HkSxBatch *b, hk_txn *t, const HkSxEntry *e, const char *path,
                    const char *reason, const char *source_id, bool force_suspect)
{
  HkQuarantine q = {0};
  char doc_id[HK_DOC_ID_LEN + 1];
  bool suspect = force_suspect;
  int ret;

  if (source_id && hk_store_find_doc(t, b->source_name, source_id, doc_id) == 0)
    suspect = true;
  q.source = (char *)path;
  q.kind = suspect ? "suspect" : "bad_input";
  q.reason = (char *)reason;
  q.at = hk_time_now();
  q.source_id = (char *)source_id;
  q.source_name = (char *)b->source_name;
  ret = hk_store_quarantine_add(t, &q);
  if (ret == 0) {
    if (suspect)
      b->st.suspect++;
    else
      b->st.quarantined++;
    hk_warn("SS-MIX2 %s quarantined (%s): %s", e->rel, q.kind, reason);
  }
  return ret;
}

static int
hk_sx_quarantine(HkSxBatch *b, hk_txn *t, const HkSxEntry *e, const char *reason,
                 const char *source_id, bool force_suspect)
{
  return hk_sx_quarantine_at(b, t, e, e->path, reason, source_id, force_suspect);
}

/* Was the version v superseded stored before the walk began? */
static bool
hk_sx_replaces_older(hk_txn *t, const HkVersion *v, int64_t walk_started)
{
  HkVersion *prev = NULL;
  bool older = v->version > 1 && hk_store_get_version(t, v->doc_id, v->version - 1, &prev) == 0 &&
               prev->ingested_at < walk_started;

  hk_version_free(prev);
  return older;
}

/* Write one document's bytes as the flag says. v is consumed. */
static int
hk_sx_put_document(HkSxBatch *b, hk_txn *t, const HkSxEntry *e, HkVersion *v, const void *data,
                   size_t len)
{
  char doc_id[HK_DOC_ID_LEN + 1];
  uint8_t digest[HK_SHA256_LEN];
  bool exists, added = false;
  int ret;

  if (!v->source_name)
    v->source_name = g_strdup(b->source_name);
  ret = hk_store_find_doc(t, v->source_name, v->source_id, doc_id);
  if (ret < 0 && ret != -HK_ENOTFOUND)
    goto out;
  exists = ret == 0;
  ret = 0;
  if (e->name.flag == 0) {
    /* Deleted at the source: keep every version, mark the current one. */
    if (exists) {
      g_autofree char *why =
          g_strdup_printf("deleted in SS-MIX2 storage (condition flag 0): %s", e->rel);
      ret = hk_store_withdraw(t, doc_id, why);
      if (ret == 0)
        b->st.withdrawn++;
    } else {
      b->st.nothing_to_withdraw++;
    }
    goto out;
  }
  if (e->name.flag == 2 && exists) {
    /* History of a document we already hold a newer version of. */
    b->st.history++;
    goto out;
  }
  ret = hk_sha256(data, len, digest);
  if (ret < 0)
    goto out;
  hk_sha256_hex(digest, v->sha256);
  v->size = len;
  ret = hk_store_put_blob(t, v->sha256, data, len, NULL);
  if (ret == 0)
    ret = hk_store_add_version(t, v, &added);
  /* Scanned PDFs and JPEGs from extended storage get thumbnails the way
   * drop-folder PDFs do: drawn after the commit by hk-thumbq.c. */
  if (ret == 0 && added && v->content_type &&
      (strcmp(v->content_type, "application/pdf") == 0 ||
       strcmp(v->content_type, "image/jpeg") == 0))
    ret = hk_store_queue_thumbnail(t, v->sha256);
  if (ret == 0) {
    if (added)
      b->st.added++;
    else
      b->st.same++;
  }
  /* A replacement of a version stored before this walk feeds the
   * indexer's replacement tripwire (hk-ssmix2-hook.c). */
  if (ret == 0 && added && exists && hk_sx_replaces_older(t, v, b->walk_started))
    b->st.replaced++;
out:
  hk_version_free(v);
  return ret;
}

static HkVersion *
hk_sx_version(const HkSxEntry *e, const char *source_id, const char *type, const char *title,
              const char *content_type, char *created, char *author, char *dept)
{
  HkVersion *v = hk_version_new();
  const char *loinc_name = NULL;
  const char *loinc = hk_version_type_loinc(type, &loinc_name);

  v->patient_id = g_strdup(e->name.pid);
  v->source_id = g_strdup(source_id);
  v->type = g_strdup(type);
  v->title = g_strdup(title);
  v->content_type = g_strdup(content_type);
  v->created_at = created;
  if (hk_time_parse(created, &v->created_usec) < 0)
    v->created_usec = 0;
  v->author = author;
  v->department = dept;
  v->source = g_strdup(e->path);
  v->code = g_strdup(loinc);
  v->code_name = g_strdup(loinc_name);
  return v;
}

/* The ORC of an order: who ordered it, from which department. */
static void
hk_sx_order_people(HkHl7Msg *m, char **author, char **dept)
{
  int orc = m ? hk_hl7_find(m, "ORC", 0) : -1;

  *author = NULL;
  *dept = NULL;
  if (orc < 0)
    return;
  *author = hk_sx_person(m, (unsigned)orc, 12, 2);
  *dept = g_strdup(hk_sx_first(hk_hl7_get_at(m, (unsigned)orc, 17, 1, 2, 0),
                               hk_hl7_get_at(m, (unsigned)orc, 17, 1, 1, 0)));
}

static int
hk_sx_standard_document(HkSxBatch *b, hk_txn *t, const HkSxEntry *e, HkHl7Msg *m,
                        const char *source_id)
{
  bool lab = strcmp(e->name.datatype, "OML-11") == 0;
  const char *title = lab                                       ? "検体検査結果"
                      : strcmp(e->name.datatype, "OMP-02") == 0 ? "注射オーダ"
                                                                : "処方オーダ";
  char *author, *dept, *text;
  int orc = hk_hl7_find(m, "ORC", 0), obr = hk_hl7_find(m, "OBR", 0);
  const char *when = NULL;
  int ret;

  hk_sx_order_people(m, &author, &dept);
  if (lab && obr >= 0)
    when = hk_sx_first(hk_hl7_get_at(m, (unsigned)obr, 22, 1, 1, 0),
                       hk_hl7_get_at(m, (unsigned)obr, 7, 1, 1, 0));
  if (!when && orc >= 0)
    when = hk_hl7_get_at(m, (unsigned)orc, 9, 1, 1, 0);
  text = lab ? hk_sx_observation_text(m, title, e, author, dept)
             : hk_sx_prescription_text(m, title, e, author, dept);
  ret = hk_sx_put_document(b, t, e,
                           hk_sx_version(e, source_id, lab ? "lab_report" : "prescription", title,
                                         "text/plain", hk_sx_created(m, when, e), author, dept),
                           text, strlen(text));
  g_free(text);
  return ret;
}

static const char *
hk_sx_sniff(const char *data, size_t len)
{
  if (len >= 5 && memcmp(data, "%PDF-", 5) == 0)
    return "application/pdf";
  if (len >= 3 && memcmp(data, "\xff\xd8\xff", 3) == 0)
    return "image/jpeg";
  /* CDA and other text: shown as text, if it is UTF-8. */
  if (len > 0 && g_utf8_validate_len(data, len, NULL))
    return "text/plain";
  return NULL;
}

/* One file of a content folder besides main_document.hl7. */
typedef struct {
  char *name;
  const char *ct; /* NULL: not read, or not PDF, JPEG or UTF-8 text */
  char *why;      /* why not, if ct is NULL */
} HkSxAttachment;

static void
hk_sx_attachment_clear(HkSxAttachment *a)
{
  g_free(a->name);
  g_free(a->why);
}

/* The current version of source_id, or NULL. */
static HkVersion *
hk_sx_current(HkSxBatch *b, hk_txn *t, const char *source_id)
{
  char doc_id[HK_DOC_ID_LEN + 1];
  HkVersion *v = NULL;

  if (hk_store_find_doc(t, b->source_name, source_id, doc_id) == 0 &&
      hk_store_get_version(t, doc_id, 0, &v) < 0)
    v = NULL;
  return v;
}

/* The attachment file the version v of this folder came from, or NULL
 * (the message's text, or a version written before attachments recorded
 * their own file). */
static const char *
hk_sx_version_file(const HkSxEntry *e, const HkVersion *v)
{
  size_t n = strlen(e->path);

  if (!v || !v->source || strncmp(v->source, e->path, n) != 0 || v->source[n] != '/')
    return NULL;
  return v->source + n + 1;
}

/* May new content of type ct become the current version after cur? A new
 * version of another type is refused (an encrypted or renamed attachment
 * made the message text current before). The one change allowed is from
 * the message's own text to an attachment: the text stood in for an
 * attachment that had not arrived yet. Sets *reason if not. */
static bool
hk_sx_may_replace(const HkSxEntry *e, const HkVersion *cur, const char *ct, const char *what,
                  char **reason)
{
  bool was_text =
      cur && hk_sx_version_file(e, cur) == NULL && g_strcmp0(cur->content_type, "text/plain") == 0;

  if (!cur || g_strcmp0(cur->content_type, ct) == 0 || (was_text && strcmp(what, "text") != 0))
    return true;
  *reason =
      g_strdup_printf("type changed: %s version %u is %s, the new content (%s) is %s; "
                      "version %u stays current",
                      cur->source_id, cur->version, cur->content_type, what, ct, cur->version);
  return false;
}

static HkVersion *
hk_sx_extended_version(const HkSxEntry *e, HkHl7Msg *m, const char *sid, const char *type,
                       const char *title, const char *ct, const char *when, const char *code,
                       const char *code_name)
{
  char *author, *dept;
  HkVersion *v;

  hk_sx_order_people(m, &author, &dept);
  if (!dept && e->name.dept && strcmp(e->name.dept, "-") != 0)
    dept = g_strdup(e->name.dept);
  v = hk_sx_version(e, sid, type, title, ct, hk_sx_created(m, when, e), author, dept);
  g_free(v->code);
  g_free(v->code_name);
  v->code = g_strdup(code);
  v->code_name = g_strdup(code_name);
  return v;
}

/* Does v, read without the content folder's message, lose what the
 * message gave the stored version prev (title, date, author, department)? */
static bool
hk_sx_lost_message(const HkVersion *prev, const HkVersion *v)
{
  return g_strcmp0(prev->title, v->title) != 0 || g_strcmp0(prev->created_at, v->created_at) != 0 ||
         g_strcmp0(prev->author, v->author) != 0 || g_strcmp0(prev->department, v->department) != 0;
}

/* Read one attachment for writing; the bytes must still be what the first
 * look found (ct), or the file changed under us. */
static int
hk_sx_attachment_put(HkSxBatch *b, hk_txn *t, const HkSxEntry *e, const HkSxAttachment *a,
                     HkVersion *v)
{
  g_autofree char *p = g_build_filename(e->path, a->name, NULL), *data = NULL, *why = NULL;
  size_t len = 0;
  int ret;

  g_free(v->source);
  v->source = g_strdup(p);
  if (hk_source_file_read(b->root, p, HK_SX_MAX_ATTACHMENT, &data, &len, &why) < 0 ||
      g_strcmp0(hk_sx_sniff(data, len), a->ct) != 0) {
    g_autofree char *r = g_strdup_printf("attachment %s changed while it was read%s%s", a->name,
                                         why ? ": " : "", why ? why : "");
    ret = hk_sx_quarantine_at(b, t, e, p, r, v->source_id, false);
    hk_version_free(v);
    goto out;
  }
  ret = hk_sx_put_document(b, t, e, v, data, len);
out:
  return ret;
}

/* A content folder: each PDF, JPEG or UTF-8 text attachment is a document
 * (the first, or the one the current version came from, under the order's
 * source_id; the others under "<source_id>:<file name>"); a folder with
 * none is the text of its message's observations. m is NULL when the folder
 * has no main_document.hl7 (several vendors write extended storage so):
 * the attachments are then typed from the data-type folder and dated by
 * the folder name alone.
 *
 * A new version that is of another type than the current one, or whose
 * attachment is missing or no longer reads, never becomes current: it is
 * quarantined as suspect, and the current version stays. */
static int
hk_sx_extended_document(HkSxBatch *b, hk_txn *t, const HkSxEntry *e, HkHl7Msg *m,
                        const char *source_id)
{
  const char *type = hk_ssmix2_doc_type(e->name.datatype);
  g_auto(GStrv) dt = g_strsplit(e->name.datatype, "^", 3);
  const char *code_name = dt[0] && dt[1] && *dt[1] ? dt[1] : NULL;
  int obr = m ? hk_hl7_find(m, "OBR", 0) : -1, txa = m ? hk_hl7_find(m, "TXA", 0) : -1;
  const char *title = NULL, *when = NULL, *loinc_name = NULL;
  g_autoptr(GPtrArray) names = hk_sx_list(e->path);
  GArray *att = g_array_new(FALSE, TRUE, sizeof(HkSxAttachment));
  /* Only a current (flag 1) folder replaces; flag 2 is history, flag 0 a
   * withdrawal (hk_sx_put_document). */
  bool judge = e->name.flag == 1;
  HkVersion *cur = hk_sx_current(b, t, source_id);
  const char *cur_file = hk_sx_version_file(e, cur);
  gint main_i = -1;
  bool main_refused = false;
  int ret = 0;

  g_array_set_clear_func(att, (GDestroyNotify)hk_sx_attachment_clear);
  if (obr >= 0)
    title = hk_sx_first(hk_hl7_get_at(m, (unsigned)obr, 4, 1, 2, 0), NULL);
  if (!title && txa >= 0)
    title = hk_hl7_get_at(m, (unsigned)txa, 2, 1, 2, 0);
  if (!title)
    title = code_name;
  if (!title) {
    hk_version_type_loinc(type, &loinc_name);
    title = loinc_name ? loinc_name : e->name.datatype;
  }
  if (txa >= 0)
    when = hk_hl7_get_at(m, (unsigned)txa, 4, 1, 1, 0);
  if (!when && obr >= 0)
    when = hk_hl7_get_at(m, (unsigned)obr, 7, 1, 1, 0);

  /* First look: what each file is. */
  for (guint i = 0; names && i < names->len; i++) {
    const char *fn = names->pdata[i];
    g_autofree char *p = g_build_filename(e->path, fn, NULL), *data = NULL;
    HkSxAttachment a = {g_strdup(fn), NULL, NULL};
    size_t len = 0;

    if (strcmp(fn, HK_SX_MAIN) == 0) {
      g_free(a.name);
      continue;
    }
    if (hk_source_file_read(b->root, p, HK_SX_MAX_ATTACHMENT, &data, &len, &a.why) == 0) {
      a.ct = hk_sx_sniff(data, len);
      if (!a.ct)
        a.why = g_strdup("not PDF, JPEG or UTF-8 text");
    }
    g_array_append_val(att, a);
  }
  /* Which attachment is the order's document: the one it was, while it
   * is there and reads; else the first that reads. */
  for (guint i = 0; cur_file && i < att->len; i++)
    if (strcmp(g_array_index(att, HkSxAttachment, i).name, cur_file) == 0)
      main_i = (gint)i;
  if (main_i >= 0 && !judge && !g_array_index(att, HkSxAttachment, main_i).ct)
    main_i = -1;
  if (judge && cur_file && (main_i < 0 || !g_array_index(att, HkSxAttachment, main_i).ct)) {
    g_autofree char *r =
        main_i < 0
            ? g_strdup_printf("attachment missing: %s, the file of %s version %u (%s), is no "
                              "longer in the content folder; version %u stays current",
                              cur_file, source_id, cur->version, cur->content_type, cur->version)
            : g_strdup_printf("attachment %s of %s no longer reads as %s: %s; version %u stays "
                              "current",
                              cur_file, source_id, cur->content_type,
                              g_array_index(att, HkSxAttachment, main_i).why, cur->version);
    g_autofree char *p = g_build_filename(e->path, cur_file, NULL);
    ret = hk_sx_quarantine_at(b, t, e, p, r, source_id, true);
    main_refused = true;
    main_i = -1;
  }
  for (guint i = 0; !main_refused && main_i < 0 && i < att->len; i++)
    if (g_array_index(att, HkSxAttachment, i).ct)
      main_i = (gint)i;

  for (guint i = 0; ret == 0 && i < att->len; i++) {
    const HkSxAttachment *a = &g_array_index(att, HkSxAttachment, i);
    g_autofree char *sid = NULL, *why = NULL, *p = NULL;
    HkVersion *old = NULL;

    if (main_refused && cur_file && strcmp(a->name, cur_file) == 0)
      continue; /* quarantined above */
    sid = (gint)i == main_i ? g_strdup(source_id) : g_strdup_printf("%s:%s", source_id, a->name);
    old = (gint)i == main_i ? NULL : hk_sx_current(b, t, sid);
    p = g_build_filename(e->path, a->name, NULL);
    if (!a->ct) {
      /* One that was a document is suspect; a new one is bad input, and
       * said so rather than dropped. */
      g_autofree char *r =
          old ? g_strdup_printf("attachment %s of %s no longer reads as %s: %s; version %u "
                                "stays current",
                                a->name, sid, old->content_type, a->why, old->version)
              : g_strdup_printf("attachment %s: %s; not archived", a->name, a->why);
      ret = hk_sx_quarantine_at(b, t, e, p, r, old ? sid : NULL, judge && old != NULL);
    } else if (judge &&
               !hk_sx_may_replace(e, (gint)i == main_i ? cur : old, a->ct, a->name, &why)) {
      ret = hk_sx_quarantine_at(b, t, e, p, why, sid, true);
    } else {
      HkVersion *v = hk_sx_extended_version(e, m, sid, type, title, a->ct, when, dt[0], code_name);
      const HkVersion *prev = (gint)i == main_i ? cur : old;
      if (judge && !m && prev && hk_sx_lost_message(prev, v)) {
        /* The message that named and dated this document is gone (renamed
         * away or deleted) while the attachment is still there: read
         * without it, the version would trade the current one's title,
         * date and people for the folder's. That is what ransomware leaves
         * halfway through a folder, not an edit. A vendor that never writes
         * the message gives the same fields every time, so it never gets
         * here. */
        g_autofree char *r = g_strdup_printf(
            "%s is gone from the content folder of %s, whose version %u was read with it; "
            "version %u stays current",
            HK_SX_MAIN, sid, prev->version, prev->version);
        g_autofree char *mp = g_build_filename(e->path, HK_SX_MAIN, NULL);
        hk_version_free(v);
        ret = hk_sx_quarantine_at(b, t, e, mp, r, sid, true);
      } else {
        ret = hk_sx_attachment_put(b, t, e, a, v);
      }
    }
    hk_version_free(old);
  }
  if (ret == 0 && main_i < 0 && !main_refused) {
    if (m) {
      /* No attachment: the message's own observations are the document. */
      g_autofree char *why = NULL;
      if (judge && !hk_sx_may_replace(e, cur, "text/plain", "text", &why)) {
        g_autofree char *r = g_strdup_printf("attachment missing or unreadable: %s", why);
        ret = hk_sx_quarantine(b, t, e, r, source_id, true);
      } else {
        HkVersion *v = hk_sx_extended_version(e, m, source_id, type, title, "text/plain", when,
                                              dt[0], code_name);
        g_autofree char *text = hk_sx_observation_text(m, title, e, v->author, v->department);
        ret = hk_sx_put_document(b, t, e, v, text, strlen(text));
      }
    } else {
      /* Neither a message nor an attachment that reads: say what is
       * missing, not an errno. */
      g_autofree char *r = g_strdup_printf(
          "content folder without %s and without a PDF, JPEG or text attachment (%u other "
          "file%s)%s",
          HK_SX_MAIN, att->len, att->len == 1 ? "" : "s", cur ? "; the current version stays" : "");
      ret = hk_sx_quarantine(b, t, e, r, source_id, judge && cur != NULL);
    }
  }
  hk_version_free(cur);
  g_array_unref(att);
  return ret;
}

static bool
hk_sx_is_patient_type(const char *dt)
{
  return strcmp(dt, "ADT-00") == 0 || strcmp(dt, "ADT-61") == 0 || strcmp(dt, "PPR-01") == 0 ||
         strcmp(dt, "ADT-22") == 0 || strcmp(dt, "ADT-42") == 0 || strcmp(dt, "ADT-52") == 0;
}

static bool
hk_sx_is_census_type(const char *dt)
{
  return strcmp(dt, "ADT-22") == 0 || strcmp(dt, "ADT-42") == 0 || strcmp(dt, "ADT-52") == 0;
}

static bool
hk_sx_is_order_type(const char *dt)
{
  return strcmp(dt, "OML-11") == 0 || strcmp(dt, "OMP-01") == 0 || strcmp(dt, "OMP-02") == 0;
}

static int
hk_sx_process(HkSxBatch *b, hk_txn *t, const HkSxEntry *e)
{
  g_autofree char *reason = NULL, *source_id = NULL, *main = NULL;
  HkHl7Msg *m = NULL;
  const char *path = e->path;
  bool fact;
  int ret = 0, r;

  if (!hk_sx_names_agree(e, &reason)) {
    ret = hk_sx_quarantine(b, t, e, reason, NULL, false);
    goto done;
  }
  source_id = g_strdup_printf("SSMIX2:%s:%s:%s", e->name.pid, e->name.datatype, e->name.order_no);
  if (e->kind == HK_SX_EXTENDED) {
    struct stat ms;
    path = main = g_build_filename(e->path, HK_SX_MAIN, NULL);
    if (g_lstat(main, &ms) != 0 && errno == ENOENT) {
      /* Extended storage as several vendors write it: the attachments
       * alone. */
      hk_sx_touch(b, e, NULL);
      ret = hk_sx_extended_document(b, t, e, NULL, source_id);
      goto done;
    }
  }
  r = hk_sx_load(b->root, path, e->name.pid, e->name.datatype, &m, &reason);
  if (r < 0) {
    fact = e->kind == HK_SX_STANDARD && hk_sx_is_patient_type(e->name.datatype);
    /* A patient-fact message that cannot be read is suspect; one that
     * names another patient is misfiled (bad input). Either way the
     * patient is re-derived, so that its header says the fact could not
     * be read, and keeps what it said before. */
    ret = hk_sx_quarantine(b, t, e, reason, source_id, fact && r != -HK_EPERM);
    if (ret == 0 && fact)
      hk_sx_touch(b, e, NULL);
    goto done;
  }
  b->st.messages++;
  hk_sx_touch(b, e, m);
  if (e->kind == HK_SX_EXTENDED)
    ret = hk_sx_extended_document(b, t, e, m, source_id);
  else if (hk_sx_is_order_type(e->name.datatype))
    ret = hk_sx_standard_document(b, t, e, m, source_id);
  else if (!hk_sx_is_patient_type(e->name.datatype))
    b->st.ignored++;
done:
  if (ret == 0)
    ret = hk_store_put_file_state(t, e->key, &e->st);
  hk_hl7_free(m);
  return ret;
}

/* ------------------------------------------------- the patient, derived */

static void
hk_sx_pid_identity(HkHl7Msg *m, HkPatient *p)
{
  int seg = hk_hl7_find(m, "PID", 0);
  unsigned reps;

  if (seg < 0)
    return;
  reps = hk_hl7_reps_at(m, (unsigned)seg, 5);
  for (unsigned r = 1; r <= reps; r++) {
    const char *fam = hk_hl7_get_at(m, (unsigned)seg, 5, r, 1, 0);
    const char *giv = hk_hl7_get_at(m, (unsigned)seg, 5, r, 2, 0);
    const char *code = hk_hl7_get_at(m, (unsigned)seg, 5, r, 8, 0);
    char **slot;

    /* A repetition one component short carries its representation code
     * (I ideographic, P phonetic) in component 7. */
    if (!code) {
      const char *c7 = hk_hl7_get_at(m, (unsigned)seg, 5, r, 7, 0);
      if (c7 && (strcmp(c7, "I") == 0 || strcmp(c7, "P") == 0 || strcmp(c7, "A") == 0))
        code = c7;
    }
    if (!code)
      code = r == 1 ? "I" : r == 2 ? "P" : "";
    slot = strcmp(code, "I") == 0 ? &p->name : strcmp(code, "P") == 0 ? &p->kana : NULL;
    if (!slot || *slot || (!fam && !giv))
      continue;
    *slot = fam && giv ? g_strdup_printf("%s %s", fam, giv) : g_strdup(fam ? fam : giv);
  }
  g_free(p->birth_date);
  p->birth_date = hk_hl7_ts_to_date(hk_hl7_get_at(m, (unsigned)seg, 7, 1, 1, 0));
  {
    const char *sex = hk_hl7_get_at(m, (unsigned)seg, 8, 1, 1, 0);
    g_free(p->sex);
    p->sex = sex && (strcmp(sex, "M") == 0 || strcmp(sex, "F") == 0 || strcmp(sex, "O") == 0 ||
                     strcmp(sex, "U") == 0)
                 ? g_strdup(sex)
                 : NULL;
  }
}

static const char *
hk_sx_allergy_type(const char *code)
{
  static const struct {
    const char *code, *name;
  } map[] = {
      {"DA", "drug"},   {"FA", "food"},  {"EA", "environmental"}, {"LA", "pollen"},
      {"AA", "animal"}, {"PA", "plant"}, {"MA", "miscellaneous"}, {"MC", "contraindication"},
  };

  for (size_t i = 0; code && i < G_N_ELEMENTS(map); i++)
    if (strcmp(code, map[i].code) == 0)
      return map[i].name;
  return code;
}

static void
hk_sx_add_allergy(GPtrArray *list, const char *allergen, const char *type, const char *reaction,
                  const char *severity)
{
  if (!allergen)
    return;
  for (guint i = 0; i < list->len; i++) {
    HkAllergy *a = list->pdata[i];
    if (strcmp(a->allergen, allergen) == 0) { /* the richer record wins */
      g_ptr_array_remove_index(list, i);
      break;
    }
  }
  g_ptr_array_add(list, hk_allergy_new(allergen, type, reaction, severity));
}

/* AL1 (ADT-00) or IAM (ADT-61) segments; IAM-6 action D deletes. */
static void
hk_sx_allergies(HkHl7Msg *m, GPtrArray *list)
{
  for (unsigned i = 0; i < hk_hl7_n_segments(m); i++) {
    const char *seg = hk_hl7_segment_name(m, i);
    bool iam = strcmp(seg, "IAM") == 0;
    const char *action;

    if (!iam && strcmp(seg, "AL1") != 0)
      continue;
    action = iam ? hk_hl7_get_at(m, i, 6, 1, 1, 0) : NULL;
    if (action && strcmp(action, "D") == 0)
      continue;
    hk_sx_add_allergy(
        list, hk_sx_first(hk_hl7_get_at(m, i, 3, 1, 2, 0), hk_hl7_get_at(m, i, 3, 1, 1, 0)),
        hk_sx_first(hk_sx_allergy_type(hk_hl7_get_at(m, i, 2, 1, 1, 0)),
                    hk_hl7_get_at(m, i, 2, 1, 2, 0)),
        hk_hl7_get_at(m, i, 5, 1, 0, 0),
        hk_sx_first(hk_hl7_get_at(m, i, 4, 1, 2, 0), hk_hl7_get_at(m, i, 4, 1, 1, 0)));
  }
}

static void
hk_sx_problems(HkHl7Msg *m, GPtrArray *list)
{
  for (unsigned i = 0; i < hk_hl7_n_segments(m); i++) {
    const char *action, *name, *code, *onset_ts;
    g_autofree char *onset = NULL;

    if (strcmp(hk_hl7_segment_name(m, i), "PRB") != 0)
      continue;
    action = hk_hl7_get_at(m, i, 1, 1, 1, 0);
    if (action && strcmp(action, "DE") == 0)
      continue;
    name = hk_sx_first(hk_hl7_get_at(m, i, 3, 1, 2, 0), hk_hl7_get_at(m, i, 3, 1, 1, 0));
    if (!name)
      continue;
    /* PRB-10 carries the ICD-10 code in SS-MIX2; PRB-3.1 a local one. */
    code = hk_sx_first(hk_hl7_get_at(m, i, 10, 1, 1, 0), hk_hl7_get_at(m, i, 3, 1, 1, 0));
    onset_ts = hk_sx_first(hk_hl7_get_at(m, i, 16, 1, 1, 0), hk_hl7_get_at(m, i, 7, 1, 1, 0));
    onset = hk_hl7_ts_to_date(onset_ts);
    g_ptr_array_add(list, hk_problem_new(code, name, onset));
  }
}

typedef enum {
  HK_SX_ADMIT = 1,
  HK_SX_TRANSFER = 2,
  HK_SX_DISCHARGE = 3,
} HkSxEventKind;

typedef struct {
  int kind;    /* HkSxEventKind, negative for its cancel */
  char *when;  /* sort key: 14 digits */
  char *stamp; /* file name time stamp, the tie-break */
  char *ward, *room, *bed, *prior_ward, *prior_room, *prior_bed;
  char *admitted_at;
} HkSxEvent;

static void
hk_sx_event_free(HkSxEvent *ev)
{
  g_free(ev->when);
  g_free(ev->stamp);
  g_free(ev->ward);
  g_free(ev->room);
  g_free(ev->bed);
  g_free(ev->prior_ward);
  g_free(ev->prior_room);
  g_free(ev->prior_bed);
  g_free(ev->admitted_at);
  g_free(ev);
}

static gint
hk_sx_event_cmp(gconstpointer pa, gconstpointer pb)
{
  const HkSxEvent *a = *(HkSxEvent *const *)pa, *b = *(HkSxEvent *const *)pb;
  int r = strcmp(a->when, b->when);

  if (!r)
    r = strcmp(a->stamp, b->stamp);
  if (!r) /* same instant: an event before its cancel */
    r = (a->kind < 0) - (b->kind < 0);
  return r;
}

static char *
hk_sx_sort_key(const char *ts)
{
  char buf[15];
  size_t n = 0;

  for (const char *p = ts; p && *p && g_ascii_isdigit(*p) && n < 14; p++)
    buf[n++] = *p;
  if (n < 8)
    return NULL;
  while (n < 14)
    buf[n++] = '0';
  buf[14] = '\0';
  return g_strdup(buf);
}

static HkSxEvent *
hk_sx_event(HkHl7Msg *m, const char *datatype, const HkSsmix2Name *name)
{
  const char *trigger = hk_hl7_get_at(m, 0, 9, 1, 2, 0);
  int pv1 = hk_hl7_find(m, "PV1", 0), evn = hk_hl7_find(m, "EVN", 0);
  HkSxEvent *ev;
  int kind = 0;
  const char *when = NULL;

  if (trigger) {
    static const struct {
      const char *t;
      int kind;
    } map[] = {
        {"A01", HK_SX_ADMIT},     {"A11", -HK_SX_ADMIT},    {"A02", HK_SX_TRANSFER},
        {"A12", -HK_SX_TRANSFER}, {"A03", HK_SX_DISCHARGE}, {"A13", -HK_SX_DISCHARGE},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
      if (strcmp(trigger, map[i].t) == 0)
        kind = map[i].kind;
  } else {
    kind = strcmp(datatype, "ADT-22") == 0   ? HK_SX_ADMIT
           : strcmp(datatype, "ADT-42") == 0 ? HK_SX_TRANSFER
                                             : HK_SX_DISCHARGE;
  }
  if (!kind || pv1 < 0)
    return NULL;
  ev = g_new0(HkSxEvent, 1);
  ev->kind = kind;
  /* When it happened: EVN-6, the admit/discharge time of PV1, EVN-2, the
   * date folder, the file's time stamp. */
  if (evn >= 0)
    when = hk_hl7_get_at(m, (unsigned)evn, 6, 1, 1, 0);
  if (!when && kind == HK_SX_ADMIT)
    when = hk_hl7_get_at(m, (unsigned)pv1, 44, 1, 1, 0);
  if (!when && kind == HK_SX_DISCHARGE)
    when = hk_hl7_get_at(m, (unsigned)pv1, 45, 1, 1, 0);
  if (!when && evn >= 0)
    when = hk_hl7_get_at(m, (unsigned)evn, 2, 1, 1, 0);
  ev->when = hk_sx_sort_key(when);
  if (!ev->when)
    ev->when = hk_sx_sort_key(name->date);
  if (!ev->when)
    ev->when = hk_sx_sort_key(name->timestamp);
  if (!ev->when)
    ev->when = g_strdup("00000000000000");
  ev->stamp = g_strdup(name->timestamp);
  ev->ward = g_strdup(hk_hl7_get_at(m, (unsigned)pv1, 3, 1, 1, 0));
  ev->room = g_strdup(hk_hl7_get_at(m, (unsigned)pv1, 3, 1, 2, 0));
  ev->bed = g_strdup(hk_hl7_get_at(m, (unsigned)pv1, 3, 1, 3, 0));
  ev->prior_ward = g_strdup(hk_hl7_get_at(m, (unsigned)pv1, 6, 1, 1, 0));
  ev->prior_room = g_strdup(hk_hl7_get_at(m, (unsigned)pv1, 6, 1, 2, 0));
  ev->prior_bed = g_strdup(hk_hl7_get_at(m, (unsigned)pv1, 6, 1, 3, 0));
  ev->admitted_at = hk_hl7_ts_to_rfc3339(
      hk_sx_first(hk_hl7_get_at(m, (unsigned)pv1, 44, 1, 1, 0), kind == HK_SX_ADMIT ? when : NULL));
  return ev;
}

typedef struct {
  int kind;
  HkAdmission *before; /* NULL: not admitted */
} HkSxUndo;

static HkAdmission *
hk_sx_adm_copy(const HkAdmission *a)
{
  return a ? hk_admission_new(a->ward, a->room, a->bed, a->admitted_at) : NULL;
}

/* Replay admissions, transfers, discharges and their cancels in time
 * order; the result is the current admission or NULL. */
static HkAdmission *
hk_sx_replay(GPtrArray *events)
{
  HkAdmission *cur = NULL;
  GArray *undo = g_array_new(FALSE, FALSE, sizeof(HkSxUndo));
  bool seen = false;

  g_ptr_array_sort(events, hk_sx_event_cmp);
  for (guint i = 0; i < events->len; i++) {
    const HkSxEvent *ev = events->pdata[i];

    if (ev->kind > 0) {
      HkSxUndo u = {ev->kind, hk_sx_adm_copy(cur)};
      if (ev->kind == HK_SX_TRANSFER && !cur && seen) {
        /* A transfer of someone not admitted (after a discharge): the
         * messages disagree; trust the discharge. */
        hk_admission_free(u.before);
        continue;
      }
      g_array_append_val(undo, u);
      if (ev->kind == HK_SX_DISCHARGE) {
        g_clear_pointer(&cur, hk_admission_free);
      } else {
        char *at = ev->kind == HK_SX_ADMIT ? g_strdup(ev->admitted_at)
                   : cur                   ? g_strdup(cur->admitted_at)
                                           : NULL;
        hk_admission_free(cur);
        cur = hk_admission_new(ev->ward, ev->room, ev->bed, at);
        g_free(at);
      }
    } else {
      /* A cancel restores what was before the last event it cancels. */
      gint found = -1;
      for (gint j = (gint)undo->len - 1; j >= 0 && found < 0; j--)
        if (g_array_index(undo, HkSxUndo, j).kind == -ev->kind)
          found = j;
      if (found >= 0) {
        hk_admission_free(cur);
        cur = hk_sx_adm_copy(g_array_index(undo, HkSxUndo, found).before);
        for (guint j = (guint)found; j < undo->len; j++)
          hk_admission_free(g_array_index(undo, HkSxUndo, j).before);
        g_array_set_size(undo, (guint)found);
      } else if (ev->kind == -HK_SX_TRANSFER && cur && ev->prior_ward) {
        char *at = g_strdup(cur->admitted_at);
        hk_admission_free(cur);
        cur = hk_admission_new(ev->prior_ward, ev->prior_room, ev->prior_bed, at);
        g_free(at);
      }
    }
    seen = true;
  }
  for (guint j = 0; j < undo->len; j++)
    hk_admission_free(g_array_index(undo, HkSxUndo, j).before);
  g_array_free(undo, TRUE);
  return cur;
}

typedef struct {
  char *adt00, *adt00_ts; /* the newest current patient master */
  char *adt61, *adt61_ts; /* the newest current allergy list */
  GPtrArray *problems;    /* HkProblem* */
  GPtrArray *events;      /* HkSxEvent* */
  GString *problems_bad;  /* why PPR-01 files could not be read ("" if none) */
  GString *events_bad;    /* same for the census messages */
} HkSxFacts;

static bool
hk_sx_newer(const HkSsmix2Name *n, const char *best_ts)
{
  return !best_ts || strcmp(n->timestamp, best_ts) > 0;
}

/* Add "TYPE file: why" to a list of reasons, keeping it short: the
 * quarantine has every record, the header needs the first few. */
static void
hk_sx_why(GString *s, const char *dt, const char *path, const char *why)
{
  g_autofree char *base = g_path_get_basename(path);

  if (s->len > 1024) {
    if (!g_str_has_suffix(s->str, "; ..."))
      g_string_append(s, "; ...");
    return;
  }
  g_string_append_printf(s, "%s%s %s: %s", s->len ? "; " : "", dt, base, why);
}

/* Read every current file of the patient that carries patient facts. */
static void
hk_sx_collect(const char *root, const char *dir, const char *pid, HkSxFacts *f)
{
  g_autoptr(GPtrArray) dates = hk_sx_list(dir);

  for (guint d = 0; dates && d < dates->len; d++) {
    g_autofree char *dpath = g_build_filename(dir, dates->pdata[d], NULL);
    g_autoptr(GPtrArray) types = hk_sx_list(dpath);
    for (guint k = 0; types && k < types->len; k++) {
      const char *dt = types->pdata[k];
      g_autofree char *tpath = NULL;
      g_autoptr(GPtrArray) files = NULL;
      if (!hk_sx_is_patient_type(dt))
        continue;
      tpath = g_build_filename(dpath, dt, NULL);
      files = hk_sx_list(tpath);
      for (guint i = 0; files && i < files->len; i++) {
        g_autofree char *fpath = g_build_filename(tpath, files->pdata[i], NULL);
        g_autofree char *why = NULL;
        HkSsmix2Name n;
        HkHl7Msg *m = NULL;
        struct stat st;

        if (hk_ssmix2_name_parse(files->pdata[i], dt, &n, NULL) < 0)
          continue;
        /* Only current files whose name agrees with their folders. */
        if (n.flag != 1 || strcmp(n.pid, pid) != 0 || strcmp(n.datatype, dt) != 0 ||
            strcmp(n.date, dates->pdata[d]) != 0 || g_lstat(fpath, &st) != 0 ||
            !S_ISREG(st.st_mode))
          goto next;
        if (strcmp(dt, "ADT-00") == 0 || strcmp(dt, "ADT-61") == 0) {
          char **best = dt[4] == '0' ? &f->adt00 : &f->adt61;
          char **best_ts = dt[4] == '0' ? &f->adt00_ts : &f->adt61_ts;
          if (hk_sx_newer(&n, *best_ts)) {
            g_free(*best);
            g_free(*best_ts);
            *best = g_strdup(fpath);
            *best_ts = g_strdup(n.timestamp);
          }
          goto next;
        }
        if (hk_sx_load(root, fpath, pid, dt, &m, &why) < 0) {
          /* Every current file is part of the list: one unread file
           * makes the whole list unknown, not shorter. */
          hk_sx_why(strcmp(dt, "PPR-01") == 0 ? f->problems_bad : f->events_bad, dt, fpath, why);
          goto next;
        }
        if (strcmp(dt, "PPR-01") == 0) {
          hk_sx_problems(m, f->problems);
        } else {
          HkSxEvent *ev = hk_sx_event(m, dt, &n);
          if (ev)
            g_ptr_array_add(f->events, ev);
        }
      next:
        hk_hl7_free(m);
        hk_ssmix2_name_clear(&n);
      }
    }
  }
}

static bool
hk_sx_has_problem(GPtrArray *list, const HkProblem *p)
{
  for (guint i = 0; i < list->len; i++) {
    const HkProblem *q = list->pdata[i];
    if (g_strcmp0(q->name, p->name) == 0 && g_strcmp0(q->code, p->code) == 0)
      return true;
  }
  return false;
}

/* Re-derive the patient from every current file of its folder. A fact
 * whose messages cannot all be read is not re-derived: it keeps what the
 * store said (plus what the readable messages add, so that an allergy is
 * never hidden), and is marked unreadable with the reason. A fact whose
 * messages all read is replaced whole, even by an empty list: that is how
 * SS-MIX2 withdraws an allergy. */
static int
hk_sx_refresh_patient(HkSxBatch *b, hk_txn *t, const char *pid, const HkSxTouched *tp)
{
  HkSxFacts f = {0};
  HkPatient *p = NULL;
  HkHl7Msg *m = NULL;
  g_autofree char *why = NULL;
  GPtrArray *allergies = NULL;
  GString *allergies_bad = g_string_new(NULL);
  int64_t now = hk_time_now();
  int ret;

  f.problems = g_ptr_array_new_with_free_func((GDestroyNotify)hk_problem_free);
  f.events = g_ptr_array_new_with_free_func((GDestroyNotify)hk_sx_event_free);
  f.problems_bad = g_string_new(NULL);
  f.events_bad = g_string_new(NULL);
  hk_sx_collect(b->root, tp->dir, pid, &f);
  ret = hk_store_get_patient(t, pid, &p);
  if (ret == -HK_ENOTFOUND) {
    p = hk_patient_new(pid);
    ret = 0;
  }
  if (ret < 0)
    goto out;
  allergies = g_ptr_array_new_with_free_func((GDestroyNotify)hk_allergy_free);
  if (f.adt00 && hk_sx_load(b->root, f.adt00, pid, "ADT-00", &m, &why) == 0) {
    g_autoptr(HkPatient) src = hk_patient_new(pid);
    src->origin = HK_PATIENT_FROM_SSMIX2;
    hk_sx_pid_identity(m, src);
    hk_patient_merge_identity(p, src);
    hk_sx_allergies(m, allergies);
    g_clear_pointer(&m, hk_hl7_free);
  } else {
    /* No patient master, or one that cannot be read: other messages' PID
     * may only fill gaps (their PID-7 can be wrong, as a corpus ADT-52
     * shows). */
    if (f.adt00)
      hk_sx_why(allergies_bad, "ADT-00", f.adt00, why);
    if (tp->fallback) {
      if (!p->name)
        p->name = g_strdup(tp->fallback->name);
      if (!p->kana)
        p->kana = g_strdup(tp->fallback->kana);
      if (!p->birth_date)
        p->birth_date = g_strdup(tp->fallback->birth_date);
      if (!p->sex)
        p->sex = g_strdup(tp->fallback->sex);
    }
  }
  g_clear_pointer(&why, g_free);
  if (f.adt61 && hk_sx_load(b->root, f.adt61, pid, "ADT-61", &m, &why) == 0) {
    hk_sx_allergies(m, allergies);
    g_clear_pointer(&m, hk_hl7_free);
  } else if (f.adt61) {
    hk_sx_why(allergies_bad, "ADT-61", f.adt61, why);
  }
  /* SS-MIX2 is the only source of these three: what it says now is all,
   * when all of it could be read. */
  if (allergies_bad->len) {
    for (guint i = 0; i < allergies->len; i++) {
      const HkAllergy *a = allergies->pdata[i];
      hk_sx_add_allergy(p->allergies, a->allergen, a->type, a->reaction, a->severity);
    }
    hk_fact_set_unreadable(&p->allergies_unreadable, allergies_bad->str, now);
  } else {
    g_ptr_array_unref(p->allergies);
    p->allergies = allergies;
    allergies = NULL;
    hk_fact_clear(&p->allergies_unreadable);
  }
  if (f.problems_bad->len) {
    for (guint i = 0; i < f.problems->len; i++) {
      const HkProblem *q = f.problems->pdata[i];
      if (!hk_sx_has_problem(p->problems, q))
        g_ptr_array_add(p->problems, hk_problem_new(q->code, q->name, q->onset));
    }
    hk_fact_set_unreadable(&p->problems_unreadable, f.problems_bad->str, now);
  } else {
    g_ptr_array_unref(p->problems);
    p->problems = f.problems;
    f.problems = NULL;
    hk_fact_clear(&p->problems_unreadable);
  }
  if (f.events_bad->len) {
    /* Where a patient lies cannot be merged: the last known bed stays. */
    hk_fact_set_unreadable(&p->admission_unreadable, f.events_bad->str, now);
  } else {
    hk_admission_free(p->admission);
    p->admission = hk_sx_replay(f.events);
    hk_fact_clear(&p->admission_unreadable);
  }
  ret = hk_store_put_patient(t, p);
  if (ret == 0)
    b->st.patients++;
out:
  hk_hl7_free(m);
  hk_patient_free(p);
  if (allergies)
    g_ptr_array_unref(allergies);
  if (f.problems)
    g_ptr_array_unref(f.problems);
  g_ptr_array_unref(f.events);
  g_string_free(f.problems_bad, TRUE);
  g_string_free(f.events_bad, TRUE);
  g_string_free(allergies_bad, TRUE);
  g_free(f.adt00);
  g_free(f.adt00_ts);
  g_free(f.adt61);
  g_free(f.adt61_ts);
  return ret;
}

/* ------------------------------------------------------------- the scan */

static void
hk_sx_stats_add(HkSsmix2Stats *to, const HkSsmix2Stats *from)
{
  const uint64_t *f = (const uint64_t *)from;
  uint64_t *t = (uint64_t *)to;

  for (size_t i = 0; i < sizeof *from / sizeof(uint64_t); i++)
    t[i] += f[i];
}

static int
hk_sx_run_batch(hk_store *s, const char *source_name, int64_t started, const char *root,
                GPtrArray *todo, guint from, guint to, HkSsmix2Stats *total)
{
  int ret;

  for (;;) {
    HkSxBatch b = {root, {0}, NULL, source_name, started};
    hk_txn *t = NULL;
    GHashTableIter it;
    gpointer k, v;

    b.touched =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)hk_sx_touched_free);
    ret = hk_txn_begin(s, true, &t);
    /* Sealed since the walk began (hikae-admin seal): write nothing. */
    if (ret == 0)
      ret = hk_store_check_unsealed(t);
    for (guint i = from; ret == 0 && i < to; i++)
      ret = hk_sx_process(&b, t, todo->pdata[i]);
    g_hash_table_iter_init(&it, b.touched);
    while (ret == 0 && g_hash_table_iter_next(&it, &k, &v))
      ret = hk_sx_refresh_patient(&b, t, k, v);
    if (ret == 0) {
      ret = hk_txn_commit(t);
      t = NULL;
    }
    hk_txn_abort(t);
    g_hash_table_unref(b.touched);
    if (ret == -HK_ESPACE) {
      /* The map is full: grow it and redo the whole batch, so that a file
       * is either entirely in the store or not at all. */
      ret = hk_store_grow(s);
      if (ret == 0) {
        total->grows++;
        continue;
      }
    }
    if (ret == 0) {
      b.st.commits++;
      hk_sx_stats_add(total, &b.st);
    }
    break;
  }
  return ret;
}

int
hk_ssmix2_scan(hk_store *s, const char *root, HkSsmix2Stats *stats)
{
  return hk_ssmix2_scan_named(s, HK_SOURCE_SSMIX2_DEFAULT, root, stats);
}

int
hk_ssmix2_scan_named(hk_store *s, const char *source_name, const char *root, HkSsmix2Stats *stats)
{
  int64_t started = hk_time_now();
  HkSsmix2Stats local = {0};
  HkSxWalk w = {root, NULL};
  GPtrArray *todo = NULL;
  HkIndexerInfo info = {0};
  hk_txn *t = NULL;
  struct stat st;
  int ret;

  if (!root || !hk_sx_is_dir(root, &st) || access(root, R_OK | X_OK) != 0) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  w.entries = g_ptr_array_new_with_free_func((GDestroyNotify)hk_sx_entry_free);
  todo = g_ptr_array_new();
  hk_sx_walk(&w);
  local.files = w.entries->len;
  /* Which files changed since the last walk (one read snapshot). */
  ret = hk_txn_begin(s, false, &t);
  if (ret < 0)
    goto out;
  if (hk_store_get_indexer(t, &info) == 0 && info.state == HK_INDEXER_SEALED) {
    ret = -HK_ESEALED;
    goto out;
  }
  for (guint i = 0; i < w.entries->len; i++) {
    HkSxEntry *e = w.entries->pdata[i];
    HkFileState old;
    int r = hk_store_get_file_state(t, e->key, &old);

    if (r == 0 && memcmp(&old, &e->st, sizeof old) == 0) {
      local.unchanged++;
      continue;
    }
    if (r < 0 && r != -HK_ENOTFOUND) {
      ret = r;
      goto out;
    }
    e->seen_before = r == 0;
    g_ptr_array_add(todo, e);
  }
  hk_txn_abort(t);
  t = NULL;
  g_ptr_array_sort(todo, hk_sx_entry_cmp);
  for (guint i = 0; i < todo->len; i += HK_SX_BATCH) {
    ret = hk_sx_run_batch(s, source_name, started, root, todo, i, MIN(todo->len, i + HK_SX_BATCH),
                          &local);
    if (ret < 0)
      goto out;
  }
  if (todo->len)
    hk_info("SS-MIX2 %s: %" G_GUINT64_FORMAT " changed files, %" G_GUINT64_FORMAT
            " versions added, %" G_GUINT64_FORMAT " withdrawn, %" G_GUINT64_FORMAT
            " patients, %" G_GUINT64_FORMAT " quarantined",
            root, (uint64_t)todo->len, local.added, local.withdrawn, local.patients,
            local.quarantined + local.suspect);
out:
  hk_txn_abort(t);
  hk_indexer_info_clear(&info);
  if (stats)
    hk_sx_stats_add(stats, &local);
  if (todo)
    g_ptr_array_unref(todo);
  if (w.entries)
    g_ptr_array_unref(w.entries);
  return ret;
}

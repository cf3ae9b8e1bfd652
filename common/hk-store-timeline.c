/* hk-store-timeline.c: the per-patient timeline read.
 * See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"

#include <stdio.h>
#include <string.h>

/* What the walk hands each entry to: its document ID (8 bytes) and its
 * row, decoded if the walk had to read it (a type filter) and else NULL. */
typedef int (*HkEntryFunc)(const uint8_t id[8], const MDB_val *v, const HkRow *row, void *data);

/* Walk the timeline of patient_id newest first as q asks, calling fn for
 * each entry; *next_cursor is set if more may follow. */
static int
hk_timeline_walk(hk_txn *t, const char *patient_id, const HkTimelineQuery *q, HkEntryFunc fn,
                 void *data, char **next_cursor)
{
  MDB_cursor *c = NULL;
  uint8_t key[HK_PATIENT_ID_MAX + 17], id[8];
  MDB_val k, v;
  size_t plen = strlen(patient_id);
  unsigned n = 0;
  int64_t last_created = 0;
  uint8_t last_id[8];
  HkRow row;
  int rc, ret = 0;

  *next_cursor = NULL;
  if (plen == 0 || plen > HK_PATIENT_ID_MAX || q->limit == 0 || q->limit > 1000) {
    ret = -HK_EINVAL;
    goto out;
  }
  memcpy(key, patient_id, plen);
  key[plen] = 0;
  if (q->cursor) {
    /* cursor = <created_usec>.<doc id>: continue strictly before it. */
    char **parts = g_strsplit(q->cursor, ".", 2);
    gint64 when;
    char *end = NULL;
    bool ok = parts[0] && parts[1];
    if (ok) {
      when = g_ascii_strtoll(parts[0], &end, 10);
      ok = end && end != parts[0] && *end == 0 && hk_version_doc_id_bin(parts[1], id) == 0;
    }
    if (ok) {
      hk_be64(key + plen + 1, hk_time_key(when));
      memcpy(key + plen + 9, id, 8);
    }
    g_strfreev(parts);
    if (!ok) {
      ret = -HK_EINVAL;
      goto out;
    }
  } else {
    int64_t to = q->to_usec == INT64_MAX ? INT64_MAX : q->to_usec;
    hk_be64(key + plen + 1, hk_time_key(to));
    memset(key + plen + 9, 0xff, 8);
  }
  ret = hk_cursor(t, DB_TIMELINE, &c);
  if (ret)
    goto out;
  k.mv_data = key;
  k.mv_size = plen + 17;
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND)
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  else if (rc == 0) /* found >= start; we want strictly before it */
    rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
  for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_PREV)) {
    const uint8_t *kp = k.mv_data;
    int64_t created;
    if (k.mv_size != plen + 17 || memcmp(kp, key, plen + 1) != 0)
      break;
    created = (int64_t)(hk_rd64(kp + plen + 1) ^ (1ull << 63));
    if (created > q->to_usec)
      continue;
    if (created < q->from_usec)
      break;
    /* The entry's value is the document's row (format 5): the type filter
     * reads the current version's type from it. */
    if (q->type) {
      ret = hk_row_decode(v.mv_data, v.mv_size, &row);
      if (ret)
        break;
      if (row.type.len != strlen(q->type) || memcmp(row.type.p, q->type, row.type.len) != 0)
        continue;
    }
    if (n == q->limit) {
      /* One more exists: the cursor points at the last one returned, by
       * the date of its row (a document moved to another patient keeps
       * its row here at the date it had). */
      char last[HK_DOC_ID_LEN + 1];
      hk_version_doc_id_hex(last_id, last);
      *next_cursor = g_strdup_printf("%" G_GINT64_FORMAT ".%s", last_created, last);
      break;
    }
    memcpy(last_id, kp + plen + 9, 8);
    last_created = created;
    n++;
    ret = fn(last_id, &v, q->type ? &row : NULL, data);
    if (ret)
      break;
  }
  if (ret == 0 && rc && rc != MDB_NOTFOUND)
    ret = hk_mdb_err(rc);
out:
  if (c)
    mdb_cursor_close(c);
  if (ret)
    g_clear_pointer(next_cursor, g_free);
  return ret;
}

static int
hk_timeline_id(const uint8_t id[8], const MDB_val *v, const HkRow *row, void *data)
{
  GPtrArray *doc_ids = data;
  char hex[HK_DOC_ID_LEN + 1];

  (void)v;
  (void)row;
  hk_version_doc_id_hex(id, hex);
  g_ptr_array_add(doc_ids, g_strdup(hex));
  return 0;
}

int
hk_store_timeline(hk_txn *t, const char *patient_id, const HkTimelineQuery *q, GPtrArray *doc_ids,
                  char **next_cursor)
{
  return hk_timeline_walk(t, patient_id, q, hk_timeline_id, doc_ids, next_cursor);
}

typedef struct {
  HkRowFunc fn;
  void *data;
} HkRowWalk;

/* One timeline entry's row: in the entry itself, so no lookup, and no
 * parse but the fixed fields and the bounds of the lists. */
static int
hk_timeline_row(const uint8_t id[8], const MDB_val *v, const HkRow *decoded, void *data)
{
  HkRowWalk *w = data;
  HkRow row;
  int ret = 0;

  (void)id;
  if (decoded)
    row = *decoded;
  else
    ret = hk_row_decode(v->mv_data, v->mv_size, &row);
  if (ret == 0)
    ret = w->fn(&row, w->data);
  return ret;
}

int
hk_store_timeline_rows(hk_txn *t, const char *patient_id, const HkTimelineQuery *q, HkRowFunc fn,
                       void *data, char **next_cursor)
{
  HkRowWalk w = {fn, data};

  return hk_timeline_walk(t, patient_id, q, hk_timeline_row, &w, next_cursor);
}

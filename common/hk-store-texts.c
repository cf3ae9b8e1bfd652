/* hk-store-texts.c: `texts` (a status record per version), `text_pages` (a
 * record per page), `textq` (the versions whose text is still to be
 * extracted) and `textlog` (the texts stored, in order, for the full-text
 * index). See hk-store-private.h for what the files of the store share,
 * docs/store.md ("Texts") for the layout. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-version.h"

#include <string.h>

#define HK_TEXT_KEY 12      /* document ID (8) + version (4) */
#define HK_TEXT_PAGE_KEY 16 /* + page (4) */
#define HK_TEXT_SEQ_KEY "text_seq"

int
hk_store_text_seq(hk_txn *t, uint64_t *seq)
{
  MDB_val v;
  int ret = hk_get(t, DB_META, HK_TEXT_SEQ_KEY, strlen(HK_TEXT_SEQ_KEY), &v);

  *seq = 0;
  if (ret == -HK_ENOTFOUND)
    ret = 0;
  else if (ret == 0 && v.mv_size != 8)
    ret = -HK_ECORRUPT;
  else if (ret == 0)
    *seq = hk_rd64(v.mv_data);
  return ret;
}

int
hk_store_textq_count(hk_txn *t, uint64_t *n)
{
  *n = hk_entries(t, DB_TEXTQ);
  return 0;
}

/* Take the next text sequence number and log key (document, version)
 * under it. */
static int
hk_text_log_put(hk_txn *t, const uint8_t key[HK_TEXT_KEY])
{
  uint8_t seqb[8];
  uint64_t seq;
  int ret = hk_store_text_seq(t, &seq);

  if (ret)
    goto out;
  hk_be64(seqb, seq + 1);
  ret = hk_put(t, DB_META, HK_TEXT_SEQ_KEY, strlen(HK_TEXT_SEQ_KEY), seqb, sizeof seqb, 0);
  if (ret == 0)
    ret = hk_put(t, DB_TEXTLOG, seqb, sizeof seqb, key, HK_TEXT_KEY, 0);
out:
  return ret;
}

int
hk_store_text_log(hk_txn *t, uint64_t after, unsigned max, GArray *out)
{
  MDB_cursor *c = NULL;
  uint8_t first[8];
  MDB_val k = {sizeof first, first}, v;
  int rc, ret;

  if (after == UINT64_MAX)
    return 0;
  hk_be64(first, after + 1);
  ret = hk_cursor(t, DB_TEXTLOG, &c);
  if (ret == -HK_ENOTFOUND && t->store->absent[DB_TEXTLOG])
    ret = 0;
  if (ret || !c)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && out->len < max;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkTextLogEntry e;
    /* verify names a malformed entry; the index skips it. */
    if (k.mv_size != 8 || v.mv_size != HK_TEXT_KEY)
      continue;
    e.seq = hk_rd64(k.mv_data);
    hk_version_doc_id_hex(v.mv_data, e.doc_id);
    e.version = (uint32_t)hk_row_get((const uint8_t *)v.mv_data + 8, 4);
    g_array_append_val(out, e);
  }
  if (rc && rc != MDB_NOTFOUND)
    ret = hk_mdb_err(rc);
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_foreach_text(hk_txn *t, HkTextKeyFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_TEXTS, &c);
  if (ret == -HK_ENOTFOUND && t->store->absent[DB_TEXTS])
    ret = 0;
  if (ret || !c)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkTextKey e;
    if (k.mv_size != HK_TEXT_KEY)
      continue;
    hk_version_doc_id_hex(k.mv_data, e.doc_id);
    e.version = (uint32_t)hk_row_get((const uint8_t *)k.mv_data + 8, 4);
    ret = fn(&e, data);
  }
  if (ret == 0 && rc && rc != MDB_NOTFOUND)
    ret = hk_mdb_err(rc);
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_get_id(hk_txn *t, char out[HK_STORE_ID_MAX + 1])
{
  MDB_val v;
  int ret = hk_get(t, DB_META, "store_id", 8, &v);

  if (ret == 0 && (v.mv_size == 0 || v.mv_size > HK_STORE_ID_MAX))
    ret = -HK_ECORRUPT;
  if (ret == 0) {
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = 0;
  }
  return ret;
}

static int
hk_text_key(uint8_t key[HK_TEXT_KEY], const char *doc_id, uint32_t version)
{
  int ret = 0;

  if (!doc_id || hk_version_doc_id_bin(doc_id, key) != 0)
    ret = -HK_EINVAL;
  else
    hk_be32(key + 8, version);
  return ret;
}

/* The key of one page of a text (text_pages, text_boxes). */
static int
hk_text_page_key(uint8_t key[HK_TEXT_PAGE_KEY], const char *doc_id, uint32_t version, uint32_t page)
{
  int ret = hk_text_key(key, doc_id, version);

  hk_be32(key + HK_TEXT_KEY, page);
  return ret;
}

int
hk_text_queue(hk_txn *t, const uint8_t id[8], uint32_t version)
{
  uint8_t key[HK_TEXT_KEY];

  memcpy(key, id, 8);
  hk_be32(key + 8, version);
  return hk_put(t, DB_TEXTQ, key, sizeof key, "", 0, 0);
}

int
hk_store_text_queue(hk_txn *t, unsigned max, GArray *out)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_TEXTQ, &c);
  if (ret == -HK_ENOTFOUND && t->store->absent[DB_TEXTQ])
    ret = 0;
  if (ret || !c)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && out->len < max;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkTextKey e;
    /* verify names a malformed key; the queue skips it. */
    if (k.mv_size != HK_TEXT_KEY)
      continue;
    hk_version_doc_id_hex(k.mv_data, e.doc_id);
    e.version = (uint32_t)hk_row_get((const uint8_t *)k.mv_data + 8, 4);
    g_array_append_val(out, e);
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_text_queued(hk_txn *t, const char *doc_id, uint32_t version)
{
  uint8_t key[HK_TEXT_KEY];
  MDB_val v;
  int ret = hk_text_key(key, doc_id, version);

  if (ret == 0)
    ret = hk_get(t, DB_TEXTQ, key, sizeof key, &v);
  return ret;
}

/* Delete the pages (db DB_TEXT_PAGES) or boxes (DB_TEXT_BOXES) stored for
 * key (an earlier attempt's). */
static int
hk_text_drop_pages(hk_txn *t, int db, const uint8_t key[HK_TEXT_KEY])
{
  MDB_cursor *c = NULL;
  uint8_t first[HK_TEXT_PAGE_KEY];
  MDB_val k = {sizeof first, first}, v;
  int rc, ret;

  memcpy(first, key, HK_TEXT_KEY);
  hk_be32(first + HK_TEXT_KEY, 0);
  ret = hk_cursor(t, db, &c);
  if (ret)
    goto out;
  /* Seek again after each delete: where a cursor stands after
   * mdb_cursor_del at the end of the table is not worth relying on. */
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size == HK_TEXT_PAGE_KEY && memcmp(k.mv_data, key, HK_TEXT_KEY) == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) {
    rc = mdb_cursor_del(c, 0);
    k = (MDB_val){sizeof first, first};
    if (rc)
      break;
  }
  if (rc && rc != MDB_NOTFOUND)
    ret = t->ret = hk_mdb_err(rc);
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_put_text(hk_txn *t, const char *doc_id, uint32_t version, const HkTextInfo *info,
                  HkTextListReader *pages, bool retry)
{
  uint8_t key[HK_TEXT_KEY], pkey[HK_TEXT_PAGE_KEY];
  GByteArray *rec = g_byte_array_new();
  int ret = hk_text_key(key, doc_id, version);

  if (ret == 0)
    ret = hk_text_drop_pages(t, DB_TEXT_PAGES, key);
  if (ret == 0)
    ret = hk_text_drop_pages(t, DB_TEXT_BOXES, key);
  memcpy(pkey, key, HK_TEXT_KEY);
  for (uint32_t i = 0; ret == 0 && pages && i < pages->pages; i++) {
    HkTextPage page;
    hk_text_list_next(pages, &page);
    g_byte_array_set_size(rec, 0);
    hk_text_page_encode(page.source, page.flags, page.confidence, page.text.p, page.text.len, rec);
    hk_be32(pkey + HK_TEXT_KEY, i + 1);
    ret = hk_put(t, DB_TEXT_PAGES, pkey, sizeof pkey, rec->data, rec->len, 0);
  }
  g_byte_array_set_size(rec, 0);
  hk_text_info_encode(info, rec);
  if (ret == 0)
    ret = hk_put(t, DB_TEXTS, key, sizeof key, rec->data, rec->len, 0);
  if (ret == 0)
    ret = hk_text_log_put(t, key);
  if (ret == 0 && !retry)
    hk_del(t, DB_TEXTQ, key, sizeof key);
  g_byte_array_unref(rec);
  return ret ? ret : t->ret;
}

int
hk_store_get_text(hk_txn *t, const char *doc_id, uint32_t version, HkTextInfo *out)
{
  uint8_t key[HK_TEXT_KEY];
  MDB_val v;
  int ret = hk_text_key(key, doc_id, version);

  if (ret == 0)
    ret = hk_get(t, DB_TEXTS, key, sizeof key, &v);
  if (ret == 0)
    ret = hk_text_info_decode(v.mv_data, v.mv_size, out);
  return ret;
}

int
hk_store_get_text_page(hk_txn *t, const char *doc_id, uint32_t version, uint32_t page,
                       HkTextPage *out)
{
  uint8_t key[HK_TEXT_PAGE_KEY];
  MDB_val v;
  int ret = hk_text_page_key(key, doc_id, version, page);

  if (ret == 0)
    ret = hk_get(t, DB_TEXT_PAGES, key, sizeof key, &v);
  if (ret == 0)
    ret = hk_text_page_decode(v.mv_data, v.mv_size, out);
  return ret;
}

int
hk_store_put_text_boxes(hk_txn *t, const char *doc_id, uint32_t version, uint32_t page,
                        const void *rec, size_t len)
{
  uint8_t key[HK_TEXT_PAGE_KEY];
  int ret = hk_text_page_key(key, doc_id, version, page);

  if (ret == 0)
    ret = hk_put(t, DB_TEXT_BOXES, key, sizeof key, rec, len, 0);
  return ret;
}

/* Check a box record of key (a page key) against the page's text. */
static int
hk_text_boxes_decode(hk_txn *t, const uint8_t key[HK_TEXT_PAGE_KEY], const MDB_val *v, HkBoxes *out)
{
  MDB_val pv;
  HkTextPage page;
  int ret = hk_get(t, DB_TEXT_PAGES, key, HK_TEXT_PAGE_KEY, &pv);

  /* Boxes of a page with no text are no boxes of anything. */
  if (ret == -HK_ENOTFOUND)
    ret = -HK_ECORRUPT;
  if (ret == 0)
    ret = hk_text_page_decode(pv.mv_data, pv.mv_size, &page);
  if (ret == 0)
    ret = hk_boxes_decode(v->mv_data, v->mv_size,
                          (uint32_t)g_utf8_strlen(page.text.p, (gssize)page.text.len), out);
  return ret;
}

int
hk_store_get_text_boxes(hk_txn *t, const char *doc_id, uint32_t version, uint32_t page,
                        HkBoxes *out)
{
  uint8_t key[HK_TEXT_PAGE_KEY];
  MDB_val v;
  int ret = hk_text_page_key(key, doc_id, version, page);

  out->n = 0;
  out->at = NULL;
  if (ret == 0)
    ret = hk_get(t, DB_TEXT_BOXES, key, sizeof key, &v);
  if (ret == -HK_ENOTFOUND)
    ret = 0;
  else if (ret == 0)
    ret = hk_text_boxes_decode(t, key, &v, out);
  return ret;
}

/* ---- verify and stats ---- */

/* The name of a text key for verify's messages: "<id> v<N>", "<id> v<N>
 * page <P>", or the key's length if it is neither. */
static void
hk_text_key_name(const MDB_val *k, char *buf, size_t cap)
{
  char id[HK_DOC_ID_LEN + 1];

  if (k->mv_size >= HK_TEXT_KEY)
    hk_version_doc_id_hex(k->mv_data, id);
  if (k->mv_size < HK_TEXT_KEY)
    g_snprintf(buf, cap, "(a key of %zu bytes)", k->mv_size);
  else if (k->mv_size == HK_TEXT_PAGE_KEY)
    g_snprintf(buf, cap, "%s v%u page %u", id,
               (unsigned)hk_row_get((const uint8_t *)k->mv_data + 8, 4),
               (unsigned)hk_row_get((const uint8_t *)k->mv_data + HK_TEXT_KEY, 4));
  else
    g_snprintf(buf, cap, "%s v%u", id, (unsigned)hk_row_get((const uint8_t *)k->mv_data + 8, 4));
}

/* Walk one text table, checking each entry with what its key and value
 * must be. */
static int
hk_text_check_table(hk_txn *t, int db, const char *what, FILE *err, uint64_t *checked,
                    uint64_t *bad)
{
  MDB_cursor *c = NULL;
  MDB_val k, v, other;
  char name[64];
  int rc, ret;

  ret = hk_cursor(t, db, &c);
  if (ret == -HK_ENOTFOUND && t->store->absent[db])
    ret = 0;
  if (ret || !c)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    size_t want = db == DB_TEXT_PAGES || db == DB_TEXT_BOXES ? HK_TEXT_PAGE_KEY : HK_TEXT_KEY;
    const char *problem = NULL;
    HkTextInfo info;
    HkTextPage page;
    HkBoxes boxes;
    int got;

    (*checked)++;
    hk_text_key_name(&k, name, sizeof name);
    if (k.mv_size != want) {
      problem = "malformed key";
    } else if (db == DB_TEXTS && hk_text_info_decode(v.mv_data, v.mv_size, &info) != 0) {
      problem = "does not decode";
    } else if (db == DB_TEXT_PAGES && hk_text_page_decode(v.mv_data, v.mv_size, &page) != 0) {
      problem = "does not decode";
    } else if (db == DB_TEXT_BOXES && hk_text_boxes_decode(t, k.mv_data, &v, &boxes) != 0) {
      problem = "boxes that do not decode or fit their page's text";
    } else if ((got = hk_get(t, DB_VERSIONS, k.mv_data, HK_TEXT_KEY, &other)) != 0) {
      problem = got == -HK_ENOTFOUND ? "no such version" : NULL;
      ret = got == -HK_ENOTFOUND ? 0 : got;
    } else if (db == DB_TEXT_PAGES) {
      uint32_t n = (uint32_t)hk_row_get((const uint8_t *)k.mv_data + HK_TEXT_KEY, 4);
      got = hk_get(t, DB_TEXTS, k.mv_data, HK_TEXT_KEY, &other);
      if (got == 0 && hk_text_info_decode(other.mv_data, other.mv_size, &info) == 0 &&
          (n < 1 || n > info.pages))
        problem = "page beyond its status record's count";
      else if (got == -HK_ENOTFOUND)
        problem = "page without a status record";
      else if (got != -HK_ENOTFOUND && got != 0)
        ret = got;
    }
    if (problem) {
      fprintf(err, "TEXT %s (%s): %s\n", name, what, problem);
      (*bad)++;
    }
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

/* Each log entry: a sequence number the store has given, and a version
 * that exists. */
static int
hk_text_check_log(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad)
{
  MDB_cursor *c = NULL;
  MDB_val k, v, other;
  uint64_t seq = 0;
  int rc, ret = hk_store_text_seq(t, &seq);

  if (ret == 0)
    ret = hk_cursor(t, DB_TEXTLOG, &c);
  if (ret == -HK_ENOTFOUND && t->store->absent[DB_TEXTLOG])
    ret = 0;
  if (ret || !c)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const char *problem = NULL;
    char name[64];
    int got;

    (*checked)++;
    hk_text_key_name(&v, name, sizeof name);
    if (k.mv_size != 8 || v.mv_size != HK_TEXT_KEY)
      problem = "malformed entry";
    else if (hk_rd64(k.mv_data) > seq)
      problem = "beyond the store's text sequence";
    else if ((got = hk_get(t, DB_VERSIONS, v.mv_data, HK_TEXT_KEY, &other)) != 0) {
      problem = got == -HK_ENOTFOUND ? "no such version" : NULL;
      ret = got == -HK_ENOTFOUND ? 0 : got;
    }
    if (problem) {
      fprintf(err, "TEXT %s (log %" G_GUINT64_FORMAT "): %s\n", name,
              k.mv_size == 8 ? hk_rd64(k.mv_data) : 0, problem);
      (*bad)++;
    }
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_check_texts(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad)
{
  int ret;

  *checked = 0;
  *bad = 0;
  ret = hk_text_check_table(t, DB_TEXTS, "status", err, checked, bad);
  if (ret == 0)
    ret = hk_text_check_table(t, DB_TEXT_PAGES, "page", err, checked, bad);
  if (ret == 0)
    ret = hk_text_check_table(t, DB_TEXT_BOXES, "boxes", err, checked, bad);
  if (ret == 0)
    ret = hk_text_check_table(t, DB_TEXTQ, "queue", err, checked, bad);
  if (ret == 0)
    ret = hk_text_check_log(t, err, checked, bad);
  return ret;
}

int
hk_store_text_stats(hk_txn *t, HkTextStats *st)
{
  MDB_cursor *c = NULL;
  MDB_val k, v, q;
  int rc, ret;

  memset(st, 0, sizeof *st);
  st->pending = hk_entries(t, DB_TEXTQ);
  ret = hk_cursor(t, DB_TEXTS, &c);
  if (ret == -HK_ENOTFOUND && t->store->absent[DB_TEXTS])
    ret = 0;
  if (ret || !c)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkTextInfo info;
    /* verify names a record that does not decode. */
    if (hk_text_info_decode(v.mv_data, v.mv_size, &info) != 0)
      continue;
    if (info.status == HK_TEXT_DONE)
      st->done++;
    else if (info.status == HK_TEXT_NEEDS_OCR)
      st->needs_ocr++;
    else if (info.status == HK_TEXT_UNSUPPORTED)
      st->unsupported++;
    /* A failure with attempts left is still queued: counted as pending. */
    else if (hk_get(t, DB_TEXTQ, k.mv_data, k.mv_size, &q) == -HK_ENOTFOUND)
      st->failed++;
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

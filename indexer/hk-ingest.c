#include "hk-ingest.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-time.h"

#include <string.h>
#include <unistd.h>

typedef enum { ITEM_DOC, ITEM_FAIL, ITEM_PATIENT, ITEM_WITHDRAW, ITEM_TOUCH } HkItemKind;

typedef struct {
  HkItemKind kind;
  HkVersion *version;   /* DOC */
  GBytes *content;      /* DOC */
  GBytes *thumb;        /* DOC, may be NULL */
  HkPatient *patient;   /* DOC identity to merge, may be NULL */
  HkQuarantine *q;      /* FAIL */
  char *patient_id;     /* PATIENT */
  HkPatientEditFunc edit;
  void *edit_data;
  GDestroyNotify edit_free;
  char *source_id;      /* WITHDRAW */
  char *reason;         /* WITHDRAW */
  char *file_key;       /* may be NULL */
  HkFileState st;
  bool has_st;
  bool seen_before;     /* FAIL: this file was ingested before */
} HkItem;

struct hk_ingest {
  hk_store *store;
  HkIngestConfig cfg;
  GPtrArray *items; /* HkItem* */
  size_t pending_bytes;
  int64_t first_queued; /* hk_time_now() when items went from 0 to 1 */
  HkTripwire tripwire;
  HkTripwire replace_tw; /* valid replacements */
  int64_t scan_started;  /* versions stored before it count as replaced */
  bool sealed;
  char *seal_reason;
  HkIngestCounters counters;
};

static void
hk_item_free(HkItem *it)
{
  if (!it)
    return;
  hk_version_free(it->version);
  if (it->content)
    g_bytes_unref(it->content);
  if (it->thumb)
    g_bytes_unref(it->thumb);
  hk_patient_free(it->patient);
  hk_quarantine_free(it->q);
  g_free(it->patient_id);
  if (it->edit_free && it->edit_data)
    it->edit_free(it->edit_data);
  g_free(it->source_id);
  g_free(it->reason);
  g_free(it->file_key);
  g_free(it);
}

hk_ingest *
hk_ingest_new(hk_store *s, const HkIngestConfig *cfg)
{
  hk_ingest *ing = g_new0(hk_ingest, 1);

  ing->store = s;
  ing->cfg = *cfg;
  if (!ing->cfg.batch_max_items)
    ing->cfg.batch_max_items = 128;
  if (!ing->cfg.batch_max_bytes)
    ing->cfg.batch_max_bytes = 64u << 20;
  if (!ing->cfg.commit_interval_ms)
    ing->cfg.commit_interval_ms = HK_COMMIT_INTERVAL_MS;
  ing->items = g_ptr_array_new_with_free_func((GDestroyNotify)hk_item_free);
  if (!ing->cfg.replace_threshold)
    ing->cfg.replace_threshold = HK_REPLACE_THRESHOLD;
  if (!ing->cfg.replace_window_s)
    ing->cfg.replace_window_s = HK_REPLACE_WINDOW_S;
  hk_tripwire_init(&ing->tripwire, cfg->tripwire_threshold, cfg->tripwire_window_s);
  hk_tripwire_init(&ing->replace_tw, ing->cfg.replace_threshold, ing->cfg.replace_window_s);
  hk_ingest_refresh_seal(ing);
  return ing;
}

void
hk_ingest_free(hk_ingest *ing)
{
  if (!ing)
    return;
  g_ptr_array_unref(ing->items);
  hk_tripwire_clear(&ing->tripwire);
  hk_tripwire_clear(&ing->replace_tw);
  g_free(ing->seal_reason);
  g_free(ing);
}

hk_store *
hk_ingest_store(hk_ingest *ing)
{
  return ing->store;
}

const HkIngestCounters *
hk_ingest_counters(hk_ingest *ing)
{
  return &ing->counters;
}

bool
hk_ingest_sealed(hk_ingest *ing)
{
  return ing->sealed;
}

int
hk_ingest_refresh_seal(hk_ingest *ing)
{
  HkIndexerInfo info = { 0 };
  hk_txn *t = NULL;
  int ret = hk_txn_begin(ing->store, false, &t);

  if (ret == 0)
    ret = hk_store_get_indexer(t, &info);
  if (ret == 0) {
    bool was = ing->sealed;
    ing->sealed = info.state == HK_INDEXER_SEALED;
    g_free(ing->seal_reason);
    ing->seal_reason = g_strdup(info.reason);
    if (was && !ing->sealed) {
      /* Unsealed by an operator: start counting afresh. */
      hk_tripwire_forget(&ing->tripwire, UINT32_MAX);
      hk_tripwire_forget(&ing->replace_tw, UINT32_MAX);
      hk_info("indexer unsealed; ingest resumes");
    } else if (!was && ing->sealed) {
      /* Sealed by another process (hikae-admin seal), or found sealed at
       * the start: say so once. */
      hk_error("SEALED: %s; nothing is ingested until `hikae-admin unseal`",
               info.reason ? info.reason : "(no reason recorded)");
    }
  }
  hk_txn_abort(t);
  hk_indexer_info_clear(&info);
  return ret;
}

static void
hk_item_set_file(HkItem *it, const char *file_key, const HkFileState *st)
{
  it->file_key = g_strdup(file_key);
  if (st) {
    it->st = *st;
    it->has_st = true;
  }
}

static int
hk_ingest_queue(hk_ingest *ing, HkItem *it, size_t bytes)
{
  int64_t now = hk_time_now();
  int ret = 0;

  if (ing->items->len == 0)
    ing->first_queued = now;
  g_ptr_array_add(ing->items, it);
  ing->pending_bytes += bytes;
  /* A clock stepped back counts as time gone by. */
  if (ing->items->len >= ing->cfg.batch_max_items || ing->pending_bytes >= ing->cfg.batch_max_bytes ||
      now - ing->first_queued >= (int64_t)ing->cfg.commit_interval_ms * 1000 ||
      now < ing->first_queued)
    ret = hk_ingest_flush(ing);
  return ret;
}

int
hk_ingest_add_document(hk_ingest *ing, HkVersion *v, GBytes *content, GBytes *thumb,
                       HkPatient *patient, const char *file_key, const HkFileState *st)
{
  HkItem *it = g_new0(HkItem, 1);

  it->kind = ITEM_DOC;
  it->version = v;
  it->content = content;
  it->thumb = thumb;
  it->patient = patient;
  hk_item_set_file(it, file_key, st);
  return hk_ingest_queue(ing, it, g_bytes_get_size(content));
}

int
hk_ingest_add_failure(hk_ingest *ing, HkQuarantine *q, const char *file_key,
                      const HkFileState *st, bool seen_before)
{
  HkItem *it = g_new0(HkItem, 1);

  it->kind = ITEM_FAIL;
  it->seen_before = seen_before;
  it->q = q;
  hk_item_set_file(it, file_key, st);
  return hk_ingest_queue(ing, it, 0);
}

int
hk_ingest_edit_patient(hk_ingest *ing, const char *patient_id, HkPatientEditFunc fn, void *data,
                       GDestroyNotify free_fn, const char *file_key, const HkFileState *st)
{
  HkItem *it = g_new0(HkItem, 1);

  it->kind = ITEM_PATIENT;
  it->patient_id = g_strdup(patient_id);
  it->edit = fn;
  it->edit_data = data;
  it->edit_free = free_fn;
  hk_item_set_file(it, file_key, st);
  return hk_ingest_queue(ing, it, 0);
}

int
hk_ingest_withdraw(hk_ingest *ing, const char *source_id, const char *reason,
                   const char *file_key, const HkFileState *st)
{
  HkItem *it = g_new0(HkItem, 1);

  it->kind = ITEM_WITHDRAW;
  it->source_id = g_strdup(source_id);
  it->reason = g_strdup(reason);
  hk_item_set_file(it, file_key, st);
  return hk_ingest_queue(ing, it, 0);
}

int
hk_ingest_touch(hk_ingest *ing, const char *file_key, const HkFileState *st)
{
  HkItem *it = g_new0(HkItem, 1);

  it->kind = ITEM_TOUCH;
  hk_item_set_file(it, file_key, st);
  return hk_ingest_queue(ing, it, 0);
}

bool
hk_ingest_file_done(hk_ingest *ing, hk_txn *t, const char *file_key, const HkFileState *st)
{
  HkFileState old;

  return hk_store_get_file_state(t, file_key, &old) == 0 &&
         old.meta_mtime_ns == st->meta_mtime_ns && old.meta_size == st->meta_size &&
         old.content_mtime_ns == st->content_mtime_ns && old.content_size == st->content_size &&
         old.content_ino == st->content_ino && old.content_ctime_ns == st->content_ctime_ns;
}

/* Merge a sidecar's identity into the stored patient (or create it). */
static int
hk_apply_patient_identity(hk_txn *t, const char *id, const HkPatient *src)
{
  HkPatient *p = NULL;
  int ret = hk_store_get_patient(t, id, &p);

  if (ret == -HK_ENOTFOUND) {
    p = hk_patient_new(id);
    ret = 0;
  } else if (ret == 0 && !src) {
    goto out; /* exists, nothing to add */
  }
  if (ret)
    goto out;
  if (src) {
    if (p->name && src->name && src->origin < p->origin && strcmp(p->name, src->name) != 0)
      hk_warn("patient %s: sidecar name differs from the patient master; the master is kept",
              id);
    hk_patient_merge_identity(p, src);
  }
  ret = hk_store_put_patient(t, p);
out:
  hk_patient_free(p);
  return ret;
}

/* Is this a suspect event: a known document whose new bytes fail, or whose
 * new bytes are of another type than its current version? */
static int
hk_classify(hk_txn *t, const char *source_name, const char *source_id, const char *new_type,
            HkVersion **cur)
{
  char doc_id[HK_DOC_ID_LEN + 1];
  int ret;

  *cur = NULL;
  if (!source_id)
    return -HK_ENOTFOUND;
  ret = hk_store_find_doc(t, source_name ? source_name : hk_source_default_name(source_id),
                          source_id, doc_id);
  if (ret == 0)
    ret = hk_store_get_version(t, doc_id, 0, cur);
  if (ret == 0 && new_type && g_strcmp0((*cur)->content_type, new_type) == 0) {
    hk_version_free(*cur);
    *cur = NULL;
    ret = -HK_ENOTFOUND;
  }
  return ret;
}

static int
hk_seal(hk_ingest *ing, hk_txn *t, const char *reason)
{
  HkIndexerInfo info = { 0 };
  int ret;

  info.state = HK_INDEXER_SEALED;
  info.reason = (char *)reason;
  info.heartbeat_at = hk_time_now();
  info.sealed_at = info.heartbeat_at;
  info.pid = getpid();
  ret = hk_store_set_indexer(t, &info);
  return ret;
}

/* Write every queued item into t. *applied is how many items were written
 * (fewer than all if a tripwire tripped). */
static int
hk_apply(hk_ingest *ing, hk_txn *t, guint *applied, HkIngestCounters *c, char **seal_reason)
{
  int ret = 0;
  guint i;

  for (i = 0; ret == 0 && i < ing->items->len; i++) {
    HkItem *it = g_ptr_array_index(ing->items, i);
    HkVersion *cur = NULL;
    bool added = false;
    bool ingested = it->kind != ITEM_FAIL; /* a suspect document clears it */
    unsigned events = 0, replaced = 0;

    switch (it->kind) {
    case ITEM_DOC:
      if (hk_classify(t, it->version->source_name, it->version->source_id,
                      it->version->content_type, &cur) == 0) {
        /* Valid bytes, but not the type this document had: suspect. */
        HkQuarantine q = {.source = it->version->source,
                          .kind = "suspect",
                          .sha256 = it->version->sha256,
                          .source_id = it->version->source_id,
                          .source_name = it->version->source_name};
        q.reason = g_strdup_printf("new bytes of %s are %s, but its current version %u is %s",
                                   it->version->source_id, it->version->content_type,
                                   cur->version, cur->content_type);
        ret = hk_store_quarantine_add(t, &q);
        g_free(q.reason);
        c->suspect++;
        events++;
        ingested = false;
        hk_version_free(cur);
        break;
      }
      {
        gsize len;
        const void *data = g_bytes_get_data(it->content, &len);
        HkVersion *v = hk_version_copy(it->version);
        ret = hk_store_put_blob(t, v->sha256, data, len, NULL);
        if (ret == 0 && it->thumb)
          ret = hk_store_put_thumbnail(t, v->sha256, g_bytes_get_data(it->thumb, NULL),
                                       g_bytes_get_size(it->thumb));
        else if (ret == 0 && strcmp(v->content_type, "application/pdf") == 0)
          ret = hk_store_queue_thumbnail(t, v->sha256);
        if (ret == 0)
          ret = hk_store_add_version(t, v, &added);
        if (ret == 0)
          ret = hk_apply_patient_identity(t, v->patient_id, it->patient);
        if (ret == 0 && added && v->version > 1) {
          /* A valid replacement of a version stored before this scan:
           * allowed, but a burst of them is what a source rewritten
           * wholesale looks like. (Versions of one document that arrive
           * in the same scan are its history, as on a first import.) */
          HkVersion *prev = NULL;
          if (hk_store_get_version(t, v->doc_id, v->version - 1, &prev) == 0 &&
              (!ing->scan_started || prev->ingested_at < ing->scan_started)) {
            replaced++;
            c->replaced++;
          }
          if (prev && strcmp(prev->patient_id, v->patient_id) != 0) {
            c->moved++;
            hk_warn("document %s (%s/%s) moved from patient %s to %s", v->doc_id, v->source_name,
                    v->source_id, prev->patient_id, v->patient_id);
          }
          hk_version_free(prev);
        }
        if (ret == 0 && added) {
          c->added++;
          c->bytes += len;
        } else if (ret == 0) {
          c->unchanged++;
        }
        hk_version_free(v);
      }
      break;
    case ITEM_FAIL: {
      HkQuarantine q = *it->q;
      bool known = hk_classify(t, it->q->source_name, it->q->source_id, NULL, &cur) == 0;
      bool suspect = known || it->seen_before;
      q.kind = suspect ? "suspect" : "bad_input";
      if (suspect && !known)
        q.reason = g_strdup_printf("this file was ingested before and its new bytes no longer "
                                   "parse: %s",
                                   it->q->reason);
      else if (suspect)
        q.reason = g_strdup_printf("new bytes of %s no longer parse as %s (version %u stays "
                                   "current): %s",
                                   it->q->source_id, cur->content_type, cur->version,
                                   it->q->reason);
      else
        q.reason = g_strdup(it->q->reason);
      ret = hk_store_quarantine_add(t, &q);
      hk_warn("quarantined %s (%s): %s", q.source ? q.source : "?", q.kind, q.reason);
      g_free(q.reason);
      if (suspect) {
        c->suspect++;
        events++;
      } else {
        c->quarantined++;
      }
      hk_version_free(cur);
      break;
    }
    case ITEM_PATIENT: {
      HkPatient *p = NULL;
      ret = hk_store_get_patient(t, it->patient_id, &p);
      if (ret == -HK_ENOTFOUND) {
        p = hk_patient_new(it->patient_id);
        ret = 0;
      }
      if (ret == 0)
        ret = it->edit(p, it->edit_data);
      if (ret == 0)
        ret = hk_store_put_patient(t, p);
      hk_patient_free(p);
      break;
    }
    case ITEM_TOUCH:
      c->unchanged++;
      break;
    case ITEM_WITHDRAW: {
      char doc_id[HK_DOC_ID_LEN + 1];
      if (hk_store_find_source(t, it->source_id, doc_id) == 0)
        ret = hk_store_withdraw(t, doc_id, it->reason);
      break;
    }
    }
    if (ret == 0 && it->file_key && it->has_st) {
      HkFileState st = it->st;
      st.ingested = ingested;
      ret = hk_store_put_file_state(t, it->file_key, &st);
    }
    /* Count events as they are written, so the seal lands in the same
     * transaction as the event that tripped it. */
    if (ret == 0 && (events || replaced)) {
      int64_t now = hk_time_now();
      bool tripped = false, rtripped = false;
      for (unsigned e = 0; e < events; e++)
        tripped = hk_tripwire_event(&ing->tripwire, now) || tripped;
      for (unsigned e = 0; e < replaced; e++)
        rtripped = hk_tripwire_event(&ing->replace_tw, now) || rtripped;
      if (tripped)
        *seal_reason = g_strdup_printf(
            "tripwire: %u documents' new bytes no longer parse as what they were within %u s "
            "(threshold %u); this looks like ransomware rewriting the sources",
            hk_tripwire_count(&ing->tripwire, now), ing->tripwire.window_s,
            ing->tripwire.threshold);
      else if (rtripped)
        *seal_reason = g_strdup_printf(
            "tripwire: %u documents replaced by new versions within %u s (replace threshold "
            "%u); a source rewriting documents wholesale must be checked before more is "
            "ingested",
            hk_tripwire_count(&ing->replace_tw, now), ing->replace_tw.window_s,
            ing->replace_tw.threshold);
      if (*seal_reason) {
        ret = hk_seal(ing, t, *seal_reason);
        i++;
        break;
      }
    }
  }
  *applied = i;
  return ret;
}

int
hk_ingest_flush(hk_ingest *ing)
{
  HkIngestCounters c;
  char *seal_reason = NULL;
  hk_txn *t = NULL;
  guint applied = 0;
  int ret = 0;

  if (ing->items->len == 0)
    goto out;
  if (ing->sealed) {
    ret = -HK_ESEALED;
    goto out;
  }
  for (int attempt = 0; attempt < 16; attempt++) {
    c = ing->counters;
    g_clear_pointer(&seal_reason, g_free);
    unsigned before = hk_tripwire_count(&ing->tripwire, hk_time_now());
    unsigned rbefore = hk_tripwire_count(&ing->replace_tw, hk_time_now());
    ret = hk_txn_begin(ing->store, true, &t);
    if (ret)
      goto out;
    /* A seal written by hikae-admin since the last look: nothing of this
     * batch may land after it. */
    ret = hk_store_check_unsealed(t);
    if (ret == 0)
      ret = hk_apply(ing, t, &applied, &c, &seal_reason);
    if (ret == 0) {
      ret = hk_txn_commit(t);
      c.commits++;
    } else {
      hk_txn_abort(t);
    }
    t = NULL;
    if (ret == 0)
      break;
    /* Nothing of the batch is in the store: undo the tripwire's memory. */
    unsigned after = hk_tripwire_count(&ing->tripwire, hk_time_now());
    unsigned rafter = hk_tripwire_count(&ing->replace_tw, hk_time_now());
    hk_tripwire_forget(&ing->tripwire, after > before ? after - before : 0);
    hk_tripwire_forget(&ing->replace_tw, rafter > rbefore ? rafter - rbefore : 0);
    if (ret == -HK_ESEALED) {
      /* Sealed from outside: the queued files have no state yet, so they
       * are looked at again after unseal. */
      hk_ingest_refresh_seal(ing);
      g_ptr_array_set_size(ing->items, 0);
      ing->pending_bytes = 0;
    }
    if (ret != -HK_ESPACE)
      goto out;
    ret = hk_store_grow(ing->store);
    if (ret)
      goto out;
  }
  if (ret)
    goto out;
  ing->counters = c;
  hk_store_trim(ing->store);
  if (seal_reason) {
    ing->sealed = true;
    g_free(ing->seal_reason);
    ing->seal_reason = g_strdup(seal_reason);
    hk_error("SEALED: %s", seal_reason);
    ret = -HK_ESEALED;
  }
  /* Items after the tripping one are dropped from the queue, not recorded:
   * their files have no state, so they are looked at again after unseal. */
  g_ptr_array_set_size(ing->items, 0);
  ing->pending_bytes = 0;
  (void)applied;
out:
  if (ret && ret != -HK_ESEALED && t == NULL && ing->items->len) {
    hk_error("batch of %u items not written: %s", ing->items->len, hk_strerror(ret));
  }
  g_free(seal_reason);
  return ret;
}

/* Count n events of one tripwire for a source that writes its own
 * transactions; seal in a transaction of its own if it trips. */
static int
hk_ingest_note(hk_ingest *ing, HkTripwire *tw, unsigned n, bool replacements)
{
  int64_t now = hk_time_now();
  bool tripped = false;
  char *reason = NULL;
  hk_txn *t = NULL;
  int ret = 0;

  for (unsigned i = 0; i < n; i++)
    tripped = hk_tripwire_event(tw, now) || tripped;
  if (!tripped || ing->sealed)
    goto out;
  if (replacements)
    reason = g_strdup_printf("tripwire: %u documents replaced by new versions within %u s "
                             "(replace threshold %u); a source rewriting documents wholesale "
                             "must be checked before more is ingested",
                             hk_tripwire_count(tw, now), tw->window_s, tw->threshold);
  else
    reason = g_strdup_printf("tripwire: %u files' new bytes no longer parse as what they were "
                             "within %u s (threshold %u); this looks like ransomware rewriting "
                             "the sources",
                             hk_tripwire_count(tw, now), tw->window_s, tw->threshold);
  ret = hk_txn_begin(ing->store, true, &t);
  /* Already sealed by hand: keep that seal's reason and time. */
  if (ret == 0)
    ret = hk_store_check_unsealed(t);
  if (ret == 0)
    ret = hk_seal(ing, t, reason);
  ret = ret ? (hk_txn_abort(t), ret) : hk_txn_commit(t);
  if (ret == -HK_ESEALED)
    hk_ingest_refresh_seal(ing);
  if (ret == 0) {
    ing->sealed = true;
    g_free(ing->seal_reason);
    ing->seal_reason = g_strdup(reason);
    hk_error("SEALED: %s", reason);
    ret = -HK_ESEALED;
  }
out:
  g_free(reason);
  return ret;
}

int
hk_ingest_note_suspect(hk_ingest *ing, unsigned n)
{
  return hk_ingest_note(ing, &ing->tripwire, n, false);
}

int
hk_ingest_note_replaced(hk_ingest *ing, unsigned n)
{
  ing->counters.replaced += n;
  return hk_ingest_note(ing, &ing->replace_tw, n, true);
}

void
hk_ingest_scan_start(hk_ingest *ing)
{
  ing->scan_started = hk_time_now();
}

int
hk_ingest_heartbeat(hk_ingest *ing, HkIndexerState state, int64_t as_of)
{
  HkIndexerInfo info = { 0 }, old = { 0 };
  hk_txn *t = NULL;
  int ret;

  for (int attempt = 0; attempt < 4; attempt++) {
    ret = hk_txn_begin(ing->store, true, &t);
    if (ret)
      goto out;
    ret = hk_store_get_indexer(t, &old);
    /* A seal stays until hikae-admin unseal clears it. */
    info.state = old.state == HK_INDEXER_SEALED ? HK_INDEXER_SEALED : state;
    info.reason = old.state == HK_INDEXER_SEALED ? old.reason : NULL;
    info.sealed_at = old.sealed_at;
    info.heartbeat_at = hk_time_now();
    info.pid = getpid();
    if (ret == 0)
      ret = hk_store_set_indexer(t, &info);
    if (ret == 0 && as_of && info.state != HK_INDEXER_SEALED)
      ret = hk_store_set_archive_as_of(t, as_of);
    hk_indexer_info_clear(&old);
    ret = ret ? (hk_txn_abort(t), ret) : hk_txn_commit(t);
    t = NULL;
    if (ret != -HK_ESPACE)
      break;
    ret = hk_store_grow(ing->store);
    if (ret)
      break;
  }
out:
  return ret;
}

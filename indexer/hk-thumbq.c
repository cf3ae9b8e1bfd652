#include "hk-thumbq.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-inspect.h"
#include "hk-thumbnail.h"

typedef struct {
  GPtrArray *shas;
  HkInspectJob *jobs;
} HkThumbqRun;

/* Store each thumbnail made, and unqueue each blob that has none. */
static int
hk_thumbq_put(hk_txn *t, void *data)
{
  HkThumbqRun *r = data;
  /* Not after a seal (hikae-admin seal): the store stays as it was. */
  int ret = hk_store_check_unsealed(t);

  for (guint i = 0; ret == 0 && i < r->shas->len; i++) {
    const char *sha = g_ptr_array_index(r->shas, i);
    const HkInspectJob *j = &r->jobs[i];
    if (j->thumb)
      ret = hk_store_put_thumbnail(t, sha, g_bytes_get_data(j->thumb, NULL),
                                   g_bytes_get_size(j->thumb));
    else
      ret = hk_store_unqueue_thumbnail(t, sha);
  }
  return ret;
}

int
hk_thumbq_drain(hk_store *s, unsigned max, unsigned parallel, unsigned *left)
{
  GPtrArray *shas = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *blobs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  HkInspectJob *jobs = NULL;
  hk_txn *t = NULL;
  int ret;

  *left = 0;
  ret = hk_txn_begin(s, false, &t);
  if (ret == 0)
    ret = hk_store_thumbnail_queue(t, max, shas);
  /* Copy the bytes out: the children need them after the snapshot ends. */
  for (guint i = 0; ret == 0 && i < shas->len; i++) {
    const void *data = NULL;
    size_t len = 0;
    if (hk_store_get_blob(t, g_ptr_array_index(shas, i), &data, &len) != 0)
      len = 0;
    g_ptr_array_add(blobs, g_bytes_new(data, len));
  }
  hk_txn_abort(t);
  t = NULL;
  hk_store_trim(s);
  if (ret || shas->len == 0)
    goto out;
  jobs = g_new0(HkInspectJob, shas->len);
  for (guint i = 0; i < shas->len; i++) {
    jobs[i].data = g_bytes_get_data(g_ptr_array_index(blobs, i), &jobs[i].len);
    jobs[i].content_type = hk_sniff(jobs[i].data, jobs[i].len);
    if (!jobs[i].content_type)
      jobs[i].content_type = "application/octet-stream";
    jobs[i].want_thumb = true;
  }
  hk_inspect_batch(jobs, shas->len, parallel);
  ret = hk_store_write(s, 8, hk_thumbq_put, &(HkThumbqRun){shas, jobs});
  if (ret == 0)
    *left = shas->len == max ? 1 : 0;
out:
  for (guint i = 0; jobs && i < shas->len; i++) {
    if (jobs[i].thumb)
      g_bytes_unref(jobs[i].thumb);
    if (!jobs[i].thumb && jobs[i].reason)
      hk_debug("no thumbnail for %s: %s", (char *)g_ptr_array_index(shas, i), jobs[i].reason);
    g_free(jobs[i].reason);
  }
  g_free(jobs);
  hk_txn_abort(t);
  g_ptr_array_unref(blobs);
  g_ptr_array_unref(shas);
  return ret;
}

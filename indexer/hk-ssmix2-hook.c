#include "hk-ssmix2-hook.h"

#include "hk-error.h"
#include "hk-log.h"
#include "hk-ssmix2.h"

int
hk_ssmix2_hook_scan(hk_ingest *ing, const char *source_name, const char *root)
{
  HkSsmix2Stats st = { 0 };
  int ret;

  /* The SS-MIX2 source writes its own transactions: what the drop folders
   * queued goes first, so versions keep their arrival order. */
  ret = hk_ingest_flush(ing);
  if (ret == 0)
    ret = hk_ssmix2_scan_named(hk_ingest_store(ing), source_name, root, &st);
  if (ret == 0 && (st.messages || st.quarantined || st.suspect))
    hk_info("SS-MIX2 %s: %" G_GUINT64_FORMAT " files, %" G_GUINT64_FORMAT
            " messages, %" G_GUINT64_FORMAT " versions, %" G_GUINT64_FORMAT
            " patients, %" G_GUINT64_FORMAT " withdrawn, %" G_GUINT64_FORMAT
            " quarantined, %" G_GUINT64_FORMAT " suspect",
            root, st.files, st.messages, st.added, st.patients, st.withdrawn, st.quarantined,
            st.suspect);
  /* Files that parsed at an earlier walk and no longer do are the same
   * signal as in a drop folder: they feed the one tripwire. */
  if (ret == 0 && st.suspect)
    ret = hk_ingest_note_suspect(ing, (unsigned)st.suspect);
  if (ret == 0 && st.replaced)
    ret = hk_ingest_note_replaced(ing, (unsigned)st.replaced);
  if (ret == -HK_ESEALED)
    hk_ingest_refresh_seal(ing);
  return ret;
}

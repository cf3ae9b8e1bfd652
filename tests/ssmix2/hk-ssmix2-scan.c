/* hk-ssmix2-scan: a test and benchmark driver for the SS-MIX2 source,
 * until hikae-indexer has --ssmix2: scan each root into a store once, then
 * print what the store holds, one tab-separated record per line:
 *
 *   S <stats as key=value>
 *   Q <source> <kind> <reason>
 *   V <patient> <source_id> <type> <version> <current> <withdrawn> <content_type> <code> <title>
 * <source> P <patient JSON>   (every patient named by a V line or a --patient ID) C <patient>
 * <ward> <room> <bed> <admitted_at>
 *
 * usage: hk-ssmix2-scan STORE ROOT... [--quiet] [--patient ID]... */
#include "hk-error.h"
#include "hk-log.h"
#include "hk-ssmix2.h"
#include "hk-store.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static int
print_quarantine(const HkQuarantine *q, void *data)
{
  printf("Q\t%s\t%s\t%s\n", q->source, q->kind, q->reason);
  return 0;
}

static int
print_version(const HkVersion *v, bool current, bool withdrawn, void *data)
{
  g_hash_table_add(data, g_strdup(v->patient_id));
  printf("V\t%s\t%s\t%s\t%u\t%d\t%d\t%s\t%s\t%s\t%s\n", v->patient_id, v->source_id, v->type,
         v->version, current, withdrawn, v->content_type, v->code ? v->code : "", v->title,
         v->source ? v->source : "");
  return 0;
}

int
main(int argc, char **argv)
{
  hk_store *s = NULL;
  hk_txn *t = NULL;
  HkSsmix2Stats st = {0};
  GPtrArray *pats = NULL;
  bool quiet = false;
  GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  int ret = 1, r = 0;

  hk_log_set_program("hk-ssmix2-scan");
  hk_log_set_level(HK_LOG_ERROR);
  if (argc < 3) {
    fprintf(stderr, "usage: %s STORE ROOT... [--quiet]\n", argv[0]);
    return 2;
  }
  if ((r = hk_store_open(argv[1], HK_STORE_CREATE, &s)) < 0)
    goto out;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--quiet") == 0) {
      quiet = true;
      continue;
    }
    if (strcmp(argv[i], "--patient") == 0 && i + 1 < argc) {
      g_hash_table_add(ids, g_strdup(argv[++i]));
      continue;
    }
    if ((r = hk_ssmix2_scan(s, argv[i], &st)) < 0)
      goto out;
  }
  printf("S\tfiles=%" G_GUINT64_FORMAT "\tunchanged=%" G_GUINT64_FORMAT
         "\tmessages=%" G_GUINT64_FORMAT "\tadded=%" G_GUINT64_FORMAT "\tsame=%" G_GUINT64_FORMAT
         "\thistory=%" G_GUINT64_FORMAT "\twithdrawn=%" G_GUINT64_FORMAT
         "\tnothing_to_withdraw=%" G_GUINT64_FORMAT "\tpatients=%" G_GUINT64_FORMAT
         "\tignored=%" G_GUINT64_FORMAT "\tquarantined=%" G_GUINT64_FORMAT
         "\tsuspect=%" G_GUINT64_FORMAT "\tcommits=%" G_GUINT64_FORMAT "\tgrows=%" G_GUINT64_FORMAT
         "\n",
         st.files, st.unchanged, st.messages, st.added, st.same, st.history, st.withdrawn,
         st.nothing_to_withdraw, st.patients, st.ignored, st.quarantined, st.suspect, st.commits,
         st.grows);
  if (quiet) {
    ret = 0;
    goto out;
  }
  if ((r = hk_txn_begin(s, false, &t)) < 0)
    goto out;
  hk_store_quarantine_foreach(t, print_quarantine, NULL);
  hk_store_foreach_version(t, NULL, print_version, ids);
  {
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, ids);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
      HkPatient *p = NULL;
      if (hk_store_get_patient(t, k, &p) == 0) {
        g_autofree char *json = hk_patient_to_json(p);
        printf("P\t%s\n", json);
      }
      hk_patient_free(p);
    }
  }
  pats = g_ptr_array_new_with_free_func((GDestroyNotify)hk_patient_free);
  hk_store_census(t, NULL, pats);
  for (guint i = 0; i < pats->len; i++) {
    HkPatient *p = pats->pdata[i];
    printf("C\t%s\t%s\t%s\t%s\t%s\n", p->id, p->admission->ward ? p->admission->ward : "",
           p->admission->room ? p->admission->room : "", p->admission->bed ? p->admission->bed : "",
           p->admission->admitted_at ? p->admission->admitted_at : "");
  }
  ret = 0;
out:
  if (r < 0)
    fprintf(stderr, "hk-ssmix2-scan: %s\n", hk_strerror(r));
  if (pats)
    g_ptr_array_unref(pats);
  hk_txn_abort(t);
  hk_store_close(s);
  g_hash_table_unref(ids);
  return ret;
}

/* hk-watch.h: inotify over whole folder trees. Events only say where to
 * look; the periodic rescan stays the safety net for anything missed
 * (queue overflow, folders created faster than watches are added). */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef struct hk_watch hk_watch;

/* \return 0, or -HK_EIO if inotify is unavailable. */
int hk_watch_new(hk_watch **out);
void hk_watch_free(hk_watch *w);
/* Watch root and every folder below it. */
int hk_watch_add_tree(hk_watch *w, const char *root);
int hk_watch_fd(const hk_watch *w);
/* Read pending events; append changed paths (g_free) to paths. Sets
 * *overflow if events were lost (the caller rescans everything). */
void hk_watch_read(hk_watch *w, GPtrArray *paths, bool *overflow);

/* hk-drop.h: the drop-folder source (interfaces.md, "Drop folder").
 *
 * A document is a content file plus "<content file>.meta.json", written
 * last. The folder is only ever read: files are opened O_RDONLY|O_NOFOLLOW,
 * nothing is renamed or removed. */
#pragma once

#include "hk-ingest.h"

#include <glib.h>

#define HK_SIDECAR_SUFFIX ".meta.json"
#define HK_DROP_MAX_DEPTH 32

typedef struct hk_drop hk_drop;

/* Open a drop folder as the source named name (hk_source_name_valid; its
 * documents' IDs are namespaced by it, so no other source can supersede
 * them); documents over max_content bytes are refused, and at most
 * parallel parser children run at once. \return 0; -HK_ENOTFOUND or
 * -HK_EPERM if the folder cannot be read; -HK_EINVAL for a bad name. */
int hk_drop_open(const char *name, const char *root, size_t max_content, unsigned parallel,
                 hk_drop **out);
void hk_drop_free(hk_drop *d);
const char *hk_drop_root(const hk_drop *d);
const char *hk_drop_name(const hk_drop *d);

/* Look at every sidecar under the root (paths == NULL), or only at the
 * given absolute paths (sidecars, content files or folders, from inotify),
 * and queue into ing what changed since the last look. Files of one scan are
 * queued by sidecar modification time, then name. Does not flush.
 * \return 0, or the error that stopped the scan (-HK_ESEALED...). */
int hk_drop_scan(hk_drop *d, hk_ingest *ing, GPtrArray *paths);

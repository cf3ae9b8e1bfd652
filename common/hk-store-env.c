/* hk-store-env.c: the environment: opening and closing it, its format record, the map (its lock,
 * its remaps, forked children) and copying it. See hk-store-private.h for what the files of the
 * store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const hk_db_names[DB_COUNT] = {
    "meta",    "docs",     "versions",     "withdrawn", "blobs",      "thumbs", "patients",
    "pindex",  "timeline", "census",       "files",     "quarantine", "thumbq", "sources",
    "refused", "rows",     "patient_rows", "texts",     "text_pages", "textq",  "textlog",
    "text_boxes",
};

#define HK_MAX_READERS 510

/* Map ranges of the open stores, for the atfork child handler: a child
 * forked without exec (the indexer's parser workers) must not keep a
 * terabyte mapping it never reads, or its RLIMIT_AS could not be set; nor
 * the lock file's, which is shared and writable: a parser taken over by a
 * hostile file could rewrite the reader table or hold the writer's mutex. */
#define HK_MAPS_MAX 16
typedef struct {
  const void *store;
  uintptr_t lo, hi;           /* data.mdb */
  uintptr_t lock_lo, lock_hi; /* lock.mdb */
} HkMapRange;
static HkMapRange hk_maps[HK_MAPS_MAX];
static pthread_mutex_t hk_maps_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t hk_maps_once = PTHREAD_ONCE_INIT;

/* The stores in which this thread has transactions open, and how many:
 * the lock is taken shared once per thread and store, so that a nested
 * transaction cannot queue behind a waiting remap that waits for it. */
#define HK_TL_STORES 4
static __thread struct {
  const hk_store *s;
  unsigned depth;
} hk_tl[HK_TL_STORES];

/* ---- the map: its lock, its remaps, forked children ---- */

/* This thread's count of open transactions of s, or NULL if it has
 * transactions open in more than HK_TL_STORES stores at once. */
unsigned *
hk_map_depth(const hk_store *s)
{
  int free_slot = -1;

  for (int i = 0; i < HK_TL_STORES; i++) {
    if (hk_tl[i].depth && hk_tl[i].s == s)
      return &hk_tl[i].depth;
    if (free_slot < 0 && hk_tl[i].depth == 0)
      free_slot = i;
  }
  if (free_slot < 0)
    return NULL;
  hk_tl[free_slot].s = s;
  return &hk_tl[free_slot].depth;
}

/* Enter the map for one transaction. */
int
hk_map_enter(hk_store *s)
{
  unsigned *depth = hk_map_depth(s);

  if (!depth)
    return -HK_EBUSY;
  if ((*depth)++ == 0)
    pthread_rwlock_rdlock(&s->map_lock);
  return 0;
}

void
hk_map_leave(hk_store *s)
{
  unsigned *depth = hk_map_depth(s);

  if (depth && *depth && --*depth == 0)
    pthread_rwlock_unlock(&s->map_lock);
}

/* Does the calling thread have a transaction of s open? */
bool
hk_map_inside(hk_store *s)
{
  for (int i = 0; i < HK_TL_STORES; i++)
    if (hk_tl[i].depth && hk_tl[i].s == s)
      return true;
  return false;
}

static void
hk_maps_prepare(void)
{
  pthread_mutex_lock(&hk_maps_lock);
}

static void
hk_maps_parent(void)
{
  pthread_mutex_unlock(&hk_maps_lock);
}

/* In a child forked without exec: it may not use the environment (LMDB
 * forbids it), so give back the address space of every map, the lock
 * file's included. */
static void
hk_maps_child(void)
{
  for (int i = 0; i < HK_MAPS_MAX; i++) {
    if (hk_maps[i].store && hk_maps[i].hi > hk_maps[i].lo)
      munmap((void *)hk_maps[i].lo, hk_maps[i].hi - hk_maps[i].lo);
    if (hk_maps[i].store && hk_maps[i].lock_hi > hk_maps[i].lock_lo)
      munmap((void *)hk_maps[i].lock_lo, hk_maps[i].lock_hi - hk_maps[i].lock_lo);
  }
  pthread_mutex_unlock(&hk_maps_lock);
}

static void
hk_maps_atfork(void)
{
  pthread_atfork(hk_maps_prepare, hk_maps_parent, hk_maps_child);
}

/* Find where LMDB mapped data.mdb (it does not tell, unless MDB_FIXEDMAP)
 * and note it for hk_maps_child: the mapping of the file whose size is
 * the map size; and the mapping of lock.mdb (its reader table). Called
 * after every (re)map, with no transaction open. */
static void
hk_map_note(hk_store *s)
{
  char *data = g_build_filename(s->dir, "data.mdb", NULL);
  char *lock = g_build_filename(s->dir, "lock.mdb", NULL);
  char *real = realpath(data, NULL), *lock_real = realpath(lock, NULL);
  FILE *maps = real ? fopen("/proc/self/maps", "re") : NULL;
  uint64_t size = hk_store_map_size(s);
  uintptr_t lo = 0, hi = 0, lock_lo = 0, lock_hi = 0;
  char line[4096];
  int slot = -1;

  while (maps && fgets(line, sizeof line, maps)) {
    unsigned long a, b;
    char *path = strchr(line, '/');
    if (!path || sscanf(line, "%lx-%lx", &a, &b) != 2)
      continue;
    path[strcspn(path, "\n")] = 0;
    if (strcmp(path, real) == 0 && b - a == size) {
      lo = a;
      hi = b;
    } else if (lock_real && strcmp(path, lock_real) == 0 && !lock_hi) {
      lock_lo = a;
      lock_hi = b;
    }
  }
  pthread_once(&hk_maps_once, hk_maps_atfork);
  pthread_mutex_lock(&hk_maps_lock);
  for (int i = 0; i < HK_MAPS_MAX; i++) {
    if (hk_maps[i].store == s) {
      slot = i;
      break;
    }
    if (slot < 0 && !hk_maps[i].store)
      slot = i;
  }
  if (slot >= 0) {
    hk_maps[slot].store = hi ? s : NULL;
    hk_maps[slot].lo = lo;
    hk_maps[slot].hi = hi;
    hk_maps[slot].lock_lo = lock_lo;
    hk_maps[slot].lock_hi = lock_hi;
  }
  pthread_mutex_unlock(&hk_maps_lock);
  if (!hi || slot < 0)
    hk_warn("%s: cannot locate the store's map; forked children keep it", s->dir);
  if (maps)
    fclose(maps);
  free(real);
  free(lock_real);
  g_free(data);
  g_free(lock);
}

static void
hk_map_forget(hk_store *s)
{
  pthread_mutex_lock(&hk_maps_lock);
  for (int i = 0; i < HK_MAPS_MAX; i++)
    if (hk_maps[i].store == s)
      memset(&hk_maps[i], 0, sizeof hk_maps[i]);
  pthread_mutex_unlock(&hk_maps_lock);
}

/* Replace the map by one of size bytes (0: the size the writer last
 * recorded, at least the store's), once no transaction of this process is
 * open. If remaps moved past seen meanwhile, another thread has done it.
 * The calling thread must have no transaction of s open. */
int
hk_map_replace(hk_store *s, uint64_t seen, uint64_t size)
{
  int rc = 0;

  pthread_rwlock_wrlock(&s->map_lock);
  if (__atomic_load_n(&s->remaps, __ATOMIC_ACQUIRE) == seen) {
    rc = s->unmapped ? EIO : mdb_env_set_mapsize(s->env, (size_t)MIN(size, (uint64_t)SIZE_MAX));
    __atomic_add_fetch(&s->remaps, 1, __ATOMIC_RELEASE);
    if (rc == 0)
      hk_map_note(s);
    else
      s->unmapped = true; /* read under the lock by hk_txn_begin */
  }
  pthread_rwlock_unlock(&s->map_lock);
  if (rc)
    hk_error("%s: cannot remap the store: %s", s->dir, mdb_strerror(rc));
  return rc;
}

/* The one place LMDB's codes become ours. */
int
hk_mdb_err(int rc)
{
  int ret;

  switch (rc) {
  case MDB_SUCCESS:
    ret = 0;
    break;
  case MDB_NOTFOUND:
    ret = -HK_ENOTFOUND;
    break;
  case MDB_KEYEXIST:
    ret = -HK_EEXIST;
    break;
  case MDB_MAP_FULL:
  case MDB_TXN_FULL:
    ret = -HK_ESPACE;
    break;
  case MDB_MAP_RESIZED:
    ret = -HK_ERESIZED;
    break;
  case MDB_READERS_FULL:
    ret = -HK_EBUSY;
    break;
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_INVALID:
  case MDB_VERSION_MISMATCH:
    ret = -HK_ECORRUPT;
    break;
  case MDB_BAD_TXN:
  case MDB_BAD_VALSIZE:
    ret = -HK_EINVAL;
    break;
  /* A full disk is not a full map: growing the map cannot help (it would
   * double a 1 TiB map until it failed). */
  case ENOSPC:
  case EDQUOT:
    ret = -HK_EIO;
    break;
  default:
    ret = rc > 0 ? hk_err_from_errno(rc) : -HK_EIO;
    break;
  }
  return ret;
}

/* ---- open / close ---- */

/* The format of the store: read from meta, or claimed for a new one. */
static int
hk_store_read_format(hk_store *s, MDB_txn *txn, bool create)
{
  MDB_val k = {6, (void *)"format"}, v;
  char buf[16];
  int rc, ret = 0;

  rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
  if (rc == MDB_NOTFOUND && create && !s->rdonly) {
    char want[16];
    snprintf(want, sizeof want, "%d", HK_STORE_FORMAT);
    v.mv_data = want;
    v.mv_size = strlen(want);
    ret = hk_mdb_err(mdb_put(txn, s->dbi[DB_META], &k, &v, MDB_NOOVERWRITE));
    s->format = HK_STORE_FORMAT;
    goto out;
  }
  if (rc == MDB_NOTFOUND) {
    hk_error("%s: not a hikae store (no format record)", s->dir);
    ret = -HK_EFORMAT;
    goto out;
  }
  if (rc) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  snprintf(buf, sizeof buf, "%.*s", (int)MIN(v.mv_size, sizeof buf - 1), (const char *)v.mv_data);
  s->format = (int)g_ascii_strtoll(buf, NULL, 10);
  if (s->format == HK_STORE_FORMAT ||
      (hk_store_format_migratable(s->format) && s->migrate && !s->rdonly))
    goto out;
  if (hk_store_format_migratable(s->format))
    hk_error("%s: store format %d; run `hikae-admin migrate --store %s` (this program reads "
             "format %d)",
             s->dir, s->format, s->dir, HK_STORE_FORMAT);
  else
    hk_error("%s: store format version %s, this program reads version %d", s->dir, buf,
             HK_STORE_FORMAT);
  ret = -HK_EFORMAT;
out:
  return ret;
}

/* Give the store its identity when it has none (a new store, or one
 * written before identities): derived data kept beside it (the full-text
 * index) records it, so that an index built from another store is refused
 * rather than served. A copy of the store (backup, restore) keeps it. */
static int
hk_store_claim_id(hk_store *s, MDB_txn *txn)
{
  MDB_val k = {8, (void *)"store_id"}, v;
  char *id = NULL;
  int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);

  if (rc == MDB_NOTFOUND) {
    id = g_uuid_string_random();
    v.mv_data = id;
    v.mv_size = strlen(id);
    rc = mdb_put(txn, s->dbi[DB_META], &k, &v, MDB_NOOVERWRITE);
  }
  g_free(id);
  return rc;
}

/* Open meta first and check the format, so that an older store is named
 * as such rather than as "database missing"; then the rest (created for a
 * new store, or added by a migration). */
static int
hk_store_open_dbs(hk_store *s, bool create)
{
  MDB_txn *txn = NULL;
  bool make = (create || s->migrate) && !s->rdonly;
  int rc = 0, ret = 0;

  rc = mdb_txn_begin(s->env, NULL, s->rdonly ? MDB_RDONLY : 0, &txn);
  if (!rc)
    rc = mdb_dbi_open(txn, hk_db_names[DB_META], create && !s->rdonly ? MDB_CREATE : 0,
                      &s->dbi[DB_META]);
  if (rc == MDB_NOTFOUND) {
    hk_error("%s: not a hikae store (no meta database)", s->dir);
    ret = -HK_EFORMAT;
    goto out;
  }
  if (rc) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  ret = hk_store_read_format(s, txn, create);
  if (ret)
    goto out;
  for (int i = 0; !rc && i < DB_COUNT; i++) {
    if (i == DB_META)
      continue;
    /* Derived tables added since format 5 need no migration: the writer
     * creates them; a reader that opens the store before it has done so
     * reads them as empty (every text "pending" or absent). */
    if (i >= DB_FIRST_OPTIONAL) {
      rc = mdb_dbi_open(txn, hk_db_names[i], s->rdonly ? 0 : MDB_CREATE, &s->dbi[i]);
      s->absent[i] = rc == MDB_NOTFOUND;
      if (rc == MDB_NOTFOUND)
        rc = 0;
      continue;
    }
    rc = mdb_dbi_open(txn, hk_db_names[i], make ? MDB_CREATE : 0, &s->dbi[i]);
  }
  if (rc == MDB_NOTFOUND) {
    hk_error("%s: not a hikae store (database missing)", s->dir);
    ret = -HK_EFORMAT;
    goto out;
  }
  if (!rc && !s->rdonly)
    rc = hk_store_claim_id(s, txn);
  if (!rc)
    rc = mdb_txn_commit(txn);
  txn = NULL;
  ret = hk_mdb_err(rc);
out:
  if (txn)
    mdb_txn_abort(txn);
  return ret;
}

/* The format was checked (and recorded for a new store) with the
 * databases. */
static int
hk_store_check_format(hk_store *s, bool create)
{
  (void)create;
  return s->format > 0 ? 0 : -HK_EFORMAT;
}

/* Create and open the environment with a map of size bytes. */
static int
hk_store_env_open(hk_store *s, uint64_t size)
{
  int rc = mdb_env_create(&s->env);

  if (!rc)
    rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 2);
  if (!rc)
    rc = mdb_env_set_maxreaders(s->env, HK_MAX_READERS);
  /* LMDB raises a map smaller than the store to the store's size. */
  if (!rc)
    rc = mdb_env_set_mapsize(s->env, (size_t)MIN(size, (uint64_t)SIZE_MAX));
  /* MDB_NOTLS: reader slots belong to transactions, not threads, so a
   * thread may hold more than one; MDB_NORDAHEAD: documents are read at
   * random. */
  if (!rc)
    rc = mdb_env_open(s->env, s->dir, MDB_NOTLS | MDB_NORDAHEAD | (s->rdonly ? MDB_RDONLY : 0),
                      0640);
  if (rc) {
    mdb_env_close(s->env);
    s->env = NULL;
  }
  return rc;
}

int
hk_store_open(const char *dir, unsigned flags, hk_store **out)
{
  return hk_store_open_map(dir, flags, 0, out);
}

int
hk_store_open_map(const char *dir, unsigned flags, uint64_t map_size, hk_store **out)
{
  hk_store *s = g_new0(hk_store, 1);
  bool create = flags & HK_STORE_CREATE;
  char *data = g_build_filename(dir, "data.mdb", NULL);
  struct stat st = {0};
  pthread_rwlockattr_t attr;
  uint64_t size = map_size ? map_size : HK_STORE_MAP_DEFAULT;
  int rc, ret = 0;
  int dead = 0;

  s->dir = g_strdup(dir);
  s->trace_fd = -1;
  s->rdonly = flags & HK_STORE_RDONLY;
  s->migrate = flags & HK_STORE_MIGRATE;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&s->map_lock, &attr);
  pthread_rwlockattr_destroy(&attr);
  s->map_lock_init = true;
  if (stat(data, &st) != 0) {
    if (!create || s->rdonly) {
      ret = -HK_ENOTFOUND;
      goto out;
    }
    if (g_mkdir_with_parents(dir, 0750) != 0) {
      ret = hk_err_from_errno(errno);
      goto out;
    }
  }
  /* Every process, reader or writer, maps far more than the store holds,
   * so that growth never has to replace a map under a reader. Where the
   * address space is limited, halve the map until it fits (never below
   * the store, which LMDB would round it up to anyway). */
  for (;;) {
    rc = hk_store_env_open(s, MAX(size, (uint64_t)st.st_size));
    if (rc != ENOMEM || size <= HK_STORE_MAP_MIN || size <= (uint64_t)st.st_size)
      break;
    size /= 2;
    hk_warn("%s: cannot map %" G_GUINT64_FORMAT
            " MiB (address space limit?): trying %" G_GUINT64_FORMAT " MiB",
            dir, size >> 19, size >> 20);
  }
  if (rc) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  /* Logged as the writer logs it (hk-store-txn.c): the indexer's search
   * index child, opening the store, may be the one that clears a slot. */
  mdb_reader_check(s->env, &dead);
  if (dead > 0)
    hk_info("%s: cleared %d reader slot(s) of dead processes", dir, dead);
  ret = hk_store_open_dbs(s, create);
  if (ret == 0)
    ret = hk_store_check_format(s, create);
  if (ret == 0)
    hk_map_note(s);
  if (ret == 0 && !s->rdonly && getenv("HK_TXN_TRACE")) {
    s->trace_fd = open(getenv("HK_TXN_TRACE"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->trace_fd < 0)
      hk_warn("HK_TXN_TRACE %s: %s", getenv("HK_TXN_TRACE"), g_strerror(errno));
  }
out:
  if (ret < 0) {
    hk_store_close(s);
    s = NULL;
  }
  *out = s;
  g_free(data);
  return ret;
}

void
hk_store_close(hk_store *s)
{
  if (!s)
    return;
  hk_map_forget(s);
  if (s->trace_fd >= 0)
    close(s->trace_fd);
  if (s->env)
    mdb_env_close(s->env);
  if (s->map_lock_init)
    pthread_rwlock_destroy(&s->map_lock);
  g_free(s->dir);
  g_free(s);
}

const char *
hk_store_dir(const hk_store *s)
{
  return s->dir;
}

uint64_t
hk_store_map_size(const hk_store *s)
{
  MDB_envinfo info;

  mdb_env_info(s->env, &info);
  return info.me_mapsize;
}

void
hk_store_trim(hk_store *s)
{
  char *data = g_build_filename(s->dir, "data.mdb", NULL);
  char *real = realpath(data, NULL);
  FILE *maps = real ? fopen("/proc/self/maps", "re") : NULL;
  char line[4096];

  /* LMDB does not tell where it mapped the file (me_mapaddr is only set
   * for MDB_FIXEDMAP), so find the mapping by name. It is a read-only
   * shared file mapping (no MDB_WRITEMAP): MADV_DONTNEED only forgets
   * pages, which fault back in from the page cache. */
  while (maps && fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    char *path = strchr(line, '/');
    if (!path || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
      continue;
    path[strcspn(path, "\n")] = 0;
    if (strcmp(path, real) == 0)
      madvise((void *)lo, hi - lo, MADV_DONTNEED);
  }
  if (maps)
    fclose(maps);
  free(real);
  g_free(data);
}

uint64_t
hk_store_remaps(const hk_store *s)
{
  return __atomic_load_n(&s->remaps, __ATOMIC_ACQUIRE);
}

int
hk_store_grow(hk_store *s)
{
  uint64_t seen = hk_store_remaps(s);
  uint64_t size = hk_store_map_size(s) * 2;
  int ret = -HK_EBUSY;

  /* Our own transaction would keep the exclusive lock from ever coming. */
  if (hk_map_inside(s))
    goto out;
  ret = hk_mdb_err(hk_map_replace(s, seen, size));
  if (ret == 0)
    hk_info("store map grown to %" G_GUINT64_FORMAT " MiB", hk_store_map_size(s) >> 20);
out:
  return ret;
}

int
hk_store_write(hk_store *s, int attempts, HkWriteFunc fn, void *data)
{
  hk_txn *t = NULL;
  int ret = -HK_ESPACE;

  for (int attempt = 0; attempt < attempts && ret == -HK_ESPACE; attempt++) {
    ret = hk_txn_begin(s, true, &t);
    if (ret)
      break;
    ret = fn(t, data);
    ret = ret ? (hk_txn_abort(t), ret) : hk_txn_commit(t);
    t = NULL;
    /* Grow only for another run: after the last one the answer stays
     * -HK_ESPACE (nothing was written), not the growth's 0. */
    if (ret == -HK_ESPACE && attempt + 1 < attempts) {
      int grown = hk_store_grow(s);
      if (grown)
        ret = grown;
    }
  }
  return ret;
}

/* ---- maintenance ---- */

int
hk_store_copy(hk_store *s, const char *dir)
{
  return hk_mdb_err(mdb_env_copy2(s->env, dir, MDB_CP_COMPACT));
}

bool
hk_store_format_migratable(int format)
{
  return format >= 1 && format < HK_STORE_FORMAT;
}

int
hk_store_format(const hk_store *s)
{
  return s->format;
}

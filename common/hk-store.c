#include "hk-store.h"

#include "hk-error.h"
#include "hk-json.h"
#include "hk-kana.h"
#include "hk-log.h"
#include "hk-sha256.h"
#include "hk-time.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* Named databases; see docs/store.md. */
enum {
  DB_META,
  DB_DOCS,
  DB_VERSIONS,
  DB_WITHDRAWN,
  DB_BLOBS,
  DB_THUMBS,
  DB_PATIENTS,
  DB_PINDEX,
  DB_TIMELINE,
  DB_CENSUS,
  DB_FILES,
  DB_QUARANTINE,
  DB_THUMBQ,
  DB_SOURCES,
  DB_REFUSED,
  DB_COUNT
};

static const char *const hk_db_names[DB_COUNT] = {
  "meta", "docs", "versions", "withdrawn", "blobs", "thumbs",
  "patients", "pindex", "timeline", "census", "files", "quarantine", "thumbq",
  "sources", "refused",
};

#define HK_MAX_READERS 510

/* Map ranges of the open stores, for the atfork child handler: a child
 * forked without exec (the indexer's parser children) must not keep a
 * terabyte mapping it never reads, or its RLIMIT_AS could not be set. */
#define HK_MAPS_MAX 16
typedef struct {
  const void *store;
  uintptr_t lo, hi;
} HkMapRange;
static HkMapRange hk_maps[HK_MAPS_MAX];
static pthread_mutex_t hk_maps_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t hk_maps_once = PTHREAD_ONCE_INIT;

struct hk_store {
  MDB_env *env;
  MDB_dbi dbi[DB_COUNT];
  char *dir;
  bool rdonly;
  bool migrate; /* HK_STORE_MIGRATE: a format-1 store may be opened */
  int format;
  /* Shared while a transaction of this process is open, exclusive while
   * the map is replaced: LMDB unmaps the old map at once, so a remap under
   * any open transaction (or any pointer a caller still holds into the map)
   * is a use after unmap. Writer-preferring, so a waiting remap is not
   * starved; never taken shared twice by one thread (hk_map_enter). */
  pthread_rwlock_t map_lock;
  bool map_lock_init;
  uint64_t remaps; /* __atomic */
  bool unmapped;   /* a remap failed half-way: LMDB has no map left */
  int trace_fd;    /* HK_TXN_TRACE: write-transaction trace, or -1 */
  int64_t reader_check_at; /* monotonic usec of the writer's last mdb_reader_check */
};

/* The stores in which this thread has transactions open, and how many:
 * the lock is taken shared once per thread and store, so that a nested
 * transaction cannot queue behind a waiting remap that waits for it. */
#define HK_TL_STORES 4
static __thread struct {
  const hk_store *s;
  unsigned depth;
} hk_tl[HK_TL_STORES];

struct hk_txn {
  hk_store *store;
  MDB_txn *txn;
  bool write;
  int ret;
};

/* ---- the map: its lock, its remaps, forked children ---- */

/* This thread's count of open transactions of s, or NULL if it has
 * transactions open in more than HK_TL_STORES stores at once. */
static unsigned *
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
static int
hk_map_enter(hk_store *s)
{
  unsigned *depth = hk_map_depth(s);

  if (!depth)
    return -HK_EBUSY;
  if ((*depth)++ == 0)
    pthread_rwlock_rdlock(&s->map_lock);
  return 0;
}

static void
hk_map_leave(hk_store *s)
{
  unsigned *depth = hk_map_depth(s);

  if (depth && *depth && --*depth == 0)
    pthread_rwlock_unlock(&s->map_lock);
}

/* Does the calling thread have a transaction of s open? */
static bool
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
 * forbids it), so give back the address space of every map. */
static void
hk_maps_child(void)
{
  for (int i = 0; i < HK_MAPS_MAX; i++)
    if (hk_maps[i].store && hk_maps[i].hi > hk_maps[i].lo)
      munmap((void *)hk_maps[i].lo, hk_maps[i].hi - hk_maps[i].lo);
  pthread_mutex_unlock(&hk_maps_lock);
}

static void
hk_maps_atfork(void)
{
  pthread_atfork(hk_maps_prepare, hk_maps_parent, hk_maps_child);
}

/* Find where LMDB mapped data.mdb (it does not tell, unless MDB_FIXEDMAP)
 * and note it for hk_maps_child: the mapping of the file whose size is
 * the map size. Called after every (re)map, with no transaction open. */
static void
hk_map_note(hk_store *s)
{
  char *data = g_build_filename(s->dir, "data.mdb", NULL);
  char *real = realpath(data, NULL);
  FILE *maps = real ? fopen("/proc/self/maps", "re") : NULL;
  uint64_t size = hk_store_map_size(s);
  uintptr_t lo = 0, hi = 0;
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
  }
  pthread_mutex_unlock(&hk_maps_lock);
  if (!hi || slot < 0)
    hk_warn("%s: cannot locate the store's map; forked children keep it", s->dir);
  if (maps)
    fclose(maps);
  free(real);
  g_free(data);
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
static int
hk_map_replace(hk_store *s, uint64_t seen, uint64_t size)
{
  int rc = 0;

  pthread_rwlock_wrlock(&s->map_lock);
  if (__atomic_load_n(&s->remaps, __ATOMIC_ACQUIRE) == seen) {
    rc = s->unmapped ? EIO
                     : mdb_env_set_mapsize(s->env, (size_t)MIN(size, (uint64_t)SIZE_MAX));
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
static int
hk_mdb_err(int rc)
{
  int ret;

  switch (rc) {
  case MDB_SUCCESS: ret = 0; break;
  case MDB_NOTFOUND: ret = -HK_ENOTFOUND; break;
  case MDB_KEYEXIST: ret = -HK_EEXIST; break;
  case MDB_MAP_FULL:
  case MDB_TXN_FULL: ret = -HK_ESPACE; break;
  case MDB_MAP_RESIZED: ret = -HK_ERESIZED; break;
  case MDB_READERS_FULL: ret = -HK_EBUSY; break;
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_INVALID:
  case MDB_VERSION_MISMATCH: ret = -HK_ECORRUPT; break;
  case MDB_BAD_TXN:
  case MDB_BAD_VALSIZE: ret = -HK_EINVAL; break;
  /* A full disk is not a full map: growing the map cannot help (it would
   * double a 1 TiB map until it failed). */
  case ENOSPC:
  case EDQUOT: ret = -HK_EIO; break;
  default: ret = rc > 0 ? hk_err_from_errno(rc) : -HK_EIO; break;
  }
  return ret;
}

/* ---- open / close ---- */

/* The format of the store: read from meta, or claimed for a new one. */
static int
hk_store_read_format(hk_store *s, MDB_txn *txn, bool create)
{
  MDB_val k = { 6, (void *)"format" }, v;
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
  if (s->format == HK_STORE_FORMAT || (s->format == 1 && s->migrate && !s->rdonly))
    goto out;
  if (s->format == 1)
    hk_error("%s: store format 1; run `hikae-admin migrate --store %s` (this program reads "
             "format %d)",
             s->dir, s->dir, HK_STORE_FORMAT);
  else
    hk_error("%s: store format version %s, this program reads version %d", s->dir, buf,
             HK_STORE_FORMAT);
  ret = -HK_EFORMAT;
out:
  return ret;
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
  for (int i = 0; !rc && i < DB_COUNT; i++)
    if (i != DB_META)
      rc = mdb_dbi_open(txn, hk_db_names[i], make ? MDB_CREATE : 0, &s->dbi[i]);
  if (rc == MDB_NOTFOUND) {
    hk_error("%s: not a hikae store (database missing)", s->dir);
    ret = -HK_EFORMAT;
    goto out;
  }
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
    rc = mdb_env_open(s->env, s->dir,
                      MDB_NOTLS | MDB_NORDAHEAD | (s->rdonly ? MDB_RDONLY : 0), 0640);
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
  struct stat st = { 0 };
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
    hk_warn("%s: cannot map %" G_GUINT64_FORMAT " MiB (address space limit?): trying %"
            G_GUINT64_FORMAT " MiB", dir, size >> 19, size >> 20);
  }
  if (rc) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  mdb_reader_check(s->env, &dead);
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

/* ---- transactions ---- */

/* Opt-in trace of write transactions for the kill -9 torture test
 * (tests/torture/kill-indexer.sh, docs/reliability.md): with
 * HK_TXN_TRACE=FILE, a writable store appends "begin|commit|abort
 * <CLOCK_MONOTONIC ns> <pid>" lines to FILE, each with one unbuffered
 * write(2), so that a SIGKILL leaves every line written before it. Off
 * (one integer test) without the variable. */
static void
hk_txn_trace(const hk_store *s, const char *what)
{
  struct timespec ts;
  char line[96];
  int n;

  if (s->trace_fd < 0)
    return;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  n = snprintf(line, sizeof line, "%s %" G_GINT64_FORMAT " %d\n", what,
               (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec, (int)getpid());
  if (n > 0 && write(s->trace_fd, line, (size_t)n) < 0)
    hk_warn("HK_TXN_TRACE: %s", g_strerror(errno));
}

int
hk_txn_begin(hk_store *s, bool write, hk_txn **out)
{
  hk_txn *t = NULL;
  MDB_txn *txn = NULL;
  int rc = 0, ret = 0;

  if (write && s->rdonly) {
    ret = -HK_EPERM;
    goto out;
  }
  /* A reader that died inside a read transaction keeps its slot, and the
   * pages it pinned, until someone runs mdb_reader_check: LMDB does it only
   * when the first process opens the store. A writer that stays up (the
   * watching indexer) would grow the store with every commit, so it clears
   * dead slots itself, at most once a second (a scan of the reader table). */
  if (write && g_get_monotonic_time() - s->reader_check_at >= G_USEC_PER_SEC) {
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    s->reader_check_at = g_get_monotonic_time();
    if (dead)
      hk_info("%s: cleared %d reader slot(s) of dead processes", s->dir, dead);
  }
  /* Bounded retries: another process may grow the map past ours or leave
   * dead reader slots; both are recoverable here. */
  for (int attempt = 0; attempt < 4; attempt++) {
    uint64_t seen = hk_store_remaps(s);
    ret = hk_map_enter(s);
    if (ret < 0)
      goto out;
    rc = s->unmapped ? EIO : mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &txn);
    if (rc == 0)
      break;
    hk_map_leave(s);
    if (rc == MDB_MAP_RESIZED) {
      /* The store outgrew our map. Follow, but only with no transaction of
       * ours open anywhere in the process: LMDB unmaps the old map. */
      if (hk_map_inside(s))
        break;
      if (hk_map_replace(s, seen, 0) != 0) {
        rc = EIO;
        break;
      }
      hk_info("store map followed the writer's growth: %" G_GUINT64_FORMAT " MiB",
              hk_store_map_size(s) >> 20);
      continue;
    }
    if (rc == MDB_READERS_FULL) {
      int dead = 0;
      mdb_reader_check(s->env, &dead);
      continue;
    }
    break;
  }
  if (rc) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  t = g_new0(hk_txn, 1);
  t->store = s;
  t->txn = txn;
  t->write = write;
  if (write)
    hk_txn_trace(s, "begin");
out:
  *out = t;
  return ret;
}

/* A commit that could not write its pages: LMDB reports a short write on a
 * full file system as EIO, which alone reads like a failing disk. Say
 * "full" when it is (under 16 MiB left), so that whoever reads the log
 * frees space rather than replaces a disk. */
static void
hk_store_write_failed(const hk_store *s, int rc)
{
  struct statvfs vfs;

  if (rc != EIO && rc != ENOSPC && rc != EDQUOT)
    return;
  if (statvfs(s->dir, &vfs) != 0)
    return;
  uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
  if (rc != EIO || avail < (16u << 20))
    hk_error("%s: write failed: no space left on the store's file system (%" G_GUINT64_FORMAT
             " KiB free); nothing of this transaction was stored, the store keeps its last "
             "commit, and writing resumes when there is space",
             s->dir, avail >> 10);
}

int
hk_txn_commit(hk_txn *t)
{
  hk_store *s = t->store;
  int ret = t->ret;

  if (ret == 0 && t->write) {
    int rc = mdb_txn_commit(t->txn);
    if (rc)
      hk_store_write_failed(s, rc);
    ret = hk_mdb_err(rc);
  } else
    mdb_txn_abort(t->txn);
  if (t->write)
    hk_txn_trace(s, ret == 0 ? "commit" : "abort");
  g_free(t);
  hk_map_leave(s);
  return ret;
}

void
hk_txn_abort(hk_txn *t)
{
  hk_store *s;

  if (!t)
    return;
  s = t->store;
  mdb_txn_abort(t->txn);
  if (t->write)
    hk_txn_trace(s, "abort");
  g_free(t);
  hk_map_leave(s);
}

int
hk_txn_error(const hk_txn *t)
{
  return t->ret;
}

int
hk_txn_renew(hk_txn *t)
{
  hk_store *s = t->store;
  uint64_t seen = hk_store_remaps(s);
  int rc, ret = -HK_EINVAL;

  if (t->write)
    goto out;
  mdb_txn_reset(t->txn);
  rc = mdb_txn_renew(t->txn);
  if (rc == MDB_MAP_RESIZED) {
    unsigned *depth = hk_map_depth(s);
    /* A reset transaction points into no map; if it is this thread's only
     * one, step out of the map for the remap and back in. */
    rc = EBUSY;
    if (depth && *depth == 1) {
      hk_map_leave(s);
      rc = hk_map_replace(s, seen, 0);
      hk_map_enter(s);
      if (rc == 0)
        rc = mdb_txn_renew(t->txn);
    }
  }
  ret = t->ret = hk_mdb_err(rc);
out:
  return ret;
}

/* Sticky helpers: no-ops once t->ret is set. */
static int
hk_get(hk_txn *t, int db, const void *key, size_t klen, MDB_val *val)
{
  MDB_val k = { klen, (void *)key };

  if (t->ret)
    return t->ret;
  return hk_mdb_err(mdb_get(t->txn, t->store->dbi[db], &k, val));
}

static int
hk_put(hk_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen,
       unsigned flags)
{
  MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
  int ret;

  if (t->ret)
    return t->ret;
  if (!t->write)
    return t->ret = -HK_EPERM;
  ret = hk_mdb_err(mdb_put(t->txn, t->store->dbi[db], &k, &v, flags));
  /* An existing key under NOOVERWRITE is an answer, not a failure. */
  if (ret && ret != -HK_EEXIST)
    t->ret = ret;
  return ret;
}

static int
hk_del(hk_txn *t, int db, const void *key, size_t klen)
{
  MDB_val k = { klen, (void *)key };
  int ret;

  if (t->ret)
    return t->ret;
  ret = hk_mdb_err(mdb_del(t->txn, t->store->dbi[db], &k, NULL));
  if (ret && ret != -HK_ENOTFOUND)
    t->ret = ret;
  return ret;
}

static int
hk_cursor(hk_txn *t, int db, MDB_cursor **c)
{
  if (t->ret)
    return t->ret;
  return hk_mdb_err(mdb_cursor_open(t->txn, t->store->dbi[db], c));
}

static uint64_t
hk_entries(hk_txn *t, int db)
{
  MDB_stat st;

  if (mdb_stat(t->txn, t->store->dbi[db], &st) != 0)
    return 0;
  return st.ms_entries;
}

/* ---- key encodings (big-endian so byte order is numeric order) ---- */

static void
hk_be64(uint8_t *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static uint64_t
hk_rd64(const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void
hk_be32(uint8_t *p, uint32_t v)
{
  for (int i = 3; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static int
hk_docid_bin(const char *hex, uint8_t out[8])
{
  uint64_t v = 0;
  int ret = -HK_EINVAL;

  if (!hex || strlen(hex) != HK_DOC_ID_LEN)
    goto out;
  for (int i = 0; i < HK_DOC_ID_LEN; i++) {
    char c = hex[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      goto out;
    v = v << 4 | (uint64_t)d;
  }
  hk_be64(out, v);
  ret = 0;
out:
  return ret;
}

static void
hk_docid_hex(const uint8_t bin[8], char out[HK_DOC_ID_LEN + 1])
{
  snprintf(out, HK_DOC_ID_LEN + 1, "%016" G_GINT64_MODIFIER "x", hk_rd64(bin));
}

/* Signed time as an order-preserving unsigned. */
static uint64_t
hk_time_key(int64_t usec)
{
  return (uint64_t)usec ^ (1ull << 63);
}

/* ---- blobs ---- */

int
hk_store_put_blob(hk_txn *t, const char *sha_hex, const void *data, size_t len, bool *created)
{
  uint8_t key[HK_SHA256_LEN];
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    ret = hk_put(t, DB_BLOBS, key, sizeof key, data, len, MDB_NOOVERWRITE);
  if (created)
    *created = ret == 0;
  if (ret == -HK_EEXIST)
    ret = 0;
  return ret;
}

int
hk_store_get_blob(hk_txn *t, const char *sha_hex, const void **data, size_t *len)
{
  uint8_t key[HK_SHA256_LEN];
  MDB_val v;
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    ret = hk_get(t, DB_BLOBS, key, sizeof key, &v);
  if (ret == 0) {
    *data = v.mv_data;
    *len = v.mv_size;
  }
  return ret;
}

int
hk_store_put_thumbnail(hk_txn *t, const char *sha_hex, const void *jpeg, size_t len)
{
  uint8_t key[HK_SHA256_LEN];
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    ret = hk_put(t, DB_THUMBS, key, sizeof key, jpeg, len, MDB_NOOVERWRITE);
  if (ret == -HK_EEXIST)
    ret = 0;
  if (ret == 0)
    hk_del(t, DB_THUMBQ, key, sizeof key);
  return ret ? ret : t->ret;
}

int
hk_store_queue_thumbnail(hk_txn *t, const char *sha_hex)
{
  uint8_t key[HK_SHA256_LEN];
  MDB_val v;
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0 && hk_get(t, DB_THUMBS, key, sizeof key, &v) == -HK_ENOTFOUND)
    ret = hk_put(t, DB_THUMBQ, key, sizeof key, "", 0, 0);
  return ret ? ret : t->ret;
}

int
hk_store_unqueue_thumbnail(hk_txn *t, const char *sha_hex)
{
  uint8_t key[HK_SHA256_LEN];
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    hk_del(t, DB_THUMBQ, key, sizeof key);
  return ret ? ret : t->ret;
}

int
hk_store_thumbnail_queue(hk_txn *t, unsigned max, GPtrArray *out)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_THUMBQ, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && out->len < max;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char hex[HK_SHA256_HEX_LEN + 1];
    if (k.mv_size != HK_SHA256_LEN)
      continue;
    hk_sha256_hex(k.mv_data, hex);
    g_ptr_array_add(out, g_strdup(hex));
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_get_thumbnail(hk_txn *t, const char *sha_hex, const void **jpeg, size_t *len)
{
  uint8_t key[HK_SHA256_LEN];
  MDB_val v;
  int ret = hk_sha256_from_hex(sha_hex, key);

  if (ret == 0)
    ret = hk_get(t, DB_THUMBS, key, sizeof key, &v);
  if (ret == 0) {
    *jpeg = v.mv_data;
    *len = v.mv_size;
  }
  return ret;
}

/* ---- documents and versions ---- */

/* Load the newest version of a document (binary ID), or -HK_ENOTFOUND. */
static int
hk_current_version(hk_txn *t, const uint8_t id[8], HkVersion **out)
{
  MDB_cursor *c = NULL;
  uint8_t key[12];
  MDB_val k = { sizeof key, key }, v;
  int rc, ret;

  *out = NULL;
  ret = hk_cursor(t, DB_VERSIONS, &c);
  if (ret)
    goto out;
  memcpy(key, id, 8);
  hk_be32(key + 8, UINT32_MAX);
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND)
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  else if (rc == 0)
    rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
  if (rc) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  if (k.mv_size != 12 || memcmp(k.mv_data, id, 8) != 0) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_version_from_json(v.mv_data, v.mv_size, out);
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

static bool
hk_same_version(const HkVersion *a, const HkVersion *b)
{
  return strcmp(a->sha256, b->sha256) == 0 && g_strcmp0(a->patient_id, b->patient_id) == 0 &&
         g_strcmp0(a->type, b->type) == 0 && g_strcmp0(a->title, b->title) == 0 &&
         g_strcmp0(a->created_at, b->created_at) == 0 &&
         g_strcmp0(a->author, b->author) == 0 && g_strcmp0(a->department, b->department) == 0 &&
         g_strcmp0(a->content_type, b->content_type) == 0;
}

static size_t
hk_timeline_key(uint8_t *buf, const char *pid, int64_t created, const uint8_t id[8])
{
  size_t n = strlen(pid);

  memcpy(buf, pid, n);
  buf[n] = 0;
  hk_be64(buf + n + 1, hk_time_key(created));
  memcpy(buf + n + 9, id, 8);
  return n + 17;
}

/* The registry key of a source's document: name NUL source_id, or name
 * NUL '#' SHA-256(source_id) in hex if that would pass LMDB's key limit. */
static size_t
hk_source_key(uint8_t *buf, size_t cap, const char *name, const char *source_id)
{
  size_t nl = strlen(name), sl = strlen(source_id);

  memcpy(buf, name, nl);
  buf[nl] = 0;
  if (nl + 1 + sl <= cap && nl + 1 + sl <= 500) {
    memcpy(buf + nl + 1, source_id, sl);
    return nl + 1 + sl;
  }
  {
    uint8_t d[HK_SHA256_LEN];
    char hex[HK_SHA256_HEX_LEN + 1];
    hk_sha256(source_id, sl, d);
    hk_sha256_hex(d, hex);
    buf[nl + 1] = '#';
    memcpy(buf + nl + 2, hex, HK_SHA256_HEX_LEN);
    return nl + 2 + HK_SHA256_HEX_LEN;
  }
}

#define HK_SOURCE_KEY_MAX (HK_SOURCE_NAME_MAX + 2 + HK_SHA256_HEX_LEN + 500)

int
hk_store_find_doc(hk_txn *t, const char *source_name, const char *source_id,
                  char doc_id[HK_DOC_ID_LEN + 1])
{
  uint8_t key[HK_SOURCE_KEY_MAX];
  size_t klen;
  MDB_val v;
  int ret = -HK_ENOTFOUND;

  doc_id[0] = 0;
  if (!source_id || !hk_source_name_valid(source_name))
    goto out;
  klen = hk_source_key(key, sizeof key, source_name, source_id);
  ret = hk_get(t, DB_SOURCES, key, klen, &v);
  if (ret == 0 && v.mv_size != 8)
    ret = -HK_ECORRUPT;
  if (ret == 0)
    hk_docid_hex(v.mv_data, doc_id);
out:
  return ret;
}

int
hk_store_find_source(hk_txn *t, const char *source_id, char doc_id[HK_DOC_ID_LEN + 1])
{
  return hk_store_find_doc(t, hk_source_default_name(source_id), source_id, doc_id);
}

/* Delete the timeline entry of the newest version of d that belongs to
 * patient_id, if any. */
static void
hk_timeline_forget(hk_txn *t, const HkDocument *d, const char *patient_id, const uint8_t id[8])
{
  uint8_t tkey[HK_PATIENT_ID_MAX + 17];

  for (guint i = d->versions->len; i > 0; i--) {
    const HkVersion *o = d->versions->pdata[i - 1];
    if (g_strcmp0(o->patient_id, patient_id) == 0) {
      size_t tlen = hk_timeline_key(tkey, o->patient_id, o->created_usec, id);
      hk_del(t, DB_TIMELINE, tkey, tlen);
      break;
    }
  }
}

int
hk_store_add_version(hk_txn *t, HkVersion *v, bool *added)
{
  uint8_t id[8], vkey[12], tkey[HK_PATIENT_ID_MAX + 17], skey[HK_SOURCE_KEY_MAX];
  HkDocument *d = NULL;
  const HkVersion *cur = NULL;
  MDB_val existing;
  char *json = NULL, meta[32];
  size_t tlen, slen;
  int ret;

  *added = false;
  if (!v->source_id || !hk_patient_id_valid(v->patient_id)) {
    ret = -HK_EINVAL;
    goto out;
  }
  if (!v->source_name)
    v->source_name = g_strdup(hk_source_default_name(v->source_id));
  if (!hk_source_name_valid(v->source_name)) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_store_find_doc(t, v->source_name, v->source_id, v->doc_id);
  if (ret == 0) {
    hk_docid_bin(v->doc_id, id);
    ret = hk_store_get_document(t, v->doc_id, &d);
    if (ret == -HK_ENOTFOUND)
      ret = t->ret = -HK_ECORRUPT; /* registered but no version */
    if (ret)
      goto out;
    cur = hk_document_current(d);
    if (hk_same_version(cur, v))
      goto out;
    v->version = cur->version + 1;
  } else if (ret == -HK_ENOTFOUND) {
    GByteArray *val = g_byte_array_new();
    hk_version_doc_id_named(v->source_name, v->source_id, v->doc_id);
    hk_docid_bin(v->doc_id, id);
    ret = hk_get(t, DB_DOCS, id, 8, &existing);
    if (ret == 0) {
      /* 64-bit IDs from SHA-256: a collision is astronomically unlikely, but
       * it would show one document's bytes under another's name. */
      hk_error("document ID %s collides for source IDs; refusing", v->doc_id);
      ret = t->ret = -HK_ECORRUPT;
    } else if (ret == -HK_ENOTFOUND) {
      g_byte_array_append(val, (const guint8 *)v->source_name, (guint)strlen(v->source_name) + 1);
      g_byte_array_append(val, (const guint8 *)v->source_id, (guint)strlen(v->source_id));
      ret = hk_put(t, DB_DOCS, id, 8, val->data, val->len, MDB_NOOVERWRITE);
      slen = hk_source_key(skey, sizeof skey, v->source_name, v->source_id);
      if (ret == 0)
        ret = hk_put(t, DB_SOURCES, skey, slen, id, 8, MDB_NOOVERWRITE);
      if (ret == -HK_EEXIST)
        ret = t->ret = -HK_ECORRUPT;
    }
    g_byte_array_unref(val);
    if (ret)
      goto out;
    v->version = 1;
  } else {
    goto out;
  }
  if (!v->ingested_at)
    v->ingested_at = hk_time_now();
  memcpy(vkey, id, 8);
  hk_be32(vkey + 8, v->version);
  json = hk_version_to_json(v);
  ret = hk_put(t, DB_VERSIONS, vkey, sizeof vkey, json, strlen(json), MDB_NOOVERWRITE);
  if (ret == -HK_EEXIST)
    ret = t->ret = -HK_ECORRUPT;
  if (ret)
    goto out;
  /* The timeline is an index, not the record: it follows the newest
   * version's patient and date. A document that moves to another patient
   * keeps its row on the old patient's timeline (marked "moved to" when
   * read), so a clinician who saw it there can still find it; a move back
   * replaces that patient's old row. */
  if (cur && strcmp(cur->patient_id, v->patient_id) == 0) {
    tlen = hk_timeline_key(tkey, cur->patient_id, cur->created_usec, id);
    hk_del(t, DB_TIMELINE, tkey, tlen);
  } else if (cur) {
    hk_timeline_forget(t, d, v->patient_id, id);
  }
  tlen = hk_timeline_key(tkey, v->patient_id, v->created_usec, id);
  ret = hk_put(t, DB_TIMELINE, tkey, tlen, v->type, strlen(v->type), 0);
  snprintf(meta, sizeof meta, "%" G_GINT64_FORMAT, v->ingested_at);
  if (ret == 0)
    ret = hk_put(t, DB_META, "last_document_at", 16, meta, strlen(meta), 0);
  if (ret == 0)
    *added = true;
out:
  hk_document_free(d);
  g_free(json);
  return ret;
}

static int
hk_load_withdrawn(hk_txn *t, const uint8_t id[8], uint32_t version, HkDocument *d)
{
  uint8_t key[12];
  MDB_val v;
  JsonParser *p = NULL;
  int ret;

  memcpy(key, id, 8);
  hk_be32(key + 8, version);
  ret = hk_get(t, DB_WITHDRAWN, key, sizeof key, &v);
  if (ret == -HK_ENOTFOUND) {
    ret = 0;
    goto out;
  }
  if (ret)
    goto out;
  d->withdrawn = true;
  p = json_parser_new_immutable();
  if (json_parser_load_from_data(p, v.mv_data, (gssize)v.mv_size, NULL) &&
      json_parser_get_root(p) && JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    d->withdrawn_reason = g_strdup(json_object_get_string_member_with_default(o, "reason", ""));
    d->withdrawn_at = json_object_get_int_member_with_default(o, "at", 0);
  }
out:
  if (p)
    g_object_unref(p);
  return ret;
}

int
hk_store_get_document(hk_txn *t, const char *doc_id, HkDocument **out)
{
  HkDocument *d = NULL;
  MDB_cursor *c = NULL;
  uint8_t id[8], key[12];
  MDB_val k = { sizeof key, key }, v;
  MDB_cursor_op op = MDB_SET_RANGE;
  int rc, ret;

  *out = NULL;
  ret = hk_docid_bin(doc_id, id);
  if (ret) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_cursor(t, DB_VERSIONS, &c);
  if (ret)
    goto out;
  d = hk_document_new();
  memcpy(key, id, 8);
  hk_be32(key + 8, 0);
  while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
    HkVersion *ver = NULL;
    op = MDB_NEXT;
    if (k.mv_size != 12 || memcmp(k.mv_data, id, 8) != 0)
      break;
    ret = hk_version_from_json(v.mv_data, v.mv_size, &ver);
    if (ret)
      goto out;
    g_ptr_array_add(d->versions, ver);
  }
  if (rc && rc != MDB_NOTFOUND) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  if (d->versions->len == 0) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_load_withdrawn(t, id, hk_document_current(d)->version, d);
  if (ret == 0)
    ret = hk_get(t, DB_DOCS, id, 8, &v);
  if (ret == 0) {
    const char *nul = memchr(v.mv_data, 0, v.mv_size);
    /* format 2: name NUL source_id */
    if (nul)
      d->source_name = g_strndup(v.mv_data, (gsize)(nul - (const char *)v.mv_data));
  } else if (ret == -HK_ENOTFOUND) {
    ret = 0;
  }
  if (ret == 0)
    ret = hk_store_get_refusals(t, doc_id, d->refused);
  if (ret)
    goto out;
  *out = d;
  d = NULL;
out:
  if (c)
    mdb_cursor_close(c);
  hk_document_free(d);
  return ret;
}

int
hk_store_get_version(hk_txn *t, const char *doc_id, uint32_t version, HkVersion **out)
{
  uint8_t id[8], key[12];
  MDB_val v;
  int ret;

  *out = NULL;
  if (hk_docid_bin(doc_id, id) != 0) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  if (version == 0) {
    ret = hk_current_version(t, id, out);
    goto out;
  }
  memcpy(key, id, 8);
  hk_be32(key + 8, version);
  ret = hk_get(t, DB_VERSIONS, key, sizeof key, &v);
  if (ret == 0)
    ret = hk_version_from_json(v.mv_data, v.mv_size, out);
out:
  return ret;
}

int
hk_store_withdraw(hk_txn *t, const char *doc_id, const char *reason)
{
  HkVersion *cur = NULL;
  uint8_t id[8], key[12];
  char *json = NULL;
  int ret;

  ret = hk_docid_bin(doc_id, id);
  if (ret)
    goto out;
  ret = hk_current_version(t, id, &cur);
  if (ret)
    goto out;
  memcpy(key, id, 8);
  hk_be32(key + 8, cur->version);
  {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "reason");
    json_builder_add_string_value(b, reason ? reason : "");
    json_builder_set_member_name(b, "at");
    json_builder_add_int_value(b, hk_time_now());
    json_builder_end_object(b);
    json = hk_json_to_text(b);
    g_object_unref(b);
  }
  ret = hk_put(t, DB_WITHDRAWN, key, sizeof key, json, strlen(json), MDB_NOOVERWRITE);
  if (ret == -HK_EEXIST)
    ret = 0;
out:
  hk_version_free(cur);
  g_free(json);
  return ret;
}

static bool
hk_is_withdrawn(hk_txn *t, const uint8_t key[12])
{
  MDB_val v;
  MDB_val k = { 12, (void *)key };

  return mdb_get(t->txn, t->store->dbi[DB_WITHDRAWN], &k, &v) == 0;
}

/* Walk versions of one document (by binary ID prefix) or all. */
static int
hk_foreach_in(hk_txn *t, const uint8_t *prefix, HkVersionFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  uint8_t start[12] = { 0 };
  MDB_val k = { sizeof start, start }, v;
  MDB_cursor_op op = prefix ? MDB_SET_RANGE : MDB_FIRST;
  HkVersion *prev = NULL;
  uint8_t prevkey[12];
  int rc, ret;

  if (prefix)
    memcpy(start, prefix, 8);
  ret = hk_cursor(t, DB_VERSIONS, &c);
  if (ret)
    goto out;
  /* Hold one version back so we know whether it is the document's last. */
  while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
    HkVersion *ver = NULL;
    op = MDB_NEXT;
    if (k.mv_size != 12 || (prefix && memcmp(k.mv_data, prefix, 8) != 0))
      break;
    ret = hk_version_from_json(v.mv_data, v.mv_size, &ver);
    if (ret)
      goto out;
    if (prev) {
      bool current = memcmp(prevkey, k.mv_data, 8) != 0;
      ret = fn(prev, current, current && hk_is_withdrawn(t, prevkey), data);
      hk_version_free(prev);
      prev = NULL;
      if (ret) {
        hk_version_free(ver);
        goto out;
      }
    }
    prev = ver;
    memcpy(prevkey, k.mv_data, 12);
  }
  if (rc && rc != MDB_NOTFOUND) {
    ret = hk_mdb_err(rc);
    goto out;
  }
  if (prev)
    ret = fn(prev, true, hk_is_withdrawn(t, prevkey), data);
out:
  hk_version_free(prev);
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_foreach_version(hk_txn *t, const char *patient_id, HkVersionFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  uint8_t key[HK_PATIENT_ID_MAX + 17];
  MDB_val k, v;
  size_t plen;
  int rc, ret = 0;

  if (!patient_id) {
    ret = hk_foreach_in(t, NULL, fn, data);
    goto out;
  }
  plen = strlen(patient_id);
  if (plen > HK_PATIENT_ID_MAX) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_cursor(t, DB_TIMELINE, &c);
  if (ret)
    goto out;
  memcpy(key, patient_id, plen);
  key[plen] = 0;
  k.mv_data = key;
  k.mv_size = plen + 1;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != plen + 17 || memcmp(k.mv_data, key, plen + 1) != 0)
      break;
    uint8_t id[8];
    memcpy(id, (uint8_t *)k.mv_data + plen + 9, 8);
    ret = hk_foreach_in(t, id, fn, data);
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

/* ---- timeline ---- */

int
hk_store_timeline(hk_txn *t, const char *patient_id, const HkTimelineQuery *q,
                  GPtrArray *doc_ids, char **next_cursor)
{
  MDB_cursor *c = NULL;
  uint8_t key[HK_PATIENT_ID_MAX + 17], id[8];
  MDB_val k, v;
  size_t plen = strlen(patient_id);
  unsigned n = 0;
  int64_t last_created = 0;
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
      ok = end && end != parts[0] && *end == 0 && hk_docid_bin(parts[1], id) == 0;
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
    if (q->type && (v.mv_size != strlen(q->type) || memcmp(v.mv_data, q->type, v.mv_size)))
      continue;
    if (n == q->limit) {
      /* One more exists: the cursor points at the last one returned, by
       * the date of its row (a document moved to another patient keeps
       * its row here at the date it had). */
      const char *last = g_ptr_array_index(doc_ids, doc_ids->len - 1);
      *next_cursor = g_strdup_printf("%" G_GINT64_FORMAT ".%s", last_created, last);
      break;
    }
    char hex[HK_DOC_ID_LEN + 1];
    hk_docid_hex(kp + plen + 9, hex);
    g_ptr_array_add(doc_ids, g_strdup(hex));
    last_created = created;
    n++;
  }
  if (rc && rc != MDB_NOTFOUND)
    ret = hk_mdb_err(rc);
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

/* ---- patients, their search index and the census ---- */

/* LMDB keys stop at 511 bytes; a name longer than any real one (a broken
 * HL7 field) is indexed by its first 400 bytes rather than failing the
 * whole batch it came in. */
#define HK_INDEX_TEXT_MAX 400

static char *
hk_index_text(const char *text)
{
  char *k = hk_kana_fold(text);

  if (k && strlen(k) > HK_INDEX_TEXT_MAX) {
    const char *end = k + HK_INDEX_TEXT_MAX;
    while (end > k && (*end & 0xC0) == 0x80)
      end--;
    k[end - k] = 0;
  }
  return k;
}

/* Index keys: one kind byte, the folded text, NUL, the patient ID. */
static GPtrArray *
hk_patient_index_keys(const HkPatient *p)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
  char *kana = hk_index_text(p->kana), *name = hk_index_text(p->name);

  if (kana && *kana)
    g_ptr_array_add(keys, g_strdup_printf("k%s", kana));
  if (name && *name)
    g_ptr_array_add(keys, g_strdup_printf("n%s", name));
  if (p->birth_date && hk_time_is_date(p->birth_date))
    g_ptr_array_add(keys, g_strdup_printf("b%s", p->birth_date));
  g_free(kana);
  g_free(name);
  return keys;
}

static void
hk_index_key(GByteArray *buf, const char *k, const char *id)
{
  g_byte_array_set_size(buf, 0);
  g_byte_array_append(buf, (const guint8 *)k, (guint)strlen(k) + 1);
  g_byte_array_append(buf, (const guint8 *)id, (guint)strlen(id));
}

int
hk_store_put_patient(hk_txn *t, HkPatient *p)
{
  HkPatient *old = NULL;
  GPtrArray *oldkeys = NULL, *newkeys = NULL;
  GByteArray *buf = g_byte_array_new();
  char *json = NULL;
  int ret;

  if (!hk_patient_id_valid(p->id)) {
    ret = -HK_EINVAL;
    goto out;
  }
  ret = hk_store_get_patient(t, p->id, &old);
  if (ret && ret != -HK_ENOTFOUND)
    goto out;
  if (old) {
    oldkeys = hk_patient_index_keys(old);
    for (guint i = 0; i < oldkeys->len; i++) {
      hk_index_key(buf, g_ptr_array_index(oldkeys, i), p->id);
      hk_del(t, DB_PINDEX, buf->data, buf->len);
    }
  }
  p->updated_at = hk_time_now();
  json = hk_patient_to_json(p);
  ret = hk_put(t, DB_PATIENTS, p->id, strlen(p->id), json, strlen(json), 0);
  newkeys = hk_patient_index_keys(p);
  for (guint i = 0; ret == 0 && i < newkeys->len; i++) {
    hk_index_key(buf, g_ptr_array_index(newkeys, i), p->id);
    ret = hk_put(t, DB_PINDEX, buf->data, buf->len, "", 0, 0);
  }
  if (ret)
    goto out;
  if (p->admission && p->admission->ward)
    ret = hk_put(t, DB_CENSUS, p->id, strlen(p->id), p->admission->ward,
                 strlen(p->admission->ward), 0);
  else
    hk_del(t, DB_CENSUS, p->id, strlen(p->id));
  if (ret == 0)
    ret = t->ret;
out:
  hk_patient_free(old);
  if (oldkeys)
    g_ptr_array_unref(oldkeys);
  if (newkeys)
    g_ptr_array_unref(newkeys);
  g_byte_array_unref(buf);
  g_free(json);
  return ret;
}

int
hk_store_get_patient(hk_txn *t, const char *id, HkPatient **out)
{
  MDB_val v;
  int ret;

  *out = NULL;
  if (!hk_patient_id_valid(id)) {
    ret = -HK_ENOTFOUND;
    goto out;
  }
  ret = hk_get(t, DB_PATIENTS, id, strlen(id), &v);
  if (ret == 0)
    ret = hk_patient_from_json(v.mv_data, v.mv_size, out);
out:
  return ret;
}

static bool
hk_has_id(GPtrArray *out, const char *id)
{
  for (guint i = 0; i < out->len; i++)
    if (strcmp(((HkPatient *)g_ptr_array_index(out, i))->id, id) == 0)
      return true;
  return false;
}

/* Add the patients of index entries whose key (kind + folded text) starts
 * with prefix (or, for substring, contains needle). */
static int
hk_search_index(hk_txn *t, char kind, const char *prefix, const char *needle, unsigned limit,
                GPtrArray *out)
{
  MDB_cursor *c = NULL;
  char *start = g_strdup_printf("%c%s", kind, prefix ? prefix : "");
  size_t slen = strlen(start);
  MDB_val k = { slen, start }, v;
  int rc, ret;

  ret = hk_cursor(t, DB_PINDEX, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && out->len < limit;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const char *kp = k.mv_data;
    const char *nul = memchr(kp, 0, k.mv_size);
    if (k.mv_size < slen || memcmp(kp, start, slen) != 0 || !nul)
      break;
    if (needle && !strstr(kp + 1, needle))
      continue;
    char *id = g_strndup(nul + 1, k.mv_size - (size_t)(nul + 1 - kp));
    HkPatient *p = NULL;
    if (!hk_has_id(out, id) && hk_store_get_patient(t, id, &p) == 0)
      g_ptr_array_add(out, p);
    g_free(id);
  }
out:
  if (c)
    mdb_cursor_close(c);
  g_free(start);
  return ret;
}

int
hk_store_search_patients(hk_txn *t, const char *query, unsigned limit, GPtrArray *out)
{
  char *folded = NULL, *q = NULL;
  HkPatient *p = NULL;
  int ret = 0;

  if (!query || !g_utf8_validate(query, -1, NULL)) {
    ret = -HK_EINVAL;
    goto out;
  }
  q = g_strstrip(g_strdup(query));
  if (!*q || limit == 0)
    goto out;
  /* The ID first: it is what a wristband or a referral letter gives. */
  if (hk_patient_id_valid(q) && hk_store_get_patient(t, q, &p) == 0) {
    g_ptr_array_add(out, p);
    p = NULL;
  }
  if (hk_time_is_date(q)) {
    ret = hk_search_index(t, 'b', q, NULL, limit, out);
    goto out;
  }
  folded = hk_kana_fold(q);
  if (!folded || !*folded)
    goto out;
  if (hk_kana_is_kana(q))
    ret = hk_search_index(t, 'k', folded, NULL, limit, out);
  if (ret == 0 && out->len < limit)
    ret = hk_search_index(t, 'n', NULL, folded, limit, out);
out:
  hk_patient_free(p);
  g_free(folded);
  g_free(q);
  return ret;
}

static gint
hk_census_cmp(gconstpointer a, gconstpointer b)
{
  const HkPatient *pa = *(HkPatient *const *)a, *pb = *(HkPatient *const *)b;
  int r = g_strcmp0(pa->admission->ward, pb->admission->ward);

  if (!r)
    r = g_strcmp0(pa->admission->room, pb->admission->room);
  if (!r)
    r = g_strcmp0(pa->admission->bed, pb->admission->bed);
  if (!r)
    r = g_strcmp0(pa->id, pb->id);
  return r;
}

int
hk_store_census(hk_txn *t, const char *ward, GPtrArray *out)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_CENSUS, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkPatient *p = NULL;
    if (ward && (v.mv_size != strlen(ward) || memcmp(v.mv_data, ward, v.mv_size) != 0))
      continue;
    char *id = g_strndup(k.mv_data, k.mv_size);
    if (hk_store_get_patient(t, id, &p) == 0 && p->admission)
      g_ptr_array_add(out, p);
    else
      hk_patient_free(p);
    g_free(id);
  }
  g_ptr_array_sort(out, hk_census_cmp);
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

/* ---- quarantine ---- */

void
hk_quarantine_free(HkQuarantine *q)
{
  if (!q)
    return;
  g_free(q->source);
  g_free(q->kind);
  g_free(q->reason);
  g_free(q->sha256);
  g_free(q->source_id);
  g_free(q->source_name);
  g_free(q->doc_id);
  g_free(q);
}

/* Record on the document that a newer version was refused as suspect. */
static int
hk_refusal_add(hk_txn *t, const char *doc_id, uint64_t seq, const HkQuarantine *q, int64_t at)
{
  JsonBuilder *b = json_builder_new();
  uint8_t key[16];
  char *json;
  int ret = hk_docid_bin(doc_id, key);

  hk_be64(key + 8, seq);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "at_usec");
  json_builder_add_int_value(b, at);
  json_builder_set_member_name(b, "reason");
  json_builder_add_string_value(b, q->reason ? q->reason : "");
  if (q->sha256) {
    json_builder_set_member_name(b, "sha256");
    json_builder_add_string_value(b, q->sha256);
  }
  json_builder_set_member_name(b, "quarantine_seq");
  json_builder_add_int_value(b, (int64_t)seq);
  json_builder_end_object(b);
  json = hk_json_to_text(b);
  if (ret == 0)
    ret = hk_put(t, DB_REFUSED, key, sizeof key, json, strlen(json), MDB_NOOVERWRITE);
  g_object_unref(b);
  g_free(json);
  return ret;
}

int
hk_store_quarantine_add(hk_txn *t, const HkQuarantine *q)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  uint8_t key[8];
  uint64_t seq = 1;
  JsonBuilder *b = json_builder_new();
  char *json = NULL, doc_id[HK_DOC_ID_LEN + 1] = "";
  const char *name = q->source_name ? q->source_name : hk_source_default_name(q->source_id);
  int64_t at = q->at ? q->at : hk_time_now();
  int rc, ret;

  ret = hk_cursor(t, DB_QUARANTINE, &c);
  if (ret)
    goto out;
  rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  if (rc == 0 && k.mv_size == 8)
    seq = hk_rd64(k.mv_data) + 1;
  hk_be64(key, seq);
  /* Suspect bytes of a document we hold: the document itself must say a
   * newer version was refused, whichever source path refused it. */
  if (q->kind && strcmp(q->kind, "suspect") == 0 && q->source_id &&
      hk_store_find_doc(t, name, q->source_id, doc_id) != 0)
    doc_id[0] = 0;
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "source");
  json_builder_add_string_value(b, q->source ? q->source : "");
  json_builder_set_member_name(b, "kind");
  json_builder_add_string_value(b, q->kind);
  json_builder_set_member_name(b, "reason");
  json_builder_add_string_value(b, q->reason);
  json_builder_set_member_name(b, "at_usec");
  json_builder_add_int_value(b, at);
  if (q->sha256) {
    json_builder_set_member_name(b, "sha256");
    json_builder_add_string_value(b, q->sha256);
  }
  if (q->source_id) {
    json_builder_set_member_name(b, "source_id");
    json_builder_add_string_value(b, q->source_id);
    json_builder_set_member_name(b, "source_name");
    json_builder_add_string_value(b, name);
  }
  if (doc_id[0]) {
    json_builder_set_member_name(b, "doc_id");
    json_builder_add_string_value(b, doc_id);
  }
  json_builder_end_object(b);
  json = hk_json_to_text(b);
  ret = hk_put(t, DB_QUARANTINE, key, sizeof key, json, strlen(json), MDB_NOOVERWRITE);
  if (ret == 0 && doc_id[0])
    ret = hk_refusal_add(t, doc_id, seq, q, at);
out:
  if (c)
    mdb_cursor_close(c);
  g_object_unref(b);
  g_free(json);
  return ret;
}

int
hk_store_get_refusals(hk_txn *t, const char *doc_id, GPtrArray *out)
{
  MDB_cursor *c = NULL;
  uint8_t key[16] = {0};
  MDB_val k = {sizeof key, key}, v;
  JsonParser *p = json_parser_new_immutable();
  int rc, ret = hk_docid_bin(doc_id, key);

  if (ret)
    goto out;
  ret = hk_cursor(t, DB_REFUSED, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkRefusal *r;
    JsonObject *o;
    if (k.mv_size != 16 || memcmp(k.mv_data, key, 8) != 0)
      break;
    if (!json_parser_load_from_data(p, v.mv_data, (gssize)v.mv_size, NULL) ||
        !json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
      ret = -HK_ECORRUPT;
      break;
    }
    o = json_node_get_object(json_parser_get_root(p));
    r = g_new0(HkRefusal, 1);
    r->at = json_object_get_int_member_with_default(o, "at_usec", 0);
    r->reason = g_strdup(json_object_get_string_member_with_default(o, "reason", ""));
    r->sha256 = g_strdup(json_object_get_string_member_with_default(o, "sha256", NULL));
    r->quarantine_seq = (uint64_t)json_object_get_int_member_with_default(o, "quarantine_seq", 0);
    g_ptr_array_add(out, r);
  }
  if (ret == 0 && rc && rc != MDB_NOTFOUND)
    ret = hk_mdb_err(rc);
out:
  if (c)
    mdb_cursor_close(c);
  g_object_unref(p);
  return ret;
}

int
hk_store_quarantine_foreach(hk_txn *t, HkQuarantineFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  JsonParser *p = json_parser_new_immutable();
  int rc, ret;

  ret = hk_cursor(t, DB_QUARANTINE, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    HkQuarantine q = { 0 };
    JsonObject *o;
    if (!json_parser_load_from_data(p, v.mv_data, (gssize)v.mv_size, NULL) ||
        !json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
      ret = -HK_ECORRUPT;
      break;
    }
    o = json_node_get_object(json_parser_get_root(p));
    q.source = (char *)json_object_get_string_member_with_default(o, "source", "");
    q.kind = (char *)json_object_get_string_member_with_default(o, "kind", "");
    q.reason = (char *)json_object_get_string_member_with_default(o, "reason", "");
    q.sha256 = (char *)json_object_get_string_member_with_default(o, "sha256", NULL);
    q.source_id = (char *)json_object_get_string_member_with_default(o, "source_id", NULL);
    q.source_name = (char *)json_object_get_string_member_with_default(o, "source_name", NULL);
    q.doc_id = (char *)json_object_get_string_member_with_default(o, "doc_id", NULL);
    q.at = json_object_get_int_member_with_default(o, "at_usec", 0);
    q.seq = k.mv_size == 8 ? hk_rd64(k.mv_data) : 0;
    ret = fn(&q, data);
  }
out:
  if (c)
    mdb_cursor_close(c);
  g_object_unref(p);
  return ret;
}

/* ---- file state ---- */

/* LMDB's key limit is 511 bytes; longer paths are keyed by their hash. */
static const char *
hk_file_key(const char *key, char hashed[80])
{
  uint8_t d[HK_SHA256_LEN];
  char hex[HK_SHA256_HEX_LEN + 1];

  if (strlen(key) <= 500)
    return key;
  hk_sha256(key, strlen(key), d);
  hk_sha256_hex(d, hex);
  snprintf(hashed, 80, "#%s", hex);
  return hashed;
}

int
hk_store_get_file_state(hk_txn *t, const char *key, HkFileState *out)
{
  char hashed[80];
  const char *k = hk_file_key(key, hashed);
  MDB_val v;
  int ret = hk_get(t, DB_FILES, k, strlen(k), &v);

  if (ret == 0 && v.mv_size != sizeof *out)
    ret = -HK_ECORRUPT;
  if (ret == 0)
    memcpy(out, v.mv_data, sizeof *out);
  return ret;
}

int
hk_store_put_file_state(hk_txn *t, const char *key, const HkFileState *st)
{
  char hashed[80];
  const char *k = hk_file_key(key, hashed);

  return hk_put(t, DB_FILES, k, strlen(k), st, sizeof *st, 0);
}

/* ---- meta ---- */

void
hk_indexer_info_clear(HkIndexerInfo *i)
{
  g_clear_pointer(&i->reason, g_free);
}

HkIndexerState
hk_indexer_effective_state(const HkIndexerInfo *i, int64_t now, int stale_s)
{
  HkIndexerState s = i->state;

  if (s == HK_INDEXER_RUNNING && now - i->heartbeat_at > (int64_t)stale_s * G_USEC_PER_SEC)
    s = HK_INDEXER_STOPPED;
  return s;
}

const char *
hk_indexer_state_name(HkIndexerState s)
{
  return s == HK_INDEXER_RUNNING ? "running" : s == HK_INDEXER_SEALED ? "sealed" : "stopped";
}

int
hk_store_get_indexer(hk_txn *t, HkIndexerInfo *out)
{
  JsonParser *p = NULL;
  MDB_val v;
  int ret;

  memset(out, 0, sizeof *out);
  ret = hk_get(t, DB_META, "indexer", 7, &v);
  if (ret == -HK_ENOTFOUND) {
    ret = 0;
    goto out;
  }
  if (ret)
    goto out;
  p = json_parser_new_immutable();
  if (!json_parser_load_from_data(p, v.mv_data, (gssize)v.mv_size, NULL) ||
      !json_parser_get_root(p) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    ret = -HK_ECORRUPT;
    goto out;
  }
  JsonObject *o = json_node_get_object(json_parser_get_root(p));
  const char *st = json_object_get_string_member_with_default(o, "state", "stopped");
  out->state = strcmp(st, "running") == 0  ? HK_INDEXER_RUNNING
               : strcmp(st, "sealed") == 0 ? HK_INDEXER_SEALED
                                           : HK_INDEXER_STOPPED;
  out->reason = g_strdup(json_object_get_string_member_with_default(o, "reason", NULL));
  out->heartbeat_at = json_object_get_int_member_with_default(o, "heartbeat_usec", 0);
  out->sealed_at = json_object_get_int_member_with_default(o, "sealed_usec", 0);
  out->pid = (int)json_object_get_int_member_with_default(o, "pid", 0);
out:
  if (p)
    g_object_unref(p);
  return ret;
}

int
hk_store_set_indexer(hk_txn *t, const HkIndexerInfo *in)
{
  JsonBuilder *b = json_builder_new();
  char *json;
  int ret;

  json_builder_begin_object(b);
  json_builder_set_member_name(b, "state");
  json_builder_add_string_value(b, hk_indexer_state_name(in->state));
  if (in->reason) {
    json_builder_set_member_name(b, "reason");
    json_builder_add_string_value(b, in->reason);
  }
  json_builder_set_member_name(b, "heartbeat_usec");
  json_builder_add_int_value(b, in->heartbeat_at);
  json_builder_set_member_name(b, "sealed_usec");
  json_builder_add_int_value(b, in->sealed_at);
  json_builder_set_member_name(b, "pid");
  json_builder_add_int_value(b, in->pid);
  json_builder_end_object(b);
  json = hk_json_to_text(b);
  ret = hk_put(t, DB_META, "indexer", 7, json, strlen(json), 0);
  g_object_unref(b);
  g_free(json);
  return ret;
}

int
hk_store_check_unsealed(hk_txn *t)
{
  HkIndexerInfo info;
  int ret = hk_store_get_indexer(t, &info);

  if (ret == 0 && info.state == HK_INDEXER_SEALED)
    ret = -HK_ESEALED;
  hk_indexer_info_clear(&info);
  return ret;
}

static int
hk_meta_time(hk_txn *t, const char *key, int64_t *usec)
{
  MDB_val v;
  char buf[32];
  int ret = hk_get(t, DB_META, key, strlen(key), &v);

  *usec = 0;
  if (ret == -HK_ENOTFOUND)
    ret = 0;
  else if (ret == 0 && v.mv_size < sizeof buf) {
    memcpy(buf, v.mv_data, v.mv_size);
    buf[v.mv_size] = 0;
    *usec = g_ascii_strtoll(buf, NULL, 10);
  }
  return ret;
}

int
hk_store_get_archive_as_of(hk_txn *t, int64_t *usec)
{
  return hk_meta_time(t, "archive_as_of", usec);
}

int
hk_store_set_archive_as_of(hk_txn *t, int64_t usec)
{
  char buf[32];

  snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, usec);
  return hk_put(t, DB_META, "archive_as_of", 13, buf, strlen(buf), 0);
}

int
hk_store_get_last_document_at(hk_txn *t, int64_t *usec)
{
  return hk_meta_time(t, "last_document_at", usec);
}

int
hk_store_stats(hk_txn *t, HkStoreStats *st)
{
  int ret;

  memset(st, 0, sizeof *st);
  st->documents = hk_entries(t, DB_DOCS);
  st->versions = hk_entries(t, DB_VERSIONS);
  st->patients = hk_entries(t, DB_PATIENTS);
  st->blobs = hk_entries(t, DB_BLOBS);
  st->thumbnails = hk_entries(t, DB_THUMBS);
  st->thumbnails_pending = hk_entries(t, DB_THUMBQ);
  st->quarantined = hk_entries(t, DB_QUARANTINE);
  st->withdrawn = hk_entries(t, DB_WITHDRAWN);
  st->inpatients = hk_entries(t, DB_CENSUS);
  ret = hk_store_get_archive_as_of(t, &st->archive_as_of);
  if (ret == 0)
    ret = hk_store_get_last_document_at(t, &st->last_document_at);
  if (ret == 0)
    ret = hk_store_get_indexer(t, &st->indexer);
  return ret;
}

/* ---- maintenance ---- */

int
hk_store_copy(hk_store *s, const char *dir)
{
  return hk_mdb_err(mdb_env_copy2(s->env, dir, MDB_CP_COMPACT));
}

int
hk_store_format(const hk_store *s)
{
  return s->format;
}

/* Split a registry key (name NUL source_id) into its two parts. */
static bool
hk_split_source(const MDB_val *k, char **name, char **sid)
{
  const char *nul = memchr(k->mv_data, 0, k->mv_size);

  if (!nul)
    return false;
  *name = g_strndup(k->mv_data, (gsize)(nul - (const char *)k->mv_data));
  *sid = g_strndup(nul + 1, k->mv_size - (gsize)(nul - (const char *)k->mv_data) - 1);
  return true;
}

int
hk_store_foreach_source(hk_txn *t, HkSourceFunc fn, void *data)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  int rc, ret;

  ret = hk_cursor(t, DB_SOURCES, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char *name = NULL, *sid = NULL, hex[HK_DOC_ID_LEN + 1];
    if (v.mv_size != 8 || !hk_split_source(&k, &name, &sid)) {
      ret = -HK_ECORRUPT;
      break;
    }
    hk_docid_hex(v.mv_data, hex);
    ret = fn(name, sid, hex, data);
    g_free(name);
    g_free(sid);
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

int
hk_store_check_sources(hk_txn *t, FILE *err, uint64_t *checked, uint64_t *bad)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  uint64_t registered = 0;
  int rc, ret;

  *checked = *bad = 0;
  ret = hk_cursor(t, DB_DOCS, &c);
  if (ret)
    goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char hex[HK_DOC_ID_LEN + 1], found[HK_DOC_ID_LEN + 1];
    char *name = NULL, *sid = NULL;
    HkVersion *cur = NULL;
    (*checked)++;
    if (k.mv_size != 8) {
      fprintf(err, "BADKEY docs entry of %zu bytes\n", k.mv_size);
      (*bad)++;
      continue;
    }
    hk_docid_hex(k.mv_data, hex);
    if (!hk_split_source(&v, &name, &sid)) {
      fprintf(err, "UNREGISTERED %s: no source name (a format-1 entry)\n", hex);
      (*bad)++;
      continue;
    }
    if (hk_store_find_doc(t, name, sid, found) != 0 || strcmp(found, hex) != 0) {
      fprintf(err, "UNREGISTERED %s: source %s has no registry entry for it\n", hex, name);
      (*bad)++;
    } else if (hk_current_version(t, k.mv_data, &cur) != 0 || strcmp(cur->source_id, sid) != 0) {
      fprintf(err, "MISMATCH %s: registry source_id differs from its versions'\n", hex);
      (*bad)++;
    }
    hk_version_free(cur);
    g_free(name);
    g_free(sid);
  }
  registered = hk_entries(t, DB_SOURCES);
  if (registered != *checked) {
    fprintf(err, "REGISTRY %" G_GUINT64_FORMAT " entries for %" G_GUINT64_FORMAT " documents\n",
            registered, *checked);
    (*bad)++;
  }
out:
  if (c)
    mdb_cursor_close(c);
  return ret;
}

/* One pass of the migration inside t. */
static int
hk_migrate_txn(hk_txn *t, const char *drop_name, const char *ssmix2_name, uint64_t *migrated)
{
  MDB_cursor *c = NULL;
  MDB_val k, v;
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *sids = g_ptr_array_new_with_free_func(g_free);
  int rc, ret;

  *migrated = 0;
  ret = hk_cursor(t, DB_DOCS, &c);
  if (ret)
    goto out;
  /* Collect first: the docs values are rewritten below. */
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8 || memchr(v.mv_data, 0, v.mv_size))
      continue; /* not a format-1 entry */
    g_ptr_array_add(ids, g_memdup2(k.mv_data, 8));
    g_ptr_array_add(sids, g_strndup(v.mv_data, v.mv_size));
  }
  mdb_cursor_close(c);
  c = NULL;
  for (guint i = 0; ret == 0 && i < ids->len; i++) {
    const char *sid = sids->pdata[i];
    const char *name = g_str_has_prefix(sid, "SSMIX2:") ? ssmix2_name : drop_name;
    uint8_t skey[HK_SOURCE_KEY_MAX];
    size_t slen = hk_source_key(skey, sizeof skey, name, sid);
    GByteArray *val = g_byte_array_new();
    g_byte_array_append(val, (const guint8 *)name, (guint)strlen(name) + 1);
    g_byte_array_append(val, (const guint8 *)sid, (guint)strlen(sid));
    ret = hk_put(t, DB_SOURCES, skey, slen, ids->pdata[i], 8, MDB_NOOVERWRITE);
    if (ret == -HK_EEXIST) {
      hk_error("migrate: %s/%s is registered twice; refusing", name, sid);
      ret = t->ret = -HK_ECORRUPT;
    }
    /* The registry entry of a document names its source too. */
    if (ret == 0)
      ret = hk_put(t, DB_DOCS, ids->pdata[i], 8, val->data, val->len, 0);
    g_byte_array_unref(val);
    if (ret == 0)
      (*migrated)++;
  }
  if (ret == 0) {
    char fmt[16];
    snprintf(fmt, sizeof fmt, "%d", HK_STORE_FORMAT);
    ret = hk_put(t, DB_META, "format", 6, fmt, strlen(fmt), 0);
  }
out:
  if (c)
    mdb_cursor_close(c);
  g_ptr_array_unref(ids);
  g_ptr_array_unref(sids);
  return ret;
}

typedef struct {
  const char *drop_name, *ssmix2_name;
  uint64_t *migrated;
} HkMigrateRun;

static int
hk_migrate_run(hk_txn *t, void *data)
{
  HkMigrateRun *m = data;
  return hk_migrate_txn(t, m->drop_name, m->ssmix2_name, m->migrated);
}

int
hk_store_migrate(hk_store *s, const char *drop_name, const char *ssmix2_name, uint64_t *migrated)
{
  HkMigrateRun m = {drop_name, ssmix2_name, migrated};
  int ret = 0;

  *migrated = 0;
  if (!hk_source_name_valid(drop_name) || !hk_source_name_valid(ssmix2_name)) {
    ret = -HK_EINVAL;
    goto out;
  }
  if (s->format == HK_STORE_FORMAT)
    goto out;
  if (s->format != 1 || s->rdonly) {
    ret = -HK_EFORMAT;
    goto out;
  }
  ret = hk_store_write(s, 16, hk_migrate_run, &m);
  if (ret == 0)
    s->format = HK_STORE_FORMAT;
out:
  return ret;
}

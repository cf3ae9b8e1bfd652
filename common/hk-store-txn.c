/* hk-store-txn.c: transactions and the sticky get/put/del/cursor wrapper around them, and the key
 * encodings every table shares. See hk-store-private.h for what the files of the store share. */

#include "hk-store-private.h"

#include "hk-error.h"
#include "hk-log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

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
int
hk_get(hk_txn *t, int db, const void *key, size_t klen, MDB_val *val)
{
  MDB_val k = {klen, (void *)key};

  if (t->ret)
    return t->ret;
  if (t->store->absent[db])
    return -HK_ENOTFOUND;
  return hk_mdb_err(mdb_get(t->txn, t->store->dbi[db], &k, val));
}

int
hk_put(hk_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen,
       unsigned flags)
{
  MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
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

int
hk_del(hk_txn *t, int db, const void *key, size_t klen)
{
  MDB_val k = {klen, (void *)key};
  int ret;

  if (t->ret)
    return t->ret;
  ret = hk_mdb_err(mdb_del(t->txn, t->store->dbi[db], &k, NULL));
  if (ret && ret != -HK_ENOTFOUND)
    t->ret = ret;
  return ret;
}

int
hk_cursor(hk_txn *t, int db, MDB_cursor **c)
{
  if (t->ret)
    return t->ret;
  /* An absent optional table reads as empty: callers walk nothing. */
  if (t->store->absent[db])
    return -HK_ENOTFOUND;
  return hk_mdb_err(mdb_cursor_open(t->txn, t->store->dbi[db], c));
}

uint64_t
hk_entries(hk_txn *t, int db)
{
  MDB_stat st;

  if (t->store->absent[db] || mdb_stat(t->txn, t->store->dbi[db], &st) != 0)
    return 0;
  return st.ms_entries;
}

/* ---- key encodings (big-endian so byte order is numeric order) ---- */

void
hk_be64(uint8_t *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

uint64_t
hk_rd64(const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

void
hk_be32(uint8_t *p, uint32_t v)
{
  for (int i = 3; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

/* Signed time as an order-preserving unsigned. */
uint64_t
hk_time_key(int64_t usec)
{
  return (uint64_t)usec ^ (1ull << 63);
}

/* The timeline key: patient ID NUL created (sign-flipped, big-endian)
 * document ID; buf holds HK_PATIENT_ID_MAX + 17 bytes. */
size_t
hk_timeline_key(uint8_t *buf, const char *pid, int64_t created, const uint8_t id[8])
{
  size_t n = strlen(pid);

  memcpy(buf, pid, n);
  buf[n] = 0;
  hk_be64(buf + n + 1, hk_time_key(created));
  memcpy(buf + n + 9, id, 8);
  return n + 17;
}

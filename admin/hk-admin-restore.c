/* hikae-admin restore: a backup (hikae-admin backup) onto a new folder.
 *
 * The backup's data.mdb is copied to a temporary folder next to NEWDIR,
 * checked (a whole LMDB file, a hikae store of the current format, every
 * version re-hashed) and only then renamed into place: NEWDIR never holds
 * half a store, and a store already there is never touched. The backup is
 * only read (no lock file is made in it), so it may sit on a write-protected
 * or removable disk. */
#include "hk-admin.h"

#include "hk-config.h"
#include "hk-error.h"
#include "hk-time.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* LMDB's on-disk meta pages (lmdb/mdb.c, stable for the 0.9 file format):
 * pages 0 and 1 each hold, after a 16-byte page header, the magic, the
 * version, the page size (the free database's md_pad), the last page used
 * and the transaction ID. */
#define HK_MDB_MAGIC 0xBEEFC0DEu
#define HK_MDB_PAGEHDR 16
#define HK_MDB_OFF_MAGIC (HK_MDB_PAGEHDR + 0)
#define HK_MDB_OFF_PSIZE (HK_MDB_PAGEHDR + 24)
#define HK_MDB_OFF_LASTPG (HK_MDB_PAGEHDR + 120)
#define HK_MDB_OFF_TXNID (HK_MDB_PAGEHDR + 128)

static int
hk_pread_all(int fd, void *buf, size_t len, off_t at)
{
  char *p = buf;
  int ret = 0;

  while (len > 0) {
    ssize_t n = pread(fd, p, len, at);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ret = n < 0 ? hk_err_from_errno(errno) : -HK_ECORRUPT;
      goto out;
    }
    p += n;
    at += n;
    len -= (size_t)n;
  }
out:
  return ret;
}

/* Is the file at fd a whole LMDB file? A store cut short (a copy that ran
 * out of space, a damaged disk) would open, and its first read past the end
 * would kill the process with SIGBUS: refuse it with its size instead.
 * *why (g_free) says what is wrong. */
int
hk_admin_check_lmdb(int fd, char **why)
{
  uint8_t meta[HK_MDB_OFF_TXNID + 8];
  uint32_t magic, psize = 0;
  uint64_t last = 0, best_txn = 0;
  struct stat st;
  int ret = 0;

  if (fstat(fd, &st) != 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  /* The first meta page tells the page size; the second sits there. */
  for (int i = 0; i < 2; i++) {
    uint32_t ps;
    uint64_t lp, txn;
    ret = hk_pread_all(fd, meta, sizeof meta, (off_t)i * psize);
    if (ret) {
      *why = g_strdup_printf("data.mdb is %lld bytes: too short for an LMDB file",
                             (long long)st.st_size);
      ret = -HK_ECORRUPT;
      goto out;
    }
    memcpy(&magic, meta + HK_MDB_OFF_MAGIC, 4);
    memcpy(&ps, meta + HK_MDB_OFF_PSIZE, 4);
    memcpy(&lp, meta + HK_MDB_OFF_LASTPG, 8);
    memcpy(&txn, meta + HK_MDB_OFF_TXNID, 8);
    if (magic != HK_MDB_MAGIC || ps < 512 || ps > 65536 || (ps & (ps - 1))) {
      *why = g_strdup("data.mdb is not an LMDB file (no LMDB meta page)");
      ret = -HK_EFORMAT;
      goto out;
    }
    if (i == 0)
      psize = ps;
    if (i == 0 || txn > best_txn) {
      best_txn = txn;
      last = lp;
    }
  }
  if (last >= UINT64_MAX / psize || (uint64_t)st.st_size < (last + 1) * psize) {
    *why = g_strdup_printf("data.mdb is cut short: %lld bytes, its pages need %llu",
                           (long long)st.st_size, (unsigned long long)((last + 1) * psize));
    ret = -HK_ECORRUPT;
  }
out:
  return ret;
}

/* The store format the copy in dir records (docs/store.md: "format" in
 * the meta database), read with LMDB directly so that a format-1 or a
 * foreign LMDB file is named as such, never half-opened. *format is 0 if
 * there is no format record. \return 0; -HK_EFORMAT (no meta database);
 * another HK_E code. */
static int
hk_restore_probe_format(const char *dir, int *format)
{
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  MDB_val k = {6, (void *)"format"}, v;
  char buf[16];
  int rc, ret = 0;

  *format = 0;
  rc = mdb_env_create(&env);
  if (!rc)
    rc = mdb_env_set_maxdbs(env, 32);
  /* The file is a private copy: no lock file is needed. */
  if (!rc)
    rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0640);
  if (!rc)
    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
  if (!rc) {
    rc = mdb_dbi_open(txn, "meta", 0, &dbi);
    if (rc == MDB_NOTFOUND) {
      ret = -HK_EFORMAT;
      goto out;
    }
  }
  if (!rc) {
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
      goto out;
  }
  if (rc) {
    ret = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ? -HK_EFORMAT
                                                                                 : -HK_EIO;
    goto out;
  }
  g_snprintf(buf, sizeof buf, "%.*s", (int)MIN(v.mv_size, sizeof buf - 1), (const char *)v.mv_data);
  *format = (int)g_ascii_strtoll(buf, NULL, 10);
out:
  if (txn)
    mdb_txn_abort(txn);
  if (env)
    mdb_env_close(env);
  return ret;
}

/* Copy from to the new file to (created, mode 0640), synced. */
static int
hk_restore_copy_file(int in, const char *to)
{
  char *buf = g_malloc(1 << 20);
  int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
  off_t at = 0;
  int ret = 0;

  if (out < 0) {
    ret = hk_err_from_errno(errno);
    goto out;
  }
  for (;;) {
    ssize_t n = pread(in, buf, 1 << 20, at);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ret = hk_err_from_errno(errno);
      goto out;
    }
    if (n == 0)
      break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, buf + done, (size_t)(n - done));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        ret = w < 0 ? hk_err_from_errno(errno) : -HK_EIO;
        goto out;
      }
      done += w;
    }
    at += n;
  }
  if (fsync(out) != 0)
    ret = hk_err_from_errno(errno);
out:
  if (out >= 0 && close(out) != 0 && ret == 0)
    ret = hk_err_from_errno(errno);
  g_free(buf);
  return ret;
}

static void
hk_restore_fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Remove the temporary folder (only what restore put there). */
static void
hk_restore_discard(const char *tmp)
{
  static const char *const names[] = {"data.mdb", "lock.mdb"};

  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    char *f = g_build_filename(tmp, names[i], NULL);
    unlink(f);
    g_free(f);
  }
  if (rmdir(tmp) != 0 && errno != ENOENT)
    fprintf(stderr, "%s: restore: cannot remove %s: %s\n", HK_ADMIN_PROGRAM, tmp,
            g_strerror(errno));
}

/* What is wrong with BACKUP as a source, or NULL. */
static char *
hk_restore_check_from(const char *from)
{
  char *base = g_path_get_basename(from);
  char *data = g_build_filename(from, "data.mdb", NULL);
  char *why = NULL;
  struct stat st;

  if (stat(from, &st) != 0)
    why = g_strdup_printf("--from %s: %s", from, g_strerror(errno));
  else if (!S_ISDIR(st.st_mode))
    why = g_strdup_printf("%s is not a folder (give the backup's folder, hikae-YYYYMMDDTHHMMSSZ)",
                          from);
  else if (g_str_has_suffix(base, ".failed"))
    why = g_strdup_printf("%s is a backup that did not verify (*.failed), kept only to be "
                          "looked at; restore a verified backup",
                          from);
  else if (g_str_has_suffix(base, ".partial"))
    why =
        g_strdup_printf("%s is an unfinished backup (*.partial); restore a verified backup", from);
  else if (lstat(data, &st) != 0)
    why = g_strdup_printf("%s holds no data.mdb: not a hikae backup (%s)", from, g_strerror(errno));
  else if (!S_ISREG(st.st_mode))
    why = g_strdup_printf("%s is not a regular file", data);
  g_free(base);
  g_free(data);
  return why;
}

/* What is wrong with NEWDIR as a destination, or NULL. *existing is set
 * when it is an empty folder (restore takes its owner and mode). */
static char *
hk_restore_check_to(const char *to, struct stat *existing, bool *exists)
{
  char *data = g_build_filename(to, "data.mdb", NULL);
  char *why = NULL;
  GDir *d = NULL;

  *exists = false;
  if (lstat(to, existing) != 0) {
    if (errno != ENOENT)
      why = g_strdup_printf("%s: %s", to, g_strerror(errno));
    goto out;
  }
  *exists = true;
  if (!S_ISDIR(existing->st_mode)) {
    why = g_strdup_printf("%s exists and is not a folder", to);
  } else if (g_file_test(data, G_FILE_TEST_EXISTS)) {
    why = g_strdup_printf("%s already holds a store (data.mdb); restore never overwrites a "
                          "store: give a new folder",
                          to);
  } else {
    d = g_dir_open(to, 0, NULL);
    if (!d)
      why = g_strdup_printf("%s cannot be read", to);
    else if (g_dir_read_name(d))
      why = g_strdup_printf("%s is not empty; restore writes only to a new or empty folder", to);
  }
out:
  if (d)
    g_dir_close(d);
  g_free(data);
  return why;
}

int
hk_admin_restore_main(int argc, char **argv)
{
  char *from = NULL, *to_arg = NULL, *to = NULL, *tmp = NULL, *why = NULL, *parent = NULL;
  char *src = NULL, *dst = NULL, *lock = NULL, *as_of = NULL;
  GOptionEntry entries[] = {
      {"from", 0, 0, G_OPTION_ARG_FILENAME, &from,
       "A backup folder made by hikae-admin backup (hikae-YYYYMMDDTHHMMSSZ)", "BACKUP"},
      {"store", 0, 0, G_OPTION_ARG_FILENAME, &to_arg,
       "The new store folder: must not exist, or be empty", "NEWDIR"},
      {NULL},
  };
  hk_store *s = NULL;
  hk_txn *t = NULL;
  HkStoreStats st = {0};
  struct stat existing;
  bool exists = false;
  uint64_t checked = 0, bad = 0;
  int in = -1, format = 0, ret, status;

  status = hk_admin_parse("restore", "Restore a verified backup onto a new store folder", entries,
                          &argc, &argv, &from, "--from BACKUP");
  if (status)
    goto out;
  if (!to_arg) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "--store NEWDIR is required");
    goto out;
  }
  status = 1;
  /* "new/" and "new" are one folder; the temporary one sits beside it. */
  to = g_strdup(to_arg);
  while (strlen(to) > 1 && g_str_has_suffix(to, "/"))
    to[strlen(to) - 1] = 0;
  why = hk_restore_check_from(from);
  if (!why)
    why = hk_restore_check_to(to, &existing, &exists);
  if (why)
    goto refuse;

  parent = g_path_get_dirname(to);
  if (g_mkdir_with_parents(parent, 0750) != 0) {
    why = g_strdup_printf("cannot create %s: %s", parent, g_strerror(errno));
    goto refuse;
  }
  tmp = g_strdup_printf("%s.restore-XXXXXX", to);
  if (!g_mkdtemp_full(tmp, 0700)) {
    why = g_strdup_printf("cannot create a temporary folder beside %s: %s", to, g_strerror(errno));
    g_clear_pointer(&tmp, g_free);
    goto refuse;
  }
  src = g_build_filename(from, "data.mdb", NULL);
  dst = g_build_filename(tmp, "data.mdb", NULL);
  in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) {
    why = g_strdup_printf("%s: %s", src, g_strerror(errno));
    goto refuse;
  }
  /* The copy, not the backup, is checked and opened: what is checked is
   * what is restored, and the backup is never written (no lock file). */
  ret = hk_restore_copy_file(in, dst);
  if (ret) {
    why = g_strdup_printf("copying %s to %s: %s", src, dst, hk_strerror(ret));
    goto refuse;
  }
  close(in);
  in = open(dst, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  ret = in < 0 ? hk_err_from_errno(errno) : hk_admin_check_lmdb(in, &why);
  if (ret) {
    if (!why)
      why = g_strdup_printf("%s: %s", dst, hk_strerror(ret));
    goto refuse;
  }
  ret = hk_restore_probe_format(tmp, &format);
  if (ret || format == 0) {
    why = g_strdup_printf("%s is not a hikae store: %s", from,
                          ret == 0 || ret == -HK_EFORMAT
                              ? "an LMDB file without hikae's meta database or format record"
                              : hk_strerror(ret));
    goto refuse;
  }
  if (hk_store_format_migratable(format)) {
    why = g_strdup_printf("%s holds a store of format %d (older than this hikae); restore "
                          "takes only format %d. Copy its data.mdb into an empty folder and "
                          "run `%s migrate --store DIR` there",
                          from, format, HK_STORE_FORMAT, HK_ADMIN_PROGRAM);
    goto refuse;
  }
  if (format != HK_STORE_FORMAT) {
    why = g_strdup_printf("%s holds a store of format %d; this hikae-admin reads format %d", from,
                          format, HK_STORE_FORMAT);
    goto refuse;
  }
  ret = hk_store_open(tmp, HK_STORE_RDONLY, &s);
  if (ret) {
    why = g_strdup_printf("%s: cannot open the copied store: %s", from, hk_strerror(ret));
    goto refuse;
  }
  ret = hk_admin_verify_store(s, stderr, &checked, &bad);
  if (ret || bad) {
    why = g_strdup_printf("%s does not verify (%s, %" G_GUINT64_FORMAT " mismatches, listed above)",
                          from, ret ? hk_strerror(ret) : "stored bytes differ from their SHA-256",
                          bad);
    goto refuse;
  }
  ret = hk_txn_begin(s, false, &t);
  if (ret == 0)
    ret = hk_store_stats(t, &st);
  hk_txn_abort(t);
  t = NULL;
  if (ret) {
    why = g_strdup_printf("%s: stats: %s", from, hk_strerror(ret));
    goto refuse;
  }
  hk_store_close(s);
  s = NULL;
  /* Our lock file means nothing to the next user of the store. */
  lock = g_build_filename(tmp, "lock.mdb", NULL);
  unlink(lock);
  /* An empty folder made ready for the store (by tmpfiles, say) keeps its
   * owner and mode; else the store gets a store's usual 0750. */
  if (exists) {
    if (chown(tmp, existing.st_uid, existing.st_gid) != 0 ||
        chown(dst, existing.st_uid, existing.st_gid) != 0 ||
        chmod(tmp, existing.st_mode & 07777) != 0) {
      why = g_strdup_printf("cannot give %s the owner and mode of %s: %s", tmp, to,
                            g_strerror(errno));
      goto refuse;
    }
  } else if (chmod(tmp, 0750) != 0) {
    why = g_strdup_printf("%s: %s", tmp, g_strerror(errno));
    goto refuse;
  }
  hk_restore_fsync_dir(tmp);
  /* rename() replaces only a missing or empty folder: a store that
   * appeared there meanwhile is left alone (ENOTEMPTY). */
  if (rename(tmp, to) != 0) {
    why = g_strdup_printf("cannot move the restored store into %s: %s%s", to, g_strerror(errno),
                          errno == ENOTEMPTY || errno == EEXIST
                              ? " (something was put there meanwhile; nothing was overwritten)"
                              : "");
    goto refuse;
  }
  g_clear_pointer(&tmp, g_free);
  hk_restore_fsync_dir(parent);
  as_of = st.archive_as_of ? hk_time_format(st.archive_as_of) : g_strdup("never");
  printf("restored %s to %s: %" G_GUINT64_FORMAT " versions verified, %" G_GUINT64_FORMAT
         " documents, %" G_GUINT64_FORMAT " patients; archive as of %s\n",
         from, to, checked, st.documents, st.patients, as_of);
  if (st.indexer.state == HK_INDEXER_SEALED)
    printf("the store is SEALED as the backup was (%s); `%s unseal --store %s` resumes ingest\n",
           st.indexer.reason ? st.indexer.reason : "no reason", HK_ADMIN_PROGRAM, to);
  status = 0;
  goto out;
refuse:
  fprintf(stderr, "%s: restore: %s; nothing restored\n", HK_ADMIN_PROGRAM, why);
  status = 1;
out:
  if (in >= 0)
    close(in);
  hk_store_close(s);
  if (tmp)
    hk_restore_discard(tmp);
  hk_indexer_info_clear(&st.indexer);
  g_free(from);
  g_free(to_arg);
  g_free(to);
  g_free(tmp);
  g_free(why);
  g_free(parent);
  g_free(src);
  g_free(dst);
  g_free(lock);
  g_free(as_of);
  return status;
}

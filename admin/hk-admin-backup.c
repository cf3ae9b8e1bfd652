/* hikae-admin backup: a hot, compacted copy of the store in a new dated
 * folder, verified by re-hashing every version of the copy. The store is
 * never stopped; LMDB copies one consistent snapshot. */
#include "hk-admin.h"

#include "hk-config.h"
#include "hk-error.h"
#include "hk-log.h"
#include "hk-time.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HK_BACKUP_PREFIX "hikae-"

static gint
hk_strcmp_p(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove a backup folder (files only one level deep: data.mdb, lock.mdb). */
static int
hk_backup_remove(const char *path)
{
  GDir *d = g_dir_open(path, 0, NULL);
  const char *name;
  int ret = 0;

  while (d && (name = g_dir_read_name(d))) {
    char *f = g_build_filename(path, name, NULL);
    if (unlink(f) != 0)
      ret = hk_err_from_errno(errno);
    g_free(f);
  }
  if (d)
    g_dir_close(d);
  if (ret == 0 && rmdir(path) != 0)
    ret = hk_err_from_errno(errno);
  return ret;
}

/* Whether a backup of that name is being made or failed (dest.partial,
 * dest.failed): its name is taken too. */
static bool
hk_backup_name_taken(const char *dest)
{
  char *partial = g_strdup_printf("%s.partial", dest), *failed = g_strdup_printf("%s.failed", dest);
  bool taken = g_file_test(partial, G_FILE_TEST_EXISTS) || g_file_test(failed, G_FILE_TEST_EXISTS);

  g_free(partial);
  g_free(failed);
  return taken;
}

/* Keep the newest keep verified backups under to (names sort by date). */
static void
hk_backup_prune(const char *to, int keep)
{
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  GDir *d = g_dir_open(to, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name(d)))
    if (g_str_has_prefix(name, HK_BACKUP_PREFIX) && !g_str_has_suffix(name, ".failed") &&
        !g_str_has_suffix(name, ".partial"))
      g_ptr_array_add(names, g_strdup(name));
  if (d)
    g_dir_close(d);
  g_ptr_array_sort(names, hk_strcmp_p);
  for (guint i = 0; names->len > (guint)keep && i < names->len - (guint)keep; i++) {
    char *path = g_build_filename(to, g_ptr_array_index(names, i), NULL);
    int ret = hk_backup_remove(path);
    printf("removed old backup %s%s%s\n", path, ret ? ": " : "", ret ? hk_strerror(ret) : "");
    g_free(path);
  }
  g_ptr_array_unref(names);
}

int
hk_admin_backup_main(int argc, char **argv)
{
  char *store_dir = NULL, *to = NULL, *dest = NULL, *partial = NULL, *failed = NULL;
  gint keep = 3;
  GOptionEntry entries[] = {
    { "store", 0, 0, G_OPTION_ARG_FILENAME, &store_dir, "Document store folder", "DIR" },
    { "to", 0, 0, G_OPTION_ARG_FILENAME, &to, "Folder that holds the dated backups", "DIR" },
    { "keep", 0, 0, G_OPTION_ARG_INT, &keep, "How many verified backups to keep (default 3)",
      "N" },
    { NULL },
  };
  hk_store *s = NULL, *copy = NULL;
  uint64_t checked = 0, bad = 0;
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  int ret, status = 1;

  ret = hk_config_parse(HK_ADMIN_PROGRAM, "backup", NULL, entries, &argc, &argv);
  if (ret < 0) {
    status = ret == -HK_EINVAL ? 2 : 1;
    goto out;
  }
  if (!store_dir || !to || argc > 1) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "backup needs --store DIR and --to DIR");
    goto out;
  }
  if (keep < 1 || keep > 1000) {
    status = hk_usage_error(HK_ADMIN_PROGRAM, "--keep must be 1 to 1000");
    goto out;
  }
  ret = hk_store_open(store_dir, HK_STORE_RDONLY, &s);
  if (ret) {
    fprintf(stderr, "%s: backup: cannot open store %s: %s\n", HK_ADMIN_PROGRAM, store_dir,
            hk_strerror(ret));
    goto out;
  }
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  dest = g_strdup_printf("%s/" HK_BACKUP_PREFIX "%s", to, stamp);
  /* A second backup within the same second gets "-02", "-03"...: the names
   * still sort by age (prune keeps the newest), and none is overwritten. */
  for (int n = 2; n <= 99 && (g_file_test(dest, G_FILE_TEST_EXISTS) ||
                              hk_backup_name_taken(dest)); n++) {
    g_free(dest);
    dest = g_strdup_printf("%s/" HK_BACKUP_PREFIX "%s-%02d", to, stamp, n);
  }
  partial = g_strdup_printf("%s.partial", dest);
  failed = g_strdup_printf("%s.failed", dest);
  if (g_file_test(dest, G_FILE_TEST_EXISTS) || hk_backup_name_taken(dest)) {
    fprintf(stderr, "%s: backup: %s already exists (99 backups in one second)\n",
            HK_ADMIN_PROGRAM, dest);
    goto out;
  }
  if (g_mkdir_with_parents(partial, 0750) != 0) {
    fprintf(stderr, "%s: backup: cannot create %s: %s\n", HK_ADMIN_PROGRAM, partial,
            g_strerror(errno));
    goto out;
  }
  ret = hk_store_copy(s, partial);
  if (ret) {
    fprintf(stderr, "%s: backup: copy failed: %s\n", HK_ADMIN_PROGRAM, hk_strerror(ret));
    rename(partial, failed);
    goto out;
  }
  /* Verify the copy, not the original: the copy is what a restore gets. */
  ret = hk_store_open(partial, HK_STORE_RDONLY, &copy);
  if (ret == 0)
    ret = hk_admin_verify_store(copy, stderr, &checked, &bad);
  hk_store_close(copy);
  if (ret || bad) {
    fprintf(stderr, "%s: backup: the copy does not verify (%s, %" G_GUINT64_FORMAT
                    " mismatches); kept as %s\n",
            HK_ADMIN_PROGRAM, ret ? hk_strerror(ret) : "hash mismatch", bad, failed);
    rename(partial, failed);
    goto out;
  }
  if (rename(partial, dest) != 0) {
    fprintf(stderr, "%s: backup: cannot rename %s: %s\n", HK_ADMIN_PROGRAM, partial,
            g_strerror(errno));
    goto out;
  }
  printf("backup %s: %" G_GUINT64_FORMAT " versions verified\n", dest, checked);
  hk_backup_prune(to, keep);
  status = 0;
out:
  hk_store_close(s);
  g_free(store_dir);
  g_free(to);
  g_free(dest);
  g_free(partial);
  g_free(failed);
  return status;
}

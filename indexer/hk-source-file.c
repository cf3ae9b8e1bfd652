#include "hk-source-file.h"

#include "hk-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Components deeper than this are refused: an SS-MIX2 file is 7 below its
 * root, a drop-folder file at most HK_DROP_MAX_DEPTH + 1. */
#define HK_SOURCE_MAX_DEPTH 64

const char *
hk_source_file_kind(unsigned mode)
{
  const char *kind = "not a regular file";

  if (S_ISREG(mode))
    kind = "a regular file";
  else if (S_ISLNK(mode))
    kind = "a symbolic link";
  else if (S_ISFIFO(mode))
    kind = "a FIFO (named pipe)";
  else if (S_ISSOCK(mode))
    kind = "a socket";
  else if (S_ISCHR(mode))
    kind = "a character device";
  else if (S_ISBLK(mode))
    kind = "a block device";
  else if (S_ISDIR(mode))
    kind = "a folder";
  return kind;
}

/* path relative to root: path without root in front (as the walkers build
 * paths, root as given, relative or not), else path itself if it is
 * relative; NULL if path is absolute and not below root. */
static const char *
hk_source_rel(const char *root, const char *path)
{
  size_t n = strlen(root);
  const char *rel = NULL;

  while (n > 1 && root[n - 1] == '/')
    n--;
  if (n > 0 && strncmp(path, root, n) == 0 &&
      (path[n] == '/' || path[n] == 0 || root[n - 1] == '/'))
    rel = path + n;
  else if (path[0] != '/')
    rel = path;
  while (rel && *rel == '/')
    rel++;
  return rel;
}

/* Say why component name of dirfd could not be opened as a folder (or, if
 * is_last, as a file). */
static int
hk_source_refusal(int dirfd, const char *shown, const char *name, int err, bool is_last,
                  char **reason)
{
  struct stat st;
  int ret = hk_err_from_errno(err);

  if (err == ENOENT) {
    *reason = g_strdup_printf("%s does not exist", shown);
  } else if ((err == ELOOP || err == ENOTDIR || err == EXDEV) &&
             fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    ret = -HK_EINVAL;
    if (S_ISLNK(st.st_mode))
      *reason = g_strdup_printf("%s is a symbolic link (links in a source folder are not "
                                "followed)",
                                shown);
    else
      *reason = g_strdup_printf("%s is %s, not a %s", shown, hk_source_file_kind(st.st_mode),
                                is_last ? "regular file" : "folder");
  } else {
    *reason = g_strdup_printf("cannot open %s: %s", shown, g_strerror(err));
  }
  return ret;
}

/* Open the folder that holds the last of comps (n of them), beneath rootfd
 * and through no link. */
static int
hk_source_open_parent(int rootfd, char **comps, guint n, int *out, char **reason)
{
  g_autofree char *dir = NULL;
  struct open_how how = {
      .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  GString *shown = g_string_new(NULL);
  int fd = -1, next, ret = 0;

  *out = -1;
  if (n <= 1) {
    fd = dup(rootfd);
    if (fd < 0) {
      ret = hk_err_from_errno(errno);
      *reason = g_strdup_printf("cannot open the source folder: %s", g_strerror(errno));
    }
    goto out;
  }
  /* One system call where the kernel can (Linux 5.6); on any failure the
   * walk below, which is as safe, finds the component to name. */
  dir = g_strjoinv("/", (char **)comps);
  *strrchr(dir, '/') = '\0';
  fd = (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof how);
  if (fd >= 0)
    goto out;
  fd = dup(rootfd);
  if (fd < 0) {
    ret = hk_err_from_errno(errno);
    *reason = g_strdup_printf("cannot open the source folder: %s", g_strerror(errno));
    goto out;
  }
  for (guint i = 0; i + 1 < n; i++) {
    g_string_append_printf(shown, "%s%s", i ? "/" : "", comps[i]);
    next = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      ret = hk_source_refusal(fd, shown->str, comps[i], errno, false, reason);
      close(fd);
      fd = -1;
      goto out;
    }
    close(fd);
    fd = next;
  }
out:
  *out = fd;
  g_string_free(shown, TRUE);
  return ret;
}

int
hk_source_file_read(const char *root, const char *path, size_t max, char **data, size_t *len,
                    char **reason)
{
  const char *rel = hk_source_rel(root, path);
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) comps = g_ptr_array_new();
  int rootfd = -1, dirfd = -1, fd = -1, ret = 0;
  const char *last;
  struct stat st;
  char *buf = NULL;
  size_t got = 0;

  *data = NULL;
  *len = 0;
  *reason = NULL;
  if (!rel || !*rel) {
    ret = -HK_EINVAL;
    *reason = g_strdup_printf("%s is not below the source folder %s", path, root);
    goto out;
  }
  parts = g_strsplit(rel, "/", -1);
  for (guint i = 0; parts[i]; i++) {
    if (!parts[i][0] || strcmp(parts[i], ".") == 0)
      continue;
    if (strcmp(parts[i], "..") == 0 || comps->len >= HK_SOURCE_MAX_DEPTH) {
      ret = -HK_EINVAL;
      *reason = g_strdup_printf("%s leaves the source folder or is nested too deep", rel);
      goto out;
    }
    g_ptr_array_add(comps, parts[i]);
  }
  if (comps->len == 0) {
    ret = -HK_EINVAL;
    *reason = g_strdup_printf("%s is the source folder itself", rel);
    goto out;
  }
  last = comps->pdata[comps->len - 1];
  g_ptr_array_add(comps, NULL);
  /* The root is the operator's choice and may be reached through a link. */
  rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    ret = hk_err_from_errno(errno);
    *reason = g_strdup_printf("cannot open the source folder %s: %s", root, g_strerror(errno));
    goto out;
  }
  ret = hk_source_open_parent(rootfd, (char **)comps->pdata, comps->len - 1, &dirfd, reason);
  if (ret < 0)
    goto out;
  /* Look before opening, so that a device node (whose open() alone can
   * act on hardware) or a FIFO is normally never opened at all; the fstat
   * of the descriptor below is what closes the race. */
  if (fstatat(dirfd, last, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    ret = hk_source_refusal(dirfd, rel, last, errno, true, reason);
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    ret = hk_source_refusal(dirfd, rel, last, ELOOP, true, reason);
    goto out;
  }
  fd = openat(dirfd, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
    fd = openat(dirfd, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    ret = hk_source_refusal(dirfd, rel, last, errno, true, reason);
    goto out;
  }
  if (fstat(fd, &st) != 0) {
    ret = hk_err_from_errno(errno);
    *reason = g_strdup_printf("cannot read %s: %s", rel, g_strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    ret = -HK_EINVAL;
    *reason = g_strdup_printf("%s is %s, not a regular file", rel, hk_source_file_kind(st.st_mode));
    goto out;
  }
  if ((uint64_t)st.st_size > max) {
    ret = -HK_ETOOBIG;
    *reason =
        g_strdup_printf("%s is %lld bytes, over the limit of %zu", rel, (long long)st.st_size, max);
    goto out;
  }
  buf = g_malloc((size_t)st.st_size + 1);
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ret = hk_err_from_errno(errno) == -HK_EPERM ? -HK_EPERM : -HK_EIO;
      *reason = g_strdup_printf("cannot read %s: %s", rel, g_strerror(errno));
      goto out;
    }
    if (n == 0)
      break;
    got += (size_t)n;
  }
  if (got != (size_t)st.st_size) {
    /* Half a file is no document: the next scan sees the whole one. */
    ret = -HK_EIO;
    *reason = g_strdup_printf("%s changed while it was read (short read)", rel);
    goto out;
  }
  buf[got] = '\0';
  *data = g_steal_pointer(&buf);
  *len = got;
out:
  g_free(buf);
  if (fd >= 0)
    close(fd);
  if (dirfd >= 0)
    close(dirfd);
  if (rootfd >= 0)
    close(rootfd);
  return ret;
}

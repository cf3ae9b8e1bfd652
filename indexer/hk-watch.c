#include "hk-watch.h"

#include "hk-error.h"
#include "hk-log.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* IN_CREATE catches new folders; files count once written (CLOSE_WRITE) or
 * renamed into place (MOVED_TO), the way sidecars are meant to appear. */
#define HK_WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB)

struct hk_watch {
  int fd;
  GHashTable *dirs; /* wd -> path */
};

int
hk_watch_new(hk_watch **out)
{
  hk_watch *w = g_new0(hk_watch, 1);
  int ret = 0;

  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0) {
    ret = hk_err_from_errno(errno);
    g_free(w);
    w = NULL;
    goto out;
  }
  w->dirs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
out:
  *out = w;
  return ret;
}

void
hk_watch_free(hk_watch *w)
{
  if (!w)
    return;
  close(w->fd);
  g_hash_table_unref(w->dirs);
  g_free(w);
}

int
hk_watch_fd(const hk_watch *w)
{
  return w->fd;
}

static void
hk_watch_add_rec(hk_watch *w, const char *path, int depth)
{
  DIR *d;
  struct dirent *e;
  int wd;

  if (depth > 32)
    return;
  wd = inotify_add_watch(w->fd, path, HK_WATCH_MASK | IN_DONT_FOLLOW);
  if (wd < 0) {
    hk_warn("cannot watch %s: %s (the periodic rescan still covers it)", path, g_strerror(errno));
    return;
  }
  g_hash_table_replace(w->dirs, GINT_TO_POINTER(wd), g_strdup(path));
  d = opendir(path);
  if (!d)
    return;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
      continue;
    char *child = g_build_filename(path, e->d_name, NULL);
    struct stat st;
    if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
      hk_watch_add_rec(w, child, depth + 1);
    g_free(child);
  }
  closedir(d);
}

int
hk_watch_add_tree(hk_watch *w, const char *root)
{
  hk_watch_add_rec(w, root, 0);
  return 0;
}

void
hk_watch_read(hk_watch *w, GPtrArray *paths, bool *overflow)
{
  char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));

  for (;;) {
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *ev = (struct inotify_event *)p;
      const char *dir = g_hash_table_lookup(w->dirs, GINT_TO_POINTER(ev->wd));
      p += sizeof *ev + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        *overflow = true;
        continue;
      }
      if (ev->mask & IN_IGNORED) {
        g_hash_table_remove(w->dirs, GINT_TO_POINTER(ev->wd));
        continue;
      }
      if (!dir || !ev->len)
        continue;
      char *path = g_build_filename(dir, ev->name, NULL);
      if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
        hk_watch_add_rec(w, path, 0);
      if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ISDIR | IN_ATTRIB))
        g_ptr_array_add(paths, path);
      else
        g_free(path);
    }
  }
}

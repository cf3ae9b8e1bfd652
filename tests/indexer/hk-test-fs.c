/* hk-test-fs: file-system moves the shell tests cannot make fast enough or
 * at all.
 *
 *   hk-test-fs swap COUNT PAUSE_US A1 B1 [A2 B2 ...]
 *       exchange each pair of names atomically (renameat2 RENAME_EXCHANGE:
 *       a folder and a symbolic link trade places in one step) COUNT times,
 *       pausing PAUSE_US microseconds after each round. Bounded by COUNT.
 *   hk-test-fs socket PATH
 *       leave a Unix socket at PATH (bound, then closed). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int
hk_swap(int argc, char **argv)
{
  long count = strtol(argv[2], NULL, 10), pause_us = strtol(argv[3], NULL, 10), done = 0;
  struct timespec ts = {pause_us / 1000000, (pause_us % 1000000) * 1000};

  if ((argc - 4) % 2 != 0 || argc < 6 || count < 1 || count > 100000) {
    fprintf(stderr, "hk-test-fs swap: COUNT (1..100000) PAUSE_US and pairs of names\n");
    return 2;
  }
  for (long i = 0; i < count; i++) {
    for (int p = 4; p + 1 < argc; p += 2) {
      if (renameat2(AT_FDCWD, argv[p], AT_FDCWD, argv[p + 1], RENAME_EXCHANGE) != 0) {
        fprintf(stderr, "hk-test-fs swap %s %s: %s\n", argv[p], argv[p + 1], strerror(errno));
        return 1;
      }
    }
    done++;
    if (pause_us > 0)
      nanosleep(&ts, NULL);
  }
  printf("%ld\n", done);
  return 0;
}

static int
hk_socket(const char *path)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  const char *slash = strrchr(path, '/');
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);

  /* Bound by its last name from its folder: sun_path holds 107 bytes. */
  if (slash) {
    char *dir = strndup(path, (size_t)(slash - path) + 1);
    int r = dir ? chdir(dir) : -1;
    free(dir);
    if (r != 0) {
      fprintf(stderr, "hk-test-fs socket %s: %s\n", path, strerror(errno));
      return 1;
    }
    path = slash + 1;
  }
  if (fd < 0 || strlen(path) >= sizeof sa.sun_path) {
    fprintf(stderr, "hk-test-fs socket %s: %s\n", path, fd < 0 ? strerror(errno) : "path too long");
    return 1;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    fprintf(stderr, "hk-test-fs socket %s: %s\n", path, strerror(errno));
    close(fd);
    return 1;
  }
  close(fd);
  return 0;
}

int
main(int argc, char **argv)
{
  if (argc >= 6 && strcmp(argv[1], "swap") == 0)
    return hk_swap(argc, argv);
  if (argc == 3 && strcmp(argv[1], "socket") == 0)
    return hk_socket(argv[2]);
  fprintf(stderr, "usage: hk-test-fs swap COUNT PAUSE_US A B [A B ...] | socket PATH\n");
  return 2;
}

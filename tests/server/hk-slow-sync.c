/* A test shim, loaded with LD_PRELOAD into hikae-server by the audit tests:
 * fdatasync sleeps HK_SLOW_SYNC_MS first, so that an answer is reliably
 * still waiting for its audit record when the test's client goes away. The
 * server itself has no test hook: the shim only slows a system call down. */
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

int fdatasync(int fd);

int
fdatasync(int fd)
{
  static int (*real)(int);
  const char *ms = getenv("HK_SLOW_SYNC_MS");

  if (!real)
    real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  if (ms) {
    long v = strtol(ms, NULL, 10);
    struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  return real(fd);
}

#include "hk-log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *hk_log_program = "hikae";
static HkLogLevel hk_log_min = HK_LOG_INFO;

void
hk_log_set_program(const char *name)
{
  hk_log_program = name;
}

void
hk_log_set_level(HkLogLevel min)
{
  hk_log_min = min;
}

void
hk_log(HkLogLevel level, const char *fmt, ...)
{
  static const char *const names[] = { "debug", "info", "warning", "error" };
  char stamp[40];
  struct timespec ts;
  struct tm tm;
  va_list ap;

  if (level < hk_log_min)
    return;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  /* One fprintf per line so concurrent writers do not interleave mid-line. */
  char *msg;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s\n", stamp, ts.tv_nsec / 1000000, hk_log_program,
          (int)getpid(), names[level], msg);
  g_free(msg);
}

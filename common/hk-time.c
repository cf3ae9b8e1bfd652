#include "hk-time.h"

#include "hk-error.h"

#ifndef HK_TEST_CLOCK
#define HK_TEST_CLOCK 0
#endif

#include <glib.h>
#include <stdio.h>
#include <string.h>

static int64_t hk_time_offset;

#if HK_TEST_CLOCK
/* Test-clock builds only (see meson: a separate, never installed binary).
 * The installed programs are built without this, so no environment
 * variable can move the clock that session expiry and lockout rely on.
 * The file is read on every call: the test rewrites it while the server
 * runs. A missing or unreadable file means no offset. */
static int64_t
hk_time_file_offset(void)
{
  const char *path = g_getenv("HK_TEST_CLOCK_FILE");
  char buf[32], *end = NULL;
  FILE *f;
  size_t n;
  int64_t off = 0;

  if (!path || !(f = fopen(path, "re")))
    goto out;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  off = g_ascii_strtoll(buf, &end, 10);
  if (end == buf)
    off = 0;
out:
  return off;
}
#endif

int64_t
hk_time_now(void)
{
  int64_t now = g_get_real_time() + __atomic_load_n(&hk_time_offset, __ATOMIC_RELAXED);

#if HK_TEST_CLOCK
  now += hk_time_file_offset();
#endif
  return now;
}

void
hk_time_set_offset(int64_t usec)
{
  __atomic_store_n(&hk_time_offset, usec, __ATOMIC_RELAXED);
}

int64_t
hk_time_get_offset(void)
{
  return __atomic_load_n(&hk_time_offset, __ATOMIC_RELAXED);
}

bool
hk_time_test_clock(void)
{
  return HK_TEST_CLOCK != 0;
}

int
hk_time_parse(const char *text, int64_t *usec)
{
  GDateTime *dt = NULL;
  size_t len;
  int ret = -HK_EINVAL;

  if (!text)
    goto out;
  len = strlen(text);
  /* RFC 3339 needs a full date, a 'T' (or space) and an explicit offset;
   * GLib alone would accept a bare time or ISO week dates. */
  if (len < 20 || len > 40 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' '))
    goto out;
  if (!(text[len - 1] == 'Z' || text[len - 1] == 'z' || text[len - 6] == '+' ||
        text[len - 6] == '-'))
    goto out;
  /* RFC 3339 allows a lower-case "z"; GLib does not. len <= 40 here. */
  char buf[41];
  memcpy(buf, text, len + 1);
  if (buf[len - 1] == 'z')
    buf[len - 1] = 'Z';
  dt = g_date_time_new_from_iso8601(buf, NULL);
  if (!dt)
    goto out;
  *usec = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
  ret = 0;
out:
  if (dt)
    g_date_time_unref(dt);
  return ret;
}

char *
hk_time_format(int64_t usec)
{
  /* Floor, not truncation: before 1970 the fraction must stay 0..999. */
  int64_t rem = (usec % G_USEC_PER_SEC + G_USEC_PER_SEC) % G_USEC_PER_SEC;
  GDateTime *dt = g_date_time_new_from_unix_utc((usec - rem) / G_USEC_PER_SEC);
  char *base, *res;

  if (!dt)
    return g_strdup("1970-01-01T00:00:00.000Z");
  base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
  res = g_strdup_printf("%s.%03dZ", base, (int)(rem / 1000));
  g_free(base);
  g_date_time_unref(dt);
  return res;
}

bool
hk_time_is_date(const char *text)
{
  unsigned y, m, d;
  char tail;

  if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
    return false;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit(text[i]))
      return false;
  if (sscanf(text, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
    return false;
  return y >= 1800 && g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y);
}

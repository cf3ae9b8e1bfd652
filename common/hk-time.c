#include "hk-time.h"

#include "hk-error.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

int64_t
hk_time_now(void)
{
  return g_get_real_time();
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

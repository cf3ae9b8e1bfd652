/* hk-json-writer.c: see hk-json-writer.h. */
#include "hk-json-writer.h"

#include "hk-time.h"

#include <string.h>

/* Escape text already known to be UTF-8: quotes, backslashes and controls. */
static void
hk_jw_escaped_valid(GString *g, const char *v, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const char *run = v, *end = v + len;

  for (; v < end; v++) {
    unsigned char c = (unsigned char)*v;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    g_string_append_len(g, run, v - run);
    run = v + 1;
    if (c == '"' || c == '\\') {
      g_string_append_c(g, '\\');
      g_string_append_c(g, (char)c);
    } else {
      char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
      g_string_append_len(g, u, 6);
    }
  }
  g_string_append_len(g, run, v - run);
}

/* JSON text must be UTF-8 (RFC 8259), and not every string comes from a
 * checked record: a parser worker's reason quotes a hostile file. Each
 * byte that does not start a valid sequence becomes U+FFFD, so a client's
 * parser never refuses the whole answer; a NUL (which GLib's validator
 * also stops at) is escaped as before. */
static void
hk_jw_escaped(GString *g, const char *v, size_t len)
{
  const char *end = v + len;

  g_string_append_c(g, '"');
  while (v < end) {
    const char *bad = end;
    g_utf8_validate_len(v, (gsize)(end - v), &bad);
    hk_jw_escaped_valid(g, v, (size_t)(bad - v));
    v = bad;
    if (v < end) {
      if (*v == 0)
        g_string_append_len(g, "\\u0000", 6);
      else
        g_string_append_len(g, "\xef\xbf\xbd", 3);
      v++;
    }
  }
  g_string_append_c(g, '"');
}

static void
hk_jw_key(GString *g, const char *name)
{
  if (name) {
    g_string_append_c(g, '"');
    g_string_append(g, name); /* our own member names: nothing to escape */
    g_string_append_len(g, "\":", 2);
  }
}

void
hk_jw_begin(GString *g, const char *name, char open)
{
  hk_jw_key(g, name);
  g_string_append_c(g, open);
}

void
hk_jw_end(GString *g, char close)
{
  if (g->len && g->str[g->len - 1] == ',')
    g->str[g->len - 1] = close;
  else
    g_string_append_c(g, close);
  g_string_append_c(g, ',');
}

void
hk_jw_str(GString *g, const char *name, const char *value)
{
  hk_jw_strn(g, name, value, value ? strlen(value) : 0);
}

void
hk_jw_strn(GString *g, const char *name, const char *value, size_t len)
{
  hk_jw_key(g, name);
  if (value)
    hk_jw_escaped(g, value, len);
  else
    g_string_append_len(g, "null", 4);
  g_string_append_c(g, ',');
}

/* Decimal digits by hand: printf costs an allocation and a lock-free but
 * long format walk per call, and a timeline answer writes hundreds. */
static void
hk_jw_digits(GString *g, int64_t value)
{
  char buf[24];
  char *p = buf + sizeof buf;
  /* Negate in unsigned arithmetic: -INT64_MIN overflows an int64_t. */
  uint64_t u = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;

  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (value < 0)
    *--p = '-';
  g_string_append_len(g, p, buf + sizeof buf - p);
}

/* n as exactly width digits, zero-padded (0 <= n < 10^width). */
static void
hk_jw_padded(char *out, unsigned n, int width)
{
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('0' + n % 10);
    n /= 10;
  }
}

void
hk_jw_int(GString *g, const char *name, int64_t value)
{
  hk_jw_key(g, name);
  hk_jw_digits(g, value);
  g_string_append_c(g, ',');
}

void
hk_jw_bool(GString *g, const char *name, bool value)
{
  hk_jw_key(g, name);
  g_string_append(g, value ? "true," : "false,");
}

/* The proleptic Gregorian date of a day count from 1970-01-01, by whole
 * 400-year eras (146,097 days each) counted from 0000-03-01, so that the
 * leap day falls at the end of a year. Pure arithmetic: gmtime_r takes
 * glibc's time-zone lock, which the server's worker threads then share on
 * every timestamp they write. */
static void
hk_jw_civil(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
  int64_t z = days + 719468; /* days from 0000-03-01 */
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                      /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                                    /* March = 0 */

  *day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2);
}

void
hk_jw_time(GString *g, const char *name, int64_t usec)
{
  /* Floor, not truncation: before 1970 the fraction must stay 0..999. */
  int64_t rem = (usec % G_USEC_PER_SEC + G_USEC_PER_SEC) % G_USEC_PER_SEC;
  int64_t secs = (usec - rem) / G_USEC_PER_SEC;
  int64_t sod = (secs % 86400 + 86400) % 86400, year;
  unsigned month, day;

  hk_jw_civil((secs - sod) / 86400, &year, &month, &day);
  if (!usec) {
    hk_jw_str(g, name, NULL);
  } else if (year >= 0 && year <= 9999) {
    /* hk_time_format's text, without its GDateTime and allocations. */
    char t[] = "\"0000-00-00T00:00:00.000Z\",";
    hk_jw_padded(t + 1, (unsigned)year, 4);
    hk_jw_padded(t + 6, month, 2);
    hk_jw_padded(t + 9, day, 2);
    hk_jw_padded(t + 12, (unsigned)(sod / 3600), 2);
    hk_jw_padded(t + 15, (unsigned)(sod / 60 % 60), 2);
    hk_jw_padded(t + 18, (unsigned)(sod % 60), 2);
    hk_jw_padded(t + 21, (unsigned)(rem / 1000), 3);
    hk_jw_key(g, name);
    g_string_append_len(g, t, sizeof t - 1);
  } else {
    char *t = hk_time_format(usec);
    hk_jw_str(g, name, t);
    g_free(t);
  }
}

void
hk_jw_finish(GString *g)
{
  if (g->len && g->str[g->len - 1] == ',')
    g_string_truncate(g, g->len - 1);
}

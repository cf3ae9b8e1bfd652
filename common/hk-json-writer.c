/* hk-json-writer.c: see hk-json-writer.h. */
#include "hk-json-writer.h"

#include "hk-time.h"

#include <string.h>
#include <time.h>

static void
hk_jw_escaped(GString *g, const char *v, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const char *run = v, *end = v + len;

  g_string_append_c(g, '"');
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

void
hk_jw_int(GString *g, const char *name, int64_t value)
{
  hk_jw_key(g, name);
  g_string_append_printf(g, "%" G_GINT64_FORMAT ",", (gint64)value);
}

void
hk_jw_bool(GString *g, const char *name, bool value)
{
  hk_jw_key(g, name);
  g_string_append(g, value ? "true," : "false,");
}

void
hk_jw_time(GString *g, const char *name, int64_t usec)
{
  int64_t rem = (usec % G_USEC_PER_SEC + G_USEC_PER_SEC) % G_USEC_PER_SEC;
  time_t secs = (time_t)((usec - rem) / G_USEC_PER_SEC);
  struct tm tm;

  if (!usec) {
    hk_jw_str(g, name, NULL);
  } else if (gmtime_r(&secs, &tm) && tm.tm_year >= -1900 && tm.tm_year <= 9999 - 1900) {
    /* hk_time_format's text without its GDateTime and three allocations. */
    hk_jw_key(g, name);
    g_string_append_printf(g, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",", tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                           (int)(rem / 1000));
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

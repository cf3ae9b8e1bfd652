#include "hk-kana.h"

#include <glib.h>
#include <string.h>

char *
hk_kana_fold(const char *text)
{
  char *nfkc = NULL;
  GString *out = NULL;
  char *res = NULL;

  if (!text || !g_utf8_validate(text, -1, NULL))
    goto out;
  nfkc = g_utf8_normalize(text, -1, G_NORMALIZE_NFKC);
  if (!nfkc)
    goto out;
  out = g_string_sized_new(strlen(nfkc));
  for (const char *p = nfkc; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (c == ' ' || c == 0x3000 || c == '\t')
      continue;
    /* Hiragana U+3041..U+3096 sit exactly 0x60 below their katakana, as do
     * the iteration marks U+309D..U+309E. */
    if ((c >= 0x3041 && c <= 0x3096) || (c >= 0x309D && c <= 0x309E))
      c += 0x60;
    else if (c < 0x80)
      c = g_ascii_toupper((char)c);
    g_string_append_unichar(out, c);
  }
  res = g_string_free(out, FALSE);
  out = NULL;
out:
  g_free(nfkc);
  return res;
}

bool
hk_kana_is_kana(const char *text)
{
  char *key = hk_kana_fold(text);
  bool ok = key && *key;

  for (const char *p = key; ok && *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    ok = (c >= 0x30A1 && c <= 0x30FA) || c == 0x30FC || c == 0x30FB || c == 0x30FD ||
         c == 0x30FE;
  }
  g_free(key);
  return ok;
}

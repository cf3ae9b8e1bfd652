#include "hk-jis.h"

#include "hk-error.h"

#include <errno.h>
#include <glib.h>
#include <iconv.h>
#include <string.h>

#define ESC 0x1b
#define HK_JIS_GETA "\xe3\x80\x93" /* U+3013 */

typedef enum {
  HK_JIS_SET_ASCII,
  HK_JIS_SET_KANA,   /* JIS X 0201 katakana (ESC ( I, or SO) */
  HK_JIS_SET_0208,   /* ESC $ B, ESC $ @ */
  HK_JIS_SET_0213,   /* ESC $ ( Q, ESC $ ( O: JIS X 0213 plane 1 */
  HK_JIS_SET_0213P2, /* ESC $ ( P */
  HK_JIS_SET_0212,   /* ESC $ ( D */
} HkJisSet;

typedef struct {
  iconv_t cd_0208; /* "ISO-2022-JP" */
  iconv_t cd_jp3;  /* "ISO-2022-JP-3": JIS X 0213, and the fallback for 0208 */
  iconv_t cd_jp2;  /* "ISO-2022-JP-2": JIS X 0212 */
} HkJisConv;

static void
hk_jis_conv_close(HkJisConv *c)
{
  if (c->cd_0208 != (iconv_t)-1)
    iconv_close(c->cd_0208);
  if (c->cd_jp3 != (iconv_t)-1)
    iconv_close(c->cd_jp3);
  if (c->cd_jp2 != (iconv_t)-1)
    iconv_close(c->cd_jp2);
}

/* Open a converter on first use: most messages never leave ASCII. */
static iconv_t
hk_jis_conv_get(HkJisConv *c, HkJisSet set)
{
  iconv_t *slot = &c->cd_0208;
  const char *name = "ISO-2022-JP";

  if (set == HK_JIS_SET_0213 || set == HK_JIS_SET_0213P2) {
    slot = &c->cd_jp3;
    name = "ISO-2022-JP-3";
  } else if (set == HK_JIS_SET_0212) {
    slot = &c->cd_jp2;
    name = "ISO-2022-JP-2";
  }
  if (*slot == (iconv_t)-1)
    *slot = iconv_open("UTF-8", name);
  return *slot;
}

static const char *
hk_jis_set_escape(HkJisSet set)
{
  switch (set) {
  case HK_JIS_SET_0213:
    return "\x1b$(Q";
  case HK_JIS_SET_0213P2:
    return "\x1b$(P";
  case HK_JIS_SET_0212:
    return "\x1b$(D";
  default:
    return "\x1b$B";
  }
}

/* Convert npairs two-byte codes of one set, appending UTF-8 to out.
 * Returns 0 if all converted; 1 with *bad the index of the first code iconv
 * refused (those before it are appended); -HK_EIO if iconv is missing. */
static int
hk_jis_convert_pairs(HkJisConv *c, HkJisSet set, const char *pairs, size_t npairs, GString *out,
                     size_t *bad)
{
  const char *esc = hk_jis_set_escape(set);
  size_t esc_len = strlen(esc);
  size_t in_len = esc_len + npairs * 2 + 3;
  g_autofree char *inbuf = g_malloc(in_len);
  size_t cap = npairs * 8 + 16; /* 0213 may give two code points per code */
  g_autofree char *outbuf = g_malloc(cap);
  char *ip = inbuf, *op = outbuf;
  size_t il = in_len, ol = cap;
  iconv_t cd = hk_jis_conv_get(c, set);
  int ret = 0;

  if (cd == (iconv_t)-1) {
    ret = -HK_EIO;
    goto out;
  }
  memcpy(inbuf, esc, esc_len);
  memcpy(inbuf + esc_len, pairs, npairs * 2);
  memcpy(inbuf + esc_len + npairs * 2, "\x1b(B", 3);
  iconv(cd, NULL, NULL, NULL, NULL);
  if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
    size_t done = (size_t)(ip - inbuf);

    /* Only an unmapped code can fail here: the run holds 0x21..0x7E pairs
     * between two escapes we wrote ourselves. */
    *bad = done > esc_len ? (done - esc_len) / 2 : 0;
    if (*bad > npairs)
      *bad = npairs;
    ret = 1;
  }
  g_string_append_len(out, outbuf, op - outbuf);
out:
  return ret;
}

/* Decode one run of two-byte codes (run_len even) starting at offset off. */
static int
hk_jis_decode_run(HkJisConv *c, HkJisSet set, const char *run, size_t run_len, size_t off,
                  unsigned flags, GString *out, unsigned *replaced, char **reason)
{
  size_t npairs = run_len / 2, i = 0;
  int ret = 0;

  while (i < npairs) {
    size_t bad = 0;
    int r = hk_jis_convert_pairs(c, set, run + i * 2, npairs - i, out, &bad);

    if (r < 0) {
      ret = r;
      if (reason)
        *reason = g_strdup("iconv has no ISO-2022-JP converter");
      goto out;
    }
    if (r == 0)
      break;
    i += bad;
    /* JIS X 0208 text may carry NEC row-13 characters; JIS X 0213 plane 1
     * holds them at the same code points. */
    bool fixed = false;
    if (set == HK_JIS_SET_0208) {
      size_t bad2 = 0;
      fixed = hk_jis_convert_pairs(c, HK_JIS_SET_0213, run + i * 2, 1, out, &bad2) == 0;
    }
    if (!fixed) {
      if (!(flags & HK_JIS_REPLACE)) {
        ret = -HK_EINVAL;
        if (reason)
          *reason = g_strdup_printf("JIS code 0x%02X%02X at byte %zu maps to no character",
                                    (unsigned char)run[i * 2], (unsigned char)run[i * 2 + 1],
                                    off + i * 2);
        goto out;
      }
      g_string_append(out, HK_JIS_GETA);
      if (replaced)
        (*replaced)++;
    }
    i++;
  }
out:
  return ret;
}

bool
hk_jis_has_escape(const char *in, size_t len)
{
  for (size_t i = 0; i + 1 < len; i++)
    if (in[i] == ESC && (in[i + 1] == '$' || in[i + 1] == '('))
      return true;
  return false;
}

/* Read an escape sequence at in[i]; set *set and *esc_len.
 * Returns false for one this decoder does not know. */
static bool
hk_jis_read_escape(const char *in, size_t len, size_t i, HkJisSet *set, size_t *esc_len)
{
  const char *p = in + i;
  size_t left = len - i;

  if (left >= 3 && p[1] == '(') {
    *esc_len = 3;
    if (p[2] == 'B' || p[2] == 'J' || p[2] == 'H') {
      *set = HK_JIS_SET_ASCII;
      return true;
    }
    if (p[2] == 'I') {
      *set = HK_JIS_SET_KANA;
      return true;
    }
    return false;
  }
  if (left >= 3 && p[1] == '$' && (p[2] == 'B' || p[2] == '@')) {
    *esc_len = 3;
    *set = HK_JIS_SET_0208;
    return true;
  }
  if (left >= 4 && p[1] == '$' && p[2] == '(') {
    *esc_len = 4;
    switch (p[3]) {
    case 'B':
    case '@':
      *set = HK_JIS_SET_0208;
      return true;
    case 'Q':
    case 'O':
      *set = HK_JIS_SET_0213;
      return true;
    case 'P':
      *set = HK_JIS_SET_0213P2;
      return true;
    case 'D':
      *set = HK_JIS_SET_0212;
      return true;
    default:
      return false;
    }
  }
  return false;
}

int
hk_jis_decode(const char *in, size_t len, unsigned flags, char **out, size_t *out_len,
              unsigned *replaced, char **reason)
{
  HkJisConv conv = {(iconv_t)-1, (iconv_t)-1, (iconv_t)-1};
  GString *s = NULL;
  HkJisSet set = HK_JIS_SET_ASCII;
  size_t i = 0;
  int ret = 0;

  *out = NULL;
  if (replaced)
    *replaced = 0;
  if (reason)
    *reason = NULL;
  if (len > HK_JIS_MAX_INPUT) {
    ret = -HK_ETOOBIG;
    if (reason)
      *reason = g_strdup_printf("%zu bytes is over the %u-byte limit", len, HK_JIS_MAX_INPUT);
    goto out;
  }
  s = g_string_sized_new(len + len / 2 + 1);
  while (i < len) {
    unsigned char b = (unsigned char)in[i];

    if (b >= 0x80 || b == 0) {
      ret = -HK_EINVAL;
      if (reason)
        *reason = g_strdup_printf("byte 0x%02X at offset %zu is not 7-bit ISO-2022-JP", b, i);
      goto out;
    }
    if (b == ESC) {
      size_t esc_len = 0;
      if (!hk_jis_read_escape(in, len, i, &set, &esc_len)) {
        /* ESC & @ announces JIS X 0208-1990 before ESC $ B: skip it. */
        if (i + 2 < len && in[i + 1] == '&' && in[i + 2] == '@') {
          i += 3;
          continue;
        }
        ret = -HK_EINVAL;
        if (reason)
          *reason = g_strdup_printf("unknown or truncated escape sequence at offset %zu", i);
        goto out;
      }
      i += esc_len;
      continue;
    }
    if (b == 0x0e || b == 0x0f) { /* SO/SI: JIS7 half-width katakana */
      set = b == 0x0e ? HK_JIS_SET_KANA : HK_JIS_SET_ASCII;
      i++;
      continue;
    }
    if (b < 0x20 || b == 0x7f) {
      /* A control byte ends any run: tolerate a missing ESC ( B before CR. */
      set = HK_JIS_SET_ASCII;
      g_string_append_c(s, (char)b);
      i++;
      continue;
    }
    if (set == HK_JIS_SET_ASCII || b == ' ') {
      /* ISO 2022 keeps 0x20 a space in every set. */
      g_string_append_c(s, (char)b);
      i++;
    } else if (set == HK_JIS_SET_KANA) {
      if (b >= 0x21 && b <= 0x5f) {
        g_string_append_unichar(s, 0xff61 + (b - 0x21));
      } else if (flags & HK_JIS_REPLACE) {
        g_string_append(s, HK_JIS_GETA);
        if (replaced)
          (*replaced)++;
      } else {
        ret = -HK_EINVAL;
        if (reason)
          *reason = g_strdup_printf("byte 0x%02X at offset %zu is not JIS X 0201 katakana", b, i);
        goto out;
      }
      i++;
    } else {
      size_t start = i, run_len;
      while (i < len && (unsigned char)in[i] >= 0x21 && (unsigned char)in[i] <= 0x7e)
        i++;
      run_len = (i - start) & ~(size_t)1;
      ret = hk_jis_decode_run(&conv, set, in + start, run_len, start, flags, s, replaced, reason);
      if (ret < 0)
        goto out;
      if (run_len != i - start) {
        if (!(flags & HK_JIS_REPLACE)) {
          ret = -HK_EINVAL;
          if (reason)
            *reason = g_strdup_printf("odd byte 0x%02X at offset %zu in a two-byte run",
                                      (unsigned char)in[i - 1], i - 1);
          goto out;
        }
        g_string_append(s, HK_JIS_GETA);
        if (replaced)
          (*replaced)++;
      }
    }
  }
  if (out_len)
    *out_len = s->len;
  *out = g_string_free(s, FALSE);
  s = NULL;
out:
  if (s)
    g_string_free(s, TRUE);
  hk_jis_conv_close(&conv);
  return ret;
}

/* CP932 (Windows) mappings of JIS X 0208 codes, folded to glibc's. */
static gunichar
hk_jis_fold_cp932(gunichar c)
{
  switch (c) {
  case 0xff0d: /* FULLWIDTH HYPHEN-MINUS -> MINUS SIGN (JIS 0x215D) */
    return 0x2212;
  case 0xff5e: /* FULLWIDTH TILDE -> WAVE DASH (0x2141) */
    return 0x301c;
  case 0x2225: /* PARALLEL TO -> DOUBLE VERTICAL LINE (0x2142) */
    return 0x2016;
  case 0xffe0:
    return 0x00a2;
  case 0xffe1:
    return 0x00a3;
  case 0xffe2:
    return 0x00ac;
  default:
    return c;
  }
}

int
hk_jis_encode(const char *text, size_t len, char **out, size_t *out_len, char **reason)
{
  iconv_t cd = (iconv_t)-1;
  GString *folded = NULL;
  char *buf = NULL;
  size_t cap;
  int ret = 0;

  *out = NULL;
  if (reason)
    *reason = NULL;
  if (len > HK_JIS_MAX_INPUT) {
    ret = -HK_ETOOBIG;
    goto out;
  }
  if (!g_utf8_validate_len(text, len, NULL)) {
    ret = -HK_EINVAL;
    if (reason)
      *reason = g_strdup("text is not valid UTF-8");
    goto out;
  }
  folded = g_string_sized_new(len);
  for (const char *p = text; p < text + len; p = g_utf8_next_char(p))
    g_string_append_unichar(folded, hk_jis_fold_cp932(g_utf8_get_char(p)));
  cd = iconv_open("ISO-2022-JP", "UTF-8");
  if (cd == (iconv_t)-1) {
    ret = -HK_EIO;
    goto out;
  }
  /* Worst case: every character a switch of set (3+3 bytes) plus 2. */
  cap = folded->len * 3 + 16;
  buf = g_malloc(cap);
  {
    char *ip = folded->str, *op = buf;
    size_t il = folded->len, ol = cap - 1;

    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
        iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
      ret = -HK_EINVAL;
      if (reason)
        *reason = g_strdup_printf("U+%04X at byte %zu has no JIS X 0208 code",
                                  il ? (unsigned)g_utf8_get_char_validated(ip, il) : 0u,
                                  (size_t)(ip - folded->str));
      goto out;
    }
    *op = '\0';
    if (out_len)
      *out_len = (size_t)(op - buf);
  }
  *out = buf;
  buf = NULL;
out:
  if (cd != (iconv_t)-1)
    iconv_close(cd);
  if (folded)
    g_string_free(folded, TRUE);
  g_free(buf);
  return ret;
}

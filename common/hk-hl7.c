#include "hk-hl7.h"

#include "hk-error.h"
#include "hk-jis.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

typedef struct {
  uint32_t start;
  uint32_t len;
} HkHl7Span;

typedef struct {
  char name[4];
  uint32_t first;  /* index of its first part in fields */
  uint32_t nparts; /* parts split on the field separator, the name included */
} HkHl7Seg;

struct HkHl7Msg {
  char *text; /* decoded UTF-8 */
  size_t len;
  char fs, cs, rs, es, ss; /* es and ss may be 0 when MSH-2 omits them */
  GArray *segs;            /* HkHl7Seg */
  GArray *fields;          /* HkHl7Span */
  GStringChunk *strings;
  const char *charset;
  unsigned replaced;
};

void
hk_hl7_free(HkHl7Msg *m)
{
  if (!m)
    return;
  g_free(m->text);
  if (m->segs)
    g_array_unref(m->segs);
  if (m->fields)
    g_array_unref(m->fields);
  if (m->strings)
    g_string_chunk_free(m->strings);
  g_free(m);
}

static bool
hk_hl7_has_high_bytes(const char *data, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)data[i] >= 0x80)
      return true;
  return false;
}

/* Bytes to UTF-8: ISO-2022-JP (plain ASCII is a subset), or UTF-8 as is
 * for the senders that write MSH-18 "UNICODE UTF-8". */
static int
hk_hl7_decode(HkHl7Msg *m, const char *data, size_t len, unsigned flags, char **reason)
{
  int ret = 0;

  if (!hk_jis_has_escape(data, len) && hk_hl7_has_high_bytes(data, len) &&
      g_utf8_validate_len(data, len, NULL)) {
    m->text = g_strndup(data, len);
    m->len = len;
    goto out;
  }
  ret = hk_jis_decode(data, len, (flags & HK_HL7_REPLACE) ? HK_JIS_REPLACE : 0, &m->text, &m->len,
                      &m->replaced, reason);
  if (ret < 0 && reason && *reason) {
    char *r = g_strdup_printf("not ISO-2022-JP text: %s", *reason);
    g_free(*reason);
    *reason = r;
  }
out:
  return ret;
}

static bool
hk_hl7_is_newline(char c)
{
  return c == '\r' || c == '\n';
}

/* Read MSH-1 and MSH-2. */
static int
hk_hl7_read_delimiters(HkHl7Msg *m, const char *t, size_t len, char **reason)
{
  const char *enc;
  size_t n = 0;
  int ret = -HK_EINVAL;

  if (len < 8 || memcmp(t, "MSH", 3) != 0) {
    if (reason)
      *reason = g_strdup("the message does not begin with an MSH segment");
    goto out;
  }
  m->fs = t[3];
  enc = t + 4;
  while (4 + n < len && enc[n] != m->fs && !hk_hl7_is_newline(enc[n]))
    n++;
  if (n < 2 || n > 5 || 4 + n >= len || enc[n] != m->fs) {
    if (reason)
      *reason = g_strdup("MSH-2 (the encoding characters) is missing or malformed");
    goto out;
  }
  /* Every delimiter must be a distinct printable non-alphanumeric byte. */
  for (size_t i = 0; i <= n; i++) {
    char c = i == 0 ? m->fs : enc[i - 1];
    if (c <= ' ' || c >= 0x7f || g_ascii_isalnum(c)) {
      if (reason)
        *reason = g_strdup_printf("delimiter 0x%02X in MSH-1/MSH-2 is not a printable symbol",
                                  (unsigned char)c);
      goto out;
    }
    for (size_t j = 0; j < i; j++) {
      char d = j == 0 ? m->fs : enc[j - 1];
      if (c == d) {
        if (reason)
          *reason = g_strdup_printf("delimiter '%c' appears twice in MSH-1/MSH-2", c);
        goto out;
      }
    }
  }
  m->cs = enc[0];
  m->rs = enc[1];
  m->es = n >= 3 ? enc[2] : 0;
  m->ss = n >= 4 ? enc[3] : 0;
  ret = 0;
out:
  return ret;
}

static bool
hk_hl7_blank(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isspace(p[i]) && p[i] != 0x1c && p[i] != 0x0b)
      return false;
  return true;
}

static int
hk_hl7_split(HkHl7Msg *m, char **reason)
{
  const char *t = m->text;
  size_t len = m->len, pos = 0;
  int ret = 0;

  /* MLLP framing (0x0B ... 0x1C CR) and blank lines around the message. */
  while (pos < len && (t[pos] == 0x0b || g_ascii_isspace(t[pos])))
    pos++;
  while (len > pos && (t[len - 1] == 0x1c || g_ascii_isspace(t[len - 1])))
    len--;
  ret = hk_hl7_read_delimiters(m, t + pos, len - pos, reason);
  if (ret < 0)
    goto out;
  while (pos < len) {
    size_t end = pos, p;
    HkHl7Seg seg = {{0}, 0, 0};

    while (end < len && !hk_hl7_is_newline(t[end]))
      end++;
    if (hk_hl7_blank(t + pos, end - pos))
      goto next;
    if (m->segs->len >= HK_HL7_MAX_SEGMENTS) {
      ret = -HK_ETOOBIG;
      if (reason)
        *reason = g_strdup_printf("more than %u segments", HK_HL7_MAX_SEGMENTS);
      goto out;
    }
    p = pos;
    while (p < end && t[p] != m->fs)
      p++;
    if (p - pos != 3 || !g_ascii_isupper(t[pos]) || !g_ascii_isalnum(t[pos + 1]) ||
        !g_ascii_isalnum(t[pos + 2]) || g_ascii_islower(t[pos + 1]) ||
        g_ascii_islower(t[pos + 2])) {
      ret = -HK_EINVAL;
      if (reason) {
        g_autofree char *raw = g_strndup(t + pos, MIN(p - pos, 16));
        g_autofree char *shown = g_utf8_make_valid(raw, -1);
        *reason = g_strdup_printf("segment %u has no valid segment name (\"%s\")", m->segs->len + 1,
                                  shown);
      }
      goto out;
    }
    memcpy(seg.name, t + pos, 3);
    if (m->segs->len > 0 && strcmp(seg.name, "MSH") == 0) {
      ret = -HK_EINVAL;
      if (reason)
        *reason = g_strdup_printf("a second MSH segment (segment %u): a file holds one message",
                                  m->segs->len + 1);
      goto out;
    }
    seg.first = m->fields->len;
    p = pos;
    for (;;) {
      size_t q = p;
      HkHl7Span sp;

      while (q < end && t[q] != m->fs)
        q++;
      if (seg.nparts >= HK_HL7_MAX_FIELDS) {
        ret = -HK_EINVAL;
        if (reason)
          *reason = g_strdup_printf("segment %u (%s) has more than %u fields", m->segs->len + 1,
                                    seg.name, HK_HL7_MAX_FIELDS);
        goto out;
      }
      sp.start = (uint32_t)p;
      sp.len = (uint32_t)(q - p);
      g_array_append_val(m->fields, sp);
      seg.nparts++;
      if (q >= end)
        break;
      p = q + 1;
    }
    g_array_append_val(m->segs, seg);
  next:
    pos = end;
    while (pos < len && hk_hl7_is_newline(t[pos]))
      pos++;
  }
out:
  return ret;
}

static const char *
hk_hl7_normalize_charset(const char *raw)
{
  char buf[32];
  size_t n = 0;

  for (const char *p = raw; *p && n + 1 < sizeof buf; p++)
    if (*p != ' ' && *p != '_' && *p != '-')
      buf[n++] = g_ascii_toupper(*p);
  buf[n] = '\0';
  if (strcmp(buf, "ISOIR87") == 0)
    return "ISO IR87";
  if (strcmp(buf, "UNICODEUTF8") == 0 || strcmp(buf, "UTF8") == 0)
    return "UTF-8";
  if (strcmp(buf, "ISOIR159") == 0)
    return "ISO IR159";
  return NULL;
}

int
hk_hl7_parse(const char *data, size_t len, unsigned flags, HkHl7Msg **out, char **reason)
{
  HkHl7Msg *m = NULL;
  int ret = 0;

  *out = NULL;
  if (reason)
    *reason = NULL;
  if (!data || len == 0) {
    ret = -HK_EINVAL;
    if (reason)
      *reason = g_strdup("the message is empty");
    goto out;
  }
  if (len > HK_HL7_MAX_MESSAGE) {
    ret = -HK_ETOOBIG;
    if (reason)
      *reason =
          g_strdup_printf("%zu bytes is over the %u-byte message limit", len, HK_HL7_MAX_MESSAGE);
    goto out;
  }
  m = g_new0(HkHl7Msg, 1);
  m->segs = g_array_new(FALSE, FALSE, sizeof(HkHl7Seg));
  m->fields = g_array_new(FALSE, FALSE, sizeof(HkHl7Span));
  m->strings = g_string_chunk_new(1024);
  ret = hk_hl7_decode(m, data, len, flags, reason);
  if (ret < 0)
    goto out;
  ret = hk_hl7_split(m, reason);
  if (ret < 0)
    goto out;
  /* MSH-18 may repeat ("~ISO IR87": ASCII, then the alternate set). */
  {
    unsigned reps = hk_hl7_reps_at(m, 0, 18);
    for (unsigned r = 1; r <= reps && !m->charset; r++) {
      const char *v = hk_hl7_get_at(m, 0, 18, r, 1, 1);
      if (v)
        m->charset = hk_hl7_normalize_charset(v);
    }
  }
  *out = m;
  m = NULL;
out:
  hk_hl7_free(m);
  return ret;
}

unsigned
hk_hl7_n_segments(const HkHl7Msg *m)
{
  return m->segs->len;
}

const char *
hk_hl7_segment_name(const HkHl7Msg *m, unsigned i)
{
  if (i >= m->segs->len)
    return NULL;
  return g_array_index(m->segs, HkHl7Seg, i).name;
}

unsigned
hk_hl7_count(const HkHl7Msg *m, const char *seg)
{
  unsigned n = 0;

  for (unsigned i = 0; i < m->segs->len; i++)
    if (strcmp(g_array_index(m->segs, HkHl7Seg, i).name, seg) == 0)
      n++;
  return n;
}

int
hk_hl7_find(const HkHl7Msg *m, const char *seg, unsigned n)
{
  for (unsigned i = 0; i < m->segs->len; i++)
    if (strcmp(g_array_index(m->segs, HkHl7Seg, i).name, seg) == 0 && n-- == 0)
      return (int)i;
  return -1;
}

const char *
hk_hl7_charset(const HkHl7Msg *m)
{
  return m->charset;
}

unsigned
hk_hl7_replaced(const HkHl7Msg *m)
{
  return m->replaced;
}

/* The span of a field, or false when the segment has no such field. */
static bool
hk_hl7_field_span(const HkHl7Msg *m, unsigned seg_abs, unsigned field, HkHl7Span *sp)
{
  const HkHl7Seg *seg;
  unsigned part;

  if (seg_abs >= m->segs->len || field == 0)
    return false;
  seg = &g_array_index(m->segs, HkHl7Seg, seg_abs);
  /* MSH-1 is the separator itself, so MSH-n is part n-1. */
  part = strcmp(seg->name, "MSH") == 0 ? field - 1 : field;
  if (part == 0 || part >= seg->nparts)
    return false;
  *sp = g_array_index(m->fields, HkHl7Span, seg->first + part);
  return true;
}

/* Narrow [*a, *b) to its n-th (from 1) piece separated by sep. */
static bool
hk_hl7_piece(const char *t, size_t *a, size_t *b, char sep, unsigned n)
{
  size_t p = *a;

  if (n <= 1 && sep == 0)
    return true;
  if (sep == 0)
    return false;
  for (unsigned i = 1; i < n; i++) {
    while (p < *b && t[p] != sep)
      p++;
    if (p >= *b)
      return false;
    p++;
  }
  *a = p;
  while (p < *b && t[p] != sep)
    p++;
  *b = p;
  return true;
}

static void
hk_hl7_append_hex(GString *s, const char *hex, size_t n)
{
  GString *bytes = g_string_new(NULL);

  for (size_t i = 0; i + 1 < n; i += 2) {
    int hi = g_ascii_xdigit_value(hex[i]), lo = g_ascii_xdigit_value(hex[i + 1]);
    if (hi < 0 || lo < 0)
      break;
    g_string_append_c(bytes, (char)(hi << 4 | lo));
  }
  /* \X..\ carries raw bytes; keep them only if they are text we can show. */
  if (g_utf8_validate_len(bytes->str, bytes->len, NULL))
    g_string_append_len(s, bytes->str, bytes->len);
  else
    g_string_append(s, "\xef\xbf\xbd");
  g_string_free(bytes, TRUE);
}

static const char *
hk_hl7_unescape(HkHl7Msg *m, size_t a, size_t b)
{
  const char *t = m->text;
  GString *s;
  const char *res;
  bool plain = true;

  if (b - a == 2 && t[a] == '"' && t[a + 1] == '"')
    return NULL; /* HL7 null */
  for (size_t i = a; i < b; i++)
    if (m->es && t[i] == m->es)
      plain = false;
  if (plain)
    return g_string_chunk_insert_len(m->strings, t + a, (gssize)(b - a));
  s = g_string_sized_new(b - a);
  for (size_t i = a; i < b; i++) {
    size_t e;
    const char *q;
    size_t n;

    if (t[i] != m->es) {
      g_string_append_c(s, t[i]);
      continue;
    }
    e = i + 1;
    while (e < b && t[e] != m->es)
      e++;
    if (e >= b) { /* unterminated: keep the text as it is */
      g_string_append_len(s, t + i, (gssize)(b - i));
      break;
    }
    q = t + i + 1;
    n = e - i - 1;
    if (n == 1 && q[0] == 'F')
      g_string_append_c(s, m->fs);
    else if (n == 1 && q[0] == 'S')
      g_string_append_c(s, m->cs);
    else if (n == 1 && q[0] == 'T' && m->ss)
      g_string_append_c(s, m->ss);
    else if (n == 1 && q[0] == 'R')
      g_string_append_c(s, m->rs);
    else if (n == 1 && q[0] == 'E')
      g_string_append_c(s, m->es);
    else if (n >= 1 && q[0] == 'X')
      hk_hl7_append_hex(s, q + 1, n - 1);
    else if ((n == 3 && memcmp(q, ".br", 3) == 0) || (n >= 3 && memcmp(q, ".sp", 3) == 0))
      g_string_append_c(s, '\n');
    else if (n >= 1 && (q[0] == 'H' || q[0] == 'N' || q[0] == 'C' || q[0] == 'M' || q[0] == 'Z' ||
                        q[0] == '.'))
      ; /* highlighting, charset switches, local and formatting escapes: no text */
    else
      g_string_append_len(s, t + i, (gssize)(e - i + 1));
    i = e;
  }
  res = s->len ? g_string_chunk_insert_len(m->strings, s->str, (gssize)s->len) : NULL;
  g_string_free(s, TRUE);
  return res;
}

const char *
hk_hl7_get_at(HkHl7Msg *m, unsigned seg_abs, unsigned field, unsigned rep, unsigned comp,
              unsigned sub)
{
  HkHl7Span sp;
  size_t a, b;
  const char *res = NULL;
  bool msh =
      seg_abs < m->segs->len && strcmp(g_array_index(m->segs, HkHl7Seg, seg_abs).name, "MSH") == 0;

  if (msh && field == 1) {
    char fs[2] = {m->fs, 0};
    res = g_string_chunk_insert_const(m->strings, fs);
    goto out;
  }
  if (!hk_hl7_field_span(m, seg_abs, field, &sp))
    goto out;
  a = sp.start;
  b = (size_t)sp.start + sp.len;
  if (msh && field == 2) { /* the encoding characters are not split */
    res = g_string_chunk_insert_len(m->strings, m->text + a, (gssize)(b - a));
    goto out;
  }
  if (!hk_hl7_piece(m->text, &a, &b, m->rs, rep ? rep : 1))
    goto out;
  if (comp > 0 && !hk_hl7_piece(m->text, &a, &b, m->cs, comp))
    goto out;
  if (comp > 0 && sub > 0 && !hk_hl7_piece(m->text, &a, &b, m->ss, sub))
    goto out;
  if (a >= b)
    goto out;
  res = hk_hl7_unescape(m, a, b);
out:
  return res;
}

const char *
hk_hl7_get(HkHl7Msg *m, const char *seg, unsigned seg_index, unsigned field, unsigned rep,
           unsigned comp, unsigned sub)
{
  int i = hk_hl7_find(m, seg, seg_index);

  return i < 0 ? NULL : hk_hl7_get_at(m, (unsigned)i, field, rep, comp, sub);
}

unsigned
hk_hl7_reps_at(const HkHl7Msg *m, unsigned seg_abs, unsigned field)
{
  HkHl7Span sp;
  unsigned n = 1;

  if (!hk_hl7_field_span(m, seg_abs, field, &sp) || sp.len == 0)
    return 0;
  for (uint32_t i = 0; i < sp.len; i++)
    if (m->text[sp.start + i] == m->rs)
      n++;
  return n;
}

/* Read n digits at *p into *v. */
static bool
hk_hl7_digits(const char **p, int n, int *v)
{
  int x = 0;

  for (int i = 0; i < n; i++) {
    if (!g_ascii_isdigit((*p)[i]))
      return false;
    x = x * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *v = x;
  return true;
}

char *
hk_hl7_ts_to_rfc3339(const char *ts)
{
  const char *p = ts;
  int y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0, ms = -1, zh = 9, zm = 0, zsign = 1;
  char *res = NULL;

  if (!ts || !hk_hl7_digits(&p, 4, &y))
    goto out;
  if (hk_hl7_digits(&p, 2, &mo) && hk_hl7_digits(&p, 2, &d) && hk_hl7_digits(&p, 2, &h) &&
      hk_hl7_digits(&p, 2, &mi) && hk_hl7_digits(&p, 2, &s) && *p == '.') {
    int frac = 0, nd = 0;
    p++;
    while (g_ascii_isdigit(*p)) {
      if (nd < 3) {
        frac = frac * 10 + (*p - '0');
        nd++;
      }
      p++;
    }
    while (nd > 0 && nd < 3) {
      frac *= 10;
      nd++;
    }
    ms = nd ? frac : -1;
  }
  /* Skip what a short form leaves (".321" after minutes, say). */
  while (*p && *p != '+' && *p != '-')
    p++;
  if (*p == '+' || *p == '-') {
    const char *z = p + 1;
    zsign = *p == '-' ? -1 : 1;
    if (!hk_hl7_digits(&z, 2, &zh) || !hk_hl7_digits(&z, 2, &zm))
      goto out;
  }
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || !g_date_valid_dmy(d, mo, y) || h > 23 || mi > 59 ||
      s > 60 || zh > 14 || zm > 59)
    goto out;
  if (ms >= 0)
    res = g_strdup_printf("%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02d:%02d", y, mo, d, h, mi, s, ms,
                          zsign < 0 ? '-' : '+', zh, zm);
  else
    res = g_strdup_printf("%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo, d, h, mi, s,
                          zsign < 0 ? '-' : '+', zh, zm);
out:
  return res;
}

char *
hk_hl7_ts_to_date(const char *ts)
{
  const char *p = ts;
  int y, mo, d;

  if (!ts || !hk_hl7_digits(&p, 4, &y) || !hk_hl7_digits(&p, 2, &mo) || !hk_hl7_digits(&p, 2, &d) ||
      mo < 1 || mo > 12 || d < 1 || !g_date_valid_dmy(d, mo, y))
    return NULL;
  return g_strdup_printf("%04d-%02d-%02d", y, mo, d);
}

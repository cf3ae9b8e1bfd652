#include "hk-row.h"

#include "hk-error.h"
#include "hk-sha256.h"

#include <string.h>

/* The fixed part (docs/store.md, "Rows"). */
#define HK_ROW_FIXED 88
#define HK_ROW_NULL UINT32_MAX
#define HK_ROW_VERSION_FIXED 52 /* version, ingested, size, sha256 */

/* ---- writing ---- */

void
hk_row_put(GByteArray *out, uint64_t v, unsigned bytes)
{
  uint8_t b[8];

  for (unsigned i = 0; i < bytes; i++)
    b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
  g_byte_array_append(out, b, bytes);
}

void
hk_row_put_str(GByteArray *out, const char *s)
{
  size_t n = s ? strlen(s) : 0;

  hk_row_put(out, s ? (uint32_t)n : HK_ROW_NULL, 4);
  if (s)
    g_byte_array_append(out, (const guint8 *)s, (guint)n);
}

/* The binary SHA-256 of a record's hex, only if hex is what hk_sha256_hex
 * writes: the answer must print the same text the record holds. */
static int
hk_row_sha(const char *hex, uint8_t out[HK_SHA256_LEN])
{
  char back[HK_SHA256_HEX_LEN + 1];
  int ret = hk_sha256_from_hex(hex, out);

  if (ret == 0) {
    hk_sha256_hex(out, back);
    if (strcmp(back, hex) != 0)
      ret = -HK_ECORRUPT;
  }
  return ret ? -HK_ECORRUPT : 0;
}

int
hk_row_encode(const HkDocument *d, GByteArray *out)
{
  const HkVersion *cur = hk_document_current(d);
  const HkVersion *moved = NULL, *before = NULL;
  uint8_t id[8], sha[HK_SHA256_LEN];
  guint i;
  int ret;

  ret = hk_version_doc_id_bin(cur->doc_id, id) ? -HK_ECORRUPT : 0;
  if (ret == 0)
    ret = hk_row_sha(cur->sha256, sha);
  if (ret)
    goto out;
  /* What hk_document_move finds: the run of versions that ends with the
   * current one starts with the version that moved the document. */
  for (i = d->versions->len - 1; i > 0; i--) {
    const HkVersion *prev = d->versions->pdata[i - 1];
    if (g_strcmp0(prev->patient_id, cur->patient_id) != 0)
      break;
  }
  if (i > 0) {
    moved = d->versions->pdata[i];
    before = d->versions->pdata[i - 1];
  }
  hk_row_put(out, HK_ROW_VERSION, 1);
  hk_row_put(
      out, (d->withdrawn ? HK_ROW_WITHDRAWN : 0) | (d->versions->len > 1 ? HK_ROW_REPLACED : 0), 1);
  hk_row_put(out, 0, 2);
  hk_row_put(out, cur->version, 4);
  g_byte_array_append(out, id, 8);
  hk_row_put(out, (uint64_t)cur->created_usec, 8);
  hk_row_put(out, (uint64_t)cur->ingested_at, 8);
  hk_row_put(out, cur->size, 8);
  g_byte_array_append(out, sha, sizeof sha);
  hk_row_put(out, moved ? (uint64_t)moved->ingested_at : 0, 8);
  hk_row_put(out, d->versions->len, 4);
  hk_row_put(out, d->refused->len, 4);
  hk_row_put_str(out, cur->patient_id);
  hk_row_put_str(out, cur->source_id);
  hk_row_put_str(out, cur->type);
  hk_row_put_str(out, cur->title);
  hk_row_put_str(out, cur->author);
  hk_row_put_str(out, cur->department);
  hk_row_put_str(out, cur->created_at);
  hk_row_put_str(out, cur->content_type);
  hk_row_put_str(out, cur->code);
  hk_row_put_str(out, d->source_name);
  hk_row_put_str(out, before ? before->patient_id : NULL);
  for (i = 0; ret == 0 && i < d->versions->len; i++) {
    const HkVersion *o = d->versions->pdata[i];
    ret = hk_row_sha(o->sha256, sha);
    hk_row_put(out, o->version, 4);
    hk_row_put(out, (uint64_t)o->ingested_at, 8);
    hk_row_put(out, o->size, 8);
    g_byte_array_append(out, sha, sizeof sha);
    hk_row_put_str(out, o->patient_id);
  }
  for (i = 0; ret == 0 && i < d->refused->len; i++) {
    const HkRefusal *rf = d->refused->pdata[i];
    hk_row_put(out, (uint64_t)rf->at, 8);
    hk_row_put_str(out, rf->reason);
    hk_row_put_str(out, rf->sha256);
  }
out:
  return ret;
}

/* ---- reading ---- */

uint64_t
hk_row_get(const uint8_t *p, unsigned bytes)
{
  uint64_t v = 0;

  for (unsigned i = 0; i < bytes; i++)
    v = v << 8 | p[i];
  return v;
}

bool
hk_row_str(const uint8_t **at, const uint8_t *end, HkRowStr *out)
{
  uint32_t n;

  if (end && end - *at < 4)
    return false;
  n = (uint32_t)hk_row_get(*at, 4);
  *at += 4;
  out->p = NULL;
  out->len = 0;
  if (n == HK_ROW_NULL)
    return true;
  if (end && (size_t)(end - *at) < n)
    return false;
  out->p = (const char *)*at;
  out->len = n;
  *at += n;
  return true;
}

int
hk_row_decode(const void *data, size_t len, HkRow *out)
{
  const uint8_t *p = data, *end = p + len, *at;
  HkRowStr skip;
  bool ok;

  memset(out, 0, sizeof *out);
  if (len < HK_ROW_FIXED || p[0] != HK_ROW_VERSION)
    return -HK_ECORRUPT;
  out->flags = p[1];
  out->version = (uint32_t)hk_row_get(p + 4, 4);
  memcpy(out->doc_id, p + 8, 8);
  out->created_usec = (int64_t)hk_row_get(p + 16, 8);
  out->ingested_at = (int64_t)hk_row_get(p + 24, 8);
  out->size = hk_row_get(p + 32, 8);
  out->sha256 = p + 40;
  out->moved_at = (int64_t)hk_row_get(p + 72, 8);
  out->n_versions = (uint32_t)hk_row_get(p + 80, 4);
  out->n_refused = (uint32_t)hk_row_get(p + 84, 4);
  at = p + HK_ROW_FIXED;
  ok = hk_row_str(&at, end, &out->patient_id) && hk_row_str(&at, end, &out->source_id) &&
       hk_row_str(&at, end, &out->type) && hk_row_str(&at, end, &out->title) &&
       hk_row_str(&at, end, &out->author) && hk_row_str(&at, end, &out->department) &&
       hk_row_str(&at, end, &out->created_at) && hk_row_str(&at, end, &out->content_type) &&
       hk_row_str(&at, end, &out->code) && hk_row_str(&at, end, &out->source_name) &&
       hk_row_str(&at, end, &out->moved_from);
  /* Walk the lists once with bounds, so that the iterators need none. */
  out->versions_at = at;
  for (uint32_t i = 0; ok && i < out->n_versions; i++) {
    ok = end - at >= HK_ROW_VERSION_FIXED;
    at += ok ? HK_ROW_VERSION_FIXED : 0;
    ok = ok && hk_row_str(&at, end, &skip);
  }
  out->refused_at = at;
  for (uint32_t i = 0; ok && i < out->n_refused; i++) {
    ok = end - at >= 8;
    at += ok ? 8 : 0;
    ok = ok && hk_row_str(&at, end, &skip) && hk_row_str(&at, end, &skip);
  }
  /* A row lists at least its current version, and ends where it says. */
  if (!ok || at != end || out->n_versions == 0 || !out->patient_id.p)
    return -HK_ECORRUPT;
  return 0;
}

void
hk_row_next_version(const uint8_t **at, HkRowVersion *out)
{
  const uint8_t *p = *at;

  out->version = (uint32_t)hk_row_get(p, 4);
  out->ingested_at = (int64_t)hk_row_get(p + 4, 8);
  out->size = hk_row_get(p + 12, 8);
  out->sha256 = p + 20;
  *at = p + HK_ROW_VERSION_FIXED;
  hk_row_str(at, NULL, &out->patient_id);
}

void
hk_row_next_refusal(const uint8_t **at, HkRowRefusal *out)
{
  out->at = (int64_t)hk_row_get(*at, 8);
  *at += 8;
  hk_row_str(at, NULL, &out->reason);
  hk_row_str(at, NULL, &out->sha256);
}

#include "hk-totp.h"

#include "hk-error.h"

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <string.h>

static const char hk_b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char *
hk_totp_base32_encode(const uint8_t *data, size_t len)
{
  GString *s = g_string_sized_new((len * 8 + 4) / 5 + 1);
  uint32_t buf = 0;
  int bits = 0;

  for (size_t i = 0; i < len; i++) {
    buf = (buf << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      g_string_append_c(s, hk_b32_alphabet[(buf >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0)
    g_string_append_c(s, hk_b32_alphabet[(buf << (5 - bits)) & 31]);
  return g_string_free(s, FALSE);
}

int
hk_totp_base32_decode(const char *text, uint8_t *out, size_t cap, size_t *len)
{
  uint32_t buf = 0;
  int bits = 0;
  size_t n = 0;
  int ret = 0;

  for (const char *p = text; *p; p++) {
    char c = g_ascii_toupper(*p);
    const char *hit;

    if (c == '=' || c == ' ' || c == '-')
      continue;
    hit = c ? strchr(hk_b32_alphabet, c) : NULL;
    if (!hit) {
      ret = -HK_EINVAL;
      goto out;
    }
    buf = (buf << 5) | (uint32_t)(hit - hk_b32_alphabet);
    bits += 5;
    if (bits >= 8) {
      if (n >= cap) {
        ret = -HK_ETOOBIG;
        goto out;
      }
      out[n++] = (uint8_t)(buf >> (bits - 8));
      bits -= 8;
    }
  }
  *len = n;
out:
  return ret;
}

int
hk_totp_secret_new(char **secret_b32)
{
  uint8_t key[HK_TOTP_SECRET_LEN];

  randombytes_buf(key, sizeof key);
  *secret_b32 = hk_totp_base32_encode(key, sizeof key);
  sodium_memzero(key, sizeof key);
  return 0;
}

int
hk_totp_code(const char *secret_b32, int64_t step, uint32_t *code)
{
  uint8_t key[64];
  uint8_t msg[8];
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  size_t key_len = 0;
  int ret;

  ret = hk_totp_base32_decode(secret_b32, key, sizeof key, &key_len);
  if (ret < 0 || key_len == 0) {
    ret = -HK_EINVAL;
    goto out;
  }
  for (int i = 7; i >= 0; i--) {
    msg[i] = (uint8_t)(step & 0xff);
    step >>= 8;
  }
  if (!HMAC(EVP_sha1(), key, (int)key_len, msg, sizeof msg, mac, &mac_len) || mac_len < 20) {
    ret = -HK_ECRYPTO;
    goto out;
  }
  /* RFC 4226 section 5.3: dynamic truncation. */
  {
    unsigned off = mac[mac_len - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
    *code = bin % 1000000u;
  }
out:
  sodium_memzero(key, sizeof key);
  sodium_memzero(mac, sizeof mac);
  return ret;
}

int
hk_totp_verify(const char *secret_b32, const char *code_text, int64_t now_sec,
               int64_t last_step, int64_t *used_step)
{
  int64_t step = now_sec / HK_TOTP_STEP_SEC;
  uint32_t want = 0;
  bool matched = false;
  int ret = -HK_EAUTH;

  if (!code_text || strlen(code_text) != HK_TOTP_DIGITS)
    goto out;
  for (const char *p = code_text; *p; p++)
    if (!g_ascii_isdigit(*p))
      goto out;
  want = (uint32_t)strtoul(code_text, NULL, 10);
  /* Try every step of the window, whatever matches, so the time taken does
   * not tell which step (or whether any) matched. */
  for (int64_t s = step - 1; s <= step + 1; s++) {
    uint32_t c = 0;
    int r = hk_totp_code(secret_b32, s, &c);

    if (r < 0) {
      ret = r;
      goto out;
    }
    if (c == want && s > last_step && !matched) {
      matched = true;
      *used_step = s;
    }
  }
  ret = matched ? 0 : -HK_EAUTH;
out:
  return ret;
}

char *
hk_totp_uri(const char *issuer, const char *account, const char *secret_b32)
{
  char *i = g_uri_escape_string(issuer, NULL, FALSE);
  char *a = g_uri_escape_string(account, NULL, FALSE);
  char *uri = g_strdup_printf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1"
                              "&digits=%d&period=%d",
                              i, a, secret_b32, i, HK_TOTP_DIGITS, HK_TOTP_STEP_SEC);
  g_free(i);
  g_free(a);
  return uri;
}

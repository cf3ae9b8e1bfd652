#include "hk-sha256.h"

#include "hk-error.h"

#include <openssl/evp.h>
#include <string.h>

int
hk_sha256(const void *data, size_t len, uint8_t out[HK_SHA256_LEN])
{
  unsigned int n = 0;
  int ret = 0;

  if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != HK_SHA256_LEN)
    ret = -HK_ECRYPTO;
  return ret;
}

void
hk_sha256_hex(const uint8_t digest[HK_SHA256_LEN], char hex[HK_SHA256_HEX_LEN + 1])
{
  static const char digits[] = "0123456789abcdef";

  for (size_t i = 0; i < HK_SHA256_LEN; i++) {
    hex[2 * i] = digits[digest[i] >> 4];
    hex[2 * i + 1] = digits[digest[i] & 0xf];
  }
  hex[HK_SHA256_HEX_LEN] = '\0';
}

static int
hk_hexval(char c)
{
  int v = -1;

  if (c >= '0' && c <= '9')
    v = c - '0';
  else if (c >= 'a' && c <= 'f')
    v = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F')
    v = c - 'A' + 10;
  return v;
}

int
hk_sha256_from_hex(const char *hex, uint8_t digest[HK_SHA256_LEN])
{
  int ret = -HK_EINVAL;

  if (!hex || strlen(hex) != HK_SHA256_HEX_LEN)
    goto out;
  for (size_t i = 0; i < HK_SHA256_LEN; i++) {
    int hi = hk_hexval(hex[2 * i]), lo = hk_hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      goto out;
    digest[i] = (uint8_t)(hi << 4 | lo);
  }
  ret = 0;
out:
  return ret;
}

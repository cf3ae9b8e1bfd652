/* hk-sha256.h: SHA-256 through OpenSSL's EVP interface. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HK_SHA256_LEN 32
#define HK_SHA256_HEX_LEN 64

/* Hash len bytes at data into out[32]. Returns 0 or -HK_ECRYPTO. */
int hk_sha256(const void *data, size_t len, uint8_t out[HK_SHA256_LEN]);

/* Write the 64 lowercase hex digits of a digest and a NUL into hex[65]. */
void hk_sha256_hex(const uint8_t digest[HK_SHA256_LEN], char hex[HK_SHA256_HEX_LEN + 1]);

/* Parse 64 hex digits into a digest. Returns 0 or -HK_EINVAL. */
int hk_sha256_from_hex(const char *hex, uint8_t digest[HK_SHA256_LEN]);

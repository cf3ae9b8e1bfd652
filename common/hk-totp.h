/* hk-totp.h: time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits,
 * 30-second steps), the optional second factor of a hikae account.
 *
 * Secrets are 20 random bytes, kept in Base32 (RFC 4648, no padding) because
 * that is what authenticator apps read from an otpauth:// URI. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HK_TOTP_SECRET_LEN 20 /* bytes, as RFC 4226 recommends for SHA-1 */
#define HK_TOTP_STEP_SEC 30
#define HK_TOTP_DIGITS 6

/* Encode len bytes as Base32 without padding. Returns a new string (g_free). */
char *hk_totp_base32_encode(const uint8_t *data, size_t len);

/* Decode Base32 (case-insensitive, '=' padding and spaces ignored) into
 * out[cap]; *len gets the byte count.
 * \return 0; -HK_EINVAL for a character outside the alphabet; -HK_ETOOBIG if
 * out is too small. */
int hk_totp_base32_decode(const char *text, uint8_t *out, size_t cap, size_t *len);

/* Make a new random secret, Base32-encoded, into *secret_b32 (g_free).
 * \return 0 (libsodium's randombytes cannot fail once sodium_init ran). */
int hk_totp_secret_new(char **secret_b32);

/* The code for time step `step` (unix_seconds / 30) as a number below 10^6.
 * \return 0; -HK_EINVAL for a bad secret; -HK_ECRYPTO if HMAC fails. */
int hk_totp_code(const char *secret_b32, int64_t step, uint32_t *code);

/* Check a 6-digit code typed at unix time now_sec, allowing one step of clock
 * drift either way. A code of a step at or before last_step has been used
 * already and is refused, so a code seen once (shoulder, proxy log) cannot be
 * replayed. On success *used_step gets the step to remember as last_step.
 * \return 0; -HK_EAUTH if the code is wrong, malformed or replayed;
 * -HK_EINVAL for a bad secret; -HK_ECRYPTO. */
int hk_totp_verify(const char *secret_b32, const char *code_text, int64_t now_sec,
                   int64_t last_step, int64_t *used_step);

/* The otpauth:// URI that enrols the secret in an authenticator app
 * (g_free). issuer and account are percent-encoded. */
char *hk_totp_uri(const char *issuer, const char *account, const char *secret_b32);

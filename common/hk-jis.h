/* hk-jis.h: ISO-2022-JP (JIS X 0208 between ESC $ B and ESC ( B) to UTF-8
 * and back, for SS-MIX2 message files.
 *
 * The 94x94 tables are glibc's (iconv "ISO-2022-JP"); this file only walks
 * the escape sequences, so that real-world files decode:
 *
 * - A line end (CR, LF) or another control byte inside a two-byte run ends
 *   the run: many HIS exporters forget ESC ( B before the segment
 *   terminator, and RFC 1468 requires ASCII at a line end anyway.
 * - ESC $ @ (JIS C 6226-1978) is read as JIS X 0208; ESC ( J (JIS X 0201
 *   Roman) as ASCII, so HL7 delimiters stay delimiters; ESC ( I gives
 *   half-width katakana.
 * - Characters outside JIS X 0208 proper (the NEC special characters of
 *   row 13 such as (1) and mg signs, which Windows-based HIS write freely)
 *   are decoded through JIS X 0213 plane 1 (iconv "ISO-2022-JP-3"), which
 *   holds them at the same code points.
 *
 * JIS 0x215D (MINUS SIGN) is always U+2212, never U+FF0D. glibc decodes it
 * to U+2212 (the JIS X 0208 name of the character); Microsoft's CP932 tables
 * give U+FF0D FULLWIDTH HYPHEN-MINUS, which glibc cannot encode back into
 * ISO-2022-JP. One mapping both ways keeps decoded text, generated samples
 * and search keys consistent. The encoder folds the other CP932 variants
 * (U+FF5E, U+2225, U+FFE0, U+FFE1, U+FFE2) to their JIS X 0208 mappings for
 * the same reason. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  /* A two-byte code that no table maps (a vendor's gaiji in the user
   * area, say) becomes U+3013 GETA MARK, the sign Japanese systems print
   * for a character they cannot show, instead of failing the whole text. */
  HK_JIS_REPLACE = 1 << 0,
} HkJisFlags;

/* Largest input accepted (bytes). */
#define HK_JIS_MAX_INPUT (16u * 1024 * 1024)

/* Decode ISO-2022-JP bytes to UTF-8.
 *
 * \param in, len   the bytes (need not be NUL-terminated; NUL is an error)
 * \param flags     HkJisFlags
 * \param out       set to a NUL-terminated UTF-8 string (g_free)
 * \param out_len   if non-NULL, set to its length
 * \param replaced  if non-NULL, set to how many codes became U+3013
 * \param reason    if non-NULL, set on error to a sentence naming the
 *                  offset and the byte (g_free)
 * \return 0; -HK_EINVAL if the bytes are not ISO-2022-JP (a byte >= 0x80,
 *         NUL, an unknown or truncated escape sequence, an odd byte in a
 *         two-byte run, or an unmapped code without HK_JIS_REPLACE);
 *         -HK_ETOOBIG over HK_JIS_MAX_INPUT; -HK_EIO if iconv lacks the
 *         converters. */
int hk_jis_decode(const char *in, size_t len, unsigned flags, char **out, size_t *out_len,
                  unsigned *replaced, char **reason);

/* Encode UTF-8 text as ISO-2022-JP (ESC $ B ... ESC ( B; every control
 * byte and HL7 delimiter is written in ASCII mode).
 * \return 0; -HK_EINVAL if text is not valid UTF-8 or holds a character
 *         JIS X 0208 lacks (reason says which); -HK_ETOOBIG; -HK_EIO. */
int hk_jis_encode(const char *text, size_t len, char **out, size_t *out_len, char **reason);

/* True if the bytes hold an ISO-2022-JP escape (ESC $ or ESC (). */
bool hk_jis_has_escape(const char *in, size_t len);

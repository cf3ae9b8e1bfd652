/* libFuzzer target: an SS-MIX2 message as the indexer reads it: ISO-2022-JP
 * decoding (and the encoder, as a round trip that may fold a character
 * once but never lose one), the HL7 parser, and every
 * accessor and time conversion the message mapping calls. */
#include "hk-hl7.h"
#include "hk-jis.h"

#include <glib.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encoding then decoding may fold a character once (the encoder writes
 * CP932's FULLWIDTH HYPHEN-MINUS as JIS X 0208's MINUS SIGN, for one), but
 * never drop or add one, and what it gives must be stable: encoded again it
 * gives the same bytes. A difference would mean a name or an allergy stored
 * differently from what was sent. */
static void
hk_fuzz_jis_round_trip(const char *text, size_t len)
{
  char *enc = NULL, *dec = NULL, *enc2 = NULL;
  size_t enc_len = 0, dec_len = 0, enc2_len = 0;

  if (hk_jis_encode(text, len, &enc, &enc_len, NULL) == 0) {
    if (hk_jis_decode(enc, enc_len, 0, &dec, &dec_len, NULL, NULL) != 0)
      abort(); /* the encoder wrote bytes its own decoder refuses */
    if (g_utf8_strlen(dec, (gssize)dec_len) != g_utf8_strlen(text, (gssize)len))
      abort(); /* a character was lost or added */
    if (hk_jis_encode(dec, dec_len, &enc2, &enc2_len, NULL) != 0)
      abort(); /* the decoder gave text its own encoder refuses */
    if (enc2_len != enc_len || memcmp(enc2, enc, enc_len) != 0)
      abort(); /* not stable after one fold */
  }
  g_free(enc);
  g_free(dec);
  g_free(enc2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *in = (const char *)data;
  char *text = NULL;
  size_t text_len = 0;
  unsigned replaced = 0;
  HkHl7Msg *m = NULL;

  if (hk_jis_decode(in, size, HK_JIS_REPLACE, &text, &text_len, &replaced, NULL) == 0 &&
      replaced == 0)
    hk_fuzz_jis_round_trip(text, text_len);
  hk_jis_has_escape(in, size);
  for (unsigned flags = 0; flags <= HK_HL7_REPLACE; flags += HK_HL7_REPLACE) {
    if (hk_hl7_parse(in, size, flags, &m, NULL) != 0)
      continue;
    hk_hl7_charset(m);
    hk_hl7_replaced(m);
    for (unsigned s = 0; s < hk_hl7_n_segments(m) && s < 64; s++) {
      const char *name = hk_hl7_segment_name(m, s);
      if (!name)
        abort(); /* a segment below the count without a name */
      hk_hl7_count(m, name);
      for (unsigned f = 0; f <= 12; f++) {
        unsigned reps = hk_hl7_reps_at(m, s, f);
        for (unsigned r = 0; r <= reps && r < 4; r++) {
          for (unsigned c = 0; c <= 3; c++) {
            const char *v = hk_hl7_get_at(m, s, f, r, c, c == 0 ? 0 : 1);
            if (v && !g_utf8_validate(v, -1, NULL))
              abort(); /* the store takes only UTF-8 */
            if (v && c <= 1) {
              g_free(hk_hl7_ts_to_rfc3339(v));
              g_free(hk_hl7_ts_to_date(v));
            }
          }
        }
      }
    }
    hk_hl7_get(m, "PID", 0, 3, 1, 1, 0);
    hk_hl7_find(m, "PV1", 0);
    hk_hl7_free(m);
    m = NULL;
  }
  g_free(text);
  return 0;
}

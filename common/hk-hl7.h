/* hk-hl7.h: a reader of one HL7 v2.5 message, as SS-MIX2 stores them.
 *
 * The bytes are decoded to UTF-8 first (ISO-2022-JP through hk-jis, or
 * UTF-8 as is) and only then split: in a JIS X 0208 run the bytes of '|',
 * '^', '~', '\' and '&' are halves of kanji, so delimiters can only be
 * found in the decoded text. Segments end in CR; LF, CRLF, a leading 0x0B
 * and a trailing 0x1C (MLLP framing left in the file) are tolerated.
 *
 * Positions follow HL7 notation: field, repetition, component and
 * subcomponent count from 1 (PID-5, its 2nd repetition, 1st component);
 * the occurrence of a segment counts from 0 (the first OBX is OBX 0). MSH-1
 * is the field separator and MSH-2 the encoding characters, as in the
 * standard. Malformed input gets -HK_EINVAL and a sentence saying why;
 * the reader never reads outside its buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HK_HL7_MAX_MESSAGE (4u * 1024 * 1024) /* bytes of one message */
#define HK_HL7_MAX_SEGMENTS 10000u
#define HK_HL7_MAX_FIELDS 1000u /* per segment */

typedef struct HkHl7Msg HkHl7Msg;

typedef enum {
  /* Decode unmapped JIS codes as U+3013 instead of refusing the message
   * (see HK_JIS_REPLACE). */
  HK_HL7_REPLACE = 1 << 0,
} HkHl7Flags;

/* Parse one message.
 *
 * \param data, len  the file's bytes
 * \param flags      HkHl7Flags
 * \param out        the message (hk_hl7_free)
 * \param reason     if non-NULL, set on error to a human-readable sentence
 *                   (g_free)
 * \return 0; -HK_EINVAL if the bytes are not one HL7 message (no MSH first,
 *         bad encoding characters, a bad segment name, a second MSH, not
 *         ISO-2022-JP nor UTF-8, a segment over HK_HL7_MAX_FIELDS fields);
 *         -HK_ETOOBIG over HK_HL7_MAX_MESSAGE bytes or HK_HL7_MAX_SEGMENTS
 *         segments; -HK_EIO if iconv lacks ISO-2022-JP. */
int hk_hl7_parse(const char *data, size_t len, unsigned flags, HkHl7Msg **out, char **reason);
void hk_hl7_free(HkHl7Msg *m);

/* Number of segments, and the name ("PID") of segment i (NULL past the end). */
unsigned hk_hl7_n_segments(const HkHl7Msg *m);
const char *hk_hl7_segment_name(const HkHl7Msg *m, unsigned i);
/* How many segments are named seg. */
unsigned hk_hl7_count(const HkHl7Msg *m, const char *seg);
/* The absolute index of occurrence n of seg, or -1. */
int hk_hl7_find(const HkHl7Msg *m, const char *seg, unsigned n);

/* The value at seg (its occurrence seg_index) -field(rep).comp.sub, with
 * escape sequences (\F\ \S\ \T\ \R\ \E\ \X..\ \.br\) resolved. comp 0 or
 * sub 0 means "the whole": the field repetition with its component
 * separators, or the component with its subcomponent separators, unescaped.
 * Returns a string owned by m, or NULL when the value is absent, empty or
 * the HL7 null "". */
const char *hk_hl7_get(HkHl7Msg *m, const char *seg, unsigned seg_index, unsigned field,
                       unsigned rep, unsigned comp, unsigned sub);
/* The same by absolute segment index. */
const char *hk_hl7_get_at(HkHl7Msg *m, unsigned seg_abs, unsigned field, unsigned rep,
                          unsigned comp, unsigned sub);
/* Number of repetitions of a field (0 when empty or absent). */
unsigned hk_hl7_reps_at(const HkHl7Msg *m, unsigned seg_abs, unsigned field);

/* The charset MSH-18 names, normalized: "ISO IR87" for both "ISO IR87" and
 * "ISOIR87" (with or without the leading repetition), "UTF-8", or NULL. */
const char *hk_hl7_charset(const HkHl7Msg *m);
/* How many JIS codes became U+3013 (with HK_HL7_REPLACE). */
unsigned hk_hl7_replaced(const HkHl7Msg *m);

/* Convert an HL7 TS/DTM ("YYYY[MM[DD[HHMM[SS[.S]]]]][+ZZZZ]") to RFC 3339.
 * A time without an offset is Japan time (+09:00), as SS-MIX2 writes it;
 * a bare date is its midnight. Returns a new string (g_free) or NULL. */
char *hk_hl7_ts_to_rfc3339(const char *ts);
/* A bare date "YYYYMMDD..." as "YYYY-MM-DD", or NULL if it is not a date. */
char *hk_hl7_ts_to_date(const char *ts);

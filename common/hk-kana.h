/* hk-kana.h: search keys for Japanese names.
 *
 * Staff type a patient's kana in whatever the keyboard gives: hiragana or
 * katakana, full-width or half-width. All of them must find the same patient,
 * so every kana string is folded to one key: NFKC (half-width katakana become
 * full-width, voiced marks compose), hiragana become katakana, and spaces
 * (ASCII and ideographic) go. Names are folded the same way for substring
 * search. */
#pragma once

#include <stdbool.h>

/* Fold text to its search key. Returns a new string (g_free), or NULL if
 * text is not valid UTF-8. */
char *hk_kana_fold(const char *text);

/* True if text, once folded, is non-empty and holds only katakana, the
 * prolonged sound mark and the middle dot: a kana query, not a name. */
bool hk_kana_is_kana(const char *text);

/* hk-ocr.h: the text of a scanned page (a JPEG), read with Tesseract
 * (Japanese, page segmentation mode 6: one uniform block of text), in a
 * confined parser worker.
 *
 * A worker may open no file, so the model is loaded once in the indexer
 * (hk_ocr_warmup) and every worker forked after inherits it. Tesseract is
 * loaded with dlopen, after OMP_THREAD_LIMIT=1 is set: libgomp reads that
 * variable once, when it is loaded, and a worker must stay one thread (a
 * thread is a system call its sandbox refuses, and one core per worker is
 * what the pool's parallelism counts on). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Load Tesseract and its Japanese model in this process, once. Workers
 * forked before it have no model: hk_ocr_warmup answers true the first
 * time it loads, and the caller then replaces them (hk_inspect_shutdown).
 * \return true if it loaded the model now; *available says whether OCR
 * can be done at all (the library or the model may be missing). */
bool hk_ocr_warmup(bool *available);

/* Switch OCR off for this process (hikae-indexer --no-ocr), before the
 * first hk_ocr_warmup: scans then stay "needs_ocr", and a PDF page without
 * a text layer stays empty. */
void hk_ocr_disable(void);

/* OCR the pixels of a JPEG as one page (source "ocr", with Tesseract's mean
 * confidence). \return 0, a page list in *list and the page's box list
 * (hk-boxes.h) in *boxes (NULL if none), or -HK_EINVAL and a reason. Call
 * it only in a parser worker (hk-inspect.h). */
int hk_ocr_jpeg(const void *data, size_t len, GBytes **list, GBytes **boxes, char **reason);

/* Whether the model is loaded in this process (a worker inherits it). */
bool hk_ocr_ready(void);

/* OCR grey pixels (one byte each, rows stride bytes apart) as one block of
 * text: the text with hk_ocr_join applied (g_free), and Tesseract's mean
 * confidence in hundredths of a percent in *confidence. "" if the model is
 * not loaded. A tilted page is read turned straight (Leptonica measures the
 * tilt of its lines); a page whose tilt cannot be measured, or is under
 * 0.1 degree, is read as it is. If boxes is not NULL, *boxes is where each
 * character of the text returned is on the page as given (an array of
 * HkBox, hk-boxes.h; g_array_unref), or NULL if the page has none. Call it
 * only in a parser worker. */
char *hk_ocr_gray(const unsigned char *gray, int w, int h, int stride, uint32_t *confidence,
                  GArray **boxes);

/* Tesseract's Japanese output with the spaces it puts between Japanese
 * characters removed (a space between two Latin words, or next to a
 * line break, stays). g_free. */
char *hk_ocr_join(const char *text);

#include "hk-ocr.h"

#include "hk-error.h"
#include "hk-text.h"
#include "hk-thumbnail.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <turbojpeg.h>

/* The Tesseract calls used, found with dlsym (hk-ocr.h says why dlopen). */
static struct {
  bool tried, ready;
  TessBaseAPI *api;
  TessBaseAPI *(*create)(void);
  int (*init3)(TessBaseAPI *, const char *, const char *);
  void (*set_psm)(TessBaseAPI *, TessPageSegMode);
  void (*set_image)(TessBaseAPI *, const unsigned char *, int, int, int, int);
  char *(*get_text)(TessBaseAPI *);
  int (*mean_conf)(TessBaseAPI *);
  void (*clear)(TessBaseAPI *);
  void (*delete_text)(const char *);
  void (*delete_api)(TessBaseAPI *);
} hk_tess;

/* At exit: Tesseract's caches complain on stderr of every model object
 * still held when the library is unloaded. */
static void
hk_ocr_release(void)
{
  if (hk_tess.ready && hk_tess.delete_api)
    hk_tess.delete_api(hk_tess.api);
  hk_tess.ready = false;
}

void
hk_ocr_disable(void)
{
  hk_tess.tried = true;
}

bool
hk_ocr_warmup(bool *available)
{
  void *lib = NULL;
  bool loaded = false;

  if (hk_tess.tried)
    goto out;
  hk_tess.tried = true;
  /* One thread per worker (the rule, and the sandbox's). */
  if (g_strcmp0(g_getenv("OMP_THREAD_LIMIT"), "1") != 0)
    g_setenv("OMP_THREAD_LIMIT", "1", TRUE);
  lib = dlopen("libtesseract.so.5", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    goto out;
  hk_tess.create = (TessBaseAPI * (*)(void)) dlsym(lib, "TessBaseAPICreate");
  hk_tess.init3 =
      (int (*)(TessBaseAPI *, const char *, const char *))dlsym(lib, "TessBaseAPIInit3");
  hk_tess.set_psm =
      (void (*)(TessBaseAPI *, TessPageSegMode))dlsym(lib, "TessBaseAPISetPageSegMode");
  hk_tess.set_image = (void (*)(TessBaseAPI *, const unsigned char *, int, int, int, int))dlsym(
      lib, "TessBaseAPISetImage");
  hk_tess.get_text = (char *(*)(TessBaseAPI *))dlsym(lib, "TessBaseAPIGetUTF8Text");
  hk_tess.mean_conf = (int (*)(TessBaseAPI *))dlsym(lib, "TessBaseAPIMeanTextConf");
  hk_tess.clear = (void (*)(TessBaseAPI *))dlsym(lib, "TessBaseAPIClear");
  hk_tess.delete_text = (void (*)(const char *))dlsym(lib, "TessDeleteText");
  hk_tess.delete_api = (void (*)(TessBaseAPI *))dlsym(lib, "TessBaseAPIDelete");
  if (!hk_tess.create || !hk_tess.init3 || !hk_tess.set_psm || !hk_tess.set_image ||
      !hk_tess.get_text || !hk_tess.mean_conf || !hk_tess.clear || !hk_tess.delete_text)
    goto out;
  hk_tess.api = hk_tess.create();
  /* NULL: the model where Debian's tesseract-ocr-jpn puts it. */
  if (!hk_tess.api || hk_tess.init3(hk_tess.api, NULL, "jpn") != 0)
    goto out;
  hk_tess.set_psm(hk_tess.api, PSM_SINGLE_BLOCK);
  hk_tess.ready = loaded = true;
  atexit(hk_ocr_release);
out:
  /* The library stays loaded for the process's life: the model lives in it. */
  *available = hk_tess.ready;
  return loaded;
}

/* Is c (a code point) Japanese script or punctuation, next to which a
 * space is Tesseract's, not the text's? */
static bool
hk_ocr_cjk(gunichar c)
{
  return (c >= 0x3000 && c <= 0x30FF) || /* punctuation, hiragana, katakana */
         (c >= 0x3400 && c <= 0x9FFF) || /* kanji */
         (c >= 0xF900 && c <= 0xFAFF) || /* compatibility kanji */
         (c >= 0xFF00 && c <= 0xFFEF);   /* full-width and half-width forms */
}

char *
hk_ocr_join(const char *text)
{
  GString *out = g_string_sized_new(strlen(text));
  gunichar prev = 0;

  for (const char *p = text; *p;) {
    if (*p == ' ') {
      const char *q = p;
      while (*q == ' ')
        q++;
      /* A run of spaces between two Japanese characters goes. */
      if (!(prev && hk_ocr_cjk(prev) && *q && hk_ocr_cjk(g_utf8_get_char(q))))
        g_string_append_len(out, p, q - p);
      p = q;
      continue;
    }
    prev = g_utf8_get_char(p);
    g_string_append_unichar(out, prev);
    p = g_utf8_next_char(p);
  }
  return g_string_free(out, FALSE);
}

bool
hk_ocr_ready(void)
{
  return hk_tess.ready;
}

char *
hk_ocr_gray(const unsigned char *gray, int w, int h, int stride, uint32_t *confidence)
{
  char *text, *joined;
  int conf;

  *confidence = 0;
  if (!hk_tess.ready)
    return g_strdup("");
  hk_tess.set_image(hk_tess.api, gray, w, h, 1, stride);
  text = hk_tess.get_text(hk_tess.api);
  conf = hk_tess.mean_conf(hk_tess.api);
  joined = hk_ocr_join(text ? text : "");
  *confidence = (uint32_t)CLAMP(conf, 0, 100) * 100;
  if (text)
    hk_tess.delete_text(text);
  hk_tess.clear(hk_tess.api);
  return joined;
}

int
hk_ocr_jpeg(const void *data, size_t len, GBytes **list, char **reason)
{
  tjhandle tj = NULL;
  unsigned char *gray = NULL;
  char *joined = NULL;
  uint32_t conf = 0;
  int w = 0, h = 0, subsamp = -1, cs = -1, ret = -HK_EINVAL;
  HkTextList l;

  *list = NULL;
  *reason = NULL;
  if (!hk_tess.ready) {
    *reason = g_strdup("OCR is not available (libtesseract or its Japanese model is missing)");
    goto out;
  }
  tj = tjInitDecompress();
  if (!tj || len > ULONG_MAX ||
      tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp, &cs) != 0) {
    *reason = g_strdup_printf("not a readable JPEG: %s", tj ? tjGetErrorStr2(tj) : "no decoder");
    goto out;
  }
  if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > HK_IMAGE_MAX_PIXELS) {
    *reason = g_strdup_printf("JPEG dimensions %dx%d out of range", w, h);
    goto out;
  }
  /* Grey is what Tesseract binarizes from; TurboJPEG converts CMYK too. */
  gray = g_malloc((size_t)w * (size_t)h);
  if (tjDecompress2(tj, data, (unsigned long)len, gray, w, 0, h, TJPF_GRAY, 0) != 0 &&
      tjGetErrorCode(tj) == TJERR_FATAL) {
    *reason = g_strdup_printf("JPEG data do not decode: %s", tjGetErrorStr2(tj));
    goto out;
  }
  joined = hk_ocr_gray(gray, w, h, w, &conf);
  hk_text_list_begin(&l);
  hk_text_list_add(&l, HK_TEXT_SOURCE_OCR, conf, joined, strlen(joined));
  *list = hk_text_list_end(&l);
  ret = 0;
out:
  g_free(joined);
  g_free(gray);
  if (tj)
    tjDestroy(tj);
  return ret;
}

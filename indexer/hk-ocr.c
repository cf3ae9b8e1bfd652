#include "hk-ocr.h"

#include "hk-boxes.h"
#include "hk-error.h"
#include "hk-text.h"
#include "hk-thumbnail.h"

#include <dlfcn.h>
#include <leptonica/allheaders.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <turbojpeg.h>

/* Below this many pixels a side, a page holds no line long enough to
 * measure a tilt by: it goes to Tesseract as it is. */
#define HK_OCR_DESKEW_MIN_SIDE 64
/* Leptonica's confidence (the best angle's score over the worst's) under
 * which the angle found is not trusted. Leptonica's own deskew wants 3.0;
 * generated A4 scans of 10-12 pt text tilted 1-2 degrees, with noise and
 * specks, scored 2.8 to 3.9 (3 of 10 under 3.0, left tilted), with the
 * angle right to 0.04 degrees. A wrong angle on a page without lines costs
 * little: Tesseract reads such a page badly either way. */
#define HK_OCR_DESKEW_MIN_CONF 2.0f
/* Under this (degrees) a rotation changes nothing Tesseract sees. */
#define HK_OCR_DESKEW_MIN_DEG 0.1f

/* The Tesseract calls used, found with dlsym (hk-ocr.h says why dlopen). */
static struct {
  bool tried, ready;
  TessBaseAPI *api;
  TessBaseAPI *(*create)(void);
  int (*init3)(TessBaseAPI *, const char *, const char *);
  void (*set_psm)(TessBaseAPI *, TessPageSegMode);
  void (*set_image)(TessBaseAPI *, const unsigned char *, int, int, int, int);
  void (*set_image2)(TessBaseAPI *, struct Pix *);
  char *(*get_text)(TessBaseAPI *);
  int (*mean_conf)(TessBaseAPI *);
  void (*clear)(TessBaseAPI *);
  void (*delete_text)(const char *);
  void (*delete_api)(TessBaseAPI *);
  /* Where each character was read (hk-boxes.h); without them, no boxes. */
  TessResultIterator *(*get_iterator)(TessBaseAPI *);
  TessPageIterator *(*page_iterator)(TessResultIterator *);
  char *(*iter_text)(const TessResultIterator *, TessPageIteratorLevel);
  BOOL (*bounding_box)(const TessPageIterator *, TessPageIteratorLevel, int *, int *, int *, int *);
  BOOL (*iter_next)(TessResultIterator *, TessPageIteratorLevel);
  void (*iter_delete)(TessResultIterator *);
  bool boxes;
} hk_tess;

/* The Leptonica calls that straighten a page before Tesseract reads it, found
 * through Tesseract's handle: the Leptonica Tesseract itself was linked
 * with, so that the Pix handed to it has the layout it expects. */
static struct {
  bool ready;
  PIX *(*create)(l_int32, l_int32, l_int32);
  l_uint32 *(*data)(PIX *);
  l_int32 (*wpl)(const PIX *);
  PIX *(*threshold)(PIX *, l_int32);
  l_ok (*find_skew)(PIX *, l_float32 *, l_float32 *);
  PIX *(*rotate)(PIX *, l_float32, l_int32, l_int32, l_int32, l_int32);
  void (*destroy)(PIX **);
} hk_lept;

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
  hk_tess.set_image2 = (void (*)(TessBaseAPI *, struct Pix *))dlsym(lib, "TessBaseAPISetImage2");
  hk_tess.get_iterator =
      (TessResultIterator * (*)(TessBaseAPI *)) dlsym(lib, "TessBaseAPIGetIterator");
  hk_tess.page_iterator = (TessPageIterator * (*)(TessResultIterator *))
      dlsym(lib, "TessResultIteratorGetPageIterator");
  hk_tess.iter_text = (char *(*)(const TessResultIterator *, TessPageIteratorLevel))dlsym(
      lib, "TessResultIteratorGetUTF8Text");
  hk_tess.bounding_box = (BOOL(*)(const TessPageIterator *, TessPageIteratorLevel, int *, int *,
                                  int *, int *))dlsym(lib, "TessPageIteratorBoundingBox");
  hk_tess.iter_next =
      (BOOL(*)(TessResultIterator *, TessPageIteratorLevel))dlsym(lib, "TessResultIteratorNext");
  hk_tess.iter_delete = (void (*)(TessResultIterator *))dlsym(lib, "TessResultIteratorDelete");
  hk_tess.boxes = hk_tess.get_iterator && hk_tess.page_iterator && hk_tess.iter_text &&
                  hk_tess.bounding_box && hk_tess.iter_next && hk_tess.iter_delete;
  hk_lept.create = (PIX * (*)(l_int32, l_int32, l_int32)) dlsym(lib, "pixCreate");
  hk_lept.data = (l_uint32 * (*)(PIX *)) dlsym(lib, "pixGetData");
  hk_lept.wpl = (l_int32(*)(const PIX *))dlsym(lib, "pixGetWpl");
  hk_lept.threshold = (PIX * (*)(PIX *, l_int32)) dlsym(lib, "pixThresholdToBinary");
  hk_lept.find_skew = (l_ok(*)(PIX *, l_float32 *, l_float32 *))dlsym(lib, "pixFindSkew");
  hk_lept.rotate =
      (PIX * (*)(PIX *, l_float32, l_int32, l_int32, l_int32, l_int32)) dlsym(lib, "pixRotate");
  hk_lept.destroy = (void (*)(PIX **))dlsym(lib, "pixDestroy");
  /* Without them Tesseract still reads the page, as it is. */
  hk_lept.ready = hk_tess.set_image2 && hk_lept.create && hk_lept.data && hk_lept.wpl &&
                  hk_lept.threshold && hk_lept.find_skew && hk_lept.rotate && hk_lept.destroy;
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

/* Otsu's threshold of a grey histogram: the level that best splits ink
 * from paper, whatever the scanner's exposure. */
static int
hk_ocr_otsu(const uint64_t hist[256])
{
  double total = 0, sum = 0, sum_b = 0, w_b = 0, best = -1;
  int t = 127;

  for (int i = 0; i < 256; i++) {
    total += (double)hist[i];
    sum += (double)i * (double)hist[i];
  }
  for (int i = 0; i < 256; i++) {
    w_b += (double)hist[i];
    sum_b += (double)i * (double)hist[i];
    if (w_b == 0 || w_b == total)
      continue;
    const double m_b = sum_b / w_b, m_f = (sum - sum_b) / (total - w_b);
    const double between = w_b * (total - w_b) * (m_b - m_f) * (m_b - m_f);
    if (between > best) {
      best = between;
      t = i;
    }
  }
  return t;
}

/* The page turned straight by the tilt Leptonica measures on its lines of
 * text (pixFindSkew on the page made black and white at Otsu's level),
 * with area mapping, which keeps grey edges grey. \return the turned page
 * (a Pix, the caller destroys it), or NULL: no tilt measured, none worth
 * turning, no Leptonica, no memory; the caller then hands Tesseract the
 * page as it was. */
static PIX *
hk_ocr_deskew(const unsigned char *gray, int w, int h, int stride, float *radians)
{
  PIX *pix = NULL, *bin = NULL, *turned = NULL;
  uint64_t hist[256] = {0};
  l_float32 angle = 0, conf = 0;
  l_uint32 *data;
  l_int32 wpl;

  *radians = 0;
  if (!hk_lept.ready || w < HK_OCR_DESKEW_MIN_SIDE || h < HK_OCR_DESKEW_MIN_SIDE)
    goto out;
  pix = hk_lept.create(w, h, 8);
  if (!pix)
    goto out;
  data = hk_lept.data(pix);
  wpl = hk_lept.wpl(pix);
  for (int y = 0; y < h; y++) {
    const unsigned char *row = gray + (size_t)y * (size_t)stride;
    l_uint32 *line = data + (size_t)y * (size_t)wpl;
    for (int x = 0; x < w; x++) {
      hist[row[x]]++;
      SET_DATA_BYTE(line, x, row[x]);
    }
  }
  /* Ink is what is darker than Otsu's level (Leptonica: value < thresh). */
  bin = hk_lept.threshold(pix, hk_ocr_otsu(hist) + 1);
  if (!bin || hk_lept.find_skew(bin, &angle, &conf) != 0 || !isfinite(angle) ||
      conf < HK_OCR_DESKEW_MIN_CONF || fabsf(angle) < HK_OCR_DESKEW_MIN_DEG)
    goto out;
  /* The corners turned in are paper. */
  turned = hk_lept.rotate(pix, angle * (l_float32)(G_PI / 180.0), L_ROTATE_AREA_MAP,
                          L_BRING_IN_WHITE, 0, 0);
  if (turned)
    *radians = angle * (float)(G_PI / 180.0);
out:
  if (bin)
    hk_lept.destroy(&bin);
  if (pix)
    hk_lept.destroy(&pix);
  return turned;
}

/* A rectangle of the turned page (Tesseract's pixels: right and bottom
 * exclusive) as a box's rectangle on the page as it was: its corners turned
 * back the way pixRotateAMGray samples (a pixel of the turned page is
 * taken from the page's point at (dx cos + dy sin, dy cos - dx sin) from
 * the centre), their bounding box, in HK_BOX_UNITS of the page. */
static void
hk_ocr_unturn(int l, int t, int r, int b, int w, int h, float radians, HkBox *out)
{
  const double xc = (double)(w / 2), yc = (double)(h / 2);
  const double c = cos(radians), s = sin(radians);
  const double xs[4] = {l, r, r, l}, ys[4] = {t, t, b, b};
  double x0 = w, y0 = h, x1 = 0, y1 = 0;

  for (int i = 0; i < 4; i++) {
    const double dx = xs[i] - xc, dy = ys[i] - yc;
    const double x = xc + dx * c + dy * s, y = yc + dy * c - dx * s;
    x0 = MIN(x0, x);
    y0 = MIN(y0, y);
    x1 = MAX(x1, x);
    y1 = MAX(y1, y);
  }
  x0 = CLAMP(x0, 0, w);
  x1 = CLAMP(x1, x0, w);
  y0 = CLAMP(y0, 0, h);
  y1 = CLAMP(y1, y0, h);
  out->x0 = (uint16_t)lround(x0 * HK_BOX_UNITS / w);
  out->x1 = (uint16_t)lround(x1 * HK_BOX_UNITS / w);
  out->y0 = (uint16_t)lround(y0 * HK_BOX_UNITS / h);
  out->y1 = (uint16_t)lround(y1 * HK_BOX_UNITS / h);
}

/* Whether s is nothing but white space. */
static bool
hk_ocr_blank(const char *s)
{
  for (; *s; s = g_utf8_next_char(s))
    if (!g_unichar_isspace(g_utf8_get_char(s)))
      return false;
  return true;
}

/* The box of each symbol Tesseract read, aligned with joined (the text
 * stored: Tesseract's symbols are its text's characters, less the spaces
 * hk_ocr_join took out). \return the boxes (HkBox), or NULL: none read,
 * more than HK_BOXES_PAGE_MAX, or a symbol not where the text has it (the
 * page then has no boxes rather than wrong ones). */
static GArray *
hk_ocr_boxes(const char *joined, int w, int h, float radians)
{
  GArray *boxes = g_array_new(FALSE, FALSE, sizeof(HkBox));
  TessResultIterator *ri = NULL;
  TessPageIterator *pi;
  const char *at = joined;
  uint32_t cp = 0;
  bool ok = true;

  if (!hk_tess.boxes || w <= 0 || h <= 0 || !(ri = hk_tess.get_iterator(hk_tess.api)))
    goto out;
  pi = hk_tess.page_iterator(ri);
  do {
    char *sym = hk_tess.iter_text(ri, RIL_SYMBOL);
    int l, t, r, b;
    size_t n;
    HkBox box = {0};
    if (!sym)
      continue;
    n = strlen(sym);
    /* A symbol of white space (Tesseract reads some on a ruled page): the
     * text's white space has no boxes. */
    if (hk_ocr_blank(sym)) {
      hk_tess.delete_text(sym);
      continue;
    }
    while (*at && g_unichar_isspace(g_utf8_get_char(at))) {
      at = g_utf8_next_char(at);
      cp++;
    }
    if (n == 0 || strncmp(at, sym, n) != 0 || !g_utf8_validate(sym, (gssize)n, NULL) ||
        boxes->len >= HK_BOXES_PAGE_MAX || !hk_tess.bounding_box(pi, RIL_SYMBOL, &l, &t, &r, &b))
      ok = false;
    if (ok) {
      box.start = cp;
      box.len = (uint16_t)MIN(g_utf8_strlen(sym, (gssize)n), UINT16_MAX);
      hk_ocr_unturn(l, t, r, b, w, h, radians, &box);
      g_array_append_val(boxes, box);
      cp += (uint32_t)g_utf8_strlen(sym, (gssize)n);
      at += n;
    }
    hk_tess.delete_text(sym);
  } while (ok && hk_tess.iter_next(ri, RIL_SYMBOL));
out:
  if (ri)
    hk_tess.iter_delete(ri);
  if (!ok || boxes->len == 0) {
    g_array_unref(boxes);
    boxes = NULL;
  }
  return boxes;
}

char *
hk_ocr_gray(const unsigned char *gray, int w, int h, int stride, uint32_t *confidence,
            GArray **boxes)
{
  char *text, *joined;
  PIX *pix;
  float radians = 0;
  int conf;

  *confidence = 0;
  if (boxes)
    *boxes = NULL;
  if (!hk_tess.ready)
    return g_strdup("");
  pix = hk_ocr_deskew(gray, w, h, stride, &radians);
  /* Tesseract copies the Pix: ours can go at once. */
  if (pix) {
    hk_tess.set_image2(hk_tess.api, pix);
    hk_lept.destroy(&pix);
  } else {
    hk_tess.set_image(hk_tess.api, gray, w, h, 1, stride);
  }
  text = hk_tess.get_text(hk_tess.api);
  conf = hk_tess.mean_conf(hk_tess.api);
  joined = hk_ocr_join(text ? text : "");
  *confidence = (uint32_t)CLAMP(conf, 0, 100) * 100;
  /* The page recognised by get_text is the one iterated: before clear. */
  if (boxes)
    *boxes = hk_ocr_boxes(joined, w, h, radians);
  if (text)
    hk_tess.delete_text(text);
  hk_tess.clear(hk_tess.api);
  return joined;
}

int
hk_ocr_jpeg(const void *data, size_t len, GBytes **list, GBytes **boxes, char **reason)
{
  tjhandle tj = NULL;
  unsigned char *gray = NULL;
  char *joined = NULL;
  uint32_t conf = 0;
  int w = 0, h = 0, subsamp = -1, cs = -1, ret = -HK_EINVAL;
  GArray *found = NULL;
  HkTextList l;
  HkBoxList bl;

  *list = NULL;
  *boxes = NULL;
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
  joined = hk_ocr_gray(gray, w, h, w, &conf, &found);
  hk_text_list_begin(&l);
  hk_text_list_add(&l, HK_TEXT_SOURCE_OCR, conf, joined, strlen(joined));
  /* Boxes belong to the text as stored: a page cut at a limit has none. */
  hk_box_list_begin(&bl);
  if (found && l.bytes == strlen(joined))
    hk_box_list_add(&bl, 1, (const HkBox *)(void *)found->data, found->len);
  *boxes = hk_box_list_end(&bl);
  *list = hk_text_list_end(&l);
  ret = 0;
out:
  if (found)
    g_array_unref(found);
  g_free(joined);
  g_free(gray);
  if (tj)
    tjDestroy(tj);
  return ret;
}

/* GET /api/v1/documents/{id}/highlights?page=N&q=TEXT (docs/api.md,
 * "Highlights"): where q's matches are on one OCR page of a document, as
 * rectangles from the page's OCR boxes (common/hk-boxes.h), so that a
 * viewer opening a search hit on a scan can mark the words. The matches
 * are found in the page's stored text as the search finds them (the
 * index's normaliser, hk_fts_match_ranges). A page with no boxes (a PDF
 * text layer, a page not OCRed, a store from before boxes) answers an
 * empty list: the viewer then has nothing to draw. Read like the
 * document itself: the viewer roles, and an audit record naming the
 * document, its patient and the text looked for. */
#include "hk-server.h"

#include "hk-error.h"
#include "hk-fts.h"
#include "hk-json-writer.h"
#include "hk-log.h"

#include <string.h>

/* What the answer needs of the store, copied out of the transaction. */
typedef struct {
  uint32_t version;
  char *patient_id; /* g_free */
  char *text;       /* the page's stored text, g_free; NULL if none */
  size_t len;
  GArray *boxes; /* HkBox */
} HkHighlightPage;

static void
hk_highlight_page_clear(HkHighlightPage *p)
{
  g_free(p->patient_id);
  g_free(p->text);
  if (p->boxes)
    g_array_unref(p->boxes);
}

/* The version (0: the current one), its patient, and the page's text and
 * boxes. \return 0 (a page without text or boxes has none), -HK_ENOTFOUND
 * (no such document or version), or the store's error. */
static int
hk_highlight_read(hk_txn *t, const char *id, uint32_t version, uint32_t page, HkHighlightPage *out)
{
  HkVersion *v = NULL;
  HkRow row;
  HkTextPage tp;
  HkBoxes b;
  int ret = version == 0 ? hk_store_get_row(t, id, &row) : -HK_ENOTFOUND;

  out->boxes = g_array_new(FALSE, FALSE, sizeof(HkBox));
  if (ret == 0) {
    out->version = row.version;
    out->patient_id = g_strndup(row.patient_id.p, row.patient_id.len);
  } else if (ret == -HK_ENOTFOUND) {
    ret = hk_store_get_version(t, id, version, &v);
    if (ret == 0) {
      out->version = v->version;
      out->patient_id = g_strdup(v->patient_id);
    }
  }
  if (ret)
    goto out;
  ret = hk_store_get_text_boxes(t, id, out->version, page, &b);
  if (ret == 0 && b.n > 0)
    ret = hk_store_get_text_page(t, id, out->version, page, &tp);
  if (ret == 0 && b.n > 0) {
    out->text = g_strndup(tp.text.p, tp.text.len);
    out->len = tp.text.len;
    g_array_set_size(out->boxes, b.n);
    for (uint32_t i = 0; i < b.n; i++)
      hk_boxes_get(&b, i, &g_array_index(out->boxes, HkBox, i));
  }
out:
  hk_version_free(v);
  return ret;
}

/* Whether box b continues rectangle r on its line: their heights overlap
 * by half the smaller one. */
static bool
hk_highlight_same_line(const HkBox *r, const HkBox *b)
{
  int over = MIN(r->y1, b->y1) - MAX(r->y0, b->y0);
  int h = MIN(r->y1 - r->y0, b->y1 - b->y0);

  return over * 2 >= h;
}

/* The rectangles of the boxes under each match (ranges: [start, length]
 * code points, in order): a match's boxes on one line merge into one
 * rectangle, a match across lines gives one a line. */
static GArray *
hk_highlight_rects(const GArray *boxes, const GArray *ranges)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(HkBox));
  guint first = 0;

  for (guint m = 0; m < ranges->len; m++) {
    const unsigned *rg = (const unsigned *)(const void *)ranges->data + 2 * m;
    uint64_t s = rg[0], e = (uint64_t)rg[0] + rg[1];
    bool open = false;
    HkBox cur = {0};
    /* Ranges and boxes are both in text order: one walk. */
    while (first < boxes->len &&
           g_array_index(boxes, HkBox, first).start + g_array_index(boxes, HkBox, first).len <= s)
      first++;
    for (guint i = first; i < boxes->len && g_array_index(boxes, HkBox, i).start < e; i++) {
      const HkBox *b = &g_array_index(boxes, HkBox, i);
      if (open && hk_highlight_same_line(&cur, b)) {
        cur.x0 = MIN(cur.x0, b->x0);
        cur.y0 = MIN(cur.y0, b->y0);
        cur.x1 = MAX(cur.x1, b->x1);
        cur.y1 = MAX(cur.y1, b->y1);
        continue;
      }
      if (open)
        g_array_append_val(out, cur);
      cur = *b;
      open = true;
    }
    if (open)
      g_array_append_val(out, cur);
  }
  return out;
}

/* q parsed as the search parses it, or a 400 naming the problem (a NUL,
 * %00, would end the decoded text early: the raw query is checked).
 * \return 0, or -HK_EINVAL after answering. */
static int
hk_highlight_parse(HkRequest *r, const char *q, HkFtsQuery **out)
{
  const char *raw = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
  char **params = raw ? g_strsplit(raw, "&", -1) : NULL;
  char *message = NULL;
  bool nul = false;
  int ret = 0;

  for (char **p = params; p && *p && !nul; p++)
    if (g_str_has_prefix(*p, "q="))
      nul = strstr(*p, "%00") != NULL;
  if (!q) {
    hk_reply_error(r, 400, "bad_request", "q: the text searched for is required");
    ret = -HK_EINVAL;
  } else if (nul) {
    hk_reply_error(r, 400, "bad_request", "q: control characters are not allowed (a NUL)");
    ret = -HK_EINVAL;
  } else if (hk_fts_query_parse(q, out, &message) < 0) {
    char *m = g_strdup_printf("q: %s", message ? message : "not a valid search text");
    hk_reply_error(r, 400, "bad_request", m);
    g_free(m);
    ret = -HK_EINVAL;
  }
  g_strfreev(params);
  g_free(message);
  return ret;
}

void
hk_route_document_highlights(HkRequest *r)
{
  const char *id = r->seg[1], *q = hk_query(r, "q"), *why = NULL;
  unsigned version = 0, page = 0;
  HkHighlightPage p = {0};
  HkFtsQuery *fq = NULL;
  GArray *ranges = NULL, *rects = NULL;
  hk_txn *t = NULL;
  hk_fts *f = NULL;
  char detail[64];
  int status = 200, ret = -HK_ENOTFOUND;

  if (hk_query_uint(r, "page", 1, HK_TEXT_PAGES_MAX, 0, &page) < 0 || page == 0) {
    hk_reply_error(r, 400, "bad_request", "page: a number from 1 to 10000 is required");
    goto out;
  }
  if (hk_query_uint(r, "version", 1, UINT32_MAX, 0, &version) < 0) {
    hk_reply_error(r, 400, "bad_request", "version: a number from 1");
    goto out;
  }
  if (hk_highlight_parse(r, q, &fq) < 0)
    goto out;
  if (hk_doc_id_valid(id)) {
    ret = hk_txn_begin(r->srv->store, false, &t);
    if (ret < 0) {
      hk_error("store: cannot begin a read transaction: %s", hk_strerror(ret));
      hk_reply_error(r, 503, "store_unavailable", "the archive cannot be read right now");
      goto out;
    }
    ret = hk_highlight_read(t, id, version, page, &p);
    hk_txn_abort(t);
  }
  if (ret < 0 && ret != -HK_ENOTFOUND) {
    hk_error("highlights: store read failed: %s", hk_strerror(ret));
    hk_reply_error(r, 500, "internal", "the archive could not be read");
    goto out;
  }
  /* Only a page with boxes needs the index's normaliser. */
  if (ret == 0 && p.boxes->len > 0) {
    ret = hk_worker_fts(r->req, &f, &why);
    if (ret == 0)
      ret = hk_fts_match_ranges(f, fq, p.text, p.len, &ranges);
    if (ret < 0 && f) {
      why = "the search index could not be read (hikae-admin reindex rebuilds it)";
      hk_worker_fts_failed(r->req, ret);
    }
    if (ret < 0)
      status = 503;
  }
  if (ret == 0)
    rects = ranges ? hk_highlight_rects(p.boxes, ranges) : g_array_new(FALSE, FALSE, sizeof(HkBox));
  {
    HkAuditEvent e = {.action = "document.highlights",
                      .document = id,
                      .patient = p.patient_id,
                      .version = p.version ? p.version : version,
                      .outcome = ret == 0        ? "success"
                                 : status == 503 ? "failure"
                                                 : "not_found",
                      .status = ret == 0        ? 200
                                : status == 503 ? 503
                                                : 404,
                      .query = q,
                      .detail = detail};
    g_snprintf(detail, sizeof detail, "page %u, %u boxes", page, rects ? rects->len : 0);
    if (hk_request_audit(r, &e) < 0)
      goto out;
  }
  if (status == 503) {
    hk_reply_error(r, 503, "search_unavailable", why ? why : "the search index cannot be read");
    goto out;
  }
  if (ret < 0) {
    hk_reply_error(r, 404, "not_found", "no such document or version");
    goto out;
  }
  {
    GString *g = g_string_sized_new(64 + 32 * rects->len);
    hk_jw_begin(g, NULL, '{');
    hk_jw_int(g, "page", page);
    hk_jw_int(g, "version", p.version);
    hk_jw_int(g, "units", HK_BOX_UNITS);
    hk_jw_begin(g, "boxes", '[');
    for (guint i = 0; i < rects->len; i++) {
      const HkBox *b = &g_array_index(rects, HkBox, i);
      hk_jw_begin(g, NULL, '[');
      hk_jw_int(g, NULL, b->x0);
      hk_jw_int(g, NULL, b->y0);
      hk_jw_int(g, NULL, b->x1);
      hk_jw_int(g, NULL, b->y1);
      hk_jw_end(g, ']');
    }
    hk_jw_end(g, ']');
    hk_jw_end(g, '}');
    hk_reply_jw(r, 200, g);
  }
out:
  if (rects)
    g_array_unref(rects);
  if (ranges)
    g_array_unref(ranges);
  hk_fts_query_free(fq);
  hk_highlight_page_clear(&p);
}

#!/usr/bin/python3
"""Search highlights on scans (issue 14, item 4): GET
/api/v1/documents/{id}/highlights?page=N&q=TEXT.

Scans of known text (hikae-samples --ocr-scans, tilted 1-2 degrees) read by
the real hikae-indexer with OCR (Tesseract, jpn), which stores each page's
character boxes; the real hikae-server over TLS on loopback (hk_it.py):
- a term on a scan answers rectangles in 0..65535 of the page, one per
  line of each match; a term not on the page, a page without boxes (a
  PDF's text layer, a page past the document's) answer an empty list;
- the index's normalisation applies (half-width katakana finds the
  full-width word), as the search's does;
- bad q, bad page, unknown document: 400 / 404 naming the problem;
- the viewer roles only (an auditor is refused, audited as access), and
  each answer is audited as document.highlights with the document, the
  patient and the text looked for.
Exit 0 pass, 1 fail.
"""
import json, os, re, sys, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hk_it as hk  # noqa: E402

check, run = hk.check, hk.run
SAMPLES = os.path.join(hk.BUILD, "samples", "hikae-samples")
PW = dict(hk.PW, carol="carol long password 333")


def jpeg_size(data):
    """(width, height, components) of a baseline or progressive JPEG."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            h = int.from_bytes(data[i + 5:i + 7], "big")
            w = int.from_bytes(data[i + 7:i + 9], "big")
            return w, h, data[i + 9]
        i += 2 + length
    raise AssertionError("no SOF in the JPEG")


def scan_pdf(jpeg):
    """A one-page A4 PDF whose page is the scan and nothing else (no text
    layer: the indexer OCRs the page as drawn)."""
    w, h, comps = jpeg_size(jpeg)
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s "
            b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
            % (w, h, b"DeviceGray" if comps == 1 else b"DeviceRGB", len(jpeg), jpeg),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)]
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def main():
    env = hk.Env("hk-highlights-it-")
    try:
        out = os.path.join(env.tmp, "samples")
        store = os.path.join(env.tmp, "store")
        # Seed 12 puts ペニシリン on two of the three scans (test-ocr-scans.sh).
        run(SAMPLES, "--out", out, "--patients", "3", "--docs-per-patient", "4", "--seed", "12",
            "--jobs", "1", "--ocr-scans", "3")
        run(hk.INDEXER, "--store", store, "--drop", os.path.join(out, "drop"), "--once", "--ocr",
            "--parser-timeout", "300", "--parser-cpu", "300", timeout=600)
        # The first scan holding the word, again as a PDF page without a
        # text layer: OCRed from the page as poppler draws it.
        with open(os.path.join(out, "manifest.jsonl")) as f:
            first = next(m for m in map(json.loads, filter(str.strip, f))
                         if m.get("record") == "document" and "ペニシリン" in (m.get("text") or ""))
        with open(os.path.join(out, "drop", first["path"]), "rb") as f:
            jpeg = f.read()
        with open(os.path.join(out, "drop", first["path"]) + ".meta.json") as f:
            side = json.load(f)
        drop2 = os.path.join(env.tmp, "drop2")
        side.update(source_id="HL:PDFSCAN", content_type="application/pdf", title="scanned PDF")
        hk.doc(drop2, "scan.pdf", side, scan_pdf(jpeg))
        run(hk.INDEXER, "--store", store, "--drop", drop2, "--once", "--ocr",
            "--parser-timeout", "300", "--parser-cpu", "300", timeout=600)
        run(hk.ADMIN, "verify", "--store", store)
        for user, role in (("audrey", "auditor"), ("carol", "clinician_search")):
            run(hk.ADMIN, "user", "add", user, "--role", role, "--state", env.state,
                stdin=PW[user] + "\n")
        with open(os.path.join(out, "manifest.jsonl")) as f:
            manifest = [json.loads(l) for l in f if l.strip()]
        scans = [m for m in manifest if m.get("record") == "document" and m.get("text")]
        ls = [json.loads(l) for l in run(hk.ADMIN, "ls", "--store", store).stdout.splitlines()]
        ids = {v["source_id"]: v["id"] for v in ls}
        pids = {v["id"]: v["patient_id"] for v in ls}
        with_word = [ids[m["source_id"]] for m in scans if "ペニシリン" in m["text"]]
        without = [ids[m["source_id"]] for m in scans if "ペニシリン" not in m["text"]]
        check(with_word and without, "seed 12: scans with and without the word")
        others = [m for m in manifest if m.get("record") == "document" and not m.get("text")
                  and m.get("content_type") == "application/pdf"]
        check(others, "a PDF among the other documents")
        pdf_id = ids[others[0]["source_id"]]

        env.start_server(store)
        api = hk.Api(env.port, os.path.join(env.pki, "ca.pem"))

        def hl(doc, q, page=1, token=None, extra=""):
            path = "/api/v1/documents/%s/highlights?page=%s&q=%s%s" % (
                doc, page, urllib.parse.quote(q), extra)
            return api.req("GET", path, token=token or env.token)

        for doc in with_word:
            s, _, js = hl(doc, "ペニシリン")
            check(s == 200, "highlights %s: %d %s" % (doc, s, js))
            check(js["page"] == 1 and js["version"] == 1 and js["units"] == 65535,
                  "answer: %s" % js)
            boxes = js["boxes"]
            check(len(boxes) >= 1, "a scan holding the word has a box: %s" % js)
            for b in boxes:
                check(len(b) == 4 and 0 <= b[0] < b[2] <= 65535 and 0 <= b[1] < b[3] <= 65535,
                      "a rectangle in the page: %s" % b)
                # A line of A4 text: wider than tall, and a few lines high.
                check(b[2] - b[0] > b[3] - b[1] and b[3] - b[1] < 65535 // 20,
                      "one word on one line: %s" % b)
            # Normalised as the search: half-width katakana finds it too.
            s, _, js2 = hl(doc, "ﾍﾟﾆｼﾘﾝ")
            check(s == 200 and js2["boxes"] == boxes, "half-width: %s vs %s" % (js2, boxes))
            # Two terms: both marked, the word's rectangles among them.
            s, _, js3 = hl(doc, "ペニシリン 患者")
            check(s == 200 and all(b in js3["boxes"] for b in boxes), "two terms: %s" % js3)
        # The same scan as a PDF page without text: its boxes are where the
        # JPEG's are (the page is the image, stretched to A4: the same
        # fractions): on the same line (middles within a hundredth of the
        # page's height), over the same word (Tesseract may start a box a
        # character early or late: half the narrower one in common).
        s, _, js = hl(ids["HL:PDFSCAN"], "ペニシリン")
        s2, _, js2 = hl(ids[first["source_id"]], "ペニシリン")
        check(s == 200 and s2 == 200 and js["boxes"] and js2["boxes"],
              "the scanned PDF page has boxes: %s / %s" % (js, js2))
        for b in js["boxes"]:
            check(any(abs((b[1] + b[3]) - (c[1] + c[3])) / 2 < 65535 / 100 and
                      min(b[2], c[2]) - max(b[0], c[0]) >= min(b[2] - b[0], c[2] - c[0]) / 2
                      for c in js2["boxes"]),
                  "PDF box %s is not where the JPEG's are: %s" % (b, js2["boxes"]))
        print("ok   a word on a scan answers its rectangles, normalised as the search")

        for doc in without:
            s, _, js = hl(doc, "ペニシリン")
            check(s == 200 and js["boxes"] == [], "no word, no box: %s" % js)
        s, _, js = hl(with_word[0], "ペニシリン", page=2)
        check(s == 200 and js["boxes"] == [], "a page the scan does not have: %s" % js)
        s, _, js = hl(pdf_id, "the")
        check(s == 200 and js["boxes"] == [], "a PDF's text layer has no boxes: %s" % js)
        print("ok   no match, no such page, no boxes: an empty list")

        for q, page, extra, code, want in (
                ("", 1, "", 400, "q:"), ("a" * 65, 1, "", 400, "q:"), ("x", 0, "", 400, "page"),
                ("x", "abc", "", 400, "page"), ("x", 10001, "", 400, "page"),
                ("x", 1, "&version=0", 400, "version")):
            s, _, js = hl(with_word[0], q, page=page, extra=extra)
            check(s == code and js["error"] == "bad_request" and
                  want in js["message"], "%r page %r: %d %s" % (q, page, s, js))
        s, _, js = api.req("GET", "/api/v1/documents/%s/highlights?page=1" % with_word[0],
                           token=env.token)
        check(s == 400 and "q" in js["message"], "no q: %d %s" % (s, js))
        s, _, js = api.req("GET", "/api/v1/documents/%s/highlights?page=1&q=a%%00b" %
                           with_word[0], token=env.token)
        check(s == 400 and "NUL" in js["message"], "a NUL: %d %s" % (s, js))
        s, _, js = hl("0123456789abcdef", "ペニシリン")
        check(s == 404 and js["error"] == "not_found", "unknown document: %d" % s)
        s, _, js = hl(with_word[0], "ペニシリン", extra="&version=9")
        check(s == 404, "unknown version: %d" % s)
        print("ok   bad q, page or version: 400; unknown document or version: 404")

        def token(user):
            s, _, js = api.login(user, PW[user])
            check(s == 201, "login %s: %d" % (user, s))
            return js["token"]

        s, _, js = hl(with_word[0], "ペニシリン", token=token("audrey"))
        check(s == 403, "an auditor may not: %d" % s)
        s, _, js = hl(with_word[0], "ペニシリン", token=token("carol"))
        check(s == 200 and js["boxes"], "clinician_search may: %d %s" % (s, js))
        s, _, _ = api.req("GET", "/api/v1/documents/%s/highlights?page=1&q=x" % with_word[0])
        check(s == 401, "no session: %d" % s)
        with open(os.path.join(env.state, "audit.log")) as f:
            recs = [json.loads(l) for l in f if l.strip()]
        mine = [r for r in recs if r["action"] == "document.highlights"]
        ok = [r for r in mine if r["outcome"] == "success" and r["document"] == with_word[0]
              and r.get("query") == "ペニシリン" and r["user"] == "alice"]
        check(ok and all(r["patient"] == pids[with_word[0]] and r["version"] == 1
                         and r["status"] == 200
                         and re.fullmatch(r"page [12], \d+ boxes", r["detail"]) for r in ok)
              and any(r["detail"] != "page 1, 0 boxes" for r in ok), "audited with document, patient, text: %s" % ok)
        check(any(r["outcome"] == "not_found" and r["document"] == "0123456789abcdef"
                  for r in mine), "a miss is audited: %s" % mine[-3:])
        check(any(r["action"] == "access" and r["user"] == "audrey" and r["status"] == 403
                  for r in recs), "the refusal is audited")
        check(any(r["user"] == "carol" for r in mine), "carol's read is audited")
        print("ok   viewer roles only; every answer audited with the text looked for")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        try:
            print(hk.log_tail(os.path.join(env.tmp, "server.log")))
        except OSError:
            pass
        return 1
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())

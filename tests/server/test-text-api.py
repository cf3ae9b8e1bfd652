#!/usr/bin/python3
"""Text extraction through the real programs (issue 14, item 1).

A real store built by the real hikae-indexer from a drop folder, the real
hikae-server over TLS on loopback (helpers of hk_it.py):
- GET /documents/{id} carries "text": done with its source and page count
  for a plain-text note and a 3-page PDF whose middle page has no text
  (stored empty), and for a JPEG read by OCR;
- a PDF that passed its checks and whose text layer then cannot be read
  (HK_TEST_PARSER_HOOK=notext in the confined worker) is served, its status
  failed with the reason, after 3 attempts;
- hikae-admin stats counts the texts, verify passes, and verify names a
  page record damaged on disk while the document is still served.
Exit 0 pass, 1 fail.
"""
import json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hk_it as hk  # noqa: E402

check, run, doc = hk.check, hk.run, hk.doc
CORPUS = os.environ["HK_CORPUS_DIR"]
PATIENT = "0000000042"


def pdf(pages):
    """A PDF of len(pages) pages in Helvetica (a standard font: nothing to
    embed); a page whose text is None has a filled box and no text."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", None,
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        body = ("BT /F1 14 Tf 50 700 Td (%s) Tj ET" % text) if text else "50 50 200 300 re f"
        objs.append("<< /Length %d >>\nstream\n%s\nendstream" % (len(body), body))
        objs.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                    "/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objs))
        kids.append("%d 0 R" % len(objs))
    objs[1] = "<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join(kids), len(kids))
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += ("%d 0 obj\n%s\nendobj\n" % (i + 1, o)).encode()
    xref = len(out)
    out += ("xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)).encode()
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += ("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, xref)).encode()
    return out


def meta(sid, ct, title):
    return {"patient_id": PATIENT, "source_id": sid, "type": "progress_note", "title": title,
            "created_at": "2026-11-20T14:03:00+09:00", "content_type": ct,
            "patient": {"name": "文字 花子", "kana": "モジ ハナコ", "birth_date": "1950-05-04",
                        "sex": "F"}}


def main():
    env = hk.Env("hk-text-it-")
    try:
        store = os.path.join(env.tmp, "store")
        drop = os.path.join(env.tmp, "drop")
        note = "ペニシリンでじんましん。TEXTMARK-\n".encode()
        doc(drop, "note.txt", meta("TX:NOTE", "text/plain", "note"), note)
        doc(drop, "three.pdf", meta("TX:PDF", "application/pdf", "three"),
            pdf(["alpha page one", None, "gamma page three"]))
        with open(os.path.join(CORPUS, "jpeg", "ljt_testorig.jpg"), "rb") as f:
            doc(drop, "scan.jpg", meta("TX:JPG", "image/jpeg", "scan"), f.read())
        run(hk.INDEXER, "--store", store, "--drop", drop, "--once", timeout=300)
        # A PDF that passes its checks, and whose text the worker then does
        # not read: 3 attempts in the one --once run, then failed.
        drop2 = os.path.join(env.tmp, "drop2")
        doc(drop2, "late.pdf", meta("TX:FAIL", "application/pdf", "late"), pdf(["delta"]))
        r = subprocess_run_hooked(store, drop2)
        check(r.stderr.count("test hook: the text layer was not read") == 3,
              "three attempts logged: %s" % r.stderr[-2000:])

        ls = [json.loads(l) for l in run(hk.ADMIN, "ls", "--store", store).stdout.splitlines()]
        ids = {v["source_id"]: v["id"] for v in ls}
        st = json.loads(run(hk.ADMIN, "stats", "--store", store).stdout)
        check((st["texts_done"], st["texts_pending"], st["texts_failed"], st["texts_needs_ocr"])
              == (3, 0, 1, 0), "stats: %s" % st)
        run(hk.ADMIN, "verify", "--store", store)

        env.start_server(store)

        def text_of(sid):
            s, _, body = env.req("GET", "/api/v1/documents/" + ids[sid], token=env.token)
            check(s == 200, "GET %s: %d" % (sid, s))
            return json.loads(body)["text"]

        t = text_of("TX:NOTE")
        check(t == {"status": "done", "source": "text", "pages": 1, "empty_pages": 0,
                    "truncated": False, "attempts": 1, "reason": None}, "note: %s" % t)
        t = text_of("TX:PDF")
        check(t == {"status": "done", "source": "pdf", "pages": 3, "empty_pages": 1,
                    "truncated": False, "attempts": 1, "reason": None}, "pdf: %s" % t)
        # A photograph, not a page of text: OCR reads it, finding little.
        t = text_of("TX:JPG")
        check(t["status"] == "done" and t["pages"] == 1 and t["source"] == "ocr",
              "jpeg: %s" % t)
        t = text_of("TX:FAIL")
        check(t["status"] == "failed" and t["attempts"] == 3 and
              t["reason"] == "test hook: the text layer was not read", "failed: %s" % t)
        # Served regardless: its bytes, and its place on the timeline.
        s, _, body = env.req("GET", "/api/v1/documents/%s/content" % ids["TX:FAIL"],
                             token=env.token)
        check(s == 200 and body.startswith(b"%PDF-"), "the failed PDF is served: %d" % s)
        s, _, body = env.req("GET", "/api/v1/patients/%s/documents" % PATIENT, token=env.token)
        check(s == 200 and len(json.loads(body)["documents"]) == 4, "timeline of four")
        print("ok   text statuses in GET /documents/{id}")

        # Damage the extracted text on disk (the note's bytes too, where the
        # marker also is): verify names the text record as well as the
        # mismatch, and the document is still served.
        p = env.procs.pop()
        env.stop(p)
        data = os.path.join(store, "data.mdb")
        with open(data, "r+b") as f:
            raw = f.read()
            at = raw.find(b"TEXTMARK-")
            check(at >= 0, "marker in data.mdb")
            while at >= 0:
                f.seek(at)
                f.write(b"\xff")
                at = raw.find(b"TEXTMARK-", at + 1)
        r = run(hk.ADMIN, "verify", "--store", store, ok=False)
        check(r.returncode == 1, "verify fails: %d" % r.returncode)
        check("TEXT %s v1 page 1 (page): does not decode" % ids["TX:NOTE"] in r.stdout,
              "verify names the text page: %s" % r.stdout)
        check("MISMATCH %s" % ids["TX:NOTE"] in r.stdout, "and the bytes: %s" % r.stdout)
        env.start_server(store)
        t = text_of("TX:NOTE")
        check(t["status"] == "done", "status still read: %s" % t)
        print("ok   verify names a damaged text page; the document is served")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        for name in ("server",):
            try:
                print(env.log(name)[-3000:])
            except OSError:
                pass
        return 1
    finally:
        env.cleanup()


def subprocess_run_hooked(store, drop):
    """hikae-indexer --once with HK_TEST_PARSER_HOOK=notext for PDFs."""
    e = dict(os.environ, HK_TEST_PARSER_HOOK="notext:application/pdf")
    r = subprocess.run([hk.INDEXER, "--store", store, "--drop", drop, "--once"], env=e,
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "hooked indexer: %d %s" % (r.returncode, r.stderr[-2000:]))
    return r


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The API shows what a replacement did (issue 10, items 2 and 3).

A real store built by the real hikae-indexer from two named drop folders,
the real hikae-server over TLS on loopback (helpers of hk_it.py):
- a document whose sidecar moved it to another patient is on both patients'
  timelines, "moved" {"direction": "to"} on the old one and "from" on the
  new one, and a read under either patient is audited with that patient;
- a document whose new bytes were refused as suspect lists the refusal in
  "refused_versions" and keeps its version 1;
- the same source_id in two named sources is two documents;
- a replaced JPEG's thumbnail is the new version's (read from the row).
Exit 0 pass, 1 fail.
"""
import json, os, re, struct, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hk_it as hk  # noqa: E402

check, run, doc = hk.check, hk.run, hk.doc
TMP = tempfile.mkdtemp(prefix="hk-replace-it-")
PROCS = []


CORPUS = os.environ["HK_CORPUS_DIR"]
JPEG_V1 = os.path.join(CORPUS, "jpeg", "ljt_testorig.jpg")
JPEG_V2 = os.path.join(CORPUS, "jpeg", "jd_jpg-progressive.jpg")


def jpeg_size(data):
    """(width, height) from a JPEG's frame header (SOF0-SOF15 but DHT, JPG,
    DAC)."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    return None


def setup():
    wa, wb = os.path.join(TMP, "wa"), os.path.join(TMP, "wb")
    store, state, pki = (os.path.join(TMP, n) for n in ("store", "state", "pki"))
    pt = {"name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "1950-05-04", "sex": "F"}
    meta = {"patient_id": "PA-1", "source_id": "EHR:MV:1", "type": "progress_note",
            "title": "経過記録", "created_at": "2026-11-20T14:03:00+09:00",
            "content_type": "text/plain", "patient": pt}
    doc(wa, "moved.txt", meta, b"a note filed under the wrong patient\n")
    doc(wa, "refused.txt", dict(meta, source_id="EHR:RF:1", title="refused"), b"good text\n")
    doc(wa, "same.txt", dict(meta, source_id="EHR:SAME", title="from wa"), b"wa's\n")
    doc(wb, "same.txt", dict(meta, source_id="EHR:SAME", title="from wb"), b"wb's\n")
    img = dict(meta, source_id="EHR:IMG:1", title="scan", content_type="image/jpeg")
    doc(wa, "scan.jpg", img, open(JPEG_V1, "rb").read())
    args = [hk.INDEXER, "--store", store, "--drop", "wa=" + wa, "--drop", "wb=" + wb, "--once"]
    run(*args)
    doc(wa, "moved.txt", dict(meta, patient_id="PB-2", patient=dict(pt, name="鈴木 次郎")),
        b"a note filed under the wrong patient\n")
    with open(os.path.join(wa, "refused.txt"), "wb") as f:
        f.write(bytes(range(128, 256)) * 8)  # not UTF-8: no longer text
    doc(wa, "scan.jpg", img, open(JPEG_V2, "rb").read())
    run(*args)
    run(hk.MKCERT, pki)
    for user, role in (("alice", "viewer"), ("audrey", "auditor")):
        run(hk.ADMIN, "user", "add", user, "--role", role, "--state", state,
            stdin=hk.PW[user] + "\n")
    p, api = hk.start_server(store, state, pki, os.path.join(TMP, "server.log"),
                             "--request-timeout", "2")
    PROCS.append(p)
    return api, store


def main():
    try:
        api, store = setup()
        s, _, js = api.login("alice")
        t = js["token"]
        s, _, a = api.req("GET", "/api/v1/patients/PA-1/documents", token=t)
        check(s == 200, "old patient's timeline")
        mv = [d for d in a["documents"] if d["source_id"] == "EHR:MV:1"]
        check(len(mv) == 1, "the moved document stays on the old patient's timeline")
        m = mv[0]["moved"]
        check(m and m["direction"] == "to" and m["patient_id"] == "PB-2" and m["at"],
              "marked moved to PB-2: %s" % (m,))
        check(mv[0]["patient_id"] == "PB-2" and mv[0]["version"] == 2, "its current version is PB-2's")
        check([v["patient_id"] for v in mv[0]["versions"]] == ["PA-1", "PB-2"], "each version's patient")
        doc_id = mv[0]["id"]
        s, _, b = api.req("GET", "/api/v1/patients/PB-2/documents", token=t)
        check(s == 200 and [d["id"] for d in b["documents"]] == [doc_id], "on the new patient's timeline")
        m = b["documents"][0]["moved"]
        check(m and m["direction"] == "from" and m["patient_id"] == "PA-1", "marked moved from PA-1")
        s, _, d = api.req("GET", "/api/v1/documents/%s?patient=PA-1" % doc_id, token=t)
        check(s == 200 and d["moved"]["direction"] == "to", "read under the old patient")
        s, _, d = api.req("GET", "/api/v1/documents/%s" % doc_id, token=t)
        check(s == 200 and d["moved"]["direction"] == "from", "read under the current patient")
        s, _, _ = api.req("GET", "/api/v1/documents/%s?patient=bad!" % doc_id, token=t)
        check(s == 400, "a malformed ?patient= is refused")
        # Suspect bytes refused: version 1 stays, the refusal is listed.
        rf = [d for d in a["documents"] if d["source_id"] == "EHR:RF:1"][0]
        check(rf["version"] == 1 and len(rf["refused_versions"]) == 1, "refused newer version listed")
        r = rf["refused_versions"][0]
        check(r["at"] and r["sha256"] and "no longer parse" in r["reason"], "refusal: %s" % (r,))
        check(all(d["refused_versions"] == [] for d in a["documents"] if d["id"] != rf["id"]),
              "no refusal on the others")
        # Two sources, one source_id: two documents.
        same = sorted((d["source_name"], d["title"]) for d in a["documents"]
                      if d["source_id"] == "EHR:SAME")
        check(same == [("wa", "from wa"), ("wb", "from wb")], "two sources, two documents: %s" % same)
        # A timeline is written from the rows (docs/store.md, "Rows"), a
        # document read from its version records: each timeline entry is
        # the very object the read gives under that patient, key for key,
        # but for the read's "text" (its extraction status, docs/api.md),
        # which the timeline leaves out so as to read nothing but rows.
        for pid, tl in (("PA-1", a), ("PB-2", b)):
            for entry in tl["documents"]:
                s, _, one = api.req("GET", "/api/v1/documents/%s?patient=%s" % (entry["id"], pid),
                                    token=t)
                check(s == 200 and one.pop("text", None) is not None and "text" not in entry,
                      "the read has \"text\", the timeline entry not: %s" % entry["id"])
                check(s == 200 and json.dumps(one) == json.dumps(entry),
                      "timeline entry of %s under %s differs from its read:\n%s\n%s"
                      % (entry["id"], pid, entry, one))
        # Content: the current version is read from the row, a given version
        # from its record; both must be the version the timeline shows.
        for entry, body in ((mv[0], b"a note filed under the wrong patient\n"),
                            (rf, b"good text\n")):
            s, h, got = api.req("GET", "/api/v1/documents/%s/content" % entry["id"], token=t,
                                raw=True)
            check(s == 200 and got == body and h.get("x-hikae-version") == str(entry["version"])
                  and h.get("etag") == '"%s"' % entry["sha256"]
                  and h.get("content-type", "").startswith("text/plain"),
                  "current content of %s: %d %s %r" % (entry["source_id"], s, h, got[:40]))
        s, h, got = api.req("GET", "/api/v1/documents/%s/content?version=1" % doc_id, token=t,
                            raw=True)
        check(s == 200 and h.get("x-hikae-version") == "1"
              and h.get("etag") == '"%s"' % mv[0]["versions"][0]["sha256"], "version 1's content")
        # A replaced JPEG: the thumbnail is the current version's, as the
        # content is (both are read from the row).
        scan = [d for d in a["documents"] if d["source_id"] == "EHR:IMG:1"][0]
        check(scan["version"] == 2, "the scan was replaced: %s" % scan)
        s, h, th = api.req("GET", "/api/v1/documents/%s/thumbnail" % scan["id"], token=t, raw=True)
        w1, h1 = jpeg_size(open(JPEG_V1, "rb").read())
        w2, h2 = jpeg_size(open(JPEG_V2, "rb").read())
        tw, tht = jpeg_size(th) if s == 200 else (0, 0)
        check(s == 200 and h.get("content-type") == "image/jpeg" and max(tw, tht) <= 256,
              "thumbnail: %d %s %s" % (s, h.get("content-type"), (tw, tht)))
        # Its shape is version 2's, not version 1's.
        check(abs(tw / tht - w2 / h2) < 0.05 and abs(tw / tht - w1 / h1) > 0.05,
              "thumbnail %dx%d is version 2's (%dx%d), not version 1's (%dx%d)"
              % (tw, tht, w2, h2, w1, h1))
        s, _, _ = api.req("GET", "/api/v1/documents/%s/thumbnail" % mv[0]["id"], token=t, raw=True)
        check(s == 404, "a text document has no thumbnail")
        # The audit names the patient each read was shown under.
        s, _, js = api.login("audrey")
        s, _, au = api.req("GET", "/api/v1/audit?user=alice", token=js["token"])
        reads = [(r.get("patient"), r.get("detail")) for r in au["records"]
                 if r["action"] == "document.read" and r.get("document") == doc_id]
        check(("PA-1", "moved to patient PB-2") in reads, "read under PA-1 audited: %s" % reads)
        check(("PB-2", "moved from patient PA-1") in reads, "read under PB-2 audited: %s" % reads)
        contents = [(r.get("patient"), r.get("version")) for r in au["records"]
                    if r["action"] == "document.content" and r.get("document") == doc_id]
        check(contents == [("PB-2", 2), ("PA-1", 1)], "content reads audited: %s" % contents)
        thumbs = [(r.get("patient"), r.get("version"), r.get("status")) for r in au["records"]
                  if r["action"] == "document.thumbnail"]
        check(sorted(thumbs) == [("PA-1", 2, 200), ("PB-2", 2, 404)],
              "thumbnail reads audited with the current version: %s" % thumbs)
        lists = {r.get("patient") for r in au["records"] if r["action"] == "document.list"}
        check({"PA-1", "PB-2"} <= lists, "both timelines audited")
        r = run(hk.ADMIN, "verify", "--store", store)
        # A word match: "0 mismatches" is also a substring of "10 mismatches".
        check(re.search(r"(?<![0-9])0 mismatches", r.stdout) is not None, "verify: %s" % r.stdout)
        print("ok   moved, refused and namespaced documents in the API and the audit")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        return 1
    finally:
        hk.cleanup(TMP, PROCS)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Full-text search over the API (issue 14, item 3).

A real store built by the real hikae-indexer from a drop folder (which
also builds the Groonga index beside it), the real hikae-server over TLS
on loopback (helpers of hk_it.py):
- GET /patients/{id}/documents?q= keeps the documents whose current
  version's text holds q, with "matches" (page, snippet, marks) and
  "unsearched"; type, from, to, limit and cursor still apply;
- 1- and 2-character terms; hiragana, katakana and half-width forms;
- operators are literal (OR, *, ", (, column:x...): never a 500;
- a replaced version's old text is not a hit;
- bad queries answer 400 naming the problem;
- GET /api/v1/search: clinician_search only (viewer and auditor 403,
  audited), results grouped by patient, one audit record per patient;
- no index: search answers 503 search_unavailable, everything else 200;
  hikae-admin reindex brings search back, with the same answers.
Exit 0 pass, 1 fail.
"""
import json, os, shutil, sys, time, unicodedata, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hk_it as hk  # noqa: E402

check, run, doc = hk.check, hk.run, hk.doc
P1, P2, P3 = "0000000101", "0000000202", "0000000303"
PEOPLE = {
    P1: {"name": "検索 一郎", "kana": "ケンサク イチロウ", "birth_date": "1950-05-04", "sex": "M"},
    P2: {"name": "検索 二子", "kana": "ケンサク ツギコ", "birth_date": "1961-02-03", "sex": "F"},
    P3: {"name": "無関 三郎", "kana": "ムカン サブロウ", "birth_date": "1970-07-07", "sex": "M"},
}
PW = dict(hk.PW, carol="carol long password 333")
# Literal operator characters: each must be found as text, never parsed.
OPS_TEXT = 'operators: OR * " ( ) column:x @ ~ + - \\ end'


def note(drop, name, pid, sid, text, created, typ="progress_note", title=None):
    doc(drop, name, {"patient_id": pid, "source_id": sid, "type": typ,
                     "title": title or sid, "created_at": created,
                     "content_type": "text/plain", "patient": PEOPLE[pid]},
        text.encode())


def fold(s):
    """What the index treats as equal: NFKC, hiragana as katakana, case."""
    s = unicodedata.normalize("NFKC", s).lower()
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in s)


class T:
    def __init__(self):
        self.env = hk.Env("hk-search-it-")
        self.tmp = self.env.tmp
        self.store = os.path.join(self.tmp, "store")
        self.drop = os.path.join(self.tmp, "drop")
        self.api = None
        self.tokens = {}

    def index(self):
        """The indexer ingests, extracts, and takes the texts into the
        search index (building it when there is none)."""
        run(hk.INDEXER, "--store", self.store, "--drop", self.drop, "--once", timeout=300)

    def reindex(self):
        run(hk.ADMIN, "reindex", "--store", self.store, timeout=300)

    def build(self):
        d = self.drop
        note(d, "a.txt", P1, "S:A", "ペニシリンでじんましん。造影剤は問題なし。", "2026-11-20T10:00:00+09:00")
        note(d, "b.txt", P1, "S:B", "肺炎の疑い。胸部X線で浸潤影。", "2026-11-18T10:00:00+09:00",
             typ="imaging_report")
        note(d, "c.txt", P1, "S:C", "癌の既往なし。", "2026-11-10T10:00:00+09:00")
        note(d, "d.txt", P1, "S:D", "ﾍﾟﾆｼﾘﾝ 再確認。", "2026-11-05T10:00:00+09:00")
        note(d, "e.txt", P1, "S:E", "旧版 アモキシシリン 処方", "2026-11-03T10:00:00+09:00")
        note(d, "f.txt", P1, "S:F", OPS_TEXT, "2026-11-02T10:00:00+09:00")
        for i in range(5):
            note(d, "k%d.txt" % i, P1, "S:K%d" % i, "経過観察 %d 日目" % i,
                 "2026-10-%02dT10:00:00+09:00" % (10 + i))
        note(d, "p2.txt", P2, "S:P2", "ペニシリン アレルギーあり", "2026-11-19T10:00:00+09:00")
        note(d, "p3.txt", P3, "S:P3", "特記事項なし", "2026-11-19T10:00:00+09:00")
        self.index()
        # A new version of S:E: its old text must no longer be found.
        note(d, "e.txt", P1, "S:E", "新版 セフェム 処方", "2026-11-03T10:00:00+09:00")
        self.index()
        ls = [json.loads(l) for l in run(hk.ADMIN, "ls", "--store", self.store).stdout.splitlines()]
        self.ids = {v["source_id"]: v["id"] for v in ls}
        for user, role in (("carol", "clinician_search"), ("audrey", "auditor")):
            run(hk.ADMIN, "user", "add", user, "--role", role, "--state", self.env.state,
                stdin=PW[user] + "\n")
        self.start()

    def start(self):
        self.env.start_server(self.store, "--workers", "2")
        self.tokens = {"alice": self.env.token}
        for user in ("carol", "audrey"):
            s, _, body = self.env.req("POST", "/api/v1/session",
                                      {"user": user, "password": PW[user]})
            check(s == 201, "login %s: %d" % (user, s))
            self.tokens[user] = json.loads(body)["token"]

    def get(self, path, user="alice"):
        s, _, body = self.env.req("GET", path, token=self.tokens[user])
        try:
            js = json.loads(body) if body else None
        except ValueError:
            js = None
        return s, js

    def timeline(self, pid, q, user="alice", **params):
        qs = "q=" + urllib.parse.quote(q, safe="")
        for k, v in params.items():
            qs += "&%s=%s" % (k, urllib.parse.quote(str(v), safe=""))
        return self.get("/api/v1/patients/%s/documents?%s" % (pid, qs), user)

    def search(self, q, user="carol", limit=None):
        qs = "q=" + urllib.parse.quote(q, safe="")
        if limit is not None:
            qs += "&limit=%s" % limit
        return self.get("/api/v1/search?" + qs, user)

    def hits(self, pid, q, **params):
        s, js = self.timeline(pid, q, **params)
        check(s == 200, "q=%r: %d %s" % (q, s, js))
        return [d["source_id"] for d in js["documents"]]

    def records(self):
        with open(os.path.join(self.env.state, "audit.log")) as f:
            return [json.loads(l) for l in f if l.strip()]


def test_filter_and_matches(t):
    s, js = t.timeline(P1, "造影剤")
    check(s == 200, "timeline q: %d %s" % (s, js))
    check([d["source_id"] for d in js["documents"]] == ["S:A"], "only A: %s" % js)
    check(js["unsearched"] == 0, "everything indexed: %s" % js["unsearched"])
    check(js["next_cursor"] is None, "one page: %s" % js["next_cursor"])
    d = js["documents"][0]
    # The same document object as the plain timeline's, plus matches.
    s, plain = t.get("/api/v1/patients/%s/documents" % P1)
    row = [x for x in plain["documents"] if x["id"] == d["id"]][0]
    check({k: v for k, v in d.items() if k != "matches"} == row,
          "the row is the timeline's: %s / %s" % (d, row))
    check(len(d["matches"]) == 1 and d["matches"][0]["page"] == 1, "one page: %s" % d)
    m = d["matches"][0]
    check(len(m["marks"]) >= 1, "marks: %s" % m)
    for start, length in m["marks"]:
        check(m["snippet"][start:start + length] == "造影剤",
              "mark [%d,%d] of %r" % (start, length, m["snippet"]))
    check("造影剤" in m["snippet"], "snippet: %r" % m["snippet"])


def test_short_terms(t):
    check(t.hits(P1, "癌") == ["S:C"], "1 character")
    check(t.hits(P1, "肺炎") == ["S:B"], "2 characters")
    check(t.hits(P1, "影") == ["S:A", "S:B"], "1 character in two documents")
    # Two terms: both required, in any order.
    check(t.hits(P1, "胸部 肺炎") == ["S:B"], "AND")
    check(t.hits(P1, "肺炎\u3000癌") == [], "AND across documents: none")


def test_kana_and_width(t):
    want = ["S:A", "S:D"]
    for q in ("ペニシリン", "ぺにしりん", "ﾍﾟﾆｼﾘﾝ", "ペニシ"):
        check(t.hits(P1, q) == want, "%r: %s" % (q, t.hits(P1, q)))
    s, js = t.timeline(P1, "ぺにしりん")
    for d in js["documents"]:
        for m in d["matches"]:
            for start, length in m["marks"]:
                check(fold(m["snippet"][start:start + length]) == fold("ペニシリン"),
                      "mark of a folded form: %r %s" % (m["snippet"], m["marks"]))
    # Full-width Latin and digits fold too.
    check(t.hits(P1, "Ｘ線") == ["S:B"], "full-width X")
    check(t.hits(P1, "x線") == ["S:B"], "lower case x")


def test_literal_operators(t):
    for q in ("OR", "*", '"', "(", ")", "column:x", "@", "~", "+", "-", "\\",
              "OR *", '" (', "( )", "column:x end"):
        s, js = t.timeline(P1, q)
        check(s == 200, "q=%r: %d %s" % (q, s, js))
        got = [d["source_id"] for d in js["documents"]]
        check(got == ["S:F"], "q=%r is literal: %s" % (q, got))
    # A term that is not there, however it is spelt, finds nothing.
    for q in ("column:y", "OR2", "*)"):
        check(t.hits(P1, q) == [], "q=%r finds nothing" % q)
    s, js = t.search('" OR *')
    check(s == 200, "cross-patient operators: %d %s" % (s, js))


def test_stale_version(t):
    check(t.hits(P1, "アモキシシリン") == [], "the replaced version's text is not a hit")
    check(t.hits(P1, "旧版") == [], "nor any word of it")
    s, js = t.timeline(P1, "セフェム")
    check([d["source_id"] for d in js["documents"]] == ["S:E"], "the new one is")
    check(js["documents"][0]["version"] == 2, "at version 2: %s" % js["documents"][0])


def test_other_parameters(t):
    check(t.hits(P1, "肺炎", type="imaging_report") == ["S:B"], "type kept")
    check(t.hits(P1, "肺炎", type="progress_note") == [], "type filters")
    check(t.hits(P1, "ペニシリン", **{"from": "2026-11-10"}) == ["S:A"], "from")
    check(t.hits(P1, "ペニシリン", to="2026-11-10") == ["S:D"], "to")
    # Paging: 5 documents, 2 at a time, newest first, each once.
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        s, js = t.timeline(P1, "経過観察", **params)
        check(s == 200, "page: %d %s" % (s, js))
        check(len(js["documents"]) <= 2, "limit: %s" % js)
        seen += [d["source_id"] for d in js["documents"]]
        cursor = js["next_cursor"]
        pages += 1
        check(pages < 10, "pages end")
        if cursor is None:
            break
    check(seen == ["S:K4", "S:K3", "S:K2", "S:K1", "S:K0"], "all five, in order: %s" % seen)
    s, js = t.timeline(P1, "経過観察", cursor="garbage")
    check(s == 400, "bad cursor: %d" % s)
    s, js = t.timeline("0000009999", "経過観察")
    check(s == 404, "unknown patient: %d %s" % (s, js))
    check(t.hits(P2, "造影剤") == [], "another patient's text is not this one's")


def test_bad_queries(t):
    cases = [("", "empty"), ("   ", "blank"), ("あ" * 65, "65 characters"),
             (" ".join(["x"] * 9), "9 terms")]
    for q, why in cases:
        for fn in (lambda: t.timeline(P1, q), lambda: t.search(q)):
            s, js = fn()
            check(s == 400 and js["error"] == "bad_request" and js["message"].startswith("q:"),
                  "%s: %d %s" % (why, s, js))
    check(t.hits(P1, "あ" * 64) == [], "64 characters is allowed")
    raw = ["%01", "%00", "a%00b", "%1F", "%7F", "%FF", "%E3%81", "a%08b", "%C2%85"]
    for enc in raw:
        for path in ("/api/v1/patients/%s/documents?q=%s" % (P1, enc),
                     "/api/v1/search?q=%s" % enc):
            s, js = t.get(path, "carol")
            check(s == 400 and js["error"] == "bad_request", "q=%s %s: %d %s" % (enc, path, s, js))
    s, js = t.get("/api/v1/search", "carol")
    check(s == 400, "no q: %d" % s)
    for lim in ("0", "101", "x", "-1"):
        s, js = t.search("ペニシリン", limit=lim)
        check(s == 400, "limit=%s: %d" % (lim, s))


def test_roles(t):
    before = len(t.records())
    for user in ("alice", "audrey"):
        s, js = t.search("ペニシリン", user=user)
        check(s == 403 and js["error"] == "forbidden", "%s on /search: %d %s" % (user, s, js))
    recs = t.records()[before:]
    check([(r["user"], r["action"], r["outcome"], r["status"]) for r in recs]
          == [("alice", "access", "denied", 403), ("audrey", "access", "denied", 403)],
          "refusals audited: %s" % recs)
    s, js = t.timeline(P1, "癌", user="audrey")
    check(s == 403, "auditor on the timeline: %d" % s)
    # clinician_search is a viewer too.
    s, js = t.timeline(P1, "癌", user="carol")
    check(s == 200 and len(js["documents"]) == 1, "clinician_search on the timeline: %d" % s)
    for path in ("/api/v1/patients/%s" % P1, "/api/v1/documents/%s" % t.ids["S:A"],
                 "/api/v1/documents/%s/content" % t.ids["S:A"], "/api/v1/census"):
        check(t.get(path, "carol")[0] == 200, "carol reads %s" % path)
    check(t.get("/api/v1/audit", "carol")[0] == 403, "carol may not read the audit")


def test_cross_patient(t):
    before = len(t.records())
    s, js = t.search("ペニシリン")
    check(s == 200, "search: %d %s" % (s, js))
    check(js["unsearched"] == 0 and js["more"] is False, "complete: %s" % js)
    got = [(r["patient"]["id"], [d["source_id"] for d in r["documents"]]) for r in js["results"]]
    check(got == [(P1, ["S:A", "S:D"]), (P2, ["S:P2"])], "grouped, newest first: %s" % got)
    p = js["results"][1]["patient"]
    check(p == dict(PEOPLE[P2], id=P2), "patient identity: %s" % p)
    for r in js["results"]:
        for d in r["documents"]:
            check(d["patient_id"] == r["patient"]["id"] and d["matches"], "doc: %s" % d)
    recs = t.records()[before:]
    check(len(recs) == 2, "one record per patient: %s" % recs)
    check(sorted(r["patient"] for r in recs) == [P1, P2], "patients: %s" % recs)
    for r in recs:
        check(r["action"] == "document.search" and r["query"] == "ペニシリン" and
              r["user"] == "carol" and r["status"] == 200, "record: %s" % r)
    # Limit counts documents.
    s, js = t.search("ペニシリン", limit=1)
    check(s == 200 and sum(len(r["documents"]) for r in js["results"]) == 1 and js["more"],
          "limit 1: %s" % js)
    check(js["results"][0]["documents"][0]["source_id"] == "S:A", "the newest: %s" % js)
    # Newest of all that match, not of some: 5 notes match, limit 1 asks
    # the index for 2 (the index answered in document ID order before).
    s, js = t.search("経過観察", limit=1)
    check(s == 200 and js["more"] and
          [d["source_id"] for r in js["results"] for d in r["documents"]] == ["S:K4"],
          "the newest of 5: %s" % js)
    # Nothing found: one record for the search itself.
    before = len(t.records())
    s, js = t.search("存在しない語")
    check(s == 200 and js["results"] == [], "no result: %s" % js)
    recs = t.records()[before:]
    check(len(recs) == 1 and "patient" not in recs[0] and recs[0]["query"] == "存在しない語",
          "one record without a patient: %s" % recs)
    # The stale text is not found across patients either.
    s, js = t.search("アモキシシリン")
    check(s == 200 and js["results"] == [], "stale across patients: %s" % js)


def test_timeline_audit(t):
    before = len(t.records())
    s, js = t.timeline(P1, "肺炎", type="imaging_report")
    recs = t.records()[before:]
    check(len(recs) == 1, "one record: %s" % recs)
    r = recs[0]
    check(r["action"] == "document.search" and r["patient"] == P1 and r["query"] == "肺炎"
          and r["status"] == 200 and r["detail"].startswith("1 documents"),
          "timeline search record: %s" % r)


def test_lagging_index(t):
    """An index behind the store (an older copy put back): what it lacks is
    counted in "unsearched", never silently missing; reindex catches up."""
    p = t.env.procs.pop()
    check(t.env.stop(p) == 0, "the server stopped cleanly (a sanitizer report fails it)")
    idx = os.path.join(t.store, "search")
    old = os.path.join(t.tmp, "search-old")
    shutil.copytree(idx, old, symlinks=True)
    note(t.drop, "late.txt", P1, "S:LATE", "新規薬剤 遅延", "2026-11-21T10:00:00+09:00")
    # And a new version of S:C, whose old text the old index still holds.
    note(t.drop, "c.txt", P1, "S:C", "既往歴 更新", "2026-11-10T10:00:00+09:00")
    t.index()
    shutil.rmtree(idx)
    shutil.copytree(old, idx, symlinks=True)
    t.start()
    s, js = t.timeline(P1, "新規薬剤")
    check(s == 200 and js["documents"] == [] and js["unsearched"] == 2,
          "lagging timeline: %d %s" % (s, js))
    s, js = t.search("新規薬剤")
    check(s == 200 and js["results"] == [] and js["unsearched"] == 2,
          "lagging search: %d %s" % (s, js))
    # The index proposes S:C version 1 for 癌; the store says version 2 is
    # current: not shown, on the timeline or across patients.
    s, js = t.timeline(P1, "癌")
    check(s == 200 and js["documents"] == [], "a replaced version's hit is dropped: %s" % js)
    s, js = t.search("癌")
    check(s == 200 and js["results"] == [], "and across patients: %s" % js)
    s, js = t.timeline(P1, "既往")
    check(s == 200 and js["documents"] == [], "the new text is not in the old index: %s" % js)
    t.reindex()
    deadline = time.monotonic() + 30
    while True:
        s, js = t.timeline(P1, "新規薬剤")
        if (s == 200 and js["unsearched"] == 0) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    check(s == 200 and js["unsearched"] == 0 and
          [d["source_id"] for d in js["documents"]] == ["S:LATE"], "after reindex: %s" % js)
    check(t.hits(P1, "既往") == ["S:C"] and t.hits(P1, "癌") == [], "S:C at version 2")


def answers(t):
    """What a fixed set of searches answers, to compare across a reindex."""
    out = {}
    for q in ("ペニシリン", "癌", "肺炎", "経過観察", "OR", "セフェム", "アモキシシリン"):
        s, js = t.timeline(P1, q, limit=50)
        check(s == 200, "%s: %d" % (q, s))
        out["t:" + q] = [(d["id"], d["version"], d["matches"]) for d in js["documents"]]
        s, js = t.search(q, limit=100)
        check(s == 200, "search %s: %d" % (q, s))
        out["s:" + q] = [(r["patient"]["id"], [(d["id"], d["matches"]) for d in r["documents"]])
                         for r in js["results"]]
    return out


def test_missing_index_and_reindex(t):
    before = answers(t)
    p = t.env.procs.pop()
    check(t.env.stop(p) == 0, "the server stopped cleanly (a sanitizer report fails it)")
    shutil.rmtree(os.path.join(t.store, "search"))
    t.start()
    nrec = len(t.records())
    for fn in (lambda: t.timeline(P1, "癌"), lambda: t.search("癌")):
        s, js = fn()
        check(s == 503 and js["error"] == "search_unavailable" and js["message"],
              "no index: %d %s" % (s, js))
    for path in ("/api/v1/status", "/api/v1/patients?q=%s" % urllib.parse.quote("ケンサク"),
                 "/api/v1/patients/%s" % P1, "/api/v1/patients/%s/documents" % P1,
                 "/api/v1/documents/%s" % t.ids["S:A"],
                 "/api/v1/documents/%s/content" % t.ids["S:A"], "/api/v1/census"):
        check(t.get(path, "carol")[0] == 200, "without an index, %s still 200" % path)
    # The refused search is audited with its text.
    r = t.records()[nrec:]
    check(any(x["action"] == "document.search" and x["status"] == 503 and x["query"] == "癌"
              for x in r), "503 audited: %s" % r)
    # Rebuilt while the server runs: found again without a restart, at
    # once and by every worker (each just answered 503: a missing index is
    # not remembered, so none waits to look again).
    for _ in range(4):
        t.search("癌")
    t.reindex()
    for i in range(8):
        s, js = t.timeline(P1, "癌") if i % 2 else t.search("癌")
        check(s == 200, "request %d right after reindex: %d %s" % (i, s, js))
    after = answers(t)
    check(after == before, "reindex gives the same answers:\n%s\n%s" % (before, after))


def main():
    t = T()
    try:
        t.build()
        for name, fn in [("filter and matches", test_filter_and_matches),
                         ("1- and 2-character terms", test_short_terms),
                         ("kana and width forms", test_kana_and_width),
                         ("operators are literal", test_literal_operators),
                         ("a replaced version is not a hit", test_stale_version),
                         ("type, from, to, limit, cursor", test_other_parameters),
                         ("bad queries: 400", test_bad_queries),
                         ("roles", test_roles),
                         ("across patients, audited per patient", test_cross_patient),
                         ("the timeline search is audited", test_timeline_audit),
                         ("a lagging index: unsearched", test_lagging_index),
                         ("no index: 503, the rest 200; reindex", test_missing_index_and_reindex)]:
            fn(t)
            print("ok  ", name)
        p = t.env.procs.pop()
        check(t.env.stop(p) == 0, "the server stopped cleanly (a sanitizer report fails it)")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        try:
            print(hk.log_tail(os.path.join(t.tmp, "server.log")))
        except OSError:
            pass
        return 1
    finally:
        t.env.cleanup()


if __name__ == "__main__":
    sys.exit(main())

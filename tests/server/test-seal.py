#!/usr/bin/python3
"""Issue 11 item 6: `hikae-admin seal --reason TEXT` freezes a running
indexer, exactly as the tripwire does, while the server keeps serving.

- --reason is required, one line of printable text, at most 500 bytes.
- Phase A (the check inside every ingest write): an indexer that will not
  rescan for an hour is sealed; a document dropped afterwards reaches it by
  inotify, and its write transaction finds the seal: nothing is ingested,
  the indexer says SEALED with the reason.
- Phase B (the check at each rescan): an indexer rescanning every second
  starts on the sealed store; a document dropped meanwhile is not ingested
  over two rescans (counted in its --verbose log, not slept for); the
  server's /api/v1/status and `hikae-admin stats` say sealed with the
  reason and the time; reads still work. `hikae-admin unseal` resumes: both
  documents arrive, through the same indexer process.
- Sealing a sealed store keeps the first seal."""
import json, os, sys, time
import hk_it as hk

PID = "0000000777"


def ls(store):
    return [json.loads(l) for l in hk.run(hk.ADMIN, "ls", "--store", store).stdout.splitlines()
            if l.strip()]


def sids(store):
    return sorted(v["source_id"] for v in ls(store))


def stats(store):
    return json.loads(hk.run(hk.ADMIN, "stats", "--store", store).stdout)


def wait_for(what, cond, proc=None, log=None, limit=120):
    """Poll cond() every 50 ms, at most limit seconds (a hang guard)."""
    deadline = time.monotonic() + limit
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s: the indexer exited (%s): %s"
                                 % (what, proc.returncode, hk.log_tail(log) if log else ""))
        if time.monotonic() >= deadline:
            raise AssertionError("%s: not within %d s%s"
                                 % (what, limit, (": " + hk.log_tail(log)) if log else ""))
        time.sleep(0.05)


def count(log, text):
    with open(log, errors="replace") as f:
        return f.read().count(text)


def seal(store, reason, ok=True):
    return hk.run(hk.ADMIN, "seal", "--store", store, "--reason", reason, ok=ok)


def main():
    env = hk.Env("hk-seal-")
    try:
        store = os.path.join(env.tmp, "store")
        drop = os.path.join(env.tmp, "drop")
        os.makedirs(drop)
        hk.text_doc(drop, "one.txt", PID, "SEAL:1", b"first\n")
        hk.run(hk.INDEXER, "--store", store, "--drop", drop, "--once")

        # Usage errors: exit 2, one line naming the problem, nothing sealed.
        for args, want in [([], "--reason TEXT is required"),
                           (["--reason", ""], "--reason: say why"),
                           (["--reason", "   "], "--reason: say why"),
                           (["--reason", "two\nlines"], "one line of text"),
                           (["--reason", "x" * 501], "at most 500 bytes")]:
            r = hk.run(hk.ADMIN, "seal", "--store", store, *args, ok=False)
            hk.check(r.returncode == 2 and want in r.stderr,
                     "seal %r: want exit 2 and %r, got %d %r" % (args[1:][:1], want,
                                                                 r.returncode, r.stderr))
        hk.check(stats(store)["indexer"] != "sealed", "a refused seal sealed the store")
        print("ok   seal refuses a missing, blank, multi-line or over-long --reason")

        # Phase A: no rescan for an hour, so only the write itself can see
        # the seal.
        log_a = os.path.join(env.tmp, "indexer-a.log")
        ix = env.spawn("indexer-a", [hk.INDEXER, "--store", store, "--drop", drop,
                                     "--poll-interval", "3600"])
        wait_for("indexer A running", lambda: stats(store)["indexer"] == "running"
                 and stats(store)["thumbnails_pending"] == 0, ix, log_a)
        hk.check(sids(store) == ["SEAL:1"], "before the seal: %s" % sids(store))
        r = seal(store, "EHR compromised (drill A)")
        hk.check("sealed at" in r.stdout, "seal output: %s" % r.stdout)
        before = count(log_a, "SEALED")
        hk.text_doc(drop, "two.txt", PID, "SEAL:2", b"second\n")
        # Until it says so, or (the failure) the document arrives.
        wait_for("indexer A notices the seal in its write",
                 lambda: count(log_a, "SEALED") > before or "SEAL:2" in sids(store), ix, log_a)
        hk.check(sids(store) == ["SEAL:1"], "ingested after the seal: %s" % sids(store))
        hk.check("EHR compromised (drill A)" in hk.log_tail(log_a),
                 "the indexer log lacks the reason: %s" % hk.log_tail(log_a))
        print("ok   a running indexer's write finds the seal: the new document is not ingested")
        hk.check(env.stop(ix) == 0, "indexer A exit status")

        # The server on the sealed store.
        env.start_server(store)
        tok = env.token
        s, _, body = env.req("GET", "/api/v1/status", token=tok)
        st = json.loads(body)
        hk.check(s == 200 and st["indexer"] == "sealed", "status: %d %s" % (s, st))
        hk.check("EHR compromised (drill A)" in st.get("sealed_reason", ""),
                 "status sealed_reason: %s" % st)
        hk.check(st.get("sealed_at"), "status lacks sealed_at: %s" % st)
        a = stats(store)
        hk.check(a["indexer"] == "sealed" and "drill A" in a["sealed_reason"]
                 and a["sealed_at"] == st["sealed_at"], "stats: %s" % a)
        print("ok   /api/v1/status and hikae-admin stats say sealed, with the reason and the time")

        # Sealing again keeps the first seal.
        r = seal(store, "second thoughts")
        hk.check(r.returncode == 0 and "already sealed" in r.stdout, "second seal: %s" % r.stdout)
        hk.check("drill A" in stats(store)["sealed_reason"], "the first reason was replaced")
        print("ok   a second seal keeps the first one's reason and time")

        # Phase B: rescans every second, counted in the --verbose log.
        log_b = os.path.join(env.tmp, "indexer-b.log")
        ix = env.spawn("indexer-b", [hk.INDEXER, "--store", store, "--drop", drop,
                                     "--poll-interval", "1", "--verbose"])
        wait_for("indexer B says it is sealed", lambda: count(log_b, "SEALED") >= 1, ix, log_b)
        hk.text_doc(drop, "three.txt", PID, "SEAL:3", b"third\n")
        seen = count(log_b, "sealed: rescan skipped")
        wait_for("two rescans after the drop",
                 lambda: count(log_b, "sealed: rescan skipped") >= seen + 2, ix, log_b)
        hk.check(sids(store) == ["SEAL:1"], "ingested while sealed: %s" % sids(store))
        print("ok   sealed over two rescans after the drop: still only the first document")

        # Reads go on meanwhile.
        s, _, body = env.req("GET", "/api/v1/patients/%s/documents" % PID, token=tok)
        docs = json.loads(body)["documents"] if s == 200 else []
        hk.check(s == 200 and len(docs) == 1, "timeline while sealed: %d %s" % (s, body[:200]))
        s, _, content = env.req("GET", "/api/v1/documents/%s/content" % docs[0]["id"], token=tok)
        hk.check(s == 200 and content == b"first\n", "content while sealed: %d %r" % (s, content))
        print("ok   the server keeps serving: timeline and content while sealed")

        r = hk.run(hk.ADMIN, "unseal", "--store", store)
        hk.check("drill A" in r.stdout, "unseal prints the seal's reason: %s" % r.stdout)
        wait_for("both documents after unseal",
                 lambda: sids(store) == ["SEAL:1", "SEAL:2", "SEAL:3"], ix, log_b)
        hk.check(ix.poll() is None, "the indexer was restarted")
        hk.check("unsealed; ingest resumes" in hk.log_tail(log_b, 100000), "no resume log line")
        s, _, body = env.req("GET", "/api/v1/status", token=tok)
        st = json.loads(body)
        hk.check(st["indexer"] == "running" and "sealed_reason" not in st, "status: %s" % st)
        s, _, body = env.req("GET", "/api/v1/patients/%s/documents" % PID, token=tok)
        hk.check(s == 200 and len(json.loads(body)["documents"]) == 3, "timeline after unseal")
        print("ok   unseal: the same indexer ingests both waiting documents; status says running")
        hk.check(env.stop(ix) == 0, "indexer B exit status")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        return 1
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Issue 11 item 7, the acceptance round trip: back up while the indexer
ingests and the server serves; restore; verify; a second server on the
restored store serves the same documents and hashes as the backup held.

1. A running hikae-indexer (drop folder, inotify) and hikae-server (TLS)
   on one store holding about 40 MB (so the backup takes a while).
2. A feeder drops a small document every 20 ms; a client reads the
   timeline and a document's content over TLS in a loop (both bounded).
3. `hikae-admin backup` runs meanwhile: it must succeed, versions must have
   been ingested between its start and its end, the client must have read
   without one error during it.
4. `hikae-admin restore --from BACKUP --store NEW`, then `verify`.
5. A second hikae-server on NEW (own port, own state): for every patient of
   `hikae-admin ls` of the backup, the timeline lists exactly the backup's
   documents, each with the backup's SHA-256 and versions, and its content
   hashes to it; the documents ingested after the backup are not there."""
import hashlib, json, os, sys, threading, time
import hk_it as hk

PATIENTS = ["0000000101", "0000000102", "0000000103"]


def ls(store):
    return [json.loads(l) for l in hk.run(hk.ADMIN, "ls", "--store", store).stdout.splitlines()
            if l.strip()]


def versions(store):
    return json.loads(hk.run(hk.ADMIN, "stats", "--store", store).stdout)["versions"]


def versions_once_made(store):
    """versions(), or 0 while the indexer is still creating the store:
    data.mdb exists a moment before the transaction that makes its tables
    commits, and stats then says "not a hikae store"."""
    r = hk.run(hk.ADMIN, "stats", "--store", store, ok=False)
    return json.loads(r.stdout)["versions"] if r.returncode == 0 else 0


class Feeder(threading.Thread):
    """Drops a small document every 20 ms until stopped (at most 3,000)."""

    def __init__(self, drop):
        super().__init__(daemon=True)
        self.drop, self.stop, self.n = drop, threading.Event(), 0

    def run(self):
        while not self.stop.is_set() and self.n < 3000:
            pid = PATIENTS[self.n % len(PATIENTS)]
            hk.text_doc(self.drop, "feed/f%05d.txt" % self.n, pid, "FEED:%d" % self.n,
                        b"fed while backing up %d\n" % self.n, title="feed %d" % self.n)
            self.n += 1
            self.stop.wait(0.02)


class Reader(threading.Thread):
    """Reads a timeline and a document's content over TLS until stopped (at
    most 100,000 rounds); counts rounds and errors."""

    def __init__(self, env, token, doc_id, sha):
        super().__init__(daemon=True)
        self.env, self.token, self.doc, self.sha = env, token, doc_id, sha
        self.stop, self.rounds, self.errors = threading.Event(), 0, []

    def run(self):
        conn = self.env.conn()
        while not self.stop.is_set() and self.rounds < 100000:
            try:
                s, _, body = self.env.req("GET", "/api/v1/patients/%s/documents?limit=5"
                                          % PATIENTS[0], token=self.token, conn=conn)
                if s != 200:
                    self.errors.append("timeline %d" % s)
                s, _, body = self.env.req("GET", "/api/v1/documents/%s/content" % self.doc,
                                          token=self.token, conn=conn)
                if s != 200 or hashlib.sha256(body).hexdigest() != self.sha:
                    self.errors.append("content %d" % s)
            except Exception as e:  # a broken connection is an error too
                self.errors.append(repr(e))
                conn.close()
                conn = self.env.conn()
            self.rounds += 1
        conn.close()


def timeline(api, token, pid):
    docs, cursor = [], None
    for _ in range(1000):
        q = "/api/v1/patients/%s/documents?limit=1000" % pid
        if cursor:
            q += "&cursor=" + cursor
        s, _, js = api.req("GET", q, token=token)
        hk.check(s == 200, "timeline %s: %d %s" % (pid, s, js))
        docs += js["documents"]
        cursor = js.get("next_cursor")
        if not cursor:
            return docs
    raise AssertionError("timeline does not end")


def main():
    env = hk.Env("hk-roundtrip-")
    feeder = reader = None
    try:
        tmp = env.tmp
        drop, store = os.path.join(tmp, "drop"), os.path.join(tmp, "store")
        # About 40 MB of incompressible text, so copy and re-hash take time.
        for i in range(10):
            text = os.urandom(2 << 20).hex().encode()
            hk.text_doc(drop, "big/b%02d.txt" % i, PATIENTS[i % 3], "BIG:%d" % i, text)
        ix = env.spawn("indexer", [hk.INDEXER, "--store", store, "--drop", drop,
                                   "--poll-interval", "2"])
        deadline = time.monotonic() + 300
        while not (os.path.exists(os.path.join(store, "data.mdb")) and
                   versions_once_made(store) >= 10):
            hk.check(ix.poll() is None, "indexer exited: %s" % env.log("indexer"))
            hk.check(time.monotonic() < deadline, "the first documents were not ingested")
            time.sleep(0.1)
        env.start_server(store)
        first = next(v for v in ls(store) if v["source_id"] == "BIG:0")

        feeder = Feeder(drop)
        reader = Reader(env, env.token, first["id"], first["sha256"])
        feeder.start()
        reader.start()
        # The feed is flowing before the backup starts.
        deadline = time.monotonic() + 120
        while versions(store) < 15:
            hk.check(time.monotonic() < deadline, "fed documents are not ingested")
            time.sleep(0.05)
        v0, r0, e0 = versions(store), reader.rounds, len(reader.errors)
        t0 = time.monotonic()
        r = hk.run(hk.ADMIN, "backup", "--store", store, "--to", os.path.join(tmp, "bk"),
                   timeout=600)
        took = time.monotonic() - t0
        v1, r1 = versions(store), reader.rounds
        hk.check("versions verified" in r.stdout, "backup: %s" % r.stdout)
        bk = r.stdout.split()[1].rstrip(":")
        hk.check(v1 > v0, "no version was ingested during the backup (%d -> %d)" % (v0, v1))
        hk.check(r1 > r0 and len(reader.errors) == e0,
                 "reads during the backup: %d rounds, errors %s" % (r1 - r0, reader.errors[:5]))
        print("ok   backup (%.2f s) while %d versions were ingested and %d read rounds served "
              "without error" % (took, v1 - v0, r1 - r0))

        # More arrive after the backup, so the restored store must lack them.
        deadline = time.monotonic() + 120
        held = ls(bk)
        while versions(store) <= len(held) + 3:
            hk.check(time.monotonic() < deadline, "no documents after the backup")
            time.sleep(0.05)
        feeder.stop.set()
        reader.stop.set()
        feeder.join(60)
        reader.join(60)
        hk.check(not reader.errors, "read errors: %s" % reader.errors[:5])
        print("ok   %d documents fed, %d read rounds, no error" % (feeder.n, reader.rounds))

        new = os.path.join(tmp, "restored", "store")
        r = hk.run(hk.ADMIN, "restore", "--from", bk, "--store", new, timeout=600)
        hk.check("%d versions verified" % len(held) in r.stdout, "restore: %s" % r.stdout)
        r = hk.run(hk.ADMIN, "verify", "--store", new, timeout=600)
        hk.check("verified %d versions: 0 mismatches" % len(held) in r.stdout,
                 "verify: %s" % r.stdout)
        print("ok   restore and verify: %d versions" % len(held))

        # A second server on the restored store, with its own state.
        state2 = os.path.join(tmp, "state2")
        hk.run(hk.ADMIN, "user", "add", "alice", "--state", state2, stdin=hk.PASSWORD + "\n")
        p2, api2 = hk.start_server(new, state2, env.pki, os.path.join(tmp, "server2.log"))
        env.procs.append(p2)
        tok2 = api2.token("alice")
        cur = {v["id"]: v for v in held if v["current"]}
        all_versions = {}
        for v in held:
            all_versions.setdefault(v["id"], []).append((v["version"], v["sha256"]))
        checked = 0
        for pid in sorted({v["patient_id"] for v in cur.values()}):
            want = {i for i, v in cur.items() if v["patient_id"] == pid}
            got = {d["id"]: d for d in timeline(api2, tok2, pid)}
            hk.check(set(got) == want, "patient %s: restored server lists %d documents, the "
                     "backup held %d" % (pid, len(got), len(want)))
            for i in sorted(want):
                d = got[i]
                hk.check(d["sha256"] == cur[i]["sha256"], "document %s: sha256" % i)
                s, _, js = api2.req("GET", "/api/v1/documents/%s" % i, token=tok2)
                hk.check(s == 200 and sorted((x["version"], x["sha256"]) for x in js["versions"])
                         == sorted(all_versions[i]), "document %s versions" % i)
                s, hdrs, body = api2.req("GET", "/api/v1/documents/%s/content" % i,
                                         token=tok2, raw=True)
                hk.check(s == 200 and hashlib.sha256(body).hexdigest() == cur[i]["sha256"],
                         "document %s: content does not hash to the backup's SHA-256" % i)
                checked += 1
        live = {v["id"] for v in ls(store)}
        hk.check(set(cur) < live,
                 "the live store should hold documents the backup lacks")
        print("ok   the restored server serves the backup's %d documents (%d versions), every "
              "content hashing to the backup's SHA-256, and none of the %d fed later"
              % (checked, len(held), len(live) - len(cur)))
        hk.check(env.stop(p2) == 0, "second server exit")
        hk.check(env.stop(ix) == 0, "indexer exit")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        return 1
    finally:
        for t in (feeder, reader):
            if t:
                t.stop.set()
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())

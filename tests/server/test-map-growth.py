#!/usr/bin/python3
"""hikae-server stays up while the indexer grows the store's map (issue 10,
item 4).

The indexer and the server both start from a 1 MiB map (--map-size 1), so
that the store outgrows it again and again: the indexer grows its map (at
least 5 times here) and the server must follow each growth while 64
connections read content, timelines and search. Expect no crash, no 5xx,
and every content answer whose bytes hash to its ETag (the SHA-256) and to
the document's listed SHA-256.

Before the fix the server remapped inside whichever worker met
MDB_MAP_RESIZED, under the other workers' transactions and under answers
still being sent from the old map: SIGSEGV, or 5xx. Loopback only; every
loop bounded in count and time.
"""
import os, random, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hk_it import *  # noqa: E402,F401,F403

CONNS = 64
PATIENTS = ["P-%04d" % i for i in range(1, 9)]
NEW_DOCS = 80           # of DOC_SIZE each: the store grows past 32 MiB
DOC_SIZE = 512 * 1024
LOAD_LIMIT_S = 150      # the load phase ends by then whatever happens


def main():
    env = Env("hk-map-growth-")
    stats = {"requests": 0, "content": 0, "bytes": 0, "5xx": 0, "other": 0}
    errors = []
    lock = threading.Lock()
    docs = {}   # doc id -> sha256, from the timelines
    stop = threading.Event()
    try:
        drop = os.path.join(env.tmp, "drop")
        store = os.path.join(env.tmp, "store")
        for i, pid in enumerate(PATIENTS):
            for k in range(3):
                text_doc(drop, "%s/small%d.txt" % (pid, k), pid, "SMALL:%s:%d" % (pid, k),
                         ("%s note %d\n" % (pid, k)).encode() * (50 + 400 * k))
        run(INDEXER, "--store", store, "--drop", drop, "--once", "--map-size", "1")
        server = env.start_server(store, "--map-size", "1", "--workers", "2",
                                  "--request-timeout", "30", "--max-connections", "512")
        indexer = env.spawn("indexer", [INDEXER, "--store", store, "--drop", drop,
                                        "--map-size", "1", "--poll-interval", "1",
                                        "--batch", "4"])
        tok = env.token

        def learn(body):
            import json
            js = json.loads(body)
            with lock:
                for d in js["documents"]:
                    docs[d["id"]] = d["sha256"]

        for pid in PATIENTS:
            s, _, body = env.req("GET", "/api/v1/patients/%s/documents?limit=1000" % pid,
                                 token=tok)
            check(s == 200, "timeline %s: %d" % (pid, s))
            learn(body)
        check(len(docs) == 3 * len(PATIENTS), "initial documents: %d" % len(docs))

        def client(n):
            rnd = random.Random(n)
            conn = None
            while not stop.is_set():
                if conn is None:
                    conn = env.conn()
                op = rnd.randrange(10)
                try:
                    if op < 5:
                        with lock:
                            did, sha = rnd.choice(sorted(docs.items()))
                        s, h, body = env.req("GET", "/api/v1/documents/%s/content" % did,
                                             token=tok, conn=conn)
                        if s == 200:
                            got = sha256(body)
                            if got != h.get("etag", "").strip('"') or got != sha:
                                with lock:
                                    errors.append("content %s: bytes hash to %s, ETag %s, "
                                                  "listed %s" % (did, got, h.get("etag"), sha))
                            with lock:
                                stats["content"] += 1
                                stats["bytes"] += len(body)
                    elif op < 8:
                        pid = rnd.choice(PATIENTS)
                        s, _, body = env.req("GET", "/api/v1/patients/%s/documents?limit=1000"
                                             % pid, token=tok, conn=conn)
                        if s == 200:
                            learn(body)
                    else:
                        s, _, body = env.req("GET", "/api/v1/patients?q=P-000", token=tok,
                                             conn=conn)
                    with lock:
                        stats["requests"] += 1
                        if s >= 500:
                            stats["5xx"] += 1
                            if len(errors) < 20:
                                errors.append("%d: %s" % (s, body[:200]))
                        elif s != 200:
                            stats["other"] += 1
                            if len(errors) < 20:
                                errors.append("unexpected %d: %s" % (s, body[:200]))
                except Exception as e:  # a reset or refused connection: a crash
                    with lock:
                        if len(errors) < 20:
                            errors.append("%s: %s" % (type(e).__name__, e))
                    conn.close()
                    conn = None
                    time.sleep(0.05)
            if conn:
                conn.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CONNS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        # Feed the running indexer while the clients read.
        rnd = random.Random(7)
        for i in range(NEW_DOCS):
            pid = PATIENTS[i % len(PATIENTS)]
            text_doc(drop, "%s/big%03d.txt" % (pid, i), pid, "BIG:%d" % i,
                     rnd.randbytes(DOC_SIZE // 2).hex().encode())
            if i % 4 == 3:
                time.sleep(0.3)
            if server.poll() is not None or time.monotonic() - t0 > LOAD_LIMIT_S / 2:
                break
        # Until every document is visible to the clients (they read the
        # timelines), the server dies, or the limit.
        want = 3 * len(PATIENTS) + NEW_DOCS
        while time.monotonic() - t0 < LOAD_LIMIT_S and server.poll() is None:
            with lock:
                if len(docs) >= want:
                    break
            time.sleep(0.5)
        time.sleep(2)  # a little more load on the final map
        stop.set()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - t0
        alive = server.poll() is None
        growths = env.log("indexer").count("store map grown")
        follows = env.log("server").count("store map followed")
        print("load %.1f s: %d requests (%d content, %d MiB verified), %d 5xx, %d other, "
              "%d errors; indexer map growths %d, server remaps %d, documents %d/%d"
              % (elapsed, stats["requests"], stats["content"], stats["bytes"] >> 20,
                 stats["5xx"], stats["other"], len(errors), growths, follows, len(docs), want))
        check(alive, "server died during the load (exit %s): %s"
              % (server.returncode, env.log("server")[-3000:]))
        rc = env.stop(server)
        check(rc == 0, "server exit %d after SIGTERM" % rc)
        env.stop(indexer)
        check(not errors, "errors: %s" % errors[:10])
        check(stats["5xx"] == 0, "%d 5xx answers" % stats["5xx"])
        check(growths >= 5, "only %d map growths: the test did not test" % growths)
        check(follows >= 1, "the server never had to follow a growth")
        check(len(docs) == want, "documents seen %d of %d" % (len(docs), want))
        check(stats["content"] > 0, "no content served")
        print("ok   map growth under load")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        return 1
    finally:
        stop.set()
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())

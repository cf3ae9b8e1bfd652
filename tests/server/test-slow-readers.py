#!/usr/bin/python3
"""1,000 slow readers of a large document cannot stop hikae-server (issue
10, item 5).

1,000 TLS connections each ask for a 6 MiB document's content and then read
nothing, or one byte now and then, through a 4 KiB receive buffer (the
server's kernel send buffer takes up to 4 MiB of each answer on loopback,
so the document is larger than that). Beside
them a normal client reads health, status, timelines, search, small and
large content; every one of its requests must succeed (200, bytes matching
the SHA-256).

Before the fix, each such answer held a read transaction (a slot of LMDB's
reader table, 510) until the client had read it, up to 64 per worker: with
16 workers the slow readers took every slot and the normal client got 503.
Now content is streamed in chunks, each copied under a transaction of its
own, so no slot is held while a client reads.

Limits set here (see docs/operations.md): RLIMIT_NOFILE of this process and
so of the server raised to 4096; the server runs with --workers 16,
--max-connections 4096 (1,000 readers + the normal client stay under every
worker's share), --request-timeout 300 (so no slow reader is cut by the
write timeout while the normal client runs). Loopback only; bounded.
"""
import os, random, socket, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hk_it import *  # noqa: E402,F401,F403

SLOW = 1000
BIG = 6 * 1024 * 1024
OPENERS = 8


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    nofile = raise_nofile(4096)
    env = Env("hk-slow-readers-")
    slow = []
    failures = []
    try:
        check(nofile >= SLOW + 200, "RLIMIT_NOFILE %d: cannot open %d connections" % (nofile, SLOW))
        drop = os.path.join(env.tmp, "drop")
        store = os.path.join(env.tmp, "store")
        big_bytes = random.Random(3).randbytes(BIG // 2).hex().encode()
        text_doc(drop, "p/big.txt", "P-0001", "SCAN:BIG", big_bytes, "big")
        text_doc(drop, "p/small.txt", "P-0001", "NOTE:1", b"a short note\n" * 20, "note")
        run(INDEXER, "--store", store, "--drop", drop, "--once")
        server = env.start_server(store, "--workers", "16", "--max-connections", "4096",
                                  "--request-timeout", "300")
        tok = env.token
        s, _, body = env.req("GET", "/api/v1/patients/P-0001/documents", token=tok)
        check(s == 200, "timeline %d" % s)
        import json
        docs = {d["source_id"]: d for d in json.loads(body)["documents"]}
        big, small = docs["SCAN:BIG"], docs["NOTE:1"]
        check(big["size"] == len(big_bytes), "big size")
        request = ("GET /api/v1/documents/%s/content HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % (big["id"], tok)).encode()
        rss0 = rss_kib(server.pid)

        lock = threading.Lock()

        def opener(n):
            for _ in range(n):
                try:
                    raw = socket.socket()
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    raw.settimeout(60)
                    raw.connect(("127.0.0.1", env.port))
                    c = env.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
                    with lock:
                        slow.append(c)
                except OSError as e:
                    with lock:
                        failures.append("slow reader: %s" % e)

        t0 = time.monotonic()
        threads = [threading.Thread(target=opener, args=(SLOW // OPENERS,))
                   for _ in range(OPENERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        check(len(slow) == SLOW, "opened %d slow readers of %d: %s"
              % (len(slow), SLOW, failures[:3]))
        # All handshakes first, then every request: once answers fill the
        # kernel's socket buffers (TCP memory pressure), handshakes slow down.
        for c in slow:
            c.sendall(request)
        opened = time.monotonic() - t0
        time.sleep(1)  # let the server answer every one of them
        nfds = len(os.listdir("/proc/%d/fd" % server.pid))
        check(nfds >= SLOW, "the server holds only %d descriptors: the readers are not there"
              % nfds)
        # Every slow reader got its answer started: read its first byte.
        started = 0
        for c in slow:
            try:
                c.settimeout(10)
                if c.recv(1):
                    started += 1
            except OSError:
                pass
        rnd = random.Random(5)
        normal = {"ok": 0, "failed": 0}

        def normal_req(path, want_sha=None, conn=None):
            try:
                s, h, body = env.req("GET", path, token=tok, conn=conn, timeout=30)
            except OSError as e:
                s, h, body = "%s" % e, {}, b""
            ok = s == 200 and (want_sha is None or
                               (sha256(body) == want_sha == h.get("etag", "").strip('"')))
            normal["ok" if ok else "failed"] += 1
            if not ok and len(failures) < 20:
                failures.append("normal client %s: %s %s" % (path, s, body[:120]))

        t1 = time.monotonic()
        conn = env.conn()
        for i in range(30):
            normal_req("/api/v1/health")
            normal_req("/api/v1/status")
            normal_req("/api/v1/patients?q=P-0001")
            normal_req("/api/v1/patients/P-0001/documents", conn=conn)
            normal_req("/api/v1/documents/%s" % small["id"], conn=conn)
            normal_req("/api/v1/documents/%s/content" % small["id"], small["sha256"], conn=conn)
            if i % 5 == 0:
                normal_req("/api/v1/documents/%s/content" % big["id"], big["sha256"])
            # A byte now and then from some of the slow readers.
            for c in rnd.sample(slow, 20):
                try:
                    c.settimeout(0.2)
                    c.recv(1)
                except OSError:
                    pass
        conn.close()
        rss1 = rss_kib(server.pid)
        alive = server.poll() is None
        print("%d slow readers opened in %.1f s (%d answers started); server: %d fds, "
              "RSS %d -> %d MiB; normal client: %d ok, %d failed in %.1f s"
              % (len(slow), opened, started, nfds, rss0 >> 10, rss1 >> 10, normal["ok"],
                 normal["failed"], time.monotonic() - t1))
        check(alive, "server died: %s" % env.log("server")[-3000:])
        check(started == SLOW, "only %d of %d slow readers got their answer started"
              % (started, SLOW))
        check(normal["failed"] == 0, "normal client failures: %s" % failures[:10])
        for c in slow:
            c.close()
        slow.clear()
        rc = env.stop(server)
        check(rc == 0, "server exit %d after SIGTERM" % rc)
        print("ok   1,000 slow readers and a normal client")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        return 1
    finally:
        for c in slow:
            c.close()
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())

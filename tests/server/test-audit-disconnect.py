#!/usr/bin/python3
"""Issue 10 item 11: with --audit-sync=always, a client that goes away while
its answer waits for the audit sync must not leak that request.

fdatasync is slowed down by a preloaded shim (hk-slow-sync.so), so every
answer is still waiting for its record when its client closes:
 1. clients close mid-sync while the server goes on: their records are
    written, the server answers the next client;
 2. clients close mid-sync and SIGTERM follows at once, with a drain shorter
    than the sync: the answers come back after the event loops ended. Before
    the fix they (and their requests) were never freed.

In the ASan build (HK_SANITIZED=1) the server runs under LeakSanitizer
with tests/lsan.supp, which names only one-off allocations of libraries
(never a whole library), so the leaked answer (a g_new0, with its request
and buffers) is reported. The log goes to the server's stderr, where the
check below reads it (an inherited log_path would hide it)."""
import os, socket, sys, time
import hk_it as hk

N = 12


def server_env(fx, sync_ms):
    supp = os.path.join(hk.SRC, "tests", "lsan.supp")
    env = {"LD_PRELOAD": os.path.join(hk.BUILD, "tests", "server", "hk-slow-sync.so"),
           "HK_SLOW_SYNC_MS": str(sync_ms)}
    if hk.SANITIZED:
        env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                               ":detect_leaks=1:verify_asan_link_order=0")
        env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % supp
    return env


def send_and_vanish(api, tok, n, wait):
    for _ in range(n):
        raw = socket.create_connection(("127.0.0.1", api.port), timeout=10)
        s = api.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(("GET /api/v1/patients/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % (hk.PATIENT, tok)).encode())
        # The server reads the request, writes its record, and waits for
        # the sync: go away inside that window.
        time.sleep(wait)
        s.close()


def stop_clean(fx, p, what):
    rc = fx.stop(p)
    log = fx.log_tail(200000)
    hk.check("LeakSanitizer" not in log, "%s: leak reported:\n%s" % (what, log[-6000:]))
    hk.check(rc == 0, "%s: exit status %d after SIGTERM: %s" % (what, rc, log[-3000:]))


def disconnect_midway(fx):
    p, api = fx.start("--audit-sync", "always", env=server_env(fx, 400))
    tok = api.token("alice")
    before = sum(1 for r in fx.records() if r["action"] == "patient.read")
    send_and_vanish(api, tok, N, 0.1)
    time.sleep(1.5)
    s, _, js = api.req("GET", "/api/v1/patients/%s" % hk.PATIENT, token=tok)
    hk.check(s == 200, "server answers after the disconnects: %d" % s)
    after = sum(1 for r in fx.records() if r["action"] == "patient.read")
    hk.check(after - before == N + 1, "records of the abandoned requests: %d" % (after - before))
    stop_clean(fx, p, "disconnects")
    return "%d clients gone mid-sync" % N


def disconnect_then_stop(fx):
    p, api = fx.start("--audit-sync", "always", "--drain", "1", env=server_env(fx, 2000))
    tok = api.token("alice")
    send_and_vanish(api, tok, 3, 0.1)
    stop_clean(fx, p, "stop during the sync")
    return "LeakSanitizer clean" if hk.SANITIZED else "leak check runs in the ASan build"


if __name__ == "__main__":
    sys.exit(hk.main([("disconnect while the audit sync waits", disconnect_midway),
                      ("disconnect, then SIGTERM before the sync", disconnect_then_stop)]))

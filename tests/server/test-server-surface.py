#!/usr/bin/python3
"""Issue 12 item 1.5: behaviour of hikae-server that had no test.

- Every answer (200, 201, 204, 400, 401, 404, content, thumbnail) carries
  Strict-Transport-Security and X-Content-Type-Options: nosniff.
- Thumbnails of a PDF and a JPEG larger than 256 px, over
  GET /api/v1/documents/{id}/thumbnail: a decodable JPEG whose longest side
  is at most 256 px and more than 0.
- A "running" indexer whose heartbeat is older than the staleness limit is
  reported `stopped` by /api/v1/status and `hikae-admin stats`; a fresh one
  `running`. The heartbeat is written with an old time by hk-test-heartbeat:
  nothing sleeps.
- --help and --version exit 0 with output; --config FILE is read (the
  server comes up from it alone); a bad option exits 2 with one line."""
import json, os, shutil, subprocess, sys, http.client, struct
import hk_it as hk

HEARTBEAT = os.path.join(hk.BUILD, "tests", "server", "hk-test-heartbeat")
SAMPLES = os.path.join(hk.BUILD, "samples", "hikae-samples")


def raw(api, method, path, body=None, token=None):
    c = http.client.HTTPSConnection("127.0.0.1", api.port, context=api.ctx, timeout=30)
    h = {"Authorization": "Bearer " + token} if token else {}
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    payload = r.read()
    headers = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, headers, payload


def jpeg_size(b):
    """(width, height) from a JPEG's SOF marker; asserts the structure."""
    hk.check(b[:3] == b"\xff\xd8\xff", "not a JPEG: %r" % b[:8])
    i = 2
    while i + 4 <= len(b):
        hk.check(b[i] == 0xFF, "broken JPEG marker at %d" % i)
        m = b[i + 1]
        n = struct.unpack(">H", b[i + 2:i + 4])[0]
        if m in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", b[i + 5:i + 9])
            hk.check(b.rstrip(b"\0").endswith(b"\xff\xd9"), "JPEG without EOI")
            return w, h
        i += 2 + n
    raise AssertionError("JPEG without a frame header")


def setup(fx):
    # Sample PDFs and scanned JPEGs (all larger than 256 px) next to the
    # fixture's text documents.
    out = os.path.join(fx.tmp, "samples")
    hk.run(SAMPLES, "-o", out, "-p", "1", "-d", "8", "-j", "1", timeout=600)
    drop = os.path.join(fx.tmp, "drop")
    for sub in os.listdir(os.path.join(out, "drop")):
        shutil.copytree(os.path.join(out, "drop", sub), os.path.join(drop, sub))
    hk.run(hk.INDEXER, "--store", fx.store, "--drop", drop, "--once", timeout=600)
    fx.docs = [json.loads(l) for l in hk.run(hk.ADMIN, "ls", "--store", fx.store).stdout.splitlines()
               if l.strip()]
    fx.p, fx.api = fx.start()
    fx.token = fx.api.token("alice")


def headers_everywhere(fx):
    api, tok = fx.api, fx.token
    doc = fx.docs[0]["id"]
    pdf = next(d["id"] for d in fx.docs if d["content_type"] == "application/pdf")
    cases = [
        ("GET", "/api/v1/health", None, None, 200),
        ("GET", "/api/v1/no-such-thing", None, tok, 404),
        ("GET", "/api/v1/status", None, None, 401),
        ("GET", "/api/v1/status", None, tok, 200),
        ("POST", "/api/v1/session", b"{not json", None, 400),
        ("POST", "/api/v1/session", json.dumps({"user": "alice", "password": "wrong one!"}).encode(),
         None, 401),
        ("POST", "/api/v1/session",
         json.dumps({"user": "alice", "password": hk.PW["alice"]}).encode(), None, 201),
        ("GET", "/api/v1/documents/%s" % doc, None, tok, 200),
        ("GET", "/api/v1/documents/%s/content" % doc, None, tok, 200),
        ("GET", "/api/v1/documents/%s/thumbnail" % pdf, None, tok, 200),
        ("GET", "/api/v1/documents/0000000000000000/content", None, tok, 404),
    ]
    for method, path, body, token, want in cases:
        s, h, _ = raw(api, method, path, body, token)
        hk.check(s == want, "%s %s: %d, expected %d" % (method, path, s, want))
        hk.check(h.get("strict-transport-security", "").startswith("max-age="),
                 "%s %s (%d): no Strict-Transport-Security: %s" % (method, path, s, h))
        hk.check(h.get("x-content-type-options") == "nosniff",
                 "%s %s (%d): no X-Content-Type-Options: nosniff: %s" % (method, path, s, h))
    # A session's end (204) too.
    _, _, js = api.req("POST", "/api/v1/session", {"user": "alice", "password": hk.PW["alice"]})
    s, h, _ = raw(api, "DELETE", "/api/v1/session", None, js["token"])
    hk.check(s == 204 and h.get("x-content-type-options") == "nosniff" and
             "strict-transport-security" in h, "DELETE session: %d %s" % (s, h))
    return "%d answers" % (len(cases) + 1)


def thumbnails(fx):
    seen = {}
    for d in fx.docs:
        if d["content_type"] not in ("application/pdf", "image/jpeg"):
            continue
        s, h, body = raw(fx.api, "GET", "/api/v1/documents/%s/thumbnail" % d["id"], None, fx.token)
        hk.check(s == 200, "thumbnail of %s (%s): %d" % (d["id"], d["content_type"], s))
        hk.check(h.get("content-type") == "image/jpeg", "thumbnail type %s" % h.get("content-type"))
        w, ht = jpeg_size(body)
        hk.check(0 < max(w, ht) <= 256 and min(w, ht) > 0,
                 "thumbnail of %s is %dx%d" % (d["content_type"], w, ht))
        s, _, full = raw(fx.api, "GET", "/api/v1/documents/%s/content" % d["id"], None, fx.token)
        if d["content_type"] == "image/jpeg":
            fw, fh = jpeg_size(full)
            hk.check(max(fw, fh) > 256, "sample JPEG only %dx%d" % (fw, fh))
            # Scaled down, not cropped: the longest side is the bound.
            hk.check(max(w, ht) == 256, "JPEG %dx%d -> thumbnail %dx%d" % (fw, fh, w, ht))
        seen.setdefault(d["content_type"], []).append("%dx%d" % (w, ht))
    hk.check("application/pdf" in seen and "image/jpeg" in seen, "samples lack a type: %s" % seen)
    return " ".join("%s:%s" % (k.split("/")[1], ",".join(v)) for k, v in sorted(seen.items()))


def indexer_state(fx):
    s, _, js = fx.api.req("GET", "/api/v1/status", token=fx.token)
    hk.check(s == 200, "status: %d" % s)
    admin = json.loads(hk.run(hk.ADMIN, "stats", "--store", fx.store).stdout)
    return js["indexer"], admin["indexer"]


def stale_is_stopped(fx):
    # Older than both limits (server 120 s by default, hikae-admin 60 s).
    hk.run(HEARTBEAT, fx.store, "running", "600")
    api_state, admin_state = indexer_state(fx)
    hk.check(api_state == "stopped", "stale heartbeat: /status says %s" % api_state)
    hk.check(admin_state == "stopped", "stale heartbeat: stats says %s" % admin_state)
    hk.run(HEARTBEAT, fx.store, "running", "0")
    api_state, admin_state = indexer_state(fx)
    hk.check(api_state == "running", "fresh heartbeat: /status says %s" % api_state)
    hk.check(admin_state == "running", "fresh heartbeat: stats says %s" % admin_state)
    # Just inside the server's limit when it is set to 30 s: running; past it: stopped.
    p, api = fx.start("--indexer-stale", "30")
    tok = api.token("alice")
    hk.run(HEARTBEAT, fx.store, "running", "20")
    hk.check(api.req("GET", "/api/v1/status", token=tok)[2]["indexer"] == "running",
             "20 s old heartbeat with --indexer-stale 30 is not running")
    hk.run(HEARTBEAT, fx.store, "running", "40")
    hk.check(api.req("GET", "/api/v1/status", token=tok)[2]["indexer"] == "stopped",
             "40 s old heartbeat with --indexer-stale 30 is not stopped")
    hk.check(fx.stop(p) == 0, "server did not stop cleanly: %s" % fx.log_tail())
    # A seal is reported as it is, however old.
    hk.run(HEARTBEAT, fx.store, "sealed", "600")
    api_state, admin_state = indexer_state(fx)
    hk.check(api_state == "sealed" and admin_state == "sealed",
             "old seal: %s / %s" % (api_state, admin_state))


def command_line(fx):
    r = hk.run(hk.SERVER, "--help")
    hk.check("--store" in r.stdout and "--listen" in r.stdout, "--help: %s" % r.stdout[:200])
    r = hk.run(hk.SERVER, "--version")
    hk.check("0." in r.stdout, "--version: %r" % r.stdout)
    for bad in (["--no-such-option"], ["--workers", "many"], ["--indexer-stale", "0"],
                ["--store", fx.store, "extra-argument"]):
        r = hk.run(hk.SERVER, *bad, ok=False)
        hk.check(r.returncode == 2, "%s: exit %d" % (bad, r.returncode))
        lines = r.stderr.strip().splitlines()
        hk.check(len(lines) == 1 and lines[0], "%s: not one line: %r" % (bad, r.stderr))
    r = hk.run(hk.SERVER, "--config", os.path.join(fx.tmp, "missing.conf"), ok=False)
    hk.check(r.returncode in (1, 2) and "missing.conf" in r.stderr,
             "missing --config: %d %r" % (r.returncode, r.stderr))
    # --config alone brings the server up on the port it names.
    port = hk.free_port()
    conf = os.path.join(fx.tmp, "server.conf")
    with open(conf, "w") as f:
        f.write("[hikae-server]\nstore=%s\nstate=%s\nlisten=127.0.0.1:%d\n"
                "tls-cert=%s\ntls-key=%s\nworkers=1\n" %
                (fx.store, fx.state, port, os.path.join(fx.pki, "server.pem"),
                 os.path.join(fx.pki, "server.key")))
    log = open(os.path.join(fx.tmp, "config-server.log"), "w")
    p = subprocess.Popen([hk.SERVER, "--config", conf], stdout=log, stderr=log)
    fx.procs.append(p)
    api = hk.Api(port, os.path.join(fx.pki, "ca.pem"))
    import time
    deadline = time.monotonic() + 60
    while True:
        try:
            if api.req("GET", "/api/v1/health", timeout=5)[0] == 200:
                break
        except OSError:
            pass
        hk.check(p.poll() is None, "server from --config exited %s" % p.returncode)
        hk.check(time.monotonic() < deadline, "server from --config did not come up")
        time.sleep(0.05)
    # Stopped at once after its start (the dummy hash is still being made
    # then: it aborted on g_mutex_clear of a locked mutex before the fix).
    rc = fx.stop(p)
    with open(os.path.join(fx.tmp, "config-server.log"), errors="replace") as f:
        hk.check(rc == 0, "server from --config exit %d: %s" % (rc, f.read()[-2000:]))


sys.exit(hk.main([("setup", setup), ("HSTS and nosniff on every answer", headers_everywhere),
                  ("thumbnails within 256 px", thumbnails),
                  ("stale heartbeat is stopped", stale_is_stopped),
                  ("--help --version --config, bad options", command_line)]))

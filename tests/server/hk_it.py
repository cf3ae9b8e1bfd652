"""Shared set-up of the Python integration tests of hikae-server
(test-map-growth.py, test-slow-readers.py, test-login-flood.py,
test-replace-api.py, test-audit-*.py): real programs, a throwaway CA from
deploy/pki/hk-mkcert, a store made by the real hikae-indexer, accounts made
with hikae-admin, the real hikae-server on a free loopback port over TLS.
Only loopback traffic; every wait is bounded."""
import hashlib, http.client, json, os, re, resource, shutil, signal, socket, ssl
import subprocess, sys, tempfile, time

BUILD = os.environ.get("HK_BUILD_DIR")
SRC = os.environ.get("HK_SOURCE_DIR")
if not BUILD or not SRC:
    print("HK_BUILD_DIR/HK_SOURCE_DIR not set: run through meson test")
    sys.exit(1)
SERVER = os.path.join(BUILD, "server", "hikae-server")
INDEXER = os.path.join(BUILD, "indexer", "hikae-indexer")
MKCERT = os.path.join(SRC, "deploy", "pki", "hk-mkcert")
ADMIN = os.path.join(BUILD, "admin", "hikae-admin")
SANITIZED = bool(os.environ.get("HK_SANITIZED"))
PW = {"alice": "alice long password 1", "audrey": "audrey long password 2",
      "lara": "lara long password 444"}
PASSWORD = PW["alice"]
PATIENT = "0001234567"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run(*args, stdin=None, ok=True, timeout=120):
    r = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=timeout)
    if ok and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (args, r.returncode, r.stdout, r.stderr))
    return r


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def doc(drop, name, meta, content):
    """A content file, then its sidecar (the sidecar is what the indexer
    looks for), each renamed into place whole."""
    path = os.path.join(drop, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".part", "wb") as f:
        f.write(content)
    os.rename(path + ".part", path)
    with open(path + ".mpart", "w") as f:
        json.dump(meta, f, ensure_ascii=False)
    os.rename(path + ".mpart", path + ".meta.json")


def text_doc(drop, name, pid, sid, content, title="load"):
    doc(drop, name, {"patient_id": pid, "source_id": sid, "type": "other", "title": title,
                     "created_at": "2026-11-17T08:00:00+09:00", "content_type": "text/plain",
                     "patient": {"name": "負荷 太郎", "kana": "フカ タロウ",
                                 "birth_date": "1960-01-01", "sex": "M"}}, content)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def request(port, ctx, method, path, body=None, token=None, headers=None, conn=None,
            timeout=30):
    """One request: (status, headers, body bytes). A dict or list body is
    sent as JSON. A given conn is kept open, else one is made and closed."""
    c = conn or http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, payload
    finally:
        if conn is None:
            c.close()


class Api:
    """Requests to one server: bodies come back parsed as JSON (None when
    empty or not JSON) unless raw."""

    def __init__(self, port, ca):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)

    def req(self, method, path, body=None, token=None, headers=None, raw=False, timeout=30):
        s, hdrs, payload = request(self.port, self.ctx, method, path, body, token, headers,
                                   timeout=timeout)
        if raw:
            return s, hdrs, payload
        try:
            js = json.loads(payload) if payload else None
        except ValueError:
            js = None
        return s, hdrs, js

    def login(self, user, password=None):
        """POST /api/v1/session: (status, headers, json)."""
        return self.req("POST", "/api/v1/session",
                        {"user": user, "password": password or PW[user]})

    def token(self, user):
        """A session token of user, whose login must succeed."""
        s, _, js = self.login(user)
        check(s == 201, "login %s: %d" % (user, s))
        return js["token"]


def log_tail(path, n=4000):
    with open(path, errors="replace") as f:
        return f.read()[-n:]


def start_server(store, state, pki, log, *extra, env=None, port=None):
    """Start hikae-server on a free loopback port (or port), its output to
    the file log; returns (process, Api) once /health answers 200."""
    port = port or free_port()
    e = dict(os.environ)
    e.update(env or {})
    with open(log, "w") as out:
        p = subprocess.Popen([SERVER, "--store", store, "--state", state,
                              "--listen", "127.0.0.1:%d" % port,
                              "--tls-cert", os.path.join(pki, "server.pem"),
                              "--tls-key", os.path.join(pki, "server.key")] + list(extra),
                             stdout=out, stderr=out, env=e)
    api = Api(port, os.path.join(pki, "ca.pem"))
    deadline = time.monotonic() + 60
    while True:
        try:
            if api.req("GET", "/api/v1/health", timeout=5)[0] == 200:
                break
        except OSError:
            pass
        if p.poll() is not None or time.monotonic() >= deadline:
            if p.poll() is None:
                p.kill()
                p.wait()
            raise AssertionError("server did not come up (%s): %s"
                                 % (p.returncode, log_tail(log)))
        time.sleep(0.05)
    return p, api


def stop(p, timeout=60):
    """SIGTERM and wait; the exit status (negative: killed by that signal)."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("no exit within %d s of SIGTERM" % timeout)
    return p.returncode


def cleanup(tmp, procs):
    """Kill what still runs, then remove tmp (kept when HK_KEEP_TMP is set)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    if os.environ.get("HK_KEEP_TMP"):
        print("kept", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


class Env:
    """A temp folder with a PKI and a state folder holding user alice."""

    def __init__(self, prefix):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.pki = os.path.join(self.tmp, "pki")
        self.state = os.path.join(self.tmp, "state")
        self.procs = []
        run(MKCERT, self.pki)
        run(ADMIN, "user", "add", "alice", "--state", self.state, stdin=PASSWORD + "\n")
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.pem"))

    def spawn(self, name, argv):
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=log)
        self.procs.append(p)
        return p

    def log(self, name):
        with open(os.path.join(self.tmp, name + ".log"), errors="replace") as f:
            return f.read()

    def start_server(self, store, *extra):
        p, api = start_server(store, self.state, self.pki,
                              os.path.join(self.tmp, "server.log"), *extra)
        self.procs.append(p)
        self.port = api.port
        self.token = api.token("alice")
        return p

    def conn(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=timeout)

    def req(self, method, path, body=None, token=None, headers=None, conn=None, timeout=30):
        """One request: (status, headers, body bytes). A given conn is kept."""
        return request(self.port, self.ctx, method, path, body, token, headers, conn, timeout)

    def stop(self, p, timeout=30):
        return stop(p, timeout)

    def cleanup(self):
        cleanup(self.tmp, self.procs)


class Fixture:
    """A temp folder with a store of `ndocs` text documents of one patient,
    a CA, a state folder with alice (viewer) and audrey (auditor)."""

    def __init__(self, ndocs=2):
        self.tmp = tempfile.mkdtemp(prefix="hk-audit-it-")
        self.store = os.path.join(self.tmp, "store")
        self.state = os.path.join(self.tmp, "state")
        self.pki = os.path.join(self.tmp, "pki")
        self.procs = []
        self.logs = []
        drop = os.path.join(self.tmp, "drop")
        os.makedirs(drop)
        who = {"name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "1950-05-04", "sex": "F"}
        for i in range(ndocs):
            path = os.path.join(drop, "d%04d.txt" % i)
            with open(path, "wb") as f:
                f.write(b"document %d\n" % i)
            with open(path + ".meta.json", "w") as f:
                json.dump({"patient_id": PATIENT, "source_id": "EHR:D:%d" % i,
                           "type": "progress_note", "title": "note %d" % i,
                           "created_at": "2026-11-20T14:03:00+09:00",
                           "content_type": "text/plain", "patient": who}, f,
                          ensure_ascii=False)
        run(INDEXER, "--store", self.store, "--drop", drop, "--once", timeout=600)
        run(MKCERT, self.pki)
        run(ADMIN, "user", "add", "alice", "--state", self.state, stdin=PW["alice"] + "\n")
        run(ADMIN, "user", "add", "audrey", "--role", "auditor", "--state", self.state,
            stdin=PW["audrey"] + "\n")

    def doc_ids(self):
        r = run(ADMIN, "ls", "--store", self.store)
        return sorted({json.loads(l)["id"] for l in r.stdout.splitlines() if l.strip()})

    def start(self, *extra, env=None, state=None):
        """Start hikae-server; returns (process, Api). Its log is kept."""
        port = free_port()
        logpath = os.path.join(self.tmp, "server-%d.log" % port)
        self.logs.append(logpath)
        p, api = start_server(self.store, state or self.state, self.pki, logpath,
                              "--workers", "1", "--request-timeout", "10", *extra,
                              env=env, port=port)
        self.procs.append(p)
        return p, api

    def stop(self, p):
        """SIGTERM and wait; returns the exit status."""
        return stop(p, 60)

    def log_tail(self, n=4000):
        return log_tail(self.logs[-1], n) if self.logs else ""

    def verify(self, *extra, state=None):
        return run(ADMIN, "audit", "verify", "--state", state or self.state, *extra, ok=False)

    def records(self, state=None):
        with open(os.path.join(state or self.state, "audit.log")) as f:
            return [json.loads(l) for l in f if l.strip()]

    def checkpoints(self):
        """The audit checkpoints (seq, hash) the servers logged, oldest first:
        the same lines go to the system journal."""
        out = []
        for path in self.logs:
            with open(path, errors="replace") as f:
                out += [(int(m.group(1)), m.group(2)) for m in
                        re.finditer(r"audit checkpoint (\d+):([0-9a-f]{64})", f.read())]
        return out

    def audit_all(self, api, token, query="", limit=None):
        """Every record of GET /api/v1/audit, following next_cursor; returns
        (records, pages)."""
        recs, pages, cursor = [], 0, None
        while True:
            q = query
            if limit:
                q += "&limit=%d" % limit
            if cursor is not None:
                q += "&cursor=" + cursor
            s, _, js = api.req("GET", "/api/v1/audit?" + q.lstrip("&"), token=token)
            check(s == 200, "audit page: %d %s" % (s, js))
            check("next_cursor" in js, "audit page without next_cursor: %s" % list(js))
            recs += js["records"]
            pages += 1
            cursor = js["next_cursor"]
            check(pages < 10000, "audit pages do not end")
            if cursor is None:
                return recs, pages

    def close(self):
        cleanup(self.tmp, self.procs)


def main(tests, fixture_args=None):
    """Run [(name, fn)] against one Fixture; fn(fx) may return a note."""
    fx = Fixture(**(fixture_args or {}))
    try:
        for name, fn in tests:
            t0 = time.monotonic()
            note = fn(fx)
            print("ok   %-44s %6.2f s %s" % (name, time.monotonic() - t0,
                                            "" if note is None else note))
        return 0
    except AssertionError as e:
        print("FAIL", e)
        print(fx.log_tail())
        return 1
    finally:
        fx.close()

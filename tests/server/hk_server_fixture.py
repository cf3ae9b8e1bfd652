"""Shared set-up of the audit integration tests (tests/server/test-audit-*.py):
a real store made by the real hikae-indexer, a throwaway CA (hk-mkcert),
accounts made by hikae-admin, and the real hikae-server on a free loopback
port over TLS. Only loopback traffic; every wait is bounded."""
import http.client, json, os, re, shutil, signal, socket, ssl, subprocess, sys, tempfile, time

BUILD = os.environ.get("HK_BUILD_DIR")
SRC = os.environ.get("HK_SOURCE_DIR")
if not BUILD or not SRC:
    print("HK_BUILD_DIR/HK_SOURCE_DIR not set")
    sys.exit(1)
SERVER = os.path.join(BUILD, "server", "hikae-server")
INDEXER = os.path.join(BUILD, "indexer", "hikae-indexer")
ADMIN = os.path.join(BUILD, "admin", "hikae-admin")
MKCERT = os.path.join(SRC, "deploy", "pki", "hk-mkcert")
SANITIZED = bool(os.environ.get("HK_SANITIZED"))
PW = {"alice": "alice long password 1", "audrey": "audrey long password 2"}
PATIENT = "0001234567"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run(*args, stdin=None, ok=True, timeout=120):
    r = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=timeout)
    if ok and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (args, r.returncode, r.stdout, r.stderr))
    return r


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Api:
    def __init__(self, port, ca):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)

    def req(self, method, path, body=None, token=None, timeout=30):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                        timeout=timeout)
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        c.close()
        try:
            js = json.loads(payload) if payload else None
        except ValueError:
            js = None
        return r.status, js

    def login(self, user):
        s, js = self.req("POST", "/api/v1/session", {"user": user, "password": PW[user]})
        check(s == 201, "login %s: %d" % (user, s))
        return js["token"]


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
        log = open(logpath, "w")
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen([SERVER, "--store", self.store, "--state", state or self.state,
                              "--listen", "127.0.0.1:%d" % port,
                              "--tls-cert", os.path.join(self.pki, "server.pem"),
                              "--tls-key", os.path.join(self.pki, "server.key"),
                              "--workers", "1", "--request-timeout", "10"] + list(extra),
                             stdout=log, stderr=log, env=e)
        log.close()
        self.procs.append(p)
        self.logs.append(logpath)
        api = Api(port, os.path.join(self.pki, "ca.pem"))
        deadline = time.monotonic() + 60
        while True:
            try:
                if api.req("GET", "/api/v1/health", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            check(p.poll() is None, "server exited (%s): %s" % (p.returncode, self.log_tail()))
            check(time.monotonic() < deadline, "server did not come up")
            time.sleep(0.05)
        return p, api

    def stop(self, p):
        """SIGTERM and wait; returns the exit status."""
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("server did not stop on SIGTERM")

    def log_tail(self, n=4000):
        if not self.logs:
            return ""
        with open(self.logs[-1], errors="replace") as f:
            return f.read()[-n:]

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
            s, js = api.req("GET", "/api/v1/audit?" + q.lstrip("&"), token=token)
            check(s == 200, "audit page: %d %s" % (s, js))
            check("next_cursor" in js, "audit page without next_cursor: %s" % list(js))
            recs += js["records"]
            pages += 1
            cursor = js["next_cursor"]
            check(pages < 10000, "audit pages do not end")
            if cursor is None:
                return recs, pages

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("HK_KEEP_TMP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


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

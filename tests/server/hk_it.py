"""Shared set-up of the load tests of hikae-server (test-map-growth.py,
test-slow-readers.py): real programs, a throwaway CA from deploy/pki/hk-mkcert,
accounts made with hikae-admin, TLS on loopback only, every wait bounded."""
import hashlib, http.client, json, os, resource, shutil, signal, socket, ssl
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
PASSWORD = "alice long password 1"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run(*args, stdin=None, ok=True, timeout=120):
    r = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=timeout)
    if ok and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (args, r.returncode, r.stderr))
    return r


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
        self.port = free_port()
        p = self.spawn("server", [SERVER, "--store", store, "--state", self.state,
                                  "--listen", "127.0.0.1:%d" % self.port,
                                  "--tls-cert", os.path.join(self.pki, "server.pem"),
                                  "--tls-key", os.path.join(self.pki, "server.key")]
                       + list(extra))
        for _ in range(200):
            try:
                if self.req("GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("server did not come up: " + self.log("server")[-2000:])
        s, _, body = self.req("POST", "/api/v1/session",
                              json.dumps({"user": "alice", "password": PASSWORD}).encode())
        check(s == 201, "login: %d" % s)
        self.token = json.loads(body)["token"]
        return p

    def conn(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=timeout)

    def req(self, method, path, body=None, token=None, headers=None, conn=None, timeout=30):
        """One request: (status, headers, body bytes). A given conn is kept."""
        c = conn or self.conn(timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            payload = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, payload
        finally:
            if conn is None:
                c.close()

    def stop(self, p, timeout=30):
        """SIGTERM; the exit status (negative: killed by that signal)."""
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError("no exit within %d s of SIGTERM" % timeout)
        return p.returncode

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("HK_KEEP_TMP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def sha256(b):
    return hashlib.sha256(b).hexdigest()

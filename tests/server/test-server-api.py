#!/usr/bin/python3
"""Integration tests of hikae-server over real TLS on loopback.

Builds a real store with the real hikae-indexer from a hand-written drop
folder, makes a throwaway CA with deploy/pki/hk-mkcert, creates accounts with
the real hikae-admin, starts the real hikae-server on a free loopback port,
and drives every route of interfaces.md. Only loopback traffic; every wait is
bounded. Exit 0 pass, 1 fail: a missing program fails, naming it (never a
skip, never a stand-in).
"""
import base64
import datetime, hashlib, hmac, http.client, json, os, shutil, signal, socket
import resource, ssl, struct, subprocess, sys, tempfile, threading, time, urllib.parse

BUILD = os.environ.get("HK_BUILD_DIR")
SRC = os.environ.get("HK_SOURCE_DIR")
if not BUILD or not SRC:
    print("FAIL: HK_BUILD_DIR/HK_SOURCE_DIR not set: run through meson test"); sys.exit(1)
SERVER = os.path.join(BUILD, "server", "hikae-server")
# The main server of this test is the test-clock build of the same code
# (only common/hk-time.c differs): the test moves its clock through
# HK_TEST_CLOCK_FILE to check session expiry and the lockout window
# without sleeping. The other servers started here are the real binary.
SERVER_TC = os.path.join(BUILD, "server", "hikae-server-testclock")
SESSION_IDLE = 600
SESSION_MAX = 3600
INDEXER = os.path.join(BUILD, "indexer", "hikae-indexer")
MKCERT = os.path.join(SRC, "deploy", "pki", "hk-mkcert")
ADMIN = os.path.join(BUILD, "admin", "hikae-admin")
for p in (SERVER, SERVER_TC, INDEXER, ADMIN, MKCERT):
    if not os.access(p, os.X_OK):
        print("FAIL: missing", p); sys.exit(1)

PASSED = []
TMP = tempfile.mkdtemp(prefix="hk-server-it-")
CLOCK = os.path.join(TMP, "clock")
PROC = None
CTX = {}
PW = {"alice": "alice long password 1", "audrey": "audrey long password 2",
      "tom": "tom long password 333", "lara": "lara long password 444"}


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def set_clock(seconds):
    """Move the test-clock server's hk_time_now() to real time + seconds."""
    with open(CLOCK + ".tmp", "w") as f:
        f.write("%d\n" % int(seconds * 1000000))
    os.replace(CLOCK + ".tmp", CLOCK)


def run(*args, stdin=None, ok=True):
    r = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=60)
    if ok and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (args, r.returncode, r.stderr))
    return r


def doc(drop, name, meta, content):
    path = os.path.join(drop, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)
    with open(path + ".meta.json", "w") as f:
        json.dump(meta, f, ensure_ascii=False)


SX_PID = "S0000777"
SX_MSH = ("MSH|^~\\&|HIS||HIS||20240301120000||%s|1|P|2.5||||||~ISO IR87||ISO 2022-1994\r")
SX_PIDSEG = "PID|0001||S0000777^^^^PI||佐藤^次郎^^^^^L^I~サトウ^ジロウ^^^^^L^P||19450101|M\r"


def ssmix2_msg(root, date, dt, order, ts, data):
    """One SS-MIX2 standardized-storage file of patient SX_PID."""
    d = os.path.join(root, SX_PID[0:3], SX_PID[3:6], SX_PID, date, dt)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%s_%s_%s_%s_%s_01_1" % (SX_PID, date, dt, order, ts)), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("iso2022_jp"))


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

    def req(self, method, path, body=None, token=None, headers=None, raw=False, timeout=10):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                        timeout=timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        if raw:
            return r.status, hdrs, payload
        try:
            js = json.loads(payload) if payload else None
        except ValueError:
            js = None
        return r.status, hdrs, js

    def login(self, user, password=None, otp=None):
        body = {"user": user, "password": password or PW[user]}
        if otp is not None:
            body["otp"] = otp
        return self.req("POST", "/api/v1/session", body)


def totp(secret_b32, t=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = int((t or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def setup():
    global PROC
    drop = os.path.join(TMP, "drop")
    store = os.path.join(TMP, "store")
    state = os.path.join(TMP, "state")
    pki = os.path.join(TMP, "pki")
    hanako = {"name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "1950-05-04", "sex": "F"}
    ichiro = {"name": "田中 一郎", "kana": "たなか いちろう", "birth_date": "1961-12-01", "sex": "M"}
    doc(drop, "a/note1.txt", {"patient_id": "0001234567", "source_id": "EHR:PN:1",
        "type": "progress_note", "title": "経過記録", "created_at": "2026-11-20T14:03:00+09:00",
        "author": "山田 太郎", "department": "外科", "content_type": "text/plain",
        "patient": hanako}, b"first version of the note\n" * 40)
    doc(drop, "a/consent.txt", {"patient_id": "0001234567", "source_id": "EHR:CO:2",
        "type": "consent", "title": "手術同意書", "created_at": "2026-11-18T09:00:00+09:00",
        "content_type": "text/plain", "patient": hanako}, b"consent given\n")
    doc(drop, "b/lab.txt", {"patient_id": "P-0002", "source_id": "LAB:9",
        "type": "lab_report", "title": "検査結果", "created_at": "2026-11-19T08:00:00+09:00",
        "content_type": "text/plain", "patient": ichiro}, b"Na 140 K 4.0\n")
    # A large one: answered from the store's map under a held snapshot, and
    # bigger than the loopback socket buffers for the slow-reader test.
    doc(drop, "c/big.txt", {"patient_id": "P-0002", "source_id": "SCAN:BIG",
        "type": "other", "title": "big", "created_at": "2026-11-17T08:00:00+09:00",
        "content_type": "text/plain", "patient": ichiro},
        b"".join(b"%08d big line of text for the slow reader test\n" % i for i in range(260000)))
    # An SS-MIX2 patient with a penicillin allergy (issue 10, item 1).
    sx = os.path.join(TMP, "ssmix2")
    ssmix2_msg(sx, "-", "ADT-00", "999999999999999", "20240301120000000",
               SX_MSH % "ADT^A08^ADT_A01" + "EVN||202403011200\r" + SX_PIDSEG)
    ssmix2_msg(sx, "-", "ADT-61", "999999999999999", "20240301120000000",
               SX_MSH % "ADT^A60^ADT_A60" + "EVN||202403011200\r" + SX_PIDSEG +
               "IAM|1|DA^薬剤アレルギー^HL70127|1^ペニシリン^99XYZ|SV^重度^HL70128|発疹|A\r")
    run(INDEXER, "--store", store, "--drop", drop, "--ssmix2", sx, "--once")
    # A newer allergy message in EUC-JP, not ISO-2022-JP: it cannot be read,
    # so the allergy must stay and the record must say it could not be read.
    ssmix2_msg(sx, "-", "ADT-61", "999999999999999", "20240305120000000",
               (SX_MSH % "ADT^A60^ADT_A60" + "EVN||202403051200\r" + SX_PIDSEG)
               .encode("iso2022_jp") + "IAM|1|DA|1^ペニシリン\r".encode("euc_jp"))
    # A second version of the note.
    doc(drop, "a/note1.txt", {"patient_id": "0001234567", "source_id": "EHR:PN:1",
        "type": "progress_note", "title": "経過記録", "created_at": "2026-11-20T14:03:00+09:00",
        "author": "山田 太郎", "department": "外科", "content_type": "text/plain",
        "patient": hanako}, b"second version of the note\n" * 40)
    run(INDEXER, "--store", store, "--drop", drop, "--ssmix2", sx, "--once")
    run(MKCERT, pki)
    run(ADMIN, "user", "add", "alice", "--state", state, stdin=PW["alice"] + "\n")
    run(ADMIN, "user", "add", "lara", "--state", state, stdin=PW["lara"] + "\n")
    run(ADMIN, "user", "add", "audrey", "--role", "auditor", "--state", state,
        stdin=PW["audrey"] + "\n")
    r = run(ADMIN, "user", "add", "tom", "--totp", "--state", state, stdin=PW["tom"] + "\n")
    uri = [l for l in r.stdout.splitlines() if l.startswith("totp: otpauth://")][0]
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri[6:]).query)["secret"][0]
    # Short password and common password are refused.
    check(run(ADMIN, "user", "add", "shorty", "--state", state, stdin="short\n", ok=False)
          .returncode == 1, "short password accepted")
    check(run(ADMIN, "user", "add", "common", "--state", state,
              stdin="passwordpassword\n", ok=False).returncode == 1, "common password accepted")
    with open(os.path.join(store, "data.mdb"), "rb") as f:
        store_hash = hashlib.sha256(f.read()).hexdigest()
    port = free_port()
    log = open(os.path.join(TMP, "server.log"), "w")
    set_clock(0)
    env = dict(os.environ, HK_TEST_CLOCK_FILE=CLOCK)
    PROC = subprocess.Popen([SERVER_TC, "--store", store, "--state", state,
                             "--listen", "127.0.0.1:%d" % port,
                             "--tls-cert", os.path.join(pki, "server.pem"),
                             "--tls-key", os.path.join(pki, "server.key"), "--workers", "2",
                             "--session-idle", str(SESSION_IDLE),
                             "--session-max", str(SESSION_MAX), "--request-timeout", "2",
                             "--indexer-stale", "5"], stdout=log, stderr=log, env=env)
    api = Api(port, os.path.join(pki, "ca.pem"))
    for _ in range(100):
        try:
            if api.req("GET", "/api/v1/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.05)
    else:
        raise AssertionError("server did not come up")
    return api, store, state, secret, store_hash


EXTRA = []


def start_server(store, state, *extra):
    """Another hikae-server on the same store, with its own state folder
    (or a shared one) and options; stopped at the end of the run."""
    port = free_port()
    pki = os.path.join(TMP, "pki")
    log = open(os.path.join(TMP, "server-%d.log" % port), "w")
    p = subprocess.Popen([SERVER, "--store", store, "--state", state,
                          "--listen", "127.0.0.1:%d" % port,
                          "--tls-cert", os.path.join(pki, "server.pem"),
                          "--tls-key", os.path.join(pki, "server.key"),
                          "--request-timeout", "2"] + list(extra), stdout=log, stderr=log)
    EXTRA.append(p)
    api = Api(port, os.path.join(pki, "ca.pem"))
    for _ in range(100):
        try:
            if api.req("GET", "/api/v1/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.05)
    else:
        raise AssertionError("extra server did not come up")
    return p, api


def stop_server(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def test_health_and_401(api, ctx):
    s, h, js = api.req("GET", "/api/v1/health")
    check(s == 200 and js == {"status": "ok"}, "health")
    check(h.get("cache-control") == "no-store", "no-store")
    for path in ["/api/v1/status", "/api/v1/patients?q=x", "/api/v1/patients/0001234567",
                 "/api/v1/patients/0001234567/documents", "/api/v1/documents/0000000000000000",
                 "/api/v1/documents/0000000000000000/content",
                 "/api/v1/documents/0000000000000000/thumbnail", "/api/v1/census",
                 "/api/v1/audit"]:
        for tok in (None, "A" * 43, "garbage"):
            s, h, js = api.req("GET", path, token=tok)
            check(s == 401 and js["error"] == "unauthorized", "401 for %s (%s)" % (path, s))
            check("bearer" in h.get("www-authenticate", "").lower(), "WWW-Authenticate")
    s, _, _ = api.req("POST", "/api/v1/print-events", {"patient_id": "x"})
    check(s == 401, "print-events unauthenticated")
    s, _, _ = api.req("DELETE", "/api/v1/session")
    check(s == 401, "logout unauthenticated")


def test_login(api, ctx):
    s, _, js = api.login("alice")
    check(s == 201, "login 201, got %d" % s)
    check(set(js) >= {"token", "expires_at", "user", "role"} and js["role"] == "viewer", js)
    check(len(js["token"]) >= 22, "token length")
    ctx["alice"] = js["token"]
    s, _, js = api.login("audrey")
    check(s == 201 and js["role"] == "auditor", "auditor login")
    ctx["audrey"] = js["token"]
    s, _, js = api.login("alice", "wrong password here")
    check(s == 401 and js["error"] == "invalid_credentials", "wrong password")
    for body in [b"", b"not json", b'{"user":1,"password":2}', b'[]', b'{"user":"alice"}']:
        s, _, js = api.req("POST", "/api/v1/session", body,
                           headers={"Content-Type": "application/json"})
        check(s == 400 and js["error"] == "bad_request", "bad login body %r -> %d" % (body, s))
    try:  # refused with 413, or the connection is cut mid-upload
        s = api.req("POST", "/api/v1/session", b"x" * 100000)[0]
    except (ssl.SSLError, ConnectionError):
        s = 413
    check(s in (400, 413), "huge body refused (%d)" % s)


def test_status(api, ctx):
    s, _, js = api.req("GET", "/api/v1/status", token=ctx["alice"])
    check(s == 200, "status: %d %s" % (s, js))
    check(js["documents"] == 4 and js["patients"] == 3, js)  # 3 notes and the big scan; SS-MIX2 S0000777
    check(js["indexer"] in ("stopped", "running", "sealed") and js["archive_as_of"], js)
    check(js["indexer"] == "stopped", "indexer ran --once: stopped, got %s" % js["indexer"])
    check("last_document_at" in js, js)
    s, _, js = api.req("GET", "/api/v1/status", token=ctx["audrey"])
    check(s == 200, "status for auditors too")


def test_search(api, ctx):
    t = ctx["alice"]
    def ids(q, **kw):
        qs = urllib.parse.urlencode(dict(q=q, **kw))
        s, _, js = api.req("GET", "/api/v1/patients?" + qs, token=t)
        check(s == 200, "search %r -> %d" % (q, s))
        return [p["id"] for p in js["patients"]]
    check(ids("0001234567") == ["0001234567"], "exact id")
    for q in ["ヤマダ", "やまだ", "ﾔﾏﾀﾞ", "ヤマダ　ハナコ", "やまだはなこ"]:
        check(ids(q) == ["0001234567"], "kana %r" % q)
    for q in ["タナカ", "たなか", "ﾀﾅｶ", "ﾀﾅｶ ｲﾁﾛｳ"]:
        check(ids(q) == ["P-0002"], "kana %r" % q)
    check(ids("花子") == ["0001234567"], "name substring")
    check(ids("一郎") == ["P-0002"], "name substring")
    check(ids("1961-12-01") == ["P-0002"], "birth date")
    check(ids("nobody-here") == [], "no match")
    s, _, js = api.req("GET", "/api/v1/patients", token=t)
    check(s == 400, "missing q")
    s, _, js = api.req("GET", "/api/v1/patients?q=a&limit=0", token=t)
    check(s == 400, "limit 0")
    s, _, js = api.req("GET", "/api/v1/patients?q=%ff%fe", token=t)
    check(s == 400, "invalid UTF-8 q")


def test_patient(api, ctx):
    t = ctx["alice"]
    s, _, js = api.req("GET", "/api/v1/patients/0001234567", token=t)
    check(s == 200, "patient")
    for k in ["id", "name", "kana", "birth_date", "sex", "allergies", "problems", "admission"]:
        check(k in js, "patient field %s" % k)
    check(js["name"] == "山田 花子" and js["admission"] is None, js)
    # What the header says of each fact: none recorded is not unreadable.
    for k in ["allergies", "problems", "admission"]:
        check(js[k + "_status"] == "none_recorded" and js[k + "_unreadable"] is None, js)
    check("origin" not in js and "updated_usec" not in js, "store-only fields in the API: %s" % js)
    # The SS-MIX2 patient: an unreadable newer allergy message left the
    # penicillin allergy in place, and the record says why it may be stale.
    s, _, js = api.req("GET", "/api/v1/patients/" + SX_PID, token=t)
    check(s == 200 and js["name"] == "佐藤 次郎", js)
    check([a["allergen"] for a in js["allergies"]] == ["ペニシリン"], "allergy kept: %s" % js)
    check(js["allergies"][0]["type"] == "drug" and js["allergies"][0]["severity"] == "重度", js)
    check(js["allergies_status"] == "unreadable", js)
    un = js["allergies_unreadable"]
    check(un and "ADT-61" in un["reason"] and "ISO-2022-JP" in un["reason"]
          and "20240305120000000" in un["reason"], js)
    check(un["since"].endswith("Z") and un["since"][:2] == "20", js)
    check(js["problems_status"] == "none_recorded" and js["admission_status"] == "none_recorded",
          js)
    s, _, js = api.req("GET", "/api/v1/patients/NOPE", token=t)
    check(s == 404 and js["error"] == "not_found", "unknown patient")
    s, _, js = api.req("GET", "/api/v1/patients/" + "x" * 40, token=t)
    check(s == 404, "overlong id")


def test_documents(api, ctx):
    t = ctx["alice"]
    s, _, js = api.req("GET", "/api/v1/patients/0001234567/documents", token=t)
    check(s == 200 and len(js["documents"]) == 2, "list")
    docs = js["documents"]
    check(docs[0]["title"] == "経過記録" and docs[1]["type"] == "consent", "newest first")
    check(js["next_cursor"] is None, "no cursor")
    d = docs[0]
    for k in ["id", "patient_id", "source_id", "type", "title", "author", "department",
              "created_at", "ingested_at", "content_type", "size", "sha256", "version",
              "versions"]:
        check(k in d, "document field %s" % k)
    check(d["version"] == 2 and len(d["versions"]) == 2, "two versions")
    ctx["doc"] = d
    ctx["consent"] = docs[1]["id"]
    s, _, js = api.req("GET", "/api/v1/patients/0001234567/documents?limit=1", token=t)
    check(s == 200 and len(js["documents"]) == 1 and js["next_cursor"], "page 1")
    cur = urllib.parse.quote(js["next_cursor"])
    s, _, js2 = api.req("GET", "/api/v1/patients/0001234567/documents?limit=1&cursor=" + cur,
                        token=t)
    check(s == 200 and js2["documents"][0]["id"] == ctx["consent"], "page 2")
    s, _, js = api.req("GET", "/api/v1/patients/0001234567/documents?type=consent", token=t)
    check([x["type"] for x in js["documents"]] == ["consent"], "type filter")
    s, _, js = api.req("GET", "/api/v1/patients/0001234567/documents?from=2026-11-19", token=t)
    check([x["type"] for x in js["documents"]] == ["progress_note"], "from filter")
    s, _, js = api.req("GET", "/api/v1/patients/0001234567/documents?to=2026-11-19", token=t)
    check([x["type"] for x in js["documents"]] == ["consent"], "to filter")
    # A date is that day in Japan (+09:00): the lab of 2026-11-19 08:00 JST
    # (2026-11-18 23:00 UTC) is on the 19th, not on the 18th.
    p2 = "/api/v1/patients/P-0002/documents?"
    s, _, js = api.req("GET", p2 + "from=2026-11-19&to=2026-11-19", token=t)
    check([x["type"] for x in js["documents"]] == ["lab_report"], "JST day from/to %s" % js)
    s, _, js = api.req("GET", p2 + "to=2026-11-18", token=t)
    check([x["type"] for x in js["documents"]] == ["other"], "JST day to %s" % js)
    for bad in ["limit=0", "limit=5000", "type=nonsense", "from=yesterday", "cursor=zzz"]:
        s, _, _ = api.req("GET", "/api/v1/patients/0001234567/documents?" + bad, token=t)
        check(s == 400, "bad filter %s -> %d" % (bad, s))
    s, _, _ = api.req("GET", "/api/v1/patients/NOPE/documents", token=t)
    check(s == 404, "unknown patient documents")
    s, _, js = api.req("GET", "/api/v1/documents/" + d["id"], token=t)
    check(s == 200 and js["id"] == d["id"] and js["sha256"] == d["sha256"], "document")
    for bad in ["0000000000000000", "ZZZZ", d["id"].upper()]:
        s, _, _ = api.req("GET", "/api/v1/documents/" + bad, token=t)
        check(s == 404, "unknown document %s" % bad)


def test_content(api, ctx):
    t, d = ctx["alice"], ctx["doc"]
    base = "/api/v1/documents/%s/content" % d["id"]
    s, h, body = api.req("GET", base, token=t, raw=True)
    check(s == 200 and body == b"second version of the note\n" * 40, "current content")
    check(h["etag"].strip('"') == hashlib.sha256(body).hexdigest() == d["sha256"], "ETag = SHA-256")
    check(h["content-type"].startswith("text/plain"), "content type")
    s, h1, body1 = api.req("GET", base + "?version=1", token=t, raw=True)
    check(s == 200 and body1 == b"first version of the note\n" * 40, "version 1")
    check(h1["etag"].strip('"') == hashlib.sha256(body1).hexdigest(), "ETag v1")
    s, _, _ = api.req("GET", base + "?version=9", token=t, raw=True)
    check(s == 404, "missing version")
    s, _, _ = api.req("GET", base + "?version=x", token=t, raw=True)
    check(s == 400, "bad version")
    s, h2, b2 = api.req("GET", base, token=t, raw=True, headers={"If-None-Match": h["etag"]})
    check(s == 304 and b2 == b"", "If-None-Match -> 304")
    s, _, _ = api.req("GET", base, token=t, raw=True, headers={"If-None-Match": '"abc"'})
    check(s == 200, "If-None-Match other -> 200")
    s, h3, b3 = api.req("GET", base, token=t, raw=True, headers={"Range": "bytes=7-13"})
    check(s == 206 and b3 == body[7:14], "Range 206")
    check(h3["content-range"] == "bytes 7-13/%d" % len(body), h3.get("content-range"))
    s, _, b4 = api.req("GET", base, token=t, raw=True, headers={"Range": "bytes=-5"})
    check(s == 206 and b4 == body[-5:], "suffix range")
    s, _, b5 = api.req("GET", base, token=t, raw=True, headers={"Range": "bytes=1000-"})
    check(s == 206 and b5 == body[1000:], "open range")
    s, h6, _ = api.req("GET", base, token=t, raw=True, headers={"Range": "bytes=99999-"})
    check(s == 416 and h6["content-range"] == "bytes */%d" % len(body), "416")
    s, _, _ = api.req("GET", "/api/v1/documents/0000000000000000/content", token=t, raw=True)
    check(s == 404, "unknown content")
    s, _, js = api.req("GET", "/api/v1/documents/%s/thumbnail" % d["id"], token=t)
    check(s == 404, "text has no thumbnail")
    # A large document goes out from the store's map (held snapshot).
    s, _, js = api.req("GET", "/api/v1/patients/P-0002/documents", token=t)
    big = [x for x in js["documents"] if x["source_id"] == "SCAN:BIG"][0]
    ctx["big"] = big
    bbase = "/api/v1/documents/%s/content" % big["id"]
    for _ in range(3):
        s, h, body = api.req("GET", bbase, token=t, raw=True)
        check(s == 200 and len(body) == big["size"], "big content size")
        check(hashlib.sha256(body).hexdigest() == big["sha256"] == h["etag"].strip('"'),
              "big content hash")
    s, _, b7 = api.req("GET", bbase, token=t, raw=True, headers={"Range": "bytes=5000000-5099999"})
    check(s == 206 and b7 == body[5000000:5100000], "big Range")


def test_census_print(api, ctx):
    t = ctx["alice"]
    s, _, js = api.req("GET", "/api/v1/census", token=t)
    check(s == 200 and js["inpatients"] == [], "census")
    s, _, js = api.req("GET", "/api/v1/census?ward=W3", token=t)
    check(s == 200, "census ward")
    body = {"patient_id": "0001234567", "doc_ids": [ctx["doc"]["id"], ctx["consent"]],
            "purpose": "transfer to city hospital"}
    s, _, _ = api.req("POST", "/api/v1/print-events", body, token=t)
    check(s == 204, "print 204 (%d)" % s)
    s, _, _ = api.req("POST", "/api/v1/print-events", {"patient_id": "P-0002",
                      "doc_ids": [ctx["doc"]["id"]], "purpose": "x"}, token=t)
    check(s == 404, "print of another patient's document")
    for bad in [{}, {"patient_id": "0001234567", "doc_ids": []},
                {"patient_id": "0001234567", "doc_ids": [], "purpose": "print"},
                {"patient_id": "0001234567", "doc_ids": [], "purpose": "ward_list "},
                {"patient_id": "0001234567", "purpose": "ward_list"},
                {"patient_id": "0001234567", "doc_ids": ["../../etc"]}, [1, 2]]:
        s, _, _ = api.req("POST", "/api/v1/print-events", bad, token=t)
        check(s == 400, "bad print body %r -> %d" % (bad, s))
    # A ward list prints no document: one event per listed patient, with no
    # documents, under its own purpose; the patient must exist.
    s, _, _ = api.req("POST", "/api/v1/print-events", {"patient_id": "0001234567",
                      "doc_ids": [], "purpose": "ward_list"}, token=t)
    check(s == 204, "ward list print 204 (%d)" % s)
    s, _, _ = api.req("POST", "/api/v1/print-events", {"patient_id": "NOSUCHPATIENT1",
                      "doc_ids": [], "purpose": "ward_list"}, token=t)
    check(s == 404, "ward list print of an unknown patient (%d)" % s)
    s, _, _ = api.req("POST", "/api/v1/print-events", {"patient_id": "P-0002",
                      "doc_ids": [ctx["doc"]["id"]], "purpose": "ward_list"}, token=t)
    check(s == 404, "ward_list purpose does not relax the document check (%d)" % s)


def test_roles(api, ctx):
    s, _, js = api.req("GET", "/api/v1/audit", token=ctx["alice"])
    check(s == 403 and js["error"] == "forbidden", "viewer cannot read audit")
    s, _, js = api.req("GET", "/api/v1/patients/0001234567", token=ctx["audrey"])
    check(s == 403, "auditor cannot read clinical data")
    s, _, js = api.req("GET", "/api/v1/documents/%s/content" % ctx["doc"]["id"],
                       token=ctx["audrey"])
    check(s == 403, "auditor cannot read content")


ROUTES = {
    "/api/v1/session": {"POST", "DELETE"}, "/api/v1/health": {"GET"},
    "/api/v1/status": {"GET"}, "/api/v1/patients": {"GET"},
    "/api/v1/patients/0001234567": {"GET"}, "/api/v1/patients/0001234567/documents": {"GET"},
    "/api/v1/documents/0000000000000000": {"GET"},
    "/api/v1/documents/0000000000000000/content": {"GET"},
    "/api/v1/documents/0000000000000000/thumbnail": {"GET"},
    "/api/v1/census": {"GET"}, "/api/v1/print-events": {"POST"}, "/api/v1/audit": {"GET"},
}


def test_405(api, ctx):
    n = 0
    for path, allowed in ROUTES.items():
        for m in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"]:
            if m in allowed:
                continue
            for tok in (None, ctx["alice"]):
                s, h, _ = api.req(m, path, token=tok, raw=True)
                check(s == 405, "%s %s -> %d" % (m, path, s))
                check(set(x.strip() for x in h["allow"].split(",")) == allowed, "Allow header")
                n += 1
    ctx["n405"] = n


def test_path_tricks(api, ctx):
    t = ctx["alice"]
    tricks = ["/api/v1/documents/..%2f..%2fetc%2fpasswd/content", "/api/v1/%2e%2e/health",
              "/api/v1/documents/%2e%2e", "/api/v1/documents/%00", "/api/v1/patients/a%00b",
              "/api/v1/patients/%c0%ae%c0%ae", "/api/v1/patients/%c0%af", "/api/v1/../v1/health",
              "/api/v1/patients/../../store/data.mdb", "/api/v1/./health", "/api/v1//health",
              "/api/v1/health/", "/api/v1/documents/0000000000000000/content/extra",
              "/api/v1/%68ealth", "/api/v2/health", "/", "/data.mdb",
              "/api/v1/patients/0001234567%2fdocuments", "/api/v1/patients/%E3%83%A4"]
    for p in tricks:
        s, _, _ = api.req("GET", p, token=t, raw=True)
        check(s in (400, 404), "path trick %s -> %d" % (p, s))


def test_lockout(api, ctx, state):
    # A known name and an unknown one behave the same in answer. (Their
    # answer times are compared in bench/login, not here: a wall-clock
    # ratio in a pass/fail test fails under load and proves little.)
    for i in range(5):
        for name in ("lara", "ghost-user"):
            s, _, js = api.login(name, "wrong password number %d" % i)
            check(s == 401 and js["error"] == "invalid_credentials", "%s failure %d" % (name, i))
    for name in ("lara", "ghost-user"):
        s, h, js = api.login(name, PW.get(name, "whatever whatever"))
        check(s == 429 and js["error"] == "locked", "%s locked (%d)" % (name, s))
        check(850 <= js["retry_after_s"] <= 900 and h.get("retry-after"), js)
    # The lock lasts its window (15 min) and no longer: moved on the
    # server's clock, not slept.
    set_clock(840)
    s, _, js = api.login("lara")
    check(s == 429 and js["error"] == "locked", "lara unlocked before the window ends (%d)" % s)
    set_clock(901)
    s, _, js = api.login("lara")
    check(s == 201, "lara still locked after the window (%d %s)" % (s, js))
    s, _, js = api.login("ghost-user", "whatever whatever")
    check(s == 401 and js["error"] == "invalid_credentials",
          "unknown name still locked after the window (%d)" % s)
    set_clock(0)
    run(ADMIN, "user", "unlock", "lara", "--state", state)
    s, _, js = api.login("lara")
    check(s == 201, "unlocked login (%d)" % s)
    run(ADMIN, "user", "unlock", "ghost-user", "--state", state)
    s, _, js = api.login("ghost-user", "whatever whatever")
    check(s == 401, "unknown name unlocked -> 401 again")
    # Admin lock: refused like a wrong password; unlock restores.
    run(ADMIN, "user", "lock", "lara", "--state", state)
    s, _, js = api.login("lara")
    check(s == 401 and js["error"] == "invalid_credentials", "admin-locked")
    run(ADMIN, "user", "unlock", "lara", "--state", state)
    check(api.login("lara")[0] == 201, "after unlock")
    r = run(ADMIN, "user", "list", "--state", state)
    names = [json.loads(l)["name"] for l in r.stdout.splitlines()]
    check(names == ["alice", "audrey", "lara", "tom"], names)


def test_totp(api, ctx, secret):
    # The right password without a code must answer exactly like a wrong
    # password: anything else tells a guesser the password was right.
    s, _, js = api.login("tom")
    s2, _, js2 = api.login("tom", password="not tom's password, wrong")
    check(s == 401 and js["error"] == "invalid_credentials", "no code: %d %s" % (s, js))
    check((s, js) == (s2, js2), "no code answers unlike a wrong password: %s vs %s" % (js, js2))
    # Avoid the last seconds of a step so the code stays valid for both tries.
    if time.time() % 30 > 27:
        time.sleep(3.5)
    code = totp(secret)
    s, _, js = api.login("tom", otp="000000" if code != "000000" else "111111")
    check(s == 401, "wrong otp")
    s, _, js = api.login("tom", otp=code)
    check(s == 201, "totp login (%d %s)" % (s, js))
    s, _, js = api.login("tom", otp=code)
    check(s == 401, "replayed code refused (%d)" % s)


def test_expiry(api, ctx):
    # Idle and maximum age on the server's clock (HK_TEST_CLOCK_FILE): no
    # sleeping, so a slow login under load cannot outlive the idle time.
    # Each step leaves 60 s of margin for real time passing meanwhile.
    census = "/api/v1/census"
    s, _, js = api.login("alice")
    tok = js["token"]
    check(api.req("GET", census, token=tok)[0] == 200, "fresh session")
    set_clock(SESSION_IDLE - 60)
    s, _, js = api.req("GET", census, token=tok)
    check(s == 200, "expired before the idle time (%d %s)" % (s, js))
    set_clock(2 * (SESSION_IDLE - 60))
    s, _, js = api.req("GET", census, token=tok)
    check(s == 200, "use did not renew the idle time (%d %s)" % (s, js))
    set_clock(3 * SESSION_IDLE)
    s, _, js = api.req("GET", census, token=tok)
    check(s == 401, "idle session expired (%d)" % s)
    set_clock(0)
    # In use all along, a session still ends at its maximum age.
    s, _, js = api.login("alice")
    tok = js["token"]
    t = 0
    while t + SESSION_IDLE - 60 <= SESSION_MAX - 60:
        t += SESSION_IDLE - 60
        set_clock(t)
        s, _, js = api.req("GET", census, token=tok)
        check(s == 200, "active session ended at +%d s, before its maximum age (%d)" % (t, s))
    set_clock(SESSION_MAX + 1)
    s, _, js = api.req("GET", census, token=tok)
    check(s == 401, "session outlived its maximum age (%d)" % s)
    set_clock(0)
    s, _, js = api.login("alice")
    tok = js["token"]
    check(api.req("DELETE", "/api/v1/session", token=tok)[0] == 204, "logout")
    check(api.req("GET", "/api/v1/census", token=tok)[0] == 401, "logged out")
    s, _, js = api.login("alice")
    ctx["alice"] = js["token"]
    s, _, js = api.login("audrey")
    ctx["audrey"] = js["token"]


def test_audit_presence(api, ctx):
    s, _, js = api.req("GET", "/api/v1/audit?user=alice", token=ctx["audrey"])
    check(s == 200, "audit read")
    recs = js["records"]
    acts = {(r["action"], r.get("document"), r.get("patient")) for r in recs}
    d = ctx["doc"]["id"]
    for want in [("patient.search", None, "0001234567"), ("patient.read", None, "0001234567"),
                 ("document.list", None, "0001234567"), ("document.read", d, "0001234567"),
                 ("document.content", d, "0001234567")]:
        check(want in acts, "audit has %s" % (want,))
    check(any(r["action"] == "print" and d in r.get("document", "") for r in recs), "print audited")
    check(any(r["action"] == "print" and r.get("patient") == "0001234567" and
              r.get("detail") == "ward_list" and "document" not in r and
              r["outcome"] == "success" and r.get("status") == 204 for r in recs),
          "ward list print audited for its patient, without documents")
    check(any(r["action"] == "print" and r.get("patient") == "NOSUCHPATIENT1" and
              r.get("detail") == "ward_list" and r["outcome"] == "failure" and
              r.get("status") == 404 for r in recs), "unknown ward list patient audited")
    check(any(r["action"] == "login" and r["outcome"] == "success" for r in recs), "login audited")
    check(all(r["client"] == "127.0.0.1" for r in recs if r["action"] != "user.add"), "client")
    # Every content fetch of alice's is there: count them against ours.
    check(sum(1 for r in recs if r["action"] == "document.content") >= 10, "content fetches")
    s, _, js = api.req("GET", "/api/v1/audit?user=ghost-user", token=ctx["audrey"])
    check(any(r["outcome"] == "locked" for r in js["records"]), "lockout audited")
    s, _, js = api.req("GET", "/api/v1/audit?patient=P-0002&limit=5", token=ctx["audrey"])
    check(s == 200 and len(js["records"]) <= 5, "audit filters")
    # Date-only from/to are days in Japan, as on the timeline.
    last = recs[-1]["time"]
    jst = datetime.datetime.fromisoformat(last.replace("Z", "+00:00")) + \
        datetime.timedelta(hours=9)
    day = jst.date()
    q = "/api/v1/audit?from=%s&to=%s" % (day, day)
    s, _, js = api.req("GET", q, token=ctx["audrey"])
    check(s == 200 and any(r["seq"] == recs[-1]["seq"] for r in js["records"]),
          "audit JST day %s misses %s" % (day, last))
    s, _, js = api.req("GET", "/api/v1/audit?to=%s" % (day - datetime.timedelta(days=1)),
                       token=ctx["audrey"])
    check(s == 200 and not any(r["seq"] == recs[-1]["seq"] for r in js["records"]),
          "audit to= the JST day before")
    s, _, _ = api.req("GET", "/api/v1/audit?from=yesterday", token=ctx["audrey"])
    check(s == 400, "bad audit filter")


def test_audit_verify(state):
    r = run(ADMIN, "audit", "verify", "--state", state)
    check("chain intact" in r.stdout, r.stdout)
    log = os.path.join(state, "audit.log")
    with open(log, "rb") as f:
        orig = f.read()
    copy = os.path.join(TMP, "state-copy")
    # Flip one byte at 40 positions spread over the log (the unit test flips
    # every byte of a small log); each must fail verification.
    positions = sorted(set([0, len(orig) - 1, len(orig) - 2] +
                           [i * len(orig) // 40 for i in range(40)]))
    for pos in positions:
        shutil.rmtree(copy, ignore_errors=True)
        os.makedirs(copy)
        shutil.copy(os.path.join(state, "audit.head"), copy)
        b = bytearray(orig)
        b[pos] ^= 0x01
        with open(os.path.join(copy, "audit.log"), "wb") as f:
            f.write(b)
        r = run(ADMIN, "audit", "verify", "--state", copy, ok=False)
        check(r.returncode == 1, "flip at %d of %d not detected" % (pos, len(orig)))
    return len(positions)


def test_store_readonly(store, store_hash):
    pid = PROC.pid
    fds = os.path.join("/proc", str(pid), "fd")
    data = os.path.realpath(os.path.join(store, "data.mdb"))
    found = False
    for fd in os.listdir(fds):
        try:
            target = os.readlink(os.path.join(fds, fd))
        except OSError:
            continue
        if target == data:
            found = True
            with open(os.path.join("/proc", str(pid), "fdinfo", fd)) as f:
                flags = int([l for l in f if l.startswith("flags:")][0].split()[1], 8)
            check(flags & 3 == os.O_RDONLY, "data.mdb opened for writing (flags %o)" % flags)
    check(found, "data.mdb not open")
    with open(os.path.join("/proc", str(pid), "maps")) as f:
        for line in f:
            if line.rstrip().endswith(data):
                check("w" not in line.split()[1], "data.mdb mapped writable: " + line)
    with open(data, "rb") as f:
        check(hashlib.sha256(f.read()).hexdigest() == store_hash, "store bytes changed")


def test_slow_clients(api):
    # An idle TCP connection, an idle TLS connection and a slowloris (one
    # header byte every 0.25 s, about 11 s for the whole request) must all be cut
    # by --request-timeout (2 s) while a normal client is served meanwhile.
    # The claim is structural, not a timing: a read timeout that every byte
    # renews would let the slowloris finish its request and be answered, so
    # it must be cut before its last byte. How soon after the timeout the
    # cut comes is measured in bench/load, not judged here.
    idle = socket.create_connection(("127.0.0.1", api.port), timeout=10)
    tls = api.ctx.wrap_socket(socket.create_connection(("127.0.0.1", api.port), timeout=10),
                              server_hostname="127.0.0.1")
    slow = api.ctx.wrap_socket(socket.create_connection(("127.0.0.1", api.port), timeout=10),
                               server_hostname="127.0.0.1")
    req = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX: a\r\n\r\n"
    cut_after = None
    served = 0
    for i, ch in enumerate(req):
        try:
            slow.send(bytes([ch]))
        except (OSError, ssl.SSLError):
            cut_after = i
        # A cut shows as end of stream (or a reset) on a read that must not
        # wait: TLS 1.3 session tickets make the socket readable without data.
        slow.setblocking(False)
        try:
            if slow.recv(1) == b"":
                cut_after = i
        except (ssl.SSLWantReadError, BlockingIOError):
            pass
        except (OSError, ssl.SSLError):
            cut_after = i
        slow.settimeout(10)
        if cut_after is not None:
            break
        check(api.req("GET", "/api/v1/health")[0] == 200, "normal client served")
        served += 1
        time.sleep(0.25)
    if cut_after is None:
        # Sent whole: answered (the defect) or cut at the very end.
        slow.settimeout(30)
        try:
            got = slow.recv(64)
        except (OSError, ssl.SSLError):
            got = b""
        check(got == b"", "slowloris was answered, not cut: %r" % got[:20])
        cut_after = len(req)
    check(cut_after < len(req), "slowloris not cut before its last byte")
    # Idle connections: the timeout below only stops a hang.
    for name, s in (("idle tcp", idle), ("idle tls", tls)):
        s.settimeout(30)
        try:
            got = s.recv(1)
        except (ConnectionResetError, ssl.SSLError):
            got = b""
        except socket.timeout:
            raise AssertionError("%s connection not closed" % name)
        check(got == b"", "%s got data" % name)
        s.close()
    slow.close()
    return "cut after %d of %d bytes, %d normal requests served" % (cut_after, len(req), served)


def make_state(name, users=("alice",)):
    st = os.path.join(TMP, name)
    for u in users:
        run(ADMIN, "user", "add", u, "--state", st, stdin=PW[u] + "\n")
    return st


def test_revocation(api, ctx, state):
    # hikae-admin acts on the accounts a running server shares: lock, remove
    # and a password change end the user's sessions at the next request.
    s, _, js = api.login("lara")
    check(s == 201, "lara login")
    tok = js["token"]
    check(api.req("GET", "/api/v1/status", token=tok)[0] == 200, "lara session works")
    run(ADMIN, "user", "lock", "lara", "--state", state)
    check(api.req("GET", "/api/v1/status", token=tok)[0] == 401, "session of a locked user")
    run(ADMIN, "user", "unlock", "lara", "--state", state)
    check(api.req("GET", "/api/v1/status", token=tok)[0] == 401, "ended session came back")
    s, _, js = api.login("lara")
    tok = js["token"]
    other = api.login("alice")[2]["token"]
    run(ADMIN, "user", "passwd", "lara", "--state", state, stdin=PW["lara"] + "\n")
    check(api.req("GET", "/api/v1/status", token=tok)[0] == 401, "session after password change")
    check(api.req("GET", "/api/v1/status", token=other)[0] == 200, "other users' sessions kept")
    s, _, js = api.login("lara")
    check(s == 201, "lara login after passwd")
    tok = js["token"]
    run(ADMIN, "user", "remove", "lara", "--state", state)
    check(api.req("GET", "/api/v1/status", token=tok)[0] == 401, "session of a removed user")
    check(api.req("GET", "/api/v1/status", token=other)[0] == 200, "alice still in")


def test_audit_unwritable(store, mode):
    # The audit log cannot grow (RLIMIT_FSIZE set on the running server, so
    # the write fails with EFBIG): every audited request answers 503 and
    # nothing is served; the log stays verifiable. Then the limit is lifted.
    st = make_state("state-fsize-" + mode)
    p, api2 = start_server(store, st, "--workers", "1", "--audit-sync", mode)
    s, _, js = api2.login("alice")
    check(s == 201, "login (%s)" % mode)
    tok = js["token"]
    check(api2.req("GET", "/api/v1/patients?q=0001234567", token=tok)[0] == 200, "served")
    size = os.path.getsize(os.path.join(st, "audit.log"))
    resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
    try:
        for path in ("/api/v1/patients?q=0001234567", "/api/v1/patients/0001234567",
                     "/api/v1/patients/0001234567/documents"):
            s, _, js = api2.req("GET", path, token=tok)
            check(s == 503 and js["error"] == "audit_unavailable",
                  "%s with the audit log full (%s): %d" % (path, mode, s))
        s, _, body = api2.req("GET", "/api/v1/documents/%s/content" % CTX["big"]["id"],
                              token=tok, raw=True)
        check(s == 503 and b"big line" not in body, "content served unaudited (%s)" % mode)
        check(api2.req("GET", "/api/v1/health")[0] == 200, "health needs no audit")
        check(os.path.getsize(os.path.join(st, "audit.log")) == size, "audit log grew")
    finally:
        resource.prlimit(p.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    check(api2.req("GET", "/api/v1/patients?q=0001234567", token=tok)[0] == 200,
          "served again once the log can grow (%s)" % mode)
    stop_server(p)
    r = run(ADMIN, "audit", "verify", "--state", st)
    check(r.returncode == 0, "audit verify after EFBIG (%s)" % mode)


def test_audit_batch(store, mode):
    # Records of concurrent answers are written in batches (one append per
    # loop turn of a worker): 8 keep-alive clients on one worker, 20 reads
    # each. Every answer has exactly one record, none is lost or written
    # twice, the sequence has no gap, and the log verifies.
    st = make_state("state-batch-" + mode)
    p, api2 = start_server(store, st, "--workers", "1", "--audit-sync", mode)
    tok = api2.login("alice")[2]["token"]
    log = os.path.join(st, "audit.log")
    before = len(open(log).read().splitlines())
    statuses, lock = [], threading.Lock()

    def client(n):
        c = http.client.HTTPSConnection("127.0.0.1", api2.port, context=api2.ctx, timeout=30)
        for i in range(20):
            c.request("GET", "/api/v1/patients/0001234567",
                      headers={"Authorization": "Bearer " + tok})
            r = c.getresponse()
            r.read()
            with lock:
                statuses.append(r.status)
        c.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop_server(p)
    check(statuses == [200] * 160, "answers: %s" % sorted(set(statuses)))
    recs = [json.loads(l) for l in open(log).read().splitlines()[before:]]
    reads = [r for r in recs if r.get("action") == "patient.read"]
    check(len(reads) == 160, "%d patient.read records for 160 answers" % len(reads))
    seqs = [r["seq"] for r in recs]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "sequence with a gap")
    check(run(ADMIN, "audit", "verify", "--state", st).returncode == 0, "audit verify (%s)" % mode)
    return "%d records" % len(reads)


def test_connection_cap(store):
    # --max-connections 4 with one worker: a fifth connection waits (accept
    # paused) until one of the four goes, then is served.
    st = make_state("state-cap")
    p, api2 = start_server(store, st, "--workers", "1", "--max-connections", "4",
                           "--request-timeout", "3")
    held = []
    for _ in range(4):
        c = api2.ctx.wrap_socket(socket.create_connection(("127.0.0.1", api2.port), timeout=5),
                                 server_hostname="127.0.0.1")
        held.append(c)
    refused = False
    try:
        s, _, _ = api2.req("GET", "/api/v1/health", timeout=1)
    except (OSError, socket.timeout):
        refused = True
    check(refused, "a fifth connection was served at the cap of 4")
    held.pop().close()
    time.sleep(0.2)
    check(api2.req("GET", "/api/v1/health")[0] == 200, "served once below the cap")
    for c in held:
        c.close()
    stop_server(p)


def test_slow_reader(api, ctx):
    # A client that asks for a large document and stops reading is cut by
    # the write timeout (2 s) while others are served; its held snapshot is
    # released with the connection.
    big = ctx["big"]
    tok = api.login("alice")[2]["token"]
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", api.port))
    c = api.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    c.sendall(("GET /api/v1/documents/%s/content HTTP/1.1\r\nHost: x\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (big["id"], tok)).encode())
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        check(api.req("GET", "/api/v1/health")[0] == 200, "normal client served")
        time.sleep(0.25)
    got = 0
    c.settimeout(5)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += len(b)
    except (ConnectionResetError, ssl.SSLError, socket.timeout):
        pass
    c.close()
    check(got < big["size"], "slow reader got the whole document (%d)" % got)
    return "cut after %d of %d bytes" % (got, big["size"])


def test_sigterm():
    PROC.send_signal(signal.SIGTERM)
    try:
        rc = PROC.wait(timeout=15)
    except subprocess.TimeoutExpired:
        PROC.kill()
        raise AssertionError("server did not stop on SIGTERM")
    check(rc == 0, "exit status %d after SIGTERM" % rc)


def main():
    global PROC
    try:
        api, store, state, secret, store_hash = setup()
        ctx = CTX
        for name, fn, args in [
            ("health and 401", test_health_and_401, (api, ctx)),
            ("login", test_login, (api, ctx)),
            ("status", test_status, (api, ctx)),
            ("search normalization", test_search, (api, ctx)),
            ("patient", test_patient, (api, ctx)),
            ("documents and timeline", test_documents, (api, ctx)),
            ("content, Range, ETag", test_content, (api, ctx)),
            ("census and print events", test_census_print, (api, ctx)),
            ("roles", test_roles, (api, ctx)),
            ("405 on every other method", test_405, (api, ctx)),
            ("path tricks", test_path_tricks, (api, ctx)),
            ("lockout, unlock, no enumeration", test_lockout, (api, ctx, state)),
            ("TOTP and replay", test_totp, (api, ctx, secret)),
            ("expiry and logout", test_expiry, (api, ctx)),
            ("audit presence", test_audit_presence, (api, ctx)),
            ("store read-only", test_store_readonly, (store, store_hash)),
            ("slow and idle clients", test_slow_clients, (api,)),
            ("slow reader of a large document", test_slow_reader, (api, ctx)),
            ("sessions end on lock/remove/passwd", test_revocation, (api, ctx, state)),
            ("503 when audit cannot be written (interval)", test_audit_unwritable,
             (store, "interval")),
            ("503 when audit cannot be written (always)", test_audit_unwritable,
             (store, "always")),
            ("audit batches (interval)", test_audit_batch, (store, "interval")),
            ("audit batches (always)", test_audit_batch, (store, "always")),
            ("connection cap", test_connection_cap, (store,)),
            ("SIGTERM", test_sigterm, ()),
            ("audit verify after flips", test_audit_verify, (state,)),
        ]:
            t0 = time.monotonic()
            res = fn(*args)
            print("ok   %-34s %6.2f s %s" % (name, time.monotonic() - t0,
                                            "" if res is None else res))
        print("405 checks: %d" % ctx["n405"])
        return 0
    except AssertionError as e:
        print("FAIL", e)
        with open(os.path.join(TMP, "server.log")) as f:
            print(f.read()[-3000:])
        return 1
    finally:
        for p in EXTRA:
            if p.poll() is None:
                p.kill()
                p.wait()
        if PROC and PROC.poll() is None:
            PROC.kill()
            PROC.wait()
        if os.environ.get("HK_KEEP_TMP"):
            print("kept", TMP)
        else:
            shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

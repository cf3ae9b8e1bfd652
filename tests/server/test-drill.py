#!/usr/bin/env python3
"""hikae-admin drill against the real hikae-server over TLS on loopback
(issue 11, item 9), with a samples store (SS-MIX2, so there is a census)
indexed by the real hikae-indexer, which keeps running so the archive is
fresh:

- passes against the live server, writes a one-page PDF (pdfinfo) whose
  text (pdftotext) holds the verdict, every step and the archive URL, and a
  JSON twin with every step passed and timed; neither holds the password;
  the patient is the census's first inpatient, or --patient;
- a TOTP account passes with --totp-secret-file and fails login without;
- fails, exit 1, with the step and reason on stderr and a FAIL report, for:
  a wrong password (login), a wrong CA (health: TLS), a stopped indexer, an
  archive older than --max-age, a sealed indexer (freshness), a document
  whose stored bytes no longer match their SHA-256 (document), a stopped
  server (health: connect);
- usage errors exit 2 and write nothing.
Only loopback traffic; every wait is bounded."""
import json, os, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hk_it as hk  # noqa: E402

SAMPLES = os.path.join(hk.BUILD, "samples", "hikae-samples")
HEARTBEAT = os.path.join(hk.BUILD, "tests", "server", "hk-test-heartbeat")
ASOF = os.path.join(hk.BUILD, "tests", "server", "hk-test-asof")
STEPS = ["health", "login", "freshness", "census", "patient_id", "patient_kana", "timeline",
         "document", "logout"]
TITLES = ["稼働確認", "ログイン", "鮮度", "入院患者一覧", "患者検索（ID）", "患者検索（カナ）",
          "文書一覧", "文書取得", "ログアウト", "Health", "Login", "Freshness", "Census",
          "Search by ID", "Search by kana", "Timeline", "Document + SHA-256",
          "Logout"]
PW = "drill long password 77"
CANARY_PID = "DRILL0001"
# A session token: 43 characters of base64url (docs/api.md), alone.
# The ASan build (HK_SANITIZED): LeakSanitizer crashes ("Tracer caught
# signal 11") on the thread-local block of GnuTLS, which GIO dlopens as
# its TLS backend (a bogus DTLS range, GCC 12's LSan); with use_tls=0
# instead it takes GLib's per-thread caches for leaks. So the drill runs
# there with AddressSanitizer and UBSan but without the leak check (and so
# with the fast unwinder: whole stacks only serve the leak suppressions).
DRILL_ENV = dict(os.environ)
if hk.SANITIZED:
    DRILL_ENV["ASAN_OPTIONS"] = (DRILL_ENV.get("ASAN_OPTIONS", "") +
                                 ":detect_leaks=0:fast_unwind_on_malloc=1")
TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
CANARY = b"hikae drill canary document: the bytes whose SHA-256 the drill checks\n"


def need(prog):
    if not shutil.which(prog):
        print("FAIL: %s not found (poppler-utils, scripts/packages.txt)" % prog)
        sys.exit(1)


class Drill:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="hk-drill-it-")
        self.pki = os.path.join(self.tmp, "pki")
        self.pki2 = os.path.join(self.tmp, "pki-other")
        self.state = os.path.join(self.tmp, "state")
        self.store = os.path.join(self.tmp, "store")
        self.procs = []
        self.n = 0
        s = os.path.join(self.tmp, "s")
        hk.run(SAMPLES, "--out", s, "--patients", "6", "--docs-per-patient", "2", "--seed", "3",
               "--ssmix2", "--jobs", "1", timeout=600)
        drop = os.path.join(s, "drop")
        hk.doc(drop, "drill/canary.txt",
               {"patient_id": CANARY_PID, "source_id": "DRILL:CANARY:1", "type": "other",
                "title": "drill canary", "created_at": "2026-11-30T08:00:00+09:00",
                "content_type": "text/plain",
                "patient": {"name": "訓練 花子", "kana": "クンレン ハナコ",
                            "birth_date": "1970-01-01", "sex": "F"}}, CANARY)
        self.sources = ["--drop", drop, "--ssmix2", os.path.join(s, "ssmix2")]
        hk.run(hk.INDEXER, "--store", self.store, *self.sources, "--once", timeout=600)
        hk.run(hk.MKCERT, self.pki)
        hk.run(hk.MKCERT, self.pki2)
        self.ca = os.path.join(self.pki, "ca.pem")
        hk.run(hk.ADMIN, "user", "add", "drill", "--state", self.state, stdin=PW + "\n")
        self.pwfile = self.secret("pw", PW + "\n")
        self.indexer = None

    def secret(self, name, text):
        path = os.path.join(self.tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def start_indexer(self):
        log = open(os.path.join(self.tmp, "indexer.log"), "a")
        self.indexer = subprocess.Popen([hk.INDEXER, "--store", self.store] + self.sources,
                                        stdout=log, stderr=log)
        self.procs.append(self.indexer)

    def start_server(self):
        # Under ASan with whole-stack unwinding (scripts/test), GnuTLS's
        # handshake in the drill takes seconds: more than the default
        # --request-timeout of 10 s would give it.
        slow = ["--request-timeout", "120"] if hk.SANITIZED else []
        self.server, self.api = hk.start_server(
            self.store, self.state, self.pki, os.path.join(self.tmp, "server.log"),
            "--workers", "1", *slow)
        self.procs.append(self.server)
        self.url = "https://127.0.0.1:%d" % self.api.port
        self.token = None

    def status(self):
        if not self.token:
            s, _, js = self.api.login("drill", PW)
            hk.check(s == 201, "test login: %d" % s)
            self.token = js["token"]
        s, _, js = self.api.req("GET", "/api/v1/status", token=self.token)
        hk.check(s == 200, "status: %d" % s)
        return js

    def wait_indexer(self, state):
        deadline = time.monotonic() + 60
        while self.status()["indexer"] != state:
            hk.check(time.monotonic() < deadline,
                     "indexer never %s: %s" % (state, self.status()))
            time.sleep(0.1)

    def drill(self, *extra, user="drill", pwfile=None, ca=None, server=None, code=None):
        """Run the drill into a fresh report folder: (rc, stdout, stderr,
        folder, json or None, pdf text or None)."""
        self.n += 1
        rep = os.path.join(self.tmp, "report-%02d" % self.n)
        argv = [hk.ADMIN, "drill", "--server", server or self.url, "--ca", ca or self.ca,
                "--user", user, "--password-file", pwfile or self.pwfile, "--report", rep]
        r = subprocess.run(argv + list(extra), capture_output=True, text=True, timeout=300,
                           env=DRILL_ENV)
        if code is not None:
            hk.check(r.returncode == code, "drill %s: exit %d, want %d\n%s%s"
                     % (extra, r.returncode, code, r.stdout, r.stderr))
        files = sorted(os.listdir(rep)) if os.path.isdir(rep) else []
        js = text = None
        if files:
            hk.check(len(files) == 2 and re.fullmatch(r"hikae-drill-\d{8}T\d{6}Z\.json", files[0])
                     and files[1] == files[0][:-5] + ".pdf", "report files: %s" % files)
            with open(os.path.join(rep, files[0])) as f:
                js = json.load(f)
            pdf = os.path.join(rep, files[1])
            info = hk.run("pdfinfo", pdf).stdout
            hk.check(re.search(r"^Pages:\s+1$", info, re.M), "PDF is not one page: %s" % info)
            text = hk.run("pdftotext", pdf, "-").stdout
            self.last_pdf = pdf
        return r.returncode, r.stdout, r.stderr, rep, js, text

    def expect_fail(self, step, why, *extra, **kw):
        """The drill exits 1 naming step, with why in its reason, and still
        writes a FAIL report that says so."""
        rc, out, err, rep, js, text = self.drill(*extra, code=1, **kw)
        hk.check(re.search(r"FAIL at step %s: .*%s" % (step, why), err),
                 "stderr does not name step %s / %r: %s" % (step, why, err))
        hk.check(js is not None, "no report for a failed drill (%s)" % step)
        hk.check(js["verdict"] == "FAIL" and js["failed_step"] == step,
                 "JSON verdict %s failed_step %s, want FAIL %s"
                 % (js["verdict"], js["failed_step"], step))
        hk.check(re.search(why, js["failed_reason"]), "JSON reason %r lacks %r"
                 % (js["failed_reason"], why))
        hk.check([s["name"] for s in js["steps"]] == STEPS, "steps: %s" % js["steps"])
        st = {s["name"]: s for s in js["steps"]}
        hk.check(st[step]["result"] == "fail", "step %s: %s" % (step, st[step]))
        flat = re.sub(r"\s+", " ", text)
        hk.check(re.search(r"判定 / Verdict\s+不合格\s+FAIL\s", text),
                 "PDF verdict is not 不合格 FAIL:\n" + text)
        hk.check(step in flat, "PDF does not name the step %s" % step)
        hk.check(PW not in text and PW not in json.dumps(js, ensure_ascii=False),
                 "the password is in the report")
        hk.check(not TOKEN.search(text) and not TOKEN.search(json.dumps(js)),
                 "something like a session token is in the report")
        return js, text

    def close(self):
        hk.cleanup(self.tmp, self.procs)


def passes(d):
    rc, out, err, rep, js, text = d.drill(code=0)
    hk.check(js["verdict"] == "PASS" and js["failed_step"] is None, "verdict: %s" % js)
    hk.check([s["name"] for s in js["steps"]] == STEPS,
             "steps: %s" % [s["name"] for s in js["steps"]])
    for s in js["steps"]:
        hk.check(s["result"] == "pass", "step %s: %s" % (s["name"], s))
        hk.check(isinstance(s["ms"], int) and isinstance(s["us"], int) and s["us"] > 0 and
                 abs(s["ms"] - s["us"] / 1000) <= 0.5, "ms/us of %s: %r %r"
                 % (s["name"], s["ms"], s["us"]))
    hk.check(isinstance(js["total_ms"], (int, float)) and
             js["total_ms"] >= max(s["ms"] for s in js["steps"]), "total_ms %r" % js["total_ms"])
    hk.check(js["server"] == d.url and js["user"] == "drill", "server/user: %s" % js)
    f = js["freshness"]
    hk.check(f["indexer"] == "running" and f["max_age_min"] == 15 and
             isinstance(f["age_s"], int) and -300 <= f["age_s"] <= 15 * 60,
             "freshness: %s" % f)
    # The patient: the census's first inpatient; the document: the newest
    # one of its timeline.
    s, _, census = d.api.req("GET", "/api/v1/census", token=d.token)
    first = census["inpatients"][0]["patient_id"]
    hk.check(js["patient_id"] == first and js["patient_from"] == "census",
             "patient %s (%s), census first %s" % (js["patient_id"], js["patient_from"], first))
    s, _, tl = d.api.req("GET", "/api/v1/patients/%s/documents?limit=50" % first, token=d.token)
    newest = [x["id"] for x in tl["documents"] if not x["withdrawn"]][0]
    hk.check(js["document_id"] == newest, "document %s, newest %s" % (js["document_id"], newest))
    # The PDF: verdict, every step, the archive, the operator.
    flat = re.sub(r"\s+", " ", text)
    for want in ["訓練報告", "Downtime drill report", "合格", "PASS", d.url, "drill", "JST",
                 "鮮度", "Freshness"] + TITLES:
        hk.check(want in flat, "PDF text lacks %r:\n%s" % (want, text))
    hk.check(re.search(r"判定 / Verdict\s+合格\s+PASS\s", text),
             "PDF verdict is not 合格 PASS:\n" + text)
    hk.check("FAIL" not in text and "不合格" not in text, "a passing PDF says FAIL")
    hk.check(PW not in text and PW not in json.dumps(js, ensure_ascii=False) and
             not TOKEN.search(text) and not TOKEN.search(json.dumps(js)),
             "password or token in the report")
    # stdout: one line a step, and the verdict.
    for name in STEPS:
        hk.check(re.search(r"^\s+%s\s+PASS\s+[0-9.]+ ms" % name, out, re.M),
                 "stdout lacks step %s:\n%s" % (name, out))
    hk.check("verdict: PASS" in out, out)
    # Page 1 as PNG, kept beside the report for a look (HK_KEEP_TMP=1).
    hk.run("pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", d.last_pdf,
           os.path.join(rep, "page"))
    return "%.0f ms over %d steps" % (js["total_ms"], len(STEPS))


def passes_patient(d):
    rc, out, err, rep, js, text = d.drill("--patient", CANARY_PID, code=0)
    hk.check(js["patient_id"] == CANARY_PID and js["patient_from"] == "--patient", str(js))
    ls = hk.run(hk.ADMIN, "ls", "--store", d.store, "--patient", CANARY_PID).stdout
    ids = {json.loads(l)["id"] for l in ls.splitlines() if l.strip()}
    hk.check(js["document_id"] in ids, "document %s not the canary's %s"
             % (js["document_id"], ids))
    d.canary_doc = js["document_id"]


def totp(d):
    r = hk.run(hk.ADMIN, "user", "add", "tina", "--totp", "--state", d.state,
               stdin="tina long password 123\n")
    secret = re.search(r"secret=([A-Z2-7]+)", r.stdout + r.stderr).group(1)
    pw = d.secret("tina-pw", "tina long password 123\n")
    js, _ = d.expect_fail("login", "invalid_credentials", user="tina", pwfile=pw)
    hk.check(js["steps"][-1]["result"] == "skipped", "logout ran without a session")
    rc, out, err, rep, js, text = d.drill("--totp-secret-file", d.secret("tina-totp", secret + "\n"),
                                          user="tina", pwfile=pw, code=0)
    hk.check("TOTP" in js["steps"][1]["detail"], "login detail: %s" % js["steps"][1])
    hk.check(secret not in text and secret not in json.dumps(js), "TOTP secret in the report")


def wrong_password(d):
    js, _ = d.expect_fail("login", "HTTP 401 invalid_credentials",
                          pwfile=d.secret("badpw", "not the drill password 1\n"))
    st = {s["name"]: s["result"] for s in js["steps"]}
    hk.check(st["health"] == "pass" and all(st[n] == "skipped" for n in STEPS[2:]), str(st))


def wrong_ca(d):
    js, _ = d.expect_fail("health", "TLS: .*not signed by the --ca",
                          ca=os.path.join(d.pki2, "ca.pem"))
    hk.check(all(s["result"] == "skipped" for s in js["steps"][1:]), str(js["steps"]))


def usage(d):
    for argv, why in [([], "needs --server"),
                      (["--server", "http://127.0.0.1:1", "--ca", d.ca, "--user", "drill",
                        "--password-file", d.pwfile], "https://"),
                      (["--server", d.url, "--ca", d.ca, "--user", "drill", "--password-file",
                        d.pwfile, "--max-age", "0"], "--max-age"),
                      (["--server", d.url, "--ca", d.ca, "--user", "drill", "--password-file",
                        d.pwfile, "--patient", "../x"], "--patient"),
                      (["--server", d.url, "--ca", d.ca, "--user", "drill", "--password-file",
                        d.pwfile, "extra"], "unexpected argument")]:
        rep = os.path.join(d.tmp, "usage-report")
        r = hk.run(hk.ADMIN, "drill", *argv, "--report", rep, ok=False)
        hk.check(r.returncode == 2 and why in r.stderr, "usage %s: %d %s"
                 % (argv, r.returncode, r.stderr))
        hk.check(not os.path.exists(rep), "a usage error wrote a report")
    r = hk.run(hk.ADMIN, "--help")
    hk.check(re.search(r"^\s+drill --server URL --ca FILE --user NAME --password-file FILE",
                       r.stdout, re.M), "hikae-admin --help lacks drill:\n" + r.stdout)


def indexer_stopped(d):
    hk.check(hk.stop(d.indexer) == 0, "indexer did not stop cleanly")
    d.wait_indexer("stopped")
    js, text = d.expect_fail("freshness", "indexer stopped")
    st = {s["name"]: s["result"] for s in js["steps"]}
    hk.check(all(st[n] == "pass" for n in STEPS if n != "freshness"),
             "only freshness may fail: %s" % st)
    hk.check("停止 / stopped" in text, "PDF lacks the indexer state:\n" + text)


def archive_old(d):
    # A running indexer (fresh heartbeat) whose archive is two hours old.
    hk.run(HEARTBEAT, d.store, "running", "0")
    hk.run(ASOF, d.store, "7200")
    d.wait_indexer("running")
    js, text = d.expect_fail("freshness", r"archive as of \S+ is 1[12]\d min old \(limit 15 min\)")
    hk.check(js["freshness"]["age_s"] >= 7200 and js["freshness"]["indexer"] == "running",
             str(js["freshness"]))
    # The same archive is fresh enough for a 3-hour limit.
    rc, out, err, rep, js, text = d.drill("--max-age", "180", code=0)


def sealed(d):
    hk.run(ASOF, d.store, "0")
    hk.run(HEARTBEAT, d.store, "sealed", "0")
    d.wait_indexer("sealed")
    js, text = d.expect_fail("freshness", r"indexer sealed \(test seal\)")
    hk.check(js["freshness"]["sealed_reason"] == "test seal", str(js["freshness"]))
    hk.run(HEARTBEAT, d.store, "running", "0")


def corrupt_document(d):
    """Flip one byte of the canary's stored content, in place, under the
    running server: the drill must see that the bytes no longer match the
    SHA-256 the archive gives."""
    path = os.path.join(d.store, "data.mdb")
    with open(path, "r+b") as f:
        data = f.read()
        found = [m.start() for m in re.finditer(re.escape(CANARY), data)]
        hk.check(found, "canary bytes not found in data.mdb")
        for at in found:
            f.seek(at)
            f.write(b"H")
    try:
        js, _ = d.expect_fail("document", "the %d bytes received hash to SHA-256 [0-9a-f]{16}…, "
                                          "the archive says" % len(CANARY),
                              "--patient", CANARY_PID)
        hk.check(js["document_id"] == d.canary_doc, str(js))
    finally:
        with open(path, "r+b") as f:
            for at in found:
                f.seek(at)
                f.write(CANARY[:1])


def server_stopped(d):
    hk.check(hk.stop(d.server) == 0, "server did not stop cleanly")
    js, text = d.expect_fail("health", "connect: .*Connection refused")
    hk.check(d.url in re.sub(r"\s+", "", text), "PDF lacks the archive URL")


def main():
    need("pdftotext")
    need("pdfinfo")
    need("pdftoppm")
    d = Drill()
    try:
        d.start_indexer()
        d.start_server()
        d.wait_indexer("running")
        for name, fn in [("passes, PDF and JSON", passes),
                         ("passes with --patient", passes_patient),
                         ("TOTP secret file", totp),
                         ("wrong password -> login", wrong_password),
                         ("wrong CA -> health (TLS)", wrong_ca),
                         ("usage errors exit 2", usage),
                         ("indexer stopped -> freshness", indexer_stopped),
                         ("archive too old -> freshness", archive_old),
                         ("indexer sealed -> freshness", sealed),
                         ("hash mismatch -> document", corrupt_document),
                         ("server stopped -> health", server_stopped)]:
            t0 = time.monotonic()
            note = fn(d)
            print("ok   %-36s %6.2f s %s" % (name, time.monotonic() - t0, note or ""))
        return 0
    except AssertionError as e:
        print("FAIL", e)
        print(hk.log_tail(os.path.join(d.tmp, "server.log")))
        return 1
    finally:
        d.close()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Torture fault: the server's --state folder on a tmpfs that fills up
(tests/torture/faults.sh state-full; docs/reliability.md). Usage:
HK_BUILD_DIR=... HK_SOURCE_DIR=... fault-state-full.py MOUNTED_TMPFS

While full, a login and every read must answer 503 and the server's log must
say why (fail closed: nothing served unaudited); the audit log must still
verify. Then space returns: what the server does is reported."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.environ.get("HK_SOURCE_DIR", "."), "tests", "server"))
import hk_it  # noqa: E402

mnt = sys.argv[1]
fx = hk_it.Fixture(ndocs=3)
ok = True


def note(s):
    print("  " + s, flush=True)


def expect(cond, what):
    global ok
    note(("ok: " if cond else "NOT MET: ") + what)
    ok = ok and cond


try:
    state = os.path.join(mnt, "state")
    shutil.copytree(fx.state, state)
    os.chmod(state, 0o700)
    p, api = fx.start(state=state)
    tok = api.token("alice")
    doc = fx.doc_ids()[0]
    reads = [("GET", "/api/v1/patients/" + hk_it.PATIENT),
             ("GET", "/api/v1/patients/%s/documents" % hk_it.PATIENT),
             ("GET", "/api/v1/documents/%s/content" % doc)]
    for m, path in reads:
        s, _, _ = api.req(m, path, token=tok, raw=True)
        expect(s == 200, "before: %s %s -> %d" % (m, path, s))
    before = len(fx.records(state))
    # Fill the file system to the last byte.
    with open(os.path.join(mnt, "filler"), "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as e:
            note("filler written until: %s" % e)
    st = os.statvfs(mnt)
    note("free on the state file system: %d bytes" % (st.f_bavail * st.f_frsize))
    log_before = len(hk_it.log_tail(fx.logs[-1], 10 ** 7))
    # A full file system still takes appends into the slack of a file's last
    # page: reads are served (and audited) until audit.log needs a new page.
    # Read until the first refusal (bounded), then check that every read
    # answered 200 has its audit record, and that everything is refused.
    statuses = []
    first_no = None
    for i in range(400):
        m, path = reads[i % len(reads)]
        s, _, body = api.req(m, path, token=tok, raw=True)
        statuses.append(s)
        if s != 200:
            first_no = (m, path, s, body[:160].decode(errors="replace"))
            break
    served = statuses.count(200)
    note("full: %d reads answered 200 before the first refusal: %s" % (served, first_no))
    expect(first_no is not None and first_no[2] == 503 and "audit_unavailable" in first_no[3],
           "full: a read is refused with 503 audit_unavailable once audit.log cannot grow")
    recs_full = len(fx.records(state))
    after_refusal = []
    for m, path in reads:
        s, _, body = api.req(m, path, token=tok, raw=True)
        after_refusal.append(s)
    expect(all(s == 503 for s in after_refusal), "full: every later read answers 503: %s" % after_refusal)
    nrec = len(fx.records(state))
    s, _, js = api.login("alice")
    new = fx.records(state)[nrec:]
    logins = [r for r in new if r.get("action") == "login" and r.get("outcome") == "success"]
    # The design is "nothing unaudited": a login whose record fits in what
    # is left of audit.log's last page is served, audited; one that does
    # not fit is refused.
    note("full: login alice -> %d %s; audit records it added: %s" % (
        s, (js or {}).get("error"), [(r.get("action"), r.get("outcome")) for r in new]))
    expect(s == 503 or (s == 201 and len(logins) == 1),
           "full: a login is refused (503) or, when served, audited")
    tok2 = js.get("token") if isinstance(js, dict) else None
    if tok2:
        s, _, _ = api.req("GET", reads[0][1], token=tok2, raw=True)
        note("a token issued while full reads with %d" % s)
    log = hk_it.log_tail(fx.logs[-1], 10 ** 7)[log_before:]
    lines = sorted(set(l.split("] ", 1)[-1] for l in log.splitlines() if "error" in l or "warning" in l))
    note("server log while full:")
    for l in lines[:8]:
        note("  " + l[:240])
    expect(any("audit log write failed" in l for l in lines), "the log says the audit log cannot be written")
    # Every read answered 200 while full has its record: the records the
    # full phase added are at least the reads served (plus nothing else was
    # answered 200).
    expect(recs_full - before >= served,
           "nothing served unaudited: %d reads served while full, %d records added" % (served, recs_full - before))
    # Space returns.
    os.unlink(os.path.join(mnt, "filler"))
    after = []
    for m, path in reads:
        s, _, _ = api.req(m, path, token=tok, raw=True)
        after.append(s)
    s_login = api.login("alice")[0]
    note("space back, same server: reads -> %s, login -> %d" % (after, s_login))
    hk_it.stop(p)
    p2, api2 = fx.start(state=state)
    tok3 = api2.token("alice")
    s, _, _ = api2.req("GET", reads[0][1], token=tok3, raw=True)
    note("after a restart: login 201, read -> %d" % s)
    hk_it.stop(p2)
    v = fx.verify(state=state)
    expect(v.returncode == 0, "audit verify after all: %s" % (v.stdout + v.stderr).strip().splitlines()[-1:])
    recs = fx.records(state)
    note("audit records: %d before the fill, %d at the end" % (before, len(recs)))
finally:
    fx.close()
print("state-full: " + ("PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)

#!/usr/bin/python3
"""Issue 10 item 8: the audit log cannot be shortened unnoticed.

 1. Serve, stop; cut the last 15 records of audit.log; restart the server
    and make one request. `hikae-admin audit verify` must fail and name the
    gap ("log ends at seq X, anchor says Y: 15 records missing"). Before the
    fix the restarted server rewrote audit.head from the cut log and the
    chain verified.
 2. The same cut, with audit.head forged to match the cut log: the file
    anchor is fooled, but the checkpoint the server sent to the journal
    (also on its stderr) is not: verify --expect SEQ:HASH fails, naming the
    gap."""
import os, shutil, sys
import hk_it as hk

CUT = 15


def serve_some(fx, state=None):
    p, api = fx.start(state=state)
    tok = api.token("alice")
    for _ in range(20):
        s, _, _ = api.req("GET", "/api/v1/patients/%s" % hk.PATIENT, token=tok)
        hk.check(s == 200, "patient read: %d" % s)
    hk.check(fx.stop(p) == 0, "server exit status")


def cut(state, n):
    path = os.path.join(state, "audit.log")
    with open(path, "rb") as f:
        lines = f.read().splitlines(True)
    with open(path, "wb") as f:
        f.write(b"".join(lines[:-n]))
    return len(lines), len(lines) - n


def one_request(fx, state=None):
    p, api = fx.start(state=state)
    tok = api.token("alice")
    s, _, _ = api.req("GET", "/api/v1/patients/%s" % hk.PATIENT, token=tok)
    hk.check(s == 200, "request after restart: %d" % s)
    hk.check(fx.stop(p) == 0, "server exit status")


def cut_restart_request(fx):
    serve_some(fx)
    fx.first_cp = fx.checkpoints()  # this server's only
    fx.spare = os.path.join(fx.tmp, "state-spare")
    shutil.copytree(fx.state, fx.spare)
    r = fx.verify()
    hk.check(r.returncode == 0 and "chain intact" in r.stdout, "intact log: " + r.stdout)
    total, left = cut(fx.state, CUT)
    gap = "log ends at seq %d, anchor says %d: %d records missing" % (left, total, CUT)
    one_request(fx)
    r = fx.verify()
    hk.check(r.returncode == 1, "verify passed a cut log after a restart: " + r.stdout)
    hk.check("TRUNCATED" in r.stdout and gap in r.stdout, "gap not named: " + r.stdout)
    recs = fx.records()
    hk.check(recs[left]["action"] == "audit.truncated" and recs[left]["seq"] == left + 1,
             "truncated record: %s" % recs[left])
    return r.stdout.strip()


def forged_anchor_vs_journal(fx):
    state = fx.spare
    cps = fx.first_cp
    hk.check(cps, "no audit checkpoint logged")
    seq, h = cps[-1]
    last = hk.run(hk.ADMIN, "audit", "verify", "--state", state, "--expect", "%d:%s" % (seq, h),
                  ok=False)
    hk.check(last.returncode == 0 and "checkpoint" in last.stdout, "checkpoint: " + last.stdout)
    total, left = cut(state, CUT)
    hk.check(seq == total, "last checkpoint %d, log had %d" % (seq, total))
    # Forge the anchor so that it names the new last record.
    recs = fx.records(state)
    size = os.path.getsize(os.path.join(state, "audit.log"))
    with open(os.path.join(state, "audit.head"), "w") as f:
        f.write("%020d %s %020d\n" % (recs[-1]["seq"], recs[-1]["hash"], size))
    one_request(fx, state)
    r = fx.verify(state=state)
    hk.check(r.returncode == 0, "the forged anchor is consistent: " + r.stdout)
    r = fx.verify("--expect", "%d:%s" % (seq, h), state=state)
    hk.check(r.returncode == 1, "verify --expect passed a cut log: " + r.stdout)
    hk.check("TRUNCATED" in r.stdout and "checkpoint says %d" % seq in r.stdout,
             "gap not named: " + r.stdout)
    r = fx.verify("--expect", "%d:%s" % (seq, "0" * 64), state=fx.spare)
    hk.check(r.returncode == 1, "a wrong checkpoint hash passes")
    r = fx.verify("--expect", "12:xyz", state=fx.spare)
    hk.check(r.returncode == 2, "a malformed --expect is a usage error")
    return r.stdout.strip() or "ok"


if __name__ == "__main__":
    sys.exit(hk.main([("cut, restart, one request: verify fails", cut_restart_request),
                      ("forged anchor: the journal checkpoint catches it",
                       forged_anchor_vs_journal)]))

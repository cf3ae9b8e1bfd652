#!/usr/bin/env python3
"""The kill loop of tests/torture/kill-indexer.sh (see there).

Starts the indexer on a store, sends SIGKILL after a random delay, reads
CLOCK_MONOTONIC (time.monotonic_ns) just before the kill, and compares it
with the indexer's write-transaction trace (HK_TXN_TRACE). Runs verify
after every kill (or every Nth). When an indexer finishes on its own, the
round's store is compared with the reference and a new round starts on an
empty store; after the last kill the indexer runs to the end and that
store is compared too. Exit 0 only if every comparison and every verify
passed."""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

STATS = ("documents", "versions", "patients", "blobs", "thumbnails", "quarantined", "withdrawn")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def view(admin, store):
    """ls minus ingested_at, quarantine minus at, stats counts."""
    ls = []
    for line in run([admin, "ls", "--store", store]).stdout.splitlines():
        d = json.loads(line)
        d.pop("ingested_at", None)
        ls.append(json.dumps(d, sort_keys=True, ensure_ascii=False))
    q = []
    for line in run([admin, "quarantine", "--store", store]).stdout.splitlines():
        d = json.loads(line)
        d.pop("at", None)
        q.append(json.dumps(d, sort_keys=True, ensure_ascii=False))
    st = json.loads(run([admin, "stats", "--store", store]).stdout)
    return sorted(ls), sorted(q), {k: st.get(k) for k in STATS}


def compare(ref, got):
    """(lost, duplicates, other differences) of got against ref."""
    rkeys = collections.Counter((json.loads(x)["id"], json.loads(x)["version"]) for x in ref[0])
    gkeys = collections.Counter((json.loads(x)["id"], json.loads(x)["version"]) for x in got[0])
    lost = sum((rkeys - gkeys).values())
    dups = sum((gkeys - rkeys).values())
    # A second version of one source document with the same bytes is a
    # duplicate too; the uninterrupted run has none.
    per_sha = collections.Counter((json.loads(x)["source_id"], json.loads(x)["sha256"]) for x in got[0])
    dups += sum(n - 1 for n in per_sha.values() if n > 1)
    diffs = []
    if ref[0] != got[0]:
        diffs.append("ls differs: %d lines only in the reference, %d only in the store" % (
            len(set(ref[0]) - set(got[0])), len(set(got[0]) - set(ref[0]))))
    if ref[1] != got[1]:
        diffs.append("quarantine differs: %s vs %s" % (ref[1], got[1]))
    if ref[2] != got[2]:
        diffs.append("stats differ: %s vs %s" % (ref[2], got[2]))
    return lost, dups, diffs


def read_trace(path):
    ev = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[0] in ("begin", "commit", "abort"):
                    ev.append((parts[0], int(parts[1])))
    except FileNotFoundError:
        pass
    return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--indexer", required=True)
    ap.add_argument("--admin", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-delay-ms", type=float, default=5)
    ap.add_argument("--max-delay-ms", type=float, default=400)
    ap.add_argument("--verify-every", type=int, default=1)
    ap.add_argument("--targeted-every", type=int, default=2)
    ap.add_argument("--max-in-txn-ms", type=float, default=15)
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    ref = view(a.admin, os.path.join(a.work, "ref"))
    store = os.path.join(a.work, "st")
    trace = os.path.join(a.work, "trace")
    env = dict(os.environ, HK_TXN_TRACE=trace)
    t0 = time.monotonic()
    kills = inside = outside_none = late = 0
    verifies = verify_fail = no_store = 0
    rounds = lost_total = dups_total = 0
    failures = []
    ntargeted = inside_targeted = 0
    attempts = 0
    round_kills = 0
    shutil.rmtree(store, ignore_errors=True)

    def end_round(why):
        nonlocal rounds, lost_total, dups_total, round_kills
        rounds += 1
        lost, dups, diffs = compare(ref, view(a.admin, store))
        lost_total += lost
        dups_total += dups
        v = run([a.admin, "verify", "--store", store])
        if v.returncode != 0:
            diffs.append("verify at the round's end: " + (v.stdout + v.stderr).strip()[-300:])
        print("round %d (%s): %d kills, lost %d, duplicates %d%s" % (
            rounds, why, round_kills, lost, dups, "; " + "; ".join(diffs) if diffs else ", equal to the uninterrupted run"),
            flush=True)
        failures.extend("round %d: %s" % (rounds, d) for d in diffs)
        round_kills = 0

    while kills < a.kills and attempts < 3 * a.kills + 10:
        attempts += 1
        try:
            os.unlink(trace)
        except FileNotFoundError:
            pass
        delay = rng.uniform(a.min_delay_ms, a.max_delay_ms) / 1000
        with open(os.path.join(a.work, "run.log"), "w") as log:
            p = subprocess.Popen([a.indexer, "--store", store] + a.args, stderr=log, env=env)
            targeted = a.targeted_every > 0 and (kills + 1) % a.targeted_every == 0
            if targeted:
                # Wait (bounded) for the nth begin of this run, then kill a
                # random 0-max_in_txn ms later: aimed at write transactions.
                nth = rng.randint(1, 3)
                after = rng.uniform(0, a.max_in_txn_ms) / 1000
                limit = time.monotonic() + 20
                while p.poll() is None and time.monotonic() < limit:
                    if sum(1 for e in read_trace(trace) if e[0] == "begin") >= nth:
                        break
                    time.sleep(0.0005)
                delay = after
            try:
                rc = p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                t_kill = time.monotonic_ns()
                os.kill(p.pid, signal.SIGKILL)
                rc = p.wait()
        if rc == 0:
            end_round("the indexer finished on its own")
            shutil.rmtree(store, ignore_errors=True)
            continue
        if rc != -signal.SIGKILL:
            failures.append("indexer exited %d: %s" % (rc, open(os.path.join(a.work, "run.log")).read()[-300:]))
            break
        kills += 1
        round_kills += 1
        ntargeted += targeted
        ev = read_trace(trace)
        before = [e for e in ev if e[1] < t_kill]
        late += sum(1 for e in ev if e[1] >= t_kill)
        if before and before[-1][0] == "begin":
            inside += 1
            inside_targeted += targeted
        elif not before:
            outside_none += 1
        if not os.path.exists(os.path.join(store, "data.mdb")):
            no_store += 1  # killed before it created the store: nothing to verify
        elif kills % a.verify_every == 0:
            verifies += 1
            v = run([a.admin, "verify", "--store", store])
            if v.returncode != 0:
                verify_fail += 1
                failures.append("verify after kill %d: %s" % (kills, (v.stdout + v.stderr).strip()[-300:]))
                keep = os.path.join(a.work, "failed-verify-%d" % kills)
                if not os.path.exists(keep):
                    shutil.copytree(store, keep)
        if kills % 50 == 0:
            print("%d kills, %d inside a write transaction, %.0f s" % (kills, inside, time.monotonic() - t0),
                  flush=True)
    # Let the last round finish uninterrupted, then compare.
    p = subprocess.run([a.indexer, "--store", store] + a.args, capture_output=True, text=True, env=env,
                       timeout=1800)
    if p.returncode != 0:
        failures.append("the final restart exited %d: %s" % (p.returncode, p.stderr[-300:]))
    end_round("after the last kill, restarted to the end")
    wall = time.monotonic() - t0
    print("kills: %d (attempts %d)" % (kills, attempts))
    print("  at a random delay of %.0f-%.0f ms after the start: %d, of which inside a write transaction: %d" % (
        a.min_delay_ms, a.max_delay_ms, kills - ntargeted, inside - inside_targeted))
    print("  0-%.0f ms after the 1st-3rd traced begin of the run: %d, of which inside a write transaction: %d" % (
        a.max_in_txn_ms, ntargeted, inside_targeted))
    print("kills inside a write transaction (last traced event before the kill was a begin): %d (%.1f%%)" % (
        inside, 100.0 * inside / max(kills, 1)))
    print("kills before the first write transaction of their run: %d" % outside_none)
    print("trace lines stamped after the kill time (signal in flight): %d" % late)
    print("kills before the store existed (no verify possible): %d" % no_store)
    print("rounds compared with the uninterrupted run: %d" % rounds)
    print("documents lost: %d" % lost_total)
    print("duplicates: %d" % dups_total)
    print("verify runs: %d (every %d kill%s), failed: %d -> verify passes every time: %s" % (
        verifies, a.verify_every, "" if a.verify_every == 1 else "s", verify_fail,
        "yes" if verify_fail == 0 and verifies > 0 else "no"))
    print("wall time: %.0f s" % wall)
    for f in failures[:20]:
        print("FAIL: " + f, file=sys.stderr)
    ok = not failures and kills == a.kills and lost_total == 0 and dups_total == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

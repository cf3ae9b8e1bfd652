#!/usr/bin/env python3
"""tests/fuzz/campaign.py BUILD_FUZZ_DIR OUT_DIR [TARGET[=CPU_SECONDS[/RUNS]]...]

The long fuzz campaign of docs/reliability.md. Each target runs until it has
made RUNS executions (default 10,000,000) or used CPU_SECONDS of its own CPU
time (default 3600: one CPU-hour), whichever comes first; JOBS targets run at
once (default 2), at nice 19 so that other work on the machine goes first.
CPU time, not wall time, is what is capped, so a busy machine makes the
campaign slower but not shorter. TARGET=CPU_SECONDS/RUNS sets one target's
caps: what it still needs when earlier runs (from the corpus they left,
kept as seeds) already gave it part of its CPU-hour or executions.

Targets, seed folders and sanitizer options are read from the fuzz build's
own test list (meson introspect), so they are the ones CI runs. New inputs
are kept in OUT_DIR/corpus-TARGET (a rerun continues from them), libFuzzer's
output in OUT_DIR/TARGET.log, findings in OUT_DIR/TARGET-crash-* and so on.
At the end a Markdown table goes to standard output and OUT_DIR/summary.md.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

RUNS = int(os.environ.get("RUNS", "10000000"))
CPU_SECONDS = float(os.environ.get("CPU_SECONDS", "3600"))
JOBS = int(os.environ.get("JOBS", "2"))
# A hang detector, in wall seconds: at nice 19 on a busy machine an input
# that takes 1 s alone can take 25 s (the CI regression run's limit).
TIMEOUT = int(os.environ.get("TIMEOUT", "300"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of one process, from /proc (fields 14 and 15)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def summarise(name, log, out, cpu, wall):
    text = open(log, errors="replace").read()
    execs = re.findall(r"stat::number_of_executed_units: (\d+)", text)
    if not execs:
        execs = re.findall(r"^#(\d+)\s", text, re.M)
    covs = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", text)
    cov, ft, corp = covs[-1] if covs else ("?", "?", "?")
    finds = sorted(f for f in os.listdir(out)
                   if f.startswith(name + "-") and
                   re.search(r"-(crash|leak|timeout|oom)-", f))
    slow = [f for f in os.listdir(out) if f.startswith(name + "-slow-unit-")]
    return {"target": name, "execs": int(execs[-1]) if execs else 0,
            "cov": cov, "ft": ft, "corpus": corp, "cpu": cpu, "wall": wall,
            "findings": finds, "slow": len(slow)}


def start(test, out):
    name = test["name"]
    runs = test.get("runs", RUNS)
    exe = test["cmd"][1]
    if not os.path.isabs(exe):
        exe = os.path.join(BUILD, exe)
    seeds = test["cmd"][2:]
    corpus = os.path.join(out, "corpus-" + name)
    os.makedirs(corpus, exist_ok=True)
    env = dict(os.environ, **test["env"])
    # A rerun (to finish a target's CPU-hour) keeps the earlier run's log.
    n = 1
    while os.path.exists(os.path.join(out, name + (".%d" % n if n > 1 else "") + ".log")):
        n += 1
    log = open(os.path.join(out, name + (".%d" % n if n > 1 else "") + ".log"), "w")
    cmd = [exe, f"-runs={runs}", f"-timeout={TIMEOUT}", "-rss_limit_mb=2560",
           "-max_len=65536", "-print_final_stats=1",
           "-artifact_prefix=" + os.path.join(out, name + "-"), corpus] + seeds
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            preexec_fn=lambda: os.nice(19))
    return {"name": name, "proc": proc, "log": log.name, "t0": time.monotonic(),
            "cpu": 0.0, "cpu_cap": test.get("cpu", CPU_SECONDS)}


def main():
    global BUILD
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    BUILD = os.path.abspath(sys.argv[1])
    out = os.path.abspath(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    tests = json.loads(subprocess.check_output(
        ["meson", "introspect", BUILD, "--tests"]))
    tests = [t for t in tests if t["name"].startswith("fuzz-")]
    if len(sys.argv) > 3:
        caps = {}
        for arg in sys.argv[3:]:
            name, _, cap = arg.partition("=")
            cpu, _, runs = cap.partition("/")
            caps[name] = {k: v for k, v in (("cpu", float(cpu) if cpu else None),
                                            ("runs", int(runs) if runs else None)) if v}
        want = list(caps)
        tests = sorted((dict(t, **caps[t["name"]]) for t in tests if t["name"] in caps),
                       key=lambda t: want.index(t["name"]))
    queue, running, done = list(tests), [], []
    while queue or running:
        while queue and len(running) < JOBS:
            running.append(start(queue.pop(0), out))
            print(f"started {running[-1]['name']}", flush=True)
        time.sleep(5)
        for r in list(running):
            c = cpu_seconds(r["proc"].pid)
            if c is not None:
                r["cpu"] = c
            if r["proc"].poll() is None and r["cpu"] >= r["cpu_cap"]:
                # libFuzzer prints its final stats on SIGINT, then exits.
                r["proc"].send_signal(signal.SIGINT)
                r["proc"].wait()
            if r["proc"].poll() is not None:
                running.remove(r)
                s = summarise(r["name"], r["log"], out, r["cpu"],
                              time.monotonic() - r["t0"])
                s["rc"] = r["proc"].returncode
                done.append(s)
                print(f"ended {r['name']}: {s['execs']} runs, "
                      f"{s['cpu']:.0f} CPU s, exit {s['rc']}", flush=True)
    lines = ["| target | executions | CPU time | wall time | cov / ft | corpus "
             "| findings | slow inputs (> 10 s wall) |", "|---|---|---|---|---|---|---|---|"]
    for s in done:
        lines.append(
            f"| `{s['target']}` | {s['execs']:,} | {s['cpu'] / 60:.0f} min "
            f"| {s['wall'] / 60:.0f} min | {s['cov']} / {s['ft']} | {s['corpus']} "
            f"| {', '.join(s['findings']) or 'none'} | {s['slow']} |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(table)
    print(table)
    # A finding, or a target that stopped on its own before either cap, fails.
    bad = [s for s in done if s["findings"] or
           (s["rc"] not in (0, 72, 130) and s["rc"] is not None)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Ransomware drill (issue 12, part 3, item 3): one attack on a running
indexer while the real server serves the archive over TLS.

Run through tests/torture/ransomware.sh ATTACK [BUILD_DIR]; ATTACK is
inplace, rename or sidecar. Steps, all real programs, loopback only:

1. hikae-samples writes a drop folder and an SS-MIX2 tree; hikae-indexer
   --once ingests them; `hikae-admin ls` gives every document's current
   version and SHA-256 (the pre-attack archive).
2. hikae-server starts on a free loopback port with a throwaway CA
   (deploy/pki/hk-mkcert); hikae-indexer runs as a daemon (--poll-interval
   1, default tripwires: 10 suspect files, 50 valid replacements, 300 s).
3. A reader thread logs in and reads continuously (timelines and contents
   of random documents), checking every content's SHA-256 and every
   timeline entry's sha256 against the pre-attack hashes. Bounded: at most
   HK_DRILL_MAX_READS requests (default 20000) and the drill's own time.
4. The attacker goes through every file of both trees in random order:
   - inplace: `openssl enc -aes-256-cbc -pbkdf2 -pass pass:x` of the file,
     written over the file itself (same inode) or renamed over it, at random;
   - rename: the encrypted copy written as FILE.locked, FILE deleted;
   - sidecar: every drop-folder sidecar rewritten as valid JSON with the
     patient ID swapped to another patient's (and the title changed), or its
     content file replaced by another document's valid bytes; every SS-MIX2
     lab message rewritten with a changed (still valid) value.
5. It waits (bounded) until /api/v1/status says sealed, reads on for a few
   seconds more, then compares every document's current version SHA-256
   with the pre-attack one.

Prints the figures and one JSON line `RESULT {...}`. Exit 0 when every goal
is met (0 good versions superseded, 0 read errors, status sealed), 1 when
one is not (each failed goal is named), 2 on a set-up failure."""
import hashlib, json, os, random, subprocess, sys, tempfile, threading, time
from datetime import datetime

SRC = os.environ.get("HK_SOURCE_DIR")
sys.path.insert(0, os.path.join(SRC or ".", "tests", "server"))
import hk_it as hk  # noqa: E402

ATTACKS = ("inplace", "rename", "sidecar")
SAMPLES = os.path.join(hk.BUILD, "samples", "hikae-samples")
MAX_READS = int(os.environ.get("HK_DRILL_MAX_READS", "20000"))
SEED = int(os.environ.get("HK_DRILL_SEED", "12"))
PAUSE = float(os.environ.get("HK_DRILL_PAUSE", "0.02"))  # between two files
SEAL_WAIT = int(os.environ.get("HK_DRILL_SEAL_WAIT", "180"))  # seconds, after the attack


def now_s():
    return time.time()


def ls_current(store):
    """{doc id: (version, sha256, patient_id, withdrawn)} of current versions."""
    r = hk.run(hk.ADMIN, "ls", "--store", store)
    cur = {}
    for line in r.stdout.splitlines():
        v = json.loads(line)
        if v.get("current"):
            cur[v["id"]] = (v["version"], v["sha256"], v.get("patient_id"), v.get("withdrawn"))
    return cur


def quarantine(store):
    r = hk.run(hk.ADMIN, "quarantine", "--store", store)
    return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]


class Reader(threading.Thread):
    """Reads continuously and checks each answer against the pre-attack hashes."""

    def __init__(self, api, before, deadline):
        super().__init__(daemon=True)
        self.api, self.before, self.deadline = api, before, deadline
        self.stop = threading.Event()
        self.requests = self.errors = self.timelines = self.contents = 0
        self.first_errors = []
        self.renumbered = set()
        self.rng = random.Random(SEED + 1)

    def err(self, what):
        self.errors += 1
        if len(self.first_errors) < 10:
            self.first_errors.append(what)

    def run(self):
        try:
            token = self.api.token("alice")
        except Exception as e:  # noqa: BLE001 - counted, reported
            self.err("login: %s" % e)
            return
        ids = sorted(self.before)
        patients = sorted({v[2] for v in self.before.values()})
        while (not self.stop.is_set() and self.requests < MAX_READS
               and time.monotonic() < self.deadline):
            self.requests += 1
            try:
                if self.requests % 4 == 0:
                    pid = self.rng.choice(patients)
                    s, _, js = self.api.req("GET", "/api/v1/patients/%s/documents?limit=1000" % pid,
                                            token=token)
                    self.timelines += 1
                    if s != 200:
                        self.err("timeline %s: %d" % (pid, s))
                        continue
                    for d in js["documents"]:
                        b = self.before.get(d["id"])
                        if b is None or d["sha256"] != b[1]:
                            self.err("timeline %s: %s v%s %s, before v%s %s" % (
                                pid, d["id"], d["version"], d["sha256"][:12], b and b[0],
                                b and b[1][:12]))
                        elif d["version"] != b[0]:
                            # Same bytes, another version number: counted
                            # apart (not an error of what is served).
                            self.renumbered.add(d["id"])
                else:
                    doc = self.rng.choice(ids)
                    s, h, body = self.api.req("GET", "/api/v1/documents/%s/content" % doc,
                                              token=token, raw=True)
                    self.contents += 1
                    if s != 200:
                        self.err("content %s: %d" % (doc, s))
                    elif hashlib.sha256(body).hexdigest() != self.before[doc][1]:
                        self.err("content %s: bytes differ from the pre-attack version" % doc)
            except Exception as e:  # noqa: BLE001 - counted, reported
                self.err("request %d: %r" % (self.requests, e))


def enc(path, out):
    subprocess.run(["openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-pass", "pass:x",
                    "-in", path, "-out", out], check=True, capture_output=True, timeout=60)


def attack_inplace(path, rng):
    tmp = path + ".enc~"
    enc(path, tmp)
    if rng.random() < 0.5:  # written over the file itself: same inode
        with open(tmp, "rb") as f:
            data = f.read()
        with open(path, "r+b") as f:
            f.write(data)
            f.truncate()
        os.unlink(tmp)
    else:
        os.rename(tmp, path)


def attack_rename(path, rng):
    enc(path, path + ".locked")
    os.unlink(path)


def sidecar_targets(drop, ssmix2):
    """What the sidecar attack rewrites: drop-folder sidecars, and SS-MIX2 lab
    messages (a still-valid message with another value)."""
    out = []
    for root, _, files in os.walk(drop):
        out += [os.path.join(root, f) for f in files if f.endswith(".meta.json")]
    for root, _, files in os.walk(ssmix2):
        out += [os.path.join(root, f) for f in files if "OML-11" in root + f]
    return out


def attack_sidecar(path, rng, ctx):
    if path.endswith(".meta.json"):
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
        content = path[: -len(".meta.json")]
        if rng.random() < 0.5 or not ctx["contents"]:
            others = [p for p in ctx["patients"] if p != meta["patient_id"]]
            meta["patient_id"] = rng.choice(others)
            meta["title"] = meta.get("title", "") + " (rewritten)"
        else:
            # Valid-looking bytes of another document of the same type.
            same = [c for c in ctx["contents"] if c != content
                    and os.path.splitext(c)[1] == os.path.splitext(content)[1]
                    and os.path.exists(c)]
            if same:
                with open(rng.choice(same), "rb") as f:
                    data = f.read()
                with open(content + ".x~", "wb") as f:
                    f.write(data)
                os.rename(content + ".x~", content)
        with open(path + ".x~", "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)
        os.rename(path + ".x~", path)
    else:
        with open(path, "rb") as f:
            data = f.read()
        i = data.find(b"\rOBX|1|NM|")
        if i >= 0:
            # The 6th field (the value) of the first OBX gains a leading 9.
            parts = data[i + 1:].split(b"|", 6)
            if len(parts) == 7:
                parts[5] = b"9" + parts[5]
                data = data[: i + 1] + b"|".join(parts)
        else:
            data += b"\rNTE|1||rewritten"
        with open(path + ".x~", "wb") as f:
            f.write(data)
        os.rename(path + ".x~", path)


def all_files(*roots):
    out = []
    for r in roots:
        for root, _, files in os.walk(r):
            out += [os.path.join(root, f) for f in files]
    return sorted(out)


def parse_rfc3339(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def main():
    attack = sys.argv[1] if len(sys.argv) > 1 else ""
    if attack not in ATTACKS:
        print("usage: ransomware-drill.py inplace|rename|sidecar", file=sys.stderr)
        return 2
    for p in (SAMPLES, hk.INDEXER, hk.ADMIN, hk.SERVER):
        if not os.access(p, os.X_OK):
            print("missing program: %s (build it first)" % p, file=sys.stderr)
            return 2
    tmp = tempfile.mkdtemp(prefix="hk-ransomware-%s-" % attack)
    procs = []
    res = {"attack": attack}
    try:
        s = os.path.join(tmp, "s")
        store, state, pki = (os.path.join(tmp, n) for n in ("store", "state", "pki"))
        hk.run(SAMPLES, "--out", s, "--patients", "20", "--docs-per-patient", "6",
               "--seed", str(SEED), "--ssmix2")
        drop, ssmix2 = os.path.join(s, "drop"), os.path.join(s, "ssmix2")
        src_args = ["--store", store, "--drop", drop, "--ssmix2", ssmix2]
        hk.run(hk.INDEXER, *src_args, "--once", timeout=900)
        before = ls_current(store)
        q0 = len(quarantine(store))
        res["documents"] = len(before)
        hk.run(hk.MKCERT, pki)
        hk.run(hk.ADMIN, "user", "add", "alice", "--state", state, stdin=hk.PASSWORD + "\n")
        p, api = hk.start_server(store, state, pki, os.path.join(tmp, "server.log"))
        procs.append(p)
        ilog = open(os.path.join(tmp, "indexer.log"), "w")
        # HK_DRILL_INDEXER_ARGS: more indexer options, e.g. a tripwire set
        # so high that it never trips (to see the drill's checks fail).
        extra = os.environ.get("HK_DRILL_INDEXER_ARGS", "").split()
        ip = subprocess.Popen([hk.INDEXER, *src_args, "--poll-interval", "1", *extra],
                              stdout=ilog, stderr=ilog)
        procs.append(ip)
        token = api.token("alice")
        # The daemon's first rescan (of unchanged files) is done when its
        # heartbeat is newer than its start.
        t0 = now_s()
        for _ in range(600):
            st = api.req("GET", "/api/v1/status", token=token)[2]
            hb = st.get("indexer_heartbeat_at")
            if st.get("indexer") == "running" and hb and parse_rfc3339(hb) > t0 + 1:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the indexer daemon never reported a rescan: %s" % st)
        reader = Reader(api, before, time.monotonic() + 900)
        reader.start()
        time.sleep(1)  # some reads of the untouched archive first

        rng = random.Random(SEED)
        if attack == "sidecar":
            targets = sidecar_targets(drop, ssmix2)
        else:
            targets = all_files(drop, ssmix2)
        rng.shuffle(targets)
        ctx = {"patients": sorted({v[2] for v in before.values()}),
               "contents": [f[: -len(".meta.json")] for f in all_files(drop)
                            if f.endswith(".meta.json")]}
        done = []  # (wall time after the file was attacked, path)
        a0 = time.monotonic()
        for path in targets:
            if attack == "inplace":
                attack_inplace(path, rng)
            elif attack == "rename":
                attack_rename(path, rng)
            else:
                attack_sidecar(path, rng, ctx)
            done.append((now_s(), path))
            time.sleep(PAUSE)
        res["attack_seconds"] = round(time.monotonic() - a0, 1)
        res["files_attacked"] = len(done)

        sealed = None
        for _ in range(SEAL_WAIT * 10):
            st = api.req("GET", "/api/v1/status", token=token)[2]
            if st.get("indexer") == "sealed":
                sealed = st
                break
            if ip.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(3)  # reads go on after the seal
        reader.stop.set()
        reader.join(60)
        st = api.req("GET", "/api/v1/status", token=token)[2]
        after = ls_current(store)
        q = quarantine(store)[q0:]
        res["status_indexer"] = st.get("indexer")
        res["sealed_reason"] = st.get("sealed_reason")
        res["sealed_at"] = st.get("sealed_at")
        if sealed and st.get("sealed_at"):
            sat = parse_rfc3339(st["sealed_at"])
            res["files_attacked_before_seal"] = sum(1 for t, _ in done if t <= sat)
        res["suspect_quarantined"] = sum(1 for x in q if x.get("kind") == "suspect")
        res["other_quarantined"] = sum(1 for x in q if x.get("kind") != "suspect")
        res["quarantine_kinds"] = sorted({x.get("kind") for x in q})
        # Superseded: the current version is no longer the pre-attack one
        # (new bytes, or the same bytes under a new version: e.g. another
        # patient), or the document is gone or withdrawn.
        sup = [d for d in before if d not in after or after[d][:3] != before[d][:3]
               or after[d][3] != before[d][3]]
        res["superseded_new_bytes"] = sum(1 for d in sup if d in after and after[d][1] != before[d][1])
        res["superseded_same_bytes_other_patient"] = sum(
            1 for d in sup if d in after and after[d][1] == before[d][1] and after[d][2] != before[d][2])
        res["good_versions_superseded"] = len(sup)
        res["superseded_examples"] = [
            {"id": d, "before": before[d][:3], "after": after.get(d, (None,))[:3]} for d in sup[:5]]
        res["new_versions_same_bytes"] = sorted(
            d for d in before if d in after and after[d][1] == before[d][1] and after[d][0] != before[d][0])
        res["reader_saw_new_version_same_bytes"] = len(reader.renumbered)
        res["withdrawn_after"] = sum(1 for d in after if after[d][3] and not before.get(d, (0, 0, 0, 0))[3])
        res["new_documents"] = len(set(after) - set(before))
        res["reads"] = reader.requests
        res["reads_timeline"] = reader.timelines
        res["reads_content"] = reader.contents
        res["read_errors"] = reader.errors
        res["first_read_errors"] = reader.first_errors
        vr = hk.run(hk.ADMIN, "verify", "--store", store, ok=False, timeout=600)
        res["verify"] = "pass" if vr.returncode == 0 else "FAIL"
        ilog.flush()
        fails = []
        if res["good_versions_superseded"]:
            fails.append("good versions superseded: %d" % res["good_versions_superseded"])
        if reader.errors:
            fails.append("read errors: %d" % reader.errors)
        if res["status_indexer"] != "sealed":
            fails.append("status says %s, not sealed" % res["status_indexer"])
        if res["verify"] != "pass":
            fails.append("verify failed")
        res["goals_failed"] = fails
        for k, v in res.items():
            print("%-28s %s" % (k, v))
        print("RESULT " + json.dumps(res, ensure_ascii=False))
        return 1 if fails else 0
    except (AssertionError, subprocess.SubprocessError, OSError) as e:
        print("drill set-up failed: %s" % e, file=sys.stderr)
        return 2
    finally:
        for p in procs:
            try:
                hk.stop(p)
            except AssertionError:
                pass
        if os.environ.get("HK_KEEP_TMP"):
            print("kept", tmp)
        else:
            hk.cleanup(tmp, procs)


if __name__ == "__main__":
    sys.exit(main())

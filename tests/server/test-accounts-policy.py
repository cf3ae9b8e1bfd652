#!/usr/bin/python3
"""Issue 11 item 5 (MHLW 6.0 accounts): passwords made by hikae-admin, the
16-character floor, and hikae-server --require-totp, over TLS.

- `user add --generate`, and `user add` on a terminal (a pty): a password
  of 20 letters and digits in groups of five (23 characters), printed once
  on stdout, never on stderr, in the audit log or the accounts file; two
  are never equal; it logs in.
- `--password-file FILE` sets a chosen one (first line); a group-readable
  file is warned about; shorter than 16 characters (not bytes: 15 kana) is
  refused with the reason; a missing or empty file, an empty standard input,
  or --generate with --password-file are refused clearly. Standard input
  still works (interfaces.md). `user passwd --generate` replaces it.
- --require-totp (and require-totp=true in a --config key file): the server
  logs how many accounts lack TOTP; the right password of such an account
  answers 403 totp_required (audited), a wrong one 401 invalid_credentials;
  a TOTP account logs in with its code; `user totp NAME` enrols one, and
  then the account logs in. Without the option the same account logs in
  (the control)."""
import base64, hashlib, hmac, json, os, pty, re, struct, subprocess, sys, time
import hk_it as hk

GEN = re.compile(r"^[a-km-np-z2-9]{5}(-[a-km-np-z2-9]{5}){3}$")


def totp(secret_b32, t=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = int((t or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def admin(*args, stdin=None, ok=True):
    return hk.run(hk.ADMIN, *args, stdin=stdin, ok=ok)


def generated(r):
    lines = [l for l in r.stdout.splitlines() if l.startswith("password: ")]
    hk.check(len(lines) == 1, "want one password line on stdout: %r" % r.stdout)
    pw = lines[0][len("password: "):]
    hk.check(GEN.match(pw) and len(pw) >= 16, "generated password shape: %r" % pw)
    hk.check(pw not in r.stderr, "the password is on stderr")
    return pw


def on_tty(*args):
    """Run hikae-admin with a pty as its standard input (and output)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(hk.ADMIN, [hk.ADMIN] + list(args))
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(st), out.decode(errors="replace").replace("\r", "")


def login(api, user, pw, otp=None):
    body = {"user": user, "password": pw}
    if otp:
        body["otp"] = otp
    return api.req("POST", "/api/v1/session", body)


def main():
    env = hk.Env("hk-accounts-")
    try:
        st, tmp = env.state, env.tmp
        drop, store = os.path.join(tmp, "drop"), os.path.join(tmp, "store")
        hk.text_doc(drop, "a.txt", "0000000001", "ACC:1", b"one\n")
        hk.run(hk.INDEXER, "--store", store, "--drop", drop, "--once")

        # Generated passwords.
        r = admin("user", "add", "gen1", "--state", st, "--generate")
        pw1 = generated(r)
        rc, out = on_tty("user", "add", "tty1", "--state", st)
        hk.check(rc == 0, "user add on a terminal: %d %s" % (rc, out))
        pw_tty = [l[len("password: "):] for l in out.splitlines() if l.startswith("password: ")]
        hk.check(len(pw_tty) == 1 and GEN.match(pw_tty[0]), "terminal: %r" % out)
        pw_tty = pw_tty[0]
        hk.check(pw1 != pw_tty, "two generated passwords are equal")
        for name in ("audit.log", "accounts.mdb"):
            with open(os.path.join(st, name), "rb") as f:
                data = f.read()
            hk.check(pw1.encode() not in data and pw_tty.encode() not in data,
                     "a generated password is in %s" % name)
        print("ok   --generate and a terminal make a 23-character password, printed once on "
              "stdout only")

        # Chosen passwords.
        pf = os.path.join(tmp, "pw")
        with open(os.path.join(tmp, "pw"), "w") as f:
            f.write("a chosen long password 7\nsecond line ignored\n")
        os.chmod(pf, 0o600)
        r = admin("user", "add", "chosen", "--state", st, "--password-file", pf)
        hk.check("password:" not in r.stdout and "warning" not in r.stderr,
                 "chosen: %r %r" % (r.stdout, r.stderr))
        os.chmod(pf, 0o640)
        r = admin("user", "passwd", "chosen", "--state", st, "--password-file", pf)
        hk.check("can be read by others (mode 0640)" in r.stderr, "no warning: %r" % r.stderr)
        for text, why in [("fifteen chars!!", "shorter than 16 characters"),
                          ("あいうえおかきくけこさしすせそ", "shorter than 16 characters")]:
            with open(pf, "w") as f:
                f.write(text + "\n")
            r = admin("user", "add", "shorty", "--state", st, "--password-file", pf, ok=False)
            hk.check(r.returncode == 1 and why in r.stderr, "%r: %d %r" % (text, r.returncode,
                                                                          r.stderr))
        with open(pf, "w") as f:
            f.write("あいうえおかきくけこさしすせそた\n")
        admin("user", "add", "kana16", "--state", st, "--password-file", pf)
        r = admin("user", "add", "x1", "--state", st, "--password-file",
                  os.path.join(tmp, "none"), ok=False)
        hk.check(r.returncode == 1 and "--password-file" in r.stderr and "No such file"
                 in r.stderr, "missing file: %r" % r.stderr)
        open(pf, "w").close()
        r = admin("user", "add", "x2", "--state", st, "--password-file", pf, ok=False)
        hk.check(r.returncode == 1 and "is empty" in r.stderr, "empty file: %r" % r.stderr)
        r = admin("user", "add", "x3", "--state", st, stdin="", ok=False)
        hk.check(r.returncode == 1 and "--generate" in r.stderr, "empty stdin: %r" % r.stderr)
        r = admin("user", "add", "x4", "--state", st, "--generate", "--password-file", pf, ok=False)
        hk.check(r.returncode == 2, "both sources: %d" % r.returncode)
        admin("user", "add", "piped", "--state", st, stdin="a piped long password 5\n")
        users = {json.loads(l)["name"] for l in admin("user", "list", "--state", st)
                 .stdout.splitlines()}
        hk.check(not users & {"shorty", "x1", "x2", "x3", "x4"}, "a refused user exists: %s"
                 % users)
        print("ok   --password-file and stdin set chosen passwords; under 16 characters, "
              "missing, empty or ambiguous sources are refused")

        # Each logs in (a server without --require-totp: the control).
        p, api = hk.start_server(store, st, env.pki, os.path.join(tmp, "plain.log"))
        env.procs.append(p)
        for user, pw in [("gen1", pw1), ("tty1", pw_tty), ("chosen", "a chosen long password 7"),
                         ("kana16", "あいうえおかきくけこさしすせそた"),
                         ("piped", "a piped long password 5")]:
            s, _, js = login(api, user, pw)
            hk.check(s == 201, "login %s without --require-totp: %d %s" % (user, s, js))
        r = admin("user", "passwd", "gen1", "--state", st, "--generate")
        pw1b = generated(r)
        hk.check(login(api, "gen1", pw1)[0] == 401 and login(api, "gen1", pw1b)[0] == 201,
                 "passwd --generate did not replace the password")
        hk.check(hk.stop(p) == 0, "server exit")
        print("ok   every such password logs in over TLS; passwd --generate replaces one")

        # --require-totp.
        r = admin("user", "add", "tom", "--totp", "--state", st, stdin="tom long password 123\n")
        secret = re.search(r"secret=([A-Z2-7]+)", r.stdout).group(1)
        n_without = len(users) + 0  # every account above has no TOTP
        log = os.path.join(tmp, "totp.log")
        p, api = hk.start_server(store, st, env.pki, log, "--require-totp")
        env.procs.append(p)
        hk.check(re.search(r"--require-totp: %d of %d accounts have no TOTP" %
                           (n_without, n_without + 1), hk.log_tail(log)),
                 "start-up log: %s" % hk.log_tail(log))
        s, _, js = login(api, "chosen", "a chosen long password 7")
        hk.check(s == 403 and js["error"] == "totp_required" and "TOTP" in js["message"],
                 "no-TOTP account, right password: %d %s" % (s, js))
        s, _, js = login(api, "chosen", "a wrong long password 77")
        hk.check(s == 401 and js["error"] == "invalid_credentials",
                 "no-TOTP account, wrong password: %d %s" % (s, js))
        s, _, js = login(api, "tom", "tom long password 123", totp(secret))
        hk.check(s == 201, "TOTP account with its code: %d %s" % (s, js))
        with open(os.path.join(st, "audit.log")) as f:
            recs = [json.loads(l) for l in f if l.strip()]
        hk.check(any(r.get("action") == "login" and r.get("user") == "chosen"
                     and r.get("status") == 403 and "totp" in (r.get("detail") or "")
                     for r in recs), "no audit record of the refusal")
        r = admin("user", "totp", "chosen", "--state", st)
        secret2 = re.search(r"secret=([A-Z2-7]+)", r.stdout).group(1)
        s, _, js = login(api, "chosen", "a chosen long password 7", totp(secret2))
        hk.check(s == 201, "after user totp: %d %s" % (s, js))
        hk.check(hk.stop(p) == 0, "server exit")
        print("ok   --require-totp: start-up count, 403 totp_required after the right password "
              "only, audited; user totp enrols one")

        # The same from a key file.
        conf = os.path.join(tmp, "server.conf")
        with open(conf, "w") as f:
            f.write("[hikae-server]\nrequire-totp=true\n")
        log = os.path.join(tmp, "conf.log")
        p, api = hk.start_server(store, st, env.pki, log, "--config", conf)
        env.procs.append(p)
        s, _, js = login(api, "piped", "a piped long password 5")
        hk.check(s == 403 and js["error"] == "totp_required", "from --config: %d %s" % (s, js))
        hk.check("TOTP required" in hk.log_tail(log), "start line: %s" % hk.log_tail(log))
        hk.check(hk.stop(p) == 0, "server exit")
        print("ok   require-totp=true in the --config key file does the same")
        return 0
    except AssertionError as e:
        print("FAIL", e)
        return 1
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())

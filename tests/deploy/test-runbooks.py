#!/usr/bin/env python3
"""Every command in the runbooks (docs/runbook/*.md, ```sh blocks) exists and
accepts the arguments it is given.

- hikae-* programs: the built binary ($HK_BUILD_DIR) has the (sub)command
  (`PROG SUB [ACTION] --help` exits 0) and lists every --option used in that
  help;
- system commands: present on this machine, or in the known list of
  archive-host commands below; for those present, every --long-option
  appears in their --help; unit names given to systemctl/journalctl exist in
  deploy/systemd/ (when that folder exists; a printed note otherwise); an
  nft table named is the one deploy/nftables/hikae.nft declares;
- each English runbook and its Japanese twin give the same commands in the
  same order;
- nothing the checker cannot judge ($(...), variables, backquotes).

It first checks itself on a misspelt option, a misspelt subcommand and an
unknown program, which must be refused. Prints each command with its
verdict; exits 1 if any is wrong. No root needed.
"""
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys

BUILD = os.environ.get("HK_BUILD_DIR")
SRC = os.environ.get("HK_SOURCE_DIR")
if not BUILD or not SRC:
    sys.exit("run through meson test (HK_BUILD_DIR and HK_SOURCE_DIR unset)")
RUNBOOKS = os.path.join(SRC, "docs", "runbook")
UNITS = os.path.join(SRC, "deploy", "systemd")
NFT_RULES = os.path.join(SRC, "deploy", "nftables", "hikae.nft")

PROGRAMS = {
    "hikae-admin": "admin/hikae-admin",
    "hikae-indexer": "indexer/hikae-indexer",
    "hikae-server": "server/hikae-server",
    "hikae-viewer": "client/hikae-viewer",
    "hikae-samples": "samples/hikae-samples",
}
# hikae-admin commands that take an action word (`user add`, `audit verify`).
GROUPS = {"user", "audit"}
# Commands an archive host (Debian 12, install-archive-host) has even when
# this test machine does not; the package that brings each.
ARCHIVE_HOST = {
    "systemctl": "systemd", "journalctl": "systemd", "nft": "nftables",
    "lsblk": "util-linux", "mount": "mount", "umount": "mount",
    "runuser": "util-linux", "findmnt": "util-linux", "lp": "cups-client",
    "lpstat": "cups-client", "ls": "coreutils", "mv": "coreutils",
    "chown": "coreutils", "chmod": "coreutils", "df": "coreutils",
}
SHELL_OPS = {"|", "||", "&&", ";", "&"}
UNIT_RE = re.compile(r"^hikae-[a-z0-9-]+\.(service|timer|socket|path)$")
OPT_RE = re.compile(r"(?<![\w-])(--[A-Za-z0-9][A-Za-z0-9-]*)")


class Bad(Exception):
    pass


@functools.lru_cache(maxsize=None)
def run_help(argv):
    """(exit status, stdout+stderr) of ARGV."""
    try:
        r = subprocess.run(list(argv), capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
    except OSError as e:
        return 127, str(e)
    return r.returncode, r.stdout + r.stderr


def options_of(cmd):
    return {a.split("=", 1)[0] for a in cmd if a.startswith("--") and len(a) > 2}


def check_hikae(cmd):
    prog = os.path.join(BUILD, PROGRAMS[cmd[0]])
    if not os.access(prog, os.X_OK):
        raise Bad("not built: %s" % prog)
    args = cmd[1:]
    words = []
    for a in args:
        if a.startswith("-"):
            break
        words.append(a)
    sub = []
    if cmd[0] == "hikae-admin":
        if not words:
            raise Bad("hikae-admin without a command")
        sub = words[:2] if words[0] in GROUPS else words[:1]
        if words[0] in GROUPS and len(words) < 2:
            raise Bad("hikae-admin %s without an action" % words[0])
    rc, out = run_help((prog, *sub, "--help"))
    if rc != 0:
        first = out.strip().splitlines()[-1] if out.strip() else "exit %d" % rc
        raise Bad("no such command: %s (%s)" % (" ".join([cmd[0], *sub]), first))
    known = set(OPT_RE.findall(out))
    for a in args:
        if a.startswith("-") and not a.startswith("--") and len(a) > 1:
            raise Bad("short option %s: spell it out so that it can be checked" % a)
    missing = sorted(options_of(args) - known - {"--help", "--version"})
    if missing:
        raise Bad("%s does not accept %s" % (" ".join([cmd[0], *sub]), ", ".join(missing)))
    return "%s: command and %d option(s) accepted" % (" ".join([cmd[0], *sub]),
                                                      len(options_of(args)))


def check_system(cmd, notes):
    name = cmd[0]
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    verdict = []
    if path:
        rc, out = run_help((path, "--help"))
        opts = options_of(cmd[1:])
        if rc == 0 and out:
            missing = sorted(o for o in opts if o not in out)
            if missing:
                raise Bad("%s --help does not list %s" % (name, ", ".join(missing)))
            verdict.append("on this machine, %d long option(s) in its --help" % len(opts))
        else:
            verdict.append("on this machine (its --help is not usable: options unchecked)")
        if name == "systemctl" and len(cmd) > 1 and not cmd[1].startswith("-"):
            if not re.search(r"(?m)^\s+%s\b" % re.escape(cmd[1]), out):
                raise Bad("systemctl has no verb %s" % cmd[1])
    elif name in ARCHIVE_HOST:
        verdict.append("not on this machine; an archive-host command (Debian %s)"
                       % ARCHIVE_HOST[name])
    else:
        raise Bad("unknown command %s (not on this machine, not an archive-host command)" % name)
    if name in ("systemctl", "journalctl"):
        units = [a for a in cmd[1:] if UNIT_RE.match(a)]
        if os.path.isdir(UNITS):
            for u in units:
                if not os.path.exists(os.path.join(UNITS, u)):
                    raise Bad("no unit %s in deploy/systemd/" % u)
            if units:
                verdict.append("unit(s) %s in deploy/systemd/" % " ".join(units))
        elif units:
            notes.update(units)
            verdict.append("units not checked (no deploy/systemd/)")
    if name == "nft" and "inet" in cmd:
        table = cmd[cmd.index("inet") + 1] if cmd.index("inet") + 1 < len(cmd) else ""
        with open(NFT_RULES, encoding="utf-8") as f:
            if not re.search(r"(?m)^table inet %s \{" % re.escape(table), f.read()):
                raise Bad("deploy/nftables/hikae.nft declares no table inet %s" % table)
        verdict.append("table inet %s is hikae.nft's" % table)
    return "; ".join(verdict)


def simple_commands(line):
    """The simple commands of one shell line, each a list of words."""
    if "$" in line or "`" in line:
        raise Bad("shell expansion: the checker cannot judge it; write the command out")
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    tokens = list(lex)
    cmds, cur = [], []
    skip = False
    for t in tokens:
        if skip:
            skip = False
        elif t in SHELL_OPS:
            cmds.append(cur)
            cur = []
        elif set(t) <= set("<>&") and t:
            skip = True  # a redirection and its target
        else:
            cur.append(t)
    cmds.append(cur)
    out = []
    for c in cmds:
        while c and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", c[0]):
            c = c[1:]
        if c[:1] == ["runuser"]:
            # runuser -u USER -- CMD...: check runuser, then CMD.
            if "--" not in c:
                raise Bad("runuser without --")
            out.append(c[:c.index("--")])
            c = c[c.index("--") + 1:]
        if c:
            out.append(c)
    return out


def check_line(line, notes):
    """A verdict per simple command: list of (ok, words, text)."""
    res = []
    try:
        cmds = simple_commands(line)
    except (Bad, ValueError) as e:
        return [(False, [line], str(e))]
    for c in cmds:
        try:
            if c[0] in PROGRAMS:
                res.append((True, c, check_hikae(c)))
            else:
                res.append((True, c, check_system(c, notes)))
        except Bad as e:
            res.append((False, c, str(e)))
    return res


def extract(path):
    """(line number, command line) of every command in the file's sh blocks."""
    cmds = []
    inside = False
    pending, start = "", 0
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            s = raw.strip()
            if not inside:
                if s == "```sh":
                    inside = True
                elif s.startswith("```") and s != "```":
                    pass
                continue
            if s == "```":
                inside = False
                if pending:
                    raise SystemExit("%s:%d: a command ends in a backslash" % (path, n))
                continue
            if not pending and (not s or s.startswith("#")):
                continue
            if not pending:
                start = n
            if s.endswith("\\"):
                pending += s[:-1] + " "
                continue
            cmds.append((start, pending + s))
            pending = ""
    if inside:
        raise SystemExit("%s: a ```sh block is not closed" % path)
    return cmds


def self_check():
    """The checker must refuse what is wrong, else its passes mean nothing."""
    notes = set()
    good = "hikae-admin stats --store /var/lib/hikae/store"
    wrong = {
        "misspelt option": "hikae-admin stats --stroe /var/lib/hikae/store",
        "misspelt command": "hikae-admin statz --store /var/lib/hikae/store",
        "misspelt action": "hikae-admin user ad tanaka.h --state /var/lib/hikae/state",
        "unknown program": "hikae-adminn stats --store /var/lib/hikae/store",
        "misspelt system option": "journalctl -u hikae-server.service --no-pagre",
        "shell expansion": "hikae-admin stats --store $STORE",
        "misspelt systemctl verb": "systemctl statsu hikae-server.service",
    }
    ok = True
    v = check_line(good, notes)
    if not all(r[0] for r in v):
        print("SELF-CHECK FAIL: refused a correct command: %s (%s)" % (good, v))
        ok = False
    for what, line in wrong.items():
        v = check_line(line, notes)
        if all(r[0] for r in v):
            print("SELF-CHECK FAIL: accepted a %s: %s" % (what, line))
            ok = False
        else:
            print("self-check: refused a %s: %s" % (what, line))
    return ok


def main():
    if not self_check():
        return 1
    files = sorted(f for f in os.listdir(RUNBOOKS) if f.endswith(".md"))
    pairs = sorted({f[:-6] for f in files if f.endswith(".en.md")})
    if not pairs:
        print("FAIL: no runbooks (*.en.md) in docs/runbook")
        return 1
    bad = 0
    checked = 0
    notes = set()
    for base in pairs:
        per_lang = {}
        for lang in ("en", "ja"):
            name = "%s.%s.md" % (base, lang)
            path = os.path.join(RUNBOOKS, name)
            if not os.path.exists(path):
                print("FAIL %s: missing (every runbook is in English and Japanese)" % name)
                bad += 1
                continue
            per_lang[lang] = extract(path)
            for n, line in per_lang[lang]:
                for ok, words, text in check_line(line, notes):
                    checked += 1
                    bad += not ok
                    print("%s %s:%d: %s\n     -> %s" % ("ok  " if ok else "FAIL", name, n,
                                                      " ".join(words), text))
        if len(per_lang) == 2:
            en = [c for _, c in per_lang["en"]]
            ja = [c for _, c in per_lang["ja"]]
            if en != ja:
                bad += 1
                print("FAIL %s: the English and Japanese runbooks give different commands:"
                      % base)
                for i in range(max(len(en), len(ja))):
                    a = en[i] if i < len(en) else "(none)"
                    b = ja[i] if i < len(ja) else "(none)"
                    if a != b:
                        print("     en: %s\n     ja: %s" % (a, b))
            else:
                print("ok   %s: English and Japanese give the same %d commands" % (base, len(en)))
    if notes:
        print("note: deploy/systemd/ does not exist on this branch: unit names not "
              "checked (%s)" % ", ".join(sorted(notes)))
    print("%d runbooks, %d commands checked, %d wrong" % (len(pairs), checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

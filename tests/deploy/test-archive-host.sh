#!/usr/bin/env bash
# The archive host, installed and booted (issue 11, items 1-3). Needs root:
# it builds a Debian 12 tree (tests/deploy/hk-mkroot, cached), runs
# deploy/install-archive-host in it with chroot twice (the second run must
# change nothing, file by file), boots the tree with systemd-nspawn (its own
# network namespace: only its loopback) and, inside, through a oneshot unit
# (hk-archive-host-check.service, below): the units start under their
# sandboxes, the server serves the dropped archive over TLS, the indexer
# ingests a document dropped while it runs, the server's process cannot
# write the store (tried in its own mount namespace, as root and as its
# user), the backup runs, the weekly reindex runs beside the indexer and
# the server (a new generation, the indexer's files, searches still
# answered), a third install on the running host changes and
# restarts nothing. Then --uninstall removes the services and keeps the
# store, the state and the backups.
#
# The programs are the ones this build made (meson install --destdir of
# $HK_BUILD_DIR, --no-rebuild): the same code as a -Dclient=false
# -Dtests=false build, without building twice.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (chroot, systemd-nspawn)"; exit 77; }
for c in systemd-nspawn debootstrap unshare chroot timeout meson; do
  command -v "$c" > /dev/null || fail "missing: $c"
done
S=${HK_SOURCE_DIR:?run through meson test}
R=$T/root
need "$S/deploy/install-archive-host" "$SAMPLES"

# Whatever happens, no container outlives the test and no mount is left in
# the tree that lib.sh then removes.
hk_archive_cleanup() {
  local rc=$?
  if [ -n "${NSPAWN_PID:-}" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  fi
  if grep -q " $R" /proc/mounts 2>/dev/null; then
    umount -R -l "$R" 2>/dev/null || true
  fi
  exit $rc
}
trap 'hk_archive_cleanup; hk_cleanup' EXIT
trap 'hk_archive_cleanup' INT TERM

# ---- the tree, the programs, the certificates, the documents ----

mapfile -t pkgs < <(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$S/deploy/archive-host-packages.txt")
# debootstrap cannot configure glib-networking (its dconf-service), so the
# drill's packages are apt-get installed into the tree afterwards, from .debs
# kept between runs in the cache folder (a warm run downloads only the lists).
late=(libsoup-3.0-0 glib-networking libpangocairo-1.0-0 fonts-noto-cjk)
early=()
for p in "${pkgs[@]}"; do [[ " ${late[*]} " == *" $p "* ]] || early+=("$p"); done
# curl, jq, iproute2: for the checks inside only.
"$HK_MKROOT" "$R" "${early[@]}" curl jq iproute2 > "$T/mkroot.log" 2>&1 ||
  { cat "$T/mkroot.log" >&2; fail "hk-mkroot"; }
debs=${HK_ROOT_CACHE:-/var/cache/hikae-test}/archive-host-debs
mkdir -p "$debs"
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
unshare --mount --propagation private -- sh -c \
  'mount --bind "$1" "$0/var/cache/apt/archives" && mount -t proc proc "$0/proc" &&
   exec chroot "$0" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $2"' \
  "$R" "$debs" "${late[*]}" > "$T/apt.log" 2>&1 || { tail -20 "$T/apt.log" >&2; fail "apt-get install ${late[*]}"; }
ok "Debian 12 tree with systemd and the runtime packages"

meson install -C "$HK_BUILD_DIR" --no-rebuild --quiet --destdir "$T/stage" > "$T/install.log" 2>&1 ||
  { cat "$T/install.log" >&2; fail "meson install --destdir"; }

H=$R/root/hk # what the operator copies to the host
mkdir -p "$H"
cp -a "$S/deploy" "$H/deploy"
need "$H/deploy/nftables/hikae.nft"
cp -a "$T/stage" "$H/stage"
"$S/deploy/pki/hk-mkcert" "$H/pki" archive.test localhost 127.0.0.1 ::1 > /dev/null
# A drop folder and an SS-MIX2 storage (its admissions give the census the
# drill starts from). How many documents they make: this build's indexer
# says, on a store of its own.
"$SAMPLES" --out "$T/samples" --patients 2 --docs-per-patient 2 --ssmix2 > /dev/null
mkdir -p "$R/srv/hikae"
cp -a "$T/samples/drop" "$R/srv/hikae/drop"
cp -a "$T/samples/ssmix2" "$R/srv/hikae/ssmix2"
chmod -R a+rX "$R/srv/hikae"
"$INDEXER" --store "$T/ref" --drop ward="$T/samples/drop" --ssmix2 ssmix2="$T/samples/ssmix2" --once \
  > "$T/ref.log" 2>&1 || { cat "$T/ref.log" >&2; fail "reference indexing"; }
ndocs=$(stat_field "$T/ref" documents)
[ "$ndocs" -gt "$(grep -c '"record":"document"' "$T/samples/manifest.jsonl")" ] ||
  fail "samples: expected drop and SS-MIX2 documents, got $ndocs"

# ---- install, twice ----

ARGS=(--binaries /root/hk/stage --pki /root/hk/pki --reference-subnet 192.0.2.0/24
  --admin-address 198.51.100.7 --source 203.0.113.10 --source 203.0.113.11
  --drop ward=/srv/hikae/drop --ssmix2 ssmix2=/srv/hikae/ssmix2)
# In a private mount namespace (its /proc vanishes with it) and network
# namespace (nft -c checks the ruleset there; nothing reaches the host's).
in_tree() {
  # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
  unshare --mount --net --propagation private -- sh -c \
    'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$R" "$@"
}
install_run() { # LOG
  in_tree /root/hk/deploy/install-archive-host "${ARGS[@]}" > "$1" 2>&1 ||
    { cat "$1" >&2; fail "install-archive-host failed (log above)"; }
}
# Every file and folder the installer manages: path, mode, owner, size,
# mtime, link target, and each file's SHA-256. LMDB lock files (the
# accounts' reader table: the installer reads the accounts to see whether
# the drill's exists, and any reader writes its slot there) only by path,
# mode and owner.
MANAGED=(usr/local/bin etc/hikae etc/systemd/system etc/sysusers.d etc/tmpfiles.d
  var/lib/hikae var/backups/hikae etc/passwd etc/group etc/shadow etc/gshadow)
snapshot() {
  (cd "$R" && find "${MANAGED[@]}" \( -name '*.mdb-lock' -o -name lock.mdb \) -printf '%p %m %u %g\n' &&
    find "${MANAGED[@]}" ! -name '*.mdb-lock' ! -name lock.mdb -printf '%p %m %u %g %s %T@ %l\n' &&
    find "${MANAGED[@]}" -type f ! -name '*.mdb-lock' ! -name lock.mdb -print0 | xargs -0 sha256sum) | sort
}

install_run "$T/install1.log"
grep -q 'change(s)$' "$T/install1.log" || { cat "$T/install1.log"; fail "first install: no changes reported"; }
ok "first install: $(tail -1 "$T/install1.log")"
snapshot > "$T/before"
install_run "$T/install2.log"
snapshot > "$T/after"
diff "$T/before" "$T/after" > "$T/snapshot.diff" ||
  { cat "$T/snapshot.diff" "$T/install2.log" >&2; fail "the second install changed files"; }
grep -q "warning: /root/hk/pki/ca.key is not installed" "$T/install2.log" ||
  fail "no warning about the CA's key in the pki folder"
ok "warns that the CA's key in --pki is not installed"
assert_eq "install-archive-host: unchanged" "$(grep -v ': warning: ' "$T/install2.log")" \
  "second install: reports unchanged, and $(wc -l < "$T/before") managed paths and sums are identical"

# What it installed, looked at from outside.
st() { chroot "$R" stat -c '%a %U:%G' "$1"; }
assert_eq "2750 hikae-indexer:hikae-store" "$(st /var/lib/hikae/store)" "store folder"
assert_eq "660 hikae-indexer:hikae-store" "$(st /var/lib/hikae/store/lock.mdb)" "store lock file"
assert_eq "700 hikae-server:hikae-server" "$(st /var/lib/hikae/state)" "state folder"
assert_eq "750 hikae-backup:hikae-backup" "$(st /var/backups/hikae)" "backups folder"
assert_eq "600 root:root" "$(st /etc/hikae/tls/server.key)" "server key: root's (the unit gets it as a credential)"
# The pki folder given to the installer holds ca.key too (as hk-mkcert
# leaves it): none of its lines may reach what the installer wrote.
cakey=$(sed -n 2p "$H/pki/ca.key")
if grep -rqF -- "$cakey" "$R/etc/hikae" "$R/usr/local/bin" "$R/var/lib/hikae"; then
  fail "the CA's key reached the host's installed files"
fi
ok "the CA's key was not installed"
assert_eq "define HK_REFERENCE_SUBNET = { 192.0.2.0/24 }
define HK_ADMIN_ADDR = { 198.51.100.7 }
define HK_SOURCE_HOSTS = { 203.0.113.10, 203.0.113.11 }" "$(cat "$R/etc/hikae/nftables-vars.nft")" \
  "firewall variables"
for u in hikae-firewall.service hikae-indexer.service hikae-server.service hikae-backup.timer \
  hikae-reindex.timer hikae-drill.timer; do
  assert_eq enabled "$(chroot "$R" systemctl is-enabled "$u" 2>&1)" "$u enabled"
done

# ---- boot it ----

mkdir -p "$R/opt/hk-test/out"
printf '%s\n' "$ndocs" > "$R/opt/hk-test/ndocs"
cp "$T/samples/manifest.jsonl" "$R/opt/hk-test/"
cat > "$R/etc/systemd/system/hk-archive-host-check.service" << 'UNIT'
[Unit]
Description=hikae archive host checks (tests/deploy/test-archive-host.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/opt/hk-test/check.sh
ExecStopPost=/usr/bin/systemctl poweroff --no-block
TimeoutStartSec=240
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
UNIT
ln -sf ../hk-archive-host-check.service "$R/etc/systemd/system/multi-user.target.wants/"
cat > "$R/opt/hk-test/check.sh" << 'CHECK'
#!/bin/bash
# Inside the booted archive host. Each check appends "ok ..." or
# "FAIL ..." to out/result; the test on the host reads them.
set -u
O=/opt/hk-test/out
N=$(cat /opt/hk-test/ndocs)
CA=/etc/hikae/ca.pem
URL=https://localhost
STORE=/var/lib/hikae/store
r() { echo "$*" >> $O/result; echo "check: $*"; }
check() { # DESCRIPTION COMMAND...: ok if it succeeds
  local d=$1; shift
  if "$@" >> $O/log 2>&1; then r "ok $d"; else r "FAIL $d"; fi
}
refuse() { # DESCRIPTION COMMAND...: ok if it fails
  local d=$1; shift
  if "$@" >> $O/log 2>&1; then r "FAIL $d (it succeeded)"; else r "ok $d"; fi
}
poll() { # TRIES COMMAND...: every 0.5 s until it succeeds, at most TRIES times
  local n=$1 i; shift
  for ((i = 0; i < n; i++)); do "$@" > /dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
api() { curl -sS --max-time 10 --cacert $CA -H "Authorization: Bearer $TOKEN" "$URL$1"; }
field() { api /api/v1/status | jq -r ".$1"; }
unit_pid() { systemctl show -p MainPID --value "$1"; }
status_field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

for u in hikae-firewall.service hikae-indexer.service hikae-server.service; do
  check "$u active" poll 60 systemctl is-active --quiet "$u"
done
# Active, and staying so: a crash loop is active between its restarts.
check "server and indexer started once (NRestarts=0)" sh -c \
  "[ \"\$(systemctl show -p NRestarts --value hikae-server.service hikae-indexer.service | grep . | sort -u)\" = 0 ]"
# One by one: `systemctl is-active A B` succeeds when any one is active.
for u in hikae-backup.timer hikae-reindex.timer hikae-drill.timer; do
  check "$u active" systemctl is-active --quiet "$u"
done
check "firewall loaded (table inet hikae)" nft list table inet hikae

# TLS with the archive's CA only, and not without it.
check "health over TLS (--cacert the archive's CA)" poll 20 sh -c \
  "curl -sS --max-time 5 --cacert $CA $URL/api/v1/health | grep -q '\"ok\"'"
refuse "TLS refused without the archive's CA" curl -sS --max-time 5 $URL/api/v1/health

# Log in with the drill's account, which install-archive-host made.
TOKEN=$(jq -cn --arg p "$(cat /etc/hikae/drill.password)" '{user: "drill", password: $p}' |
  curl -sS --max-time 10 --cacert $CA -H 'Content-Type: application/json' -d @- $URL/api/v1/session |
  jq -r .token)
check "login as drill" test -n "$TOKEN" -a "$TOKEN" != null
check "the indexer ingested the $N documents (drop folder and SS-MIX2)" poll 240 sh -c "[ \"\$(curl -sS --cacert $CA -H 'Authorization: Bearer $TOKEN' $URL/api/v1/status | jq -r .documents)\" = $N ]"
api /api/v1/status > $O/status.json
check "status: indexer running" test "$(field indexer)" = running
# One document of the manifest, fetched whole, hashes to its SHA-256.
doc=$(jq -c 'select(.record == "document")' /opt/hk-test/manifest.jsonl | head -1)
pid=$(jq -r .patient_id <<< "$doc")
sha=$(jq -r .sha256 <<< "$doc")
id=$(api "/api/v1/patients/$pid/documents" | jq -r --arg s "$sha" '.documents[] | select(.sha256 == $s) | .id')
check "document $id served with its SHA-256" sh -c \
  "[ -n '$id' ] && curl -sS --cacert $CA -H 'Authorization: Bearer $TOKEN' '$URL/api/v1/documents/$id/content' | sha256sum | grep -q '^$sha '"

# A document dropped now (content first, sidecar last) is ingested.
mkdir -p /srv/hikae/drop/late
printf 'late note\n' > /srv/hikae/drop/late/late.txt
cat > /srv/hikae/drop/late/late.txt.meta.json.tmp << 'JSON'
{"patient_id": "LATE0001", "source_id": "EHR:LATE:1", "type": "progress_note", "title": "late",
 "created_at": "2026-11-20T14:03:00+09:00", "content_type": "text/plain",
 "patient": {"name": "遅 太郎", "kana": "オソ タロウ", "birth_date": "1950-05-04", "sex": "M"}}
JSON
mv /srv/hikae/drop/late/late.txt.meta.json.tmp /srv/hikae/drop/late/late.txt.meta.json
check "a document dropped while running is ingested" poll 120 sh -c \
  "curl -sS --cacert $CA -H 'Authorization: Bearer $TOKEN' $URL/api/v1/patients/LATE0001/documents | jq -e '.documents | length == 1'"

# The server's sandbox, looked at from its own mount namespace.
SP=$(unit_pid hikae-server.service)
IP=$(unit_pid hikae-indexer.service)
SU=$(id -u hikae-server)
SG=$(getent group hikae-store | cut -d: -f3)
check "root outside the sandbox may write the store (so the next checks test the sandbox)" test -w $STORE/data.mdb
refuse "server's namespace, root: cannot create a file in the store" \
  nsenter -t "$SP" -m -- sh -c ": > $STORE/hk-probe"
refuse "server's namespace, root: data.mdb not writable (read-only mount)" \
  nsenter -t "$SP" -m -- test -w $STORE/data.mdb
refuse "server's namespace, server's uid: cannot open data.mdb for writing" \
  nsenter -t "$SP" -m -S "$SU" -G "$SG" -- sh -c "exec 3>> $STORE/data.mdb"
# The same ways in succeed on lock.mdb (the reader table every reader
# registers in): the refusals above are the sandbox's, not nsenter failing.
check "server's namespace, root: lock.mdb writable, as designed" \
  nsenter -t "$SP" -m -- test -w $STORE/lock.mdb
check "server's namespace, server's uid: lock.mdb opens for writing, as designed" \
  nsenter -t "$SP" -m -S "$SU" -G "$SG" -- sh -c "exec 3>> $STORE/lock.mdb"
refuse "server's namespace: the state of others (/root) hidden" nsenter -t "$SP" -m -- ls /root/hk
check "server: only CAP_NET_BIND_SERVICE (CapEff 0000000000000400)" \
  test "$(status_field "$SP" CapEff)" = 0000000000000400
check "server: seccomp filter and no_new_privs" \
  test "$(status_field "$SP" Seccomp)$(status_field "$SP" NoNewPrivs)" = 21
check "indexer: no capabilities, seccomp filter" \
  test "$(status_field "$IP" CapEff)/$(status_field "$IP" Seccomp)" = 0000000000000000/2
check "indexer: its own network namespace (PrivateNetwork=yes)" \
  test "$(readlink /proc/$IP/ns/net)" != "$(readlink /proc/1/ns/net)"
check "indexer: its own user namespace (PrivateUsers=yes)" \
  test "$(readlink /proc/$IP/ns/user)" != "$(readlink /proc/1/ns/user)"
# The server's IPAddressAllow= (the loopback, and the reference subnet from
# the installer's drop-in) is enforced (cgroup BPF): a client in the subnet
# is served, one outside it is not. Both addresses are on this container's
# own loopback, where the firewall accepts everything: only the unit's
# sandbox tells them apart.
ip addr add 192.0.2.1/24 dev lo && ip addr add 198.51.100.9/32 dev lo
HC="curl -sS --max-time 5 --cacert $CA --resolve archive.test:443:192.0.2.1 https://archive.test/api/v1/health"
check "from the reference subnet (192.0.2.1): served" $HC --interface 192.0.2.1
refuse "from outside it (198.51.100.9): no answer (the server unit's IPAddressAllow=)" $HC --interface 198.51.100.9

# The backup, once, as its timer would run it.
check "hikae-backup.service runs" timeout 120 systemctl start hikae-backup.service
check "backup result: success" test "$(systemctl show -p Result --value hikae-backup.service)" = success
B=$(ls -d /var/backups/hikae/hikae-* 2>/dev/null | grep -v -e '\.failed$' -e '\.partial$' | head -1)
check "a backup generation, owned by hikae-backup" test -n "$B" -a "$(stat -c %U "$B/data.mdb" 2>/dev/null)" = hikae-backup
check "the backup verifies" /usr/local/bin/hikae-admin verify --store "$B"

# The weekly reindex, once, as its timer would run it: beside the running
# indexer and server. The word is the late document's (its text went into
# the indexer's index); the server must find it before and after the swap.
late_search() { # prints the HTTP status; the body in $O/search.json
  curl -sS --max-time 10 --cacert $CA -H "Authorization: Bearer $TOKEN" -o $O/search.json \
    -w '%{http_code}' "$URL/api/v1/patients/LATE0001/documents?q=late"
}
found_late() {
  [ "$(late_search)" = 200 ] &&
    jq -e '.unsearched == 0 and (.documents | length) == 1 and (.documents[0].matches | length) == 1' $O/search.json
}
check "before reindex: the server finds the late document's word (200, 1 hit)" poll 120 found_late
G0=$(cat $STORE/search/current 2>/dev/null)
check "before reindex: search/current names a generation ($G0)" test -n "$G0" -a -d "$STORE/search/$G0"
check "hikae-reindex.service runs while the indexer and server run" sh -c \
  "systemctl is-active --quiet hikae-indexer.service && systemctl is-active --quiet hikae-server.service &&
   timeout 120 systemctl start hikae-reindex.service"
check "reindex result: success" test "$(systemctl show -p Result --value hikae-reindex.service)" = success
check "reindex logged what it rebuilt" sh -c \
  "journalctl -b -u hikae-reindex.service --no-pager | grep -q 'reindexed [0-9]* documents'"
G1=$(cat $STORE/search/current 2>/dev/null)
check "after reindex: search/current names a new generation ($G0 -> $G1), the old one removed" \
  test -n "$G1" -a "$G1" != "$G0" -a -d "$STORE/search/$G1" -a ! -e "$STORE/search/$G0"
# The indexer goes on writing this generation: it must own every file.
check "after reindex: every file in search/ is the index folder's owner's ($(stat -c %U $STORE/search))" \
  test -z "$(find $STORE/search ! -user "$(stat -c %U $STORE/search)" -printf '%p %u\n' | tee -a $O/log)"
check "after reindex: the server finds the word in the new generation (200, 1 hit)" found_late
check "reindex runs below ingest and reads (Nice=19, CPUWeight=idle, IOSchedulingClass=idle)" sh -c \
  "systemctl show -p Nice -p CPUWeight -p IOSchedulingClass hikae-reindex.service | sort | tee -a $O/log |
   tr '\n' ' ' | grep -qx 'CPUWeight=idle IOSchedulingClass=3 Nice=19 '"

# The monthly drill, started now: under its unit's sandbox, against the
# server over TLS, with the password from its credential.
check "hikae-drill.service runs and passes" timeout 300 systemctl start hikae-drill.service
check "drill reports (PDF and JSON) in /var/lib/hikae/drill" sh -c \
  'ls /var/lib/hikae/drill/ | grep -q "\.pdf$" && ls /var/lib/hikae/drill/ | grep -q "\.json$"'
check "the drill's JSON says every step passed" sh -c \
  'jq -e "[.steps[].result] | length >= 9 and all(. == \"pass\")" /var/lib/hikae/drill/*.json'

# A third install, on the running host: nothing changes, nothing restarts.
before=$(unit_pid hikae-server.service)/$(unit_pid hikae-indexer.service)
/root/hk/deploy/install-archive-host --binaries /root/hk/stage --pki /root/hk/pki \
  --reference-subnet 192.0.2.0/24 --admin-address 198.51.100.7 --source 203.0.113.10 \
  --source 203.0.113.11 --drop ward=/srv/hikae/drop --ssmix2 ssmix2=/srv/hikae/ssmix2 > $O/install3.log 2>&1
check "third install (running host): unchanged" test "$(grep -v ': warning: ' $O/install3.log)" = "install-archive-host: unchanged"
check "third install: server and indexer not restarted" \
  test "$(unit_pid hikae-server.service)/$(unit_pid hikae-indexer.service)" = "$before"
cat $O/install3.log >> $O/log
check "server and indexer never restarted, no unit failed" sh -c \
  "[ \"\$(systemctl show -p NRestarts --value hikae-server.service hikae-indexer.service | grep . | sort -u)\" = 0 ] && ! systemctl --quiet is-failed 'hikae-*'"

systemd-analyze security --no-pager hikae-server.service hikae-indexer.service hikae-backup.service \
  hikae-reindex.service hikae-drill.service hikae-firewall.service > $O/security-online.txt 2>&1 || true
journalctl -b --no-pager > $O/journal.txt 2>&1
echo done >> $O/result
CHECK
chmod +x "$R/opt/hk-test/check.sh"

# Booted in its own network namespace (only a loopback: the server's 443
# and the firewall stay inside), not registered with a host systemd (there
# may be none). The check unit powers the container off; the timeout stops
# a hang, and SIGTERM asks the container's systemd to power off.
# IPAddressAllow=/IPAddressDeny= are cgroup BPF programs: systemd attaches
# them only on the unified cgroup hierarchy (this host mounts the hybrid
# one, so nspawn is told to give the container a unified one), and only if
# the container may call bpf() with CAP_BPF, which nspawn withholds by
# default. A host booted on Debian 12 has all three.
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout -k 20 300 systemd-nspawn --quiet --register=no \
  --keep-unit --private-network --system-call-filter=bpf --capability=CAP_BPF \
  --console=pipe -D "$R" -b > "$T/boot.log" 2>&1 < /dev/null &
NSPAWN_PID=$!
boot_rc=0
wait "$NSPAWN_PID" || boot_rc=$?
NSPAWN_PID=
[ -f "$R/opt/hk-test/out/result" ] ||
  { tail -40 "$T/boot.log" >&2; fail "the container wrote no result (nspawn exit $boot_rc)"; }
failed=0
while read -r line; do
  case $line in
    ok\ *) ok "container: ${line#ok }" ;;
    note:* | done) echo "$line" ;;
    *) echo "container: $line" >&2; failed=$((failed + 1)) ;;
  esac
done < "$R/opt/hk-test/out/result"
if [ "$failed" -gt 0 ]; then
  grep -E 'hikae|check' "$R/opt/hk-test/out/journal.txt" 2>/dev/null | tail -60 >&2
  tail -30 "$R/opt/hk-test/out/log" >&2
  fail "container: $failed check(s) failed (above)"
fi
grep -qx 'done' "$R/opt/hk-test/out/result" ||
  { tail -40 "$T/boot.log" >&2; fail "the checks did not finish"; }
[ "$boot_rc" -eq 0 ] || { tail -20 "$T/boot.log" >&2; fail "the container did not power off cleanly (exit $boot_rc)"; }
ok "the container powered off"
sed -n 's/^→ Overall exposure level for \(.*\)$/online: \1/p' "$R/opt/hk-test/out/security-online.txt"

# ---- uninstall ----

keep() { (cd "$R" && find var/lib/hikae var/backups/hikae -type f -print0 | sort -z | xargs -0 sha256sum); }
keep > "$T/kept-before"
in_tree /root/hk/deploy/install-archive-host --uninstall > "$T/uninstall.log" 2>&1 ||
  { cat "$T/uninstall.log" >&2; fail "--uninstall failed"; }
keep > "$T/kept-after"
diff "$T/kept-before" "$T/kept-after" > /dev/null || fail "--uninstall changed the store, the state or the backups"
for f in state/audit.log store/data.mdb backups/hikae/hikae-; do
  grep -q "$f" "$T/kept-after" || fail "no $f after --uninstall"
done
ok "--uninstall kept the store, the state (audit log) and the backups ($(wc -l < "$T/kept-after") files, same sums)"
for f in etc/systemd/system/hikae-server.service etc/systemd/system/multi-user.target.wants/hikae-server.service \
  etc/systemd/system/timers.target.wants/hikae-backup.timer etc/systemd/system/hikae-reindex.service \
  etc/systemd/system/timers.target.wants/hikae-reindex.timer usr/local/bin/hikae-server; do
  if [ -e "$R/$f" ] || [ -L "$R/$f" ]; then fail "--uninstall left /$f"; fi
done
ok "--uninstall removed the units, their links and the programs"
in_tree /root/hk/deploy/install-archive-host --uninstall > "$T/uninstall2.log" 2>&1
grep -q 'unchanged' "$T/uninstall2.log" || { cat "$T/uninstall2.log"; fail "second --uninstall changed something"; }
ok "second --uninstall: unchanged"

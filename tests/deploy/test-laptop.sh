#!/usr/bin/env bash
# Issue 11 item 8: deploy/laptop/install on a fresh Debian 12, in a chroot
# (needs root: chroot and mounts; not root, it exits 77). The tree is
# hk-mkroot's cached base; the installer apt-get installs the viewer's
# runtime packages (deploy/laptop/packages.txt; .debs cached between runs).
# The viewer is staged with `meson install --destdir` of this build; the
# installer runs twice inside the chroot (the second run changes no file). Then, inside the chroot, against a real hikae-server on the host's
# loopback (a chroot shares the host's network):
#  - hikae-viewer --version;
#  - --export-pack with only user, password file, patient, documents and
#    output given: server and CA come from the installed /etc/hikae
#    configuration; the PDF has the patient ID on every page;
#  - a server whose certificate another CA signed is refused;
#  - the export writes no file on the chroot's disk but the PDF asked for,
#    and leaves nothing in the tmpfs the launcher keeps GTK's files in;
#  - the window (under Xvfb, on the host's abstract X socket) runs with its
#    XDG folders and TMPDIR on that tmpfs and recent files off, and they are
#    gone when it ends.
. "$HK_SOURCE_DIR/tests/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (chroot, mounts)"
  exit 77
fi
for tool in chroot mount umount findmnt openssl pdfinfo pdftotext curl jq meson Xvfb; do
  command -v "$tool" >/dev/null || fail "missing tool: $tool"
done
VIEWER=$HK_BUILD_DIR/client/hikae-viewer
need "$VIEWER" "$SERVER" "$INDEXER" "$ADMIN" "$SAMPLES"
L=$HK_SOURCE_DIR/deploy/laptop
MKCERT=$HK_SOURCE_DIR/deploy/pki/hk-mkcert
R=$T/root
PATHS=PATH=/usr/local/bin:/usr/bin:/bin

# Unmount everything under $R before lib.sh removes $T; if anything stays
# mounted, keep $T rather than remove through a mount.
mounts=()
laptop_cleanup() {
  local rc=$? i p
  set +e # clean up everything, whatever fails; rc is the test's status
  # Whatever still runs inside this test's chroot (a killed `timeout`
  # leaves its children), then Xvfb.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  [ -n "${xvfb_pid:-}" ] && kill "$xvfb_pid" 2>/dev/null
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null || true
  done
  if findmnt -rn -o TARGET | grep -q "^$T/"; then
    echo "test-laptop: still mounted under $T; not removing it" >&2
    jobs -p | xargs -r kill -9 2>/dev/null
    trap - EXIT
    exit 1
  fi
  (exit "$rc") # hk_cleanup reads the status from $?
  hk_cleanup
}
trap laptop_cleanup EXIT
mnt() { # mnt TYPE DIR [OPTIONS]
  mount -t "$1" -o "${3:-defaults}" "$1" "$2"
  mounts+=("$2")
}
in_root() { timeout 300 chroot "$R" env -i "$PATHS" HOME=/root LANG=C.UTF-8 "$@"; }

# --- The viewer, staged as a release would be.
meson install -C "$HK_BUILD_DIR" --no-rebuild --destdir "$T/stage" --quiet > "$T/meson-install.log" 2>&1 ||
  fail "meson install --destdir: $(tail -5 "$T/meson-install.log")"
need "$T/stage/usr/local/bin/hikae-viewer"

# --- The archive: samples indexed, a user, two servers (the archive's CA,
# and a server with the same store whose certificate another CA signed).
"$MKCERT" "$T/pki" 127.0.0.1 > /dev/null
"$MKCERT" "$T/other" 127.0.0.1 > /dev/null
"$SAMPLES" --out "$T/samples" --patients 3 --docs-per-patient 4 --seed 11 > /dev/null
"$INDEXER" --store "$T/store" --drop "$T/samples/drop" --once > "$T/indexer.log" 2>&1 ||
  fail "indexer: $(tail -3 "$T/indexer.log")"
printf 'correct horse battery staple\n' > "$T/pw"
"$ADMIN" user add viewer1 --state "$T/state" --role viewer < "$T/pw" > /dev/null 2>&1 || fail "user add"
mkdir -p "$T/state-other"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_server PKI STATE LOG: sets $started to its port once /health answers.
# (Not in $(...): a server started in a subshell is not among the jobs
# lib.sh kills on exit.)
start_server() {
  local port i pid
  port=$(free_port)
  "$SERVER" --store "$T/store" --state "$2" --listen "127.0.0.1:$port" \
    --tls-cert "$1/server.pem" --tls-key "$1/server.key" --workers 1 > "$3" 2>&1 &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    curl -sf --cacert "$1/ca.pem" "https://127.0.0.1:$port/api/v1/health" > /dev/null && break
    kill -0 "$pid" 2>/dev/null || fail "server exited: $(tail -3 "$3")"
    sleep 0.1
  done
  [ "$i" -lt 300 ] || fail "server on $port did not answer /health"
  started=$port
}
start_server "$T/pki" "$T/state" "$T/server.log"
port=$started
start_server "$T/other" "$T/state-other" "$T/server-other.log"
other=$started
patient=$("$ADMIN" ls --store "$T/store" | jq -r .patient_id | sort | head -1)
docs=$("$ADMIN" ls --store "$T/store" --patient "$patient" | jq -r .id | head -3 | paste -sd, -)
ndocs=$(printf '%s' "$docs" | tr ',' '\n' | grep -c .)
[ "$ndocs" -ge 2 ] || fail "sample patient $patient has $ndocs documents"

# --- A fresh Debian 12 (hk-mkroot's cached base tree). The installer
# apt-get installs the viewer's runtime packages itself, as on a laptop;
# their .debs are kept in the cache folder between runs (bound onto the
# tree's apt archive), so a warm run downloads only the package lists.
# (Giving them to hk-mkroot instead makes debootstrap fail to configure
# dconf-service.)
"$HK_MKROOT" "$R" > "$T/mkroot.log" 2>&1 || fail "hk-mkroot: $(tail -5 "$T/mkroot.log")"
debs=${HK_ROOT_CACHE:-/var/cache/hikae-test}/laptop-debs
mkdir -p "$debs"
mount --bind "$debs" "$R/var/cache/apt/archives"
mounts+=("$R/var/cache/apt/archives")
mnt proc "$R/proc"
mnt tmpfs "$R/dev/shm" mode=1777
S=/root/hikae-setup
mkdir -p "$R$S"
cp "$L/install" "$L/hikae-viewer.in" "$L/packages.txt" "$R$S/"
cp -a "$T/stage" "$R$S/stage"
cp "$T/pki/ca.pem" "$R$S/ca.pem"
install_args=(--binaries "$S/stage" --ca "$S/ca.pem" --server "https://127.0.0.1:$port")

snap() { # what the installer may touch, with mtimes
  (cd "$R" && find etc usr var opt \( -path var/cache -o -path var/log -o -path var/lib/apt/lists \) -prune -o \
     \( -type f -o -type l \) -printf '%p %s %m %U %G %T@ %l\n' | sort)
}
before=$(snap)
in_root "$S/install" "${install_args[@]}" > "$T/install1.log" 2>&1 ||
  fail "install (1st run): $(tail -5 "$T/install1.log")"
grep -q "apt-get install libgtk-4-1 " "$T/install1.log" || fail "1st run did not install the packages"
n1=$(sed -n 's/.* \([0-9]*\) file(s) changed$/\1/p' "$T/install1.log")
if [ -z "$n1" ] || [ "$n1" -lt 5 ]; then fail "1st run: $(tail -3 "$T/install1.log")"; fi
ok "1st run of install wrote $n1 files"
after1=$(snap)
[ "$before" != "$after1" ] || fail "1st run changed nothing"
sums1=$(cd "$R" && sha256sum etc/hikae/* usr/local/bin/hikae-viewer usr/local/lib/hikae/hikae-viewer)
in_root "$S/install" "${install_args[@]}" > "$T/install2.log" 2>&1 ||
  fail "install (2nd run): $(tail -5 "$T/install2.log")"
grep -q " 0 file(s) changed$" "$T/install2.log" || fail "2nd run: $(cat "$T/install2.log")"
if grep -q "apt-get" "$T/install2.log"; then fail "2nd run ran apt-get"; fi
after2=$(snap)
diff <(printf '%s\n' "$after1") <(printf '%s\n' "$after2") > "$T/snap.diff" ||
  fail "2nd run changed files: $(head -5 "$T/snap.diff")"
sums2=$(cd "$R" && sha256sum etc/hikae/* usr/local/bin/hikae-viewer usr/local/lib/hikae/hikae-viewer)
assert_eq "$sums1" "$sums2" "2nd run: no file, mode or mtime changed under /etc /usr /var /opt"

# --- What was installed, and where the CA is (only the viewer's config).
grep -qx "server=https://127.0.0.1:$port" "$R/etc/hikae/viewer.conf" || fail "viewer.conf server"
grep -qx "ca=/etc/hikae/archive-ca.pem" "$R/etc/hikae/viewer.conf" || fail "viewer.conf ca"
cmp -s "$T/pki/ca.pem" "$R/etc/hikae/archive-ca.pem" || fail "archive-ca.pem is not the CA"
ok "/etc/hikae/viewer.conf names the server and the CA"
body=$(sed -n 2p "$T/pki/ca.pem")
if grep -rqsF -- "$body" "$R/etc/ssl" "$R/usr/local/share/ca-certificates" "$R/usr/share/ca-certificates"; then
  fail "the archive CA is in the system trust store"
fi
ok "the archive CA is not in the system trust store"
grep -q "^Exec=/usr/local/bin/hikae-viewer$" "$R/usr/local/share/applications/hikae-viewer.desktop" ||
  fail "desktop entry"
ok "desktop entry runs the launcher"
[ -f "$R/usr/local/share/locale/ja/LC_MESSAGES/hikae.mo" ] || fail "ja translation not installed"
if [ -e "$R/usr/local/bin/hikae-server" ] || [ -e "$R/usr/local/bin/hikae-admin" ]; then
  fail "server or admin programs installed on the laptop"
fi
ok "the Japanese catalogue is installed; the server and admin programs are not"
in_root ldd /usr/local/lib/hikae/hikae-viewer > "$T/ldd" 2>&1 || fail "ldd: $(cat "$T/ldd")"
if grep -q "not found" "$T/ldd"; then fail "libraries missing in the chroot: $(grep 'not found' "$T/ldd")"; fi
ok "every library of the viewer is in the chroot ($(wc -l < "$T/ldd") libraries)"

# --- The installed viewer.
v=$(in_root hikae-viewer --version) || fail "--version in the chroot"
assert_eq "$("$VIEWER" --version)" "$v" "the installed viewer prints its version"

cp "$T/pw" "$R/root/pw"
touch "$R/root/.marker" # what the export writes is newer (ns mtimes)
in_root hikae-viewer --export-pack --user viewer1 --password-file /root/pw \
  --patient "$patient" --docs "$docs" --out /root/pack.pdf > "$T/export.log" 2>&1 ||
  fail "--export-pack in the chroot: $(cat "$T/export.log")"
ok "--export-pack in the chroot (server and CA from /etc/hikae/viewer.conf): $(cat "$T/export.log")"
pages=$(pdfinfo "$R/root/pack.pdf" | sed -n 's/^Pages: *//p')
[ "$pages" -gt "$ndocs" ] || fail "pack has $pages pages for $ndocs documents"
for ((p = 1; p <= pages; p++)); do
  pdftotext -f "$p" -l "$p" "$R/root/pack.pdf" - | grep -q "$patient" ||
    fail "page $p of the pack lacks patient ID $patient"
done
ok "the pack has $pages pages, each with patient ID $patient"
written=$(cd "$R" && find . -xdev -newer root/.marker -type f ! -path ./root/pack.pdf | sort)
assert_eq "" "$written" "the export wrote no file on the chroot's disk but the PDF"
assert_eq "" "$(ls -A "$R/dev/shm")" "the launcher's tmpfs folder is removed after the export"

rc=0
in_root hikae-viewer --export-pack --server "https://127.0.0.1:$other" --user viewer1 \
  --password-file /root/pw --patient "$patient" --docs "$docs" --out /root/other.pdf \
  > "$T/other.log" 2>&1 || rc=$?
curl -sf --cacert "$T/other/ca.pem" "https://127.0.0.1:$other/api/v1/health" > /dev/null ||
  fail "the other-CA server does not answer with its own CA"
assert_eq 1 "$rc" "a server signed by another CA is refused"
grep -qi "certificate" "$T/other.log" || fail "the refusal does not name the certificate: $(cat "$T/other.log")"
[ ! -e "$R/root/other.pdf" ] || fail "a PDF was written from the untrusted server"
ok "refusal names the certificate, no PDF: $(head -c 160 "$T/other.log")"

# --- The window: its environment, read from /proc while it runs. Xvfb
# picks a free display (-displayfd); the chroot reaches it through the
# abstract X socket (same network namespace).
Xvfb -displayfd 3 -nolisten tcp -screen 0 1280x800x24 3> "$T/display" > "$T/xvfb.log" 2>&1 &
xvfb_pid=$!
for ((i = 0; i < 300; i++)); do
  [ -s "$T/display" ] && break
  kill -0 "$xvfb_pid" 2>/dev/null || fail "Xvfb exited: $(tail -3 "$T/xvfb.log")"
  sleep 0.1
done
disp=$(head -1 "$T/display")
[ -n "$disp" ] || fail "Xvfb gave no display"
touch "$R/root/.marker"
timeout 300 chroot "$R" env -i "$PATHS" HOME=/root LANG=C.UTF-8 DISPLAY=":$disp" \
  GDK_BACKEND=x11 hikae-viewer > "$T/gui.log" 2>&1 &
launcher=$!
viewer_pid() { # the chroot's viewer process (its exe seen from here)
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$R/usr/local/lib/hikae/hikae-viewer" ] && echo "${p#/proc/}"
  done
  return 0
}
gui=''
for ((i = 0; i < 600; i++)); do
  gui=$(viewer_pid | head -1)
  # Up means it has opened its window: a socket (the X connection) among its fds.
  if [ -n "$gui" ] && find "/proc/$gui/fd" -lname 'socket:*' 2>/dev/null | grep -q .; then break; fi
  kill -0 "$launcher" 2>/dev/null || fail "the viewer window exited: $(tail -5 "$T/gui.log")"
  sleep 0.1
done
[ -n "$gui" ] || fail "no viewer process under the launcher"
envf=$(tr '\0' '\n' < "/proc/$gui/environ")
for var in XDG_CACHE_HOME XDG_DATA_HOME XDG_CONFIG_HOME XDG_STATE_HOME TMPDIR; do
  d=$(printf '%s\n' "$envf" | sed -n "s/^$var=//p")
  case $d in /dev/shm/hikae-viewer.*) ;; *) fail "$var=$d is not in the launcher's tmpfs folder" ;; esac
  [ "$(stat -f -c %T "$R$d")" = tmpfs ] || fail "$var=$d is not on a tmpfs"
done
ok "the window runs with its XDG cache, data, config, state and TMPDIR on a tmpfs"
printf '%s\n' "$envf" | grep -qx GSETTINGS_BACKEND=memory || fail "GSETTINGS_BACKEND"
grep -qx "gtk-recent-files-enabled=false" "$R$(printf '%s\n' "$envf" | sed -n 's/^XDG_CONFIG_HOME=//p')/gtk-4.0/settings.ini" ||
  fail "recent files not switched off"
[ "$(sed -n 's/^Max core file size *\([0-9a-z]*\).*/\1/p' "/proc/$gui/limits")" = 0 ] || fail "core dumps allowed"
ok "GSettings in memory, GTK recent files off, no core dump"
kill "$gui"
wait "$launcher" || true
assert_eq "" "$(ls -A "$R/dev/shm")" "the tmpfs folder is removed when the window ends"
written=$(cd "$R" && find . -xdev -newer root/.marker -type f | sort)
assert_eq "" "$written" "the window wrote no file on the chroot's disk"
echo "$HK_CHECKS checks passed"

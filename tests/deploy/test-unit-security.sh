#!/usr/bin/env bash
# Every hikae service unit scores 1.5 or lower in `systemd-analyze security
# --offline=yes` (docs/operations.md, "The archive host", records the
# scores and explains each remaining exposure). hikae-server.service is
# scored as installed: with install-archive-host's drop-in, which adds the
# reference subnet to IPAddressAllow=. No root needed. (Timers run no
# process of their own: there is nothing of theirs to score.)
. "$(dirname "$0")/../lib.sh"
command -v systemd-analyze >/dev/null || fail "missing: systemd-analyze (package systemd)"
D=${HK_SOURCE_DIR:?run through meson test}/deploy/systemd
MAX=1.5
units=("$D"/*.service)
[ ${#units[@]} -ge 5 ] || fail "expected at least 5 units in $D, found ${#units[@]}"

# The installed form of the server's unit: the file plus its drop-in.
mkdir -p "$T/installed"
{ cat "$D/hikae-server.service"; printf '[Service]\nIPAddressAllow=192.0.2.0/24\n'; } \
  > "$T/installed/hikae-server.service"

score() { # UNITFILE: prints the overall exposure
  systemd-analyze security --offline=yes --no-pager "$1" > "$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "systemd-analyze security failed on $1"; }
  sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/out"
}

printf '%-28s %s\n' UNIT EXPOSURE
for u in "${units[@]}" "$T/installed/hikae-server.service"; do
  name=$(basename "$u")
  [ "$u" = "$T/installed/hikae-server.service" ] && name="$name (installed)"
  s=$(score "$u")
  [ -n "$s" ] || { cat "$T/out" >&2; fail "$name: no overall exposure in the output"; }
  printf '%-28s %s\n' "$name" "$s"
  grep '✗' "$T/out" | sed 's/^/    /' || true
  awk -v s="$s" -v m="$MAX" 'BEGIN { exit !(s <= m) }' ||
    fail "$name scores $s, above $MAX"
  ok "$name: $s <= $MAX"
done

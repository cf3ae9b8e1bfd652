#!/usr/bin/env bash
# Issue 12 item 1.5: the viewer's command line, without a display (DISPLAY
# and WAYLAND_DISPLAY unset: --help, --version and usage errors never open
# GTK). --help/--version exit 0 with output; a bad option exits 2 with one
# line; --config FILE is read ([viewer] group): the options of --export-pack
# come from it alone.
. "$HK_SOURCE_DIR/tests/lib.sh"
VIEWER=$HK_BUILD_DIR/client/hikae-viewer
export -n DISPLAY WAYLAND_DISPLAY; unset DISPLAY WAYLAND_DISPLAY
"$VIEWER" --help > "$T/out" || fail "--help exit $?"
grep -q -- "--config" "$T/out" && grep -q -- "--server" "$T/out" || fail "--help: $(cat "$T/out")"
ok "--help exits 0 and lists the options"
"$VIEWER" --version > "$T/out" || fail "--version exit $?"
grep -q "^hikae-viewer 0\." "$T/out" || fail "--version: $(cat "$T/out")"
ok "--version exits 0: $(cat "$T/out")"
for bad in "--bogus" "--idle-lock-minutes=many" "stray-argument"; do
  rc=0; "$VIEWER" $bad > /dev/null 2> "$T/err" || rc=$?
  assert_eq 2 "$rc" "$bad is a usage error"
  assert_eq 1 "$(wc -l < "$T/err")" "$bad: one line ($(cat "$T/err"))"
done
rc=0; "$VIEWER" --config "$T/missing.conf" 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "a missing --config file is a usage error"
grep -q "missing.conf" "$T/err" || fail "names the file: $(cat "$T/err")"; ok "the message names the file"
# Without the export options: a usage error naming them.
rc=0; "$VIEWER" --export-pack 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "--export-pack without its options"
# With them from --config: no usage error; the export itself runs and fails
# on the closed loopback port it was given (nothing listens there).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "pw" > "$T/pw"; touch "$T/ca.pem"
cat > "$T/viewer.conf" <<CONF
[viewer]
server=https://127.0.0.1:$port
ca=$T/ca.pem
user=alice
password-file=$T/pw
patient=0000000001
docs=0123456789abcdef
out=$T/pack.pdf
CONF
rc=0; timeout 60 "$VIEWER" --export-pack --config "$T/viewer.conf" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "--export-pack with every option from --config runs (and fails at run time)"
grep -q "export failed" "$T/err" || fail "not the export's failure: $(cat "$T/err")"
ok "the options came from --config: $(head -c 200 "$T/err")"
[ ! -e "$T/pack.pdf" ] || fail "a failed export left a file"; ok "no file left by the failed export"
echo "$HK_CHECKS checks passed"

#!/usr/bin/env bash
# A FIFO, a socket, a device node or a symbolic link where a source file
# belongs is quarantined with a reason naming what it is, within one scan
# (hikae-indexer --once returns; a FIFO once hung it), in a drop folder and
# in an SS-MIX2 tree; good files beside them are ingested (issue 10, item 12).
. "$HK_SOURCE_DIR/tests/lib.sh"
FS=$HK_BUILD_DIR/tests/indexer/hk-test-fs
[ -x "$FS" ] || fail "hk-test-fs not built"
C=$HK_CORPUS_DIR
D=$T/drop
R=$T/ssmix2
mkdir -p "$D"
base='"patient_id":"0000000001","type":"progress_note","title":"t","created_at":"2026-11-20T14:03:00+09:00"'
sc() { printf '{%s,"source_id":"SPECIAL:%s"}' "$base" "$2" > "$1"; }
# Device nodes need CAP_MKNOD (the tests run as root). Without it this test
# cannot show what it must: it fails and says why, it does not skip.
mknod_or_fail() {
  mknod "$1" c "$2" "$3" 2> "$T/mknod.err" ||
    fail "mknod $1 c $2 $3 failed ($(cat "$T/mknod.err")): run as root with CAP_MKNOD"
}

# Drop folder: content files and sidecars of each kind.
printf 'a good note\n' > "$D/good.txt"
sc "$D/good.txt.meta.json" good
mkfifo "$D/fifo.txt"
sc "$D/fifo.txt.meta.json" fifo
"$FS" socket "$D/sock.txt" || fail "cannot make a socket"
sc "$D/sock.txt.meta.json" sock
mknod_or_fail "$D/dev.txt" 1 5 # /dev/zero: endless bytes if it were read
sc "$D/dev.txt.meta.json" dev
ln -s good.txt "$D/link.txt" # a link that stays inside is refused too
sc "$D/link.txt.meta.json" link
printf 'side\n' > "$D/fifosc.txt"
mkfifo "$D/fifosc.txt.meta.json"
printf 'side\n' > "$D/devsc.txt"
mknod_or_fail "$D/devsc.txt.meta.json" 1 3
[ -p "$D/fifo.txt" ] && [ -S "$D/sock.txt" ] && [ -c "$D/dev.txt" ] && [ -L "$D/link.txt" ] ||
  fail "the special files were not made"

# SS-MIX2: message files of each kind beside a good one, and an
# extended-storage content folder whose main message is a FIFO.
src=$C/ssmix2/nho_support/standard_root/012/345/0123456789
OML=$R/012/345/0123456789/20080126/OML-11
mkdir -p "$R/012/345"
cp -r "$src" "$R/012/345/0123456789"
name=$(basename "$OML"/*)
n() { echo "${name/081251234567800/$1}"; }
mkfifo "$OML/$(n 000000000000001)"
"$FS" socket "$OML/$(n 000000000000002)" || fail "cannot make a socket"
mknod_or_fail "$OML/$(n 000000000000003)" 1 5
ln -s "$name" "$OML/$(n 000000000000004)"
ext=$C/ssmix2/nho_support/extended_root/012/345/0123456789/20160101
xdt='L-OBSERVATIONS^OBSERVATIONS^99ZL01'
XF=$R/012/345/0123456789/20160101/$xdt/0123456789_20160101_${xdt}_000000000000005_201601011500321_1
mkdir -p "$XF"
mkfifo "$XF/main_document.hl7"

# One scan; a hang is a failure, not a wait (timeout only stops a hang).
rc=0
timeout -s KILL 120 "$INDEXER" --store "$T/st" --drop "$D" --ssmix2 "$R" --once 2> "$T/log" || rc=$?
[ "$rc" -ne 137 ] || fail "the indexer hung on a special file (killed after 120 s)"
assert_eq 0 "$rc" "one scan returns, exit 0"

"$ADMIN" quarantine --store "$T/st" > "$T/q"
expect() { # source-suffix reason-regex
  local line
  line=$(jq -r --arg f "$1" 'select(.source | endswith($f)) | .reason' "$T/q")
  [ -n "$line" ] || fail "$1 not in quarantine: $(jq -r .source "$T/q" | tr '\n' ' ')"
  echo "$line" | grep -Eq -- "$2" || fail "$1 reason [$line] does not match [$2]"
  ok "$1 quarantined: $line"
}
expect drop/fifo.txt 'fifo.txt is a FIFO'
expect drop/sock.txt 'sock.txt is a socket'
expect drop/dev.txt 'dev.txt is a character device'
expect drop/link.txt 'link.txt is a symbolic link'
expect drop/fifosc.txt.meta.json 'fifosc.txt.meta.json is a FIFO'
expect drop/devsc.txt.meta.json 'devsc.txt.meta.json is a character device'
expect "$(n 000000000000001)" 'is a FIFO'
expect "$(n 000000000000002)" 'is a socket'
expect "$(n 000000000000003)" 'is a character device'
expect "$(n 000000000000004)" 'is a symbolic link'
expect "${XF##*/}" 'main_document.hl7 is a FIFO'
"$ADMIN" ls --store "$T/st" > "$T/ls"
assert_eq 1 "$(jq -r 'select(.source_id == "SPECIAL:good")' "$T/ls" | jq -s length)" "the good drop file is ingested"
assert_eq 1 "$(jq -s 'map(select(.source_id == "SSMIX2:0123456789:OML-11:081251234567800")) | length' "$T/ls")" \
  "the good SS-MIX2 message is ingested"
# A second scan quarantines nothing again and still returns.
q1=$(stat_field "$T/st" quarantined)
timeout -s KILL 120 "$INDEXER" --store "$T/st" --drop "$D" --ssmix2 "$R" --once 2>> "$T/log" ||
  fail "second scan: $(tail -3 "$T/log")"
assert_eq "$q1" "$(stat_field "$T/st" quarantined)" "a rescan does not repeat the quarantine records"
"$ADMIN" verify --store "$T/st" > /dev/null || fail verify
ok "the store verifies"
# Roots given as relative paths read the same files beneath them.
(cd "$T" && timeout -s KILL 120 "$INDEXER" --store st-rel --drop drop --ssmix2 ./ssmix2/ --once) \
  2>> "$T/log" || fail "relative roots: $(tail -3 "$T/log")"
assert_eq 2 "$(stat_field "$T/st-rel" documents)" "relative roots: the good files are ingested"
assert_eq "$q1" "$(stat_field "$T/st-rel" quarantined)" "relative roots: the same files quarantined"
echo "$HK_CHECKS checks passed"

#!/usr/bin/env bash
# Issue 11 item 7: hikae-admin restore --from BACKUP --store NEWDIR.
# A verified backup is restored into a new folder (or an empty one, whose
# owner and mode it keeps), identical to the backup and verified; the
# backup itself is only read (also from a read-only mount: root, mount
# namespace); a store or anything else at NEWDIR is never overwritten; a
# missing, failed, unfinished, foreign, format-1, cut-short or damaged
# backup is refused with the problem named and nothing left behind.
. "$HK_SOURCE_DIR/tests/lib.sh"
GEN=$HK_BUILD_DIR/tests/common/hk-store-v1-gen
need "$GEN"
D=$T/drop
for i in 1 2 3; do
  printf 'RESTORE-MARKER-%s note %s\n' "$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$i" > "$T/n$i.txt"
  mkdoc "$D" "n$i.txt" "R:$i" progress_note "$T/n$i.txt" "" "000000000$i"
done
"$INDEXER" --store "$T/st" --drop "$D" --once 2> /dev/null
"$ADMIN" backup --store "$T/st" --to "$T/bk" > /dev/null || fail "backup"
BK=$(ls -d "$T"/bk/hikae-*)
before=$(tree_sum "$BK")

rc=0; "$ADMIN" restore --store "$T/x" 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "restore without --from is a usage error"
rc=0; "$ADMIN" restore --from "$BK" 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "restore without --store is a usage error"
grep -q -- "--store NEWDIR is required" "$T/err" || fail "names the missing option: $(cat "$T/err")"

# The restore itself, into a folder whose parent does not exist yet.
"$ADMIN" restore --from "$BK" --store "$T/new/store" > "$T/out" || fail "restore: $(cat "$T/out")"
grep -q "3 versions verified" "$T/out" || fail "restore output: $(cat "$T/out")"
ok "restore copies and verifies every version"
assert_eq "$before" "$(tree_sum "$BK")" "the backup is not written to (no lock file, no change)"
assert_eq "data.mdb" "$(ls "$T/new/store")" "the new store holds data.mdb only"
assert_eq "" "$(ls -d "$T"/new/*.restore-* 2> /dev/null || true)" "no temporary folder is left"
assert_eq 750 "$(stat -c %a "$T/new/store")" "a new store folder is 0750"
"$ADMIN" verify --store "$T/new/store" > /dev/null || fail "the restored store verifies"
ok "the restored store verifies on its own"
"$ADMIN" ls --store "$T/new/store" | jq -c '[.id, .sha256, .version]' | sort > "$T/ls.new"
"$ADMIN" ls --store "$BK" | jq -c '[.id, .sha256, .version]' | sort > "$T/ls.bk"
assert_eq "$(cat "$T/ls.bk")" "$(cat "$T/ls.new")" "the same documents, versions and hashes as the backup"
sum_new=$(sha256sum < "$T/new/store/data.mdb")

# Never over a store, nor into anything that is not a new or empty folder.
rc=0; "$ADMIN" restore --from "$BK" --store "$T/new/store/" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "restore onto a store is refused"
grep -q "already holds a store" "$T/err" || fail "message: $(cat "$T/err")"
assert_eq "$sum_new" "$(sha256sum < "$T/new/store/data.mdb")" "and the store there is untouched"
mkdir "$T/junk"; echo x > "$T/junk/data.mdb"
rc=0; "$ADMIN" restore --from "$BK" --store "$T/junk" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "a folder with any data.mdb is refused"
assert_eq x "$(cat "$T/junk/data.mdb")" "and its data.mdb is untouched"
mkdir "$T/busy"; echo keep > "$T/busy/notes.txt"
rc=0; "$ADMIN" restore --from "$BK" --store "$T/busy" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "a folder that is not empty is refused"
grep -q "is not empty" "$T/err" || fail "message: $(cat "$T/err")"
echo file > "$T/afile"
rc=0; "$ADMIN" restore --from "$BK" --store "$T/afile" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "a file at NEWDIR is refused"
grep -q "not a folder" "$T/err" || fail "message: $(cat "$T/err")"

# An empty folder made ready for the store keeps its owner and mode.
mkdir -m 0710 "$T/ready"
[ "$(id -u)" -eq 0 ] || fail "this test runs as root (it chowns a folder, mounts read-only)"
chown nobody "$T/ready"
"$ADMIN" restore --from "$BK" --store "$T/ready" > /dev/null || fail "restore into an empty folder"
assert_eq "nobody 710" "$(stat -c '%U %a' "$T/ready")" "an empty folder's owner and mode are kept"
assert_eq "nobody" "$(stat -c '%U' "$T/ready/data.mdb")" "and data.mdb belongs to that owner"

# From a write-protected medium: a read-only bind mount of the backup.
need /usr/bin/unshare
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
  if touch "$1/probe" 2> /dev/null; then echo writable; exit 1; fi &&
  "$2" restore --from "$1" --store "$3"' sh "$BK" "$ADMIN" "$T/from-ro" > "$T/out" 2>&1 \
  || fail "restore from a read-only backup: $(cat "$T/out")"
"$ADMIN" verify --store "$T/from-ro" > /dev/null || fail "verify"
ok "restore from a read-only mount of the backup works"

# Refused backups: the problem is named, NEWDIR is not created.
refused() { # refused FROM PATTERN MESSAGE
  local rc=0
  "$ADMIN" restore --from "$1" --store "$T/never" > /dev/null 2> "$T/err" || rc=$?
  [ "$rc" -eq 1 ] || fail "$3: exit $rc, want 1"
  grep -q -- "$2" "$T/err" || fail "$3: message [$(cat "$T/err")] lacks [$2]"
  [ ! -e "$T/never" ] || fail "$3: $T/never was created"
  ok "$3"
}
refused "$T/nothing-here" "No such file" "a missing backup is refused"
refused "$T/afile" "not a folder" "a file as backup is refused"
mkdir "$T/empty"
refused "$T/empty" "holds no data.mdb: not a hikae backup" "a folder without data.mdb is refused"
cp -r "$BK" "$T/bk/hikae-20990101T000000Z.failed"
refused "$T/bk/hikae-20990101T000000Z.failed" "did not verify (\*.failed)" "a .failed backup is refused"
cp -r "$BK" "$T/bk/hikae-20990101T000000Z.partial"
refused "$T/bk/hikae-20990101T000000Z.partial" "unfinished backup" "a .partial backup is refused"
mkdir "$T/garbage"; head -c 65536 /dev/urandom > "$T/garbage/data.mdb"
refused "$T/garbage" "not an LMDB file" "random bytes are refused"
mkdir "$T/short"; head -c 16384 "$BK/data.mdb" > "$T/short/data.mdb"
refused "$T/short" "data.mdb is cut short" "a cut-short data.mdb is refused (not a SIGBUS)"
rc=0; "$ADMIN" verify --store "$T/short" > /dev/null 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "verify of a cut-short store fails (exit 1, not SIGBUS's 135)"
grep -q "cut short" "$T/err" || fail "verify names it: $(cat "$T/err")"
# An LMDB file that is no hikae store: the server's accounts.
echo 'an account password 123' | "$ADMIN" user add someone --state "$T/state" > /dev/null 2>&1 \
  || fail "user add"
mkdir "$T/accounts"; cp "$T/state/accounts.mdb" "$T/accounts/data.mdb"
refused "$T/accounts" "is not a hikae store" "another LMDB file is refused"
"$GEN" "$T/v1" || fail "format-1 store"
refused "$T/v1" "format 1" "a format-1 store is refused, with the way to migrate"
grep -q "hikae-admin migrate" "$T/err" || fail "names migrate"
# A flipped byte in a document's bytes: found by the re-hash.
mkdir "$T/damaged"; cp "$BK/data.mdb" "$T/damaged/"
off=$(grep -abo "RESTORE-MARKER-" "$T/damaged/data.mdb" | head -1 | cut -d: -f1)
[ -n "$off" ] || fail "marker not found"
printf 'X' | dd of="$T/damaged/data.mdb" bs=1 seek="$off" conv=notrunc status=none
refused "$T/damaged" "does not verify" "a damaged backup is refused"
grep -q "MISMATCH" "$T/err" || fail "the mismatch is listed: $(cat "$T/err")"
assert_eq "" "$(find "$T" -name '*.restore-*')" "no refused restore leaves a temporary folder"
echo "$HK_CHECKS checks passed"

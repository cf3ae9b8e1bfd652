#!/usr/bin/env bash
# A file or a folder of a source swapped for a symbolic link between the
# walk and the read never brings a file from outside into the archive
# (issue 10, item 12). 1,000 rounds of atomic swaps (renameat2
# RENAME_EXCHANGE) in a drop folder and an SS-MIX2 tree, while the indexer
# scans both again and again; a marker that only files outside the sources
# hold must never reach the store.
. "$HK_SOURCE_DIR/tests/lib.sh"
FS=$HK_BUILD_DIR/tests/indexer/hk-test-fs
[ -x "$FS" ] || fail "hk-test-fs not built"
C=$HK_CORPUS_DIR
MARK=HKOUTSIDEMARKER$RANDOM$RANDOM
O=$T/outside
D=$T/drop
R=$T/ssmix2
ROUNDS=${HK_RACE_ROUNDS:-1000}
base='"patient_id":"0000000001","type":"progress_note","title":"t","created_at":"2026-11-20T14:03:00+09:00"'
sc() { printf '{%s,"source_id":"RACE:%s"}' "$base" "$2" > "$1"; }

# Drop folder: eight files, each with a link to an outside file beside it,
# and a folder of eight more with a link to an outside folder beside it.
mkdir -p "$O/sub" "$D/sub"
pairs=()
for i in 1 2 3 4 5 6 7 8; do
  printf 'benign note %s\n' "$i" > "$D/f$i.txt"
  sc "$D/f$i.txt.meta.json" "f$i"
  printf 'outside %s %s\n' "$MARK" "$i" > "$O/f$i.txt"
  ln -s "$O/f$i.txt" "$D/f$i.lnk"
  pairs+=("$D/f$i.txt" "$D/f$i.lnk")
  printf 'benign sub note %s\n' "$i" > "$D/sub/g$i.txt"
  sc "$D/sub/g$i.txt.meta.json" "g$i"
  printf 'outside %s sub %s\n' "$MARK" "$i" > "$O/sub/g$i.txt"
  sc "$O/sub/g$i.txt.meta.json" "g$i"
done
ln -s "$O/sub" "$D/sub.lnk"
pairs+=("$D/sub" "$D/sub.lnk")

# SS-MIX2: a patient folder with a link to an outside patient folder (dot
# names are not walked), and a message file with a link to an outside one.
src=$C/ssmix2/nho_support/standard_root/012/345/0123456789
name=$(basename "$src"/20080126/OML-11/*)
name2=${name/081251234567800/081251234567801}
mkdir -p "$R/012/345"
cp -r "$src" "$R/012/345/0123456789"
cp "$src/20080126/OML-11/$name" "$R/012/345/0123456789/20080126/OML-11/$name2"
mkdir -p "$O/ss"
cp -r "$src" "$O/ss/0123456789"
for f in "$O/ss/0123456789/20080126/OML-11/$name" "$O/ss/0123456789/20080126/OML-11/$name2" \
  "$O/ss/$name2"; do
  sed "s/(2+)/$MARK/" "$src/20080126/OML-11/$name" > "$f"
  grep -q "$MARK" "$f" || fail "marker not written into $f"
done
ln -s "$O/ss/0123456789" "$R/012/345/.0123456789"
# (The outside folder has the pair too: the file pair is swapped through
# whichever patient folder is in place.)
ln -s "$O/ss/$name2" "$R/012/345/0123456789/20080126/OML-11/.$name2"
ln -s "$O/ss/$name2" "$O/ss/0123456789/20080126/OML-11/.$name2"
pairs+=("$R/012/345/0123456789/20080126/OML-11/$name2" "$R/012/345/0123456789/20080126/OML-11/.$name2")
pairs+=("$R/012/345/0123456789" "$R/012/345/.0123456789")

ix() { "$INDEXER" --store "$T/st" --drop "$D" --ssmix2 "$R" --once --tripwire-threshold 1000000 "$@"; }
ix 2> "$T/log0" || fail "first scan: $(tail -3 "$T/log0")"
ok "first scan of both sources"

# The swapper runs ROUNDS rounds (bounded); the indexer scans until it is
# done, at most 600 times. A link is only met when a swap falls between the
# walk's look at a name and its open: on a loaded machine (few scans in a
# run) that can miss, so the race is run again, at most 5 times in all,
# until the indexer has met a link (checked below: the race really ran).
links_met() { "$ADMIN" quarantine --store "$T/st" | grep -c 'symbolic link' || true; }
for run in 1 2 3 4 5; do
  "$FS" swap "$ROUNDS" 3000 "${pairs[@]}" > "$T/swaps" 2> "$T/swaps.err" &
  racer=$!
  scans=0
  while kill -0 "$racer" 2> /dev/null && [ "$scans" -lt 600 ]; do
    ix 2>> "$T/log" || fail "scan $scans failed: $(tail -3 "$T/log")"
    scans=$((scans + 1))
  done
  wait "$racer" || fail "swapper: $(cat "$T/swaps.err")"
  assert_eq "$ROUNDS" "$(cat "$T/swaps")" \
    "race $run: $ROUNDS rounds of swaps while the indexer scanned ($scans scans)"
  # One more scan of whatever state the swaps left.
  ix 2>> "$T/log" || fail "last scan: $(tail -3 "$T/log")"
  [ "$(links_met)" -eq 0 ] || break
done

# Nothing from outside: not in any stored byte, not in any exported version.
n=$(cat "$T"/st/*.mdb | grep -a -c "$MARK" || true)
assert_eq 0 "$n" "no store file holds the outside marker"
"$ADMIN" ls --store "$T/st" > "$T/ls"
nv=0
while read -r id v; do
  "$ADMIN" export --store "$T/st" --doc "$id" --version "$v" --out "$T/x" || fail "export $id v$v"
  grep -q "$MARK" "$T/x" && fail "document $id version $v holds a file from outside the source"
  nv=$((nv + 1))
done < <(jq -r '"\(.id) \(.version)"' "$T/ls")
[ "$nv" -ge 17 ] || fail "only $nv versions stored"
ok "none of the $nv stored versions holds a byte from outside the sources"
"$ADMIN" quarantine --store "$T/st" > "$T/q"
grep -q "$MARK" "$T/q" && fail "the outside marker reached a quarantine record"
ok "nor does any quarantine record"
# The race was run: the indexer met the links and refused them by name.
nl=$(grep -c 'symbolic link' "$T/q" || true)
[ "$nl" -gt 0 ] || fail "no link was ever met: the race did not run"
ok "$nl files refused as symbolic links during the race"
"$ADMIN" verify --store "$T/st" > /dev/null || fail verify
ok "the store verifies"
echo "$HK_CHECKS checks passed"

#!/usr/bin/env bash
# Issue 12 item 1.5, indexer behaviour that had no test:
# - --max-size: a file over it is quarantined with a reason naming the
#   limit; one under it is ingested;
# - ordering within one scan: versions of one source_id found together go in
#   by their sidecars' mtime, then name (interfaces.md "Drop folder");
# - map-full regrowth on the command-line path: --map-size 1 and batches far
#   larger than 1 MiB; every document in, bytes intact, verify passes.
. "$HK_SOURCE_DIR/tests/lib.sh"

# --max-size
mkdir -p "$T/m"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' > "$T/big.txt"
head -c $((1024 * 1024 - 4096)) /dev/zero | tr '\0' 'b' > "$T/fits.txt"
mkdoc "$T/m/drop" big.txt MAX:BIG progress_note "$T/big.txt"
mkdoc "$T/m/drop" fits.txt MAX:FITS progress_note "$T/fits.txt"
"$INDEXER" --store "$T/m/st" --drop "$T/m/drop" --once --max-size 1 2> "$T/m/log" || fail "indexer: $(cat "$T/m/log")"
assert_eq 1 "$("$ADMIN" ls --store "$T/m/st" | jq -r .source_id | grep -c MAX:FITS)" "a file under --max-size is ingested"
assert_eq 0 "$("$ADMIN" ls --store "$T/m/st" | jq -r .source_id | grep -c MAX:BIG || true)" "a file over --max-size is not"
"$ADMIN" quarantine --store "$T/m/st" > "$T/m/q"
assert_eq 1 "$(wc -l < "$T/m/q")" "one quarantine record"
reason=$(jq -r .reason "$T/m/q")
grep -q "big.txt" <<< "$reason" || fail "the reason names the file: $reason"
grep -q "1048577 bytes" <<< "$reason" || fail "the reason gives the size: $reason"
grep -q "limit of 1048576" <<< "$reason" || fail "the reason names the limit: $reason"
ok "the quarantine reason names the limit: $reason"

# Ordering within one scan. Sidecar mtimes: c < a < b = d; b and d tie, so
# by name. Expected versions: c=1, a=2, b=3, d=4.
O=$T/o/drop
for n in a b c d; do
  echo "version text $n" > "$T/$n.txt"
  mkdoc "$O" "$n.txt" ORD:1 progress_note "$T/$n.txt"
done
touch -d '2026-11-20 10:00:02' "$O/a.txt.meta.json"
touch -d '2026-11-20 10:00:05' "$O/b.txt.meta.json"
touch -d '2026-11-20 10:00:01' "$O/c.txt.meta.json"
touch -d '2026-11-20 10:00:05' "$O/d.txt.meta.json"
"$INDEXER" --store "$T/o/st" --drop "$O" --once 2> "$T/o/log" || fail "indexer: $(cat "$T/o/log")"
got=$("$ADMIN" ls --store "$T/o/st" | jq -r 'select(.source_id == "ORD:1") | "\(.version):\(.source | split("/") | last)"' | sort -n | paste -sd' ')
assert_eq "1:c.txt 2:a.txt 3:b.txt 4:d.txt" "$got" "versions of one source_id in one scan follow sidecar mtime, then name"
assert_eq "d.txt" "$("$ADMIN" ls --store "$T/o/st" | jq -r 'select(.current) | .source | split("/") | last')" "the newest sidecar is current"

# Map-full regrowth through the indexer's command line: 1 MiB map, 200
# documents of 32 KiB (6.4 MB) in batches of 100.
G=$T/g/drop
for i in $(seq 1 200); do
  printf 'document %04d\n' "$i" > "$T/g-src"
  head -c 32768 /dev/zero | tr '\0' "$(printf "\\x$(printf %x $((97 + i % 26)))")" >> "$T/g-src"
  mkdoc "$G/$((i % 10))" "doc$i.txt" "GROW:$i" progress_note "$T/g-src"
done
"$INDEXER" --store "$T/g/st" --drop "$G" --once --map-size 1 --batch 100 2> "$T/g/log" || fail "indexer with --map-size 1: $(tail -5 "$T/g/log")"
assert_eq 200 "$(stat_field "$T/g/st" documents)" "every document is in after the map filled"
# The indexer logs each growth; at least 1 -> 2 -> 4 -> 8 MiB for 6.4 MB.
grows=$(grep -c "store map grown to" "$T/g/log" || true)
[ "$grows" -ge 3 ] || fail "the map grew $grows times: $(cat "$T/g/log")"
ok "the map grew $grows times, to $(grep -o "grown to [0-9]* MiB" "$T/g/log" | tail -1)"
assert_eq 0 "$(stat_field "$T/g/st" quarantined)" "nothing quarantined"
# Every version's bytes are those of its file.
"$ADMIN" ls --store "$T/g/st" | jq -r '"\(.sha256)  \(.source)"' > "$T/g/sums"
sha256sum --quiet -c "$T/g/sums" || fail "stored hashes differ from the files"
ok "200 stored hashes match their files"
"$ADMIN" verify --store "$T/g/st" > /dev/null || fail "verify after growth"
ok "verify passes after growth"
echo "$HK_CHECKS checks passed"

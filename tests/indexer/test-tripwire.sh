#!/usr/bin/env bash
# Ransomware overwrites half the sample PDFs with random bytes. The old
# versions stay current, what was looked at is quarantined as suspect, the
# indexer seals and ingests nothing more until `hikae-admin unseal`.
. "$HK_SOURCE_DIR/tests/lib.sh"
[ -x "$SAMPLES" ] || fail "hikae-samples not built: $SAMPLES"
"$SAMPLES" --out "$T/s" --patients 12 --docs-per-patient 10 --seed 9 > /dev/null
D=$T/s/drop
"$INDEXER" --store "$T/st" --drop "$D" --once 2> /dev/null
"$ADMIN" ls --store "$T/st" | jq -r '"\(.id) \(.sha256)"' | sort > "$T/before"
mapfile -t pdfs < <(cd "$D" && find . -name '*.pdf' | sort)
half=$(( ${#pdfs[@]} / 2 ))
[ "$half" -ge 8 ] || fail "too few PDFs generated (${#pdfs[@]})"
for ((i = 0; i < half; i++)); do
  f=$D/${pdfs[$((i * 2))]}
  head -c "$(stat -c %s "$f")" /dev/urandom > "$f.enc" && mv "$f.enc" "$f"
done
ok "$half of ${#pdfs[@]} PDFs overwritten with random bytes"

rc=0
"$INDEXER" --store "$T/st" --drop "$D" --once --tripwire-threshold 3 --tripwire-window 600 2> "$T/log" || rc=$?
assert_eq 1 "$rc" "the indexer stops with an error when it seals"
grep -q "sealed" "$T/log" || fail "says sealed"; ok "stderr says it is sealed"
assert_eq sealed "$(stat_field "$T/st" indexer)" "stats says sealed"
stat_field "$T/st" sealed_reason | grep -q tripwire || fail "reason"; ok "the seal gives its reason"
"$ADMIN" ls --store "$T/st" | jq -r '"\(.id) \(.sha256)"' | sort > "$T/after"
diff "$T/before" "$T/after" > /dev/null || fail "versions changed while under attack"
ok "no new version: every old version stays current with its bytes"
"$ADMIN" quarantine --store "$T/st" > "$T/q"
nq=$(wc -l < "$T/q")
assert_eq "$nq" "$(jq -r 'select(.kind == "suspect") | .kind' "$T/q" | wc -l)" "every quarantined file is suspect"
[ "$nq" -eq 4 ] || fail "expected threshold+1 = 4 suspect events before the seal, got $nq"
ok "the fourth suspect event sealed it"
"$ADMIN" verify --store "$T/st" > /dev/null || fail verify; ok "verify passes"

# Sealed, nothing more is ingested, not even good documents.
mkdoc "$D/new" fresh.txt NEW:1 progress_note "$HK_SOURCE_DIR/README.md" "" 0000000777
rc=0; "$INDEXER" --store "$T/st" --drop "$D" --once 2> /dev/null || rc=$?
assert_eq 1 "$rc" "a sealed indexer refuses to run an ingest"
assert_eq "$nq" "$(stat_field "$T/st" quarantined)" "nothing recorded while sealed"
"$ADMIN" ls --store "$T/st" | grep -c NEW:1 > /dev/null && fail "ingested while sealed"
ok "a good document waits while sealed"

# An operator unseals; with a tripwire that no longer trips, the rest of
# the overwritten PDFs are quarantined as suspect and the good one goes in.
"$ADMIN" unseal --store "$T/st" | grep -q unsealing || fail "unseal"
ok "unseal"
"$INDEXER" --store "$T/st" --drop "$D" --once --tripwire-threshold 100000 2> /dev/null || fail "after unseal"
assert_eq "$half" "$("$ADMIN" quarantine --store "$T/st" | jq -r 'select(.kind == "suspect") | .kind' | wc -l)" \
  "every overwritten PDF ends quarantined as suspect"
"$ADMIN" ls --store "$T/st" | grep -c NEW:1 > /dev/null || fail "good document after unseal"
ok "the waiting good document is ingested after unseal"
"$ADMIN" ls --store "$T/st" | jq -r 'select(.source_id != "NEW:1") | "\(.id) \(.sha256)"' | sort > "$T/after2"
diff "$T/before" "$T/after2" > /dev/null || fail "an overwritten PDF became current"
ok "no overwritten PDF ever became current"
echo "$HK_CHECKS checks passed"

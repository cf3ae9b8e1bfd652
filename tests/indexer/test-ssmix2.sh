#!/usr/bin/env bash
# hikae-indexer --ssmix2 over generated storage gives exactly the census,
# documents (with their versions and withdrawn flags) and patients that the
# generator wrote, alongside a drop folder; thumbnails for its PDFs.
. "$HK_SOURCE_DIR/tests/lib.sh"
[ -x "$SAMPLES" ] || fail "hikae-samples not built: $SAMPLES"
"$SAMPLES" --out "$T/s" --patients 12 --docs-per-patient 2 --seed 8 --ssmix2 > /dev/null
E=$T/s/ssmix2-expected.json
"$INDEXER" --store "$T/st" --drop "$T/s/drop" --ssmix2 "$T/s/ssmix2" --once 2> "$T/log" || fail "indexer: $(tail -3 "$T/log")"
ok "drop folder and SS-MIX2 ingested together"
"$ADMIN" ls --store "$T/st" > "$T/ls"
# Documents: each expected source ID with its version count and withdrawn flag.
jq -r '.documents[] | "\(.source_id) \(.versions) \(.withdrawn) \(.type)"' "$E" | sort > "$T/want"
jq -r -s 'map(select(.source_id | startswith("SSMIX2:"))) | group_by(.source_id)[] |
  "\(.[0].source_id) \(length) \(map(select(.current))[0].withdrawn) \(.[0].type)"' "$T/ls" | sort > "$T/got"
diff "$T/want" "$T/got" || fail "SS-MIX2 documents differ from the generator's"
ok "$(wc -l < "$T/want") SS-MIX2 documents with their versions and withdrawn flags"
assert_eq "$(jq '[.documents[] | select(.withdrawn)] | length' "$E")" "$(stat_field "$T/st" withdrawn)" "withdrawn count"
assert_eq "$(jq '.census | length' "$E")" "$(stat_field "$T/st" inpatients)" "census size"
assert_eq "$(jq -r '.patients | length' "$E")" "$(stat_field "$T/st" patients)" "patients from both sources are the same patients"
# One thumbnail per distinct PDF or JPEG (extended storage included).
npdf=$(jq -s 'map(select(.content_type != "text/plain") | .sha256) | unique | length' "$T/ls")
assert_eq "$npdf" "$(stat_field "$T/st" thumbnails)" "a thumbnail for every PDF and JPEG, SS-MIX2 ones too"
assert_eq 0 "$(stat_field "$T/st" thumbnails_pending)" "none pending after --once"
# Every withdrawn document's versions stay exportable.
id=$(jq -r 'select(.withdrawn) | .id' "$T/ls" | head -n 1)
[ -n "$id" ] || fail "no withdrawn document"
"$ADMIN" export --store "$T/st" --doc "$id" --out "$T/w" || fail "export withdrawn"
ok "a withdrawn document is still readable"
"$ADMIN" verify --store "$T/st" > /dev/null || fail verify; ok "verify passes"
echo "$HK_CHECKS checks passed"

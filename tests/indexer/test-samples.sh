#!/usr/bin/env bash
# The acceptance path at test size: generated samples go in whole; stats
# counts every document, version and patient of the manifest; verify passes;
# every document exports the bytes the manifest recorded.
. "$HK_SOURCE_DIR/tests/lib.sh"
[ -x "$SAMPLES" ] || fail "hikae-samples not built: $SAMPLES"
"$SAMPLES" --out "$T/s" --patients 40 --docs-per-patient 10 --seed 11 > /dev/null
M=$T/s/manifest.jsonl
ndocs=$(grep -c '"record":"document"' "$M")
npat=$(grep -c '"record":"patient"' "$M")
"$INDEXER" --store "$T/st" --drop "$T/s/drop" --once 2> "$T/log" || fail "indexer: $(tail -3 "$T/log")"
assert_eq "$ndocs" "$(stat_field "$T/st" documents)" "every generated document is in the store"
assert_eq "$ndocs" "$(stat_field "$T/st" versions)" "one version each"
assert_eq "$npat" "$(stat_field "$T/st" patients)" "every generated patient"
assert_eq 0 "$(stat_field "$T/st" quarantined)" "nothing generated is quarantined"
"$ADMIN" verify --store "$T/st" | grep -q "verified $ndocs versions: 0 mismatches" || fail verify
ok "verify passes"
"$ADMIN" ls --store "$T/st" | jq -r '"\(.source_id) \(.sha256) \(.type) \(.patient_id)"' | sort > "$T/got"
jq -r 'select(.record == "document") | "\(.source_id) \(.sha256) \(.type) \(.patient_id)"' "$M" | sort > "$T/want"
diff "$T/want" "$T/got" || fail "store differs from the manifest"
ok "source IDs, hashes, types and patients match the manifest"
# Export a few of each content type and compare bytes.
for ct in application/pdf image/jpeg text/plain; do
  jq -r -n --arg ct "$ct" '[inputs | select(.record == "document" and .content_type == $ct)] | .[:3][] | .path' "$M" |
    while read -r p; do
      id=$("$ADMIN" ls --store "$T/st" | jq -r --arg s "$T/s/drop/$p" 'select(.source == $s) | .id')
      "$ADMIN" export --store "$T/st" --doc "$id" --out "$T/x"
      cmp "$T/x" "$T/s/drop/$p" || fail "export $p"
    done
  ok "$ct documents export byte for byte"
done
# Every type of interfaces.md is represented.
assert_eq 12 "$("$ADMIN" ls --store "$T/st" | jq -r .type | sort -u | wc -l)" "all 12 document types present"
echo "$HK_CHECKS checks passed"

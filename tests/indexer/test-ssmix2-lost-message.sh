#!/usr/bin/env bash
# An SS-MIX2 content folder whose main_document.hl7 is encrypted to a
# .locked file and deleted (what
# ransomware leaves halfway through a folder: tests/torture/ransomware.sh
# found it) while its PDF is still there: the document keeps its version
# read with the message (title, date), the folder is quarantined as suspect
# naming the missing message, and the tripwire counts it.
. "$HK_SOURCE_DIR/tests/lib.sh"
[ -x "$SAMPLES" ] || fail "hikae-samples not built: $SAMPLES"
"$SAMPLES" --out "$T/s" --patients 8 --docs-per-patient 1 --seed 4 --ssmix2 > /dev/null
S=$T/s/ssmix2
"$INDEXER" --store "$T/st" --ssmix2 "$S" --once 2> /dev/null
"$ADMIN" ls --store "$T/st" | jq -c 'select(.current) | del(.ingested_at, .refused_newer, .refused_at, .refused_reason, .refused_sha256)' | sort > "$T/before"
nv=$("$ADMIN" ls --store "$T/st" | wc -l)
n=0
while read -r m; do
  ls "$(dirname "$m")"/*.pdf > /dev/null 2>&1 || continue
  openssl enc -aes-256-cbc -pbkdf2 -pass pass:x -in "$m" -out "$m.locked" && rm "$m"
  n=$((n + 1))
done < <(find "$S" -type f -name main_document.hl7 | sort | head -n 3)
[ "$n" -ge 2 ] || fail "too few content folders with a message and a PDF ($n)"
ok "$n messages encrypted to .locked and deleted, their PDFs left"
"$INDEXER" --store "$T/st" --ssmix2 "$S" --once --tripwire-threshold 100 2> "$T/log" || fail "second run: $(tail -3 "$T/log")"
"$ADMIN" ls --store "$T/st" | jq -c 'select(.current) | del(.ingested_at, .refused_newer, .refused_at, .refused_reason, .refused_sha256)' | sort > "$T/after"
diff "$T/before" "$T/after" > "$T/diff" || fail "a current version changed: $(cat "$T/diff")"
ok "every current version stays, title and date as the message gave them"
got=$("$ADMIN" quarantine --store "$T/st" | jq -r 'select(.kind == "suspect" and (.reason | test("main_document.hl7 is gone"))) | .source' | wc -l)
assert_eq "$n" "$got" "each folder is quarantined as suspect, naming the missing message"
assert_eq "$nv" "$("$ADMIN" ls --store "$T/st" | wc -l)" "no version added anywhere"
echo "$HK_CHECKS checks passed"

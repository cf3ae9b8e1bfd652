#!/usr/bin/env bash
# SS-MIX2 message files rewritten with random bytes feed the same tripwire
# as drop-folder documents: the indexer seals, and the patients' facts stay
# as they were.
. "$HK_SOURCE_DIR/tests/lib.sh"
[ -x "$SAMPLES" ] || fail "hikae-samples not built: $SAMPLES"
"$SAMPLES" --out "$T/s" --patients 8 --docs-per-patient 1 --seed 4 --ssmix2 > /dev/null
S=$T/s/ssmix2
"$INDEXER" --store "$T/st" --ssmix2 "$S" --once 2> /dev/null
"$ADMIN" ls --store "$T/st" | jq -c 'del(.ingested_at)' | sort > "$T/before"
n=0
while read -r f; do
  head -c "$(stat -c %s "$f")" /dev/urandom > "$f.x" && mv "$f.x" "$f"
  n=$((n + 1))
done < <(find "$S" -type f -path '*OML-11*' | sort | head -n 12)
[ "$n" -ge 5 ] || fail "too few lab messages generated ($n)"
ok "$n lab messages overwritten with random bytes"
rc=0
"$INDEXER" --store "$T/st" --ssmix2 "$S" --once --tripwire-threshold 3 2> "$T/log" || rc=$?
assert_eq 1 "$rc" "the indexer stops when it seals"
assert_eq sealed "$(stat_field "$T/st" indexer)" "stats says sealed"
"$ADMIN" ls --store "$T/st" > "$T/ls"
jq -c 'del(.ingested_at, .refused_newer, .refused_at, .refused_reason, .refused_sha256)' "$T/ls" | sort > "$T/after"
jq -c 'del(.ingested_at, .refused_newer)' "$T/before" | sort > "$T/before2"
diff "$T/before2" "$T/after" > /dev/null || fail "documents changed under attack"
ok "every document and version is as it was"
# The SS-MIX2 path records the refusal on the document too (the store does
# it for every suspect refusal of a stored document).
refused=$(jq -r 'select(.current and .refused_newer > 0) | .source_id' "$T/ls" | wc -l)
[ "$refused" -ge 1 ] || fail "no document records its refused newer version"
ok "$refused documents record that a newer version was refused"
[ "$("$ADMIN" quarantine --store "$T/st" | grep -c '"suspect"')" -ge 4 ] || fail "suspect records"
ok "the rewritten messages are quarantined as suspect"

# Valid rewrites of stored SS-MIX2 documents are replacements: counted,
# and more than --replace-threshold of them seal the indexer too.
"$SAMPLES" --out "$T/s2" --patients 8 --docs-per-patient 1 --seed 5 --ssmix2 > /dev/null
"$INDEXER" --store "$T/st2" --ssmix2 "his=$T/s2/ssmix2" --once 2> /dev/null || fail "first import"
n=0
while read -r f; do
  # One lab value changed: still a valid message, new text.
  perl -0pi -e 's/(\rOBX\|1\|NM\|[^|]*\|\|)(\d)/${1}9$2/' "$f"
  grep -q $'\rOBX|1|NM|[^|]*||9' "$f" || fail "could not rewrite $f"
  n=$((n + 1))
done < <(find "$T/s2/ssmix2" -type f -path '*OML-11*' | sort | head -n 3)
[ "$n" -ge 2 ] || fail "too few lab messages ($n)"
rc=0
"$INDEXER" --store "$T/st2" --ssmix2 "his=$T/s2/ssmix2" --once --replace-threshold 1 2> "$T/log" || rc=$?
assert_eq 1 "$rc" "$n valid SS-MIX2 replacements over a threshold of 1 seal the indexer"
stat_field "$T/st2" sealed_reason | grep -q replace || fail "reason: $(stat_field "$T/st2" sealed_reason)"
ok "the seal names the replacement tripwire"
[ "$("$ADMIN" ls --store "$T/st2" | jq -r 'select(.current and .version == 2) | .id' | wc -l)" -ge 2 ] \
  || fail "the valid replacements were not written"
ok "the valid replacements themselves are written (SS-MIX2 commits per batch)"
"$ADMIN" verify --store "$T/st2" > /dev/null || fail verify; ok "verify passes"
echo "$HK_CHECKS checks passed"

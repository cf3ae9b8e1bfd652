#!/usr/bin/env bash
# A replacement is judged before it supersedes (issue 10, item 2):
# - new bytes that no longer parse as the document's type, or of another
#   type, are quarantined as suspect, never current, count towards the
#   tripwire, and the document records that a newer version was refused;
# - a sidecar rewritten to another patient moves the document, which stays
#   on the old patient's timeline and reads "moved from" on the new one;
# - valid replacements are allowed but counted: more than --replace-threshold
#   within --replace-window seals the indexer.
. "$HK_SOURCE_DIR/tests/lib.sh"
C=$HK_CORPUS_DIR
D=$T/drop
sha() { sha256sum < "$1" | cut -d' ' -f1; }
cur() { "$ADMIN" ls --store "$T/st" | jq -c --arg s "$1" 'select(.source_id == $s and .current)'; }
printf '経過記録\n血圧 120/80、体温 36.5℃。\n' > "$T/note.txt"
mkdoc "$D" note.txt EHR:TX:1 nursing_record "$T/note.txt"
mkdoc "$D" scan.pdf EHR:PDF:1 consent "$C/pdf/pypdf_minimal-document.pdf" application/pdf
mkdoc "$D" form.pdf EHR:PDF:2 consent "$C/pdf/pypdf_minimal-document.pdf" application/pdf
mkdoc "$D" moved.txt EHR:MV:1 progress_note "$T/note.txt" "" 0000000001
"$INDEXER" --store "$T/st" --drop "$D" --once 2> /dev/null
assert_eq 4 "$(stat_field "$T/st" documents)" "four documents"

# 1. note.txt overwritten with random bytes, same sidecar.
head -c 3000 /dev/urandom > "$T/rand"
cp "$T/rand" "$D/note.txt"
# 2. a PDF overwritten with a JPEG under the same sidecar (declared PDF).
cp "$C/jpeg/ljt_testorig.jpg" "$D/scan.pdf"
# 3. a PDF document whose sidecar now says JPEG, with JPEG bytes: valid
#    bytes, but of another type than the document's.
mkdoc "$D" form.pdf EHR:PDF:2 consent "$C/jpeg/ljt_testorig.jpg" image/jpeg
"$INDEXER" --store "$T/st" --drop "$D" --once 2> "$T/log" || fail "indexer: $(tail -3 "$T/log")"
for sid in EHR:TX:1 EHR:PDF:1 EHR:PDF:2; do
  c=$(cur $sid)
  assert_eq 1 "$(jq -r .version <<< "$c")" "$sid: version 1 stays current"
  assert_eq 1 "$(jq -r .refused_newer <<< "$c")" "$sid: the document records a refused newer version"
  q=$("$ADMIN" quarantine --store "$T/st" | jq -c --arg s "$sid" 'select(.source_id == $s)')
  assert_eq suspect "$(jq -r .kind <<< "$q")" "$sid: quarantined as suspect"
  assert_eq "$(jq -r .id <<< "$c")" "$(jq -r .doc_id <<< "$q")" "$sid: the quarantine names the document"
  [ -n "$(jq -r .reason <<< "$q")" ] || fail "$sid: no reason"
  assert_eq "$(jq -r .reason <<< "$q")" "$(jq -r .refused_reason <<< "$c")" "$sid: the document gives the refusal's reason"
done
assert_eq "$(sha "$T/rand")" "$(cur EHR:TX:1 | jq -r .refused_sha256)" "the refusal names the refused bytes' SHA-256"
grep -qw "3 suspect" "$T/log" || fail "tripwire count: $(tail -1 "$T/log")"; ok "all three count towards the tripwire"
"$ADMIN" verify --store "$T/st" > /dev/null || fail verify; ok "verify passes"

# 4. The sidecar of EHR:MV:1 is rewritten to another patient.
mkdoc "$D" moved.txt EHR:MV:1 progress_note "$T/note.txt" "" 0000000099
"$INDEXER" --store "$T/st" --drop "$D" --once 2> "$T/log" || fail "indexer: $(tail -3 "$T/log")"
grep -q "moved from patient 0000000001 to 0000000099" "$T/log" || fail "move not logged"; ok "the move is logged"
c=$(cur EHR:MV:1)
assert_eq "2 0000000099" "$(jq -r '"\(.version) \(.patient_id)"' <<< "$c")" "version 2 belongs to the new patient"
assert_eq 0000000001 "$(jq -r .moved_from <<< "$c")" "it reads as moved from the old patient"
[ "$(jq -r .moved_at <<< "$c")" != null ] || fail "moved_at"; ok "with the time of the move"
assert_eq "1 2" "$("$ADMIN" ls --store "$T/st" --patient 0000000001 | jq -r 'select(.source_id == "EHR:MV:1") | .version' | xargs)" \
  "the document stays on the old patient's timeline"
assert_eq "1 2" "$("$ADMIN" ls --store "$T/st" --patient 0000000099 | jq -r 'select(.source_id == "EHR:MV:1") | .version' | xargs)" \
  "and is on the new patient's"
"$ADMIN" verify --store "$T/st" > /dev/null || fail verify; ok "verify passes"

# 5. Valid replacements are allowed and counted: 3 within the window pass
#    a threshold of 3; in the next run the 4th seals, in the same
#    transaction, and nothing after it is written.
for i in 1 2 3 4 5; do
  printf 'document %d, first text\n' "$i" > "$T/r$i.txt"
  mkdoc "$D/r" "r$i.txt" "EHR:R:$i" progress_note "$T/r$i.txt"
done
"$INDEXER" --store "$T/st" --drop "$D" --once 2> /dev/null || fail "first versions"
rewrite() { # N...
  for i in "$@"; do
    printf 'document %d, rewritten at %s\n' "$i" "$(date +%s.%N)" > "$T/r$i.txt"
    mkdoc "$D/r" "r$i.txt" "EHR:R:$i" progress_note "$T/r$i.txt"
  done
}
versions() { "$ADMIN" ls --store "$T/st" | jq -r 'select((.source_id | startswith("EHR:R:")) and .current) | .version' | sort | xargs; }
rewrite 1 2 3
"$INDEXER" --store "$T/st" --drop "$D" --once --replace-threshold 3 --replace-window 600 2> "$T/log" \
  || fail "3 replacements must pass a threshold of 3: $(tail -2 "$T/log")"
assert_eq "1 1 2 2 2" "$(versions)" "three valid replacements become current"
grep -qw "3 replaced" "$T/log" || fail "counter: $(tail -1 "$T/log")"; ok "and are counted"
rewrite 1 2 3 4 5
rc=0
"$INDEXER" --store "$T/st" --drop "$D" --once --replace-threshold 3 --replace-window 600 2> "$T/log" || rc=$?
assert_eq 1 "$rc" "the fourth replacement in the window seals the indexer"
assert_eq sealed "$(stat_field "$T/st" indexer)" "stats says sealed"
stat_field "$T/st" sealed_reason | grep -q "replace" || fail "seal reason: $(stat_field "$T/st" sealed_reason)"
ok "the seal names the replacement tripwire"
# Rewritten in order 1..5: r1-r3 (3rd version), r4 trips and is written
# with the seal, r5 waits.
assert_eq "1 2 3 3 3" "$(versions)" "the replacements up to the tripping one are written, nothing after"
"$ADMIN" verify --store "$T/st" > /dev/null || fail verify; ok "verify passes"
"$ADMIN" unseal --store "$T/st" > /dev/null

# A first import of a document's history in one scan is not a burst of
# replacements.
mkdir -p "$T/d2"
for i in 1 2 3 4 5; do
  printf 'history %d\n' "$i" > "$T/h.txt"
  mkdoc "$T/d2/v$i" h.txt EHR:H:1 progress_note "$T/h.txt"
  touch -d "2026-11-2${i}T00:00:00" "$T/d2/v$i/h.txt.meta.json"
done
"$INDEXER" --store "$T/st2" --drop "$T/d2" --once --replace-threshold 1 2> "$T/log" || fail "history import sealed: $(tail -2 "$T/log")"
assert_eq 5 "$(stat_field "$T/st2" versions)" "five versions of one document in one scan do not trip it"
echo "$HK_CHECKS checks passed"

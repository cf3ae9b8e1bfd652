#!/usr/bin/env bash
# Drop-folder basics: every content type goes in, exports byte for byte,
# identical bytes are stored once, changed bytes become a new version while
# the old one stays readable, and the source folder is never touched.
. "$HK_SOURCE_DIR/tests/lib.sh"
C=$HK_CORPUS_DIR
D=$T/drop
printf '経過記録\n血圧 120/80、体温 36.5℃。\n' > "$T/note.txt"
mkdoc "$D/a" note.pdf EHR:PN:1 progress_note "$C/pdf/pypdf_minimal-document.pdf" application/pdf
mkdoc "$D/a/b" scan.jpg EHR:SC:1 consent "$C/jpeg/ljt_testorig.jpg" image/jpeg
mkdoc "$D/c" note.txt EHR:TX:1 nursing_record "$T/note.txt"
# The same bytes under another source ID: a second document, one blob.
mkdoc "$D/c" copy.pdf EHR:PN:2 referral_letter "$C/pdf/pypdf_minimal-document.pdf" application/pdf 0000000002

before=$(tree_sum "$D")
"$INDEXER" --store "$T/st" --drop "$D" --once
assert_eq "$before" "$(tree_sum "$D")" "the drop folder is untouched by an ingest"
assert_eq 4 "$(stat_field "$T/st" documents)" "four documents"
assert_eq 4 "$(stat_field "$T/st" versions)" "four versions"
assert_eq 3 "$(stat_field "$T/st" blobs)" "identical bytes are stored once"
assert_eq 2 "$(stat_field "$T/st" patients)" "two patients"
assert_eq 2 "$(stat_field "$T/st" thumbnails)" "a thumbnail for the PDF and the JPEG, none for text"
assert_eq 0 "$(stat_field "$T/st" quarantined)" "nothing quarantined"
assert_eq stopped "$(stat_field "$T/st" indexer)" "indexer state after --once"
[ "$(stat_field "$T/st" archive_as_of)" != null ] || fail "archive_as_of set"; ok "archive_as_of set"

"$ADMIN" ls --store "$T/st" > "$T/ls"
for f in a/note.pdf a/b/scan.jpg c/note.txt c/copy.pdf; do
  id=$(jq -r --arg s "$D/$f" 'select(.source == $s) | .id' "$T/ls")
  [ -n "$id" ] || fail "no document for $f"
  "$ADMIN" export --store "$T/st" --doc "$id" --out "$T/out"
  cmp "$D/$f" "$T/out" || fail "export of $f differs"
  ok "export of $f returns the bytes that went in"
done
assert_eq "image/jpeg" "$(jq -r 'select(.source_id == "EHR:SC:1") | .content_type' "$T/ls")" "JPEG sniffed"
assert_eq "text/plain" "$(jq -r 'select(.source_id == "EHR:TX:1") | .content_type' "$T/ls")" "text sniffed without a declared type"
assert_eq "$(sha256sum < "$C/jpeg/ljt_testorig.jpg" | cut -d' ' -f1)" \
  "$(jq -r 'select(.source_id == "EHR:SC:1") | .sha256' "$T/ls")" "sha256 recorded"

# Same bytes again: nothing new.
touch "$D/a/note.pdf.meta.json"
"$INDEXER" --store "$T/st" --drop "$D" --once
assert_eq 4 "$(stat_field "$T/st" versions)" "the same bytes again are a no-op"

# Changed bytes under the same source ID: version 2; version 1 stays.
old_id=$(jq -r 'select(.source_id == "EHR:PN:1") | .id' "$T/ls")
mkdoc "$D/a" note-v2.pdf EHR:PN:1 progress_note "$C/pdf/pypdf_crazyones-pdfa.pdf" application/pdf
"$INDEXER" --store "$T/st" --drop "$D" --once
assert_eq 5 "$(stat_field "$T/st" versions)" "a changed document is a new version"
assert_eq 4 "$(stat_field "$T/st" documents)" "still four documents"
"$ADMIN" ls --store "$T/st" --patient 0000000001 > "$T/ls2"
assert_eq "1 false
2 true" "$(jq -r 'select(.source_id == "EHR:PN:1") | "\(.version) \(.current)"' "$T/ls2")" "v2 is current, v1 kept"
"$ADMIN" export --store "$T/st" --doc "$old_id" --version 1 --out "$T/v1"
cmp "$T/v1" "$C/pdf/pypdf_minimal-document.pdf" || fail "version 1 bytes"
ok "version 1 still exports its own bytes"
"$ADMIN" export --store "$T/st" --doc "$old_id" --out "$T/v2"
cmp "$T/v2" "$C/pdf/pypdf_crazyones-pdfa.pdf" || fail "current bytes"
ok "the current version exports the new bytes"

# Touching the file of an older version is not a new arrival (this once
# re-ingested version 1's bytes as version 3).
touch "$D/a/note.pdf" "$D/a/note.pdf.meta.json"
"$INDEXER" --store "$T/st" --drop "$D" --once
assert_eq 5 "$(stat_field "$T/st" versions)" "touching an old version's files adds nothing"

# Removing files from the drop folder removes nothing from the archive.
rm -rf "$D/c"
"$INDEXER" --store "$T/st" --drop "$D" --once
assert_eq 4 "$(stat_field "$T/st" documents)" "removing a source file removes nothing"
"$ADMIN" verify --store "$T/st" > "$T/verify"
grep -q "verified 5 versions: 0 mismatches" "$T/verify" || fail "verify: $(cat "$T/verify")"
ok "verify passes"
echo "$HK_CHECKS checks passed"

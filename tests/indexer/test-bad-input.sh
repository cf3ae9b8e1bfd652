#!/usr/bin/env bash
# Every class of bad input in interfaces.md ends in the quarantine with a
# reason naming the problem, the indexer goes on, and good documents beside
# them are ingested.
. "$HK_SOURCE_DIR/tests/lib.sh"
C=$HK_CORPUS_DIR
D=$T/drop
mkdir -p "$D"
good() { mkdoc "$D/good" "$1" "EHR:GOOD:$1" progress_note "$C/pdf/pypdf_minimal-document.pdf"; }
good g1.pdf

# sidecar(NAME, JSON) with a content file that is fine.
sidecar() {
  cp "$C/pdf/pypdf_minimal-document.pdf" "$D/$1"
  printf '%s' "$2" > "$D/$1.meta.json"
}
base='"source_id":"S:%s","type":"progress_note","title":"t","created_at":"2026-11-20T14:03:00+09:00"'
sidecar unparsable.pdf '{"patient_id": "1", '
sidecar notobject.pdf '[1,2,3]'
# An empty sidecar (once a crash: json-glib was handed NULL; found by fuzzing).
sidecar emptysc.pdf ''
sidecar blanksc.pdf '   '
sidecar nopid.pdf "{$(printf "$base" nopid)}"
sidecar badpid.pdf "{\"patient_id\":\"../etc\",$(printf "$base" badpid)}"
sidecar longpid.pdf "{\"patient_id\":\"$(printf '1%.0s' {1..33})\",$(printf "$base" longpid)}"
sidecar notype.pdf '{"patient_id":"1","source_id":"S:notype","title":"t","created_at":"2026-11-20T14:03:00+09:00"}'
sidecar badtype.pdf '{"patient_id":"1","source_id":"S:badtype","type":"recipe","title":"t","created_at":"2026-11-20T14:03:00+09:00"}'
sidecar notitle.pdf '{"patient_id":"1","source_id":"S:notitle","type":"other","created_at":"2026-11-20T14:03:00+09:00"}'
sidecar nosource.pdf '{"patient_id":"1","type":"other","title":"t","created_at":"2026-11-20T14:03:00+09:00"}'
sidecar baddate.pdf '{"patient_id":"1","source_id":"S:baddate","type":"other","title":"t","created_at":"2026-11-20"}'
sidecar numtitle.pdf '{"patient_id":"1","source_id":"S:numtitle","type":"other","title":5,"created_at":"2026-11-20T14:03:00+09:00"}'
sidecar badbirth.pdf "{\"patient_id\":\"1\",$(printf "$base" badbirth),\"patient\":{\"birth_date\":\"1950-02-30\"}}"
# Content that is not what the sidecar claims.
cp "$C/jpeg/ljt_testorig.jpg" "$D/liar.pdf"
printf '{"patient_id":"1",%s,"content_type":"application/pdf"}' "$(printf "$base" liar)" > "$D/liar.pdf.meta.json"
# A type hikae does not render.
printf 'PK\003\004' > "$D/doc.docx"
printf '{"patient_id":"1",%s,"content_type":"application/msword"}' "$(printf "$base" docx)" > "$D/doc.docx.meta.json"
# Bytes that are none of PDF, JPEG or UTF-8 text.
head -c 4096 /dev/urandom > "$D/random.bin"
printf '{"patient_id":"1",%s}' "$(printf "$base" random)" > "$D/random.bin.meta.json"
# Empty content.
: > "$D/empty.txt"
printf '{"patient_id":"1",%s}' "$(printf "$base" empty)" > "$D/empty.txt.meta.json"
# A sidecar whose content file never came.
printf '{"patient_id":"1",%s}' "$(printf "$base" missing)" > "$D/missing.pdf.meta.json"
# Unreadable content: a folder where the file should be.
mkdir "$D/folder.pdf"
printf '{"patient_id":"1",%s}' "$(printf "$base" folder)" > "$D/folder.pdf.meta.json"
# Paths that escape the drop folder: a content link and a sidecar link.
echo "secret" > "$T/outside.txt"
ln -s "$T/outside.txt" "$D/escape.txt"
printf '{"patient_id":"1",%s}' "$(printf "$base" escape)" > "$D/escape.txt.meta.json"
printf '{"patient_id":"1",%s}' "$(printf "$base" escape2)" > "$T/outside.meta"
cp "$C/pdf/pypdf_minimal-document.pdf" "$D/escape2.pdf"
ln -s "$T/outside.meta" "$D/escape2.pdf.meta.json"
# A sidecar over the size limit.
cp "$C/pdf/pypdf_minimal-document.pdf" "$D/huge.pdf"
{ printf '{"patient_id":"1",%s,"author":"' "$(printf "$base" huge)"; head -c 70000 /dev/zero | tr '\0' a; printf '"}'; } > "$D/huge.pdf.meta.json"
# A broken PDF and a broken JPEG.
cp "$C/pdf/qpdf_bad1.pdf" "$D/oops.pdf"
printf '{"patient_id":"1",%s}' "$(printf "$base" oops)" > "$D/oops.pdf.meta.json"
cp "$C/jpeg/jd_missing-sof.jpg" "$D/nosof.jpg"
printf '{"patient_id":"1",%s}' "$(printf "$base" nosof)" > "$D/nosof.jpg.meta.json"
good g2.pdf

"$INDEXER" --store "$T/st" --drop "$D" --once 2> "$T/log" || fail "the indexer must go on past bad input: $(tail -3 "$T/log")"
ok "the indexer exits 0 after bad input"
"$ADMIN" quarantine --store "$T/st" > "$T/q"
expect() { # file-substring reason-regex
  local line
  line=$(jq -r --arg f "$1" 'select(.source | endswith($f)) | "\(.kind)|\(.reason)"' "$T/q")
  [ -n "$line" ] || fail "$1 not in quarantine"
  [[ "$line" == bad_input\|* ]] || fail "$1 kind: $line"
  echo "$line" | grep -Eq -- "$2" || fail "$1 reason [$line] does not match [$2]"
  ok "$1 quarantined: ${line#bad_input|}"
}
expect unparsable.pdf.meta.json 'not valid JSON'
expect notobject.pdf.meta.json 'not a JSON object'
expect emptysc.pdf.meta.json 'sidecar is empty'
expect blanksc.pdf.meta.json 'not (valid JSON|a JSON object)'
expect nopid.pdf.meta.json 'missing required field "patient_id"'
expect badpid.pdf.meta.json 'patient_id must be'
expect longpid.pdf.meta.json 'patient_id'
expect notype.pdf.meta.json 'missing required field "type"'
expect badtype.pdf.meta.json 'unknown document type "recipe"'
expect notitle.pdf.meta.json 'missing required field "title"'
expect nosource.pdf.meta.json 'missing required field "source_id"'
expect baddate.pdf.meta.json 'not an RFC 3339'
expect numtitle.pdf.meta.json '"title" must be a string'
expect badbirth.pdf.meta.json 'birth_date'
expect liar.pdf 'declared content_type application/pdf, but the bytes are image/jpeg'
expect doc.docx 'unsupported content_type'
expect random.bin 'not a PDF, a JPEG or UTF-8 text'
expect empty.txt 'empty'
expect missing.pdf 'content file missing'
expect folder.pdf 'not a regular file'
expect escape.txt.meta.json 'escapes the drop folder'
expect escape2.pdf.meta.json 'escapes the drop folder'
expect huge.pdf.meta.json 'over the limit'
expect oops.pdf 'declared content_type application/pdf, but the bytes are text/plain'
expect nosof.jpg 'JPEG'
assert_eq 25 "$(stat_field "$T/st" quarantined)" "every bad input counted in stats"
assert_eq 2 "$(stat_field "$T/st" documents)" "the good documents are ingested"
grep -q "secret" "$T/q" && fail "content of an escaping link leaked"
ok "nothing from outside the drop folder was read into the archive"
# A rescan does not quarantine the same files again.
"$INDEXER" --store "$T/st" --drop "$D" --once 2>/dev/null
assert_eq 25 "$(stat_field "$T/st" quarantined)" "a rescan does not repeat quarantine records"
# Fixing a file lets it in.
printf '{"patient_id":"1",%s}' "$(printf "$base" nopid)" > "$D/nopid.pdf.meta.json"
"$INDEXER" --store "$T/st" --drop "$D" --once 2>/dev/null
assert_eq 3 "$(stat_field "$T/st" documents)" "a corrected sidecar is ingested"
echo "$HK_CHECKS checks passed"

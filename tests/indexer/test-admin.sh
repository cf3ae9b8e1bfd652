#!/usr/bin/env bash
# hikae-admin over a real store: verify catches a flipped byte, backup makes
# verified dated copies and keeps the newest N, a copy of a damaged store is
# refused, and ls/export handle the edges.
. "$HK_SOURCE_DIR/tests/lib.sh"
C=$HK_CORPUS_DIR
D=$T/drop
printf 'MARKER-%s 経過良好\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$T/note.txt"
mkdoc "$D" note.txt A:1 progress_note "$T/note.txt" "" 0000000042
mkdoc "$D" scan.jpg A:2 consent "$C/jpeg/ljt_testorig.jpg" "" 0000000043
"$INDEXER" --store "$T/st" --drop "$D" --once 2> /dev/null

"$ADMIN" ls --store "$T/st" --patient 0000000042 > "$T/ls"
assert_eq 1 "$(wc -l < "$T/ls")" "ls --patient shows only that patient's versions"
for k in id patient_id source_id type title version current withdrawn sha256 size content_type created_at ingested_at; do
  [ "$(jq "has(\"$k\")" "$T/ls")" == true ] || fail "ls lacks $k"
done
ok "ls lines carry every field of interfaces.md"
rc=0; "$ADMIN" export --store "$T/st" --doc 0123456789abcdef --out "$T/x" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "export of an unknown document fails"
grep -q "no document" "$T/err" || fail "export message"; ok "and says so"
[ ! -e "$T/x" ] || fail "nothing written"; ok "no file is left behind"
"$ADMIN" stats --store "$T/st" > "$T/stats"
for k in documents versions patients blobs quarantined archive_as_of indexer; do
  [ "$(jq "has(\"$k\")" "$T/stats")" == true ] || fail "stats lacks $k"
done
ok "stats carries every field of interfaces.md"

# Backups: three, keep two. They come within a second or two: a name
# already taken in the same second gets "-02", "-03", never an overwrite.
for i in 1 2 3; do
  "$ADMIN" backup --store "$T/st" --to "$T/bk" --keep 2 > "$T/bout" || fail "backup $i"
  grep -qw "2 versions verified" "$T/bout" || fail "backup $i output"
  ls "$T/bk" > "$T/bk.$i"
done
ok "three backups made and verified"
assert_eq 2 "$(ls "$T/bk" | grep -c '^hikae-')" "only the newest two are kept"
# The two kept are the second and the third: the names sort by age.
assert_eq "$(comm -13 "$T/bk.1" "$T/bk.2") $(comm -13 "$T/bk.2" "$T/bk.3")" \
  "$(ls "$T/bk" | paste -sd' ')" "the newest two are the ones kept"
b=$(ls -d "$T"/bk/hikae-* | tail -1)
"$ADMIN" verify --store "$b" > /dev/null || fail "backup verifies"; ok "a backup verifies on its own"
assert_eq 2 "$(stat_field "$b" documents)" "the backup holds every document"

# Flip one byte of the note's stored bytes: verify must find it. The marker
# is in the store twice, in the note's bytes and in the text extracted from
# them (whichever comes first in data.mdb): flip it in both.
offs=$(grep -abo "MARKER-" "$T/st/data.mdb" | cut -d: -f1)
[ -n "$offs" ] || fail "marker not found in data.mdb"
for off in $offs; do
  printf 'N' | dd of="$T/st/data.mdb" bs=1 seek="$off" conv=notrunc status=none
done
rc=0; "$ADMIN" verify --store "$T/st" > "$T/verify" || rc=$?
assert_eq 1 "$rc" "verify exits 1 after a flipped byte"
grep -q "MISMATCH" "$T/verify" || fail "lists the mismatch"; ok "verify lists the mismatch"
rc=0; "$ADMIN" export --store "$T/st" --doc "$(jq -r .id "$T/ls")" --out "$T/x" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "export refuses bytes that do not match their hash"
rc=0; "$ADMIN" backup --store "$T/st" --to "$T/bk2" 2> /dev/null > /dev/null || rc=$?
assert_eq 1 "$rc" "a backup of a damaged store does not verify and fails"
ls "$T/bk2" | grep -q '\.failed$' || fail "failed copy kept"; ok "the failed copy is kept aside as .failed"
echo "$HK_CHECKS checks passed"

#!/usr/bin/env bash
# Text extraction runs beside ingest (issue 14, item 1): a document that
# arrives while an extraction is held is committed and readable without
# waiting for it; OCR is on by default and --no-ocr leaves scans
# "needs_ocr"; SIGTERM in the middle of an extraction stops the indexer
# at once and loses nothing (the version stays queued, with no attempt
# counted). No clock decides anything: HK_TEST_EXTRACT_HOLD holds each
# extraction batch until this test writes a byte to a FIFO
# (indexer/hk-textq.c), and the waits below are only for things to happen.
. "$HK_SOURCE_DIR/tests/lib.sh"
need "$C/pdf/pypdf_minimal-document.pdf" "$C/jpeg/ljt_testorig.jpg"
wait_for() { # command... : poll up to 60 s
  for _ in $(seq 600); do "$@" && return 0; sleep 0.1; done
  return 1
}
has() { "$ADMIN" ls --store "$1" 2> /dev/null | grep -q "\"source_id\":\"$2\""; }
held() { [ "$(grep -c 'text extraction held' "$1")" -ge "$2" ]; }
field_is() { [ "$(stat_field "$1" "$2" 2> /dev/null)" == "$3" ]; }

# 1. A document arrives while the extraction of the one before is held.
D=$T/drop
mkfifo "$T/hold"
# Held open read-write here: a byte written never blocks this test, and
# each release is exactly one byte (echo wrote two, the newline releasing
# a second batch, and the next echo then waited for a reader for ever).
exec 3<> "$T/hold"
printf 'first note: ペニシリン\n' > "$T/a.txt"
printf 'second note: 造影剤\n' > "$T/b.txt"
HK_TEST_EXTRACT_HOLD=$T/hold "$INDEXER" --store "$T/st" --drop "$D" --poll-interval 3600 \
  --verbose 2> "$T/log" &
pid=$!
mkdoc "$D" a.txt X:A progress_note "$T/a.txt" text/plain
wait_for has "$T/st" X:A || fail "X:A not visible: $(cat "$T/log")"
wait_for held "$T/log" 1 || fail "the extraction of X:A was not held: $(cat "$T/log")"
mkdoc "$D" b.txt X:B progress_note "$T/b.txt" text/plain
wait_for has "$T/st" X:B || fail "X:B not visible while the extraction of X:A is held"
ok "a document arriving while an extraction is held is committed and readable"
assert_eq 0 "$(stat_field "$T/st" texts_done)" "the held extraction has stored nothing yet"
assert_eq 2 "$(stat_field "$T/st" texts_pending)" "both versions are queued"
# Release it (and the batch of X:B after it: one byte per batch).
printf x >&3
wait_for held "$T/log" 2 || fail "no second batch: $(cat "$T/log")"
printf x >&3
wait_for field_is "$T/st" texts_done 2 || fail "texts not extracted: $(cat "$T/log")"
ok "released, both texts are extracted"
# Versions that queued up meanwhile are extracted in one batch and stored
# in one commit (an fsync ingest's commits wait behind), not one each.
printf 'third note\n' > "$T/c.txt"
mkdoc "$D" c.txt X:C progress_note "$T/c.txt" text/plain
wait_for held "$T/log" 3 || fail "the extraction of X:C was not held: $(cat "$T/log")"
for n in D E F G; do
  printf 'note %s\n' "$n" > "$T/$n.txt"
  mkdoc "$D" "$n.txt" "X:$n" progress_note "$T/$n.txt" text/plain
  wait_for has "$T/st" "X:$n" || fail "X:$n not visible: $(cat "$T/log")"
done
printf x >&3
wait_for held "$T/log" 4 || fail "no batch after X:C's: $(cat "$T/log")"
printf x >&3
wait_for field_is "$T/st" texts_done 7 || fail "texts not extracted: $(cat "$T/log")"
grep -q "text extraction: 4 text(s) stored in one commit" "$T/log" ||
  fail "the 4 queued texts were not stored in one commit: $(grep 'stored in one' "$T/log")"
ok "versions queued during an extraction are stored together, in one commit"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
assert_eq 0 "$rc" "SIGTERM stops the indexer and its extraction thread cleanly"

# 2. OCR is on by default; --no-ocr leaves a scan "needs_ocr"; --ocr is
# still accepted.
mkdoc "$T/d2" scan.jpg X:S consent "$C/jpeg/ljt_testorig.jpg"
"$INDEXER" --store "$T/st2" --drop "$T/d2" --once 2> "$T/log2" || fail "$(cat "$T/log2")"
assert_eq 0 "$(stat_field "$T/st2" texts_needs_ocr)" "by default a scan is OCRed"
assert_eq 1 "$(stat_field "$T/st2" texts_done)" "and its text is stored"
"$INDEXER" --store "$T/st3" --drop "$T/d2" --once --no-ocr 2> "$T/log3" || fail "$(cat "$T/log3")"
assert_eq 1 "$(stat_field "$T/st3" texts_needs_ocr)" "--no-ocr leaves the scan needs_ocr"
"$INDEXER" --store "$T/st4" --drop "$T/d2" --once --ocr 2> "$T/log4" || fail "$(cat "$T/log4")"
assert_eq 1 "$(stat_field "$T/st4" texts_done)" "--ocr is accepted (OCR is the default)"
rc=0; "$INDEXER" --store "$T/st5" --drop "$T/d2" --once --ocr --no-ocr 2> "$T/log5" || rc=$?
assert_eq 2 "$rc" "--ocr with --no-ocr is a usage error"

# 3. SIGTERM while a worker is in the middle of an extraction (a parser
# that never answers on a text layer): the indexer stops without waiting
# for the worker, and the version stays queued with no attempt counted.
children() { cat /proc/"$1"/task/*/children 2> /dev/null | wc -w; }
: > "$T/log6"
HK_TEST_EXTRACT_HOLD=$T/hold HK_TEST_PARSER_HOOK=texthang:application/pdf \
  "$INDEXER" --store "$T/st6" --drop "$T/d6" --poll-interval 3600 --text-timeout 3600 \
  2> "$T/log6" &
pid=$!
mkdoc "$T/d6" c.pdf X:C progress_note "$C/pdf/pypdf_minimal-document.pdf"
wait_for has "$T/st6" X:C || fail "X:C not visible: $(cat "$T/log6")"
wait_for held "$T/log6" 1 || fail "not held: $(cat "$T/log6")"
before=$(children "$pid")
printf x >&3
more() { [ "$(children "$pid")" -gt "$before" ]; }
wait_for more || fail "no extraction worker started: $(cat "$T/log6")"
ok "an extraction worker is at work on X:C"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
assert_eq 0 "$rc" "SIGTERM mid-extraction stops the indexer cleanly"
assert_eq 1 "$(stat_field "$T/st6" texts_pending)" "the version is still queued"
assert_eq 0 "$(($(stat_field "$T/st6" texts_done) + $(stat_field "$T/st6" texts_failed)))" \
  "and no outcome was recorded for it"
"$INDEXER" --store "$T/st6" --drop "$T/d6" --once 2> "$T/log7" || fail "$(cat "$T/log7")"
assert_eq 1 "$(stat_field "$T/st6" texts_done)" "the next run extracts it"
echo "$HK_CHECKS checks passed"

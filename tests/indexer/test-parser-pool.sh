#!/usr/bin/env bash
# The parser workers are long-lived (issue 13, item 4): one worker parses
# document after document; it is replaced after a document it refused; a
# document whose worker died after serving others is parsed again in a fresh
# worker before it is refused (the fault may be an earlier document's); and
# the CPU limit is per document, not per worker.
#
# HK_TEST_PARSER_HOOK (indexer/hk-inspect.c) acts in the confined worker:
# "exit2" exits without answering from its second document on, "burn" uses 0.6 s
# of CPU per document before parsing it.
. "$HK_SOURCE_DIR/tests/lib.sh"
jpg=$C/jpeg/ljt_testorig.jpg
jpg2=$C/jpeg/jd_jpg-progressive.jpg
bad=$C/jpeg/jd_missing-sos.jpg
pdf=$C/pdf/pypdf_minimal-document.pdf
need "$jpg" "$jpg2" "$bad" "$pdf"

# workers LOG: "STARTED ANSWERED RETRIED" from the indexer's report.
workers() {
  sed -n 's/.*parsers: \([0-9]*\) workers started, \([0-9]*\) documents answered, \([0-9]*\) parsed again.*/\1 \2 \3/p' "$1"
}

# order DIR FILE...: make the sidecars' mtimes give this scan order.
order() {
  local d=$1 i=0
  shift
  for f in "$@"; do
    touch -d "2026-01-01 00:00:0$i" "$d/$f.meta.json"
    i=$((i + 1))
  done
}

# ---- 1. One worker for many documents.
D=$T/drop-reuse
for i in 1 2 3; do
  mkdoc "$D" "j$i.jpg" "PP:J$i" other "$jpg" image/jpeg
  mkdoc "$D" "p$i.pdf" "PP:P$i" other "$pdf" application/pdf
done
"$INDEXER" --store "$T/st-reuse" --drop "$D" --once --workers 1 2> "$T/log-reuse" ||
  fail "indexer: $(tail -3 "$T/log-reuse")"
assert_eq 6 "$(stat_field "$T/st-reuse" documents)" "six documents ingested"
# Thumbnails are kept per content: one JPEG's, one PDF's.
assert_eq 2 "$(stat_field "$T/st-reuse" thumbnails)" "two thumbnails"
# Six documents in one parse worker, the PDF's first page in a render
# worker: a fork per document would start seven. After the commit the
# first scan's OCR loads the model, and the text extraction's own pool
# (hk-extractor.h) reads the three PDFs' text layers in one render worker
# (a page without text is drawn for OCR) and the three JPEGs' text in one
# parse worker: 13 answers from 4 workers.
assert_eq "4 13 0" "$(workers "$T/log-reuse")" "4 workers for 13 parses (started, answered, retried)"
# The rest counts the checks before the commit: with --no-ocr no JPEG goes
# to a worker after it.

# ---- 2. A refusal retires the worker that made it.
D=$T/drop-refuse
mkdoc "$D" a.jpg PR:A other "$jpg" image/jpeg
mkdoc "$D" b.jpg PR:B other "$bad" image/jpeg
mkdoc "$D" c.jpg PR:C other "$jpg2" image/jpeg
order "$D" a.jpg b.jpg c.jpg
"$INDEXER" --no-ocr --store "$T/st-refuse" --drop "$D" --once --workers 1 2> "$T/log-refuse" ||
  fail "indexer: $(tail -3 "$T/log-refuse")"
assert_eq 2 "$(stat_field "$T/st-refuse" documents)" "the two good JPEGs ingested"
"$ADMIN" quarantine --store "$T/st-refuse" | jq -e 'select(.source | endswith("/b.jpg"))' > /dev/null ||
  fail "the broken JPEG is not quarantined"
assert_eq "2 3 0" "$(workers "$T/log-refuse")" "a new worker after the refusal (started, answered, retried)"

# ---- 3. A worker that dies on its second document: that document is parsed
# again in a fresh worker, and ingested.
D=$T/drop-crash
mkdoc "$D" a.jpg PC:A other "$jpg" image/jpeg
mkdoc "$D" b.jpg PC:B other "$jpg2" image/jpeg
order "$D" a.jpg b.jpg
HK_TEST_PARSER_HOOK=exit2:image/jpeg "$INDEXER" --no-ocr --store "$T/st-crash" --drop "$D" --once \
  --workers 1 2> "$T/log-crash" || fail "indexer: $(tail -3 "$T/log-crash")"
assert_eq 2 "$(stat_field "$T/st-crash" documents)" "both JPEGs ingested"
assert_eq 0 "$("$ADMIN" quarantine --store "$T/st-crash" | wc -l)" "nothing quarantined for a fault left by an earlier document"
assert_eq "2 2 1" "$(workers "$T/log-crash")" "the second JPEG parsed again in a fresh worker"

# ---- 3b. The same with two workers: a document is parsed again in a
# *fresh* worker, not in the other idle one, which has served too (and would
# die the same way). Two drop folders are two batches: the first leaves two
# workers that have served one JPEG each; in the second, the one JPEG's
# worker dies, and its retry must not go to the other.
D1=$T/drop-crash2a
D2=$T/drop-crash2b
mkdoc "$D1" a.jpg PC2:A other "$jpg" image/jpeg
mkdoc "$D1" b.jpg PC2:B other "$jpg2" image/jpeg
mkdoc "$D2" c.jpg PC2:C other "$C/jpeg/ljt_testimgari.jpg" image/jpeg
HK_TEST_PARSER_HOOK=exit2:image/jpeg "$INDEXER" --no-ocr --store "$T/st-crash2" --drop "one=$D1" \
  --drop "two=$D2" --once --workers 2 2> "$T/log-crash2" || fail "indexer: $(tail -3 "$T/log-crash2")"
assert_eq 3 "$(stat_field "$T/st-crash2" documents)" "three JPEGs ingested with two workers"
assert_eq 0 "$("$ADMIN" quarantine --store "$T/st-crash2" | wc -l)" "none quarantined: the retry in a fresh worker"
assert_eq "3 3 1" "$(workers "$T/log-crash2")" "a third worker for the retry (started, answered, retried)"

# ---- 3c. A worker that cannot work (its sandbox could not be set up) does
# not quarantine good documents: they are left for the next scan, and
# ingested then.
D=$T/drop-nosb
mkdoc "$D" a.jpg PN:A other "$jpg" image/jpeg
printf 'a note\n' > "$T/note.txt"
mkdoc "$D" b.txt PN:B other "$T/note.txt" text/plain
HK_TEST_PARSER_HOOK=nosandbox "$INDEXER" --no-ocr --store "$T/st-nosb" --drop "$D" --once --workers 1 \
  2> "$T/log-nosb" || fail "indexer: $(tail -3 "$T/log-nosb")"
assert_eq 1 "$(stat_field "$T/st-nosb" documents)" "only the text is ingested without a sandbox"
assert_eq 0 "$("$ADMIN" quarantine --store "$T/st-nosb" | wc -l)" "the JPEG is not quarantined"
grep -q "a.jpg: not parsed, left for the next scan: the parser's sandbox could not be set up" "$T/log-nosb" ||
  fail "no error names the JPEG: $(grep -i error "$T/log-nosb" | head -3)"
"$INDEXER" --no-ocr --store "$T/st-nosb" --drop "$D" --once --workers 1 2> "$T/log-nosb2" ||
  fail "indexer: $(tail -3 "$T/log-nosb2")"
assert_eq 2 "$(stat_field "$T/st-nosb" documents)" "the JPEG is ingested by the next scan"

# ---- 4. Nothing of one document reaches the next: a JPEG with no frame
# header (SOF) after a good one in the same worker is refused for its own
# size, 0x0. TurboJPEG leaves the size unset on such a file, and the
# decoder read whatever the previous document had left on the stack (14x0
# here; in the sanitizer build a size that passed, and it was ingested).
D=$T/drop-sof
mkdoc "$D" a.jpg PS:A other "$jpg" image/jpeg
mkdoc "$D" b.jpg PS:B other "$C/jpeg/jd_missing-sof.jpg" image/jpeg
order "$D" a.jpg b.jpg
"$INDEXER" --no-ocr --store "$T/st-sof" --drop "$D" --once --workers 1 2> "$T/log-sof" ||
  fail "indexer: $(tail -3 "$T/log-sof")"
r=$("$ADMIN" quarantine --store "$T/st-sof" | jq -r 'select(.source | endswith("/b.jpg")) | .reason')
assert_eq "JPEG dimensions 0x0 out of range" "$r" "a JPEG with no SOF after a good one is refused for its own size"

# ---- 5. The CPU limit is per document: three documents of 0.6 s each in
# one worker (1.8 s in all) under --parser-cpu 1.
D=$T/drop-burn
for i in 1 2 3; do
  mkdoc "$D" "j$i.jpg" "PB:J$i" other "$jpg" image/jpeg
done
HK_TEST_PARSER_HOOK=burn:image/jpeg "$INDEXER" --no-ocr --store "$T/st-burn" --drop "$D" --once \
  --workers 1 --parser-cpu 1 --parser-timeout 600 2> "$T/log-burn" ||
  fail "indexer: $(tail -3 "$T/log-burn")"
assert_eq 3 "$(stat_field "$T/st-burn" documents)" "three documents of 0.6 s CPU each in one worker under a 1 s limit"
assert_eq "1 3 0" "$(workers "$T/log-burn")" "one worker for the three (started, answered, retried)"
for st in reuse refuse crash crash2 nosb sof burn; do
  "$ADMIN" verify --store "$T/st-$st" > /dev/null || fail "verify $st"
done
ok "every store verifies"
echo "$HK_CHECKS checks passed"

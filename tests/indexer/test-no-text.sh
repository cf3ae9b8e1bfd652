#!/usr/bin/env bash
# hikae-indexer --no-text (issue 14, the visibility bench's "all of it off"):
# no text extraction and no search index writer, with --once and as a
# service; the commits still queue each version's text, so a later run
# without it extracts and indexes what was left. No clock decides
# anything: the service is looked at through its threads (the extraction
# thread is named hk-extract, indexer/hk-extractor.c) and its store.
. "$HK_SOURCE_DIR/tests/lib.sh"
need "$C/pdf/pypdf_minimal-document.pdf"
wait_for() { # command... : poll up to 60 s
  for _ in $(seq 600); do "$@" && return 0; sleep 0.1; done
  return 1
}
has() { "$ADMIN" ls --store "$1" 2> /dev/null | grep -q "\"source_id\":\"$2\""; }
D=$T/drop
printf 'note: ペニシリン\n' > "$T/a.txt"
mkdoc "$D" a.txt X:A progress_note "$T/a.txt" text/plain
mkdoc "$D" b.pdf X:B progress_note "$C/pdf/pypdf_minimal-document.pdf"

"$INDEXER" --help | grep -q -- '--no-text' || fail "--help does not list --no-text"
ok "--help lists --no-text"
rc=0; "$INDEXER" --store "$T/st0" --drop "$D" --once --ocr --no-text 2> "$T/log0" || rc=$?
assert_eq 2 "$rc" "--ocr with --no-text is a usage error"

# 1. --once: every document is committed, no text is extracted, and no
# index is written (a default run builds one for a store this small).
"$INDEXER" --store "$T/st" --drop "$D" --once --no-text 2> "$T/log" || fail "$(cat "$T/log")"
assert_eq 2 "$(stat_field "$T/st" documents)" "--once --no-text commits every document"
assert_eq 0 "$(stat_field "$T/st" texts_done)" "and extracts no text"
assert_eq 2 "$(stat_field "$T/st" texts_pending)" "both versions stay queued for extraction"
[ ! -e "$T/st/search" ] || fail "--no-text wrote a search index: $(ls -R "$T/st/search")"
ok "and writes no search/ folder"

# 2. A later run without it extracts and indexes what was left.
"$INDEXER" --store "$T/st" --drop "$D" --once 2> "$T/log2" || fail "$(cat "$T/log2")"
assert_eq 2 "$(stat_field "$T/st" texts_done)" "a run without --no-text extracts the texts left"
[ -f "$T/st/search/current" ] || fail "no index after a run without --no-text: $(cat "$T/log2")"
ok "and builds the search index"

# 3. As a service: a document is committed, and neither the extraction
# thread nor an index writer ever starts.
"$INDEXER" --store "$T/st3" --drop "$T/d3" --poll-interval 3600 --no-text 2> "$T/log3" &
pid=$!
mkdoc "$T/d3" c.txt X:C progress_note "$T/a.txt" text/plain
wait_for has "$T/st3" X:C || fail "X:C not visible: $(cat "$T/log3")"
ok "the service with --no-text commits a dropped document"
! grep -qx hk-extract /proc/"$pid"/task/*/comm || fail "an extraction thread runs with --no-text"
ok "and runs no extraction thread"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
assert_eq 0 "$rc" "SIGTERM stops it cleanly"
assert_eq 1 "$(stat_field "$T/st3" texts_pending)" "the version stays queued for extraction"
[ ! -e "$T/st3/search" ] || fail "the service wrote a search index with --no-text"
ok "and no search/ folder was written"
echo "$HK_CHECKS checks passed"

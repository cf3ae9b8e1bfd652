#!/usr/bin/env bash
# The indexer feeds the search index (docs/search.md, "Index"): it builds
# one for a small store that has none, follows new, replaced and moved
# texts into it, goes on ingesting when the index cannot be made, and
# builds it again once it can; `hikae-admin reindex` answers the same.
. "$HK_SOURCE_DIR/tests/lib.sh"
SEARCH=$HK_BUILD_DIR/tests/indexer/hk-test-search
need "$SEARCH"
D=$T/drop
S=$T/st
run() { "$INDEXER" --store "$S" --drop "$D" --once 2> "$T/log" || fail "indexer: $(cat "$T/log")"; }
note() { printf '%s\n' "$2" > "$T/$1.txt"; }
hits() { "$SEARCH" "$S" "$@" | awk '{print $1 " " $2 " " $3}' | sort -u; }

note a '既往歴: 肺炎。ペニシリンにアレルギー。'
note b '造影
剤を使用した。'
mkdoc "$D" a.txt A:1 progress_note "$T/a.txt" "" 0000000042
mkdoc "$D" b.txt A:2 progress_note "$T/b.txt" "" 0000000043
run
grep -q "no search index: building it from the store" "$T/log" || fail "no build: $(cat "$T/log")"
ok "the indexer builds the index of a small store that has none"
assert_eq ok "$(stat_field "$S" search_index)" "stats: the index is usable"
assert_eq 0 "$(stat_field "$S" texts_unindexed)" "stats: every stored text is in it"
A=$(hits 肺炎 | cut -d' ' -f1)
[ -n "$A" ] || fail "肺炎 not found"
assert_eq "$A v1 0000000042" "$(hits ぺにしりん)" "a kana form finds the document, under its patient"
assert_eq "" "$(hits 肺炎 0000000043)" "not under another patient"
assert_eq 1 "$(hits 造影剤 | wc -l)" "a word across a line break"

# New, replaced and moved texts are followed, without a rebuild.
note c '心不全の増悪'
mkdoc "$D" c.txt A:3 progress_note "$T/c.txt" "" 0000000042
note a '既往歴: 気管支炎'
mkdoc "$D" a.txt A:1 progress_note "$T/a.txt" "" 0000000044
run
! grep -q "building" "$T/log" || fail "rebuilt instead of followed: $(cat "$T/log")"
assert_eq 1 "$(hits 心不全 | wc -l)" "a new text is followed into the index"
assert_eq "" "$(hits 肺炎)" "a replaced text is no longer found"
assert_eq "$A v2 0000000044" "$(hits 気管支炎)" "the new version is, under the patient it moved to"

# reindex gives the same answers.
for q in 肺炎 気管支炎 心不全 造影剤 ペニシリン 既往歴; do hits "$q"; done > "$T/before"
"$ADMIN" reindex --store "$S" > "$T/out" || fail "reindex"
grep -q "^reindexed 3 documents" "$T/out" || fail "reindex output: $(cat "$T/out")"
for q in 肺炎 気管支炎 心不全 造影剤 ペニシリン 既往歴; do hits "$q"; done > "$T/after"
assert_eq "$(cat "$T/before")" "$(cat "$T/after")" "reindex answers the same"

# An index that cannot be made: ingest goes on, and says why.
rm -rf "$S/search"
: > "$S/search"
note d '腎盂腎炎'
mkdoc "$D" d.txt A:4 progress_note "$T/d.txt" "" 0000000042
run
assert_eq 4 "$(stat_field "$S" documents)" "the indexer ingests with no index possible"
assert_eq unusable "$(stat_field "$S" search_index)" "stats says the index is unusable (a file where its folder goes)"
assert_eq null "$(stat_field "$S" texts_unindexed)" "and counts no lag for it"
grep -q "search index: .*ingest goes on" "$T/log" || fail "no warning: $(cat "$T/log")"
ok "and logs the index's problem"
rc=0; "$SEARCH" "$S" 腎盂 2> "$T/err" || rc=$?
assert_eq 3 "$rc" "a search says the index is unavailable"
rc=0; "$ADMIN" reindex --store "$S" > /dev/null 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "reindex fails there"
grep -q "reindex: $S/search: " "$T/err" || fail "reindex message does not name the folder: $(cat "$T/err")"
rm -f "$S/search"
run
grep -q "search index built" "$T/log" || fail "not rebuilt: $(cat "$T/log")"
assert_eq 1 "$(hits 腎盂 | wc -l)" "once it can, the indexer builds it, with what came meanwhile"

# An index write in progress does not hold up ingest: the loop does not
# wait for the child that writes (indexer/hk-ftsq.c). HK_TEST_FTSQ_HOLD
# holds each write until this test writes a byte; no clock decides.
wait_for() { for _ in $(seq 600); do "$@" && return 0; sleep 0.1; done; return 1; }
held() { [ "$(grep -c 'index write held' "$1")" -ge "$2" ]; }
has() { "$ADMIN" ls --store "$1" 2> /dev/null | grep -q "\"source_id\":\"$2\""; }
mkfifo "$T/hold"
# Held open read-write here, a byte written never blocks this test.
exec 3<> "$T/hold"
note e '胸水貯留'
note f '胆石症'
HK_TEST_FTSQ_HOLD=$T/hold "$INDEXER" --store "$S" --drop "$D" --poll-interval 3600 2> "$T/log" &
pid=$!
mkdoc "$D" e.txt A:5 progress_note "$T/e.txt" "" 0000000042
wait_for held "$T/log" 1 || fail "no index write held: $(cat "$T/log")"
# The writer yields the CPU to ingest: it runs at nice 10 (not SCHED_IDLE:
# it holds a read transaction of the store). It is the child holding the
# FIFO open.
writer=""
find_writer() {
  for c in $(cat /proc/"$pid"/task/*/children); do
    for f in /proc/"$c"/fd/*; do
      [ "$(readlink "$f" 2> /dev/null)" == "$T/hold" ] && writer=$c && return 0
    done
  done
  return 1
}
wait_for find_writer || fail "no child of the indexer holds $T/hold"
# (Or at the indexer's own, if that is lower: this test run at nice 19.)
read -r -a ix < <(sed 's/^.*) //' "/proc/$pid/stat")
read -r -a sf < <(sed 's/^.*) //' "/proc/$writer/stat")
want=$((ix[16] > 10 ? ix[16] : 10))
assert_eq "$want/0" "${sf[16]}/${sf[38]}" "the index writer runs at nice 10 (or the indexer's, if lower), SCHED_OTHER"
mkdoc "$D" f.txt A:6 progress_note "$T/f.txt" "" 0000000042
wait_for has "$S" A:6 || fail "A:6 not visible while an index write is held: $(cat "$T/log")"
ok "a document arriving while an index write is held is committed and readable"
assert_eq "" "$(hits 胆石症)" "and not in the index yet"
# Release writes until both are in (one byte per write, written ahead:
# the writes are paced, HK_FTSQ_GAP_MS apart).
both() { [ -n "$(hits 胆石症)" ] && [ -n "$(hits 胸水)" ]; }
printf xxxxxx >&3
wait_for both || fail "not both in the index: $(cat "$T/log")"
assert_eq 1 "$(hits 胆石症 | wc -l)" "released, the index takes what came meanwhile"
kill -TERM "$pid"
# A write held at the stop is let finish (killed, it could leave half a
# generation): the bytes written ahead release it.
echo xxxx >&3
rc=0; wait "$pid" || rc=$?
assert_eq 0 "$rc" "SIGTERM stops the indexer cleanly"

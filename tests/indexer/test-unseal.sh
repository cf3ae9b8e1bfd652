#!/usr/bin/env bash
# Issue 12 item 1.5: a running indexer that is sealed resumes after
# `hikae-admin unseal` without a restart (it re-reads the seal at each
# rescan). The seal is written by hk-test-heartbeat.
. "$HK_SOURCE_DIR/tests/lib.sh"
HEARTBEAT=$HK_BUILD_DIR/tests/server/hk-test-heartbeat
D=$T/drop
echo "first" > "$T/one.txt"
mkdoc "$D" one.txt UNSEAL:1 progress_note "$T/one.txt"
"$INDEXER" --store "$T/st" --drop "$D" --once 2> /dev/null || fail "first ingest"
"$HEARTBEAT" "$T/st" sealed 0 || fail "cannot seal"
assert_eq sealed "$(stat_field "$T/st" indexer)" "the store is sealed"
"$INDEXER" --store "$T/st" --drop "$D" --poll-interval 1 2> "$T/log" &
pid=$!
for _ in $(seq 1 600); do grep -q SEALED "$T/log" && break; kill -0 $pid || fail "indexer exited: $(cat "$T/log")"; sleep 0.1; done
grep -q SEALED "$T/log" || fail "the indexer did not say it is sealed"
ok "the running indexer starts sealed"
echo "second" > "$T/two.txt"
mkdoc "$D" two.txt UNSEAL:2 progress_note "$T/two.txt"
# Two rescans (poll interval 1 s) while sealed: nothing is ingested.
sleep 2.5
assert_eq 1 "$("$ADMIN" ls --store "$T/st" | wc -l)" "nothing ingested while sealed"
"$ADMIN" unseal --store "$T/st" | grep -q unsealing || fail "unseal"
n=0
for _ in $(seq 1 600); do
  n=$("$ADMIN" ls --store "$T/st" | grep -c UNSEAL:2 || true)
  [ "$n" -eq 1 ] && break
  kill -0 $pid || fail "indexer exited: $(cat "$T/log")"
  sleep 0.1
done
assert_eq 1 "$n" "the waiting document is ingested after unseal"
kill -0 $pid || fail "the indexer was restarted or died"
ok "by the same indexer process, without a restart"
grep -q "unsealed; ingest resumes" "$T/log" || fail "the log does not say it resumed"
ok "the log says ingest resumes"
assert_eq running "$(stat_field "$T/st" indexer)" "stats says running again"
kill -TERM $pid; wait $pid || fail "indexer exit after SIGTERM"
ok "stops cleanly"
echo "$HK_CHECKS checks passed"

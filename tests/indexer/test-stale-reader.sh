#!/usr/bin/env bash
# A process killed inside a read transaction leaves its reader slot in
# lock.mdb, pinning every page freed after its snapshot. LMDB clears such
# slots only when the first process opens the store; a watching indexer
# stays up, so it must clear them itself (hk_txn_begin, at most once a
# second), or the store grows with every commit for as long as it runs.
. "$HK_SOURCE_DIR/tests/lib.sh"
READER=$HK_BUILD_DIR/tests/indexer/hk-test-reader
need "$READER"
command -v mdb_stat > /dev/null || fail "missing: mdb_stat (lmdb-utils)"
# Counted with mdb_stat: hikae-admin would clear the slot itself on open.
versions_are() { [ "$(mdb_stat -s versions "$1" 2> /dev/null | sed -n 's/^ *Entries: //p')" = "$2" ]; }
slot() { { mdb_stat -r "$T/st" || true; } | grep -cE "^ +$1 " || true; }
poll() { # SECONDS COMMAND...
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}
mkdir -p "$T/drop"
printf 'first\n' > "$T/first"
mkdoc "$T/drop" a.txt EHR:A:1 progress_note "$T/first" text/plain
"$INDEXER" --store "$T/st" --drop "$T/drop" --poll-interval 1 2> "$T/log" &
ix=$!
poll 60 versions_are "$T/st" 1 || fail "first document not ingested: $(tail -3 "$T/log")"
"$READER" "$T/st" > "$T/r.out" &
rp=$!
poll 10 grep -q reading "$T/r.out" || fail "reader did not start"
kill -9 $rp
wait $rp 2> /dev/null || true
assert_eq 1 "$(slot "$rp")" "the killed reader's slot is in lock.mdb"
# The next commits (a new document, the heartbeat) clear it.
printf 'second\n' > "$T/second"
mkdoc "$T/drop" b.txt EHR:A:2 progress_note "$T/second" text/plain
poll 60 versions_are "$T/st" 2 || fail "second document not ingested: $(tail -3 "$T/log")"
slot_gone() { [ "$(slot "$rp")" = 0 ]; }
poll 60 slot_gone || fail "the dead reader's slot is still in lock.mdb while the indexer writes"
ok "the watching indexer cleared the dead reader's slot"
kill -TERM $ix
wait $ix || fail "indexer exit status $?"
grep -q "cleared 1 reader slot(s) of dead processes" "$T/log" || fail "the indexer did not log the cleared slot: $(tail -3 "$T/log")"
ok "and logged it"
echo "$HK_CHECKS checks passed"

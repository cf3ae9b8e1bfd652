#!/usr/bin/env bash
# The indexer as a service: inotify makes a new document readable in well
# under the rescan interval, new folders are watched, a second indexer on
# the same store is refused, and SIGTERM stops it cleanly.
. "$HK_SOURCE_DIR/tests/lib.sh"
C=$HK_CORPUS_DIR
D=$T/drop
mkdir -p "$D"
"$INDEXER" --store "$T/st" --drop "$D" --poll-interval 3600 2> "$T/log" &
pid=$!
wait_for() { # command... : poll up to 10 s
  for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done
  return 1
}
running() { [ "$(stat_field "$T/st" indexer 2> /dev/null)" == running ]; }
wait_for running || fail "indexer did not start: $(cat "$T/log")"
ok "the indexer reports running"
rc=0; "$INDEXER" --store "$T/st" --drop "$D" --once 2> "$T/err2" || rc=$?
assert_eq 1 "$rc" "a second indexer on the same store is refused"
grep -q "another hikae-indexer" "$T/err2" || fail "message"; ok "and says why"

has() { "$ADMIN" ls --store "$T/st" 2> /dev/null | grep -c "\"source_id\":\"$1\"" > /dev/null; }
mkdoc "$D" a.pdf W:1 progress_note "$C/pdf/pypdf_minimal-document.pdf"
wait_for has W:1 || fail "W:1 not visible"
ok "a dropped document becomes readable without waiting for the rescan"
mkdir -p "$D/new/deeper"
sleep 0.2
mkdoc "$D/new/deeper" b.jpg W:2 consent "$C/jpeg/ljt_testorig.jpg"
wait_for has W:2 || fail "W:2 in a new folder not visible"
ok "a document in a newly created folder is picked up"
# A content file overwritten in place (no new sidecar) is looked at too.
head -c 20000 /dev/urandom > "$D/a.pdf"
q() { [ "$("$ADMIN" quarantine --store "$T/st" | grep -c suspect)" -ge 1 ]; }
wait_for q || fail "overwritten content not noticed"
ok "content overwritten in place is noticed and quarantined as suspect"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
assert_eq 0 "$rc" "SIGTERM stops the indexer cleanly"
assert_eq stopped "$(stat_field "$T/st" indexer)" "state is stopped after SIGTERM"
echo "$HK_CHECKS checks passed"

#!/usr/bin/env bash
# A parser worker is confined before it parses (issue 10, item 13): it holds
# no descriptor but its two pipes to the indexer (not the store's data.mdb), runs under a
# seccomp filter with no new privileges, and a child that calls open() or
# socket() dies of SIGSYS, its document quarantined with a reason naming the
# call, while the indexer goes on and ingests the next document.
#
# HK_TEST_PARSER_HOOK (indexer/hk-thumbnail.c) acts in the child only after
# it is confined: "pause" makes it wait 5 s so that /proc/PID can be read,
# "open:TYPE" and "socket:TYPE" make children of that type try the call.
. "$HK_SOURCE_DIR/tests/lib.sh"
C=$HK_CORPUS_DIR
pdf=$C/pdf/pypdf_minimal-document.pdf
jpg=$C/jpeg/ljt_testorig.jpg

# ---- 1. /proc/<worker>/fd holds only its two pipes to the indexer.
D=$T/drop1
mkdoc "$D" a.jpg SB:A other "$jpg" image/jpeg
mkdoc "$D" b.pdf SB:B other "$pdf" application/pdf
HK_TEST_PARSER_HOOK=pause "$INDEXER" --store "$T/st1" --drop "$D" --once --workers 1 2> "$T/log1" &
ix=$!
declare -A seen=()
confined=0
# Bounded: at most 600 looks, 0.1 s apart, and only while the indexer runs.
for _ in $(seq 600); do
  kill -0 "$ix" 2> /dev/null || break
  for pid in $(pgrep -P "$ix" || true); do
    st=/proc/$pid/status
    [ -z "${seen[$pid]:-}" ] || continue
    # Confined means the filter is loaded (the last step): look then.
    [ "$(awk '/^Seccomp:/ {print $2}' "$st" 2> /dev/null)" == 2 ] || continue
    nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$st" 2> /dev/null)
    fds=$(for f in /proc/"$pid"/fd/*; do echo "${f##*/} $(readlink "$f" || true)"; done)
    # A child that ended while we looked is not counted (it paused 5 s).
    [ "$(awk '/^Seccomp:/ {print $2}' "$st" 2> /dev/null)" == 2 ] || continue
    seen[$pid]=1
    [ "$nnp" == 1 ] || fail "child $pid may gain privileges"
    # Sanitizer builds keep stderr for AddressSanitizer's reports.
    others=$(echo "$fds" | awk -v san="${HK_SANITIZED:-0}" '$2 !~ /^pipe:/ && !(san == 1 && $1 == 2)')
    [ -z "$others" ] || fail "worker $pid holds more than its pipes: $(echo "$fds" | tr '\n' ' ')"
    npipes=$(echo "$fds" | awk -v san="${HK_SANITIZED:-0}" '$2 ~ /^pipe:/ && !(san == 1 && $1 == 2)' | wc -l)
    assert_eq 2 "$npipes" "worker $pid holds two descriptors, its pipes ($(echo "$fds" | tr '\n' ' '))"
    # Nor a mapping of the store: data.mdb would let it read every document,
    # lock.mdb (shared, writable) rewrite the reader table or hold the
    # writer's mutex.
    mapped=$(grep -E '/(data|lock)\.mdb$' "/proc/$pid/maps" || true)
    [ -z "$mapped" ] || fail "worker $pid maps the store: $mapped"
    # The extraction's workers yield their CPU (nice 10 and SCHED_IDLE,
    # policy 5); ingest's parsers keep theirs (nice 0, SCHED_OTHER).
    read -r -a sf < <(sed 's/^.*) //' "/proc/$pid/stat" 2> /dev/null || true)
    if [ "${#sf[@]}" -gt 38 ]; then
      prio="${prio:-} ${sf[16]}/${sf[38]}"
    fi
    confined=$((confined + 1))
  done
  sleep 0.1
done
wait "$ix" || fail "indexer with paused children: $(tail -3 "$T/log1")"
# The JPEG and the PDF in one parse worker, the PDF's thumbnail in a render
# worker (its sandbox may read fonts); after the commit the JPEG's OCR
# loads the model, and the extraction's own workers (hk-extractor.h) read
# the PDF's text layer (a render worker: a page without text is drawn for
# OCR) and the JPEG's text (a parse worker): four workers, five answers.
[ "$confined" -ge 2 ] || fail "saw only $confined confined parser workers (want 2)"
for np in ${prio:-}; do
  case "$np" in
    0/0 | 10/5) ;;
    *) fail "a worker at nice/policy $np (want 0/0 for ingest, 10/5 for extraction): ${prio:-}" ;;
  esac
done
case " ${prio:-} " in *" 10/5 "*) ;; *) fail "no extraction worker seen at SCHED_IDLE: ${prio:-}" ;; esac
case " ${prio:-} " in *" 0/0 "*) ;; *) fail "no ingest worker seen at normal priority: ${prio:-}" ;; esac
ok "extraction workers run at SCHED_IDLE and nice 10, ingest's at normal priority"
ok "$confined parser workers seen confined, each with only its pipes"
grep -q "parsers: 4 workers started, 5 documents answered" "$T/log1" ||
  fail "want 4 workers for 5 answers: $(grep parsers: "$T/log1")"
ok "one worker parsed both documents, another drew the thumbnail"
assert_eq 2 "$(stat_field "$T/st1" documents)" "both documents ingested by confined children"
assert_eq 2 "$(stat_field "$T/st1" thumbnails)" "both thumbnails drawn by confined children"

# ---- 2. open() and socket() kill the child with SIGSYS; the indexer goes on.
for call in open socket; do
  D=$T/drop-$call
  mkdoc "$D" first.jpg "SB:$call:JPG" other "$jpg" image/jpeg
  mkdoc "$D" next.pdf "SB:$call:PDF" other "$pdf" application/pdf
  touch -d '2026-01-01 00:00:00' "$D/first.jpg.meta.json" # the JPEG first
  HK_TEST_PARSER_HOOK=$call:image/jpeg "$INDEXER" --store "$T/st-$call" --drop "$D" --once \
    2> "$T/log-$call" || fail "indexer after a $call(): $(tail -3 "$T/log-$call")"
  ok "the indexer survives a child's $call() and exits 0"
  "$ADMIN" quarantine --store "$T/st-$call" > "$T/q-$call"
  r=$(jq -r 'select(.source | endswith("/first.jpg")) | .reason' "$T/q-$call")
  want=$([ "$call" == open ] && echo 'openat' || echo 'socket')
  echo "$r" | grep -Eq "stopped by its sandbox.*forbidden system call $want .*SIGSYS" ||
    fail "the JPEG whose child called $call() is not quarantined for it: [$r]"
  ok "quarantined: $r"
  assert_eq 1 "$(stat_field "$T/st-$call" documents)" "the next document is ingested after a $call() kill"
  "$ADMIN" ls --store "$T/st-$call" | jq -e 'select(.source_id == "SB:'"$call"':PDF")' > /dev/null ||
    fail "the PDF after the killed child is missing"
  "$ADMIN" verify --store "$T/st-$call" > /dev/null || fail verify
  ok "the store verifies"
done
echo "$HK_CHECKS checks passed"

#!/usr/bin/env bash
# A parser child that burns CPU, hangs, or grows its memory on a hostile
# file is stopped at its limit (--parser-cpu, --parser-timeout,
# --parser-memory), its document is quarantined with a reason naming the
# limit, and the indexer goes on with the next document. Issue 12, item 1.5:
# the limits hold in both builds (the memory limit is relative to what the
# child inherits, so AddressSanitizer's shadow does not switch it off).
#
# HK_TEST_PARSER_HOOK (indexer/hk-thumbnail.c) acts in the confined child:
# "spin" loops on the CPU, "hang" sleeps for ever, "alloc" maps 64 MiB
# at a time (up to 4 GiB) and refuses the document saying how far it got.
. "$HK_SOURCE_DIR/tests/lib.sh"
jpg=$C/jpeg/ljt_testorig.jpg
pdf=$C/pdf/pypdf_minimal-document.pdf
need "$jpg" "$pdf"

# run NAME HOOK OPTIONS...: index a JPEG (first) and a PDF with the hook on
# JPEG children; print the JPEG's quarantine reason.
run() {
  local name=$1 hook=$2 D=$T/drop-$1
  shift 2
  mkdoc "$D" first.jpg "PL:$name:JPG" other "$jpg" image/jpeg
  mkdoc "$D" next.pdf "PL:$name:PDF" other "$pdf" application/pdf
  touch -d '2026-01-01 00:00:00' "$D/first.jpg.meta.json" # the JPEG first
  HK_TEST_PARSER_HOOK=$hook:image/jpeg "$INDEXER" --store "$T/st-$name" --drop "$D" --once \
    --workers 1 "$@" 2> "$T/log-$name" || fail "indexer ($name): $(tail -3 "$T/log-$name")"
  assert_eq 1 "$(stat_field "$T/st-$name" documents)" "$name: the next document is ingested" >&2
  "$ADMIN" ls --store "$T/st-$name" | jq -e 'select(.source_id == "PL:'"$name"':PDF")' > /dev/null ||
    fail "$name: the PDF after the stopped child is missing"
  "$ADMIN" quarantine --store "$T/st-$name" |
    jq -r 'select(.source | endswith("/first.jpg")) | .reason'
}

# ---- CPU: stopped by RLIMIT_CPU, not by the (far) wall clock.
r=$(run cpu spin --parser-cpu 1 --parser-timeout 600)
echo "$r" | grep -q "parser used more than 1 s of CPU on this image/jpeg" ||
  fail "a spinning parser is not stopped by its CPU limit: [$r]"
ok "CPU limit: $r"

# ---- Wall clock: a child that sleeps uses no CPU; the indexer kills it.
r=$(run wall hang --parser-timeout 2)
echo "$r" | grep -q "parser took longer than 2 s on this image/jpeg (killed)" ||
  fail "a hanging parser is not stopped at its time limit: [$r]"
ok "time limit: $r"

# ---- Memory: the child may add --parser-memory MiB to what it inherited.
# 64 MiB steps: a limit of L MiB refuses the reservation that would pass it.
mem() { # LIMIT: how far the child got
  local r
  r=$(run "mem$1" alloc --parser-memory "$1")
  echo "$r" | grep -Eq '^test hook: memory refused after [0-9]+ MiB$' ||
    fail "a growing parser is not stopped by a $1 MiB limit: [$r]"
  echo "$r" | grep -Eo '[0-9]+ MiB' | cut -d' ' -f1
}
got=$(mem 256)
[ "$got" -le 256 ] && [ "$got" -ge 128 ] || fail "256 MiB limit: the child reserved $got MiB"
ok "memory limit 256 MiB: refused after $got MiB"
got=$(mem 1024)
[ "$got" -le 1024 ] && [ "$got" -ge 896 ] || fail "1024 MiB limit: the child reserved $got MiB"
ok "memory limit 1024 MiB: refused after $got MiB"

# ---- Out-of-range limits are usage errors.
for bad in "--parser-cpu 0" "--parser-timeout 3601" "--parser-memory 63"; do
  # shellcheck disable=SC2086 # two words: the option and its value
  rc=0; "$INDEXER" --store "$T/st-bad" --drop "$T/drop-cpu" --once $bad 2> "$T/log-bad" || rc=$?
  assert_eq 2 "$rc" "$bad is refused"
  grep -q "out of range" "$T/log-bad" || fail "$bad: no reason given: $(cat "$T/log-bad")"
done
echo "$HK_CHECKS checks passed"

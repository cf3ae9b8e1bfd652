#!/usr/bin/env bash
# run-fuzz.sh TARGET SEED_DIR...: the bounded regression run of one libFuzzer
# target: every seed, then new inputs for HK_FUZZ_SECONDS (default 20) or
# HK_FUZZ_RUNS (default 200000) runs, whichever ends first. New inputs go to
# a temporary folder, never into the seeds. A crash, leak, sanitizer report
# or slow input fails the run; the input that did it is kept in
# ./fuzz-artifacts (and printed in base64 when small) so that it can be
# reproduced (TARGET FILE) and kept as a seed.
set -euo pipefail
target=$1
shift
for d in "$@"; do [ -d "$d" ] || { echo "FAIL: missing seed folder $d" >&2; exit 1; }; done
work=$(mktemp -d "${TMPDIR:-/tmp}/hk-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/new"
rc=0
"$target" -max_total_time="${HK_FUZZ_SECONDS:-20}" -runs="${HK_FUZZ_RUNS:-200000}" \
  -timeout=25 -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/new" "$@" 2> "$work/log" || rc=$?
grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' \
  "$work/log" || true
if [ "$rc" -ne 0 ]; then
  tail -60 "$work/log" >&2
  for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$work"/slow-unit-*; do
    [ -e "$a" ] || continue
    mkdir -p fuzz-artifacts
    cp "$a" "fuzz-artifacts/$(basename "$target")-$(basename "$a")"
    echo "input that failed: $PWD/fuzz-artifacts/$(basename "$target")-$(basename "$a")" >&2
    if [ "$(stat -c %s "$a")" -le 4096 ]; then base64 -w 0 "$a" >&2; echo >&2; fi
  done
  echo "FAIL: $(basename "$target") (exit $rc)" >&2
  exit 1
fi
echo "$(basename "$target"): no finding"

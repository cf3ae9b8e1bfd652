#!/usr/bin/env bash
# Torture: kill -9 the indexer at KILLS random moments while it ingests a
# generated drop folder and SS-MIX2 tree (with bad inputs), restarting it
# each time; run `hikae-admin verify` after every kill (or every
# HK_VERIFY_EVERY-th); when an indexer finishes on its own, or after the
# last kill, compare the store with an uninterrupted run (ls minus
# ingested_at, quarantine minus at, stats counts) and start a new round on
# an empty store. The indexer traces its write transactions
# (HK_TXN_TRACE, common/hk-store-txn.c), and each kill's CLOCK_MONOTONIC time
# is compared with the trace to count the kills that fell inside one.
#
# Usage: tests/torture/kill-indexer.sh [KILLS (50)] [BUILD_DIR (build)]
# Env: HK_SEED (1), HK_MAX_DELAY_MS (1000), HK_TARGETED_EVERY (2), HK_VERIFY_EVERY (1), HK_KEEP=1
# keeps the work folder. Not part of scripts/test; see docs/reliability.md.
set -euo pipefail
KILLS=${1:-50}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${2:-$SRC/build}" && pwd)
INDEXER=$B/indexer/hikae-indexer
ADMIN=$B/admin/hikae-admin
SAMPLES=$B/samples/hikae-samples
for p in "$INDEXER" "$ADMIN" "$SAMPLES"; do [ -x "$p" ] || { echo "missing: $p" >&2; exit 1; }; done
command -v python3 > /dev/null || { echo "missing: python3" >&2; exit 1; }
command -v jq > /dev/null || { echo "missing: jq" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/hikae-torture.XXXXXX")
cleanup() {
  local rc=$?
  jobs -p | xargs -r kill -9 2> /dev/null || true
  if [ "${HK_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
  exit $rc
}
trap cleanup EXIT

# A small corpus: 20 patients x 5 documents in the drop folder, and their
# SS-MIX2 storage (about 200 messages, withdrawals included).
"$SAMPLES" --out "$T/s" --patients 20 --docs-per-patient 5 --seed 5 --ssmix2 > /dev/null
# Bad inputs, so that the quarantine is compared too: a sidecar that is not
# JSON, a "PDF" of random bytes with a valid sidecar, and an SS-MIX2
# message that is not HL7.
printf '{"broken' > "$T/s/drop/bad.txt.meta.json"
echo x > "$T/s/drop/bad.txt"
side=$(find "$T/s/drop" -name '*.pdf.meta.json' | sort | sed -n 1p)
noise() { python3 -c 'import random,sys; sys.stdout.buffer.write(random.Random(7).randbytes(int(sys.argv[1])))' "$1"; }
noise 20000 > "$T/s/drop/garbage.pdf"
jq '.source_id = "EHR:NR:9999999"' "$side" > "$T/s/drop/garbage.pdf.meta.json"
msg=$(find "$T/s/ssmix2" -type f | sort | sed -n 1p)
bad="$(dirname "$msg")/$(basename "$msg" | sed 's/_0000000000002\([0-9][0-9]\)_/_0000000000009\1_/')"
noise 3000 > "$bad"

ARGS=(--drop "$T/s/drop" --ssmix2 "$T/s/ssmix2" --once --batch 4 --workers 2)
start=$(date +%s)
"$INDEXER" --store "$T/ref" "${ARGS[@]}" 2> "$T/ref.log" || { tail -5 "$T/ref.log"; exit 1; }
"$ADMIN" verify --store "$T/ref" > /dev/null
echo "reference: $("$ADMIN" stats --store "$T/ref" | jq -c '{documents,versions,patients,quarantined,withdrawn}') in $(($(date +%s) - start)) s"

python3 "$SRC/tests/torture/hk-killer.py" --kills "$KILLS" --work "$T" --indexer "$INDEXER" \
  --admin "$ADMIN" --seed "${HK_SEED:-1}" --max-delay-ms "${HK_MAX_DELAY_MS:-1000}" \
  --verify-every "${HK_VERIFY_EVERY:-1}" --targeted-every "${HK_TARGETED_EVERY:-2}" -- "${ARGS[@]}"

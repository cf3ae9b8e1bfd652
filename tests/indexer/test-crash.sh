#!/usr/bin/env bash
# kill -9 at random moments during an ingest, at least 20 times, then let
# it finish: the store must equal an uninterrupted run's (nothing lost,
# nothing duplicated) and verify must pass.
. "$HK_SOURCE_DIR/tests/lib.sh"
[ -x "$SAMPLES" ] || fail "hikae-samples not built: $SAMPLES"
"$SAMPLES" --out "$T/s" --patients 60 --docs-per-patient 10 --seed 5 > /dev/null
# A few bad inputs too, so the quarantine is part of the comparison.
printf '{"broken' > "$T/s/drop/bad.txt.meta.json"; echo x > "$T/s/drop/bad.txt"
# --no-ocr: this is about the commits; OCR of the samples' scans would add a
# minute of CPU per full run (test-text.c and test-extract-beside.sh test it).
"$INDEXER" --store "$T/ref" --drop "$T/s/drop" --once --batch 8 --no-ocr 2> /dev/null
kills=0
attempts=0
RANDOM=42
while [ $kills -lt 20 ] && [ $attempts -lt 400 ]; do
  attempts=$((attempts + 1))
  "$INDEXER" --store "$T/st" --drop "$T/s/drop" --once --batch 8 --no-ocr 2> /dev/null &
  pid=$!
  sleep "0.0$((RANDOM % 90 + 5))"
  if kill -9 "$pid" 2> /dev/null; then
    wait "$pid" 2> /dev/null || true
    kills=$((kills + 1))
  else
    # It finished before the kill: start again from an empty store so that
    # every kill lands during an ingest.
    wait "$pid" || true
    rm -rf "$T/st"
  fi
done
[ $kills -ge 20 ] || fail "only $kills kills landed during an ingest"
ok "$kills kill -9s landed during the ingest"
"$INDEXER" --store "$T/st" --drop "$T/s/drop" --once --no-ocr 2> /dev/null || fail "restart after the kills"
ok "the restart completes"
view() { "$ADMIN" ls --store "$1" | jq -c 'del(.ingested_at)' | sort; }
qview() { "$ADMIN" quarantine --store "$1" | jq -c 'del(.at)' | sort; }
diff <(view "$T/ref") <(view "$T/st") > "$T/diff" || fail "store after kills differs: $(head -5 "$T/diff")"
ok "every version equals the uninterrupted run's"
diff <(qview "$T/ref") <(qview "$T/st") > /dev/null || fail "quarantine differs"
ok "the quarantine equals the uninterrupted run's"
for f in documents versions patients blobs thumbnails quarantined; do
  assert_eq "$(stat_field "$T/ref" $f)" "$(stat_field "$T/st" $f)" "$f count equal"
done
"$ADMIN" verify --store "$T/st" > /dev/null || fail "verify after kills"
ok "verify passes after the kills"
echo "$HK_CHECKS checks passed"

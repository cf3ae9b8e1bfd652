#!/bin/sh
# hikae-samples on its own: command line, determinism (same seed, any
# --jobs: same bytes), the manifest against the files, and the sidecars
# against interfaces.md's drop-folder protocol. Needs jq, pdfinfo and djpeg
# (scripts/packages.txt): a missing tool fails the test, it never skips.
set -eu

B="${HK_BUILD_DIR:?}/samples/hikae-samples"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in jq pdfinfo djpeg; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (scripts/deps installs it)"
done

# Command line: 0 for --help/--version, 2 for a usage error, 1 at run time.
"$B" --help >/dev/null || fail "--help"
"$B" --version | grep -q '^hikae-samples ' || fail "--version"
rc=0; "$B" 2>/dev/null || rc=$?; [ $rc -eq 2 ] || fail "no --out gave $rc"
rc=0; "$B" --out "$T/x" --patients 0 2>/dev/null || rc=$?; [ $rc -eq 2 ] || fail "--patients 0 gave $rc"
rc=0; "$B" --out "$T/x" --bogus 2>/dev/null || rc=$?; [ $rc -eq 2 ] || fail "--bogus gave $rc"
rc=0; "$B" --out /proc/hk-nope --patients 1 --docs-per-patient 1 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "unwritable --out gave $rc"

# Determinism: the same seed twice, with one and with three processes.
"$B" --out "$T/a" --patients 12 --docs-per-patient 5 --seed 7 --jobs 1 >/dev/null
"$B" --out "$T/b" --patients 12 --docs-per-patient 5 --seed 7 --jobs 3 >/dev/null
diff -r "$T/a" "$T/b" >/dev/null || fail "same seed, different bytes"
"$B" --out "$T/c" --patients 12 --docs-per-patient 5 --seed 8 >/dev/null
cmp -s "$T/a/manifest.jsonl" "$T/c/manifest.jsonl" && fail "seeds 7 and 8 gave the same output"

S="$T/a"
M="$S/manifest.jsonl"
[ "$(jq -r 'select(.record=="summary") | .documents' "$M")" = 60 ] || fail "summary count"
[ "$(jq -r 'select(.record=="document")' "$M" | jq -s length)" = 60 ] || fail "document lines"
[ "$(jq -r 'select(.record=="patient")' "$M" | jq -s length)" = 12 ] || fail "patient lines"
# Every type of interfaces.md and every content type appears.
[ "$(jq -r 'select(.record=="document") | .type' "$M" | sort -u | wc -l)" -eq 12 ] || fail "types"
[ "$(jq -r 'select(.record=="document") | .content_type' "$M" | sort -u | tr '\n' ' ')" = \
  "application/pdf image/jpeg text/plain " ] || fail "content types"
# The manifest's hashes are the files' hashes.
(cd "$S/drop" && jq -r 'select(.record=="document") | "\(.sha256)  \(.path)"' "$M" |
  sha256sum -c --quiet) || fail "sha256 mismatch"
# One sidecar per content file, nothing half-written left behind.
[ "$(find "$S/drop" -name '*.meta.json' | wc -l)" -eq 60 ] || fail "sidecars"
[ "$(find "$S" -name '*.tmp' | wc -l)" -eq 0 ] || fail "temp files left"
# Sidecars: required fields, 10-digit IDs, RFC 3339 in JST, patient object.
find "$S/drop" -name '*.meta.json' -exec jq -e '
  (.patient_id | test("^[0-9]{10}$")) and (.source_id | length > 0) and
  (.type | length > 0) and (.title | length > 0) and
  (.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\+09:00$")) and
  (.patient.name | test("^[^ ]+ [^ ]+$")) and (.patient.kana | test("^[ァ-ヶー]+ [ァ-ヶー]+$")) and
  (.patient.birth_date | test("^(19[3-9][0-9]|20[0-2][0-9])-[0-9]{2}-[0-9]{2}$")) and
  (.patient.sex == "F" or .patient.sex == "M")' {} + >/dev/null || fail "sidecar fields"
# Content parses as what it claims.
for f in $(find "$S/drop" -name '*.pdf'); do pdfinfo "$f" >/dev/null 2>&1 || fail "bad PDF $f"; done
for f in $(find "$S/drop" -name '*.jpg'); do djpeg "$f" >/dev/null 2>&1 || fail "bad JPEG $f"; done
echo "ok"

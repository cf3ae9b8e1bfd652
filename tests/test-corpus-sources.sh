#!/usr/bin/env bash
# tests/corpus is the published bytes: every file has a row in SOURCES.md
# whose size and SHA-256 it matches, and every row has its file. A missing
# or changed file fails, naming its path.
. "$HK_SOURCE_DIR/tests/lib.sh"
need "$C/LICENSES.md"
# Rows: "| `file` | repo | path | snapshot | last | licence | bytes | sha256 | notes |",
# relative to the folder of their section (SS-MIX2, PDF, JPEG).
awk -F' [|] ' '
  /^## SS-MIX2/ { d = "ssmix2/" } /^## PDF/ { d = "pdf/" } /^## JPEG/ { d = "jpeg/" }
  /^[|] `/ { f = $1; sub(/^[|] `/, "", f); sub(/`$/, "", f); print $8 "\t" $7 "\t" d f }
' "$C/SOURCES.md" > "$T/rows"
rows=$(wc -l < "$T/rows")
assert_eq 40 "$rows" "SOURCES.md lists 40 files"
while IFS=$'\t' read -r sum size rel; do
  need "$C/$rel"
  [ "$(stat -c %s "$C/$rel")" = "$size" ] || fail "$C/$rel: size $(stat -c %s "$C/$rel"), SOURCES.md says $size"
  [ "$(sha256sum < "$C/$rel" | cut -d' ' -f1)" = "$sum" ] || fail "$C/$rel: SHA-256 differs from SOURCES.md"
done < "$T/rows"
ok "every listed file is there with its size and SHA-256"
(cd "$C" && find . -type f ! -name '*.md' ! -name .gitattributes | sed 's|^\./||' | sort) > "$T/files"
cut -f3 "$T/rows" | sort > "$T/listed"
extra=$(comm -23 "$T/files" "$T/listed")
[ -z "$extra" ] || fail "in tests/corpus without a SOURCES.md row: $extra"
ok "every file of tests/corpus has a row"
echo "$HK_CHECKS checks passed"

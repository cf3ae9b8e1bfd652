#!/usr/bin/env bash
# Every real-world PDF and JPEG of tests/corpus, wrapped in a sidecar,
# is either ingested or quarantined with a reason; none crashes the indexer.
. "$HK_SOURCE_DIR/tests/lib.sh"
C=$HK_CORPUS_DIR
need "$C/pdf" "$C/jpeg"
D=$T/drop
n=0
for f in "$C"/pdf/*.pdf "$C"/jpeg/*.jpg; do
  n=$((n + 1))
  case $f in *.pdf) ct=application/pdf ;; *) ct=image/jpeg ;; esac
  mkdoc "$D" "$(basename "$f")" "CORPUS:$(basename "$f")" other "$f" "$ct"
done
"$INDEXER" --store "$T/st" --drop "$D" --once 2> "$T/log" || fail "indexer failed: $(tail -5 "$T/log")"
ok "the indexer survives the whole corpus"
"$ADMIN" ls --store "$T/st" > "$T/ls"
"$ADMIN" quarantine --store "$T/st" > "$T/q"
jq -r .source_id "$T/ls" > "$T/ids"
ingested() { grep -qxF "CORPUS:$1" "$T/ids"; }
for f in "$C"/pdf/*.pdf "$C"/jpeg/*.jpg; do
  b=$(basename "$f")
  if ingested "$b"; then
    ok "$b ingested"
  else
    r=$(jq -r --arg b "$b" 'select(.source | endswith("/" + $b) or endswith("/" + $b + ".meta.json")) | .reason' "$T/q")
    [ -n "$r" ] || fail "$b neither ingested nor quarantined"
    ok "$b quarantined: $r"
  fi
done
ing=$(stat_field "$T/st" documents)
q=$(stat_field "$T/st" quarantined)
assert_eq "$n" "$((ing + q))" "every corpus file accounted for ($ing ingested, $q quarantined)"
# Known outcomes: valid files go in, files that are not what they claim stay out.
# (CMYK JPEGs from scanners were once refused: "Unsupported color conversion".)
for good in pypdf_minimal-document.pdf pypdf_pdflatex-image.pdf ljt_testorig.jpg \
  jd_jpg-progressive.jpg jd_jpg-cmyk-1.jpg ljt_testimgari.jpg pdfjs_noembed-sjis.pdf; do
  ingested "$good" || fail "$good should be ingested"
done
ok "valid corpus files are ingested"
for bad in qpdf_bad1.pdf jd_empty.jpg jd_missing-sof.jpg pypdf_libreoffice-writer-password.pdf; do
  ingested "$bad" && fail "$bad should be quarantined"
done
ok "broken, empty and password-locked files are quarantined"
"$ADMIN" verify --store "$T/st" > /dev/null || fail "verify"
ok "verify passes"
echo "$HK_CHECKS checks passed"

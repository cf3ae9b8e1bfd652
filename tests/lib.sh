# Shared helpers for the shell integration tests. Each test sources this,
# gets a fresh temporary folder in $T (removed on exit) and the programs in
# $INDEXER, $ADMIN, $SAMPLES.
set -euo pipefail
: "${HK_BUILD_DIR:?run through meson test}"
INDEXER=$HK_BUILD_DIR/indexer/hikae-indexer
ADMIN=$HK_BUILD_DIR/admin/hikae-admin
SAMPLES=$HK_BUILD_DIR/samples/hikae-samples
SERVER=$HK_BUILD_DIR/server/hikae-server
T=$(mktemp -d "${TMPDIR:-/tmp}/hikae-test.XXXXXX")
hk_cleanup() {
  local rc=$?
  # Stop anything a test left running, then remove its folder.
  jobs -p | xargs -r kill -9 2>/dev/null || true
  chmod -R u+rwX "$T" 2>/dev/null || true
  rm -rf "$T"
  exit $rc
}
trap hk_cleanup EXIT

HK_CHECKS=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { HK_CHECKS=$((HK_CHECKS + 1)); echo "ok $HK_CHECKS - $*"; }
assert_eq() { # expected actual message
  [ "$1" == "$2" ] || fail "$3: expected [$1], got [$2]"
  ok "$3"
}
# No skip helper: a skip is never a pass. A missing program, tool or file
# fails the test and names it (scripts/test counts any exit 77, and CI=true
# fails on it unless tests/allowed-skips lists it with a reason).
need() { # need PATH...: each must exist, or the test fails naming it
  local p
  for p in "$@"; do [ -e "$p" ] || fail "missing: $p"; done
}
# The test corpus (tests/corpus, part of the repository).
C=${HK_CORPUS_DIR:?run through meson test}
need "$C/SOURCES.md"

# mkdoc DIR NAME SOURCE_ID TYPE CONTENT_FILE [CONTENT_TYPE] [PATIENT_ID]
# Copy CONTENT_FILE to DIR/NAME and write its sidecar last.
mkdoc() {
  local dir=$1 name=$2 sid=$3 type=$4 src=$5 ct=${6:-} pid=${7:-0000000001}
  mkdir -p "$dir"
  cp "$src" "$dir/$name"
  local ctf=""
  [ -n "$ct" ] && ctf=", \"content_type\": \"$ct\""
  cat > "$dir/$name.meta.json.tmp" <<JSON
{"patient_id": "$pid", "source_id": "$sid", "type": "$type", "title": "テスト $name",
 "created_at": "2026-11-20T14:03:00+09:00", "author": "山田 太郎", "department": "外科"$ctf,
 "patient": {"name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "1950-05-04", "sex": "F"}}
JSON
  mv "$dir/$name.meta.json.tmp" "$dir/$name.meta.json"
}

# A snapshot of a tree: path, size, mtime and SHA-256 of every file.
tree_sum() {
  (cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

stat_field() { "$ADMIN" stats --store "$1" | jq -r ".$2"; }

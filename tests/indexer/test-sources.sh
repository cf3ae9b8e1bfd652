#!/usr/bin/env bash
# Sources cannot overwrite each other (issue 10, item 3): each drop folder
# and SS-MIX2 root has a name, document IDs are namespaced by it, and a file
# in one source never supersedes a document of another. A format-1 store
# (IDs from the source_id alone) is refused by name until
# `hikae-admin migrate`, which keeps every ID; verify passes after. So is
# a format-2 store (no rows); migrate builds them, and verify names a
# damaged row.
. "$HK_SOURCE_DIR/tests/lib.sh"
GEN=$HK_BUILD_DIR/tests/common/hk-store-v1-gen
printf 'ward A note\n' > "$T/a.txt"
printf 'ward B note\n' > "$T/b.txt"
mkdoc "$T/wa" note.txt EHR:PN:1 progress_note "$T/a.txt"
mkdoc "$T/wb" note.txt EHR:PN:1 progress_note "$T/b.txt"
"$INDEXER" --store "$T/st" --drop "wa=$T/wa" --drop "wb=$T/wb" --once 2> "$T/log" || fail "indexer: $(tail -3 "$T/log")"
assert_eq 2 "$(stat_field "$T/st" documents)" "the same source_id in two sources is two documents"
assert_eq 2 "$(stat_field "$T/st" versions)" "neither superseded the other"
"$ADMIN" ls --store "$T/st" > "$T/ls"
assert_eq "wa wb" "$(jq -r .source_name "$T/ls" | sort | xargs)" "each document names its source"
ida=$(jq -r 'select(.source_name == "wa") | .id' "$T/ls")
idb=$(jq -r 'select(.source_name == "wb") | .id' "$T/ls")
"$ADMIN" export --store "$T/st" --doc "$ida" --out "$T/out"
cmp "$T/out" "$T/a.txt" || fail "wa's bytes"; ok "wa's document holds wa's bytes"

# New bytes in wb are a new version of wb's document only.
printf 'ward B note, corrected\n' > "$T/b.txt"
mkdoc "$T/wb" note.txt EHR:PN:1 progress_note "$T/b.txt"
"$INDEXER" --store "$T/st" --drop "wa=$T/wa" --drop "wb=$T/wb" --once 2> /dev/null || fail indexer
"$ADMIN" ls --store "$T/st" > "$T/ls"
assert_eq "1" "$(jq -r --arg i "$ida" 'select(.id == $i) | .version' "$T/ls" | xargs)" "wa's document is untouched"
assert_eq "1 2" "$(jq -r --arg i "$idb" 'select(.id == $i) | .version' "$T/ls" | xargs)" "wb's has its version 2"
"$ADMIN" export --store "$T/st" --doc "$ida" --out "$T/out"
cmp "$T/out" "$T/a.txt" || fail "wa's bytes after"; ok "wa's current bytes are still wa's"

# The same folder under another name is another source: a bare --drop is
# "drop", so the wa folder given bare creates new documents, not versions.
"$INDEXER" --store "$T/st" --drop "$T/wa" --once 2> /dev/null || fail "bare --drop"
assert_eq 3 "$(stat_field "$T/st" documents)" "a bare --drop is the source \"drop\""
assert_eq drop "$("$ADMIN" ls --store "$T/st" | jq -r 'select(.version == 1 and .source_name != "wa" and .source_name != "wb") | .source_name')" \
  "named drop"

# The names come from the configuration file too.
printf 'ward A note v2\n' > "$T/a.txt"
mkdoc "$T/wa" note.txt EHR:PN:1 progress_note "$T/a.txt"
cat > "$T/indexer.conf" <<CONF
[hikae-indexer]
store=$T/st
drop=wa=$T/wa;wb=$T/wb
once=true
CONF
"$INDEXER" --config "$T/indexer.conf" 2> "$T/log" || fail "config: $(tail -3 "$T/log")"
assert_eq 2 "$("$ADMIN" ls --store "$T/st" | jq -r --arg i "$ida" 'select(.id == $i and .current) | .version')" \
  "drop=wa=DIR;wb=DIR in the configuration file names the sources"

# Usage errors name the problem.
rc=0; "$INDEXER" --store "$T/st" --drop "x=$T/wa" --drop "x=$T/wb" --once 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "two sources of one name: usage error"
grep -q 'two sources are named "x"' "$T/err" || fail "message: $(cat "$T/err")"; ok "it names the name"
rc=0; "$INDEXER" --store "$T/st" --drop "$T/wa" --ssmix2 "drop=$T/wb" --once 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "a drop folder and an SS-MIX2 root of one name: usage error"
rc=0; "$INDEXER" --store "$T/st" --drop "a=$T/wa" --drop "b=$T/wa" --once 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "one folder under two names: usage error"
grep -q "given twice" "$T/err" || fail "message: $(cat "$T/err")"; ok "it says so"
rc=0; "$INDEXER" --store "$T/st" --drop ".x=$T/wa" --once 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "a bad source name: usage error"
"$ADMIN" verify --store "$T/st" > /dev/null || fail verify; ok "verify passes"

# ---- a format-1 store ----
"$GEN" "$T/v1" || fail "format-1 fixture"
rc=0; "$INDEXER" --store "$T/v1" --drop "$T/wa" --once 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "the indexer refuses a format-1 store"
grep -q "store format 1; run .hikae-admin migrate" "$T/err" || fail "message: $(cat "$T/err")"
ok "naming the version and the way out"
rc=0; "$ADMIN" verify --store "$T/v1" > /dev/null 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "so does every reader"
"$ADMIN" migrate --store "$T/v1" > "$T/out" || fail "migrate: $(cat "$T/out")"
grep -qw "3 documents registered" "$T/out" || fail "migrate said: $(cat "$T/out")"; ok "migrate registers every document"
"$ADMIN" verify --store "$T/v1" > "$T/verify" || fail "verify after migrate: $(cat "$T/verify")"
grep -q "verified 4 versions: 0 mismatches" "$T/verify" || fail "verify: $(cat "$T/verify")"
ok "verify passes after the migration"
legacy=$(printf '%s' EHR:PN:1 | sha256sum | cut -c1-16)
"$ADMIN" ls --store "$T/v1" > "$T/ls"
assert_eq "$legacy" "$(jq -r 'select(.source_id == "EHR:PN:1" and .current) | .id' "$T/ls")" "a legacy document keeps its ID"
assert_eq "drop drop ssmix2" "$(jq -r 'select(.current) | .source_name' "$T/ls" | sort | xargs)" "drop and SS-MIX2 documents get their default names"
"$ADMIN" migrate --store "$T/v1" | grep -q "nothing to migrate" || fail "second migrate"; ok "migrating twice is a no-op"
# The legacy document is superseded by its own source, under its own ID.
printf 'legacy note 1, v3\n' > "$T/l.txt"
mkdoc "$T/legacy" note.txt EHR:PN:1 progress_note "$T/l.txt"
"$INDEXER" --store "$T/v1" --drop "$T/legacy" --once 2> /dev/null || fail "indexer after migrate"
assert_eq "$legacy 3" "$("$ADMIN" ls --store "$T/v1" | jq -r 'select(.source_id == "EHR:PN:1" and .current) | "\(.id) \(.version)"')" \
  "a new version of a legacy document continues it"
"$ADMIN" verify --store "$T/v1" > /dev/null || fail verify; ok "verify passes"

# ---- a format-2 store (before rows) ----
# Made from a current store as format 2 left it: no `rows` table, format 2.
# rows.py drop DIR: that; rows.py junk DIR ID: damage the row of ID.
cat > "$T/rows.py" <<'PY'
import sys, ctypes, ctypes.util
lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
class Val(ctypes.Structure): _fields_ = [("size", ctypes.c_size_t), ("data", ctypes.c_void_p)]
def val(b):
    buf = ctypes.create_string_buffer(b, len(b)); val.keep.append(buf)
    return ctypes.byref(Val(len(b), ctypes.addressof(buf)))
val.keep = []
env = ctypes.c_void_p(); lib.mdb_env_create(ctypes.byref(env)); lib.mdb_env_set_maxdbs(env, 32)
assert lib.mdb_env_open(env, sys.argv[2].encode(), 0, 0o640) == 0
txn = ctypes.c_void_p(); lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn))
rows, meta = ctypes.c_uint(), ctypes.c_uint()
assert lib.mdb_dbi_open(txn, b"rows", 0, ctypes.byref(rows)) == 0
assert lib.mdb_dbi_open(txn, b"meta", 0, ctypes.byref(meta)) == 0
if sys.argv[1] == "drop":
    assert lib.mdb_drop(txn, rows, 1) == 0
    assert lib.mdb_put(txn, meta, val(b"format"), val(b"2"), 0) == 0
else:
    assert lib.mdb_put(txn, rows, val(bytes.fromhex(sys.argv[3])), val(b"\x01junk"), 0) == 0
assert lib.mdb_txn_commit(txn) == 0
PY
cp -r "$T/st" "$T/v2"
"$ADMIN" ls --store "$T/v2" | jq -c 'select(.current)' | sort > "$T/ls-before"
python3 "$T/rows.py" drop "$T/v2" || fail "could not make a format-2 store (python3, ctypes, liblmdb)"
rc=0; "$INDEXER" --store "$T/v2" --drop "$T/wa" --once 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "the indexer refuses a format-2 store"
grep -q "store format 2; run .hikae-admin migrate" "$T/err" || fail "message: $(cat "$T/err")"
rc=0; "$SERVER" --store "$T/v2" --state "$T/v2-state" --listen 127.0.0.1:0 \
  --tls-cert "$T/none.pem" --tls-key "$T/none.key" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "so does the server"
grep -q "store format 2; run .hikae-admin migrate" "$T/err" || fail "message: $(cat "$T/err")"
ok "naming the version and the way out"
"$ADMIN" migrate --store "$T/v2" > "$T/out" || fail "migrate: $(cat "$T/out")"
grep -q "format 2 to 3" "$T/out" || fail "migrate said: $(cat "$T/out")"
"$ADMIN" verify --store "$T/v2" > "$T/verify" || fail "verify after migrate: $(cat "$T/verify")"
grep -q " 0 mismatches" "$T/verify" || fail "verify: $(cat "$T/verify")"
"$ADMIN" ls --store "$T/v2" | jq -c 'select(.current)' | sort > "$T/ls-after"
cmp -s "$T/ls-before" "$T/ls-after" || fail "documents changed by the migration"
ok "migrate builds the rows; verify passes; no document changed"
id=$(jq -r '.id' "$T/ls-after" | head -1)
python3 "$T/rows.py" junk "$T/v2" "$id" || fail "could not damage a row"
rc=0; "$ADMIN" verify --store "$T/v2" > "$T/verify" || rc=$?
assert_eq 1 "$rc" "verify fails on a damaged row"
grep -q "^ROW $id: does not decode" "$T/verify" || fail "verify: $(cat "$T/verify")"
ok "and names its document"
echo "$HK_CHECKS checks passed"

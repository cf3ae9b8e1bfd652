#!/usr/bin/env bash
# The command-line contract of interfaces.md: --help and --version exit 0,
# usage errors exit 2 with one line naming the problem, runtime failures
# exit 1, and a --config key file supplies options the command line overrides.
. "$HK_SOURCE_DIR/tests/lib.sh"
for p in "$INDEXER" "$ADMIN"; do
  "$p" --help > /dev/null || fail "$p --help"
  "$p" --version | grep -q "0\." || fail "$p --version"
done
ok "--help and --version"
rc=0; "$INDEXER" --drop "$T" --once 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "indexer without --store is a usage error"
assert_eq 1 "$(wc -l < "$T/err")" "one line of usage error"
grep -q -- "--store" "$T/err" || fail "message names --store"; ok "the message names the problem"
rc=0; "$INDEXER" --store "$T/st" --drop "$T" --once --poll-interval 0 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "out-of-range option is a usage error"
rc=0; "$INDEXER" --store "$T/st" --drop "$T/nonexistent" --once 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "a missing drop folder is a runtime failure"
rc=0; "$ADMIN" frobnicate 2> "$T/err" || rc=$?
assert_eq 2 "$rc" "unknown admin command"
rc=0; "$ADMIN" stats 2> /dev/null || rc=$?
assert_eq 2 "$rc" "stats without --store"
rc=0; "$ADMIN" stats --store "$T/none" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "stats of a missing store"
grep -q "no store" "$T/err" || fail "names the missing store"; ok "missing store named"
# Configuration file: the store comes from it; the command line wins.
mkdir -p "$T/drop"
printf '[hikae-indexer]\nstore=%s\ndrop=%s;\nonce=true\n' "$T/from-config" "$T/drop" > "$T/indexer.conf"
"$INDEXER" --config "$T/indexer.conf" 2> /dev/null
[ -f "$T/from-config/data.mdb" ] || fail "config file store"; ok "options come from --config"
"$INDEXER" --config "$T/indexer.conf" --store "$T/from-cli" 2> /dev/null
[ -f "$T/from-cli/data.mdb" ] || fail "command line wins"; ok "the command line wins over --config"
rc=0; "$INDEXER" --config "$T/missing.conf" 2> /dev/null || rc=$?
assert_eq 1 "$rc" "an unreadable config file is a runtime failure"
# A store of another format version is refused with a clear message.
python3 - "$T/from-cli" <<'PY' || fail "could not write format 99 into $T/from-cli (python3, ctypes, liblmdb)"
import sys, ctypes, ctypes.util
lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
env = ctypes.c_void_p(); lib.mdb_env_create(ctypes.byref(env)); lib.mdb_env_set_maxdbs(env, 32)
assert lib.mdb_env_open(env, sys.argv[1].encode(), 0, 0o640) == 0
txn = ctypes.c_void_p(); lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn))
dbi = ctypes.c_uint(); assert lib.mdb_dbi_open(txn, b"meta", 0, ctypes.byref(dbi)) == 0
class Val(ctypes.Structure): _fields_ = [("size", ctypes.c_size_t), ("data", ctypes.c_void_p)]
k = ctypes.create_string_buffer(b"format", 6); v = ctypes.create_string_buffer(b"99", 2)
assert lib.mdb_put(txn, dbi, ctypes.byref(Val(6, ctypes.addressof(k))), ctypes.byref(Val(2, ctypes.addressof(v))), 0) == 0
assert lib.mdb_txn_commit(txn) == 0
PY
rc=0; "$ADMIN" stats --store "$T/from-cli" 2> "$T/err" || rc=$?
assert_eq 1 "$rc" "a store of another format is refused"
grep -q "format version 99" "$T/err" || fail "message: $(cat "$T/err")"; ok "the message names the format version"
echo "$HK_CHECKS checks passed"

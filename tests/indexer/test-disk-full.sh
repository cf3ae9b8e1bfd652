#!/usr/bin/env bash
# The store's file system fills up during an ingest (issue 12, part 3): the
# indexer stops with an error that says the disk is full (LMDB alone says
# "input/output error"), the store keeps its last commit and verifies, and
# once space returns the ingest ends equal to an uninterrupted run. Root: it
# mounts a small tmpfs in a mount namespace of its own.
if [ -z "${HK_DISKFULL_NS:-}" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "FAIL: this test runs as root (it mounts a tmpfs)" >&2; exit 1; }
  exec unshare -m env HK_DISKFULL_NS=1 "$0" "$@"
fi
. "$HK_SOURCE_DIR/tests/lib.sh"
trap 'rc=$?; umount -l "$T/fs" 2> /dev/null; (exit $rc); hk_cleanup' EXIT
# 24 text documents of 200 KB: about 4.8 MB of store, and as much again of
# text extracted from them (after each commit), no parser children.
python3 -c 'import random,string; r=random.Random(3); open("'"$T"'/body","w").write("".join(r.choice(string.ascii_letters + "\n") for _ in range(200000)))'
for i in $(seq -w 1 24); do
  sed "1s/^/doc $i /" "$T/body" > "$T/b$i"
  mkdoc "$T/drop" "d$i.txt" "EHR:D:$i" progress_note "$T/b$i" text/plain
done
"$INDEXER" --store "$T/ref" --drop "$T/drop" --once 2> /dev/null || fail "reference ingest"
mkdir "$T/fs"
mount -t tmpfs -o size=16m hikae-test "$T/fs" || fail "mount tmpfs"
# Leave 1 MiB free.
head -c $(($(df -B1 --output=avail "$T/fs" | tail -1) - 1048576)) /dev/zero > "$T/fs/filler"
rc=0
"$INDEXER" --store "$T/fs/st" --drop "$T/drop" --once --batch 2 2> "$T/log" || rc=$?
[ $rc -ne 0 ] || fail "the indexer exited 0 on a full file system"
ok "the indexer stops on a full file system (exit $rc)"
grep -q "write failed: no space left on the store's file system" "$T/log" ||
  fail "no disk-full error in the log: $(tail -3 "$T/log")"
ok "its error says the file system is full"
! grep -q "map grown" "$T/log" || fail "a full disk was taken for a full map: $(grep 'map grown' "$T/log" | head -1)"
ok "the map is not grown for a full disk"
n=$(stat_field "$T/fs/st" versions)
[ "$n" -lt 24 ] || fail "all 24 versions fit: the disk was not full"
"$ADMIN" verify --store "$T/fs/st" > /dev/null || fail "verify of the store on the full disk"
ok "the store opens and verifies on the full disk ($n of 24 versions)"
rm -f "$T/fs/filler"
"$INDEXER" --store "$T/fs/st" --drop "$T/drop" --once --batch 2 2> "$T/log2" || fail "resume: $(tail -3 "$T/log2")"
view() { "$ADMIN" ls --store "$1" | jq -c 'del(.ingested_at)' | sort; }
diff <(view "$T/ref") <(view "$T/fs/st") > /dev/null || fail "after space returned the store differs from the reference"
"$ADMIN" verify --store "$T/fs/st" > /dev/null || fail "verify after the resume"
ok "with space back the ingest resumes and equals an uninterrupted run"
# Not a byte left and new documents: LMDB's first write past the end of
# data.mdb fails with ENOSPC itself (above, a short write gave EIO). A full
# disk must not be taken for a full map (that doubled the 1 TiB map until
# "out of memory").
for i in 25 26 27; do
  sed "1s/^/doc $i /" "$T/body" > "$T/b$i"
  mkdoc "$T/drop" "d$i.txt" "EHR:D:$i" progress_note "$T/b$i" text/plain
done
cat /dev/zero > "$T/fs/filler" 2> /dev/null || true
rc=0
"$INDEXER" --store "$T/fs/st" --drop "$T/drop" --once --batch 1 2> "$T/log" || rc=$?
[ $rc -ne 0 ] || fail "the indexer exited 0 with no byte free"
grep -q "write failed: no space left on the store's file system" "$T/log" ||
  fail "no disk-full error with no byte free: $(tail -3 "$T/log")"
! grep -qE "map grown|out of memory" "$T/log" || fail "ENOSPC was taken for a full map: $(grep -E 'map grown|out of memory' "$T/log" | head -2)"
ok "with no byte free: the disk-full error, no map growth"
rm -f "$T/fs/filler"
"$INDEXER" --store "$T/fs/st" --drop "$T/drop" --once 2> "$T/log2" || fail "second resume: $(tail -3 "$T/log2")"
assert_eq 27 "$(stat_field "$T/fs/st" versions)" "with space back the new documents are ingested"
"$ADMIN" verify --store "$T/fs/st" > /dev/null || fail "verify after the second resume"
ok "verify passes"
echo "$HK_CHECKS checks passed"

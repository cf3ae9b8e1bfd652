#!/usr/bin/env bash
# Torture: faults, each run for real (docs/reliability.md, "Faults").
#   disk-full   the store on a small tmpfs fills up during an ingest
#   reader      a reader process holding a read transaction is killed
#               (kill -9) or stopped (SIGSTOP)
#   corrupt     one byte of a stored document's bytes flipped in data.mdb
#   state-full  the server's --state folder on a full tmpfs
# Usage: tests/torture/faults.sh [BUILD_DIR (build)] [FAULT...] (all by
# default). Needs root (mount). Not part of scripts/test.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$SRC/build}" && pwd)
shift || true
FAULTS=("$@")
[ ${#FAULTS[@]} -gt 0 ] || FAULTS=(disk-full reader corrupt state-full)
INDEXER=$B/indexer/hikae-indexer
ADMIN=$B/admin/hikae-admin
SAMPLES=$B/samples/hikae-samples
for p in "$INDEXER" "$ADMIN" "$SAMPLES"; do [ -x "$p" ] || { echo "missing: $p" >&2; exit 1; }; done
for c in jq python3 cc mdb_stat mount; do command -v $c > /dev/null || { echo "missing: $c" >&2; exit 1; }; done
[ "$(id -u)" = 0 ] || { echo "faults.sh needs root (tmpfs mounts)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/hikae-faults.XXXXXX")
MOUNTS=()
cleanup() {
  local rc=$? m
  jobs -p | xargs -r kill -9 2> /dev/null || true
  for m in "${MOUNTS[@]}"; do umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || true; done
  if [ "${HK_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
  exit $rc
}
trap cleanup EXIT
RESULTS=()
pass() { RESULTS+=("PASS $1"); echo "PASS: $1"; }
failed() { RESULTS+=("FAIL $1"); echo "FAIL: $1"; }
note() { echo "  $*"; }
view() { "$ADMIN" ls --store "$1" | jq -c 'del(.ingested_at)' | sort; }
qview() { "$ADMIN" quarantine --store "$1" | jq -c 'del(.at)' | sort; }
counts() { "$ADMIN" stats --store "$1" | jq -c '{documents,versions,patients,blobs,thumbnails,quarantined,withdrawn}'; }
same_as_ref() { # STORE: ls, quarantine and counts equal the reference's
  diff <(view "$T/ref") <(view "$1") > /dev/null && diff <(qview "$T/ref") <(qview "$1") > /dev/null &&
    [ "$(counts "$T/ref")" = "$(counts "$1")" ]
}
tmpfs() { # DIR SIZE
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2,mode=0700" hikae-torture "$1"
  MOUNTS+=("$1")
}
wait_for() { # SECONDS COMMAND...: poll until COMMAND succeeds
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}

# The corpus: 20 patients x 5 documents and their SS-MIX2 storage, and a
# reference store made without any fault.
"$SAMPLES" --out "$T/s" --patients 20 --docs-per-patient 5 --seed 5 --ssmix2 > /dev/null
ARGS=(--drop "$T/s/drop" --ssmix2 "$T/s/ssmix2")
"$INDEXER" --store "$T/ref" "${ARGS[@]}" --once 2> "$T/ref.log"
echo "reference store: $(counts "$T/ref"), data.mdb $(stat -c %s "$T/ref/data.mdb") bytes"

fault_disk_full() {
  echo "== disk full"
  local d=$T/full free log=$T/full.log
  tmpfs "$d" 24m
  # Leave 2 MiB free: the reference store needs about 6.5 MiB.
  free=$(($(df -B1 --output=avail "$d" | tail -1) - 2 * 1048576))
  head -c "$free" /dev/zero > "$d/filler"
  note "tmpfs 24 MiB, filler leaves $(df -h --output=avail "$d" | tail -1 | tr -d ' ') free"
  local rc=0
  "$INDEXER" --store "$d/st" "${ARGS[@]}" --once --batch 8 2> "$log" || rc=$?
  note "indexer --once exit status: $rc; its errors:"
  grep -E "error|warning" "$log" | sed 's/^[^ ]* /    /' | sort | uniq -c | sort -rn | head -6
  local ok=1
  [ $rc -ne 0 ] || { ok=0; note "the indexer exited 0 on a full disk"; }
  grep -qi "no space left" "$log" || { ok=0; note "no 'No space left' in the log"; }
  # The store opens and what it holds verifies.
  if "$ADMIN" verify --store "$d/st" > "$T/v.out" 2>&1; then
    note "store opens on the full disk: $(counts "$d/st"); verify: $(tail -1 "$T/v.out")"
  else
    ok=0
    note "verify on the full disk failed: $(tail -3 "$T/v.out")"
  fi
  # A watching indexer on the full disk, then space returns.
  "$INDEXER" --store "$d/st" "${ARGS[@]}" --poll-interval 1 --batch 8 2> "$T/watch.log" &
  local ix=$!
  wait_for 60 grep -qi "no space left" "$T/watch.log" || note "the watching indexer logged no ENOSPC"
  note "watching indexer while full: $(grep -iE 'error' "$T/watch.log" | tail -1 | cut -c1-200)"
  rm -f "$d/filler"
  note "filler deleted: $(df -h --output=avail "$d" | tail -1 | tr -d ' ') free"
  if wait_for 180 same_as_ref "$d/st"; then
    note "the watching indexer resumed without a restart: the store equals the reference"
  else
    ok=0
    note "no resume within 180 s: $(counts "$d/st") vs $(counts "$T/ref"); log: $(tail -2 "$T/watch.log")"
  fi
  kill -TERM $ix
  wait $ix || note "watching indexer exit status $?"
  "$ADMIN" verify --store "$d/st" > "$T/v.out" 2>&1 || { ok=0; note "verify after resume: $(tail -2 "$T/v.out")"; }
  note "after resume: $(counts "$d/st"); verify: $(tail -1 "$T/v.out")"
  if [ $ok = 1 ]; then pass "disk full: clear error, store opens, ingest resumes"; else failed "disk full"; fi
}

readers() { mdb_stat -r "$1" || true; } # mdb_stat -r exits 1 even when it works
slot_of() { readers "$1" | grep -cE "^ +$2 " || true; }
# Counted with mdb_stat, not hikae-admin: every hikae program that opens
# the store runs mdb_reader_check, which would clear the dead slot we watch.
versions_are() { [ "$(mdb_stat -s versions "$1" 2> /dev/null | sed -n 's/^ *Entries: //p')" = "$2" ]; }

fault_reader() {
  echo "== a killed, then a stopped, reader"
  local st=$T/rd reader=$T/hk-reader ok=1 rp ix
  cc -O2 -o "$reader" "$SRC/tests/indexer/hk-test-reader.c" -llmdb
  # LMDB resets the reader table when the first process opens the store,
  # so a dead reader's slot only matters while another process keeps the
  # store open: here a watching indexer (as in production).
  mkdir -p "$T/rdrop"
  "$INDEXER" --store "$st" --drop "$T/rdrop" --ssmix2 "$T/s/ssmix2" --poll-interval 1 --batch 4 --replace-threshold 1000 2> "$T/rw.log" &
  ix=$!
  wait_for 120 versions_are "$st" 101 || { failed "reader: the SS-MIX2 ingest did not end"; return; }
  local base
  base=$(stat -c %s "$st/data.mdb")
  # 1. kill -9 a reader holding a transaction, then ingest 100 documents.
  "$reader" "$st" > "$T/r1.out" &
  rp=$!
  wait_for 10 grep -q reading "$T/r1.out"
  kill -9 $rp
  wait $rp 2> /dev/null || true
  note "reader $rp killed holding $(cut -d' ' -f3- "$T/r1.out"); its slot in mdb_stat -r: $(slot_of "$st" $rp)"
  readers "$st" | sed 's/^/    /'
  cp -a "$T/s/drop/." "$T/rdrop/"
  wait_for 300 versions_are "$st" 201 || { ok=0; note "the writer did not finish the ingest within 300 s"; }
  local with_dead
  with_dead=$(stat -c %s "$st/data.mdb")
  note "with the dead slot, the watching indexer ingested the drop folder: $(mdb_stat -s versions "$st" | sed -n 's/^ *Entries: //p') versions"
  note "data.mdb: $base bytes before, $with_dead after (the reference store, made without any reader: $(stat -c %s "$T/ref/data.mdb"))"
  note "the dead reader's slot after the ingest: $(slot_of "$st" $rp) (1 = still there)"
  # Churn: rewrite ten text documents five times (50 new versions).
  local round f
  for round in 1 2 3 4 5; do
    for f in $(find "$T/rdrop" -name '*.txt' | sort | head -10); do echo "round $round" >> "$f"; done
    wait_for 120 versions_are "$st" $((201 + 10 * round)) || { ok=0; note "round $round not ingested"; }
  done
  note "after 50 new versions with the dead slot: data.mdb $(stat -c %s "$st/data.mdb") bytes; slot: $(slot_of "$st" $rp)"
  # Any store opener runs mdb_reader_check (hk_store_open): hikae-admin.
  "$ADMIN" stats --store "$st" > /dev/null
  note "after one hikae-admin stats: the dead slot: $(slot_of "$st" $rp)"
  [ "$(slot_of "$st" $rp)" = 0 ] || { ok=0; note "hikae-admin's open did not clear the dead slot"; }
  # 2. SIGSTOP a reader holding a transaction: a live reader, so its slot
  # must stay; the writer must keep going (LMDB writers never wait for readers).
  "$reader" "$st" > "$T/r3.out" &
  rp=$!
  wait_for 10 grep -q reading "$T/r3.out"
  kill -STOP $rp
  local before
  before=$(stat -c %s "$st/data.mdb")
  for round in 6 7 8 9 10; do
    for f in $(find "$T/rdrop" -name '*.txt' | sort | head -10); do echo "round $round" >> "$f"; done
    wait_for 120 versions_are "$st" $((201 + 10 * round)) || { ok=0; note "round $round not ingested with a stopped reader"; }
  done
  note "stopped reader $rp ($(cut -d' ' -f3- "$T/r3.out")): 50 more versions ingested: $(counts "$st" | jq -c '{versions}'); data.mdb $before -> $(stat -c %s "$st/data.mdb") bytes; its slot: $(slot_of "$st" $rp)"
  [ "$(slot_of "$st" $rp)" = 1 ] || { ok=0; note "the stopped (live) reader lost its slot"; }
  kill -9 $rp
  kill -CONT $rp 2> /dev/null || true
  wait $rp 2> /dev/null || true
  kill -TERM $ix
  wait $ix || note "watching indexer exit status $?"
  "$ADMIN" verify --store "$st" > "$T/v.out" 2>&1 || { ok=0; note "verify: $(tail -2 "$T/v.out")"; }
  note "verify: $(tail -1 "$T/v.out")"
  if [ $ok = 1 ]; then pass "reader: the writer kept going; dead slots reclaimed"; else failed "reader"; fi
}

fault_corrupt() {
  echo "== a corrupted blob"
  local st=$T/cb ok=1
  cp -a "$T/ref" "$st"
  # A PDF whose bytes no other version shares.
  local line id ver sha src
  line=$("$ADMIN" ls --store "$st" | jq -c 'select(.content_type == "application/pdf")' |
    jq -sc 'group_by(.sha256) | map(select(length == 1)) | .[0][0]')
  id=$(jq -r .id <<< "$line")
  ver=$(jq -r .version <<< "$line")
  sha=$(jq -r .sha256 <<< "$line")
  src=$(jq -r .source <<< "$line")
  # Find 64 bytes from the middle of the document in data.mdb (once) and
  # flip one bit there.
  python3 - "$src" "$st/data.mdb" << 'PY'
import sys
doc = open(sys.argv[1], "rb").read()
data = bytearray(open(sys.argv[2], "rb").read())
# PDFs of the generator share fonts: take the first 64 bytes of the
# document, from its middle on, that occur exactly once in data.mdb.
at = -1
for off in range(len(doc) // 2, len(doc) - 64, 997):
    probe = bytes(doc[off:off + 64])
    if data.count(probe) == 1:
        at = data.find(probe)
        break
if at < 0:
    sys.exit("no part of the document occurs exactly once in data.mdb")
with open(sys.argv[2], "r+b") as f:
    f.seek(at + 10)
    f.write(bytes([data[at + 10] ^ 0x01]))
print("  flipped bit 0 of byte %d of data.mdb" % (at + 10))
PY
  note "document $id version $ver (sha256 $sha)"
  local rc=0
  "$ADMIN" verify --store "$st" > "$T/cv.out" 2>&1 || rc=$?
  note "hikae-admin verify exit status $rc:"
  sed 's/^/    /' "$T/cv.out" | head -5
  [ $rc -ne 0 ] || { ok=0; note "verify passed a corrupted blob"; }
  grep -q "$id" "$T/cv.out" || { ok=0; note "verify does not name $id"; }
  grep -qE "(version|v)[ :=]*$ver\b" "$T/cv.out" || { ok=0; note "verify does not name version $ver"; }
  if [ $ok = 1 ]; then pass "corrupted blob: verify names $id version $ver"; else failed "corrupted blob"; fi
}

fault_state_full() {
  echo "== a full state folder"
  local d=$T/state-mnt
  tmpfs "$d" 4m
  if HK_BUILD_DIR=$B HK_SOURCE_DIR=$SRC python3 "$SRC/tests/torture/fault-state-full.py" "$d"; then
    pass "full state folder: the server fails closed"
  else
    failed "full state folder"
  fi
}

for f in "${FAULTS[@]}"; do
  case $f in
    disk-full) fault_disk_full ;;
    reader) fault_reader ;;
    corrupt) fault_corrupt ;;
    state-full) fault_state_full ;;
    *) echo "unknown fault: $f" >&2; exit 2 ;;
  esac
done
echo "== results"
printf '%s\n' "${RESULTS[@]}"
! printf '%s\n' "${RESULTS[@]}" | grep -q '^FAIL'

#!/usr/bin/env bash
# Ransomware drill (issue 12, part 3, item 3; not part of scripts/test).
#
#   tests/torture/ransomware.sh [ATTACK] [BUILD_DIR]
#
# ATTACK: inplace | rename | sidecar | all (default all); BUILD_DIR: a built
# tree (default build-test). Each attack runs on its own fresh archive:
# samples indexed, the real server on loopback over TLS with a reader
# checking every answer against the pre-attack hashes, the indexer running
# (--poll-interval 1) while tests/torture/ransomware-drill.py attacks both
# source trees file by file in random order. See docs/reliability.md,
# "Ransomware drill". Exit 0 only if every attack met every goal.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
attack=${1:-all}
build=$(cd "${2:-$src/build-test}" && pwd)
case $attack in
  all) attacks=(inplace rename sidecar) ;;
  inplace | rename | sidecar) attacks=("$attack") ;;
  *) echo "usage: $0 [inplace|rename|sidecar|all] [BUILD_DIR]" >&2; exit 2 ;;
esac
command -v openssl > /dev/null || { echo "missing: openssl" >&2; exit 2; }
rc=0
for a in "${attacks[@]}"; do
  echo "== attack: $a"
  r=0
  HK_BUILD_DIR=$build HK_SOURCE_DIR=$src nice python3 "$here/ransomware-drill.py" "$a" || r=$?
  echo "== attack $a: exit $r"
  [ "$r" -gt "$rc" ] && rc=$r
done
exit "$rc"

#!/usr/bin/env bash
# TLS graded from outside (issue 12, part 3, item 5; not part of scripts/test).
#
#   tests/torture/tls-grade.sh [BUILD_DIR]
#
# Starts BUILD_DIR's hikae-server (default build-test) on a free loopback
# port with a throwaway CA (deploy/pki/hk-mkcert, ECDSA P-256) and a
# one-document store, runs Debian's testssl.sh (package testssl.sh) and
# sslscan (package sslscan) against it, prints both reports and a summary,
# and exits 1 if the server falls below "no weak protocol, no weak cipher,
# forward secrecy only": a protocol other than TLS 1.2/1.3 offered, a cipher
# without forward secrecy or without AEAD offered, or a testssl.sh finding
# of severity MEDIUM, HIGH or CRITICAL about the TLS set-up (not about how
# the throwaway certificate was issued). See docs/reliability.md, "TLS graded
# from outside". Loopback only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$src/build-test}" && pwd)
for p in testssl sslscan jq openssl python3; do
  command -v "$p" > /dev/null || { echo "missing: $p (apt-get install testssl.sh sslscan jq)" >&2; exit 2; }
done
for p in "$build/server/hikae-server" "$build/indexer/hikae-indexer" "$build/admin/hikae-admin"; do
  [ -x "$p" ] || { echo "missing: $p (build it first)" >&2; exit 2; }
done
T=$(mktemp -d /tmp/hk-tls-grade.XXXXXX)
srv=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  if [ -n "$srv" ]; then kill "$srv" 2> /dev/null || true; wait "$srv" 2> /dev/null || true; fi
  rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/drop"
echo "tls grade" > "$T/drop/a.txt"
cat > "$T/drop/a.txt.meta.json" <<'JSON'
{"patient_id": "0000000001", "source_id": "TLS:1", "type": "other", "title": "tls",
 "created_at": "2026-11-20T14:03:00+09:00", "content_type": "text/plain",
 "patient": {"name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "1950-05-04", "sex": "F"}}
JSON
"$build/indexer/hikae-indexer" --store "$T/store" --drop "$T/drop" --once 2> /dev/null
"$src/deploy/pki/hk-mkcert" "$T/pki" > /dev/null
echo "tls grade long password" | "$build/admin/hikae-admin" user add alice --state "$T/state" > /dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$build/server/hikae-server" --store "$T/store" --state "$T/state" --listen "127.0.0.1:$port" \
  --tls-cert "$T/pki/server.pem" --tls-key "$T/pki/server.key" > "$T/server.log" 2>&1 &
srv=$!
for _ in $(seq 600); do
  curl -fsS --cacert "$T/pki/ca.pem" "https://127.0.0.1:$port/api/v1/health" > /dev/null 2>&1 && break
  kill -0 "$srv" 2> /dev/null || { cat "$T/server.log" >&2; exit 2; }
  sleep 0.1
done

echo "== openssl: $(openssl version)"
echo "== testssl.sh $(dpkg-query -W -f '${Version}' testssl.sh) against 127.0.0.1:$port"
rc=0
# Every check but the client simulations (-c): testssl.sh 3.0.8 waited
# without end at its "Java 8u161" simulation here (see docs/reliability.md).
timeout 1800 testssl --quiet --color 0 --warnings off --openssl-timeout 10 --add-ca "$T/pki/ca.pem" \
  -p -e -s -f -P -S -h -U --jsonfile "$T/testssl.json" "127.0.0.1:$port" | tee "$T/testssl.txt" || true
jq empty "$T/testssl.json" 2> /dev/null || { echo "testssl.sh did not finish (no complete JSON report)" >&2; exit 2; }
echo "== sslscan $(dpkg-query -W -f '${Version}' sslscan)"
timeout 300 sslscan --no-colour "127.0.0.1:$port" | tee "$T/sslscan.txt" || true

echo "== summary"
offered=$(jq -r '.[] | select((.id | test("^(SSLv2|SSLv3|TLS1|TLS1_1|TLS1_2|TLS1_3)$")) and (.finding | test("^offered"))) | .id' "$T/testssl.json" | xargs)
echo "protocols offered: $offered"
for p in $offered; do
  case $p in TLS1_2 | TLS1_3) ;; *) echo "FINDING: weak protocol offered: $p"; rc=1 ;; esac
done
# sslscan's accepted ciphers: every one must be ECDHE (or TLS 1.3) and AEAD.
grep -E '^(Preferred|Accepted) ' "$T/sslscan.txt" | awk '{print $2, $5}' | sort -u > "$T/ciphers"
echo "ciphers accepted (protocol, name):"; sed 's/^/  /' "$T/ciphers"
while read -r proto name; do
  case $proto/$name in
    TLSv1.3/TLS_*) ;;
    TLSv1.2/ECDHE-*-GCM-* | TLSv1.2/ECDHE-*-CHACHA20-POLY1305) ;;
    *) echo "FINDING: weak or non-forward-secret cipher accepted: $proto $name"; rc=1 ;;
  esac
done < "$T/ciphers"
[ -s "$T/ciphers" ] || { echo "sslscan found no cipher" >&2; rc=2; }
jq -r '.[] | select(.severity == "LOW" or .severity == "MEDIUM" or .severity == "HIGH" or .severity == "CRITICAL") | "\(.severity) \(.id): \(.finding)"' "$T/testssl.json" > "$T/findings"
echo "testssl.sh findings of severity LOW or above:"; sed 's/^/  /' "$T/findings"
# Findings about how the certificate was issued (revocation pointers, CAA,
# validity) belong to the PKI (deploy/pki, or the site's own CA), not to the
# server's TLS set-up: shown above, they do not fail this grade.
if grep -E '^(MEDIUM|HIGH|CRITICAL) ' "$T/findings" | grep -vqE '^[A-Z]+ (cert_|DNS_CAArecord)'; then
  echo "FINDING: testssl.sh reports MEDIUM or worse about the server's TLS"; rc=1
fi
echo "tls-grade: exit $rc"
exit "$rc"

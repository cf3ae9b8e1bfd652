#!/bin/sh
# Drive hikae-viewer against a real hikae-server on loopback:
#   1. make a throwaway CA and server certificate (127.0.0.1),
#   2. generate samples (drop folder + SS-MIX2), index them once,
#   3. add a viewer user, start the server,
#   4. run the in-process GTK test under Xvfb in English and in Japanese
#      (it saves screenshots), then --export-pack, checked with poppler.
# Exits 77 (skip) while a program it needs is not built yet.
set -u
B=${HK_BUILD_DIR:?}
for p in server/hikae-server indexer/hikae-indexer admin/hikae-admin samples/hikae-samples; do
  if [ ! -x "$B/$p" ]; then
    echo "skip: $p is not built"
    exit 77
  fi
done
command -v xvfb-run >/dev/null || { echo "skip: xvfb-run missing"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hk-viewer-gui.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; [ -f "$tmp/server.log" ] && tail -20 "$tmp/server.log"; exit 1; }

cd "$tmp" || exit 1
# 1. PKI: the viewer must trust this CA and nothing else.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -out ca.pem -days 2 -subj /CN=hikae-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  2>/dev/null || fail "CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
  -out server.csr -subj /CN=127.0.0.1 2>/dev/null || fail "CSR"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile ext.cnf 2>/dev/null || fail "server certificate"
# A second CA that the viewer does not trust, for the certificate test.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
  -out other-ca.pem -days 2 -subj /CN=not-the-archive 2>/dev/null || fail "other CA"

# 2. Data.
"$B/samples/hikae-samples" --out samples --patients 6 --docs-per-patient 8 --seed 5 --ssmix2 \
  >samples.log 2>&1 || fail "hikae-samples"
# SS-MIX2 gives allergies, problems and the census; index it when present.
ssmix2=
[ -d samples/ssmix2 ] && ssmix2="--ssmix2 samples/ssmix2"
"$B/indexer/hikae-indexer" --store store --drop samples/drop $ssmix2 --once \
  >indexer.log 2>&1 || fail "hikae-indexer --once: $(tail -3 indexer.log)"

# A patient with both a PDF and a JPEG: the test opens one of each.
find samples/drop -name '*.meta.json' -exec jq -r '[.patient_id, .content_type, .patient.kana] | @tsv' {} + \
  | sort > docs.tsv
pick=$(awk -F'\t' '{has[$1" "$2]=1; kana[$1]=$3} END {for (p in kana) if (has[p" application/pdf"] && has[p" image/jpeg"]) {print p"\t"kana[p]; exit}}' docs.tsv)
[ -n "$pick" ] || fail "no sample patient with both a PDF and a JPEG"
export HK_TEST_PATIENT=$(printf '%s' "$pick" | cut -f1)
export HK_TEST_KANA=$(printf '%s' "$pick" | cut -f2)

# 3. User and server.
mkdir -p state
printf 'correct horse battery staple\n' > password
"$B/admin/hikae-admin" user add viewer1 --state state --role viewer < password >admin.log 2>&1
rc=$?
if [ $rc -eq 2 ]; then
  echo "skip: hikae-admin user add is not available yet: $(head -1 admin.log)"
  exit 77
fi
[ $rc -eq 0 ] || fail "hikae-admin user add: $(head -3 admin.log)"
port=$(( 20000 + $$ % 20000 ))
"$B/server/hikae-server" --store store --state state --listen "127.0.0.1:$port" \
  --tls-cert server.pem --tls-key server.key >server.log 2>&1 &
server_pid=$!
i=0
until curl -sf --cacert ca.pem "https://127.0.0.1:$port/api/v1/health" >/dev/null; do
  i=$((i + 1))
  [ $i -gt 100 ] && fail "server did not answer /api/v1/health"
  kill -0 "$server_pid" 2>/dev/null || fail "server exited"
  sleep 0.1
done

export HK_TEST_SERVER="https://127.0.0.1:$port"
export HK_TEST_CA="$tmp/ca.pem"
export HK_TEST_OTHER_CA="$tmp/other-ca.pem"
export HK_TEST_USER=viewer1
export HK_TEST_PASSWORD_FILE="$tmp/password"
export HK_TEST_OUT="$tmp"
export TZ=Asia/Tokyo
export GSK_RENDERER=cairo
export GDK_BACKEND=x11
export NO_AT_BRIDGE=1

# 4. The widgets, in English and in Japanese.
for lang in en ja; do
  LANG=C.UTF-8 LC_ALL=C.UTF-8 LANGUAGE=$lang HK_TEST_LANG=$lang \
    xvfb-run -a -s '-screen 0 1280x800x24' "$HK_VIEWER_GUI_TEST" || fail "GUI test ($lang)"
done

# 5. --export-pack, checked with poppler.
docs=$(curl -sf --cacert ca.pem -H "Authorization: Bearer $(curl -sf --cacert ca.pem \
  -d "{\"user\":\"viewer1\",\"password\":\"correct horse battery staple\"}" \
  "$HK_TEST_SERVER/api/v1/session" | jq -r .token)" \
  "$HK_TEST_SERVER/api/v1/patients/$HK_TEST_PATIENT/documents?limit=3" | jq -r '[.documents[].id] | join(",")')
[ -n "$docs" ] || fail "no documents to export"
"$HK_VIEWER" --export-pack --server "$HK_TEST_SERVER" --ca ca.pem --user viewer1 \
  --password-file password --patient "$HK_TEST_PATIENT" --docs "$docs" --out pack.pdf \
  || fail "--export-pack"
pages=$("$HK_PDF_CHECK" pack.pdf "$HK_TEST_PATIENT" 4) || fail "exported pack: $pages"
echo "export-pack: $pages pages, every page stamped"
# A wrong password file must fail with 1 and leave no PDF.
printf 'wrong password for sure\n' > wrong
"$HK_VIEWER" --export-pack --server "$HK_TEST_SERVER" --ca ca.pem --user viewer1 \
  --password-file wrong --patient "$HK_TEST_PATIENT" --docs "$docs" --out bad.pdf 2>/dev/null
[ $? -eq 1 ] || fail "--export-pack with a wrong password did not exit 1"
[ ! -e bad.pdf ] || fail "--export-pack left a PDF after failing"

if [ -n "${HK_SCREENSHOT_DIR:-}" ] && [ -d "$HK_SCREENSHOT_DIR" ]; then
  cp pack.pdf "$HK_SCREENSHOT_DIR/sample-transfer-pack.pdf" 2>/dev/null || true
fi
echo "PASS"

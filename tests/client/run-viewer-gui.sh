#!/bin/sh
# Drive hikae-viewer against a real hikae-server on loopback:
#   1. make a throwaway CA and server certificate (127.0.0.1),
#   2. generate samples (drop folder + SS-MIX2), index them once,
#   3. add the users (a viewer; per language, one with TOTP and one to lock
#      out, since both lockouts and used TOTP steps outlive a run), start the
#      server, and a second server with its own state whose sessions end
#      after a few seconds (--session-max), for the expiry check,
#   4. run the in-process GTK test under Xvfb in English and in Japanese
#      (it saves screenshots), then --export-pack, checked with poppler.
# A program or tool it needs that is missing fails the test, naming it: a
# skip is never a pass.
set -u
B=${HK_BUILD_DIR:?}
for p in server/hikae-server indexer/hikae-indexer admin/hikae-admin samples/hikae-samples; do
  if [ ! -x "$B/$p" ]; then
    echo "FAIL: $B/$p is not built"
    exit 1
  fi
done
for tool in xvfb-run jq curl openssl pdftotext; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (scripts/deps installs it)"; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hk-viewer-gui.XXXXXX")
server_pid=
short_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$short_pid" ] && kill "$short_pid" 2>/dev/null && wait "$short_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() {
  echo "FAIL: $*"
  for log in "$tmp/server.log" "$tmp/server-short.log"; do
    [ -f "$log" ] && { echo "--- $log"; tail -20 "$log"; }
  done
  exit 1
}
# wait_health PORT PID: until the server on PORT answers, or fail.
wait_health() {
  i=0
  until curl -sf --cacert ca.pem "https://127.0.0.1:$1/api/v1/health" >/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && fail "server on port $1 did not answer /api/v1/health"
    kill -0 "$2" 2>/dev/null || fail "server on port $1 exited"
    sleep 0.1
  done
}
# add_user STATE NAME [--totp]: a viewer with the test password.
add_user() {
  st=$1 name=$2
  shift 2
  "$B/admin/hikae-admin" user add "$name" --state "$st" --role viewer "$@" \
    < password >"admin-$name.out" 2>"admin-$name.err" \
    || fail "hikae-admin user add $name: $(head -3 "admin-$name.err")"
}

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

# A patient with both a PDF and a JPEG: the test opens one of each.
find samples/drop -name '*.meta.json' -exec jq -r '[.patient_id, .content_type, .patient.kana] | @tsv' {} + \
  | sort > docs.tsv
pick=$(awk -F'\t' '{has[$1" "$2]=1; kana[$1]=$3} END {for (p in kana) if (has[p" application/pdf"] && has[p" image/jpeg"]) {print p"\t"kana[p]; exit}}' docs.tsv)
[ -n "$pick" ] || fail "no sample patient with both a PDF and a JPEG"
export HK_TEST_PATIENT=$(printf '%s' "$pick" | cut -f1)
export HK_TEST_KANA=$(printf '%s' "$pick" | cut -f2)
# Another patient with documents: the timeline test switches to them while
# the first patient's rows are still being appended.
export HK_TEST_PATIENT2=$(cut -f1 docs.tsv | grep -vxF "$HK_TEST_PATIENT" | sort | uniq -c \
  | sort -k1,1nr -k2 | awk 'NR == 1 {print $2}')
[ -n "$HK_TEST_PATIENT2" ] || fail "no second sample patient with documents"

# A text note of that patient whose stored bytes are damaged after ingest
# (one byte flipped in the store, as a failing disk would): the viewer must
# refuse it by its SHA-256, on screen and on paper. Dated long ago, so that
# it is the last in the timeline and not among the three printed.
mkdir -p samples/drop/damaged
printf 'MARKER-%s damaged note\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  > samples/drop/damaged/note.txt
side=$(grep -l "\"patient_id\" *: *\"$HK_TEST_PATIENT\"" $(find samples/drop -name '*.meta.json') | head -1)
jq '.source_id = "TEST:DAMAGED:1" | .title = "damaged note" | .type = "progress_note"
    | .content_type = "text/plain" | .created_at = "2001-01-01T09:00:00+09:00"' "$side" \
  > samples/drop/damaged/note.txt.meta.json || fail "damaged note sidecar"
# Words in the documents (issue 14): a note of that patient holding a word
# no sample writes, in katakana (the test types it in hiragana), and a PDF
# of theirs, found by the source ID printed on it.
mkdir -p samples/drop/search
printf '既往歴の確認：ヒカエケンサク試験語を含む記録。\n' > samples/drop/search/note.txt
jq '.source_id = "TEST:SEARCH:1" | .title = "search note" | .type = "progress_note"
    | .content_type = "text/plain" | .created_at = "2002-01-01T09:00:00+09:00"' "$side" \
  > samples/drop/search/note.txt.meta.json || fail "search note sidecar"
pdf_side=$(grep -l "\"patient_id\" *: *\"$HK_TEST_PATIENT\"" $(find samples/drop -name '*.pdf.meta.json') | head -1)
export HK_TEST_PDF_WORD=$(jq -r .source_id "$pdf_side")
pdftotext "${pdf_side%.meta.json}" - 2>/dev/null | grep -qF "$HK_TEST_PDF_WORD" \
  || fail "the PDF $pdf_side does not print its source ID $HK_TEST_PDF_WORD"
# A scan of known text of theirs (issue 14, item 4): opened from its hit,
# the word is marked by the server's OCR boxes. Seed 12 puts ペニシリン on
# two of three scans (tests/samples/test-ocr-scans.sh).
"$B/samples/hikae-samples" --out scans --patients 3 --docs-per-patient 4 --seed 12 --jobs 1 \
  --ocr-scans 3 >scans.log 2>&1 || fail "hikae-samples --ocr-scans"
scan=$(jq -r 'select(.record == "document" and .text) | select(.text | contains("ペニシリン")) | .path' \
  scans/manifest.jsonl | head -1)
[ -n "$scan" ] || fail "no scan of known text holds ペニシリン"
cp "scans/drop/$scan" samples/drop/search/scan.jpg || fail "copy the scan"
jq '.source_id = "TEST:SEARCH:SCAN" | .title = "search scan" | .type = "consent"
    | .content_type = "image/jpeg" | .created_at = "2003-01-01T09:00:00+09:00"' "$side" \
  > samples/drop/search/scan.jpg.meta.json || fail "search scan sidecar"
export HK_TEST_SCAN_WORD=ペニシリン
ssmix2=
[ -d samples/ssmix2 ] && ssmix2="--ssmix2 samples/ssmix2"
"$B/indexer/hikae-indexer" --store store --drop samples/drop $ssmix2 --once \
  >indexer.log 2>&1 || fail "hikae-indexer --once: $(tail -3 indexer.log)"
# Every copy: LMDB's copy-on-write leaves older copies of a page behind.
offs=$(grep -abo "MARKER-" store/data.mdb | cut -d: -f1)
[ -n "$offs" ] || fail "the damaged note's marker is not in store/data.mdb"
for off in $offs; do
  printf 'N' | dd of=store/data.mdb bs=1 seek="$off" conv=notrunc status=none
done

# 3. User and server.
mkdir -p state
printf 'correct horse battery staple\n' > password
"$B/admin/hikae-admin" user add viewer1 --state state --role viewer < password >admin.log 2>&1 \
  || fail "hikae-admin user add: $(head -3 admin.log)"
# A user who may also search the documents of all patients.
"$B/admin/hikae-admin" user add searcher --state state --role clinician_search < password \
  >admin-searcher.log 2>&1 || fail "hikae-admin user add searcher: $(head -3 admin-searcher.log)"
export HK_TEST_SEARCH_USER=searcher
# Per language: a TOTP user (a step once used is refused, and the two runs
# may fall in one 30 s step) and a user to lock out (locked for 15 min).
for lang in en ja; do
  add_user state "totp-$lang" --totp
  uri=$(sed -n 's/^totp: //p' "admin-totp-$lang.out")
  case $uri in
    otpauth://totp/*secret=*) ;;
    *) fail "hikae-admin user add --totp printed no otpauth:// URI: $(cat "admin-totp-$lang.out")" ;;
  esac
  printf '%s\n' "$uri" | sed 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/' > "totp-$lang.secret"
  [ -s "totp-$lang.secret" ] || fail "no secret in $uri"
  add_user state "lock-$lang"
done
# Sessions that end 8 s after login, on a server of their own (its own
# state: the accounts and audit log belong to one server). It is the
# test-clock build (docs/operations.md, "The test clock"): the GUI test moves
# its clock past the session's end instead of waiting for it.
mkdir -p state-short
add_user state-short viewer1
port=$(( 20000 + $$ % 20000 ))
short_port=$((port + 1))
"$B/server/hikae-server" --store store --state state --listen "127.0.0.1:$port" \
  --tls-cert server.pem --tls-key server.key >server.log 2>&1 &
server_pid=$!
HK_TEST_CLOCK_FILE="$tmp/short.clock" "$B/server/hikae-server-testclock" --store store \
  --state state-short --listen "127.0.0.1:$short_port" \
  --tls-cert server.pem --tls-key server.key --session-max 8 >server-short.log 2>&1 &
short_pid=$!
wait_health "$port" "$server_pid"
wait_health "$short_port" "$short_pid"

export HK_TEST_SERVER="https://127.0.0.1:$port"
token=$(curl -sf --cacert ca.pem -d '{"user":"viewer1","password":"correct horse battery staple"}' \
  "$HK_TEST_SERVER/api/v1/session" | jq -r .token)
export HK_TEST_DAMAGED_DOC=$(curl -sf --cacert ca.pem -H "Authorization: Bearer $token" \
  "$HK_TEST_SERVER/api/v1/patients/$HK_TEST_PATIENT/documents?limit=200" \
  | jq -r '.documents[] | select(.source_id == "TEST:DAMAGED:1") | .id')
[ -n "$HK_TEST_DAMAGED_DOC" ] || fail "the damaged note is not in the archive"
export HK_TEST_CA="$tmp/ca.pem"
export HK_TEST_OTHER_CA="$tmp/other-ca.pem"
export HK_TEST_SHORT_SERVER="https://127.0.0.1:$short_port"
export HK_TEST_SHORT_SESSION_S=8
export HK_TEST_SHORT_CLOCK="$tmp/short.clock"
export HK_TEST_USER=viewer1
export HK_TEST_PASSWORD_FILE="$tmp/password"
export HK_TEST_OUT="$tmp"
export TZ=Asia/Tokyo
export GSK_RENDERER=cairo
export GDK_BACKEND=x11
export NO_AT_BRIDGE=1

# The laptop stays clean: the viewer gets a home, caches, config, state
# and temporary folder of its own, searched afterwards for patient data.
home=$tmp/home
mkdir -p "$home/cache" "$home/data" "$home/config" "$home/state" "$home/tmp"
export HOME="$home" XDG_CACHE_HOME="$home/cache" XDG_DATA_HOME="$home/data" \
  XDG_CONFIG_HOME="$home/config" XDG_STATE_HOME="$home/state" TMPDIR="$home/tmp"
# clean_home WHEN: no file under the viewer's home holds the patient's ID,
# a PDF or a JPEG.
clean_home() {
  leak=$(grep -rlaF -e "$HK_TEST_PATIENT" -e "%PDF-" "$home" 2>/dev/null;
         find "$home" -type f -exec sh -c 'head -c 3 "$1" | od -An -tx1 | grep -q "ff d8 ff" && echo "$1"' _ {} \;)
  [ -z "$leak" ] || fail "patient data on disk after $1: $leak"
  echo "clean after $1: $(find "$home" -type f | wc -l) files under the viewer's home, none with patient data"
}

# 4. The widgets, in English and in Japanese.
for lang in en ja; do
  LANG=C.UTF-8 LC_ALL=C.UTF-8 LANGUAGE=$lang HK_TEST_LANG=$lang \
    HK_TEST_TOTP_USER="totp-$lang" HK_TEST_TOTP_SECRET="$(cat "totp-$lang.secret")" \
    HK_TEST_LOCK_USER="lock-$lang" \
    xvfb-run -a -s '-screen 0 1280x800x24' "$HK_VIEWER_GUI_TEST" || fail "GUI test ($lang)"
  clean_home "the GUI test ($lang)"
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
# Every exported version's SHA-256 prefix must be printed, not just the label.
shas=$(curl -sf --cacert ca.pem -H "Authorization: Bearer $(curl -sf --cacert ca.pem \
  -d "{\"user\":\"viewer1\",\"password\":\"correct horse battery staple\"}" \
  "$HK_TEST_SERVER/api/v1/session" | jq -r .token)" \
  "$HK_TEST_SERVER/api/v1/patients/$HK_TEST_PATIENT/documents?limit=3" | jq -r '.documents[].sha256')
[ "$(printf '%s\n' "$shas" | grep -c .)" -eq 3 ] || fail "no SHA-256 of the exported documents"
# shellcheck disable=SC2086 # one argument per hash
pages=$("$HK_PDF_CHECK" pack.pdf "$HK_TEST_PATIENT" 4 $shas) || fail "exported pack: $pages"
clean_home "--export-pack"
echo "export-pack: $pages pages, every page stamped"
# The damaged note must not be printed: exit 1, no PDF.
"$HK_VIEWER" --export-pack --server "$HK_TEST_SERVER" --ca ca.pem --user viewer1 \
  --password-file password --patient "$HK_TEST_PATIENT" --docs "$HK_TEST_DAMAGED_DOC" \
  --out damaged.pdf 2>damaged.err
[ $? -eq 1 ] || fail "--export-pack of damaged bytes did not exit 1"
[ ! -e damaged.pdf ] || fail "--export-pack wrote a PDF of damaged bytes"
grep -q "SHA-256" damaged.err || fail "--export-pack of damaged bytes did not say why: $(cat damaged.err)"
# A wrong password file must fail with 1 and leave no PDF.
printf 'wrong password for sure\n' > wrong
"$HK_VIEWER" --export-pack --server "$HK_TEST_SERVER" --ca ca.pem --user viewer1 \
  --password-file wrong --patient "$HK_TEST_PATIENT" --docs "$docs" --out bad.pdf 2>/dev/null
[ $? -eq 1 ] || fail "--export-pack with a wrong password did not exit 1"
[ ! -e bad.pdf ] || fail "--export-pack left a PDF after failing"

if [ -n "${HK_SCREENSHOT_DIR:-}" ] && [ -d "$HK_SCREENSHOT_DIR" ]; then
  cp pack.pdf "$HK_SCREENSHOT_DIR/sample-transfer-pack.pdf" 2>/dev/null || true
  cp ward-list-en.pdf "$HK_SCREENSHOT_DIR/sample-ward-list.pdf" 2>/dev/null || true
fi
echo "PASS"

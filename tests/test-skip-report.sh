#!/usr/bin/env bash
# scripts/skip-report, the skip accounting of scripts/test: a skipped test
# is counted and named in each build; under CI=true it fails the run unless
# tests/allowed-skips lists it with a reason; an entry without a reason is
# refused. Fed meson testlog.json lines written here.
. "$HK_SOURCE_DIR/tests/lib.sh"
R=$HK_SOURCE_DIR/scripts/skip-report
line() { printf '{"name": "hikae:%s / %s", "result": "%s", "returncode": %s}\n' "$1" "$2" "$3" "$4"; }
{
  line "indexer+integration" indexer-cli OK 0
  line "ssmix2+unit" jis SKIP 77
  line "client+gui" viewer-gui SKIP 77
  line "server+unit" totp FAIL 1
} > "$T/normal.json"
line "ssmix2+unit" jis SKIP 77 > "$T/asan.json"
printf '# comment only\n\n' > "$T/none"
printf '# allowed\nviewer-gui   no display here  # trailing comment\njis  corpus file under review\n' > "$T/both"
printf 'jis\n' > "$T/noreason"
args=(normal="$T/normal.json" sanitizer="$T/asan.json" missing="$T/absent.json")

rc=0; CI= "$R" "$T/none" "${args[@]}" > "$T/out" || rc=$?
assert_eq 0 "$rc" "outside CI a skip is reported, not fatal"
assert_eq "skipped: 3" "$(head -1 "$T/out")" "skips counted over both builds"
grep -qx '  normal: jis' "$T/out" || fail "normal jis not named: $(cat "$T/out")"
grep -qx '  normal: viewer-gui' "$T/out" || fail "viewer-gui not named"
grep -qx '  sanitizer: jis' "$T/out" || fail "sanitizer jis not named"
grep -q 'totp\|indexer-cli' "$T/out" && fail "a pass or failure was listed as a skip"
ok "each skip is named with its build"

rc=0; CI=true "$R" "$T/none" "${args[@]}" > "$T/out" || rc=$?
assert_eq 1 "$rc" "under CI=true an unlisted skip fails"
assert_eq 3 "$(grep -c '^FAIL: skipped under CI=true' "$T/out")" "every unlisted skip is named as a failure"

rc=0; CI=true "$R" "$T/both" "${args[@]}" > "$T/out" || rc=$?
assert_eq 0 "$rc" "under CI=true listed skips pass"
grep -qx '  normal: viewer-gui (allowed: no display here)' "$T/out" || fail "reason not shown: $(cat "$T/out")"
ok "an allowed skip shows its reason"

printf 'viewer-gui  no display here\n' > "$T/one"
rc=0; CI=true "$R" "$T/one" "${args[@]}" > "$T/out" || rc=$?
assert_eq 1 "$rc" "one listed skip does not excuse another"
grep -q 'FAIL: .*normal: jis' "$T/out" || fail "jis not named: $(cat "$T/out")"
ok "the unlisted one is named"

rc=0; CI=true "$R" "$T/noreason" "${args[@]}" > "$T/out" 2>&1 || rc=$?
assert_eq 2 "$rc" "an entry without a reason is refused"
grep -q "noreason:1: 'jis' has no reason" "$T/out" || fail "message: $(cat "$T/out")"
rc=0; "$R" "$T/absent-list" "${args[@]}" > "$T/out" 2>&1 || rc=$?
assert_eq 2 "$rc" "a missing allowed-skips file is refused"

# The repository's own list parses (comments only, or entries with reasons).
"$R" "$HK_SOURCE_DIR/tests/allowed-skips" > /dev/null || fail "tests/allowed-skips does not parse"
ok "tests/allowed-skips parses"
echo "$HK_CHECKS checks passed"

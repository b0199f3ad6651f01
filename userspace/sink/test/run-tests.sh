#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-tests.sh MODE TEST...: run each test (t-*.sh with sh, anything else
# executed) with a timeout; exit status 0 pass, 77 skip, else fail.
# MODE host: one line per test, the output of failed tests, and as the last
#   line "N passed, N failed" (skipped tests are listed, not counted).
# MODE tap: TAP for scripts/vm/run.sh ("ok N name", "not ok N name").

mode=$1
shift
TIMEOUT=${HS_TEST_TIMEOUT:-120}
pass=0
fail=0
n=0
log=${HS_TMP:-/tmp}/.run-tests.$$
mkdir -p "$(dirname "$log")"
[ "$mode" = tap ] && echo "1..$#"

for t in "$@"; do
	n=$((n + 1))
	name=$(basename "$t" .sh)
	case $t in
	*.sh) set -- sh "$t" ;;
	*) set -- "$t" ;;
	esac
	start=$(date +%s)
	if command -v timeout >/dev/null 2>&1; then
		timeout "$TIMEOUT" "$@" >"$log" 2>&1
	else
		"$@" >"$log" 2>&1
	fi
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$mode" = tap ]; then
		case $rc in
		0) echo "ok $n $name (${secs}s)"; sed -n 's/^# /#   /p' "$log" | tail -n 6 ;;
		77) echo "ok $n $name # SKIP $(grep -m1 SKIP "$log")" ;;
		*) echo "not ok $n $name # exit $rc after ${secs}s"; sed 's/^/# /' "$log" | tail -n 40 ;;
		esac
		continue
	fi
	case $rc in
	0) pass=$((pass + 1)); echo "PASS  $name (${secs}s)" ;;
	77) echo "SKIP  $name: $(grep -m1 SKIP "$log")" ;;
	*)
		fail=$((fail + 1))
		echo "FAIL  $name (exit $rc after ${secs}s)"
		sed 's/^/    | /' "$log" | tail -n 40
		;;
	esac
done
rm -f "$log"
[ "$mode" = tap ] && exit 0
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

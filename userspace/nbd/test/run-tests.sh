#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-tests.sh TEST...: run each test (t-*.sh with sh, t-*.py with python3,
# anything else executed) with a timeout (HS_TEST_TIMEOUT, default 300 s);
# exit status 0 pass, 77 skip, else fail. One line per test, the tail of
# the output of failed tests, and as the last line "N passed, N failed"
# (skipped tests are listed, not counted).

TIMEOUT=${HS_TEST_TIMEOUT:-300}
pass=0
fail=0
log=${HS_TMP:-/tmp}/.run-tests.$$
mkdir -p "$(dirname "$log")"

for t in "$@"; do
	name=$(basename "$t")
	name=${name%.*}
	case $t in
	*.sh) set -- sh "$t" ;;
	*.py) set -- python3 "$t" ;;
	*) set -- "$t" ;;
	esac
	start=$(date +%s)
	timeout "$TIMEOUT" "$@" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
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
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: MIT
#
# runtests.sh BIN...: run each unit test with a timeout; exit status 0 pass,
# 77 skip, anything else fail. Prints one line per test, the output of failed
# tests, and as its last line "N passed, N failed[, N skipped]". Exits 1 when
# any test failed.

TIMEOUT=${HS_TEST_TIMEOUT:-60}
pass=0
fail=0
skip=0
failed=""
log=$(mktemp "${TMPDIR:-/tmp}/hs-test.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT
# Tests and the example write scratch files in the current directory.
[ -n "$HS_TEST_TMPDIR" ] && cd "$HS_TEST_TMPDIR"

for bin in "$@"; do
	name=$(basename "$(dirname "$bin")")/$(basename "$bin")
	start=$(date +%s)
	timeout -k 5 "$TIMEOUT" "$bin" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)
		pass=$((pass + 1))
		echo "PASS  $name (${secs}s)"
		;;
	77)
		skip=$((skip + 1))
		echo "SKIP  $name: $(grep -m1 SKIP "$log")"
		;;
	*)
		fail=$((fail + 1))
		failed="$failed $name"
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "FAIL  $name (timeout after ${TIMEOUT}s)"
		else
			echo "FAIL  $name (exit $rc)"
		fi
		sed 's/^/    | /' "$log" | tail -n 40
		;;
	esac
done

[ -n "$failed" ] && echo "failed:$failed"
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]

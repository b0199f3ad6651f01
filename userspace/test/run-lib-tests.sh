#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-lib-tests.sh: run the libhugeslab unit tests against the real module
# (busybox sh) and print TAP. Installed by `make -C userspace vm-payload`
# next to the lib-tests/ directory. /dev/hugeslab must exist: each test
# asserts that its pools came from the module.

dir=$(dirname "$0")/lib-tests
TIMEOUT=${HS_TEST_TIMEOUT:-120}
n=0
failures=0

if [ ! -e /dev/hugeslab ]; then
	echo "1..0 # SKIP /dev/hugeslab missing"
	exit 0
fi

tests=$(ls "$dir" | grep '^t-' | sort)
count=$(echo "$tests" | wc -w)
echo "1..$count"
for t in $tests; do
	n=$((n + 1))
	out=$dir/.$t.out
	if command -v timeout >/dev/null 2>&1; then
		timeout "$TIMEOUT" "$dir/$t" >"$out" 2>&1
	else
		"$dir/$t" >"$out" 2>&1
	fi
	rc=$?
	case $rc in
	0)	echo "ok $n $t" ;;
	77)	echo "ok $n $t # SKIP $(grep -m1 SKIP "$out" | sed 's/^SKIP: //')" ;;
	*)	echo "not ok $n $t # exit $rc"
		sed 's/^/# /' "$out"
		failures=$((failures + 1)) ;;
	esac
	rm -f "$out"
done
[ $failures -eq 0 ]

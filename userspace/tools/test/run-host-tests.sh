#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hugeslabctl's host tests (make -C userspace/tools check): the parser unit
# test, then the built tool's command line (exit code 2 and a message that
# says what is wrong, before anything touches the module) and its answers
# on a host without the module (exit code 3).  A pools.conf with errors
# must name every bad line and create nothing.
#   run-host-tests.sh DIR    DIR holds t-parse and hugeslabctl
# Last line: "N passed, N failed".
dir=${1:?usage: run-host-tests.sh DIR}
ctl=$dir/hugeslabctl
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

result() {	# result OK NAME
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok - $2"
	else
		fail=$((fail + 1))
		echo "not ok - $2"
		sed 's/^/#   /' "$tmp/err"
	fi
}

# expect RC PATTERN ARGS...: hugeslabctl ARGS exits RC, stderr matches.
expect() {
	want=$1 pat=$2
	shift 2
	"$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq "$want" ] && grep -q -- "$pat" "$tmp/err"
	result $? "hugeslabctl $* -> exit $want, \"$pat\" (got $rc)"
}

"$dir/t-parse" >"$tmp/tap" 2>"$tmp/err"
rc=$?
cat "$tmp/tap"
p=$(grep -c '^ok ' "$tmp/tap")
f=$(grep -c '^not ok ' "$tmp/tap")
pass=$((pass + p))
fail=$((fail + f))
# A crash (sanitizer) or a missing plan is one more failure.
if [ $rc -ne 0 ] && [ "$f" -eq 0 ] || ! grep -q '^1\.\.' "$tmp/tap"; then
	fail=$((fail + 1))
	echo "not ok - t-parse exited $rc"
	sed 's/^/#   /' "$tmp/err"
fi

# Command line: refused with exit 2 before the module is asked.
expect 2 'usage: hugeslabctl create NAME SIZE' create
expect 2 'usage: hugeslabctl create NAME SIZE' create fio0
expect 2 'multiple of 2 MiB' create fio0 3M
expect 2 'multiple of 2 MiB' create fio0 0
expect 2 'invalid pool name' create 'a/b' 4M
expect 2 'octal' create fio0 4M --mode 0999
expect 2 'unknown user "no-such-user-hs"' create fio0 4M --owner no-such-user-hs
expect 2 'unknown group' create fio0 4M --group no-such-group-hs
expect 2 'NUMA node' create fio0 4M --node -3
expect 2 'options of create' destroy fio0 --owner root
expect 2 'options of create' pools --mode 0600
expect 2 '--force is an option of destroy' create fio0 4M --force
expect 2 'usage: hugeslabctl destroy NAME' destroy
expect 2 'usage: hugeslabctl load FILE' load
expect 2 'invalid pool name' destroy ..

# pools.conf with errors on lines 2, 4 and 6: all named, nothing created.
printf '%s\n' 'ok0 4M' 'bad1 3M' '# comment' 'bad2 4M colour=blue' \
	'ok0 2M' 'bad3' >"$tmp/bad.conf"
"$ctl" load "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q 'bad.conf:2:' "$tmp/err" &&
	grep -q 'bad.conf:4: unknown setting "colour=blue"' "$tmp/err" &&
	grep -q 'bad.conf:5: pool ok0 is already on line 1' "$tmp/err" &&
	grep -q 'bad.conf:6: pool bad3 has no SIZE' "$tmp/err" &&
	grep -q '4 error(s), no pool created' "$tmp/err" &&
	! grep -q created "$tmp/out"
result $? "load of a file with 4 bad lines: each named, exit 2 (got $rc)"
expect 1 "cannot read $tmp/missing.conf: No such file" load "$tmp/missing.conf"
chmod 000 "$tmp/bad.conf"
if [ "$(id -u)" -ne 0 ]; then
	expect 4 'Permission denied' load "$tmp/bad.conf"
fi

# Without the module: exit 3, and the message says so.
if grep -qs '^hugeslab ' /proc/modules; then
	echo "ok - without the module # SKIP the module is loaded here"
else
	printf 'fio0 4M owner=nobody mode=0600\n' >"$tmp/good.conf"
	expect 3 'is the hugeslab module loaded' create fio0 4M --owner nobody --mode 0600
	expect 3 'is the hugeslab module loaded' destroy fio0
	expect 3 'is the hugeslab module loaded' destroy fio0 --force
	expect 3 'is the hugeslab module loaded' load "$tmp/good.conf"
	expect 3 'is the hugeslab module loaded' pools
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

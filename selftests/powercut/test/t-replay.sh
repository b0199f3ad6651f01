#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pc-replay against logs with known verdicts (mklog.c), on this host.
#   t-replay.sh BINDIR TMPDIR
# Each case gives the exit status and the figures pc-replay must print.
set -u
B=$1
T=$2
pass=0
failed=0
mkdir -p "$T"

# expect NAME SCENARIO STATUS "FIGURES" [VERIFY_CMD...]
expect() {
	name=$1 scen=$2 want_rc=$3 want=$4
	shift 4
	rm -f "$T/log" "$T/acks" "$T/target" "$T/acked"
	"$B/mklog" "$scen" "$T/log" "$T/acks" || { echo "not ok - $name: mklog"; failed=$((failed + 1)); return; }
	truncate -s 1M "$T/target"
	# Extent scenarios: pc-replay checks the "ext" acks on the target too.
	case $scen in ext-*) set -- -e "$@" ;; esac
	if [ "${1:-}" = -e ]; then
		"$B/pc-replay" -e -l "$T/log" -t "$T/target" -n 65536 -a "$T/acks" >"$T/out" 2>&1
	elif [ $# -gt 0 ]; then
		"$B/pc-replay" -l "$T/log" -t "$T/target" -n 65536 -a "$T/acks" \
			-o "$T/acked" -- "$@" >"$T/out" 2>&1
	else
		"$B/pc-replay" -l "$T/log" -t "$T/target" -n 65536 -a "$T/acks" >"$T/out" 2>&1
	fi
	rc=$?
	if [ $rc -eq "$want_rc" ] && grep -qF "$want" "$T/out"; then
		echo "ok - $name"
		pass=$((pass + 1))
	else
		echo "not ok - $name: status $rc (want $want_rc), want \"$want\""
		sed 's/^/#   /' "$T/out"
		failed=$((failed + 1))
	fi
}

expect good good 0 "cut points tried 3, acked records checked 8, records lost 0, verify failures 0"
# An ack marked before the FLUSH that covers it is checked without it.
expect late late 1 "cut points tried 3, acked records checked 10, records lost 2,"
# A FUA write is durable by itself; the plain write after it is not.
expect fua fua 1 "cut points tried 4, acked records checked 7, records lost 1,"
expect torn torn 1 "cut points tried 3, acked records checked 4, records lost 2,"
expect overwrite overwrite 1 "cut points tried 3, acked records checked 4, records lost 1,"
expect discard discard 1 "cut points tried 3, acked records checked 4, records lost 1,"
# Extents (block clients, pc-nbd): marked before their FLUSH, lost; a
# version acked later may stand for the newest durable one, an older may not.
expect ext-late ext-late 1 "cut points tried 2, acked extents checked 2, extents lost 1;"
expect ext-newer ext-newer 0 "cut points tried 4, acked extents checked 4, extents lost 0;"
expect ext-older ext-older 1 "cut points tried 4, acked extents checked 3, extents lost 1;"
# The verify command runs at every cut with acks, with the acked file.
# shellcheck disable=SC2016 # $0 is for the inner sh
expect verify-pass good 0 "verify failures 0" sh -c 'grep -qx "1 [35]" "$0"' "$T/acked"
expect verify-fail good 1 "records lost 0, verify failures 2" false
# A mark the client claims but the log lacks is an error, not a pass.
"$B/mklog" good "$T/log" "$T/acks" && echo "a9 rec 1 9" >>"$T/acks"
"$B/pc-replay" -l "$T/log" -t "$T/target" -n 65536 -a "$T/acks" >"$T/out" 2>&1
if [ $? -eq 2 ] && grep -q 'mark a9 is not in the log' "$T/out"; then
	echo "ok - missing-mark"
	pass=$((pass + 1))
else
	echo "not ok - missing-mark"
	failed=$((failed + 1))
fi
rm -rf "$T"
echo "$pass passed, $failed failed"
[ $failed -eq 0 ]

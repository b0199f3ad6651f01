#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Debug-lane guest script (scripts/debug-lane.sh): every selftest, the
# fuzzer and the fault-injection rounds on the KASAN/kmemleak/lockdep
# kernel, then a kmemleak scan that must name nothing of hugeslab.
# KASAN and lockdep reports land on the console, which the runner fails on.

cd /payload || exit 1
kmemleak=/sys/kernel/debug/kmemleak
[ -w $kmemleak ] && echo clear > $kmemleak

# The stock script runs the fuzzer too (HUGESLAB_FUZZ_ITERATIONS).
sh ./run-guest.sh
echo "# ---- fault injection"
./faultinj --rounds "${FAULTINJ_ROUNDS:-100}"

echo "# ---- kmemleak"
echo "TAP version 13"
echo "1..1"
if [ ! -w $kmemleak ]; then
	echo "ok 1 kmemleak # SKIP no $kmemleak"
	exit 0
fi
# Objects must be older than a scan period to be reported: scan twice.
echo scan > $kmemleak
sleep 6
echo scan > $kmemleak
cat $kmemleak > /tmp/kmemleak
n=$(grep -c "unreferenced object" /tmp/kmemleak)
if grep -q hugeslab /tmp/kmemleak; then
	sed 's/^/# /' /tmp/kmemleak
	echo "not ok 1 kmemleak: leaks point at hugeslab"
else
	echo "# kmemleak: $n suspected leaks, none in hugeslab"
	echo "ok 1 kmemleak: nothing points at hugeslab"
fi

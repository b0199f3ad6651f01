#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (scripts/vm/run.sh): loads the module and runs
# every selftest, printing TAP. The host counts the results.

cd /payload || exit 1
echo "# kernel $(uname -r)"
if ! insmod ./hugeslab.ko; then
	echo "not ok 1 insmod hugeslab.ko"
	exit 0
fi
echo "# /dev/hugeslab: $(ls -l /dev/hugeslab)"
echo "# max_pinned_mb=$(cat /sys/module/hugeslab/parameters/max_pinned_mb)"
# The test-only dma-buf importer (dmabuf_test skips its checks without it).
if [ -f hugeslab_importer.ko ] && ! insmod ./hugeslab_importer.ko; then
	echo "# insmod hugeslab_importer.ko failed"
fi

export HUGESLAB_KO=/payload/hugeslab.ko
for t in $(cat selftests.list); do
	echo "# ---- $t"
	./"$t"
done

# A short fuzz run; `make fuzz` runs a long one (HUGESLAB_FUZZ_ITERATIONS).
if [ -x ./fuzz ] && [ -z "$HUGESLAB_NO_FUZZ" ]; then
	echo "# ---- fuzz"
	./fuzz --iterations "${HUGESLAB_FUZZ_ITERATIONS:-2000}" --threads 3
fi

if [ -x lib/run-lib-tests.sh ]; then
	echo "# ---- libhugeslab"
	(cd lib && sh ./run-lib-tests.sh)
fi

if [ -x sink/run-sink-tests.sh ]; then
	echo "# ---- hugeslab-sink"
	(cd sink && sh ./run-sink-tests.sh)
fi

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (scripts/vm/run.sh): loads the module and runs
# every selftest, printing TAP. The host counts the results.

cd /payload || exit 1
echo "# kernel $(uname -r)"

# Issue 16 item 4: where shmem has no ->mmap the module must refuse to load
# with a message, not oops at the first mmap(). Neither stock kernel lacks
# it, so hugeslab-nommap.ko (check.sh, -DHUGESLAB_TEST_NO_SHMEM_MMAP)
# pretends it does. Before the real module, so nothing else is loaded.
nommap_test() {
	echo "1..5"
	if err=$(insmod ./hugeslab-nommap.ko 2>&1); then
		loaded=1
		echo "not ok 1 nommap: insmod hugeslab-nommap.ko fails"
	else
		loaded=0
		echo "ok 1 nommap: insmod hugeslab-nommap.ko fails"
	fi
	echo "# $err"
	case $err in
	*"Operation not supported"*)
		echo "ok 2 nommap: insmod fails with EOPNOTSUPP" ;;
	*)	echo "not ok 2 nommap: insmod fails with EOPNOTSUPP" ;;
	esac
	# No hugeslab module was loaded before in this boot: the line is ours.
	if dmesg | grep -q 'hugeslab: shmem files have neither ->mmap nor a ->mmap_prepare'; then
		echo "ok 3 nommap: dmesg names the reason"
	else
		echo "not ok 3 nommap: dmesg names the reason"
	fi
	if [ -e /dev/hugeslab ]; then
		echo "not ok 4 nommap: no /dev/hugeslab"
	else
		echo "ok 4 nommap: no /dev/hugeslab"
	fi
	# It loaded (the test failed): unload it so the real one can load.
	[ "$loaded" = 0 ] || rmmod hugeslab
	if insmod ./hugeslab.ko; then
		echo "ok 5 nommap: hugeslab.ko still loads"
		return 0
	fi
	echo "not ok 5 nommap: hugeslab.ko still loads"
	return 1
}
if [ -f hugeslab-nommap.ko ]; then
	echo "# ---- nommap"
	nommap_test || exit 0
elif ! insmod ./hugeslab.ko; then
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

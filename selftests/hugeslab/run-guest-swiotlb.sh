#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a test VM booted with swiotlb=force (scripts/vm/run.sh
# --append swiotlb=force): loads the module and the test-only importer and
# runs the dma-buf segment tests only, printing TAP.  Every DMA mapping
# bounces there, and swiotlb maps at most 256 KiB in one piece.

cd /payload || exit 1
echo "# kernel $(uname -r), cmdline $(cat /proc/cmdline)"
if ! grep -qw 'swiotlb=force' /proc/cmdline; then
	echo "not ok 1 booted without swiotlb=force"
	exit 0
fi
for ko in hugeslab.ko hugeslab_importer.ko; do
	if ! insmod "./$ko"; then
		echo "not ok 1 insmod $ko"
		exit 0
	fi
done
./dmabuf_test -f dmabuf_seg

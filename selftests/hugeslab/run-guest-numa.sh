#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the two-node test VM (scripts/vm/run.sh --numa): loads the
# module and runs the NUMA balancing test only, printing TAP.

cd /payload || exit 1
echo "# kernel $(uname -r), nodes $(cat /sys/devices/system/node/online)"
if ! insmod ./hugeslab.ko; then
	echo "not ok 1 insmod hugeslab.ko"
	exit 0
fi
./numa_test

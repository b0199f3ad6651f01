#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the test VM (scripts/vm/run.sh): loads the module and runs the
# kernel-side benchmark (bench/kside.c), printing TAP and "kside" lines.

cd /payload || exit 1
echo "# kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU, $(grep MemTotal /proc/meminfo)"
if ! insmod ./hugeslab.ko; then
	echo "1..1"
	echo "not ok 1 insmod hugeslab.ko"
	exit 0
fi
ulimit -l unlimited 2>/dev/null
./kside
echo "# ShmemPmdMapped/AnonHugePages after run: $(grep -E 'ShmemPmdMapped|AnonHugePages' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"

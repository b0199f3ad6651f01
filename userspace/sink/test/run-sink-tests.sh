#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-sink-tests.sh: the hugeslab-sink end-to-end tests in the test VM
# (busybox sh), printing TAP. Installed by `make -C userspace/sink
# vm-payload DESTDIR=dir` next to bin/ and test/. Uses /dev/hugeslab (loads
# /payload/hugeslab.ko when the device is missing) and writes the data
# straight to the test disk ($HUGESLAB_TEST_DISK, /dev/vda, at least
# 256 MiB); index files go to /tmp.

here=$(cd "$(dirname "$0")" && pwd)
if [ ! -e /dev/hugeslab ] && [ -f /payload/hugeslab.ko ]; then
	insmod /payload/hugeslab.ko
fi
if [ ! -e /dev/hugeslab ]; then
	echo "1..0 # SKIP /dev/hugeslab missing"
	exit 0
fi
disk=${HUGESLAB_TEST_DISK:-/dev/vda}
if [ ! -b "$disk" ]; then
	echo "1..0 # SKIP no test disk"
	exit 0
fi
# The VM's init leaves the loopback interface down.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
export HS_BIN="$here/bin" HS_TMP=/tmp/sink-tests HS_DATA="$disk"
# 256 MiB of records need about 260 MiB of disk: full size from a 512 MiB
# disk up (run.sh --disk-mb 512), else 64M.
sectors=$(cat "/sys/class/block/${disk##*/}/size" 2>/dev/null || echo 0)
if [ "$sectors" -ge $((512 * 2048)) ]; then big=256M; else big=64M; fi
export HS_BIG="${HS_BIG:-$big}" HS_EXPECT_BACKEND=hugeslab
export HS_TEST_TIMEOUT="${HS_TEST_TIMEOUT:-150}"
# TCG: a 20 us sleep lasts milliseconds and 16-byte reads every 300 us
# take seconds: the slow-ack test cannot fill the socket here (tried: 406
# acks in 62 s, none blocked). It runs on the host.
export HS_SLOW_ACKS_SECS="${HS_SLOW_ACKS_SECS:-0}"
mkdir -p "$HS_TMP"
echo "# sink tests on $(uname -r), disk $disk, big transfer $HS_BIG"
# HS_TESTS: a subset, e.g. "t-e2e-big t-exhaust"
if [ -n "${HS_TESTS:-}" ]; then
	set --
	for t in $HS_TESTS; do set -- "$@" "$here/test/$t.sh"; done
	sh "$here/test/run-tests.sh" tap "$@"
else
	sh "$here/test/run-tests.sh" tap "$HS_BIN/t-crc32c" "$here"/test/t-*.sh
fi

#!/bin/sh
# Example payload for scripts/vm/run.sh (runs in the guest under busybox sh).
# Used to self-test the VM runner:
#   scripts/vm/run.sh --kver "$(scripts/kernels.sh | head -n1)" \
#       --payload scripts/vm/selftest-payload-example --out /tmp/vm-selftest
echo "TAP version 13"
echo "1..2"

disk=${HUGESLAB_TEST_DISK:-/dev/vda}
echo "# kernel $(uname -r) (HUGESLAB_KVER=$HUGESLAB_KVER), disk $disk"

# 1: the test disk is a block device and O_DIRECT writes + reads reach it.
result="not ok"
if [ -b "$disk" ] &&
	wout=$(dd if=/dev/zero of="$disk" bs=1M count=4 oflag=direct 2>&1) &&
	rout=$(dd if="$disk" of=/dev/null bs=1M count=4 iflag=direct 2>&1); then
	result="ok"
fi
printf "%s\n%s\n" "$wout" "$rout" | sed 's/^/# /'
echo "$result 1 test disk exists and takes O_DIRECT I/O"

# 2: procfs works.
if cat /proc/meminfo >/tmp/meminfo && grep -q '^MemTotal:' /tmp/meminfo; then
	echo "ok 2 /proc/meminfo readable"
else
	echo "not ok 2 /proc/meminfo readable"
fi

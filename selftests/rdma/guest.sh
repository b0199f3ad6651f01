#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (selftests/rdma/run.sh): loads hugeslab.ko, puts
# the rxe provider where libibverbs dlopen()s it (the initramfs only gets
# ldd-visible libraries), makes soft-RoCE device rxe0 on a veth with an IPv4
# address, waits for its port, and runs rdma_test (TAP).  A setup step that
# fails is one "not ok", never a skip.

cd /payload || exit 1
# Full paths: busybox sh runs its own applets (an ip without veth) first.
IP=/payload/bin/ip
RDMA=/payload/bin/rdma
echo "# kernel $(uname -r)"
setup_fail() {
	echo "1..1"
	echo "not ok 1 rdma: setup: $*"
	exit 0
}

insmod ./hugeslab.ko || setup_fail "insmod hugeslab.ko"
# The udev rule is not in the VM; the test drops to uids without access.
chmod 0666 /dev/hugeslab || setup_fail "no /dev/hugeslab"

mkdir -p /usr/lib/x86_64-linux-gnu/libibverbs /etc/libibverbs.d
cp lib/librxe-rdmav*.so /usr/lib/x86_64-linux-gnu/libibverbs/ ||
	setup_fail "rxe provider copy"
cp lib/rxe.driver /etc/libibverbs.d/ || setup_fail "rxe.driver copy"

$IP link add veth0 type veth peer name veth1 || setup_fail "ip link add veth"
$IP addr add 10.11.0.1/24 dev veth0 || setup_fail "ip addr add"
for dev in lo veth1 veth0; do
	$IP link set "$dev" up || setup_fail "ip link set $dev up"
done
$RDMA link add rxe0 type rxe netdev veth0 || setup_fail "rdma link add rxe0"
i=0
until grep -q ACTIVE /sys/class/infiniband/rxe0/ports/1/state 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || setup_fail "rxe0 port 1 not ACTIVE: $(cat /sys/class/infiniband/rxe0/ports/1/state 2>&1)"
	sleep 0.1
done
echo "# rdma link: $($RDMA link show 2>&1 | tr '\n' ' ')"
# devtmpfs names the node with ib_uverbs' own 0666; say so if it is not.
for f in /dev/infiniband/*; do echo "# $(stat -c '%A %n' "$f")"; done
chmod 0666 /dev/infiniband/uverbs0 || setup_fail "no /dev/infiniband/uverbs0"

./rdma_test

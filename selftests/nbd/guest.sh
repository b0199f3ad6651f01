#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-guest.sh of the kernel NBD client test (selftests/nbd/run.sh builds
# the payload). Runs in the VM under busybox sh, prints TAP:
#   - nbd.ko (from the kernel image) loads, /dev/nbd0 appears;
#   - the server under test (bin/nbd-server or bin/hugeslab-nbd, see
#     SERVER) serves the virtio disk $HUGESLAB_TEST_DISK on 127.0.0.1;
#   - nbd-client -b 4096 -C 2 connects two connections to /dev/nbd0;
#   - 8 MiB written with O_DIRECT read back identical through /dev/nbd0 and
#     on the server's disk itself;
#   - FLUSH: a direct write without fsync makes the server call no
#     fsync/fdatasync, and the same write with fsync makes it call one and
#     send a reply after it returns (strace of the server, read by this
#     test, not the server's own log);
#   - mkfs.ext4, mount, write files, sync, umount; e2fsck -n -f finds the
#     file system clean; after a remount the files read back identical.
cd /payload || exit 1
PATH=/payload/bin:$PATH
export PATH
SERVER=$(cat /payload/server)
# Negative control (run.sh --negative noflush): nbd-server without
# "flush = true" does not advertise SEND_FLUSH, so the kernel sends no
# FLUSH and the FLUSH test must fail. --negative nomodule: hugeslab.ko is
# in the payload but not loaded, the library falls back to memfd and the
# pool test must fail.
NEGATIVE=$(cat /payload/negative 2>/dev/null)
FLUSH=true
[ "$NEGATIVE" = noflush ] && FLUSH=false
DISK=${HUGESLAB_TEST_DISK:-/dev/vda}
PORT=10809
NBD=/dev/nbd0
T=/tmp/nbdtest
mkdir -p $T /mnt/nbd

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { # check NAME CMD...: one TAP line from a command's status
	name=$1
	shift
	if "$@" >$T/last.log 2>&1; then
		ok "$name"
		# what the test observed, for the log
		grep '^# ' $T/last.log
	else
		not_ok "$name"
		sed 's/^/# /' $T/last.log | tail -n 20
	fi
}
# The numbers of this test: bail out of the rest when the device is gone.
echo "1..15"
echo "# kernel $(uname -r), server $SERVER, disk $DISK"

ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

# The pool from /dev/hugeslab when the payload has the module (check.sh
# builds it per kernel); without it libhugeslab uses its fallback backend.
if [ "$NEGATIVE" = nomodule ]; then
	n=$((n + 1))
	echo "ok $n - hugeslab.ko # SKIP negative control: not loaded"
elif [ -f /payload/hugeslab.ko ]; then
	check "hugeslab.ko loaded for the server's pool" insmod /payload/hugeslab.ko
else
	n=$((n + 1))
	echo "ok $n - hugeslab.ko # SKIP not in the payload (fallback backend)"
fi
check "nbd.ko loaded, $NBD present" sh -c "grep -q '^nbd ' /proc/modules && [ -b $NBD ]"

# tcp_count STATE: sockets on 127.0.0.1:PORT (local side) in that state of
# /proc/net/tcp (0A listening, 01 established), from the kernel's table.
tcp_count() {
	awk -v a="$(printf '0100007F:%04X' $PORT)" -v st="$1" \
		'$2 == a && $4 == st' /proc/net/tcp | wc -l
}

# ------------------------------------------------------------ the server
start_server() {
	case $SERVER in
	nbd-server)
		# No user/group lines: the initramfs has no /etc/passwd, and
		# nbd-server exits when it cannot look the user up.
		cat >$T/nbd-server.conf <<CONF
[generic]
	port = $PORT
	listenaddr = 127.0.0.1
[bench]
	exportname = $DISK
	flush = $FLUSH
	fua = true
CONF
		nbd-server -C $T/nbd-server.conf -p $T/server.pid >$T/server.log 2>&1 || return 1
		EXPORT="-N bench"
		;;
	hugeslab-nbd)
		hugeslab-nbd --listen 127.0.0.1:$PORT --pool 64M --threads 2 "$DISK" \
			>$T/server.out 2>$T/server.log &
		echo $! >$T/server.pid
		EXPORT=
		;;
	esac
	i=0
	while [ $i -lt 100 ]; do
		[ -s $T/server.pid ] && [ "$(tcp_count 0A)" -gt 0 ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
check "$SERVER serves $DISK on 127.0.0.1:$PORT" start_server
SPID=$(cat $T/server.pid 2>/dev/null)
# With the module loaded, hugeslab-nbd's pool must be the device's memory,
# not the library's fallback: the kernel's own map of the process says so.
if [ -f /payload/hugeslab.ko ] && [ "$SERVER" = hugeslab-nbd ]; then
	pool_from_device() {
		# The module hands the VMA to the pool's shmem file "hugeslab" on
		# its own mount (module/backing.c), so that is the name in maps;
		# the library's fallback would show /memfd:hugeslab or no file.
		grep -E ' (/dev)?/hugeslab( \(deleted\))?$' "/proc/$SPID/maps" | sed 's/^/# /' | grep . && return 0
		echo "# server: $(grep -m1 ' pool ' $T/server.log)"
		ls -l /dev/hugeslab
		grep -v '/payload/bin' "/proc/$SPID/maps" | awk '$6 != ""' | head -n 12
		return 1
	}
	check "the server's pool is mapped from /dev/hugeslab" pool_from_device
else
	n=$((n + 1))
	echo "ok $n - pool from /dev/hugeslab # SKIP no module or not hugeslab-nbd"
fi

# shellcheck disable=SC2086 # EXPORT is "" or two words
check "nbd-client -b 4096 -C 2 connects $NBD" \
	nbd-client 127.0.0.1 $PORT $NBD $EXPORT -b 4096 -C 2
# The kernel client shows what it negotiated in sysfs.
check "$NBD: 4096-byte blocks, size of $DISK" sh -c "
	[ \$(cat /sys/block/nbd0/queue/logical_block_size) = 4096 ] &&
	[ \$(cat /sys/block/nbd0/size) = \$(cat /sys/block/${DISK#/dev/}/size) ]"

two_conns() {
	c=$(tcp_count 01)
	echo "# established connections to port $PORT: $c"
	[ "$c" -eq 2 ]
}
check "2 connections established (-C 2)" two_conns

# ------------------------------------------------------------ round trip
head -c 8388608 /dev/urandom >$T/data
check "8 MiB O_DIRECT write through $NBD" \
	dd if=$T/data of=$NBD bs=1M oflag=direct conv=fsync
echo 3 >/proc/sys/vm/drop_caches
check "read back through $NBD identical" sh -c "
	dd if=$NBD bs=1M count=8 iflag=direct 2>/dev/null | cmp - $T/data"
check "the server's disk holds the same bytes" sh -c "
	dd if=$DISK bs=1M count=8 iflag=direct 2>/dev/null | cmp - $T/data"

# ------------------------------------------------------------ FLUSH
# Trace the server's processes (nbd-server forks one per connection,
# hugeslab-nbd has threads: -f follows them; -p for every process of it).
flush_test() {
	pids=$(for p in /proc/[0-9]*; do
		pp=$(awk '{ print $4 }' "$p/stat" 2>/dev/null)
		[ "${p#/proc/}" = "$SPID" ] || [ "$pp" = "$SPID" ] && echo "-p ${p#/proc/}"
	done)
	# shellcheck disable=SC2086 # a list of -p PID
	strace -f -tt -xx -s 4 -e trace=fsync,fdatasync,write,writev,sendmsg,sendto,send \
		-o $T/strace.log $pids 2>$T/strace.err &
	st=$!
	sleep 2
	: >$T/mark
	# 1. a direct write without fsync: the server must not sync
	dd if=$T/data of=$NBD bs=4096 count=1 seek=100 oflag=direct 2>/dev/null
	sleep 1
	before=$(grep -cE 'f(data)?sync\(' $T/strace.log)
	# 2. the same with fsync: blkdev_fsync sends NBD_CMD_FLUSH
	dd if=$T/data of=$NBD bs=4096 count=1 seek=101 oflag=direct conv=fsync 2>/dev/null
	sleep 1
	kill $st
	wait $st 2>/dev/null
	after=$(grep -cE 'f(data)?sync\(' $T/strace.log)
	echo "# server syncs: $before after the plain write, $after after the fsync"
	[ "$before" -eq 0 ] || { echo "# a write without FLUSH made the server sync"; return 1; }
	[ "$after" -gt 0 ] || { echo "# the fsync did not reach the server as a sync"; return 1; }
	# The FLUSH reply (simple reply magic 0x67446698) is the last reply
	# the server sends: dd's O_DIRECT write was answered before dd called
	# fsync, and nothing else runs. It must start after the server's last
	# sync call returned, whichever thread made either call (-tt times).
	awk '
		/f(data)?sync\(/ && /= 0$/ { s = $2 }
		/f(data)?sync resumed>/ && /= 0$/ { s = $2 }
		/\\x67\\x44\\x66\\x98/ { r = $2 }
		END {
			print "# last sync returned at " s ", last reply sent at " r
			exit !(s != "" && r > s)
		}' $T/strace.log >$T/order.log
	rc=$?
	cat $T/order.log
	if [ $rc -ne 0 ]; then
		echo "# the FLUSH was not replied to after a completed sync"
		sed 's/^/# /' $T/strace.log | tail -n 20
		return 1
	fi
}
check "fsync in the guest arrives as a FLUSH, replied to after the server's sync" flush_test

# ------------------------------------------------------------ ext4
# The host's mke2fs.conf: the same features on both kernels' runs.
export MKE2FS_CONFIG=/payload/etc/mke2fs.conf
check "mkfs.ext4 on $NBD" mkfs.ext4 -q -F -b 4096 $NBD
fs_write() {
	mount -t ext4 $NBD /mnt/nbd || return 1
	i=0
	while [ $i -lt 16 ]; do
		head -c $((i * 65536 + 1234)) /dev/urandom >/mnt/nbd/f$i || return 1
		i=$((i + 1))
	done
	mkdir -p /mnt/nbd/dir/sub && cp $T/data /mnt/nbd/dir/sub/data || return 1
	(cd /mnt/nbd && find . -type f | sort | xargs sha256sum) >$T/sums || return 1
	sync && umount /mnt/nbd
}
check "mount, write 17 files, sync, umount" fs_write
check "e2fsck -n -f finds the file system clean" e2fsck -n -f $NBD
fs_verify() {
	echo 3 >/proc/sys/vm/drop_caches
	mount -t ext4 -o ro $NBD /mnt/nbd || return 1
	(cd /mnt/nbd && sha256sum -c $T/sums) || { umount /mnt/nbd; return 1; }
	umount /mnt/nbd
}
check "files read back identical after a remount" fs_verify

nbd-client -d $NBD >/dev/null 2>&1
[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
sleep 0.5
{ head -n 1 $T/server.log; tail -n 1 $T/server.log; } 2>/dev/null | sed 's/^/# server: /'

#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-guest.sh of the NBD bench in the VM (bench/nbd/vm.sh builds the
# payload). busybox sh only: no bash, no python. It runs the same servers,
# workloads and fio jobs as bench/nbd/run.sh, on the virtio disk itself
# ($HUGESLAB_TEST_DISK, a block device: every server exports it), and
# records raw results only; the host turns them into the table
# (bench/nbd/vmresults.py, bench/nbd/report.py):
#   R/meta.tsv                   kernel, CPUs, memory, disk, sizes
#   R/rN/SERVER/WORKLOAD.json    fio JSON (the nbd engine; "odirect" is fio
#                                io_uring O_DIRECT on the disk itself)
#   R/rN/SERVER/WORKLOAD.mon     "cpu_ticks peak_rss_kib vmhwm_kib" of the
#                                server's process tree, sampled by a shell
#                                loop over /proc/PID/stat
#   R/rN/SERVER/WORKLOAD.cache   page cache before and after, /proc/meminfo
#                                Buffers + Cached - Shmem, in KiB (and
#                                WORKLOAD.meminfo0/1, the whole files)
#   R/rN/SERVER/WORKLOAD.rc      fio's exit status (a verify error is not 0)
#   R/rN/loopback.json           fio JSON of one loopback TCP connection
#                                (loopback.log.N: the log of try N)
#   R/rN/SERVER/maps             hugeslab-nbd: the /proc/PID/maps lines of
#                                its pool (/hugeslab: the module's memory)
# Then R goes to the serial log as base64 of a tar.gz between the lines
# "# nbd-results begin" and "# nbd-results end". TAP on stdout: one line per
# server start, pool check and workload.
#
# /payload/nbd.conf sets REPS, SERVERS, POOL (hugeslab-nbd's --pool),
# POOL_MIB (all it pins, the small-buffer pool included), INJECT, WORKLOADS (lines of "name rw
# bs jobs qd size_per_job"), LOOP_MB and NOTE (what was sized down).
cd /payload || exit 1
PATH=/payload/bin:$PATH
export PATH
DISK=${HUGESLAB_TEST_DISK:-/dev/vda}
R=/tmp/nbd-results
PORT=10809
# shellcheck source=/dev/null
. /payload/nbd.conf
mkdir -p $R
# Hold the disk open for the whole run: the last close of a block device
# drops its page cache (kill_bdev), so without this a buffered server's
# cached pages would be gone by the time the growth is measured.
exec 9<"$DISK"

n=0
tap() { # tap STATUS NAME: one TAP line
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
# shellcheck disable=SC3045 # busybox ash has ulimit -l
ulimit -l unlimited 2>/dev/null
# The plugin and the fio engine are found at their Debian paths.
if [ -d /payload/nbdkit-plugins ]; then
	mkdir -p /usr/lib/x86_64-linux-gnu/nbdkit
	ln -sfn /payload/nbdkit-plugins /usr/lib/x86_64-linux-gnu/nbdkit/plugins
fi
MODULE=no
if [ -f /payload/hugeslab.ko ]; then
	insmod /payload/hugeslab.ko && MODULE=yes
	tap "$([ $MODULE = yes ]; echo $?)" "hugeslab.ko loaded"
fi
{
	printf 'kernel\t%s\n' "$(uname -r)"
	printf 'cpus\t%s\n' "$(grep -c ^processor /proc/cpuinfo)"
	printf 'mem\t%s\n' "$(awk '/^MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
	printf 'disk\t%s (%d MiB, virtio-blk, qemu cache=none)\n' "$DISK" \
		$(($(cat /sys/block/${DISK#/dev/}/size) / 2048))
	printf 'module\t%s\n' $MODULE
	printf 'pool_mib\t%s\n' "$POOL_MIB"
	printf 'note\t%s\n' "$NOTE"
	printf 'loadavg_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >$R/meta.tsv

# tree PID: "ticks rss_kib" of PID and all its descendants (nbd-server
# forks one child per connection): utime+stime+cutime+cstime and RSS pages
# from /proc/*/stat, read in one pass so the sum is of one moment.
tree() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
		{
			pid = $1; sub(/^.*\) /, "")   # fields after "(comm) "
			ppid[pid] = $2; t[pid] = $12 + $13 + $14 + $15; rss[pid] = $22 * 4
		}
		END {
			keep[root] = 1
			do {
				more = 0
				for (p in ppid)
					if (!(p in keep) && (ppid[p] in keep)) { keep[p] = 1; more = 1 }
			} while (more)
			for (p in keep) { tt += t[p]; rr += rss[p] }
			print tt + 0, rr + 0
		}'
}

# mon PID FILE: sample until FILE.stop appears; then "ticks peak vmhwm".
# tree's two numbers become positional parameters, split on purpose.
# shellcheck disable=SC2046
mon() {
	echo 5 >/proc/$1/clear_refs 2>/dev/null
	set -- "$1" "$2" $(tree "$1")
	peak=$4
	while [ ! -e "$2.stop" ]; do
		set -- "$1" "$2" "$3" "$peak" $(tree "$1")
		[ "${6:-0}" -gt "$peak" ] && peak=$6
		sleep 0.1
	done
	# the parent reaps the children of closed connections
	sleep 0.3
	set -- "$1" "$2" "$3" "$peak" $(tree "$1")
	hwm=$(awk '/^VmHWM/ { print $2 }' /proc/$1/status 2>/dev/null)
	echo "$(($5 - $3)) $4 ${hwm:-0}" >"$2"
}

cached_kib() {
	awk '/^Buffers:/ { b = $2 } /^Cached:/ { c = $2 } /^Shmem:/ { s = $2 }
		END { print b + c - s }' /proc/meminfo
}

# fio_job: the job file, the same as on the host
# shellcheck source=bench/nbd/fiojob.sh
. /payload/fiojob.sh

# run_one SERVER PID name rw bs jobs qd size
run_one() {
	srv=$1 pid=$2 name=$3
	d=$RD/$srv
	shift 3
	if [ "$srv" = odirect ]; then
		eng="ioengine=io_uring
direct=1
filename=$DISK"
	else
		eng="ioengine=nbd
uri=$URI"
	fi
	fio_job "$eng" "$@" >$d/$name.fio
	sync
	blockdev --flushbufs "$DISK" 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	c0=$(cached_kib)
	cp /proc/meminfo $d/$name.meminfo0
	rm -f $d/$name.mon.stop
	[ "$pid" ] && { mon "$pid" $d/$name.mon & mp=$!; }
	(cd $d && fio --output-format=json --output=$d/$name.json $d/$name.fio >$d/$name.log 2>&1)
	rc=$?
	echo $rc >$d/$name.rc
	if [ "$pid" ]; then
		: >$d/$name.mon.stop
		wait $mp
	fi
	echo "$c0 $(cached_kib)" >$d/$name.cache
	cp /proc/meminfo $d/$name.meminfo1
	tap $rc "$srv $name (repetition $rep): fio exit $rc$(grep -m1 -i 'verify' $d/$name.log | sed 's/^/, /')"
}

workloads() { # workloads SERVER PID; a redirected loop, not a pipe: no
	# subshell, so the TAP counter goes on
	mkdir -p $RD/$1
	while read -r w; do
		[ "$w" ] || continue
		# shellcheck disable=SC2086 # the fields are words
		run_one "$1" "$2" $w </dev/null
		# Negative control (INJECT=corrupt): 4 KiB at offset 0, inside
		# every workload's first region, changed behind the server's
		# back; the following read must then fail to verify.
		case "$INJECT $w" in
		"corrupt "*write*)
			dd if=/dev/urandom of="$DISK" bs=4096 count=1 conv=notrunc oflag=direct 2>/dev/null ;;
		esac
	done <<EOF
$WORKLOADS
EOF
}

tcp_listening() {
	awk -v a="$(printf '0100007F:%04X' $PORT)" '$2 == a && $4 == "0A"' /proc/net/tcp | grep -q .
}

# start SERVER DIR: sets SPID and URI, 0 once a handshake succeeds.
start() {
	srv=$1 d=$2
	URI=nbd://127.0.0.1:$PORT/
	SPID=
	case $srv in
	hugeslab-nbd)
		hugeslab-nbd --listen 127.0.0.1:$PORT --pool "$POOL" "$DISK" \
			>$d/stdout.log 2>$d/server.log &
		SPID=$!
		;;
	nbd-server)
		# No user/group lines: the initramfs has no /etc/passwd.
		cat >$d/nbd-server.conf <<CONF
[generic]
	port = $PORT
	listenaddr = 127.0.0.1
[bench]
	exportname = $DISK
	flush = true
	fua = true
	trim = true
CONF
		rm -f $d/pid
		nbd-server -C $d/nbd-server.conf -p $d/pid >$d/server.log 2>&1 || return 1
		i=0
		while [ ! -s $d/pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		SPID=$(cat $d/pid 2>/dev/null)
		URI=nbd://127.0.0.1:$PORT/bench
		;;
	nbdkit)
		nbdkit -f -i 127.0.0.1 -p $PORT file "$DISK" cache=none >$d/server.log 2>&1 &
		SPID=$!
		;;
	qemu-nbd)
		qemu-nbd -f raw --cache=none --aio=io_uring -b 127.0.0.1 -p $PORT \
			-e 16 -t "$DISK" >$d/server.log 2>&1 &
		SPID=$!
		;;
	esac
	[ "$SPID" ] || return 1
	i=0
	while [ $i -lt 300 ]; do
		tcp_listening && nbdinfo --size "$URI" >$d/size 2>>$d/server.log && return 0
		kill -0 "$SPID" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

stop() {
	kill -TERM "$SPID" 2>/dev/null
	i=0
	while kill -0 "$SPID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	# the port must be free for the next server
	i=0
	while tcp_listening && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

# loopback: one TCP connection, fio's net engine: a sender job writes
# LOOP_MB MiB to a receiver job in the same fio. The receiver asks for more
# than is sent and ends at the sender's close (when it asks for the same,
# the sender can die of SIGPIPE on fio 3.33); the sender's MB/s is the
# figure.
loopback() {
	cat >$RD/loopback.fio <<JOB
[global]
ioengine=net
protocol=tcp
bs=1m
size=${LOOP_MB}m
[receiver]
listen
port=$((PORT + 1))
size=$((LOOP_MB * 2))m
rw=read
[sender]
hostname=127.0.0.1
port=$((PORT + 1))
startdelay=1
rw=write
JOB
	# fio 3.33's net engine sometimes dies at the end (SIGPIPE in the
	# sender, then a double free: 2 of 3 repetitions of one bench run):
	# up to 3 tries, each one's log kept.
	lrc=1 try=1
	while [ $lrc != 0 ] && [ $try -le 3 ]; do
		fio --output-format=json --output=$RD/loopback.json $RD/loopback.fio \
			>$RD/loopback.log.$try 2>&1 </dev/null
		lrc=$?
		try=$((try + 1))
	done
	tap $lrc "loopback TCP (fio net engine, repetition $rep, $((try - 1)) tries)"
}

rep=1
while [ $rep -le "$REPS" ]; do
	RD=$R/r$rep
	mkdir -p $RD
	loopback
	workloads odirect ""
	for srv in $SERVERS; do
		mkdir -p $RD/$srv
		start $srv $RD/$srv
		rc=$?
		tap $rc "$srv serves $DISK on 127.0.0.1:$PORT (repetition $rep)"
		if [ $rc != 0 ]; then
			sed 's/^/# /' $RD/$srv/server.log | tail -n 10
			stop
			continue
		fi
		if [ $srv = hugeslab-nbd ]; then
			# The kernel's map of the process names the pool's file:
			# "/hugeslab" is the module's (module/backing.c), the
			# library's fallback would be /memfd:hugeslab.
			grep -E 'hugeslab' /proc/$SPID/maps >$RD/$srv/maps
			if [ $MODULE = yes ]; then
				grep -qE ' (/dev)?/hugeslab( \(deleted\))?$' $RD/$srv/maps
				tap $? "hugeslab-nbd's pool is mapped from /dev/hugeslab"
			fi
		fi
		workloads $srv "$SPID"
		stop
	done
	rep=$((rep + 1))
done
printf 'loadavg_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>$R/meta.tsv

echo "1..$n"
echo "# nbd-results begin"
tar -C $R -cf - . | gzip -c | base64
echo "# nbd-results end"

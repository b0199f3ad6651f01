#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (selftests/pools/run.sh): persistent pools and
# their nodes (issue 14), as an operator uses them, printing TAP.
#   a. hugeslabctl create fio0 --owner nobody --mode 0600, the node's stat;
#   b. unmodified fio on /dev/vda with --iomem=mmapshared:<the node>,
#      io_uring fixed buffers, O_DIRECT, crc32c verify, as nobody within
#      RLIMIT_MEMLOCK: PMD-mapped in fio's smaps, verify passed; the same
#      job with --iomem=malloc beside it; both rows as "# fio" comments;
#      and the job under too small an RLIMIT_MEMLOCK must fail;
#   c. warm restart: warmd writes records into a persistent pool, kill -9
#      mid-stream, restarted it finds every reported record intact (and a
#      wrong seed must not); a non-persistent pool is gone after kill -9;
#   d. pools shows the holder, destroy is refused (exit 6) while warmd
#      holds the pool, --force works, the node goes, warmd's mapping still
#      reads its records;
#   e. hugeslabctl load of a pools.conf, twice, and a conflicting one.
# A setup step that fails is a "not ok", never a skip.

cd /payload || exit 1
PATH=/payload:$PATH
HC=/payload/hugeslabctl
DIR=/dev/hugeslab-pools
DISK=${HUGESLAB_TEST_DISK:-/dev/vda}
NOBODY=65534
# fio registers iodepth buffers of bs (32 x 64 KiB = 2 MiB) with io_uring
# (--fixedbufs), which charges them to RLIMIT_MEMLOCK: on the pool, the
# 2 MiB page they sit in, once.  The pool's own pages are charged to its
# owner at CREATE, never checked against this limit, and opening the node
# charges nothing (Documentation/hugeslab/design.rst, "Persistent pools").
# So fio needs 2048 KiB, and must fail with one page less.
MEMLOCK_KB=2048
MEMLOCK_SHORT_KB=2044
PLAN=27
n=0
echo "# kernel $(uname -r)"
echo "1..$PLAN"

tap() {	# tap RC DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - pools: $2"
	else
		echo "not ok $n - pools: $2"
	fi
}

# show FILE: a file's lines as TAP comments.
show() {
	sed 's/^/#   /' "$1"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s (its own counter: the
# caller's variables stay untouched).
wait_for() {
	_wf=$(($1 * 10))
	shift
	while [ $_wf -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_wf=$((_wf - 1))
	done
	return 1
}

lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# has_lines FILE N: FILE has at least N lines (re-read at each call).
has_lines() {
	[ "$(lines "$1")" -ge "$2" ]
}

# The row of pool NAME in `hugeslabctl pools`: "PERSISTENT ATTACHED".
pool_cols() {
	$HC pools | awk -v name="$1" '$2 == name { print $(NF - 1), $NF }'
}

# The row of a destroyed pool (it has no name any more) held by PID.
destroyed_row() {
	$HC pools | awk -v pid="$1" '
		$(NF - 1) == "destroyed" {
			n = split($NF, p, ",")
			for (i = 1; i <= n; i++) if (p[i] == pid) found = 1
		}
		END { exit !found }'
}

# smaps of every fio process: "SIZE_KB PMD_KB VMA" of the pool's mapping,
# found by its path (the node, or the pool's shmem file "hugeslab").
fio_smaps() {
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = fio ] || continue
		awk '
			function flush() {
				if (hdr != "") print size, pmd, hdr
				hdr = ""
			}
			/^[0-9a-f]+-[0-9a-f]+ / {
				flush()
				if ($0 ~ /hugeslab/) { hdr = $0; size = 0; pmd = 0 }
				next
			}
			hdr != "" && /^Size:/ { size += $2 }
			hdr != "" && /^(FilePmdMapped|ShmemPmdMapped):/ { pmd += $2 }
			END { flush() }
		' "$p/smaps" 2>/dev/null
	done | sort -n -k 2 | tail -n 1
}

# One row of a fio JSON answer: MB/s, IOPS and mean latency per direction.
fio_row() {
	awk '
		/^ *"(read|write|trim|sync)" : \{/ { sec = $1; gsub(/"/, "", sec); next }
		sec != "" && /^ *"bw" :/ && !(sec in bw) { v = $3; sub(/,/, "", v); bw[sec] = v }
		sec != "" && /^ *"iops" :/ && !(sec in iops) { v = $3; sub(/,/, "", v); iops[sec] = v }
		sec != "" && /^ *"lat_ns" : \{/ { inlat = 1 }
		inlat && /^ *"mean" :/ { v = $3; sub(/,/, "", v); lat[sec] = v; inlat = 0 }
		END {
			printf "read %7.1f MB/s %7.0f IOPS lat %8.0f us | write %7.1f MB/s %7.0f IOPS lat %8.0f us\n",
				bw["read"] * 1024 / 1e6, iops["read"], lat["read"] / 1000,
				bw["write"] * 1024 / 1e6, iops["write"], lat["write"] / 1000
		}' "$1"
}

# ---------------------------------------------------------------- setup

if ! insmod ./hugeslab.ko; then
	while [ $n -lt $PLAN ]; do tap 1 "setup: insmod hugeslab.ko"; done
	exit 0
fi
# The VM has no users: the ones the tests name.
mkdir -p /etc
echo "root:x:0:0:root:/root:/bin/sh" >/etc/passwd
echo "nobody:x:$NOBODY:$NOBODY:nobody:/nonexistent:/bin/false" >>/etc/passwd
echo "root:x:0:" >/etc/group
echo "nogroup:x:$NOBODY:" >>/etc/group
chown $NOBODY "$DISK"
echo "# memlock: fio and warmd run as uid $NOBODY with RLIMIT_MEMLOCK ${MEMLOCK_KB} KiB"

# ---------------------------------------------------------------- a. create

$HC create fio0 8M --owner nobody --mode 0600 >/tmp/create.out 2>&1
tap $? "hugeslabctl create fio0 8M --owner nobody --mode 0600"
show /tmp/create.out
st=$(stat -c '%u %g %a %F' $DIR/fio0 2>&1)
echo "# stat $DIR/fio0: $st"
[ "$st" = "$NOBODY $NOBODY 600 character special file" ]
tap $? "node $DIR/fio0 is a char device of nobody:nogroup, mode 0600"

# ---------------------------------------------------------------- b. fio

FIO="--name=pool --filename=$DISK --ioengine=io_uring --fixedbufs --direct=1
	--rw=randrw --bs=64k --iodepth=32 --size=64M --verify=crc32c
	--output-format=json"

# run_fio TAG MEMLOCK_KB IOMEM [FIO OPTION...]: fio as nobody, in a
# directory of nobody's (fio saves its verify state in the cwd);
# /tmp/fio-TAG.{json,err}.
mkdir -p /tmp/fio && chown $NOBODY /tmp/fio
run_fio() {
	_tag=$1 _ml=$2 _mem=$3
	shift 3
	(cd /tmp/fio && /payload/runas $NOBODY $NOBODY "$_ml" fio $FIO \
		--iomem="$_mem" "$@" >/tmp/fio-"$_tag".json 2>/tmp/fio-"$_tag".err)
}

# Warm-up, not reported: write all of the job's range once, so no row
# pays for the host allocating the sparse disk image, then the job itself,
# so that under TCG no row pays for translating fio's code (measured: the
# first run after a different warm-up job came out at half the speed).
run_fio fill $MEMLOCK_KB malloc --rw=write --bs=1m --iodepth=2 --verify=0
run_fio warmup $MEMLOCK_KB malloc
run_fio pool $MEMLOCK_KB mmapshared:$DIR/fio0 &
fio_pid=$!
smaps=
held=
# Sample while fio runs: its smaps, and pools' ATTACHED column.
while kill -0 $fio_pid 2>/dev/null; do
	[ -z "$held" ] && held=$(pool_cols fio0 | awk '$2 != "-" { print $2 }')
	s=$(fio_smaps)
	if [ -n "$s" ]; then
		# Keep a sample with PMDs in it once there is one.
		set -- $s
		[ -z "$smaps" ] || [ "$2" -gt 0 ] && smaps=$s
	fi
	sleep 0.1
done
wait $fio_pid
rc=$?
[ $rc -eq 0 ] && grep -q '"error" : 0' /tmp/fio-pool.json &&
	! grep -qi 'verify' /tmp/fio-pool.err
tap $? "fio --iomem=mmapshared:$DIR/fio0 --fixedbufs --direct=1 --verify=crc32c as nobody: exit $rc, verify passed"
show /tmp/fio-pool.err
echo "# fio smaps (size kB, PMD-mapped kB, VMA): ${smaps:-none seen}"
set -- $smaps
[ -n "$smaps" ] && [ "$2" -gt 0 ] && [ "$2" -eq $(($1 / 2048 * 2048)) ]
tap $? "fio's mapping of the pool is PMD-mapped (FilePmdMapped/ShmemPmdMapped)"
echo "# pools ATTACHED of fio0 while fio ran: ${held:-none}"
[ -n "$held" ]
tap $? "hugeslabctl pools lists fio as attached to fio0"

# The side-by-side rows, without the sampling above (it takes CPU from
# fio under TCG): pool and malloc alternate, twice, so an order effect or
# the noise of the run shows as a difference between the two rounds.
r=0
for t in pool1 malloc1 pool2 malloc2; do
	case $t in
	pool*) run_fio $t $MEMLOCK_KB mmapshared:$DIR/fio0 ;;
	*) run_fio $t $MEMLOCK_KB malloc ;;
	esac
	rc=$?
	grep -q '"error" : 0' /tmp/fio-$t.json && [ $rc -eq 0 ] ||
		{ r=1; echo "# $t: exit $rc"; show /tmp/fio-$t.err; }
done
[ $r -eq 0 ]
tap $? "fio rows pool, malloc, pool, malloc: same job and device, every verify passed"
for t in pool1 malloc1 pool2 malloc2; do
	printf '# fio %s %-7s %s\n' "$(uname -r)" "$t" "$(fio_row /tmp/fio-$t.json)"
done

# Negative control: one page less than fio's buffers must fail.
run_fio small $MEMLOCK_SHORT_KB mmapshared:$DIR/fio0
rc=$?
echo "# fio with RLIMIT_MEMLOCK $MEMLOCK_SHORT_KB KiB: exit $rc:"
{ cat /tmp/fio-small.err; grep -m 1 '"error"' /tmp/fio-small.json; } | head -n 5 |
	sed 's/^/#   /'
[ $rc -ne 0 ]
tap $? "fio on the pool fails with RLIMIT_MEMLOCK $MEMLOCK_SHORT_KB KiB, one page short of its buffers"

# ---------------------------------------------------------------- c. warm restart

$HC create warm0 8M --owner nobody --mode 0600 >/tmp/create.out 2>&1
tap $? "hugeslabctl create warm0 8M --owner nobody"
show /tmp/create.out
rep=/tmp/warm0.rep
rm -f $rep
touch $rep && chown $NOBODY $rep
./runas $NOBODY $NOBODY $MEMLOCK_KB ./warmd run $DIR/warm0 $rep --delay-us 5000 \
	>/tmp/warm1.out 2>&1 &
w=$!
wait_for 120 has_lines $rep 200
kill -9 $w
wait $w
k=$(lines $rep)
echo "# warmd (pid $w) killed with SIGKILL after $k records reported"
[ "$k" -ge 200 ] && [ "$k" -lt 2048 ]
tap $? "warmd killed -9 mid-stream ($k of 2048 records reported)"
[ "$(pool_cols warm0)" = "yes -" ]
tap $? "warm0 lives on with no process attached: $(pool_cols warm0)"

# Negative control: verifying with the wrong seed must find record 0 bad.
./runas $NOBODY $NOBODY $MEMLOCK_KB ./warmd run $DIR/warm0 $rep --seed 2 \
	>/tmp/warm-neg.out 2>&1
rc=$?
show /tmp/warm-neg.out
[ $rc -eq 1 ] && [ "$(lines $rep)" -eq "$k" ]
tap $? "restart verifying a wrong pattern fails (exit $rc) and writes nothing"

./runas $NOBODY $NOBODY $MEMLOCK_KB ./warmd run $DIR/warm0 $rep --delay-us 20000 \
	>/tmp/warm2.out 2>&1 &
w=$!
wait_for 60 grep -q '^warm ' /tmp/warm2.out
show /tmp/warm2.out
grep -qx "warm $k" /tmp/warm2.out
tap $? "warmd restarted, re-attached: all $k reported records intact"

# Negative control: a pool that is not persistent dies with its process.
./warmd create warmtmp 4 /tmp/warmtmp.rep >/tmp/warmtmp.out 2>&1 &
t=$!
wait_for 60 has_lines /tmp/warmtmp.rep 20
[ -c $DIR/warmtmp ]
had_node=$?
kill -9 $t
wait $t
wait_for 5 test ! -e $DIR/warmtmp
./warmd run $DIR/warmtmp /tmp/warmtmp.rep >/tmp/warmtmp2.out 2>&1
rc=$?
show /tmp/warmtmp2.out
[ $had_node -eq 0 ] && [ $rc -eq 2 ] && [ ! -e $DIR/warmtmp ]
tap $? "non-persistent control: node gone after kill -9, restart finds no pool (exit $rc)"

# ---------------------------------------------------------------- d. destroy

cols=$(pool_cols warm0)
echo "# pools: warm0 $cols (warmd pid $w)"
$HC pools | sed 's/^/#   /'
[ "${cols%% *}" = yes ] && echo ",${cols#* }," | grep -q ",$w,"
tap $? "hugeslabctl pools: warm0 persistent, warmd's pid $w attached"
$HC pools --json | grep -q "\"name\":\"warm0\".*\"persistent\":true.*\"attachers\":\[{\"pid\":$w,"
tap $? "hugeslabctl pools --json: warm0 persistent, attachers has pid $w"

$HC destroy warm0 >/tmp/destroy.out 2>&1
rc=$?
show /tmp/destroy.out
[ $rc -eq 6 ] && grep -q "pid $w (warmd) uid $NOBODY" /tmp/destroy.out && [ -c $DIR/warm0 ]
tap $? "hugeslabctl destroy warm0 refused while warmd holds it (exit $rc), names pid $w"

$HC destroy warm0 --force >/tmp/destroy.out 2>&1
rc=$?
show /tmp/destroy.out
tap $rc "hugeslabctl destroy warm0 --force"
[ ! -e $DIR/warm0 ]
tap $? "after destroy --force the node $DIR/warm0 is gone"
destroyed_row $w
tap $? "pools shows the pool destroyed, still held by pid $w"
$HC create warm0 2M >/tmp/create.out 2>&1
rc=$?
$HC destroy warm0 >>/tmp/create.out 2>&1
rc2=$?
show /tmp/create.out
[ $rc -eq 0 ] && [ $rc2 -eq 0 ]
tap $? "the name warm0 is free again at once (create $rc, destroy $rc2)"

kill -TERM $w
wait $w
rc=$?
show /tmp/warm2.out
[ $rc -eq 0 ] && grep -q '^final [0-9]* intact$' /tmp/warm2.out
tap $? "warmd's mapping still reads every record after destroy --force (exit $rc)"
wait_for 5 sh -c "! $HC pools | grep -q destroyed"
tap $? "the destroyed pool is freed once warmd is gone"

# ---------------------------------------------------------------- e. load

cat >/tmp/pools.conf <<EOF
# boot-time pools (hugeslab-pools.service)
conf0 4M owner=nobody mode=0640
conf1 2M group=nogroup mode=0660   # root's, group nogroup
EOF
$HC load /tmp/pools.conf >/tmp/load.out 2>&1
rc=$?
show /tmp/load.out
s0=$(stat -c '%u %g %a' $DIR/conf0 2>&1)
s1=$(stat -c '%u %g %a' $DIR/conf1 2>&1)
echo "# conf0: $s0, conf1: $s1"
[ $rc -eq 0 ] && [ "$s0" = "$NOBODY $NOBODY 640" ] && [ "$s1" = "0 $NOBODY 660" ]
tap $? "hugeslabctl load creates conf0 and conf1 with their owners and modes"
[ "$(pool_cols conf0)" = "yes -" ] && [ "$(pool_cols conf1)" = "yes -" ]
tap $? "the loaded pools are persistent"
$HC load /tmp/pools.conf >/tmp/load.out 2>&1
rc=$?
show /tmp/load.out
[ $rc -eq 0 ] && [ "$(grep -c 'left alone' /tmp/load.out)" -eq 2 ] &&
	! grep -q created /tmp/load.out
tap $? "a second load is a no-op (exit $rc)"
echo "conf1 4M" >/tmp/conflict.conf
$HC load /tmp/conflict.conf >/tmp/load.out 2>&1
rc=$?
show /tmp/load.out
[ $rc -eq 1 ] && grep -q 'conflict.conf:1: conf1 exists with size 2 MiB, this line asks for 4 MiB' /tmp/load.out
tap $? "load of a different size for conf1 is an error on line 1 (exit $rc)"

# ---------------------------------------------------------------- cleanup

r=0
for p in conf0 conf1 fio0; do
	$HC destroy $p >/dev/null || r=1
done
wait_for 5 sh -c "$HC status --json | grep -q '\"pinned_bytes\":0,'" || r=1
[ $r -eq 0 ]
tap $? "every pool destroyed, nothing pinned: $($HC status --json)"
[ $n -eq $PLAN ] || echo "# ran $n tests, planned $PLAN"

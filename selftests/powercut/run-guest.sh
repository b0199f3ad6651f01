#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The power-cut lane, inside the test VM (scripts/vm/run.sh, payload built
# by selftests/powercut/run-vm.sh). Prints TAP.
#
# /dev/vda is cut with dm-linear into: BASE (the sink's disk: data, then
# index), LOG (dm-log-writes' log) and SCRATCH (the replay target, laid out
# like BASE). Per run: BASE under a log-writes target, hugeslab-sink on
# its data and index parts, hugeslab-source over loopback with
# --acked-log into a FIFO read by pc-mark (a dm mark per ack), then
# pc-replay tries the cut points on SCRATCH and checks every acked record,
# independently and with the sink's own --verify --acked.
#
# The workload: CONNS connections (streams), BYTES in all, record sizes
# SIZES. Run 1 uses durable acks and must lose nothing; run 2, the negative
# control, uses --fsync none and must lose acked records. Both use the same
# workload.
set -u

P=/payload
DISK=${HUGESLAB_TEST_DISK:-/dev/vda}
DURABLE_FSYNC=${PC_DURABLE_FSYNC:-batch}
BYTES=${PC_BYTES:-8M}
SIZES=${PC_SIZES:-512-64K}
CONNS=${PC_CONNS:-2}
MAX_CUTS=${PC_MAX_CUTS:-60}
# Layout in MiB. The log holds every write (with a sector of header each)
# and every mark.
DATA_MB=24
IDX_MB=4
BASE_MB=$((DATA_MB + IDX_MB))
LOG_MB=160
T=/tmp/powercut
n=0

export PATH="$P:$P/sink/bin:$PATH"

sect() { echo $(($1 * 2048)); }

tap() {
	n=$((n + 1))
	echo "$1 $n $2"
}

fail_out() {
	echo "# $*"
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "# --- $f"
		tail -n 20 "$f" | sed 's/^/#   /'
	done
}

# No udev in the VM: DM_DISABLE_UDEV makes libdevmapper create and remove
# the /dev/mapper nodes itself.
dm() {
	DM_DISABLE_UDEV=1 dmsetup "$@" >>"$T/dmsetup.log" 2>&1 &&
		{ [ "$1" != create ] || [ -b "/dev/mapper/$2" ]; }
}

zero() {
	dd if=/dev/zero of="$1" bs=1M count="$2" conv=fsync 2>/dev/null
}

setup() {
	mkdir -p "$T"
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
	[ -f $P/hugeslab.ko ] && insmod $P/hugeslab.ko 2>/dev/null
	dm create pc-base --table "0 $(sect $BASE_MB) linear $DISK 0" &&
		dm create pc-log --table "0 $(sect $LOG_MB) linear $DISK $(sect $BASE_MB)" &&
		dm create pc-scratch --table "0 $(sect $BASE_MB) linear $DISK $(sect $((BASE_MB + LOG_MB)))"
}

# run NAME FSYNC: one logged run and its replay; sets RESULT (pc-replay's
# figures line) and returns pc-replay's exit status (0 nothing lost, 1 lost,
# 2 error) or 2 when the run itself failed.
run() {
	name=$1
	policy=$2
	RESULT=
	rm -f "$T/acks.fifo" "$T/acklog-$name" "$T/acked"
	# The log-writes target and the replay both assume a zeroed start.
	zero /dev/mapper/pc-base $BASE_MB && zero /dev/mapper/pc-scratch $BASE_MB &&
		zero /dev/mapper/pc-log 1 || return 2
	dm create pc-lw --table "0 $(sect $BASE_MB) log-writes /dev/mapper/pc-base /dev/mapper/pc-log" &&
		dm create pc-data --table "0 $(sect $DATA_MB) linear /dev/mapper/pc-lw 0" &&
		dm create pc-idx --table "0 $(sect $IDX_MB) linear /dev/mapper/pc-lw $(sect $DATA_MB)" ||
		return 2
	mkfifo "$T/acks.fifo" || return 2
	pc-mark pc-lw "$T/acklog-$name" <"$T/acks.fifo" >"$T/mark-$name.log" 2>&1 &
	mpid=$!
	hugeslab-sink -d /dev/mapper/pc-data -i /dev/mapper/pc-idx --fsync "$policy" \
		-p 16M --exit-after "$CONNS" -q --summary "$T/sink-$name.sum" >"$T/sink-$name.log" 2>&1 &
	spid=$!
	rc=0
	hugeslab-source -c "$CONNS" -n "$BYTES" -s "$SIZES" -w 1M --acked-log "$T/acks.fifo" -q \
		>"$T/source-$name.log" 2>&1 || rc=$?
	wait $spid || rc=$((rc + 100))
	wait $mpid || rc=$((rc + 1000))
	# Removing the target logs the writes no flush covered, after every mark.
	dm remove pc-data && dm remove pc-idx && dm remove pc-lw || rc=$((rc + 10000))
	if [ $rc -ne 0 ]; then
		echo "# run $name: source/sink/pc-mark/dmsetup status $rc"
		return 2
	fi
	dm create pc-sdata --table "0 $(sect $DATA_MB) linear /dev/mapper/pc-scratch 0" &&
		dm create pc-sidx --table "0 $(sect $IDX_MB) linear /dev/mapper/pc-scratch $(sect $DATA_MB)" ||
		return 2
	rc=0
	pc-replay -l /dev/mapper/pc-log -t /dev/mapper/pc-scratch -n $((DATA_MB << 20)) \
		-a "$T/acklog-$name" -c "$MAX_CUTS" -o "$T/acked" -- \
		hugeslab-sink --verify -d /dev/mapper/pc-sdata -i /dev/mapper/pc-sidx \
		--acked "$T/acked" >"$T/replay-$name.log" 2>&1 || rc=$?
	grep -v '^verify:' "$T/replay-$name.log" | sed 's/^/# /'
	RESULT=$(grep 'cut points tried' "$T/replay-$name.log" | sed 's/^pc-replay: //')
	dm remove pc-sdata
	dm remove pc-sidx
	return $rc
}

echo "1..3"
if setup; then
	tap ok "powercut: dm-log-writes over $DISK (base ${BASE_MB}M, log ${LOG_MB}M)"
else
	tap "not ok" "powercut: dm-log-writes setup"
	fail_out "dmsetup failed"
	exit 0
fi

t0=$(date +%s)
run durable "$DURABLE_FSYNC"
rc=$?
echo "# durable run: $(($(date +%s) - t0)) s"
if [ $rc -eq 0 ] && [ -n "$RESULT" ]; then
	tap ok "powercut: --fsync $DURABLE_FSYNC: $RESULT"
else
	tap "not ok" "powercut: --fsync $DURABLE_FSYNC: ${RESULT:-no result} (status $rc)"
	fail_out "durable run"
fi

# The negative control: the same run with acks that are not durable must
# lose acked records, or the lane could not see a loss at all.
t0=$(date +%s)
run control none
rc=$?
echo "# control run: $(($(date +%s) - t0)) s"
if [ $rc -eq 1 ] && [ -n "$RESULT" ] && ! echo "$RESULT" | grep -q 'records lost 0,'; then
	tap ok "powercut: negative control --fsync none loses acked records: $RESULT"
else
	tap "not ok" "powercut: negative control --fsync none found no loss: ${RESULT:-no result} (status $rc)"
	fail_out "control run"
fi

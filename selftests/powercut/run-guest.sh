#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The power-cut lane, inside the test VM (scripts/vm/run.sh, payload built
# by selftests/powercut/run-vm.sh). Prints TAP.
#
# /dev/vda is cut with dm-linear into: BASE (an ext4 file system holding
# the sink's data file and index), LOG (dm-log-writes' log), SCRATCH (the
# replay target) and COW (for the snapshot cut-check.sh mounts). Per run:
# BASE under a log-writes target, mounted; hugeslab-sink on DIR/data and
# DIR/data.idx; hugeslab-source over loopback with --acked-log into a FIFO
# read by pc-mark (a dm mark per ack); then pc-replay brings SCRATCH to
# each cut point and cut-check.sh checks every acked record there,
# independently (pc-check) and with the sink's own --verify --acked.
#
# The workload: CONNS connections (streams), BYTES in all, record sizes
# SIZES. Run 1 uses the sink's default acks, which must be durable, and
# must lose nothing; run 2, the negative control, uses --fsync none and
# must lose acked records.
#
# Then hugeslab-nbd's FLUSH and FUA (run_nbd): the server exports the
# log-writes target itself, raw (O_DIRECT); pc-nbd writes patterns to it,
# some with FUA, some plain and then FLUSH, and marks each extent the
# moment its FUA or FLUSH reply arrives; pc-replay -e checks, at every cut,
# each durable extent's CRC32C on the replayed device. Run 3 is the real
# server (must lose nothing), run 4 the negative control, a build that
# replies to FLUSH before fdatasync() and drops RWF_DSYNC from FUA writes
# (userspace/nbd build/static-broken, never installed): it must lose.
set -u

P=/payload
DISK=${HUGESLAB_TEST_DISK:-/dev/vda}
# Empty: the sink's default policy, which must be durable (issue 11).
DURABLE_FSYNC=${PC_DURABLE_FSYNC:-}
BYTES=${PC_BYTES:-8M}
SIZES=${PC_SIZES:-512-64K}
CONNS=${PC_CONNS:-2}
WINDOW=${PC_WINDOW:-1M}
MAX_CUTS=${PC_MAX_CUTS:-30}
# NBD runs: OPS writes over SLOTS 64 KiB slots (the first NBD_MB of BASE).
NBD_OPS=${PC_NBD_OPS:-160}
NBD_SLOTS=${PC_NBD_SLOTS:-48}
# Two connections on two workers: a FLUSH on one must cover writes replied
# to on the other (CAN_MULTI_CONN).
NBD_CONNS=2
NBD_MB=3
NBD_MAX_CUTS=${PC_NBD_MAX_CUTS:-200}
# In the durable run, every RESTART_EVERY-th checked cut also restarts the
# sink on the recovered files and checks old and new acks (cut-check.sh).
RESTART_EVERY=${PC_RESTART_EVERY:-8}
# Layout in MiB (run-vm.sh gives the disk 416 MiB). The log holds every
# write (with a sector of header each) and every mark.
BASE_MB=96
LOG_MB=192
COW_MB=16
T=/tmp/powercut
M=$T/fs
n=0

export PATH="$P:$P/sink/bin:$PATH"
export PC_SCRATCH_SECTORS=$((BASE_MB * 2048))
export MKE2FS_CONFIG=$P/mke2fs.conf

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

setup() {
	mkdir -p "$T" "$M"
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
	[ -f $P/hugeslab.ko ] && insmod $P/hugeslab.ko 2>/dev/null
	at=0
	for part in base:$BASE_MB log:$LOG_MB scratch:$BASE_MB cow:$COW_MB; do
		mb=${part#*:}
		dm create "pc-${part%:*}" --table "0 $(sect "$mb") linear $DISK $(sect $at)" ||
			return 1
		at=$((at + mb))
	done
}

# run NAME FSYNC RESTART_EVERY: one logged run and its replay. Sets RESULT (the figures)
# and returns 0 (nothing lost), 1 (lost or verify failed) or 2 (error).
run() {
	name=$1
	policy=$2
	restart_every=$3
	RESULT=
	rm -f "$T/acks.fifo" "$T/acklog-$name" "$T/acked" "$T/tally-$name"
	# A fresh file system; the replay target starts as a copy of it, the
	# log empty. No lazy init: no background writes during the run.
	# commit=60: ext4's periodic journal commit cannot make an ack durable
	# by luck within the run; only the sink's own syncs do.
	step=mkfs
	# The full path: busybox's own mke2fs applet knows no ext4.
	if ! {
		$P/mke2fs -q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 \
		/dev/mapper/pc-base >"$T/mkfs.log" 2>&1 &&
		step=copy &&
		dd if=/dev/mapper/pc-base of=/dev/mapper/pc-scratch bs=1M conv=fsync 2>>"$T/mkfs.log" &&
		dd if=/dev/zero of=/dev/mapper/pc-log bs=1M count=1 conv=fsync 2>>"$T/mkfs.log" &&
		step=log-writes &&
		dm create pc-lw --table "0 $(sect $BASE_MB) log-writes /dev/mapper/pc-base /dev/mapper/pc-log" &&
		step=mount &&
		mount -t ext4 -o commit=60 /dev/mapper/pc-lw "$M" 2>"$T/mount.log" &&
		mkfifo "$T/acks.fifo"
	}; then
		echo "# run $name: $step failed"
		return 2
	fi
	pc-mark pc-lw "$T/acklog-$name" <"$T/acks.fifo" >"$T/mark-$name.log" 2>&1 &
	mpid=$!
	# shellcheck disable=SC2086 # no policy: no option
	hugeslab-sink -d "$M/data" -i "$M/data.idx" ${policy:+--fsync $policy} \
		-p 16M --exit-after "$CONNS" -q --summary "$T/sink-$name.sum" >"$T/sink-$name.log" 2>&1 &
	spid=$!
	rc=0
	hugeslab-source -c "$CONNS" -n "$BYTES" -s "$SIZES" -w "$WINDOW" \
		--acked-log "$T/acks.fifo" -q >"$T/source-$name.log" 2>&1 || rc=$?
	wait $spid || rc=$((rc + 100))
	wait $mpid || rc=$((rc + 1000))
	# Unmounting and removing the target log what no flush covered, after
	# every mark.
	umount "$M" && dm remove pc-lw || rc=$((rc + 10000))
	if [ $rc -ne 0 ]; then
		echo "# run $name: source/sink/pc-mark/umount status $rc"
		return 2
	fi
	rc=0
	rm -f "$T/cut-count"
	PC_RESTART_EVERY=$restart_every pc-replay -l /dev/mapper/pc-log -t /dev/mapper/pc-scratch -a "$T/acklog-$name" \
		-c "$MAX_CUTS" -o "$T/acked" -- sh $P/cut-check.sh "$T/acked" "$T/tally-$name" \
		>"$T/replay-$name.log" 2>&1 || rc=$?
	grep -v '^verify:' "$T/replay-$name.log" | head -n 30 | sed 's/^/# /'
	cuts=$(sed -n 's/^pc-replay: cut points tried \([0-9]*\),.*/\1/p' "$T/replay-$name.log")
	distinct=$(sed -n 's/^pc-replay: .*; \([0-9]*\) distinct records acked$/\1/p' "$T/replay-$name.log")
	RESULT=$(awk -v cuts="${cuts:-?}" -v d="${distinct:-?}" '
		{ c += $4; l += $6; if ($8 != "ok") v++; if ($10 != "-") r++; if ($10 == "FAIL") rf++ }
		END {
			printf "cut points tried %s, acked records checked %d, records lost %d, verify failures %d; %s distinct records acked", cuts, c, l, v, d
			if (r) printf "; %d restarts, %d failed", r, rf
			printf "\n"
		}' \
		"$T/tally-$name" 2>/dev/null)
	return $rc
}

# run_nbd NAME SERVER SEED: the NBD run. Sets RESULT; returns 0 (nothing
# lost), 1 (lost) or 2 (error).
run_nbd() {
	name=$1
	server=$2
	seed=$3
	RESULT=
	rm -f "$T/acklog-$name"
	# The slots zeroed on the logged device and on the replay target alike
	# (the target must start as the device did); each run's patterns
	# differ (SEED), so nothing left by another run can pass for an extent.
	step=zero
	if ! {
		dd if=/dev/zero of=/dev/mapper/pc-base bs=1M count=$NBD_MB conv=fsync 2>"$T/zero.log" &&
		dd if=/dev/zero of=/dev/mapper/pc-scratch bs=1M count=$NBD_MB conv=fsync 2>>"$T/zero.log" &&
		dd if=/dev/zero of=/dev/mapper/pc-log bs=1M count=1 conv=fsync 2>>"$T/zero.log" &&
		step=log-writes &&
		dm create pc-lw --table "0 $(sect $BASE_MB) log-writes /dev/mapper/pc-base /dev/mapper/pc-log"
	}; then
		echo "# nbd run $name: $step failed"
		return 2
	fi
	"$server" --listen 127.0.0.1:10809 --threads $NBD_CONNS --pool 64M /dev/mapper/pc-lw \
		>"$T/nbd-$name.out" 2>"$T/nbd-$name.log" &
	spid=$!
	rc=0
	# pc-nbd retries the connection while the server starts.
	pc-nbd -c 127.0.0.1:10809 -d pc-lw -a "$T/acklog-$name" -n "$NBD_OPS" -s "$NBD_SLOTS" \
		-S "$seed" -C $NBD_CONNS >"$T/pc-nbd-$name.log" 2>&1 || rc=$?
	kill -TERM $spid 2>/dev/null
	wait $spid || rc=$((rc + 100))
	# Removing the target logs what no flush covered, after every mark.
	dm remove pc-lw || rc=$((rc + 10000))
	sed 's/^/# /' "$T/pc-nbd-$name.log"
	if [ $rc -ne 0 ]; then
		echo "# nbd run $name: pc-nbd/server/dm status $rc"
		return 2
	fi
	rc=0
	pc-replay -e -l /dev/mapper/pc-log -t /dev/mapper/pc-scratch -a "$T/acklog-$name" \
		-c "$NBD_MAX_CUTS" >"$T/replay-$name.log" 2>&1 || rc=$?
	head -n 12 "$T/replay-$name.log" | sed 's/^/# /'
	RESULT=$(sed -n 's/^pc-replay: \(cut points tried .*\)/\1/p' "$T/replay-$name.log")
	return $rc
}

echo "1..5"
if setup; then
	tap ok "powercut: dm-log-writes over $DISK (ext4 ${BASE_MB}M, log ${LOG_MB}M)"
else
	tap "not ok" "powercut: dm-log-writes setup"
	fail_out "dmsetup failed"
	exit 0
fi

t0=$(date +%s)
run durable "$DURABLE_FSYNC" "$RESTART_EVERY"
rc=$?
echo "# durable run: $(($(date +%s) - t0)) s"
what="--fsync ${DURABLE_FSYNC:-default} ($(sed -n 's/^ *acks *//p' "$T/sink-durable.log" 2>/dev/null))"
if [ $rc -eq 0 ] && echo "$RESULT" | grep -q 'records lost 0, verify failures 0' &&
	! echo "$RESULT" | grep -q 'restarts, [1-9]'; then
	tap ok "powercut: $what: $RESULT"
else
	tap "not ok" "powercut: $what: ${RESULT:-no result} (status $rc)"
	fail_out "durable run"
fi

# The negative control: the same run with acks that are not durable must
# lose acked records, or the lane could not see a loss at all.
t0=$(date +%s)
run control none 0
rc=$?
echo "# control run: $(($(date +%s) - t0)) s"
if [ $rc -eq 1 ] && [ -n "$RESULT" ] && ! echo "$RESULT" | grep -q 'records lost 0,'; then
	tap ok "powercut: negative control --fsync none loses acked records: $RESULT"
else
	tap "not ok" "powercut: negative control --fsync none found no loss: ${RESULT:-no result} (status $rc)"
	fail_out "control run"
fi

# hugeslab-nbd's FLUSH and FUA. strace cannot see RWF_DSYNC inside
# io_uring, so this is the test that a FUA write is durable when replied.
t0=$(date +%s)
run_nbd nbd $P/nbd/bin/hugeslab-nbd 1
rc=$?
echo "# nbd run: $(($(date +%s) - t0)) s"
if [ $rc -eq 0 ] && echo "$RESULT" | grep -q 'extents lost 0;'; then
	tap ok "powercut: hugeslab-nbd FLUSH/FUA: $RESULT"
else
	tap "not ok" "powercut: hugeslab-nbd FLUSH/FUA: ${RESULT:-no result} (status $rc)"
	fail_out "nbd run"
fi

t0=$(date +%s)
run_nbd nbd-control $P/nbd/broken/hugeslab-nbd 2
rc=$?
echo "# nbd control run: $(($(date +%s) - t0)) s"
if [ $rc -eq 1 ] && [ -n "$RESULT" ] && ! echo "$RESULT" | grep -q 'extents lost 0;'; then
	tap ok "powercut: negative control hugeslab-nbd, FLUSH replied before fdatasync and FUA without RWF_DSYNC, loses acked extents: $RESULT"
else
	tap "not ok" "powercut: negative control hugeslab-nbd (broken FLUSH/FUA) found no loss: ${RESULT:-no result} (status $rc)"
	fail_out "nbd control run"
fi

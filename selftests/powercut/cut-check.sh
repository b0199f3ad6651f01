#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One cut point, run by pc-replay with the replayed disk on pc-scratch:
#   cut-check.sh ACKED TALLY
# Mounts a throw-away snapshot of pc-scratch (ext4 recovers its journal
# into the snapshot's COW space, so the replay target stays as the log left
# it), runs the independent check (pc-check) on the data file and the
# sink's own --verify --acked, and appends one line to TALLY:
#   cut ENTRY checked N lost L verify ok|FAIL restart ok|FAIL|-
# With PC_RESTART_EVERY=K, every K-th cut also restarts the sink on the
# recovered files (restart_check).
# Exit 0 when both passed, 1 otherwise.
set -u
acked=$1
tally=$2
cut=${PC_CUT:-?}
T=/tmp/powercut
M=/tmp/powercut/mnt
rc=0

dm() {
	DM_DISABLE_UDEV=1 dmsetup "$@" >>"$T/dmsetup.log" 2>&1
}

restart_check() {
	rm -f "$T/acked-new"
	hugeslab-sink -d "$M/data" -i "$M/data.idx" -l 127.0.0.1:7071 -p 16M \
		--exit-after 1 -q >"$T/restart.log" 2>&1 &
	spid=$!
	ok=0
	hugeslab-source --connect 127.0.0.1:7071 -c 1 -n 128K -s 4K --stream-base 1000 \
		--acked-out "$T/acked-new" -q >>"$T/restart.log" 2>&1 || ok=1
	wait $spid || ok=1
	[ $ok -eq 0 ] || return 1
	cat "$acked" "$T/acked-new" >"$T/acked-all"
	pc-check "$M/data" "$T/acked-all" >>"$T/restart.log" 2>&1 &&
		hugeslab-sink --verify -d "$M/data" -i "$M/data.idx" --acked "$T/acked-all" \
			>>"$T/restart.log" 2>&1
}

size=${PC_SCRATCH_SECTORS:?}
# A check that died (pc-replay runs it again) may have left its mount and
# snapshot behind; without this every later cut would fail to create one.
if dm info pc-snap; then
	umount "$M" 2>/dev/null
	dm remove pc-snap || exit 2
fi
# Non-persistent snapshot: the COW area needs no header.
dm create pc-snap --table "0 $size snapshot /dev/mapper/pc-scratch /dev/mapper/pc-cow N 8" || {
	echo "cut $cut checked 0 lost 0 verify FAIL (snapshot)" >>"$tally"
	exit 2
}
mkdir -p "$M"
if mount -t ext4 /dev/mapper/pc-snap "$M" 2>>"$T/mount.log"; then
	out=$(pc-check "$M/data" "$acked") || rc=1
	echo "$out" | grep -v '^pc-check: checked' | sed "s/^/cut $cut: /"
	fig=$(echo "$out" | sed -n 's/^pc-check: //p' | tail -n 1)
	if [ -z "$fig" ]; then
		echo "cut $cut: pc-check gave no figures"
		fig="checked 0 lost 0"
		v=FAIL
	fi
	if [ "${v:-}" = FAIL ]; then
		rc=1
	elif hugeslab-sink --verify -d "$M/data" -i "$M/data.idx" --acked "$acked" \
		>"$T/verify.log" 2>&1; then
		v=ok
	else
		v=FAIL
		rc=1
		sed "s/^/cut $cut: /" "$T/verify.log" | tail -n 3
	fi
	# Every PC_RESTART_EVERY-th cut whose checks passed: restart the sink
	# on the recovered files (it must recover, not truncate), send a new
	# stream, and check the old acks and the new ones together.
	k=$(($(cat "$T/cut-count" 2>/dev/null || echo 0) + 1))
	echo $k >"$T/cut-count"
	if [ "$v" = ok ] && [ "${PC_RESTART_EVERY:-0}" -gt 0 ] &&
		[ $((k % PC_RESTART_EVERY)) -eq 0 ]; then
		if restart_check; then
			r=ok
		else
			r=FAIL
			rc=1
			echo "cut $cut: after a restart: $(tail -n 3 "$T/restart.log" | tr '\n' ' ')"
		fi
	fi
	umount "$M"
else
	# No file system at all: every acked record is lost.
	n=$(awk '{ s += $2 } END { print s + 0 }' "$acked")
	fig="checked $n lost $n"
	v=FAIL
	rc=1
	echo "cut $cut: mount failed: $(tail -n 1 "$T/mount.log")"
fi
echo "cut $cut $fig verify $v restart ${r:--}" >>"$tally"
dm remove pc-snap || exit 2
exit $rc

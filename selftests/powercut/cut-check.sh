#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One cut point, run by pc-replay with the replayed disk on pc-scratch:
#   cut-check.sh ACKED TALLY
# Mounts a throw-away snapshot of pc-scratch (ext4 recovers its journal
# into the snapshot's COW space, so the replay target stays as the log left
# it), runs the independent check (pc-check) on the data file and the
# sink's own --verify --acked, and appends one line to TALLY:
#   cut ENTRY checked N lost L verify ok|FAIL
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

size=${PC_SCRATCH_SECTORS:?}
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
	umount "$M"
else
	# No file system at all: every acked record is lost.
	n=$(awk '{ s += $2 } END { print s + 0 }' "$acked")
	fig="checked $n lost $n"
	v=FAIL
	rc=1
	echo "cut $cut: mount failed: $(tail -n 1 "$T/mount.log")"
fi
echo "cut $cut $fig verify $v" >>"$tally"
dm remove pc-snap || exit 2
exit $rc

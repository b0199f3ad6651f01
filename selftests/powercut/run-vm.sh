#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The power-cut lane for one kernel: build the tools (static), pack the
# payload and boot scripts/vm/run.sh with the dm modules. Prints the VM's
# TAP log and its "vm KVER: N passed, N failed, N skipped" line; exit 0
# only if everything passed.
#
#   selftests/powercut/run-vm.sh --kver KVER [--out DIR] [--sink-bin DIR]
#
# --sink-bin: take static hugeslab-sink and hugeslab-source from DIR instead
# of building them (to run the lane against a deliberately broken sink).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
KVER=
OUT=
SINK_BIN=
while (($#)); do
	case "$1" in
	--kver) KVER=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--sink-bin) SINK_BIN=${2:?}; shift 2 ;;
	*) echo "usage: $0 --kver KVER [--out DIR] [--sink-bin DIR]" >&2; exit 2 ;;
	esac
done
[[ -n $KVER ]] || { echo "$0: --kver is required" >&2; exit 2; }
BUILD=$TOP/build
OUT=${OUT:-$BUILD/vm-powercut-$KVER}
PAYLOAD=$BUILD/payload-powercut-$KVER

make -s -C "$TOP/selftests/powercut" OUT="$BUILD/powercut"
if [[ -z $SINK_BIN ]]; then
	make -s -C "$TOP/userspace/sink" build/static/hugeslab-sink build/static/hugeslab-source
	SINK_BIN=$TOP/userspace/sink/build/static
fi

# hugeslab-nbd, and the negative control's build of it (FLUSH replied
# before fdatasync, FUA without RWF_DSYNC).
make -s -C "$TOP/userspace/nbd" build/static/hugeslab-nbd build/static-broken/hugeslab-nbd
NBD_BIN=$TOP/userspace/nbd/build

rm -rf "$PAYLOAD"
mkdir -p "$PAYLOAD/sink/bin" "$PAYLOAD/nbd/bin" "$PAYLOAD/nbd/broken"
cp "$TOP/selftests/powercut/run-guest.sh" "$TOP/selftests/powercut/cut-check.sh" \
	"$BUILD/powercut/pc-replay" "$BUILD/powercut/pc-mark" "$BUILD/powercut/pc-check" \
	"$BUILD/powercut/pc-nbd" "$PAYLOAD/"
cp "$NBD_BIN/static/hugeslab-nbd" "$PAYLOAD/nbd/bin/"
cp "$NBD_BIN/static-broken/hugeslab-nbd" "$PAYLOAD/nbd/broken/"
# dmsetup and mke2fs are dynamically linked: run.sh copies their libraries.
cp "$(command -v dmsetup)" "$(command -v mke2fs)" /etc/mke2fs.conf "$PAYLOAD/"
cp "$SINK_BIN/hugeslab-sink" "$SINK_BIN/hugeslab-source" "$PAYLOAD/sink/bin/"
# The sink's and hugeslab-nbd's pools come from the module, as in production
# (scripts/vm/lane.sh builds it when check.sh has not).
. "$TOP/scripts/vm/lane.sh"
cp "$(vm_module "$KVER" "$BUILD/powercut-module-$KVER")" "$PAYLOAD/hugeslab.ko"

exec "$TOP/scripts/vm/run.sh" --kver "$KVER" --payload "$PAYLOAD" --out "$OUT" \
	--mem 1024 --disk-mb 416 --timeout 600 \
	--modules "dm-mod dm-log-writes dm-snapshot ext4 crc32c_generic"

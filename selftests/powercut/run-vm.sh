#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The power-cut lane for one kernel: build the tools (static), pack the
# payload and boot scripts/vm/run.sh with the dm modules. Prints the VM's
# TAP log and its "vm KVER: N passed, N failed, N skipped" line; exit 0
# only if everything passed.
#
#   selftests/powercut/run-vm.sh --kver KVER [--out DIR]
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
KVER=
OUT=
while (($#)); do
	case "$1" in
	--kver) KVER=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	*) echo "usage: $0 --kver KVER [--out DIR]" >&2; exit 2 ;;
	esac
done
[[ -n $KVER ]] || { echo "$0: --kver is required" >&2; exit 2; }
BUILD=$TOP/build
OUT=${OUT:-$BUILD/vm-powercut-$KVER}
PAYLOAD=$BUILD/payload-powercut-$KVER

make -s -C "$TOP/selftests/powercut" OUT="$BUILD/powercut"
make -s -C "$TOP/userspace/sink" build/static/hugeslab-sink build/static/hugeslab-source

rm -rf "$PAYLOAD"
mkdir -p "$PAYLOAD/sink/bin"
cp "$TOP/selftests/powercut/run-guest.sh" "$BUILD/powercut/pc-replay" \
	"$BUILD/powercut/pc-mark" "$PAYLOAD/"
# dmsetup is dynamically linked: run.sh copies its libraries.
cp "$(command -v dmsetup)" "$PAYLOAD/"
cp "$TOP/userspace/sink/build/static/hugeslab-sink" \
	"$TOP/userspace/sink/build/static/hugeslab-source" "$PAYLOAD/sink/bin/"
# With the module the sink's pool is hugeslab's; without it, the library's
# fallback backend (the lane is about the disk, not the pool).
if [[ -f $BUILD/module-$KVER/hugeslab.ko ]]; then
	cp "$BUILD/module-$KVER/hugeslab.ko" "$PAYLOAD/"
fi

exec "$TOP/scripts/vm/run.sh" --kver "$KVER" --payload "$PAYLOAD" --out "$OUT" \
	--mem 1024 --disk-mb 224 --timeout 600 --modules "dm-mod dm-log-writes"

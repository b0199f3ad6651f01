#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Persistent pools in the VM (issue 14): builds hugeslabctl, warmd and
# runas, puts them with fio (Debian's, unmodified; run.sh copies its
# libraries) and selftests/pools/guest.sh as run-guest.sh into a payload,
# and boots KVER with a 96 MiB virtio disk for fio's O_DIRECT job.
#
#   selftests/pools/run.sh --kver KVER [--out DIR] [--module KO]
#   --out     default build/vm-pools-KVER
#   --module  the hugeslab.ko to test; default build/module-KVER/hugeslab.ko
#             when scripts/check.sh built it from the current sources,
#             else one built here (W=1; scripts/vm/lane.sh)
# The fio rows (pool memory and malloc, same job, same run) are the
# "# fio" lines of DIR/vm/tests.log.  Ends with scripts/vm/run.sh's
# "vm KVER: N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/vm/lane.sh"
vm_lane_args pools "$@"
PL=$OUT/payload
rm -rf "$PL"
mkdir -p "$PL" "$OUT/bin"

# The library make check built (or $LIBHS), else one of our own.
LIBHS=${LIBHS:-$TOP/userspace/build/libhugeslab.a}
if [[ ! -f $LIBHS ]]; then
	make -s -C "$TOP/userspace" B="$OUT/lib" "$OUT/lib/libhugeslab.a"
	LIBHS=$OUT/lib/libhugeslab.a
fi
make -s -C "$TOP/selftests/pools" OUT="$OUT/bin" LIBHS="$LIBHS"
make -s -C "$TOP/userspace/tools" OUT="$OUT/bin"
cp "$OUT/bin/warmd" "$OUT/bin/runas" "$OUT/bin/hugeslabctl" "$PL/"
if [[ -z $KO ]]; then
	KO=$(vm_module "$KVER" "$OUT")
fi
cp "$KO" "$PL/hugeslab.ko"
p=$(command -v fio) || { echo "pools vm test: fio missing (scripts/install-deps.sh)" >&2; exit 2; }
cp "$p" "$PL/fio"
install -m 0755 "$TOP/selftests/pools/guest.sh" "$PL/run-guest.sh"

# fio's ~60 shared libraries (ceph, gluster, rdma engines) land in the
# initramfs: 512 MiB of guest memory holds them and the pools.
exec "$TOP/scripts/vm/run.sh" --kver "$KVER" --payload "$PL" --out "$OUT/vm" \
	--mem 512 --disk-mb 96 --timeout 600

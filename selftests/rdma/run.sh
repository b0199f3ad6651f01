#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# RDMA on pool memory in the VM (issue 14): builds rdma_test and the
# payload (selftests/rdma/guest.sh as run-guest.sh, the host's ip and rdma
# tools, the librxe provider and its .driver file) and boots KVER with
# rdma_rxe, ib_uverbs, veth and crc32_generic (rxe's ICRC asks the
# crypto API for "crc32", ENOENT without it) from the kernel's modules tree.
#
#   selftests/rdma/run.sh --kver KVER [--out DIR] [--module KO]
#   --out     default build/vm-rdma-KVER
#   --module  the hugeslab.ko to test; default build/module-KVER/hugeslab.ko
#             when scripts/check.sh built it from the current sources,
#             else one built here (W=1; scripts/vm/lane.sh)
# Ends with scripts/vm/run.sh's "vm KVER: N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/scripts/vm/lane.sh"
vm_lane_args rdma "$@"
PL=$OUT/payload
rm -rf "$PL"
mkdir -p "$PL/bin" "$PL/lib"

make -s -C "$TOP/selftests/rdma" OUT="$OUT/bin"
cp "$OUT/bin/rdma_test" "$PL/"
if [[ -z $KO ]]; then
	KO=$(vm_module "$KVER" "$OUT")
fi
cp "$KO" "$PL/hugeslab.ko"
for b in ip rdma; do
	p=$(PATH=$PATH:/usr/sbin:/sbin command -v "$b") ||
		{ echo "rdma vm test: $b missing (iproute2)" >&2; exit 2; }
	cp "$p" "$PL/bin/"
done
provs=(/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav*.so)
prov=${provs[0]}
[[ -f $prov && -f /etc/libibverbs.d/rxe.driver ]] ||
	{ echo "rdma vm test: librxe missing (ibverbs-providers)" >&2; exit 2; }
cp "$prov" /etc/libibverbs.d/rxe.driver "$PL/lib/"
install -m 0755 "$TOP/selftests/rdma/guest.sh" "$PL/run-guest.sh"

exec "$TOP/scripts/vm/run.sh" --kver "$KVER" --payload "$PL" --out "$OUT/vm" \
	--modules "rdma_rxe ib_uverbs veth crc32_generic" --mem 384 --disk-mb 8 --timeout 600

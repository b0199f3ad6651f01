#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own NBD client against the server under test, in the VM:
# builds the payload (selftests/nbd/guest.sh as run-guest.sh, the server,
# nbd-client, mkfs.ext4, e2fsck and strace from the host, with their shared
# libraries added by scripts/vm/run.sh) and boots KVER with nbd.ko and ext4
# from the kernel's own modules tree.
#
#   selftests/nbd/run.sh --kver KVER [--out DIR] [--server NAME]
#   --server  hugeslab-nbd (default when `make -C userspace/nbd vm-payload`
#             works) or nbd-server (Debian's, the reference until then)
#   --out     default build/vm-nbd-KVER
#   --negative noflush   negative control: nbd-server without FLUSH
#             support; the FLUSH test must fail
#   --negative nomodule  negative control: hugeslab.ko not loaded; the
#             pool-from-/dev/hugeslab test must fail
# Ends with scripts/vm/run.sh's "vm KVER: N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
KVER=
OUT=
SERVER=
NEGATIVE=

while (($#)); do
	case $1 in
	--kver) KVER=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--server) SERVER=${2:?}; shift 2 ;;
	--negative) NEGATIVE=${2:?}; shift 2 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "nbd vm test: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ -n $KVER ]] || { echo "nbd vm test: --kver is required" >&2; exit 2; }
OUT=${OUT:-$TOP/build/vm-nbd-$KVER}
PL=$OUT/payload
rm -rf "$PL"
mkdir -p "$PL/bin" "$PL/etc"

[[ $NEGATIVE == noflush ]] && SERVER=nbd-server
if [[ -z $SERVER ]]; then
	SERVER=nbd-server
	if [[ -f $TOP/userspace/nbd/Makefile ]] &&
		make -s -C "$TOP/userspace/nbd" vm-payload DESTDIR="$OUT/hugeslab-nbd" >"$OUT/server-build.log" 2>&1 &&
		[[ -x $OUT/hugeslab-nbd/bin/hugeslab-nbd ]]; then
		SERVER=hugeslab-nbd
	fi
fi
case $SERVER in
hugeslab-nbd)
	if [[ ! -x $OUT/hugeslab-nbd/bin/hugeslab-nbd ]]; then
		make -s -C "$TOP/userspace/nbd" vm-payload DESTDIR="$OUT/hugeslab-nbd"
	fi
	cp -a "$OUT/hugeslab-nbd/." "$PL/"
	;;
nbd-server) cp "$(command -v nbd-server)" "$PL/bin/" ;;
*) echo "nbd vm test: unknown server $SERVER" >&2; exit 2 ;;
esac
echo "$SERVER" >"$PL/server"
[[ -z $NEGATIVE ]] || echo "$NEGATIVE" >"$PL/negative"
for b in nbd-client mkfs.ext4 e2fsck strace; do
	p=$(PATH=$PATH:/usr/sbin:/sbin command -v "$b") ||
		{ echo "nbd vm test: $b missing (scripts/install-deps.sh)" >&2; exit 2; }
	cp "$p" "$PL/bin/"
done
cp /etc/mke2fs.conf "$PL/etc/"
# The server's pool comes from /dev/hugeslab: the module is always in the
# payload (scripts/vm/lane.sh), except for the nomodule control.
if [[ $SERVER == hugeslab-nbd && $NEGATIVE != nomodule ]]; then
	. "$TOP/scripts/vm/lane.sh"
	cp "$(vm_module "$KVER" "$OUT")" "$PL/hugeslab.ko"
fi
install -m 0755 "$TOP/selftests/nbd/guest.sh" "$PL/run-guest.sh"

exec "$TOP/scripts/vm/run.sh" --kver "$KVER" --payload "$PL" --out "$OUT/vm" \
	--modules "nbd ext4 crc32c_generic" --mem 768 --disk-mb 256 --timeout 600

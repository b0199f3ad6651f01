#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Workload 7, the kernel side: builds the module for KVER and bench/kside
# (static), boots the test VM (scripts/vm/run.sh, qemu TCG) and runs
# bench/vm/run-guest.sh there. Results: OUT/tests.log ("kside" lines).
#
#   bench/vm.sh [--kver KVER] [--out DIR]
#
# Default KVER: the newest kernel of scripts/kernels.sh; OUT: build/bench/vm.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
KVER=
OUT=$TOP/build/bench/vm
while (($#)); do
	case $1 in
	--kver) KVER=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "usage: bench/vm.sh [--kver KVER] [--out DIR]" >&2; exit 2 ;;
	esac
done
cd "$TOP"
[[ -n $KVER ]] || KVER=$(scripts/kernels.sh | tail -n 1)
WORK=$OUT.work
rm -rf "$WORK"
mkdir -p "$WORK/payload"
. scripts/vm/lane.sh
KO=$(vm_module "$KVER" "$WORK") || { cat "$WORK/module.log" >&2; exit 1; }
make -s -C bench kside >/dev/null
cp "$KO" build/bench/bin/kside bench/vm/run-guest.sh "$WORK/payload/"
rc=0
scripts/vm/run.sh --kver "$KVER" --payload "$WORK/payload" --out "$OUT" \
	--mem 3072 --timeout 900 >"$OUT.log" 2>&1 || rc=$?
tail -n 1 "$OUT.log"
exit $rc

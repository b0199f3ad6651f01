#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug lane: the module built against the KASAN/kmemleak/lockdep/
# fault-injection 6.12 kernel of scripts/debug-kernel.sh, every selftest,
# the fuzzer and the fault-injection rounds in a VM running that kernel,
# then kmemleak. Ends with the runner's "vm KVER: N passed, ..." line.
#
#   scripts/debug-lane.sh --if-cached   run only if the kernel is built
#   scripts/debug-lane.sh --build       build the kernel first if needed
#                                       (scripts/debug-kernel.sh, once)
# Environment: FUZZ_ITERATIONS (default 3000 per thread), FAULTINJ_ROUNDS
# (default 100 lifecycles per probability).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build
cd "$TOP"

case "${1:-}" in
--if-cached)
	if ! dir=$(scripts/debug-kernel.sh --path); then
		# A lane that cannot run is a failure, not a skip.
		echo "debug lane: kernel not cached; 'make check-debug' builds it"
		echo "vm debug: 0 passed, 1 failed"
		exit 1
	fi
	;;
--build)
	dir=$(scripts/debug-kernel.sh --build)
	;;
*)
	sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
kver=$(cat "$dir/kver")
src=$(scripts/kernels.sh --source-dir)

mod=$BUILD/module-debug
rm -rf "$mod"
mkdir -p "$mod"
cp -r Kbuild module include "$mod/"
make -s -C "$dir/build" M="$mod" W=1 modules 2>&1 | tee "$mod/build.log"
cp -r selftests/hugeslab/importer "$mod/importer"
make -s -C "$dir/build" M="$mod/importer" W=1 modules 2>&1 | tee -a "$mod/build.log"
! grep -E 'warning:|error:' "$mod/build.log"

payload=$BUILD/payload-debug
rm -rf "$payload"
mkdir -p "$payload"
make -s -C selftests/hugeslab KSFT_DIR="$src/tools/testing/selftests" \
	OUT="$payload"
cp "$mod/hugeslab.ko" "$payload/"
make -s -C userspace/tools OUT="$BUILD/tools" >/dev/null && cp "$BUILD/tools/hugeslabctl" "$payload/"
# ctl.top needs a libhugeslab process: build the library first if need be.
make -s -C userspace all >/dev/null &&
	make -s -C userspace/tools OUT="$BUILD/tools" test-demo >/dev/null &&
	cp "$BUILD/tools/top-demo" "$payload/"
if [[ -f $mod/importer/hugeslab_importer.ko ]]; then
	cp "$mod/importer/hugeslab_importer.ko" "$payload/"
fi
# The guest's entry point is run-guest.sh: make it the debug one.
mv "$payload/run-guest.sh" "$payload/run-guest-stock.sh"
sed 's#sh ./run-guest.sh#sh ./run-guest-stock.sh#' \
	"$payload/run-guest-debug.sh" >"$payload/run-guest.sh"
sed -i "2i export HUGESLAB_FUZZ_ITERATIONS=${FUZZ_ITERATIONS:-3000} FAULTINJ_ROUNDS=${FAULTINJ_ROUNDS:-100}" \
	"$payload/run-guest.sh"

exec scripts/vm/run.sh --kver "$kver" --kernel "$dir/bzImage" \
	--moddir "$dir/modules/lib/modules/$kver" --payload "$payload" \
	--out "$BUILD/vm-debug" --mem 3072 --timeout 1800

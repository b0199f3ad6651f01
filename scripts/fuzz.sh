#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz`: the long run of the syscall fuzzer (selftests/hugeslab/fuzz.c)
# in a VM per stock kernel, and on the debug kernel when it is cached, with
# fault injection. Each run prints the seed that replays it:
#   fuzz --seed N --iterations N --threads N
# Then the libFuzzer harnesses of userspace/fuzz for their long run.
# Environment: FUZZ_ITERATIONS (per thread, default 100000), FUZZ_SECONDS.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build
ITER=${FUZZ_ITERATIONS:-100000}
cd "$TOP"

scripts/install-deps.sh
src=$(scripts/kernels.sh --source-dir)
make -s -C selftests/hugeslab KSFT_DIR="$src/tools/testing/selftests" \
	OUT="$BUILD/fuzz-bin"
status=0
for k in $(scripts/kernels.sh); do
	mod=$BUILD/module-$k
	rm -rf "$mod"
	mkdir -p "$mod"
	cp -r Kbuild module include "$mod/"
	make -s -C "/lib/modules/$k/build" M="$mod" modules
	payload=$BUILD/payload-fuzz-$k
	rm -rf "$payload"
	mkdir -p "$payload"
	cp "$BUILD/fuzz-bin/fuzz" "$mod/hugeslab.ko" "$payload/"
	cat >"$payload/run-guest.sh" <<GUEST
cd /payload && insmod ./hugeslab.ko && ./fuzz --iterations $ITER --threads 4
GUEST
	scripts/vm/run.sh --kver "$k" --payload "$payload" --out "$BUILD/vm-fuzz-$k" \
		--mem 3072 --timeout 3600 || status=1
done
# libFuzzer on the library API and the sink's record parser (FUZZ_SECONDS
# per harness); the corpus grows under userspace/fuzz/build.
make -C userspace/fuzz fuzz || status=1
if scripts/debug-kernel.sh --path >/dev/null; then
	FUZZ_ITERATIONS=$((ITER / 10)) FAULTINJ_ROUNDS=1000 \
		scripts/debug-lane.sh --if-cached || status=1
fi
exit $status

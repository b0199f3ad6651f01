#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every check of the project, counted. Each check is one
# result; suites that report their own counts (the VM selftests, the library
# tests) add theirs. The last line is "N passed, N failed".
#
# Logs: build/logs/<check>.log, VM runs in build/vm-<kver>/.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build
LOGS=$BUILD/logs
passed=0
failed=0
failures=()

mkdir -p "$LOGS"
cd "$TOP" || exit 1

pass() {
	passed=$((passed + 1))
	echo "ok - $1"
}

fail() {
	failed=$((failed + 1))
	failures+=("$1")
	echo "FAIL - $1 (log: ${2:-none})"
	if [[ -n ${2:-} && -f $2 ]]; then
		tail -n 40 "$2" | sed 's/^/    /'
	fi
}

# check NAME CMD...: one result, output kept in the log.
check() {
	local name=$1 log=$LOGS/$1.log
	shift
	if "$@" >"$log" 2>&1; then
		pass "$name"
	else
		fail "$name" "$log"
	fi
}

# add_counts NAME LOG: a suite's own "N passed, N failed" line.
add_counts() {
	local name=$1 log=$2 line p f
	line=$(grep -E '([0-9]+) passed, ([0-9]+) failed' "$log" | tail -n 1)
	if [[ -z $line ]]; then
		fail "$name: no result line" "$log"
		return
	fi
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
	passed=$((passed + p))
	failed=$((failed + f))
	echo "$name: $line"
	if ((f > 0)); then
		failures+=("$name ($f)")
	fi
}

build_module() {
	local kver=$1 out=$BUILD/module-$1
	rm -rf "$out"
	mkdir -p "$out"
	cp -r Kbuild module include "$out/"
	make -C "/lib/modules/$kver/build" M="$out" W=1 modules 2>&1 |
		tee "$out/build.log"
	[[ ${PIPESTATUS[0]} -eq 0 && -f $out/hugeslab.ko ]] || return 1
	# The selftests' test-only dma-buf importer, for the same kernel.
	cp -r selftests/hugeslab/importer "$out/importer"
	make -C "/lib/modules/$kver/build" M="$out/importer" W=1 modules 2>&1 |
		tee -a "$out/build.log"
	[[ ${PIPESTATUS[0]} -eq 0 && -f $out/importer/hugeslab_importer.ko ]] || return 1
	# The same module built as if shmem had no ->mmap (compat.h,
	# HUGESLAB_TEST_NO_SHMEM_MMAP): run-guest.sh checks it refuses to load.
	mkdir -p "$out/nommap"
	cp -r Kbuild module include "$out/nommap/"
	make -C "/lib/modules/$kver/build" M="$out/nommap" W=1 \
		KCFLAGS=-DHUGESLAB_TEST_NO_SHMEM_MMAP modules 2>&1 |
		tee -a "$out/build.log"
	[[ ${PIPESTATUS[0]} -eq 0 && -f $out/nommap/hugeslab.ko ]] || return 1
	# W=1 must stay silent.
	! grep -E 'warning:|error:' "$out/build.log"
}

check_modinfo() {
	local ko=$BUILD/module-$1/hugeslab.ko
	modinfo "$ko"
	[[ -n $(modinfo -F description "$ko") ]] &&
		[[ -n $(modinfo -F version "$ko") ]] &&
		[[ $(modinfo -F license "$ko") == GPL ]] &&
		modinfo -F parm "$ko" | grep -q '^max_pinned_mb:.*MiB'
}

# Kernel code is held to --strict; the selftests are userspace C, where
# checkpatch's "prefer u64 over uint64_t" checks do not apply.
check_checkpatch() {
	local cp=(perl "$SRC/scripts/checkpatch.pl" --no-tree --terse -f)
	{
		"${cp[@]}" --strict module/*.c module/*.h \
			include/uapi/linux/hugeslab.h \
			include/uapi/linux/hugeslab_netlink.h
		"${cp[@]}" selftests/hugeslab/*.c selftests/hugeslab/*.h \
			selftests/hugeslab/importer/*.c \
			selftests/hugeslab/importer/*.h
	} | tee /dev/stderr | { ! grep -E ': (ERROR|WARNING|CHECK):'; }
}

# The UAPI header stands alone in C99 and has no implicit padding.
check_uapi() {
	local t=$BUILD/uapi
	mkdir -p "$t"
	printf '#include <linux/hugeslab.h>\n#include <linux/hugeslab_netlink.h>\nint main(void) { return 0; }\n' >"$t/c99.c"
	gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude/uapi \
		-o "$t/c99" "$t/c99.c" || return 1
	gcc -std=c11 -Wall -Wextra -Werror -Wpadded -Iinclude/uapi \
		-o "$t/layout" scripts/uapi-layout.c && "$t/layout"
}

# vm_lane NAME TAP SHOW CMD...: one VM run, counted by its own "N passed,
# N failed" line (log: build/logs/NAME.log); the lines of its TAP log
# matching SHOW are printed. A VM that crashed or hung fails even if every
# test it ran passed.
vm_lane() {
	local name=$1 tap=$2 show=$3 rc
	shift 3
	"$@" >"$LOGS/$name.log" 2>&1
	rc=$?
	add_counts "$name" "$LOGS/$name.log"
	grep -E "$show" "$tap" 2>/dev/null
	if ((rc != 0)); then
		fail "$name: runner" "$LOGS/$name.log"
	fi
}

vm_payload() {
	local kver=$1 dir=$BUILD/payload-$1
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$BUILD"/selftests/* "$dir/" &&
		cp "$BUILD/tools/hugeslabctl" "$dir/" &&
		{ [[ ! -f $BUILD/tools/top-demo ]] || cp "$BUILD/tools/top-demo" "$dir/"; } &&
		cp "$BUILD/module-$kver/hugeslab.ko" \
			"$BUILD/module-$kver/importer/hugeslab_importer.ko" "$dir/" &&
		cp "$BUILD/module-$kver/nommap/hugeslab.ko" "$dir/hugeslab-nommap.ko" ||
		return 1
	if [[ -d $BUILD/vm-lib ]]; then
		cp -r "$BUILD/vm-lib" "$dir/lib"
	fi
	if [[ -d $BUILD/vm-sink ]]; then
		cp -r "$BUILD/vm-sink" "$dir/sink"
	fi
}

echo "== dependencies"
if ! scripts/install-deps.sh >"$LOGS/install-deps.log" 2>&1; then
	cat "$LOGS/install-deps.log"
	echo "0 passed, 1 failed"
	exit 1
fi
mapfile -t KVERS < <(scripts/kernels.sh)
SRC=$(scripts/kernels.sh --source-dir)

echo "== module"
for k in "${KVERS[@]}"; do
	check "build-$k" build_module "$k"
	check "modinfo-$k" check_modinfo "$k"
done
check checkpatch check_checkpatch
check uapi-header check_uapi
# The README's "Try the module" commands, as written (scripts/test-readme.sh).
check readme-commands scripts/test-readme.sh
# No tracked file that .gitignore says is a build artifact.
check no-tracked-artifacts bash -c '[[ -z $(git ls-files -ci --exclude-standard) ]]'

echo "== library"
if [[ -f userspace/Makefile ]]; then
	make -C userspace check >"$LOGS/userspace.log" 2>&1
	add_counts userspace "$LOGS/userspace.log"
	check lib-vm-payload make -C userspace vm-payload DESTDIR="$BUILD/vm-lib"
fi

echo "== libFuzzer"
# A short run of each harness over a copy of the committed corpus.
if [[ -f userspace/fuzz/Makefile ]]; then
	make --no-print-directory -C userspace/fuzz check >"$LOGS/libfuzzer.log" 2>&1
	add_counts libfuzzer "$LOGS/libfuzzer.log"
fi

echo "== bench"
# A smoke run of the suite (rows exist, ratios plausible; never timings)
# and the fast path's instruction counts against bench/callgrind-baseline.txt.
bench/run.sh --smoke >"$LOGS/bench-smoke.log" 2>&1
add_counts bench-smoke "$LOGS/bench-smoke.log"
bench/callgrind-gate.sh >"$LOGS/callgrind-gate.log" 2>&1
add_counts callgrind-gate "$LOGS/callgrind-gate.log"

echo "== sink"
if [[ -f userspace/sink/Makefile ]]; then
	make --no-print-directory -C userspace/sink check >"$LOGS/sink.log" 2>&1
	add_counts sink "$LOGS/sink.log"
	check sink-vm-payload make -C userspace/sink vm-payload DESTDIR="$BUILD/vm-sink"
fi

echo "== nbd"
# hugeslab-nbd on the host: codec unit test, unmodified clients, bad input,
# pool exhaustion, kill -9, durability from an strace (userspace/nbd/test).
if [[ -f userspace/nbd/Makefile ]]; then
	make --no-print-directory -C userspace/nbd check >"$LOGS/nbd.log" 2>&1
	add_counts nbd "$LOGS/nbd.log"
fi

echo "== packaging"
# make install/uninstall into a DESTDIR (+ pkg-config consumer), DKMS on
# every kernel, the Debian packages, and the installed tree booted per
# kernel (modprobe.d, udev rule, modules-load.d). Logs: build/logs/pkg-*.log.
check pkg-install scripts/test-install.sh
check pkg-dkms scripts/test-dkms.sh
check pkg-deb scripts/test-deb.sh
for k in "${KVERS[@]}"; do
	check "pkg-vm-$k" scripts/test-install-vm.sh --kver "$k"
done

echo "== tools"
check tools-build make -C userspace/tools OUT="$BUILD/tools"
if [[ -f userspace/build/libhugeslab.a ]]; then
	check tools-demo make -C userspace/tools OUT="$BUILD/tools" test-demo
fi
# On a host without the module, the tool says so with its own exit code.
if ! grep -qs '^hugeslab ' /proc/modules; then
	check tools-no-module bash -c '"$1" status; [[ $? -eq 3 ]]' _ "$BUILD/tools/hugeslabctl"
fi

echo "== VM selftests"
check selftests-build make -C selftests/hugeslab KSFT_DIR="$SRC/tools/testing/selftests" \
	OUT="$BUILD/selftests"
for k in "${KVERS[@]}"; do
	if ! vm_payload "$k" >"$LOGS/payload-$k.log" 2>&1; then
		fail "vm-$k: payload" "$LOGS/payload-$k.log"
		continue
	fi
	vm_lane "vm-$k" "$BUILD/vm-$k/tests.log" '^not ok|^# .*(1 GiB|PMD-mapped)' \
		scripts/vm/run.sh --kver "$k" --payload "$BUILD/payload-$k" \
		--out "$BUILD/vm-$k" --mem 3072 --disk-mb 512 --timeout 900
done

echo "== NUMA lane"
# Two nodes (run.sh --numa): NUMA balancing must leave pools alone.
for k in "${KVERS[@]}"; do
	dir=$BUILD/payload-numa-$k
	rm -rf "$dir" && mkdir -p "$dir" &&
		cp "$BUILD/selftests/numa_test" "$BUILD/module-$k/hugeslab.ko" "$dir/" &&
		cp "$BUILD/selftests/run-guest-numa.sh" "$dir/run-guest.sh" ||
		{ fail "vm-numa-$k: payload" /dev/null; continue; }
	vm_lane "vm-numa-$k" "$BUILD/vm-numa-$k/tests.log" '^not ok' \
		scripts/vm/run.sh --kver "$k" --payload "$dir" --out "$BUILD/vm-numa-$k" \
		--numa --mem 1024 --timeout 600
done

echo "== swiotlb lane"
# swiotlb=force: every DMA mapping bounces, at most 256 KiB at a time; the
# dma-buf segment tests only (dmabuf_test -f dmabuf_seg), about 10 s each.
for k in "${KVERS[@]}"; do
	dir=$BUILD/payload-swiotlb-$k
	rm -rf "$dir" && mkdir -p "$dir" &&
		cp "$BUILD/selftests/dmabuf_test" "$BUILD/module-$k/hugeslab.ko" \
			"$BUILD/module-$k/importer/hugeslab_importer.ko" "$dir/" &&
		cp "$BUILD/selftests/run-guest-swiotlb.sh" "$dir/run-guest.sh" ||
		{ fail "vm-swiotlb-$k: payload" /dev/null; continue; }
	vm_lane "vm-swiotlb-$k" "$BUILD/vm-swiotlb-$k/tests.log" '^not ok' \
		scripts/vm/run.sh --kver "$k" --payload "$dir" --out "$BUILD/vm-swiotlb-$k" \
		--append swiotlb=force --mem 512 --timeout 600
done

echo "== rdma lane"
# Soft-RoCE (rdma_rxe on a veth) in the VM: two unprivileged processes
# ibv_reg_mr their pools within RLIMIT_MEMLOCK and one RDMA WRITEs into the
# other (selftests/rdma/run.sh); about 10 s each.
for k in "${KVERS[@]}"; do
	vm_lane "vm-rdma-$k" "$BUILD/vm-rdma-$k/vm/tests.log" '^not ok|# SKIP' \
		selftests/rdma/run.sh --kver "$k"
done

echo "== pools lane"
# Persistent pools: hugeslabctl's host tests (parsers, command line, no
# module), then in the VM fio on a pool's node, warm restart after kill -9,
# destroy, load (selftests/pools/run.sh); about 30-60 s each.
make --no-print-directory -C userspace/tools OUT="$BUILD/tools" check >"$LOGS/tools-host.log" 2>&1
add_counts tools-host "$LOGS/tools-host.log"
for k in "${KVERS[@]}"; do
	vm_lane "vm-pools-$k" "$BUILD/vm-pools-$k/vm/tests.log" '^not ok|^# fio' \
		selftests/pools/run.sh --kver "$k"
done

echo "== power-cut lane"
# dm-log-writes in the VM (selftests/powercut/README.md): durable acks lose
# nothing at any FLUSH/FUA cut point, the --fsync none control must lose;
# the same for hugeslab-nbd's FLUSH/FUA replies (its broken build must lose).
make --no-print-directory -C selftests/powercut check >"$LOGS/powercut-replay.log" 2>&1
add_counts powercut-replay "$LOGS/powercut-replay.log"
for k in "${KVERS[@]}"; do
	check "powercut-$k" selftests/powercut/run-vm.sh --kver "$k"
	grep -E '^(not )?ok .*powercut: (-|neg|hugeslab-nbd)' "$BUILD/vm-powercut-$k/tests.log" 2>/dev/null
done

echo "== NBD kernel client"
# nbd.ko + nbd-client -C 2 against hugeslab-nbd (nbd-server until it
# builds) in the VM: round trip, FLUSH seen in strace, ext4 + e2fsck.
for k in "${KVERS[@]}"; do
	vm_lane "vm-nbd-$k" "$BUILD/vm-nbd-$k/vm/tests.log" '^not ok|^# kernel' \
		selftests/nbd/run.sh --kver "$k"
done

echo "== debug lane"
# KASAN/kmemleak/lockdep/fault injection, every run. The minimal debug kernel
# is built when it is not cached yet (scripts/debug-kernel.sh); a lane that
# cannot run (no kernel, no result line) counts as failed, never skipped.
vm_lane vm-debug "$BUILD/vm-debug/tests.log" '^not ok|kmemleak:|probability' \
	scripts/debug-lane.sh --build

if ((${#failures[@]})); then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: the one command. On a fresh Debian 12 machine (root):
# installs what is needed (scripts/install-deps.sh), builds the library,
# hugeslab-sink and hugeslab-source, builds the module, boots the newest
# test kernel under qemu with the module loaded and a virtio disk, and runs
# inside the VM, over loopback, for a few seconds each:
#   1. hugeslab-sink (pool from /dev/hugeslab, io_uring multishot receive,
#      O_DIRECT straight to /dev/vda) fed by hugeslab-source, then --verify;
#   2. the same with the recv(2) receive path (--recv plain);
#   3. hugeslab-sink --baseline (malloc per record, buffered write, free),
#      same load, then --verify;
# and prints the runs side by side. Then the main job: hugeslab-nbd beside
# nbd-server, nbdkit and qemu-nbd on one disk, each driven by fio's nbd
# engine, in one table (MB/s, CPU s/GB, p50/p99, peak RSS, page-cache
# growth, verified). By default in a second VM boot with the module, so
# hugeslab-nbd's pool is /dev/hugeslab (bench/nbd/vm.sh --size demo: the
# workloads sized down for TCG, about 4 minutes); with --host on this host's
# fallback backend (bench/nbd/run.sh, 256 MiB file). HS_DEMO_NO_NBD=1 skips
# it.
#
# Usage: scripts/demo.sh [--host] [--seconds N] [--kver KVER]
#   --host      no VM: run on this machine with the library's fallback
#               backend (`make demo HOST=1`); the data file goes to
#               build/demo/host/ (must allow O_DIRECT, so not tmpfs)
#   --seconds   load per run (default 5)
#   --kver      kernel to boot (default: the newest of scripts/kernels.sh)
# Env: HS_DEMO_NO_DEPS=1 skips install-deps.sh.
# Output: build/demo/ (VM console and logs in build/demo/vm-KVER/).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/build/demo
HOST=0
SECS=5
KVER=

while (($#)); do
	case $1 in
	--host) HOST=1; shift ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--kver) KVER=${2:?}; shift 2 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $SECS =~ ^[1-9][0-9]*$ ]] || { echo "demo: --seconds must be a positive integer" >&2; exit 2; }

step() { printf '\n== %s\n' "$*"; }
cd "$TOP"
mkdir -p "$OUT"

if [[ ${HS_DEMO_NO_DEPS:-0} != 1 ]]; then
	step "dependencies (scripts/install-deps.sh)"
	if [[ $(id -u) -eq 0 ]]; then
		scripts/install-deps.sh
	else
		echo "not root: skipping apt; expecting the dependencies to be installed"
	fi
fi

step "build: libhugeslab, hugeslab-sink, hugeslab-source"
if ! make -s -C userspace all >"$OUT/build.log" 2>&1 ||
	! make -s -C userspace/sink all >>"$OUT/build.log" 2>&1; then
	cat "$OUT/build.log"
	exit 1
fi

if ((HOST)); then
	step "run on this host (fallback backend, ${SECS}s per run)"
	dir=$OUT/host
	rm -rf "$dir"
	mkdir -p "$dir"
	rc=0
	sh userspace/sink/demo-run.sh "$TOP/userspace/sink/build" "$dir/data.bin" "$dir" "$SECS" \
		>"$dir/demo.log" 2>&1 || rc=$?
	rm -f "$dir/data.bin"
	log=$dir/demo.log
	where="host $(uname -r), data file $dir/data.bin"
else
	if [[ -z $KVER ]]; then
		KVER=$(scripts/kernels.sh | tail -n 1)
	fi
	step "module for $KVER"
	mod=$OUT/module-$KVER
	rm -rf "$mod"
	mkdir -p "$mod"
	cp -r Kbuild module include "$mod/"
	make -C "/lib/modules/$KVER/build" M="$mod" modules >"$OUT/module.log" 2>&1 ||
		{ tail -n 30 "$OUT/module.log"; exit 1; }

	step "VM payload"
	pl=$OUT/payload-$KVER
	rm -rf "$pl"
	mkdir -p "$pl"
	cp "$mod/hugeslab.ko" "$pl/"
	make -s -C userspace/sink vm-payload DESTDIR="$pl/sink" >>"$OUT/build.log" 2>&1 ||
		{ cat "$OUT/build.log"; exit 1; }
	cat >"$pl/run-guest.sh" <<GUEST
#!/bin/sh
cd /payload || exit 1
echo "1..1"
echo "# kernel \$(uname -r)"
insmod ./hugeslab.ko || { echo "not ok 1 demo: insmod hugeslab.ko"; exit 0; }
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
if sh sink/demo-run.sh /payload/sink/bin "\$HUGESLAB_TEST_DISK" /tmp/demo $SECS; then
	echo "ok 1 demo"
else
	echo "not ok 1 demo"
fi
GUEST

	step "boot $KVER under qemu (TCG: slower than the host), ${SECS}s per run"
	vm=$OUT/vm-$KVER
	rc=0
	scripts/vm/run.sh --kver "$KVER" --payload "$pl" --out "$vm" --mem 2048 \
		--disk-mb 2048 --timeout $((300 + 30 * SECS)) >"$OUT/vm.log" 2>&1 || rc=$?
	log=$vm/tests.log
	[[ -f $log ]] || { tail -n 30 "$OUT/vm.log"; exit 1; }
	where="VM $KVER (qemu TCG, 2 vCPUs), /dev/hugeslab, data on /dev/vda (virtio-blk)"
fi

grep -E '^# sink: ' "$log" || true
step "result: $where"
awk -v secs="$SECS" '
	$1 == "demo" {
		m = $2
		for (i = 3; i <= NF; i++) {
			k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v)
			gsub(/~/, " ", v); val[m, k] = v
		}
		seen[m] = 1
	}
	function row(label, k, fmt,   j, v, line) {
		line = sprintf("  %-26s", label)
		for (j = 1; j <= 3; j++) {
			v = val[mode[j], k]
			if (fmt != "" && v != "") v = sprintf(fmt, v)
			line = line sprintf(" %-24s", v)
		}
		print line
	}
	END {
		mode[1] = "zerocopy"; mode[2] = "recvzc"; mode[3] = "baseline"
		for (j = 1; j <= 3; j++) {
			m = mode[j]
			if (!seen[m]) { print "demo: missing results for " m; exit 1 }
			val[m, "mib"] = sprintf("%.1f", val[m, "bytes"] / 1048576)
			val[m, "lat"] = sprintf("%.1f / %.1f", val[m, "src_lat_p50_us"] / 1000, val[m, "src_lat_p99_us"] / 1000)
			val[m, "hwm"] = m == "baseline" ? "n/a (heap)" : sprintf("%d of %d bufs", val[m, "pool_hwm_bufs"], val[m, "pool_bufs"])
		}
		printf "  %-26s %-24s %-24s %-24s\n", "", "hugeslab, multishot", "hugeslab, recv(2)", "baseline"
		printf "  %-26s %-24s %-24s %-24s\n", "", "-------------------", "-----------------", "--------"
		row("memory", "backend", "")
		row("receive path", "recv", "")
		row("write path", "engine", "")
		row("throughput (MB/s)", "mbps", "%.1f")
		row("data received (MiB)", "mib", "")
		row("CPU time per GB (s)", "cpu_s_per_gb", "%.2f")
		row("copies per byte", "copies_per_byte", "%.2f")
		row("peak RSS (MiB)", "peak_rss_mib", "%.1f")
		row("RSS 2 s after load (MiB)", "rss_after_mib", "%.1f")
		row("page cache growth (MiB)", "page_cache_growth_mib", "%.1f")
		row("pool high-water", "hwm", "")
		row("ack latency p50/p99 (ms)", "lat", "")
		row("--verify (records)", "verify", "")
		row("acknowledged, on disk", "acked_check", "")
	}' "$log" >"$OUT/table.txt" || { cat "$log"; exit 1; }
cat "$OUT/table.txt"
echo
echo "  copies per byte: user-space copies of payload bytes, plus 1 for the"
echo "  kernel's copy into the page cache of a buffered write. CPU time is the"
echo "  sink process's (user + system); page cache growth is Cached + Buffers"
echo "  - Shmem during the run. Logs: $OUT"

# The NBD table from a bench/nbd results directory: where it ran, the
# servers (hugeslab-nbd's line says where its pool came from), the table,
# the depth reached and the goals.
nbd_table() {
	grep -E '^(- (where|module|sizes|loopback TCP[^:]*|hugeslab-nbd|nbd-server|nbdkit|qemu-nbd|kernel|file):|\||Queue depth)' "$1/results.md"
	grep -A4 '^Goals' "$1/results.md" || true
	if grep -q '| no' "$1/results.md"; then
		echo "demo: NBD data verification failed, see $1" >&2
		return 1
	fi
}

if [[ ${HS_DEMO_NO_NBD:-0} != 1 ]]; then
	nbdrc=0
	if ((HOST)); then
		step "NBD: hugeslab-nbd and the servers people run today, driven by fio (host, fallback backend)"
		if [[ -f userspace/nbd/Makefile ]] && ! make -s -C userspace/nbd all >>"$OUT/build.log" 2>&1; then
			echo "demo: building hugeslab-nbd failed (see $OUT/build.log); peers only"
		fi
		nbdout=$OUT/nbd
		bench/nbd/run.sh --file-mb 256 --reps 1 --out "$nbdout" >"$OUT/nbd.log" 2>&1 || nbdrc=$?
	else
		step "NBD: hugeslab-nbd on /dev/hugeslab and the servers people run today, driven by fio (VM $KVER)"
		echo "(a second boot; workloads sized down for qemu TCG: about 3 minutes)"
		nbdout=$OUT/nbd-vm
		# the module built above
		HUGESLAB_KO=$mod/hugeslab.ko bench/nbd/vm.sh --kver "$KVER" --size demo --out "$nbdout" \
			>"$OUT/nbd.log" 2>&1 || nbdrc=$?
	fi
	if [[ -f $nbdout/results.md ]]; then
		nbd_table "$nbdout" || rc=1
		((nbdrc == 0)) || { echo "demo: the NBD comparison failed, see $OUT/nbd.log" >&2; rc=1; }
	else
		tail -n 20 "$OUT/nbd.log"
		echo "demo: the NBD comparison failed, see $OUT/nbd.log" >&2
		rc=1
	fi
fi
if ((rc)); then
	echo "demo: a run or its verification failed (status $rc), see $log" >&2
	exit 1
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The benchmark suite: `make bench` runs this. Builds bench/ (and the
# library), runs every workload side by side against glibc, jemalloc,
# tcmalloc and DPDK's rte_mempool in one run, and writes the report
# (Documentation/hugeslab/benchmarks.rst, plots in
# Documentation/hugeslab/bench/) from the raw results in build/bench/results/.
# Takes about 7-10 minutes on a 2-core machine, the VM included, plus the
# nbd part: about 12 minutes on the host and 19 in its VM (bench/nbd).
#
#   bench/run.sh [--reps N] [--no-vm] [--only LIST] [--out DIR]
#   bench/run.sh --smoke      a few seconds: every program runs on a small
#                             scale and the results are checked for sanity
#                             (rows present, ratios finite and plausible),
#                             never for speed; ends "N passed, N failed"
#   bench/run.sh --report     only regenerate the report from DIR
#
# LIST: comma-separated of fastpath,callgrind,frag,leak,pagecache,tlb,vm,sink,nbd
# (default: all); the other parts' results in DIR are kept for the report. Every figure in the report is a ratio against a baseline
# measured in the same run; repetitions of competitors are interleaved.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/build/bench/bin
OUT=
REPS=5
SMOKE=0
REPORT_ONLY=0
VM=1
ONLY=fastpath,callgrind,frag,leak,pagecache,tlb,vm,sink,nbd
ONLY_SET=0

while (($#)); do
	case $1 in
	--smoke) SMOKE=1; shift ;;
	--report) REPORT_ONLY=1; shift ;;
	--reps) REPS=$2; shift 2 ;;
	--no-vm) VM=0; shift ;;
	--only) ONLY=$2; ONLY_SET=1; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) sed -n '4,20p' "$0" >&2; exit 2 ;;
	esac
done
if ((SMOKE)); then
	OUT=${OUT:-$TOP/build/bench/smoke}
	ONLY=fastpath,frag,leak,pagecache,tlb,nbd
	ONLY_SET=0
	REPS=1
	VM=0
else
	OUT=${OUT:-$TOP/build/bench/results}
fi
want() { [[ ,$ONLY, == *,$1,* ]]; }
log() { echo "bench: $*" >&2; }

report() {
	if ((SMOKE)); then
		python3 "$TOP/bench/report.py" --smoke "$OUT"
	else
		python3 "$TOP/bench/report.py" "$OUT" \
			--doc "$TOP/Documentation/hugeslab/benchmarks.rst" \
			--plots "$TOP/Documentation/hugeslab/bench"
	fi
}

if ((REPORT_ONLY)); then
	report
	exit $?
fi

make -s -C "$TOP/bench" all >/dev/null || { log "build failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$OUT"
if [[ $ONLY_SET == 1 ]]; then
	# one part again: keep the other parts' results for the report
	for part in ${ONLY//,/ }; do
		case $part in
		fastpath) rm -f "$OUT"/fastpath* ;;
		callgrind) rm -f "$OUT/callgrind.txt" ;;
		vm) rm -f "$OUT"/vm* ;;
		*) rm -f "$OUT/$part".* ;;
		esac
	done
else
	rm -rf "$OUT"
	mkdir -p "$OUT"
fi

# ---------------------------------------------------------------- machine
{
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "kernel	$(uname -r)"
	echo "cpu	$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs online"
	echo "memory	$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "loadavg_start	$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "thp	enabled=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled) shmem_enabled=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null) hugepages=$(cat /proc/sys/vm/nr_hugepages)"
	echo "hugeslab_dev	$( [[ -e /dev/hugeslab ]] && echo present || echo absent)"
	echo "gcc	$(gcc -dumpfullversion)"
	for p in libc6 libjemalloc2 libgoogle-perftools4 libtcmalloc-minimal4 libdpdk-dev valgrind gnuplot-nox; do
		echo "pkg	$p $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo absent)"
	done
	echo "git	$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)$(git -C "$TOP" diff --quiet 2>/dev/null || echo '+dirty')"
	echo "reps	$REPS"
	echo "smoke	$SMOKE"
} >"$OUT/meta.tsv"

FAILED=()
t_start=$(date +%s)
phase_time() { echo "time	$1	$(($(date +%s) - $2))" >>"$OUT/meta.tsv"; }

# -------------------------------------------------------------- fast path
DPDK_EAL=(-l 0-1 --no-huge -m 2000 --no-pci --no-shconf --no-telemetry
	  --log-level=error --iova-mode=va --)
fp_run() { # NAME CMD...: one repetition, rows tagged with the repetition
	local name=$1 rep=$2
	shift 2
	"$@" >"$OUT/fp.tmp" 2>"$OUT/fastpath-$name.err" || {
		log "fastpath $name failed: $(tail -n 3 "$OUT/fastpath-$name.err")"
		FAILED+=("fastpath-$name")
	}
	awk -v r="$rep" 'BEGIN { OFS = "\t" } $1 == "fp" { $1 = "fp\t" r } { print }' \
		"$OUT/fp.tmp" >>"$OUT/fastpath.tsv"
}
if want fastpath; then
	t=$(date +%s)
	if ((SMOKE)); then
		FPARGS=(-b 2 -s 2048,131072 -P $((48 << 20)))
		# a 512-entry cache needs 768 buffers: small sizes only
		DPARGS=(-b 2 -s 2048 -P $((48 << 20)))
		DPDK_EAL[4]=160
	else
		FPARGS=(-b 30)
		DPARGS=("${FPARGS[@]}")
	fi
	for rep in $(seq 1 "$REPS"); do
		log "fast path, repetition $rep/$REPS"
		for a in glibc jemalloc tcmalloc; do
			[[ -x $BIN/fastpath-$a ]] && fp_run "$a" "$rep" "$BIN/fastpath-$a" -n "$a" "${FPARGS[@]}"
		done
		if [[ -x $BIN/fastpath-dpdk ]]; then
			fp_run dpdk-c512 "$rep" "$BIN/fastpath-dpdk" "${DPDK_EAL[@]}" -c 512 -n dpdk-c512 "${DPARGS[@]}"
			fp_run dpdk-nocache "$rep" "$BIN/fastpath-dpdk" "${DPDK_EAL[@]}" -c 0 -n dpdk-nocache "${DPARGS[@]}"
		fi
		fp_run hugeslab "$rep" "$BIN/fastpath-hugeslab" "${FPARGS[@]}"
	done
	rm -f "$OUT/fp.tmp"
	phase_time fastpath "$t"
fi

# -------------------------------------------------------------- callgrind
if want callgrind; then
	t=$(date +%s)
	log "callgrind instruction counts"
	"$TOP/bench/callgrind-gate.sh" --compare >"$OUT/callgrind.txt" 2>&1 || FAILED+=(callgrind-gate)
	phase_time callgrind "$t"
fi

# ---------------------------------------------------------- fragmentation
if want frag; then
	t=$(date +%s)
	if ((SMOKE)); then
		FRARGS=(-r 0.02 -i 0)
		FREPS=1
		CONFIGS=(glibc hugeslab-25)
	else
		FRARGS=(-i 12)
		FREPS=3
		CONFIGS=(glibc glibc-arena1 glibc-trim jemalloc jemalloc-bg tcmalloc
			 hugeslab hugeslab-50 hugeslab-25)
	fi
	# Repetition 1 has the idle phase (the RSS plot); the others measure
	# the load phase only, for the throughput's median and spread.
	for rep in $(seq 1 "$FREPS"); do
	for v in a b; do
		for c in "${CONFIGS[@]}"; do
			log "fragmentation $v, repetition $rep/$FREPS: $c"
			env=(env -u MALLOC_CONF -u MALLOC_ARENA_MAX)
			args=()
			case $c in
			glibc) bin=frag-glibc ;;
			glibc-arena1) bin=frag-glibc; env+=(MALLOC_ARENA_MAX=1) ;;
			glibc-trim) bin=frag-glibc; args=(-t) ;;
			jemalloc) bin=frag-jemalloc; env+=(MALLOC_CONF=background_thread:false) ;;
			jemalloc-bg) bin=frag-jemalloc; env+=(MALLOC_CONF=background_thread:true) ;;
			tcmalloc) bin=frag-tcmalloc ;;
			hugeslab) bin=frag-hugeslab ;;
			hugeslab-50) bin=frag-hugeslab; args=(-p 50) ;;
			hugeslab-25) bin=frag-hugeslab; args=(-p 25) ;;
			esac
			[[ -x $BIN/$bin ]] || { log "skip $c: $bin not built"; continue; }
			idle=("${FRARGS[@]}")
			((rep > 1)) && idle+=(-i 0)
			"${env[@]}" "$BIN/$bin" -v "$v" -n "$c" "${args[@]}" "${idle[@]}" 2>>"$OUT/frag.err" |
				awk -v r="$rep" 'BEGIN { OFS = "\t" } { $1 = $1 "\t" r; print }' >>"$OUT/frag.tsv"
			((PIPESTATUS[0] == 0)) || FAILED+=("frag-$v-$c")
		done
	done
	done
	phase_time frag "$t"
fi

# ------------------------------------------------------- forgotten buffers
if want leak; then
	t=$(date +%s)
	for c in glibc hugeslab; do
		d=20
		# smoke: the report needs a buffer older than 1 s: 2 s for the pool
		((SMOKE)) && { [[ $c == glibc ]] && d=1 || d=3; }
		log "forgotten buffers: $c"
		"$BIN/leak-$c" -d "$d" -r 50000 -m 4 >>"$OUT/leak.tsv" 2>>"$OUT/leak.err" ||
			FAILED+=("leak-$c")
	done
	phase_time leak "$t"
fi

# -------------------------------------------------------------- page cache
if want pagecache; then
	t=$(date +%s)
	size=$((2 << 30))
	((SMOKE)) && size=$((64 << 20))
	scratch=$TOP/build/bench/pagecache.scratch
	avail=$(df -B1 --output=avail "$TOP/build" | tail -n 1)
	if ((avail < 2 * size + (1 << 30))); then
		log "page cache: only $avail bytes free on $(df --output=target "$TOP/build" | tail -n 1), skipped"
		echo "pcskip	$avail" >>"$OUT/pagecache.tsv"
	else
		for m in buffered odirect; do
			log "page cache: $m, $((size >> 20)) MiB to $scratch"
			"$BIN/pagecache" -m "$m" -f "$scratch" -s "$size" >>"$OUT/pagecache.tsv" \
				2>>"$OUT/pagecache.err" || FAILED+=("pagecache-$m")
			rm -f "$scratch"
		done
	fi
	phase_time pagecache "$t"
fi

# --------------------------------------------------------------------- TLB
if want tlb; then
	t=$(date +%s)
	log "TLB"
	perf stat -e dTLB-load-misses true >"$OUT/perf-probe.txt" 2>&1
	echo "perf_dtlb	$(grep -q 'not supported\|not counted' "$OUT/perf-probe.txt" && echo unsupported || echo supported)" >>"$OUT/meta.tsv"
	if ((SMOKE)); then
		"$BIN/tlb" -s $((64 << 20)) -n 100000 -r 2 >"$OUT/tlb.tsv" 2>"$OUT/tlb.err" || FAILED+=(tlb)
	else
		"$BIN/tlb" -r 8 -n 1000000 >"$OUT/tlb.tsv" 2>"$OUT/tlb.err" || FAILED+=(tlb)
	fi
	phase_time tlb "$t"
fi

# ------------------------------------------------------ kernel side (VM)
if want vm && ((VM)); then
	t=$(date +%s)
	if [[ -x $TOP/scripts/vm/run.sh ]] && command -v qemu-system-x86_64 >/dev/null; then
		log "kernel side in the VM (qemu TCG: a few minutes)"
		"$TOP/bench/vm.sh" --out "$TOP/build/bench/vm" >"$OUT/vm.txt" 2>&1 || FAILED+=(vm)
		cp "$TOP/build/bench/vm/tests.log" "$OUT/vm-tests.log" 2>/dev/null
	else
		log "kernel side: no qemu or scripts/vm/run.sh, skipped"
	fi
	phase_time vm "$t"
fi

# ------------------------------------------------------------ NBD servers
# hugeslab-nbd beside nbd-server, nbdkit and qemu-nbd, one client (fio's nbd
# engine), one backing file; its own tables in $OUT/nbd/results.md. Smoke:
# tiny sizes, rows present and data verified (bench/nbd/report.py --smoke).
if want nbd; then
	t=$(date +%s)
	nbdargs=(--out "$OUT/nbd")
	((SMOKE)) && nbdargs+=(--smoke)
	log "NBD servers side by side (bench/nbd/run.sh ${nbdargs[*]})"
	"$TOP/bench/nbd/run.sh" "${nbdargs[@]}" >"$OUT/nbd.txt" 2>&1 || FAILED+=(nbd)
	phase_time nbd "$t"
fi

# ------------------------------------------------------------ NIC to disk
if want sink; then
	# hugeslab-sink comes from userspace/sink (issue 4) when it is there
	if [[ -f $TOP/userspace/sink/Makefile ]]; then
		make -s -C "$TOP/userspace/sink" all >"$OUT/sink-build.log" 2>&1 ||
			log "NIC to disk: building userspace/sink failed (see $OUT/sink-build.log)"
	fi
	SINK=$(ls "$TOP"/userspace/sink/build/hugeslab-sink "$TOP"/userspace/build/sink/hugeslab-sink \
		"$TOP"/userspace/sink/hugeslab-sink 2>/dev/null | head -n 1)
	if [[ -z $SINK ]]; then
		log "NIC to disk: no hugeslab-sink binary, skipped"
		echo "sinkskip	no hugeslab-sink binary" >>"$OUT/meta.tsv"
	elif [[ -x $TOP/bench/sink.sh ]]; then
		t=$(date +%s)
		log "NIC to disk: $SINK"
		"$TOP/bench/sink.sh" "$SINK" "$OUT" 3 2>>"$OUT/sink.err" || FAILED+=(sink)
		phase_time sink "$t"
	else
		echo "sinkskip	bench/sink.sh missing" >>"$OUT/meta.tsv"
	fi
fi

echo "loadavg_end	$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.tsv"
phase_time total "$t_start"
if ((${#FAILED[@]})); then
	echo "failed	${FAILED[*]}" >>"$OUT/meta.tsv"
	log "failed: ${FAILED[*]}"
fi
report
rc=$?
((${#FAILED[@]} == 0 && rc == 0))

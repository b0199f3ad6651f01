#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# hugeslab-nbd beside the NBD servers people run today, in one run, on one
# backing file, driven by one unmodified client (fio's nbd engine, libnbd):
#   servers:   hugeslab-nbd (when built), nbd-server, nbdkit (file plugin,
#              cache=none), qemu-nbd --cache=none --aio=io_uring
#   workloads: seqwrite  1 MiB sequential writes, QD 16 on each of 4 connections
#              randwrite 4 KiB random writes, QD 64
#              stormwrite 32 MiB writes on 8 connections, QD 32 each: each
#              connection's region holds 32 blocks (1 GiB, so the file is
#              8 GiB), and fio's JSON shows the depth it reached
#              and seqread, randread, stormread: the same, reading back
#   each ends with a FLUSH (fio end_fsync=1: NBD_CMD_FLUSH on every
#   connection); writes carry crc32c verify headers, the reads check them.
#   baselines: fio O_DIRECT (io_uring) on the same file, same jobs and
#   depth ("odirect"), and one loopback TCP connection (loopback.py).
# Measured per server and workload: MB/s (fio), CPU seconds per GB of the
# server process tree (/proc/PID/stat), p50/p99 completion latency (fio
# JSON), peak RSS (VmHWM, and sampled RSS of forked children), page-cache
# growth of the backing file (fincore), data verified (fio verify).
#
#   bench/nbd/run.sh [--smoke] [--out DIR] [--servers LIST] [--file-mb N]
#                    [--reps N] [--no-vm]
#   --reps     repetitions (default 3, smoke 1): each runs the baselines and
#              every server in turn, so competitors are interleaved; the
#              tables show medians (peak RSS: the maximum)
#   --smoke    tiny sizes (32 MiB file, storm 8 x QD 4 x 2 MiB), then checks
#              that every row exists and verified; ends "N passed, N failed"
#   --file-mb  the regions of the sequential and random workloads (default
#              512); the file is larger when the storm needs it
#   --no-vm    without the second run, in the VM with the module
#              (bench/nbd/vm.sh --size bench into OUT/vm: hugeslab-nbd's
#              pool from /dev/hugeslab; not in --smoke)
#   --servers  comma-separated subset (default: all available)
#   --out      results directory (default build/bench/nbd, smoke:
#              build/bench/nbd-smoke): results.tsv, results.md, clients.tsv,
#              fio JSON and server logs per run
# Env: NBD_BENCH_INJECT=corrupt (negative control: corrupt the file after
#      each write, every read must fail to verify), HUGESLAB_NBD (binary), HUGESLAB_NBD_POOL (its --pool, default 256M),
#      NBD_BENCH_FILE (backing file; default OUT/backing.img; the
#      filesystem must support O_DIRECT, so not tmpfs)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMOKE=0
OUT=
SERVERS=
FILE_MB=512
REPS=
VM=1

while (($#)); do
	case $1 in
	--smoke) SMOKE=1; shift ;;
	--out) OUT=${2:?}; shift 2 ;;
	--servers) SERVERS=${2:?}; shift 2 ;;
	--file-mb) FILE_MB=${2:?}; shift 2 ;;
	--reps) REPS=${2:?}; shift 2 ;;
	--no-vm) VM=0; shift ;;
	-h | --help) sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "nbd bench: unknown argument $1" >&2; exit 2 ;;
	esac
done

# shellcheck source=bench/nbd/servers.sh
. "$HERE/servers.sh"
# shellcheck source=bench/nbd/clients.sh
. "$HERE/clients.sh"
# shellcheck source=bench/nbd/fiojob.sh
. "$HERE/fiojob.sh"

if ((SMOKE)); then
	OUT=${OUT:-$TOP/build/bench/nbd-smoke}
	FILE_MB=32
	RAND_MB=4
	STORM_BS_MB=2
	STORM_QD=4
	LOOP_MB=256
	REPS=${REPS:-1}
else
	OUT=${OUT:-$TOP/build/bench/nbd}
	RAND_MB=64
	STORM_BS_MB=32
	STORM_QD=32
	LOOP_MB=2048
	REPS=${REPS:-3}
fi
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "nbd bench: --reps must be a positive integer" >&2; exit 2; }
if ! [[ $FILE_MB =~ ^[1-9][0-9]*$ ]] || ((FILE_MB % 32)); then
	echo "nbd bench: --file-mb must be a multiple of 32" >&2
	exit 2
fi
ALL_SERVERS=(hugeslab-nbd nbd-server nbdkit qemu-nbd)
if [[ -z $SERVERS ]]; then
	SERVERS=$(IFS=,; echo "${ALL_SERVERS[*]}")
fi

log() { echo "nbd bench: $*" >&2; }
# Debian's interpreter: a python3 earlier in PATH (pyenv) can take half a
# second to start, five times per workload.
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
FILE=${NBD_BENCH_FILE:-$OUT/backing.img}
TSV=$OUT/results.tsv
CLIENTS_TSV=$OUT/clients.tsv
: >"$CLIENTS_TSV"
printf 'row\tserver\tworkload\tmbps\tcpu_s_per_gb\tp50_us\tp99_us\tpeak_rss_mib\tcache_growth_mib\tverified\tbytes\tjobs\tqd\tbs\trep\tdepth\n' >"$TSV"

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The workloads: name rw bs_bytes jobs qd bytes_per_job. Each write is
# followed by its read, on the same regions with the same verify headers.
# A storm connection's region holds exactly QD blocks: fio puts at most as
# many requests in flight as its region has blocks, so this is the smallest
# region that reaches QD (8 x 32 x 32 MiB: 8 GiB written and read back).
STORM_BS=$((STORM_BS_MB << 20))
STORM_REGION=$((STORM_BS * STORM_QD))
FILE_SIZE_MB=$((FILE_MB > 8 * STORM_REGION / 1048576 ? FILE_MB : 8 * STORM_REGION / 1048576))
WORKLOADS=(
	"seqwrite write 1048576 4 16 $(((FILE_MB << 20) / 4))"
	"seqread read 1048576 4 16 $(((FILE_MB << 20) / 4))"
	"randwrite randwrite 4096 1 64 $((RAND_MB << 20))"
	"randread randread 4096 1 64 $((RAND_MB << 20))"
	"stormwrite write $STORM_BS 8 $STORM_QD $STORM_REGION"
	"stormread read $STORM_BS 8 $STORM_QD $STORM_REGION"
)

# run_one SERVER WORKLOAD...: one fio run with measurement; appends a row.
run_one() {
	local srv=$1 name=$2 rw=$3 bs=$4 jobs=$5 qd=$6 size=$7
	local d=$RD/$srv job engine ddir res cpu rss c0 c1 verified=yes
	job=$d/$name.fio
	if [[ $srv == odirect ]]; then
		engine=$'ioengine=io_uring\ndirect=1\nfilename='"$FILE"
	else
		engine=$'ioengine=nbd\nuri='"$SRV_URI"
	fi
	fio_job "$engine" "$rw" "$bs" "$jobs" "$qd" "$size" >"$job"
	"$PY" "$HERE/filecache.py" drop "$FILE"
	c0=$("$PY" "$HERE/filecache.py" resident "$FILE")
	local mon=
	if [[ $srv != odirect ]]; then
		"$PY" "$HERE/procmon.py" "$SRV_PID" "$d/$name.mon" &
		mon=$!
		sleep 0.1
	fi
	if ! (cd "$d" && fio --output-format=json --output="$d/$name.json" "$job" >"$d/$name.fio.log" 2>&1); then
		verified=no
		log "$srv $name: fio failed: $(grep -m3 -E 'verify|err' "$d/$name.fio.log" | tr '\n' ' ')"
	fi
	if [[ -n $mon ]]; then
		kill -TERM "$mon"
		wait "$mon"
		read -r cpu rss <"$d/$name.mon" || { cpu=0; rss=0; }
	fi
	c1=$("$PY" "$HERE/filecache.py" resident "$FILE")
	ddir="write"
	[[ $rw == *read ]] && ddir="read"
	res=$("$PY" "$HERE/fioparse.py" "$d/$name.json" "$ddir" 2>>"$d/$name.fio.log") ||
		res=$'0\t0\t0\t0\t1\t0'
	local bytes mbps p50 p99 err depth
	IFS=$'\t' read -r bytes mbps p50 p99 err depth <<<"$res"
	((err == 0)) || verified=no
	((bytes == jobs * size)) || { verified=no; log "$srv $name: $bytes of $((jobs * size)) bytes done"; }
	local cpugb=- rssm=-
	if [[ -n $mon ]]; then
		cpugb=$(awk -v c="$cpu" -v b="$bytes" 'BEGIN { printf "%.2f", (b > 0 ? c / (b / 1e9) : 0) }')
		rssm=$(awk -v r="$rss" 'BEGIN { printf "%.1f", r / 1024 }')
	fi
	printf 'row\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$srv" "$name" "$mbps" "$cpugb" \
		"$p50" "$p99" "$rssm" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", (b - a) / 1048576 }')" \
		"$verified" "$bytes" "$jobs" "$qd" "$bs" "$rep" "$depth" >>"$TSV"
	log "$srv $name (repetition $rep/$REPS): $mbps MB/s, verified $verified"
}

run_workloads() {
	local srv=$1 w
	mkdir -p "$RD/$srv"
	for w in "${WORKLOADS[@]}"; do
		# shellcheck disable=SC2086 # the fields are words
		run_one "$srv" $w
		# Negative control (NBD_BENCH_INJECT=corrupt): change 4 KiB at
		# offset 0, inside every workload's first region, behind the
		# server's back; the following read must then fail to verify.
		if [[ ${NBD_BENCH_INJECT:-} == corrupt && $w == *write* ]]; then
			dd if=/dev/urandom of="$FILE" bs=4096 count=1 conv=notrunc oflag=direct status=none
		fi
	done
}

# ------------------------------------------------------------------ run
{
	echo "meta	date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "meta	kernel	$(uname -r)"
	echo "meta	cpus	$(nproc)"
	echo "meta	file	$FILE ($FILE_SIZE_MB MiB, $(df --output=fstype "$(dirname "$FILE")" | tail -n 1))"
	echo "meta	loadavg_start	$(cut -d' ' -f1-3 /proc/loadavg)"
	for p in fio nbd-server nbdkit qemu-utils libnbd-bin nbd-client; do
		echo "meta	pkg	$p $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo absent)"
	done
	srv_available hugeslab-nbd && echo "meta	pool_mib	$(srv_hugeslab_pool_mib)"
	echo "meta	hugeslab_nbd	$(srv_available hugeslab-nbd && srv_hugeslab_bin || echo absent)"
	echo "meta	git	$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)"
} >"$OUT/meta.tsv"

rm -f "$FILE"
# A preallocated file: no server pays for block allocation, and O_DIRECT
# writes do not extend it.
fallocate -l "$((FILE_SIZE_MB))M" "$FILE" || { log "cannot create $FILE"; echo "0 passed, 1 failed"; exit 1; }
dd if=/dev/zero of="$FILE" bs=1M count=1 oflag=direct conv=notrunc status=none ||
	{ log "$FILE: O_DIRECT not supported by this file system"; echo "0 passed, 1 failed"; exit 1; }

# hugeslab-nbd from this tree (make check runs the bench before the nbd
# suite builds it); a tree that has it but cannot build it fails the smoke.
NBD_BUILT=none
if [[ -z ${HUGESLAB_NBD:-} && -f $TOP/userspace/nbd/Makefile ]]; then
	if make -s -C "$TOP/userspace/nbd" all >"$OUT/hugeslab-nbd-build.log" 2>&1; then
		NBD_BUILT=ok
	else
		NBD_BUILT=failed
		log "building hugeslab-nbd failed, see $OUT/hugeslab-nbd-build.log"
	fi
fi

for rep in $(seq 1 "$REPS"); do
# Logs, fio jobs and JSON of repetition N in OUT/rN/SERVER/.
RD=$OUT/r$rep
log "machine: loopback TCP, $LOOP_MB MiB"
lo=$("$PY" "$HERE/loopback.py" "$LOOP_MB") || lo=0
printf 'machine\tloopback_tcp_mbps\t%s\t%s\n' "$lo" "$rep" >>"$TSV"
log "machine: fio O_DIRECT on $FILE"
run_workloads odirect

for srv in ${SERVERS//,/ }; do
	if [[ $srv == hugeslab-nbd && $NBD_BUILT == failed ]]; then
		printf 'skip\t%s\tbuild failed\n' "$srv" >>"$TSV"
		continue
	fi
	if ! srv_available "$srv"; then
		log "$srv: not available, skipped"
		printf 'skip\t%s\tnot available\n' "$srv" >>"$TSV"
		continue
	fi
	port=$(free_port)
	log "$srv on 127.0.0.1:$port ($(srv_io "$srv"))"
	if ! srv_start "$srv" "$FILE" "$port" "$RD/$srv"; then
		printf 'skip\t%s\tdid not start\n' "$srv" >>"$TSV"
		continue
	fi
	printf 'server\t%s\t%s\t%s\n' "$srv" "$SRV_PID" "$(srv_io "$srv")" >>"$TSV"
	clients_check "$srv" "$FILE" "$RD/$srv"
	run_workloads "$srv"
	srv_stop
done
done
rm -f "$FILE"
echo "meta	loadavg_end	$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.tsv"

if ((SMOKE)); then
	"$PY" "$HERE/report.py" --smoke "$OUT" --servers "$SERVERS"
	exit
fi
"$PY" "$HERE/report.py" "$OUT"
rc=$?
if ((VM)); then
	log "the same in the VM, with the module (bench/nbd/vm.sh --size bench --out $OUT/vm)"
	"$HERE/vm.sh" --size bench --out "$OUT/vm" --servers "$SERVERS" || rc=1
fi
exit $rc

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ab-seqwrite.sh [-r REPS] [-w WORKLOAD] FILE NAME=BINARY...: a quick A/B of
# hugeslab-nbd builds beside nbdkit (file plugin, cache=none) and fio
# O_DIRECT (io_uring) on the same FILE, in one run, interleaved per
# repetition. Not a test (no t- prefix) and not the benchmark (bench/nbd):
# a tool for measuring one change. WORKLOAD: seq (1 MiB writes, 4 jobs x
# QD 16, the default), rand (4 KiB random writes, QD 64), rand4 (the same
# on 4 connections, 32 MiB each) or storm (32 MiB
# writes, 8 jobs x QD 2). Every job ends with a FLUSH (end_fsync=1).
# Each run lasts AB_SECS seconds (default 5).
# Prints one line per run: name, MB/s, load average; with AB_SUMMARIES=1
# also each hugeslab-nbd run's summary line.
set -u
REPS=3
WL=seq
while getopts r:w: o; do
	case $o in
	r) REPS=$OPTARG ;;
	w) WL=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
FILE=$1
shift
SIZE=$(stat -c %s "$FILE")
case $WL in
seq) JOB="--rw=write --bs=1m --numjobs=4 --iodepth=16 --size=$((SIZE / 4)) --offset_increment=$((SIZE / 4))" ;;
rand) JOB="--rw=randwrite --bs=4k --numjobs=1 --iodepth=64 --size=$((SIZE / 4))" ;;
rand4) JOB="--rw=randwrite --bs=4k --numjobs=4 --iodepth=64 --size=$((SIZE / 16)) --offset_increment=$((SIZE / 4))" ;;
storm) JOB="--rw=write --bs=32m --numjobs=8 --iodepth=2 --size=$((SIZE / 8)) --offset_increment=$((SIZE / 8))" ;;
*) echo "unknown workload $WL" >&2; exit 2 ;;
esac
COMMON="--name=ab --time_based --runtime=${AB_SECS:-5} --verify=crc32c --do_verify=0 --end_fsync=1 --verify_state_save=0 --group_reporting=1 --output-format=terse --terse-version=3"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

mbps() { tail -n 1 "$1" | awk -F';' '{ printf "%.1f", $48 / 1000 * 1.024 }'; }	# write bw KiB/s -> MB/s
load() { cut -d' ' -f1 /proc/loadavg; }

run_nbd() {	# NAME URI
	# shellcheck disable=SC2086
	fio --ioengine=nbd --uri="$2" $COMMON $JOB >"$TMP/out" 2>"$TMP/err" ||
		{ echo "$1 fio failed: $(tail -2 "$TMP/err")"; return; }
	printf '%-14s %8s MB/s  load %s\n' "$1" "$(mbps "$TMP/out")" "$(load)"
}

for ((r = 1; r <= REPS; r++)); do
	# shellcheck disable=SC2086
	fio --ioengine=io_uring --direct=1 --filename="$FILE" $COMMON $JOB >"$TMP/out" 2>&1
	printf '%-14s %8s MB/s  load %s\n' "O_DIRECT" "$(mbps "$TMP/out")" "$(load)"
	for nb in "$@"; do
		name=${nb%%=*}
		bin=${nb#*=}
		"$bin" --listen 127.0.0.1:0 --progress 0 "$FILE" >"$TMP/port" 2>"$TMP/$name.err" &
		pid=$!
		for _ in $(seq 50); do [[ -s $TMP/port ]] && break; sleep 0.1; done
		run_nbd "$name" "nbd://127.0.0.1:$(head -1 "$TMP/port")/"
		kill -TERM $pid; wait $pid
		grep summary "$TMP/$name.err" | sed 's/^/    /' | cut -c1-400 >>"$TMP/summaries"
		: >"$TMP/port"
	done
	if command -v nbdkit >/dev/null; then
		port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		nbdkit -f -i 127.0.0.1 -p "$port" file "$FILE" cache=none >/dev/null 2>&1 &
		pid=$!
		sleep 0.5
		run_nbd nbdkit "nbd://127.0.0.1:$port/"
		kill $pid; wait $pid 2>/dev/null
	fi
done
[[ ${AB_SUMMARIES:-0} = 1 && -f $TMP/summaries ]] && cat "$TMP/summaries"
exit 0

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Workload 5, NIC to disk: hugeslab-sink (issue 4) fed by hugeslab-source
# over loopback, zero-copy (pool + O_DIRECT) against its --baseline (malloc +
# recv + buffered write + free), and the limits of the same machine in the
# same run (bench/limits.c: loopback TCP alone, O_DIRECT writes alone,
# memcpy). Repetitions are interleaved; every run is checked with --verify.
#
#   bench/sink.sh SINK_BINARY OUT_DIR [REPS]
#
# Appends "limit REP NAME MBPS CPU_S_PER_GB" and "sink REP MODE KEY=VALUE..."
# lines to OUT_DIR/sink.tsv. Env: HSBENCH_SINK_BYTES (default 1G),
# HSBENCH_SINK_CONNS (4), HSBENCH_SINK_SIZE (64K-1M), HSBENCH_SINK_POOL (64M).
set -uo pipefail

SINK=$1
OUT=$2
REPS=${3:-3}
TOP=$(cd "$(dirname "$0")/.." && pwd)
SRC=$(dirname "$SINK")/hugeslab-source
BYTES=${HSBENCH_SINK_BYTES:-1G}
CONNS=${HSBENCH_SINK_CONNS:-4}
SIZE=${HSBENCH_SINK_SIZE:-64K-1M}
POOL=${HSBENCH_SINK_POOL:-64M}
TMP=$TOP/build/bench/sink
DATA=$TOP/build/bench/sink.scratch
rc=0

mkdir -p "$TMP"
[[ -x $SRC ]] || { echo "sink.sh: no $SRC" >&2; exit 1; }
for rep in $(seq 1 "$REPS"); do
	"$TOP/build/bench/bin/limits" -f "$DATA" -s $((1 << 30)) |
		awk -v r="$rep" 'BEGIN { OFS = "\t" } $1 == "limit" { $1 = "limit\t" r; print }' >>"$OUT/sink.tsv" || rc=1
	for mode in zerocopy baseline; do
		extra=()
		[[ $mode == baseline ]] && extra=(--baseline)
		rm -f "$DATA" "$TMP/$mode".*
		echo "bench: NIC to disk, repetition $rep: $mode" >&2
		"$SINK" -l 127.0.0.1:0 -d "$DATA" -i "$TMP/$mode.idx" --pool "$POOL" \
			--exit-after "$CONNS" --idle-rss-wait 1 --summary "$TMP/$mode.sink" -q \
			"${extra[@]}" >"$TMP/$mode.out" 2>"$TMP/$mode.err" &
		pid=$!
		port=
		for _ in $(seq 200); do
			port=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$TMP/$mode.out")
			[[ -n $port ]] && break
			kill -0 $pid 2>/dev/null || break
			sleep 0.05
		done
		if [[ -z $port ]]; then
			echo "sink.sh: sink did not start: $(cat "$TMP/$mode.err")" >&2
			kill $pid 2>/dev/null
			rc=1
			continue
		fi
		"$SRC" -C "127.0.0.1:$port" -c "$CONNS" -n "$BYTES" -s "$SIZE" -q \
			--summary "$TMP/$mode.src" --acked-out "$TMP/$mode.acked" >/dev/null 2>"$TMP/$mode.srcerr" || rc=1
		wait $pid || rc=1
		if "$SINK" --verify -d "$DATA" -i "$TMP/$mode.idx" --acked "$TMP/$mode.acked" \
			>"$TMP/$mode.verify" 2>&1; then
			v=ok
		else
			v=FAILED
			rc=1
		fi
		echo "sink	$rep	$mode	$(tr '\n' '\t' <"$TMP/$mode.sink")verify=$v	$(sed 's/^/src_/' "$TMP/$mode.src" | tr '\n' '\t')" >>"$OUT/sink.tsv"
		rm -f "$DATA" "$TMP/$mode.idx"
	done
done
exit $rc

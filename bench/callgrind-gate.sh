#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Regression gate on the instruction count of libhugeslab's fast path.
# Runs build/bench/bin/cg-fastpath under `valgrind --tool=callgrind` (one dump
# per operation, see bench/cg-fastpath.c), divides each dump's total by the
# number of operations and compares with bench/callgrind-baseline.txt.
# Instruction counts are the same on a busy machine and an idle one, so this
# can gate `make check` where timings cannot.
#
#   bench/callgrind-gate.sh            compare; exit 1 if an op got more than
#                                      TOL% (default 5) more expensive
#   bench/callgrind-gate.sh --update   rewrite the baseline from this build
#   bench/callgrind-gate.sh --compare  gate, then the same operations on
#                                      rte_mempool (cache 512) side by side,
#                                      when build/bench/bin/cg-fastpath-dpdk
#                                      exists (libdpdk-dev installed)
#
# Env: HSBENCH_CG_TOL (percent). The last line is "N passed, N failed".
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BASE=$TOP/bench/callgrind-baseline.txt
TOL=${HSBENCH_CG_TOL:-5}
OUT=$TOP/build/bench/callgrind
BIN=$TOP/build/bench/bin/cg-fastpath
PEER=$TOP/build/bench/bin/cg-fastpath-dpdk
MODE=${1:-}

make -s -C "$TOP/bench" "$BIN" >/dev/null
command -v valgrind >/dev/null || { echo "callgrind-gate: valgrind not installed"; echo "0 passed, 1 failed"; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
# ops: "name count" per section, printed by the program
valgrind --tool=callgrind --collect-atstart=no --dump-instr=no \
	--callgrind-out-file="$OUT/cg.out" "$BIN" >"$OUT/ops.txt" 2>"$OUT/valgrind.log" || {
	cat "$OUT/valgrind.log"
	echo "0 passed, 1 failed"
	exit 1
}

# per_op OUTPREFIX OPSFILE ARRAY: instructions per operation of each dump
per_op() {
	local -n into=$3
	local name count f total
	while read -r name count; do
		f=$(grep -l "^desc: Trigger: Client Request: $name\$" "$1".* | head -n 1)
		total=$(sed -n 's/^summary: //p' "$f")
		into[$name]=$(awk -v t="$total" -v n="$count" 'BEGIN { printf "%.1f", t / n }')
	done <"$2"
}
declare -A per
per_op "$OUT/cg.out" "$OUT/ops.txt" per

if [[ $MODE == --update ]]; then
	{
		echo "# Instructions per operation of libhugeslab's fast path, measured by"
		echo "# bench/callgrind-gate.sh --update ($(gcc -dumpfullversion 2>/dev/null | sed 's/^/gcc /'), -O2)."
		echo "# The gate fails when an operation exceeds its count by more than HSBENCH_CG_TOL%."
		while read -r name _; do
			echo "$name ${per[$name]}"
		done <"$OUT/ops.txt"
	} >"$BASE"
	cat "$BASE"
	exit 0
fi

[[ -f $BASE ]] || { echo "callgrind-gate: no $BASE (run with --update)"; echo "0 passed, 1 failed"; exit 1; }
pass=0
fail=0
printf '%-8s %10s %10s %8s\n' op baseline now change
while read -r name want; do
	[[ $name == \#* || -z $name ]] && continue
	have=${per[$name]:-}
	if [[ -z $have ]]; then
		echo "FAIL $name: not measured"
		fail=$((fail + 1))
		continue
	fi
	verdict=$(awk -v h="$have" -v w="$want" -v t="$TOL" 'BEGIN {
		c = (h - w) / w * 100
		printf "%+.1f%% %s", c, (h > w * (1 + t / 100)) ? "FAIL" : "ok" }')
	printf '%-8s %10s %10s %8s\n' "$name" "$want" "$have" "$verdict"
	if [[ $verdict == *FAIL ]]; then
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done <"$BASE"
if [[ $MODE == --compare && -x $PEER ]]; then
	# Same loops, same valgrind options; EAL in --no-huge mode, one lcore.
	declare -A peer
	valgrind --tool=callgrind --collect-atstart=no --dump-instr=no \
		--callgrind-out-file="$OUT/peer.out" "$PEER" -l 0 --no-huge -m 256 \
		--no-pci --no-shconf --no-telemetry --log-level=error --iova-mode=va \
		>"$OUT/peer-ops.txt" 2>"$OUT/peer-valgrind.log" &&
		per_op "$OUT/peer.out" "$OUT/peer-ops.txt" peer
	echo
	echo "instructions per operation, this build beside rte_mempool (cache 512):"
	printf '%-8s %10s %12s %8s\n' op hugeslab rte_mempool ratio
	while read -r name _; do
		[[ $name == \#* || -z $name ]] && continue
		h=${per[$name]:-} r=${peer[$name]:-}
		printf '%-8s %10s %12s %8s\n' "$name" "${h:--}" "${r:--}" \
			"$([[ -n $h && -n $r ]] && awk -v h="$h" -v r="$r" 'BEGIN { printf "%.2fx", h / r }' || echo -)"
	done <"$BASE"
fi
echo "$pass passed, $fail failed"
((fail == 0))

#!/bin/sh
# SPDX-License-Identifier: MIT
# --verify fails on corruption and passes a torn final commit only:
#  - one flipped byte in the first index block, with later commits after
#    it: "index corrupt", exit 1 (and the sink refuses to start on it,
#    leaving it as it is);
#  - one flipped byte in the last index block (a torn final commit, never
#    acked): exit 0, "torn final commit ignored";
#  - one flipped byte in the first record's header on the data side: exit 1.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect

# flip FILE OFFSET: invert one byte in place
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$b" ] || fail "cannot read byte $2 of $1"
	# shellcheck disable=SC2059
	printf "\\$(printf %03o $((b ^ 255)))" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc,fsync 2>/dev/null
}

# run_verify: status in $vrc, output in $W/verify.out
run_verify() {
	"$SINK" --verify -d "$DATA" -i "$INDEX" >"$W/verify.out" 2>&1
	vrc=$?
	sed 's/^/# /' "$W/verify.out" | head -n 5
}

# One record in flight per connection (-w 1): each ack waits for its own
# commit, so there are many commits however fast or slow the machine is
# (a free-running source gave only 2 commits under TCG).
start_sink --exit-after 2
source_run -c 2 -n 512K -s 1-64K -w 1 || { cat "$W/source.err"; fail "source failed"; }
wait_sink
run_verify
[ $vrc -eq 0 ] || fail "verify of an intact run failed"
blocks=$(sed -n 's/.* commits in \([0-9]*\) index blocks.*/\1/p' "$W/verify.out")
commits=$(sed -n 's/.* \([0-9]*\) commits in .*/\1/p' "$W/verify.out")
total=$(sed -n 's/^verify: \([0-9]*\) records.*/\1/p' "$W/verify.out")
[ "${commits:-0}" -ge 3 ] || fail "only ${commits:-0} commits: nothing to corrupt in the middle"
cp "$INDEX" "$W/index.good"

# 1. the middle: a byte of block 1's first entry
flip "$INDEX" $((4096 + 32 + 20))
run_verify
[ $vrc -ne 0 ] || fail "a corrupt first index block passed verify"
grep -q "index corrupt" "$W/verify.out" || fail "no \"index corrupt\" for block 1"
cp "$INDEX" "$W/index.bad"
# it exits before it listens
"$SINK" -l 127.0.0.1:0 -d "$DATA" -i "$INDEX" -q --idle-rss-wait 0 \
	>"$W/sink.out" 2>"$W/sink.err" </dev/null &&
	fail "the sink started on a corrupt index"
grep -q "index corrupt" "$W/sink.err" || { cat "$W/sink.err"; fail "the sink did not say why it refused"; }
cmp -s "$INDEX" "$W/index.bad" || fail "the sink changed a corrupt index"

# 2. the end: a byte of the last block is a torn final commit
cp "$W/index.good" "$INDEX"
flip "$INDEX" $((blocks * 4096 + 32 + 20))
run_verify
[ $vrc -eq 0 ] || fail "a torn last index block failed verify"
grep -q "torn final commit ignored" "$W/verify.out" || fail "the torn tail was not reported"
left=$(sed -n 's/^verify: \([0-9]*\) records.*/\1/p' "$W/verify.out")
[ "$left" -lt "$total" ] || fail "the torn block's records still counted ($left of $total)"

# 3. the data: the first record's header (its len field)
cp "$W/index.good" "$INDEX"
flip "$DATA" 5
run_verify
[ $vrc -ne 0 ] || fail "a corrupt record passed verify"
grep -q "bad" "$W/verify.out" || fail "no bad record reported"
log "$blocks blocks, $commits commits, $total records: middle block, torn tail, data byte each judged right"

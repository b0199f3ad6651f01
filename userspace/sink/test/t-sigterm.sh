#!/bin/sh
# SPDX-License-Identifier: MIT
# SIGTERM mid-stream: the sink finishes its writes, writes the index, acks,
# returns every buffer to the pool (clean destroy, exit 0); nothing acked is
# lost. Then the baseline mode does the same.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
for mode in "" --baseline; do
	start_sink $mode
	"$SOURCE" -C "127.0.0.1:$PORT" -q --acked-out "$W/acked" --summary "$W/source.sum" \
		-c 2 -t 30 -s 4K-512K >"$W/source.out" 2>"$W/source.err" &
	src=$!
	sleep 1.5
	stop_sink
	wait $src
	show_summary
	grep -q "signal 15" "$W/sink.err" || fail "no shutdown message"
	[ "$(sum "$W/sink.sum" records)" -gt 0 ] || fail "nothing received"
	verify_acked
done

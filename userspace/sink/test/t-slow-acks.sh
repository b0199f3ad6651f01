#!/bin/sh
# SPDX-License-Identifier: MIT
# A source that reads its acks slowly: records every 20 us for 4 s
# (HS_SLOW_ACKS_SECS; 0 skips, as in the VM, where a sleep lasts
# milliseconds and the socket does not fill), a
# 4 KiB receive buffer, one 16-byte read every 300 us, no reads while it
# sends; --fsync none, so that each wakeup commits and acks. The sink's
# socket fills: ack sends return EAGAIN or go out in part. Every ack frame
# must arrive whole (the source fails on a frame with a bad magic or
# stream), and the last ack must arrive although no record commits after
# it was blocked.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
[ "${HS_SLOW_ACKS_SECS:-4}" -gt 0 ] || skip "HS_SLOW_ACKS_SECS=0 (TCG: sleeps last milliseconds, the socket does not fill)"
start_sink --exit-after 1 --fsync none
"$SOURCE" -C "127.0.0.1:$PORT" -q --acked-out "$W/acked" --summary "$W/source.sum" \
	-c 1 -t "${HS_SLOW_ACKS_SECS:-4}" -s 64-512 -w 1G --pace 20 --ack-delay 300 >"$W/source.out" 2>"$W/source.err" &
src=$!
i=0
limit=$(( (${HS_SLOW_ACKS_SECS:-4} + 30) * 10 ))
while kill -0 $src 2>/dev/null && [ $i -lt $limit ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 $src 2>/dev/null; then
	kill $src
	wait $src
	show_summary
	fail "source still waits for its last ack 30 s after sending"
fi
wait $src || { cat "$W/source.err"; fail "source failed"; }
wait_sink
show_summary
[ "$(sum "$W/source.sum" acked)" = "$(sum "$W/source.sum" records)" ] || fail "not every record acked"
[ "$(sum "$W/sink.sum" ack_blocked)" -gt 0 ] || fail "the ack socket never filled: the test tests nothing"
log "ack sends blocked $(sum "$W/sink.sum" ack_blocked) times, short $(sum "$W/sink.sum" ack_short) times"
verify_acked

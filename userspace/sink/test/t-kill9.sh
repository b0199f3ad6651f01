#!/bin/sh
# SPDX-License-Identifier: MIT
# kill -9 of the sink mid-stream: --verify afterwards finds every record the
# source got an ack for.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
start_sink --fsync none
"$SOURCE" -C "127.0.0.1:$PORT" -q --acked-out "$W/acked" --summary "$W/source.sum" \
	-c 4 -t 30 -s 1-256K -w 2M >"$W/source.out" 2>"$W/source.err" &
src=$!
# Wait until some records are acked, then kill.
i=0
while [ $i -lt 100 ]; do
	sleep 0.1
	[ -s "$W/data.idx" ] && [ "$(stat -c %s "$INDEX")" -gt 4096 ] && break
	i=$((i + 1))
done
sleep 0.5
kill -9 "$SINK_PID"
wait "$SINK_PID" 2>/dev/null
SINK_PID=
wait $src
show_summary
acked=$(awk '{ s += $2 } END { print s + 0 }' "$W/acked")
log "acked before the kill: $acked records"
[ "$acked" -gt 0 ] || fail "nothing was acked before the kill"
verify_acked

#!/bin/sh
# SPDX-License-Identifier: MIT
# Restart recovers instead of wiping: five rounds of kill -9 of the sink
# in the middle of a stream (default --fsync), restart on the same data and
# index, send more (new streams). The source logs every ack as it reads it
# (--acked-log); at the end every record acked in any round must verify, and
# each restart must have recovered at least what was acked before it.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
: >"$W/acked-all"
start_sink
round=1
while [ $round -le 5 ]; do
	"$SOURCE" -C "127.0.0.1:$PORT" -q --acked-log "$W/acklog.$round" \
		--stream-base $((round * 10)) -c 2 -t 30 -s 1-256K -w 2M \
		>"$W/source.out" 2>"$W/source.err" &
	src=$!
	# kill once something of this round is acked
	i=0
	while [ $i -lt 100 ] && [ "$(wc -l <"$W/acklog.$round" 2>/dev/null || echo 0)" -lt 8 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$SINK_PID"
	wait "$SINK_PID" 2>/dev/null
	SINK_PID=
	wait $src
	n=$(wc -l <"$W/acklog.$round")
	[ "$n" -gt 0 ] || fail "round $round: nothing acked before the kill"
	cat "$W/acklog.$round" >>"$W/acked-all"
	acked=$(awk '{ if ($2 > m[$1]) m[$1] = $2 } END { for (s in m) t += m[s]; print t + 0 }' "$W/acked-all")
	restart_sink
	# the new sink recovered before it listened
	rec=$(sed -n 's/.*recovered \([0-9]*\) records.*/\1/p' "$W/sink.err")
	[ -n "$rec" ] || { cat "$W/sink.err"; fail "round $round: no recovery on restart"; }
	[ "$rec" -ge "$acked" ] || fail "round $round: recovered $rec records, $acked were acked"
	log "round $round: $n acks read, $acked records acked so far, $rec recovered"
	round=$((round + 1))
done
# a clean last round on top of all that
source_run -c 2 -n 8M -s 1-64K --stream-base 100 || { cat "$W/source.err"; fail "last source failed"; }
stop_sink
cat "$W/acked" >>"$W/acked-all"
cp "$W/acked-all" "$W/acked"
verify_acked

#!/bin/sh
# SPDX-License-Identifier: MIT
# Small records are coalesced, on the recv(2) and the multishot receive
# paths: 4 connections trickle records
# of 64-512 bytes (one every 20 us each). Writing per wakeup rewrites the
# last partial 4 KiB page every time (about one write per record); the sink
# must write at most one chunk per connection per 2 ms (its coalescing
# bound) plus one per 64 KiB, and report bytes on disk per payload byte.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
for recv in plain multishot; do
	start_sink --exit-after 4 --recv $recv --fsync none
	source_run -c 4 -n 2M -s 64-512 --pace 20 || { cat "$W/source.err"; fail "$recv: source failed"; }
	wait_sink
	show_summary
	writes=$(sum "$W/sink.sum" writes)
	records=$(sum "$W/sink.sum" records)
	ratio=$(sum "$W/sink.sum" disk_per_payload)
	[ -n "$ratio" ] || fail "no disk_per_payload in the summary"
	max=$(awk -v s="$(sum "$W/sink.sum" secs)" -v b="$(sum "$W/sink.sum" bytes)" \
		'BEGIN { printf "%d", 4 * s / 0.002 * 1.5 + b / 65536 + 16 }')
	log "$recv: $records records in $writes writes (at most $max), $ratio disk bytes per payload byte"
	[ "$writes" -le "$max" ] || fail "$recv: $writes writes for $records records: not coalesced (bound $max)"
	verify_acked
done

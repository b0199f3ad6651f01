#!/bin/sh
# SPDX-License-Identifier: MIT
# Pool exhaustion mid-stream: a 4 MiB pool (2 buffers) under 4 connections
# with 8 MiB windows each (32 MiB in flight). The sink must wait for buffers
# (TCP back-pressure), never exceed its pool, and lose nothing.
#
# "Never exceeds its pool" is not the sink's own high-water counter, which
# counts pool buffers and so can never pass the pool: it is the sink's peak
# RSS, which stays within the pool plus a fixed allowance
# (HS_EXHAUST_SLACK_MIB; the ASan build measures pool + 8 MiB) however much
# data is in flight. A sink that queued records on its heap, or held a
# second copy, would pass the window (32 MiB) and fail. The high-water must
# equal the pool: back-pressure means every buffer was out.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
start_sink --exit-after 4 --pool 4M --buf-size 2M
source_run -c 4 -n 48M -s 256K-1M -w 8M || { cat "$W/source.err"; fail "source failed"; }
wait_sink
show_summary
[ "$(sum "$W/sink.sum" pool_bufs)" = 2 ] || fail "pool is not 2 buffers"
[ "$(sum "$W/sink.sum" pool_hwm_bufs)" = 2 ] || fail "the sink never had the whole pool out"
[ "$(sum "$W/sink.sum" empty_waits)" -gt 0 ] || fail "the pool never ran empty"
[ "$(sum "$W/sink.sum" records)" = "$(sum "$W/source.sum" records)" ] || fail "records lost"
verify_acked

# rss_within POOL_MIB ROUND: peak RSS of the sink at most pool + slack.
rss_within() {
	awk -v rss="$(sum "$W/sink.sum" peak_rss_mib)" -v pool="$1" \
		-v slack="${HS_EXHAUST_SLACK_MIB:-16}" \
		'BEGIN { exit !(rss != "" && rss <= pool + slack) }' ||
		fail "sink peak RSS $(sum "$W/sink.sum" peak_rss_mib) MiB above the $1 MiB pool + ${HS_EXHAUST_SLACK_MIB:-16} MiB$2"
}
rss_within 4

# Again with records of 1 byte .. 1 MiB and 4 buffers: the multishot
# receive's ring runs dry over and over while records straddle buffers.
start_sink --exit-after 4 --pool 8M --buf-size 2M
source_run -c 4 -n 32M -s 1-1M -w 4M || { cat "$W/source.err"; fail "source failed (round 2)"; }
wait_sink
show_summary
[ "$(sum "$W/sink.sum" pool_bufs)" = 4 ] || fail "pool is not 4 buffers (round 2)"
[ "$(sum "$W/sink.sum" pool_hwm_bufs)" = 4 ] || fail "the sink never had the whole pool out (round 2)"
rss_within 8 " (round 2)"
[ "$(sum "$W/sink.sum" records)" = "$(sum "$W/source.sum" records)" ] || fail "records lost (round 2)"
verify_acked

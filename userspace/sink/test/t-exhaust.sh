#!/bin/sh
# SPDX-License-Identifier: MIT
# Pool exhaustion mid-stream: a 4 MiB pool (2 buffers) under 4 connections
# with 8 MiB windows each (32 MiB in flight). The sink must wait for buffers
# (TCP back-pressure), never exceed its pool, and lose nothing.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
start_sink --exit-after 4 --pool 4M --buf-size 2M
source_run -c 4 -n 48M -s 256K-1M -w 8M || { cat "$W/source.err"; fail "source failed"; }
wait_sink
show_summary
[ "$(sum "$W/sink.sum" pool_bufs)" = 2 ] || fail "pool is not 2 buffers"
[ "$(sum "$W/sink.sum" pool_hwm_bufs)" -le 2 ] || fail "pool high-water above the pool"
[ "$(sum "$W/sink.sum" empty_waits)" -gt 0 ] || fail "the pool never ran empty"
[ "$(sum "$W/sink.sum" records)" = "$(sum "$W/source.sum" records)" ] || fail "records lost"
verify_acked

# Again with records of 1 byte .. 1 MiB and 4 buffers: the multishot
# receive's ring runs dry over and over while records straddle buffers.
start_sink --exit-after 4 --pool 8M --buf-size 2M
source_run -c 4 -n 32M -s 1-1M -w 4M || { cat "$W/source.err"; fail "source failed (round 2)"; }
wait_sink
show_summary
[ "$(sum "$W/sink.sum" pool_hwm_bufs)" -le 4 ] || fail "pool high-water above the pool (round 2)"
[ "$(sum "$W/sink.sum" records)" = "$(sum "$W/source.sum" records)" ] || fail "records lost (round 2)"
verify_acked

#!/bin/sh
# SPDX-License-Identifier: MIT
# The fallback paths: --io plain (recv + pwrite) with --fsync bytes=N, and
# small records (1..4096 bytes) that share buffers.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
start_sink --exit-after 4 --io plain --fsync bytes=4M
source_run -c 4 -n 16M -s 1-4096 || { cat "$W/source.err"; fail "source failed"; }
wait_sink
show_summary
grep -q '^engine=pwrite$' "$W/sink.sum" || fail "not the pwrite engine"
[ "$(sum "$W/sink.sum" records)" = "$(sum "$W/source.sum" records)" ] || fail "record count"
verify_acked

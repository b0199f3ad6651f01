#!/bin/sh
# SPDX-License-Identifier: MIT
# hugeslab-source runs one thread per connection: 4 of them under
# ThreadSanitizer, with --acked-log (one fd shared by all threads), must
# report no race. Host only (the build/tsan binary next to HS_BIN).
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
TSRC=$HS_BIN/../tsan/hugeslab-source
[ -x "$TSRC" ] || skip "no ThreadSanitizer build of hugeslab-source"
start_sink --exit-after 4
TSAN_OPTIONS=halt_on_error=1:exitcode=66 "$TSRC" -C "127.0.0.1:$PORT" -q \
	--acked-log "$W/acked" --summary "$W/source.sum" -c 4 -n 32M -s 1-64K \
	>"$W/source.out" 2>"$W/source.err"
rc=$?
if [ $rc -ne 0 ] || grep -q ThreadSanitizer "$W/source.err"; then
	# a source stopped by TSan may not have opened all 4 connections
	kill -TERM "$SINK_PID" 2>/dev/null
	wait "$SINK_PID"
	SINK_PID=
	head -n 30 "$W/source.err"
	grep -q ThreadSanitizer "$W/source.err" && fail "data race in hugeslab-source"
	fail "source exit status $rc"
fi
wait_sink
verify_acked

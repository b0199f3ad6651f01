#!/bin/sh
# SPDX-License-Identifier: MIT
# HS_BIG (256M) through 4 connections, record sizes 1 byte .. 1 MiB
# (log-uniform), every record verified from disk; with --fsync batch, on the
# default paths, which must be io_uring multishot recv (both kernels and
# liburing 2.3 have it): a sink that quietly fell back to recv(2) would
# leave the default receive path untested, so that fails.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
BIG=${HS_BIG:-256M}
start_sink --exit-after 4 --fsync batch
source_run -c 4 -n "$BIG" -s 1-1M || { cat "$W/source.err"; fail "source failed"; }
wait_sink
show_summary
[ "$(sum "$W/sink.sum" records)" = "$(sum "$W/source.sum" records)" ] ||
	fail "sink wrote $(sum "$W/sink.sum" records) records, source sent $(sum "$W/source.sum" records)"
[ "$(sum "$W/source.sum" acked)" = "$(sum "$W/source.sum" records)" ] || fail "not every record acked"
grep -q '^recv=io_uring multishot' "$W/sink.sum" ||
	{ sed 's/^/# sink: /' "$W/sink.err"; fail "default receive path is $(sum "$W/sink.sum" recv), not io_uring multishot"; }
# The default write path: WRITE_FIXED with the index of hs_buf_uring_index()
# for every write. A wrong index or range check would quietly fall back to
# IORING_OP_WRITE, counted in unfixed_writes.
[ "$(sum "$W/sink.sum" fixed_buffers)" = registered ] ||
	{ sed 's/^/# sink: /' "$W/sink.err"; fail "fixed buffers: $(sum "$W/sink.sum" fixed_buffers)"; }
[ "$(sum "$W/sink.sum" writes)" -gt 0 ] || fail "no writes"
[ "$(sum "$W/sink.sum" unfixed_writes)" = 0 ] ||
	fail "$(sum "$W/sink.sum" unfixed_writes) of $(sum "$W/sink.sum" writes) writes not from fixed buffers"
verify_acked
grep -q "^verify: $(sum "$W/source.sum" records) records" "$W/verify.out" || fail "record count"

#!/bin/sh
# SPDX-License-Identifier: MIT
# The recv(2) receive path lands every payload byte where it is written
# from: 64 MiB of 1 byte .. 1 MiB records with 0 copies per byte. The
# sink's copy counter is what says so, so the same load then goes through
# the multishot path, where records cut by the end of a ring buffer must be
# copied: there the counter must be above 0 (and at most 1 per byte), or a
# counter that never moves would pass the first half.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
start_sink --exit-after 4 --recv plain
source_run -c 4 -n 64M -s 1-1M || { cat "$W/source.err"; fail "source failed"; }
wait_sink
show_summary
grep -q '^recv=recv(2) into pool$' "$W/sink.sum" || fail "not the recv path"
[ "$(sum "$W/sink.sum" copies_per_byte)" = "0.0000" ] || fail "copies per byte not 0"
[ "$(sum "$W/sink.sum" records)" = "$(sum "$W/source.sum" records)" ] || fail "record count"
verify_acked

start_sink --exit-after 4 --recv multishot
source_run -c 4 -n 64M -s 1-1M || { cat "$W/source.err"; fail "source failed (multishot)"; }
wait_sink
show_summary
grep -q '^recv=io_uring multishot' "$W/sink.sum" || fail "not the multishot path"
c=$(sum "$W/sink.sum" copies_per_byte)
awk -v c="$c" 'BEGIN { exit !(c > 0 && c <= 1) }' ||
	fail "multishot copies per byte $c: the copy counter does not count"
log "copies per byte: recv(2) 0, multishot $c"
verify_acked

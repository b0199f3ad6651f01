#!/bin/sh
# SPDX-License-Identifier: MIT
# The recv(2) receive path lands every payload byte where it is written
# from: 64 MiB of 1 byte .. 1 MiB records with 0 copies per byte, and the
# pool high-water mark stays at one buffer per connection plus writes.
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

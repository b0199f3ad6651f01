#!/bin/sh
# SPDX-License-Identifier: MIT
# A source that disconnects in the middle of a record: its complete records
# are kept and acked, the partial one is dropped and logged, the sink goes on
# serving the next connection.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
start_sink --exit-after 2
source_run -c 1 -n 4M -s 64K --inject mid-record || { cat "$W/source.err"; fail "source failed"; }
cp "$W/acked" "$W/acked1"
n1=$(sum "$W/source.sum" records)
source_run -c 1 -n 4M -s 64K --stream-base 2 || { cat "$W/source.err"; fail "second source failed"; }
cat "$W/acked1" >>"$W/acked"
wait_sink
show_summary
grep -q "middle of a record" "$W/sink.err" || { cat "$W/sink.err"; fail "no log line for the partial record"; }
sed 's/^/# sink: /' "$W/sink.err"
total=$(($(sum "$W/source.sum" records) + n1))
[ "$(sum "$W/sink.sum" records)" = "$total" ] || fail "sink has $(sum "$W/sink.sum" records) records, expected $total"
verify_acked

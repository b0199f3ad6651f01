#!/bin/sh
# SPDX-License-Identifier: MIT
# Garbage: an oversized length, a bad payload CRC, a non-protocol peer (bad
# magic) and a truncated header each get the connection closed with a
# logged reason, and nothing is written.
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
for kind in bad-len:"exceeds --max-record" bad-crc:"payload CRC mismatch" \
	    bad-magic:"bad record magic" trunc-hdr:"in a record header"; do
	inj=${kind%%:*}
	why=${kind#*:}
	start_sink --exit-after 1
	source_run -c 1 --inject "$inj" || { cat "$W/source.err"; fail "$inj: source did not see the close"; }
	wait_sink
	grep -q "$why" "$W/sink.err" || { cat "$W/sink.err"; fail "$inj: no \"$why\" in the log"; }
	log "$inj: $(grep closed "$W/sink.err" | head -n 1)"
	[ "$(sum "$W/sink.sum" records)" = 0 ] || fail "$inj: records written"
	[ "$(sum "$W/sink.sum" disk_bytes)" = 0 ] || fail "$inj: bytes written"
	case $DATA in
	/dev/*) ;;
	*) [ "$(stat -c %s "$DATA")" = 0 ] || fail "$inj: data file not empty" ;;
	esac
	[ "$(stat -c %s "$INDEX")" = 4096 ] || fail "$inj: index has entry blocks"
done

#!/bin/sh
# SPDX-License-Identifier: MIT
#
# demo-run.sh BIN DATA TMP SECONDS: the demo's measurement, on the host or in
# the VM (busybox sh). Runs hugeslab-sink twice against DATA (a file or a
# block device) with hugeslab-source over loopback for SECONDS: the pool +
# O_DIRECT on the default receive path (io_uring multishot), the same on the
# recv(2) path (--recv plain), then --baseline (malloc + buffered write);
# each run is then checked with --verify. Prints "demo MODE KEY=VALUE..." lines that
# scripts/demo.sh turns into the side-by-side table, and exits non-zero when
# a run or its verification failed.

bin=$1 data=$2 tmp=$3 secs=${4:-5}
conns=${HS_DEMO_CONNS:-4}
size=${HS_DEMO_SIZE:-16K-1M}
rc=0
mkdir -p "$tmp"

for mode in zerocopy recvzc baseline; do
	case $mode in
	zerocopy) extra= ;;
	recvzc) extra="--recv plain" ;;
	baseline) extra=--baseline ;;
	esac
	rm -f "$tmp/$mode".*
	# --idle-rss-wait: RSS is measured 2 s after the load stops.
	# shellcheck disable=SC2086 # $extra is a list of options
	"$bin/hugeslab-sink" -l 127.0.0.1:0 -d "$data" -i "$tmp/$mode.idx" \
		--pool 64M --exit-after "$conns" --idle-rss-wait 2 \
		--summary "$tmp/$mode.sink" -q $extra \
		>"$tmp/$mode.out" 2>"$tmp/$mode.err" &
	pid=$!
	port=
	i=0
	while [ -z "$port" ] && [ $i -lt 200 ] && kill -0 $pid 2>/dev/null; do
		sleep 0.05
		port=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$tmp/$mode.out")
		i=$((i + 1))
	done
	if [ -z "$port" ]; then
		echo "demo $mode error=sink-did-not-start"
		cat "$tmp/$mode.err"
		rc=1
		continue
	fi
	"$bin/hugeslab-source" -C "127.0.0.1:$port" -c "$conns" -t "$secs" -s "$size" -q \
		--summary "$tmp/$mode.src" --acked-out "$tmp/$mode.acked" >/dev/null 2>"$tmp/$mode.srcerr" || rc=1
	wait $pid || rc=1
	"$bin/hugeslab-sink" --verify -d "$data" -i "$tmp/$mode.idx" \
		--acked "$tmp/$mode.acked" >"$tmp/$mode.verify" 2>&1 || rc=1
	# Values with spaces travel as "~".
	echo "demo $mode $(sed 's/ /~/g' "$tmp/$mode.sink" | tr '\n' ' ')"
	echo "demo $mode $(sed 's/^/src_/' "$tmp/$mode.src" | tr '\n' ' ')"
	echo "demo $mode verify=$(sed -n 's/^verify: \([0-9]*\) records, [0-9]* payload bytes ok, \([0-9]*\) bad.*/\1~ok,~\2~bad/p' "$tmp/$mode.verify")"
	echo "demo $mode acked_check=$(sed -n 's/^verify: \([0-9]*\) acknowledged records \(.*\)/\1~acked,~\2/p' "$tmp/$mode.verify" | sed 's/ /~/g')"
	sed 's/^/# verify: /' "$tmp/$mode.verify"
	sed 's/^/# sink: /' "$tmp/$mode.err"
done
exit $rc

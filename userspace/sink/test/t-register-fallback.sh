#!/bin/sh
# SPDX-License-Identifier: MIT
# A failed io_uring buffer registration is reported, not silent: two sinks
# of one unprivileged user (nobody) under ulimit -l 6 MiB, each with a
# 4 MiB pool. io_uring charges registered buffers to the user, so the
# second one's registration fails with ENOMEM. Even with -q it must say so
# on stderr and in its summary, and still write everything correctly
# (IORING_OP_WRITE from unregistered buffers). Host only (needs root and
# setpriv).
# shellcheck source=userspace/sink/test/lib.sh
. "$(dirname "$0")/lib.sh"
check_odirect
[ "$(id -u)" = 0 ] || skip "needs root to become nobody"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all true 2>/dev/null ||
	skip "no setpriv that can become nobody"
case $DATA in /dev/*) skip "data on a block device" ;; esac
chmod 777 "$W"
# as_nobody NAME ARGS...: a sink as nobody, -q, output in $W/NAME.*
as_nobody() {
	n=$1
	shift
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		sh -c 'ulimit -l 6144 && exec "$@"' sh "$SINK" -l 127.0.0.1:0 -q \
		-d "$W/$n.bin" -p 4M --idle-rss-wait 0 --summary "$W/$n.sum" "$@" \
		>"$W/$n.out" 2>"$W/$n.err" &
}
wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		p=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$W/$1.out" 2>/dev/null)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
		i=$((i + 1))
	done
	cat "$W/$1.err" >&2
	return 1
}
as_nobody first
first=$!
wait_port first >/dev/null || fail "first sink did not start"
grep -q "register" "$W/first.err" && skip "first sink could not register either: $(cat "$W/first.err")"
as_nobody second --exit-after 1
second=$!
PORT=$(wait_port second) || fail "second sink did not start"
"$SOURCE" -C "127.0.0.1:$PORT" -q --acked-out "$W/acked" --summary "$W/source.sum" \
	-c 1 -n 8M -s 4K-256K >"$W/source.out" 2>"$W/source.err" || { cat "$W/source.err"; fail "source failed"; }
wait $second || { cat "$W/second.err"; fail "second sink failed"; }
kill $first
wait $first
sed 's/^/# second: /' "$W/second.err"
grep -q "io_uring_register_buffers: Cannot allocate memory" "$W/second.err" ||
	fail "registration failure not logged under -q"
grep -q '^fixed_buffers=failed: ' "$W/second.sum" || fail "registration failure not in the summary"
grep -q '^fixed_buffers=registered$' "$W/first.sum" || fail "the first sink should have registered"
"$SINK" --verify -d "$W/second.bin" --acked "$W/acked" >"$W/verify.out" 2>&1 || { cat "$W/verify.out"; fail "verify"; }
grep -q "all found" "$W/verify.out" || fail "acked records missing"

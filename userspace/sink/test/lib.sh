# SPDX-License-Identifier: MIT
#
# lib.sh: helpers for the end-to-end tests (POSIX sh, also busybox sh in the
# VM). Sourced by each t-*.sh. Environment:
#   HS_BIN   directory with hugeslab-sink and hugeslab-source
#   HS_TMP   scratch directory (index files, logs; data files on the host)
#   HS_DATA  data target; default a file in HS_TMP (O_DIRECT must work
#            there); in the VM /dev/vda
#   HS_BIG   size of the big transfer (default 256M)
#   HS_EXPECT_BACKEND  pool backend the sink must get (VM: hugeslab)
# Exit status of a test: 0 pass, 1 fail, 77 skip.

: "${HS_BIN:?HS_BIN not set}"
: "${HS_TMP:=${TMPDIR:-/tmp}/hs-sink-test.$$}"
T=$(basename "$0" .sh)
W=$HS_TMP/$T
rm -rf "$W"
mkdir -p "$W" || exit 1
DATA=${HS_DATA:-$W/data.bin}
INDEX=$W/data.idx
SINK=$HS_BIN/hugeslab-sink
SOURCE=$HS_BIN/hugeslab-source
SINK_PID=
PORT=
# The data file can be large; the index and logs stay for a post-mortem.
[ -z "${HS_DATA:-}" ] && trap 'rm -f "$DATA"' EXIT

log() { echo "# $T: $*"; }
fail() {
	echo "FAIL: $T: $*"
	[ -n "$SINK_PID" ] && kill -9 "$SINK_PID" 2>/dev/null
	for f in sink.err source.rc source.err source.out sink.sum source.sum; do
		[ -s "$W/$f" ] && tail -n 15 "$W/$f" | sed "s/^/# $f: /"
	done
	exit 1
}
skip() { echo "SKIP: $T: $*"; exit 77; }

# Files must be on a file system that takes O_DIRECT (not tmpfs).
check_odirect() {
	case $DATA in
	/dev/*) return 0 ;;
	esac
	dd if=/dev/zero of="$W/odirect" bs=4096 count=1 oflag=direct 2>/dev/null ||
		skip "O_DIRECT not supported in $(dirname "$DATA")"
	rm -f "$W/odirect"
}

# start_sink ARGS...: run the sink in the background on a free loopback
# port, on a new index (a fresh run: the sink itself would recover and
# append to what is there); sets SINK_PID and PORT. Output in $W/sink.out
# and $W/sink.err.
start_sink() {
	rm -f "$INDEX"
	case $DATA in
	/dev/*) ;;
	*) rm -f "$DATA" ;;
	esac
	restart_sink "$@"
}

# restart_sink ARGS...: the same on the files as they are (recovery).
restart_sink() {
	rm -f "$W/sink.out" "$W/sink.err" "$W/sink.sum"
	"$SINK" -l 127.0.0.1:0 -d "$DATA" -i "$INDEX" --summary "$W/sink.sum" \
		--idle-rss-wait 0 -q "$@" >"$W/sink.out" 2>"$W/sink.err" &
	SINK_PID=$!
	i=0
	while [ $i -lt 200 ]; do
		PORT=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$W/sink.out" 2>/dev/null)
		[ -n "$PORT" ] && return 0
		kill -0 "$SINK_PID" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	cat "$W/sink.err"
	fail "sink did not start"
}

# wait_sink: wait for the sink to exit by itself; its status must be 0.
wait_sink() {
	wait "$SINK_PID"
	rc=$?
	SINK_PID=
	if [ $rc -ne 0 ]; then
		sed 's/^/# sink: /' "$W/sink.err" | tail -n 20
		fail "sink exited with status $rc"
	fi
	# In the VM the pool must come from the module, not a fallback.
	if [ -n "${HS_EXPECT_BACKEND:-}" ] && grep -q '^mode=zerocopy$' "$W/sink.sum" &&
	   ! grep -q "^backend=$HS_EXPECT_BACKEND\$" "$W/sink.sum"; then
		fail "pool backend is $(sum "$W/sink.sum" backend), expected $HS_EXPECT_BACKEND"
	fi
}

stop_sink() {
	kill -TERM "$SINK_PID" 2>/dev/null
	wait_sink
}

source_run() {
	rm -f "$W/source.sum" "$W/acked"
	"$SOURCE" -C "127.0.0.1:$PORT" -q --acked-out "$W/acked" \
		--summary "$W/source.sum" "$@" >"$W/source.out" 2>"$W/source.err"
	rc=$?
	echo "exit status $rc" >"$W/source.rc"
	return $rc
}

# sum FILE KEY: value of KEY in a key=value summary file.
sum() { sed -n "s/^$2=//p" "$1"; }

verify_acked() {
	"$SINK" --verify -d "$DATA" -i "$INDEX" --acked "$W/acked" >"$W/verify.out" 2>&1
	rc=$?
	sed 's/^/# /' "$W/verify.out" | head -n 20
	[ $rc -eq 0 ] || fail "verify failed"
	grep -q "all found" "$W/verify.out" || fail "acked records missing"
}

show_summary() {
	[ -f "$W/sink.sum" ] && log "sink: $(tr '\n' ' ' <"$W/sink.sum")"
	[ -f "$W/source.sum" ] && log "source: $(tr '\n' ' ' <"$W/source.sum")"
}

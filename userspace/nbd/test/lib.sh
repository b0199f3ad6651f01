# SPDX-License-Identifier: MIT
#
# lib.sh: helpers for the end-to-end tests of hugeslab-nbd, sourced by each
# t-*.sh. Environment:
#   HS_BIN   directory with hugeslab-nbd (the ASan+UBSan build in make check)
#   HS_TMP   scratch directory (export files, logs); must take O_DIRECT
# Exit status of a test: 0 pass, 1 fail, 77 skip.

: "${HS_BIN:?HS_BIN not set}"
: "${HS_TMP:=${TMPDIR:-/tmp}/hs-nbd-test.$$}"
T=$(basename "$0" .sh)
W=$HS_TMP/$T
rm -rf "$W"
mkdir -p "$W" || exit 1
NBD=${NBD:-$HS_BIN/hugeslab-nbd}
SRV_PID=
PORT=
# The data files can be large; the logs stay for a post-mortem.
trap 'rm -f "$W"/*.img "$W"/*.bin' EXIT

log() { echo "# $T: $*"; }
fail() {
	echo "FAIL: $T: $*"
	[ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null
	[ -s "$W/srv.err" ] && tail -n 20 "$W/srv.err" | sed "s/^/# srv.err: /"
	exit 1
}
skip() { echo "SKIP: $T: $*"; exit 77; }
need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
	done
}

# mkimg NAME SIZE: a sparse file export in $W.
mkimg() {
	truncate -s "$2" "$W/$1" || fail "truncate $1"
	dd if=/dev/zero of="$W/odirect.img" bs=4096 count=1 oflag=direct 2>/dev/null ||
		skip "O_DIRECT not supported in $W"
}

# start_server ARGS...: hugeslab-nbd on a free loopback port, in the
# background; sets SRV_PID and PORT. Output in $W/srv.out and $W/srv.err.
start_server() {
	rm -f "$W/srv.out"
	"$NBD" --listen 127.0.0.1:0 --progress 0 "$@" >"$W/srv.out" 2>>"$W/srv.err" &
	SRV_PID=$!
	i=0
	while [ $i -lt 300 ]; do
		PORT=$(head -n 1 "$W/srv.out" 2>/dev/null)
		[ -n "$PORT" ] && return 0
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	fail "server did not start"
}

# stop_server: SIGTERM; the server must exit 0 with no buffer held and no
# sanitizer report.
stop_server() {
	kill -TERM "$SRV_PID" || fail "server gone before SIGTERM"
	wait "$SRV_PID"
	rc=$?
	SRV_PID=
	[ $rc -eq 0 ] || fail "server exited $rc"
	grep -q " 0 buffers held at exit" "$W/srv.err" || fail "buffers held at exit"
	if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer\|ThreadSanitizer" "$W/srv.err"; then
		fail "sanitizer report"
	fi
}

uri() { echo "nbd://127.0.0.1:$PORT/$1"; }

sum() { sha256sum "$1" | cut -d' ' -f1; }

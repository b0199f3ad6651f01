# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Sourced by bench/nbd/run.sh: how to start and stop each NBD server under
# test on one backing file, so the driver treats them all alike. Every server
# listens on 127.0.0.1:PORT, serves FILE as its default export (nbd-server
# as export "bench": it has no default export) and runs until srv_stop.
#
#   srv_available NAME       0 if the server's program is installed/built
#   srv_start NAME FILE PORT DIR   start it; sets SRV_PID (the process whose
#                            /proc/PID/stat and VmHWM are measured) and
#                            SRV_URI; DIR holds its config and log
#   srv_stop                 SIGTERM, then wait for it to exit
#   srv_io NAME              how the server does I/O on FILE (for the table)
#
# HUGESLAB_NBD overrides the hugeslab-nbd binary, HUGESLAB_NBD_POOL its
# --pool (default 256M).

srv_hugeslab_bin() {
	echo "${HUGESLAB_NBD:-$TOP/userspace/nbd/build/hugeslab-nbd}"
}

# The pool memory hugeslab-nbd pins, in MiB: --pool, plus the default of
# --small-pool when this build has one (its --help names the default).
srv_hugeslab_pool_mib() {
	local bin=${1:-$(srv_hugeslab_bin)} small
	small=$("$bin" --help 2>&1 | grep -o -- '--small-pool [0-9]*[KMG]' | awk '{ print $2 }')
	echo $(($(numfmt --from=iec --to-unit=Mi "${HUGESLAB_NBD_POOL:-256M}") +
		$(numfmt --from=iec --to-unit=Mi "${small:-0}")))
}

srv_available() {
	case $1 in
	hugeslab-nbd) [[ -x $(srv_hugeslab_bin) ]] ;;
	nbd-server) command -v nbd-server >/dev/null ;;
	nbdkit) command -v nbdkit >/dev/null && nbdkit file --version >/dev/null 2>&1 ;;
	qemu-nbd) command -v qemu-nbd >/dev/null ;;
	*) return 1 ;;
	esac
}

srv_io() {
	case $1 in
	hugeslab-nbd) echo "O_DIRECT, io_uring, pool buffers" ;;
	nbd-server) echo "buffered, fsync on FLUSH" ;;
	nbdkit) echo "file plugin cache=none (buffered + fadvise)" ;;
	qemu-nbd) echo "--cache=none (O_DIRECT) --aio=io_uring" ;;
	esac
}

# Wait until the server answers a handshake (nbdinfo does NBD_OPT_GO).
srv_wait_ready() {
	local _
	for _ in $(seq 1 100); do
		if nbdinfo --size "$SRV_URI" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$SRV_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

srv_start() {
	local name=$1 file=$2 port=$3 dir=$4
	mkdir -p "$dir"
	SRV_PID=
	SRV_URI=nbd://127.0.0.1:$port/
	case $name in
	hugeslab-nbd)
		"$(srv_hugeslab_bin)" --listen "127.0.0.1:$port" \
			--pool "${HUGESLAB_NBD_POOL:-256M}" "$file" \
			>"$dir/stdout.log" 2>"$dir/server.log" &
		SRV_PID=$!
		;;
	nbd-server)
		# nbd-server forks one child per connection: its CPU time comes
		# back in the parent's cutime/cstime once reaped, its RSS is
		# sampled over the process tree.
		cat >"$dir/nbd-server.conf" <<-CONF
			[generic]
			port = $port
			listenaddr = 127.0.0.1
			user = root
			group = root
			allowlist = true
			[bench]
			exportname = $file
			flush = true
			fua = true
			trim = true
		CONF
		# -d would serve one connection at a time: let it daemonize
		# and take its PID from the pid file.
		rm -f "$dir/nbd-server.pid"
		nbd-server -C "$dir/nbd-server.conf" -p "$dir/nbd-server.pid" \
			>"$dir/server.log" 2>&1 || return 1
		for _ in $(seq 1 50); do
			[[ -s $dir/nbd-server.pid ]] && break
			sleep 0.1
		done
		SRV_PID=$(cat "$dir/nbd-server.pid" 2>/dev/null)
		[[ -n $SRV_PID ]] || return 1
		SRV_URI=nbd://127.0.0.1:$port/bench
		;;
	nbdkit)
		nbdkit -f -i 127.0.0.1 -p "$port" file "$file" cache=none \
			>"$dir/server.log" 2>&1 &
		SRV_PID=$!
		;;
	qemu-nbd)
		# -e: qemu-nbd takes 1 client by default; -t: stay up after it.
		qemu-nbd -f raw --cache=none --aio=io_uring -b 127.0.0.1 -p "$port" \
			-e 16 -t "$file" >"$dir/server.log" 2>&1 &
		SRV_PID=$!
		;;
	*)
		echo "servers.sh: unknown server $name" >&2
		return 1
		;;
	esac
	if ! srv_wait_ready; then
		echo "servers.sh: $name did not answer on port $port:" >&2
		tail -n 20 "$dir/server.log" >&2
		srv_stop
		return 1
	fi
}

srv_stop() {
	[[ -n ${SRV_PID:-} ]] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	local _
	for _ in $(seq 1 50); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SRV_PID" 2>/dev/null
	# nbd-server is not our child (it daemonized): nothing to wait for.
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
}

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The NBD bench in the VM, with the module: hugeslab-nbd's pool comes from
# /dev/hugeslab, not the library's fallback. Builds the payload
# (bench/nbd/guest.sh as run-guest.sh; fio, nbd-server, nbdkit and its file
# plugin, qemu-nbd, nbdinfo from this host, their shared libraries added by
# scripts/vm/run.sh; hugeslab-nbd static; hugeslab.ko for KVER), boots KVER
# under qemu (TCG) with a virtio disk that every server exports, and turns
# the guest's raw results into the same results.tsv/results.md as
# bench/nbd/run.sh (bench/nbd/vmresults.py, bench/nbd/report.py).
#
#   bench/nbd/vm.sh [--kver KVER] [--out DIR] [--size demo|bench|smoke]
#                   [--reps N] [--servers LIST]
#   --size  demo (default): one repetition, 64 MiB per sequential job, a
#           storm of 8 connections x QD 4 x 4 MiB; bench: 3 repetitions,
#           128 MiB per job, storm 8 x QD 8 x 8 MiB. TCG runs a few hundred
#           MB/s at most and the guest has --mem MiB, so both are sized down
#           from the host run (which has the issue's 8 x 32 x 32 MiB storm);
#           smoke: the smallest sizes, for trying changes
#   --out   default build/bench/nbd-vm: results.md, results.tsv, raw/ (the
#           guest's fio JSON and /proc samples), vm/ (console, tests.log)
# Env: HUGESLAB_NBD: the hugeslab-nbd binary to use instead of building
# `make -C userspace/nbd vm-payload`; HUGESLAB_KO: the hugeslab.ko to load
# (default: build/module-KVER/hugeslab.ko when newer than module/, else
# one built here); NBD_BENCH_INJECT=corrupt: the negative control of
# bench/nbd/run.sh in the guest (every read row must fail to verify).
# Exit status: 0 when the VM ran, every server started, and every row
# verified.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
KVER=
OUT=
SIZE=demo
REPS=
SERVERS="hugeslab-nbd nbd-server nbdkit qemu-nbd"

while (($#)); do
	case $1 in
	--kver) KVER=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--size) SIZE=${2:?}; shift 2 ;;
	--reps) REPS=${2:?}; shift 2 ;;
	--servers) SERVERS=${2//,/ }; shift 2 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "nbd vm bench: unknown argument $1" >&2; exit 2 ;;
	esac
done
log() { echo "nbd vm bench: $*" >&2; }
cd "$TOP"
[[ -n $KVER ]] || KVER=$(scripts/kernels.sh | tail -n 1)
OUT=${OUT:-$TOP/build/bench/nbd-vm}
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3

# Sizes: per sequential job (4 jobs), random region, storm bs/QD (8 jobs,
# each region exactly QD blocks, so fio can put QD requests in flight).
case $SIZE in
demo) SEQ_MB=64 RAND_MB=8 STORM_BS_MB=4 STORM_QD=4 LOOP_MB=256 POOL=64M MEM=2048 REPS=${REPS:-1} ;;
bench) SEQ_MB=128 RAND_MB=16 STORM_BS_MB=8 STORM_QD=8 LOOP_MB=512 POOL=128M MEM=3072 REPS=${REPS:-3} ;;
smoke) SEQ_MB=8 RAND_MB=2 STORM_BS_MB=2 STORM_QD=2 LOOP_MB=32 POOL=32M MEM=2048 REPS=${REPS:-1} ;;
*) echo "nbd vm bench: --size demo|bench|smoke" >&2; exit 2 ;;
esac
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "nbd vm bench: --reps must be a positive integer" >&2; exit 2; }
STORM_REGION=$((STORM_BS_MB * STORM_QD))
DISK_MB=$(((SEQ_MB * 4 > STORM_REGION * 8 ? SEQ_MB * 4 : STORM_REGION * 8) + 64))

rm -rf "$OUT"
PL=$OUT/payload
mkdir -p "$PL/bin" "$PL/nbdkit-plugins" "$OUT/raw"

for b in fio nbd-server nbdkit qemu-nbd nbdinfo; do
	p=$(PATH=$PATH:/usr/sbin:/sbin command -v "$b") ||
		{ log "$b missing (scripts/install-deps.sh)"; exit 2; }
	cp "$p" "$PL/bin/"
done
plugin=/usr/lib/x86_64-linux-gnu/nbdkit/plugins/nbdkit-file-plugin.so
[[ -f $plugin ]] || { log "$plugin missing (nbdkit-plugin-file? scripts/install-deps.sh)"; exit 2; }
cp "$plugin" "$PL/nbdkit-plugins/"

# hugeslab-nbd (static) and the module for KVER: check.sh's build when
# there is one, else one built here.
: >"$OUT/build.log"
if [[ -n ${HUGESLAB_NBD:-} ]]; then
	cp "$HUGESLAB_NBD" "$PL/bin/hugeslab-nbd"
elif [[ " $SERVERS " == *" hugeslab-nbd "* ]]; then
	make -s -C userspace/nbd vm-payload DESTDIR="$PL" >"$OUT/build.log" 2>&1 ||
		{ cat "$OUT/build.log" >&2; log "hugeslab-nbd vm-payload failed"; exit 1; }
fi
KO=${HUGESLAB_KO:-$TOP/build/module-$KVER/hugeslab.ko}
if [[ -z ${HUGESLAB_KO:-} ]] && [[ ! -f $KO || $KO -ot module ]]; then
	rm -rf "$OUT/module" && mkdir -p "$OUT/module"
	cp -r Kbuild module include "$OUT/module/"
	make -s -C "/lib/modules/$KVER/build" M="$OUT/module" modules >>"$OUT/build.log" 2>&1 ||
		{ tail -n 30 "$OUT/build.log" >&2; log "module build failed"; exit 1; }
	KO=$OUT/module/hugeslab.ko
fi
cp "$KO" "$PL/hugeslab.ko"

# shellcheck source=bench/nbd/servers.sh
. "$HERE/servers.sh"
POOL_MIB=0
[[ -x $PL/bin/hugeslab-nbd ]] && POOL_MIB=$(HUGESLAB_NBD_POOL=$POOL srv_hugeslab_pool_mib "$PL/bin/hugeslab-nbd")
cat >"$PL/nbd.conf" <<CONF
REPS=$REPS
SERVERS="$SERVERS"
POOL=$POOL
POOL_MIB=$POOL_MIB
INJECT=${NBD_BENCH_INJECT:-}
LOOP_MB=$LOOP_MB
NOTE="sized down for qemu TCG ($SIZE): 4 x $SEQ_MB MiB sequential, $RAND_MB MiB random, storm 8 x QD $STORM_QD x $STORM_BS_MB MiB"
WORKLOADS="seqwrite write 1048576 4 16 $((SEQ_MB << 20))
seqread read 1048576 4 16 $((SEQ_MB << 20))
randwrite randwrite 4096 1 64 $((RAND_MB << 20))
randread randread 4096 1 64 $((RAND_MB << 20))
stormwrite write $((STORM_BS_MB << 20)) 8 $STORM_QD $((STORM_REGION << 20))
stormread read $((STORM_BS_MB << 20)) 8 $STORM_QD $((STORM_REGION << 20))"
CONF
install -m 0755 "$HERE/guest.sh" "$PL/run-guest.sh"
cp "$HERE/fiojob.sh" "$PL/"

log "booting $KVER (TCG, $MEM MiB, $DISK_MB MiB disk, $SIZE sizes, $REPS repetition(s))"
t0=$(date +%s)
rc=0
# The timeout is generous: TCG on a busy 2-core host can be 3x slower.
scripts/vm/run.sh --kver "$KVER" --payload "$PL" --out "$OUT/vm" --mem "$MEM" \
	--disk-mb "$DISK_MB" --timeout $((600 + 600 * REPS)) >"$OUT/vm.log" 2>&1 || rc=$?
log "VM ran $(($(date +%s) - t0)) s: $(tail -n 1 "$OUT/vm.log")"
{
	printf 'meta\thost\t%s, %s CPUs, load average %s\n' "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf 'meta\tgit\t%s\n' "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)"
	for p in fio nbd-server nbdkit qemu-utils libnbd-bin; do
		printf 'meta\tpkg\t%s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo absent)"
	done
} >"$OUT/host-meta.tsv"
"$PY" "$HERE/vmresults.py" "$OUT/vm/tests.log" "$OUT" || rc=1
((rc == 0)) || log "failed: see $OUT/vm.log and $OUT/vm/tests.log"
exit $rc

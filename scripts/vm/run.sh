#!/usr/bin/env bash
# Boot a Debian kernel in qemu (TCG, no KVM needed) with a throw-away
# initramfs, run a test payload inside it and judge the result.
#
# Usage:
#   scripts/vm/run.sh --kver KVER --payload DIR --out DIR
#                     [--timeout SEC] [--mem MB] [--disk-mb N]
#                     [--modules "mod1 mod2"] [--append "kernel args"]
#                     [--kernel IMAGE] [--moddir DIR] [--numa]
#   scripts/vm/run.sh --scan-only DIR [--kver KVER]
#
# --kernel and --moddir boot a kernel that is not installed in /boot (the
# debug kernel of scripts/debug-kernel.sh): IMAGE is its bzImage, DIR its
# /lib/modules/KVER tree (with modules.dep and modules.builtin).
#
# --numa gives the guest two NUMA nodes, CPU 0 and half of --mem on node 0,
# CPU 1 and the other half on node 1 (for the NUMA balancing test).
#
# Guest side:
#   - busybox (static) is the only userland; dynamically linked ELF files in
#     the payload get their shared libraries (found with the host's ldd)
#     copied into the initramfs at the same paths.
#   - /payload is a copy of --payload; /payload/run-guest.sh is run with
#     busybox sh, cwd /payload, stdin /dev/null, stdout+stderr to /dev/ttyS1
#     (-> OUT/tests.log), env HUGESLAB_TEST_DISK=/dev/vda and
#     HUGESLAB_KVER=KVER. /dev/vda is a fresh zeroed raw disk of --disk-mb MiB
#     (virtio-blk); O_DIRECT on it reaches the virtual block device.
#   - mounted: /proc /sys /dev (devtmpfs) /dev/pts /dev/shm /tmp (tmpfs),
#     /sys/kernel/debug (debugfs).
#   - modules virtio_pci + virtio_blk (where not built in) and --modules are
#     loadable with modprobe; the payload may `insmod /payload/hugeslab.ko`.
#
# Result: TAP lines of tests.log are counted ("ok N ..." pass, "not ok N ..."
# fail, "ok N ... # SKIP ..." skipped; results missing w.r.t. "1..N" plans
# count as failed; a timeout, crash or bad console line with otherwise no
# failure counts as 1 failed), tests.log is printed, and the last line is
#   vm KVER: N passed, N failed, N skipped
# Exit 0 only if the VM powered off by itself before --timeout, the kernel
# console shows no BUG/WARNING/Oops/..., nothing failed and something passed.
#
# OUT layout (all kept after the run):
#   initramfs/            unpacked initramfs tree
#   initramfs.cpio.gz     what qemu boots
#   disk.img              raw disk behind /dev/vda
#   console.log           ttyS0: kernel console + "hugeslab-vm:" markers
#   tests.log             ttyS1: payload stdout+stderr (CR stripped)
#   qemu.log              qemu's own stdout/stderr
#   build.log             initramfs build messages (depmod, ldd)
#   qemu-cmdline.txt      exact qemu command
#   kver                  KVER
#   summary.txt           the final "vm KVER: ..." line
#
# --scan-only DIR re-judges an existing OUT-like DIR (console.log, tests.log)
# without booting anything; used to unit-test the log checks.
set -euo pipefail

PROG=${0##*/}

# Kernel console lines that mean the kernel misbehaved (fixed strings).
BAD_CONSOLE_PATTERNS=(
	'BUG:'
	'WARNING:'
	'Oops'
	'list_del corruption'
	'refcount_t:'
	'general protection fault'
	'Kernel panic'
	'KASAN:'
	'UBSAN:'
	'kernel BUG'
	'unreferenced object'
)

# Printed by /init (via /dev/kmsg, so it lands on the console) right before
# "poweroff -f": proves the VM shut down on purpose rather than panicking.
POWEROFF_MARKER='hugeslab-vm: poweroff'

# Always-wanted modules: what is needed to see /dev/vda. Built-in ones are
# skipped automatically (6.12 has virtio_pci built in, 6.1 has it as module).
BASE_MODULES=(virtio_pci virtio_blk)

KVER=
PAYLOAD=
OUT=
TIMEOUT=600
MEM=2048
DISK_MB=256
EXTRA_MODULES=
EXTRA_APPEND=
SCAN_ONLY=
KERNEL_IMAGE=
MODDIR=
NUMA=

die() {
	echo "$PROG: $*" >&2
	exit 2
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

parse_args() {
	while (($#)); do
		case "$1" in
		--kver) KVER=${2:?}; shift 2 ;;
		--payload) PAYLOAD=${2:?}; shift 2 ;;
		--out) OUT=${2:?}; shift 2 ;;
		--timeout) TIMEOUT=${2:?}; shift 2 ;;
		--mem) MEM=${2:?}; shift 2 ;;
		--disk-mb) DISK_MB=${2:?}; shift 2 ;;
		--modules) EXTRA_MODULES=${2?}; shift 2 ;;
		--append) EXTRA_APPEND=${2?}; shift 2 ;;
		--scan-only) SCAN_ONLY=${2:?}; shift 2 ;;
		--kernel) KERNEL_IMAGE=${2:?}; shift 2 ;;
		--moddir) MODDIR=${2:?}; shift 2 ;;
		--numa) NUMA=1; shift ;;
		-h | --help) usage; exit 0 ;;
		*) die "unknown argument: $1 (try --help)" ;;
		esac
	done
	local n
	for n in TIMEOUT MEM DISK_MB; do
		[[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "--${n,,} must be a positive integer"
	done
	[[ -n $SCAN_ONLY ]] && return 0
	[[ -n $KVER ]] || die "--kver is required"
	[[ -n $PAYLOAD ]] || die "--payload is required"
	[[ -n $OUT ]] || die "--out is required"
	[[ -f $PAYLOAD/run-guest.sh ]] || die "$PAYLOAD/run-guest.sh not found"
	KERNEL_IMAGE=${KERNEL_IMAGE:-/boot/vmlinuz-$KVER}
	MODDIR=${MODDIR:-/lib/modules/$KVER}
	[[ -r $KERNEL_IMAGE ]] || die "$KERNEL_IMAGE missing or unreadable (root?)"
	[[ -f $MODDIR/modules.dep ]] || die "$MODDIR/modules.dep missing"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/install-deps.sh)"
	/bin/busybox --list-full >/dev/null 2>&1 ||
		die "/bin/busybox (busybox-static) missing (scripts/install-deps.sh)"
	# qemu's -serial file:PATH / -drive file=PATH treat ',' specially.
	[[ $OUT != *,* ]] || die "--out must not contain ','"
}

# ---------------------------------------------------------------- initramfs

# Add busybox; /init creates the applet symlinks (sh, mount, modprobe, dd,
# ...) at boot with "busybox --install -s", which is much faster than ~400
# ln calls here. Only /bin/sh must exist beforehand, for /init's shebang.
add_busybox() {
	local root=$1
	install -D -m 0755 /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	mkdir -p "$root"/{sbin,usr/bin,usr/sbin}
}

# Print the module-tree paths (relative to /lib/modules/KVER) of the named
# modules and everything they depend on, using the host's modules.dep.
# Names that are built into the kernel are silently dropped; unknown names
# are an error.
module_closure() {
	local moddir=$1
	shift
	awk -v want="$*" '
		function norm(s) { gsub(/-/, "_", s); return s }
		function modname(p) { sub(/.*\//, "", p); sub(/\.ko(\.(xz|zst|gz))?$/, "", p); return norm(p) }
		FILENAME ~ /modules\.builtin$/ { builtin[modname($1)] = 1; next }
		{
			sub(/:$/, "", $1)
			m = modname($1); path[m] = $1; ndeps[m] = NF - 1
			for (i = 2; i <= NF; i++) dep[m, i - 1] = $i
		}
		function visit(m,   i) {
			if (m in seen) return
			seen[m] = 1
			print path[m]
			for (i = 1; i <= ndeps[m]; i++) visit(modname(dep[m, i]))
		}
		END {
			n = split(want, w, " ")
			for (j = 1; j <= n; j++) {
				m = norm(w[j])
				if (m in path) visit(m)
				else if (!(m in builtin)) { print "unknown module: " w[j] > "/dev/stderr"; bad = 1 }
			}
			exit bad
		}' "$moddir/modules.builtin" "$moddir/modules.dep"
}

# Copy the wanted modules (decompressed: busybox modprobe/insmod cannot read
# .ko.xz) and build a fresh modules.dep for them with depmod -b.
add_modules() {
	local root=$1 src=$MODDIR
	local dst=$root/lib/modules/$KVER
	local -a wanted paths
	local p m closure
	read -r -a wanted <<<"${BASE_MODULES[*]} $EXTRA_MODULES"
	closure=$(module_closure "$src" "${wanted[@]}") ||
		die "cannot resolve modules for $KVER: ${wanted[*]}"
	mapfile -t paths <<<"$closure"
	mkdir -p "$dst"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[[ -f $src/$f ]] && cp "$src/$f" "$dst/"
	done
	for p in "${paths[@]}"; do
		# Nothing to copy when every wanted module is built in.
		[[ -n $p ]] || continue
		install -D -m 0644 "$src/$p" "$dst/$p"
		case "$p" in
		*.ko.xz) xz -d "$dst/$p" ;;
		*.ko.zst) zstd -q -d --rm "$dst/$p" ;;
		*.ko.gz) gzip -d "$dst/$p" ;;
		esac
	done
	depmod -b "$root" "$KVER" >>"$OUT/build.log" 2>&1 ||
		die "depmod failed, see $OUT/build.log"
	# Load list for /init: the requested modules that are not built in.
	mkdir -p "$root/etc/hugeslab-vm"
	: >"$root/etc/hugeslab-vm/modules"
	for m in "${wanted[@]}"; do
		if grep -qE "(^|/)${m//-/_}\.ko:" <(sed 's/-/_/g' "$dst/modules.dep"); then
			echo "$m" >>"$root/etc/hugeslab-vm/modules"
		fi
	done
}

# Copy the payload and, for its dynamically linked ELF files, the shared
# libraries and ELF interpreter they need (same paths as on the host).
add_payload() {
	local root=$1 f lib
	mkdir -p "$root/payload"
	cp -a "$PAYLOAD/." "$root/payload/"
	local -A libs=()
	while IFS= read -r -d '' f; do
		[[ $(head -c 4 "$f" 2>/dev/null | od -An -c | tr -d ' ') == 177ELF ]] || continue
		# ldd prints "name => /path (addr)" and "/lib64/ld-linux... (addr)".
		while read -r lib; do
			libs[$lib]=1
		done < <(ldd "$f" 2>>"$OUT/build.log" | awk '
			$2 == "=>" && $3 ~ /^\// { print $3 }
			$1 ~ /^\// { print $1 }')
	done < <(find "$root/payload" -type f -print0)
	for lib in "${!libs[@]}"; do
		echo "payload needs $lib" >>"$OUT/build.log"
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

write_init() {
	local root=$1
	cat >"$root/init" <<EOF
#!/bin/sh
# Generated by scripts/vm/run.sh. PID 1 of the test VM.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
KVER='$KVER'
EOF
	cat >>"$root/init" <<'EOF'
# The initramfs has no /dev/console node: mount devtmpfs first, then attach
# stdio to the console (ttyS0).
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

# Markers go through /dev/kmsg so they carry the kernel's timestamp.
log() { echo "hugeslab-vm: $*" >/dev/kmsg; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
log "init started on $(uname -r)"

for m in $(cat /etc/hugeslab-vm/modules); do
	modprobe "$m" || log "modprobe $m failed"
done

# TAP/test output goes to the second serial port (OUT/tests.log). -opost:
# no LF -> CRLF translation.
stty -F /dev/ttyS1 -opost 2>/dev/null
exec 3>/dev/ttyS1

i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -b /dev/vda ]; then
	log "running /payload/run-guest.sh"
	cd /payload
	HUGESLAB_TEST_DISK=/dev/vda HUGESLAB_KVER="$KVER" \
		sh /payload/run-guest.sh </dev/null >&3 2>&3 3>&-
	rc=$?
	cd /
	log "run-guest.sh exit status $rc"
	echo "# hugeslab-vm: run-guest.sh exit status $rc" >&3
else
	log "/dev/vda did not appear"
	echo "not ok 1 hugeslab-vm: /dev/vda did not appear within 30 s" >&3
fi
# Closing the tty waits until all output has been sent.
exec 3>&-
sync
log "poweroff"
poweroff -f
EOF
	chmod 0755 "$root/init"
}

build_initramfs() {
	local root=$OUT/initramfs
	rm -rf "$root"
	mkdir -p "$root"/{dev,proc,sys,tmp,run,etc,root,mnt}
	add_busybox "$root"
	add_modules "$root"
	add_payload "$root"
	write_init "$root"
	(cd "$root" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$OUT/initramfs.cpio.gz"
}

# ---------------------------------------------------------------- qemu

make_disk() {
	local disk=$OUT/disk.img
	rm -f "$disk"
	truncate -s "${DISK_MB}M" "$disk"
	# cache=none (host O_DIRECT) needs a file system that supports it
	# (not e.g. an old tmpfs); guest O_DIRECT works with either mode.
	if dd if=/dev/zero of="$disk" bs=4096 count=1 oflag=direct conv=notrunc status=none 2>/dev/null; then
		DISK_CACHE=none
	else
		DISK_CACHE=writeback
	fi
}

# Sets QEMU_RC (124/137 = killed by timeout) and ELAPSED.
run_qemu() {
	# panic=-1 + -no-reboot: a panic ends qemu at once instead of hanging.
	# oops=panic: an Oops/BUG in a test would otherwise leave a half-dead
	# guest (locks held) that only the timeout ends. hung_task_panic: a
	# deadlocked task fails the run after 120 s instead of --timeout.
	# mitigations=off: Spectre/Meltdown workarounds only slow TCG down.
	local append="console=ttyS0,115200 panic=-1 oops=panic hung_task_panic=1 mitigations=off rdinit=/init $EXTRA_APPEND"
	local -a cmd=(
		qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "$MEM"
		-nodefaults -display none -no-reboot
		-kernel "$KERNEL_IMAGE" -initrd "$OUT/initramfs.cpio.gz"
		-append "$append"
		-serial "file:$OUT/console.log" -serial "file:$OUT/tests.log"
		-drive "file=$OUT/disk.img,format=raw,if=virtio,cache=$DISK_CACHE"
		-nic none
	)
	if [[ -n $NUMA ]]; then
		# One socket per node: CPUs sharing a cache across nodes is an
		# impossible topology that 6.12 warns about at boot.
		cmd+=(-smp 2,sockets=2,cores=1,threads=1
			-object "memory-backend-ram,id=m0,size=$((MEM / 2))M"
			-object "memory-backend-ram,id=m1,size=$((MEM - MEM / 2))M"
			-numa node,nodeid=0,cpus=0,memdev=m0
			-numa node,nodeid=1,cpus=1,memdev=m1)
	fi
	printf '%q ' "${cmd[@]}" >"$OUT/qemu-cmdline.txt"
	echo >>"$OUT/qemu-cmdline.txt"
	rm -f "$OUT/console.log" "$OUT/tests.log"
	local t0 t1
	t0=$(date +%s.%N)
	QEMU_RC=0
	timeout -k 10 "$TIMEOUT" "${cmd[@]}" </dev/null >"$OUT/qemu.log" 2>&1 || QEMU_RC=$?
	t1=$(date +%s.%N)
	ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
}

# ---------------------------------------------------------------- verdict

# Print console lines matching BAD_CONSOLE_PATTERNS; return 1 if any.
scan_console() {
	local log=$1 p
	local -a args=()
	for p in "${BAD_CONSOLE_PATTERNS[@]}"; do
		args+=(-e "$p")
	done
	local hits
	hits=$(grep -n -a -F "${args[@]}" "$log" 2>/dev/null | tr -d '\r') || true
	if [[ -n $hits ]]; then
		echo "vm: kernel console ($log) shows problems:"
		printf 'vm:   %s\n' "${hits//$'\n'/$'\n'vm:   }"
		return 1
	fi
	return 0
}

# Sets PASSED FAILED SKIPPED (and MISSING) from a TAP log. Results missing
# with respect to the "1..N" plan lines count as failed: a test binary that
# died half-way must not look green.
count_tap() {
	local log=$1
	read -r PASSED FAILED SKIPPED MISSING < <(tr -d '\r' <"$log" | awk '
		/^ok / { if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) skip++; else pass++; next }
		/^not ok / { fail++; next }
		/^1\.\.[0-9]+/ { split($1, a, "\\.\\."); plan += a[2]; next }
		END {
			missing = plan - (pass + skip + fail)
			if (missing < 0) missing = 0
			printf "%d %d %d %d\n", pass, fail, skip, missing
		}')
	FAILED=$((FAILED + MISSING))
}

# Judge OUT-like dir $1; $2 = "1" if qemu ended by itself in time.
# Prints tests.log, diagnostics and the final summary line; returns 0/1.
verdict() {
	local dir=$1 exited_ok=$2 ok=1 vm_ok=1
	local console=$dir/console.log tests=$dir/tests.log
	[[ -f $tests ]] || : >"$tests"
	[[ -f $console ]] || : >"$console"

	tr -d '\r' <"$tests"
	count_tap "$tests"

	if [[ $exited_ok != 1 ]]; then
		vm_ok=0
	elif ! grep -q -a -F "$POWEROFF_MARKER" "$console"; then
		echo "vm: the VM did not power off by itself (panic/crash?)"
		vm_ok=0
	fi
	scan_console "$console" || vm_ok=0
	((vm_ok == 1)) || ok=0
	if ((MISSING > 0)); then
		echo "vm: $MISSING planned test(s) produced no result (counted as failed)"
	fi
	if ((PASSED == 0)); then
		echo "vm: no test passed"
		ok=0
	fi
	((FAILED == 0)) || ok=0
	# A crash, hang or kernel splat is a failure even if every TAP line
	# said "ok": make the summary line say so too.
	if ((ok == 0 && FAILED == 0 && PASSED > 0)); then
		echo "vm: VM/kernel problem counted as 1 failed test"
		FAILED=1
	fi
	if ((vm_ok == 0)); then
		echo "vm: last console lines ($console):"
		tail -n 40 "$console" | tr -d '\r' | sed 's/^/vm:   /'
	fi
	local summary="vm $KVER: $PASSED passed, $FAILED failed, $SKIPPED skipped"
	echo "$summary" >"$dir/summary.txt"
	echo "$summary"
	((ok == 1))
}

main() {
	parse_args "$@"
	if [[ -n $SCAN_ONLY ]]; then
		[[ -d $SCAN_ONLY ]] || die "--scan-only: $SCAN_ONLY is not a directory"
		if [[ -z $KVER ]]; then
			KVER=$(cat "$SCAN_ONLY/kver" 2>/dev/null || echo unknown)
		fi
		verdict "$SCAN_ONLY" 1
		return
	fi

	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
	: >"$OUT/build.log"
	echo "$KVER" >"$OUT/kver"
	build_initramfs
	make_disk
	run_qemu
	# A kernel that dies before /init starts has run none of our code (the
	# module and the payload come later). Debian's 6.12 under TCG has been
	# seen to do that once in many boots (int3 in sched_clock_cpu during
	# text patching, "Fatal exception in interrupt" at 2 s): boot once
	# more, and keep the first console for the record.
	if [[ $QEMU_RC != 124 && $QEMU_RC != 137 ]] &&
		! grep -qa 'hugeslab-vm: init started' "$OUT/console.log" 2>/dev/null; then
		mv "$OUT/console.log" "$OUT/console-first-boot.log"
		echo "vm: the kernel died before /init started (console-first-boot.log); booting once more"
		grep -a -m 3 -e 'Kernel panic' -e 'Oops:' "$OUT/console-first-boot.log" | sed 's/^/vm:   /'
		make_disk
		run_qemu
	fi
	# Normalise the TAP log once for whoever reads OUT later.
	sed -i 's/\r$//' "$OUT/tests.log" 2>/dev/null || true

	local exited_ok=1
	case $QEMU_RC in
	0) ;;
	124 | 137)
		echo "vm: TIMEOUT: VM still running after ${TIMEOUT}s, killed"
		exited_ok=0
		;;
	*)
		echo "vm: qemu exited with status $QEMU_RC (see $OUT/qemu.log):"
		sed 's/^/vm:   /' "$OUT/qemu.log"
		exited_ok=0
		;;
	esac
	echo "vm: $KVER: qemu ran ${ELAPSED}s (boot + payload + poweroff)"
	verdict "$OUT" "$exited_ok"
}

main "$@"

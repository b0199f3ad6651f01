#!/usr/bin/env bash
# Install (idempotently, via apt) everything hugeslab needs to build and test:
# compilers and libraries, the two test kernels (6.1 = Debian's default,
# 6.12 = the newest 6.12 that apt offers) with their headers, qemu + busybox
# for the VM test runner, and a few files from the 6.12 source tarball
# (checkpatch.pl and the kselftest harness headers).
#
# Fast path: when everything is already installed and extracted this takes
# well under 2 s and prints nothing. apt output goes to
# $HUGESLAB_CACHE/install-deps.log and is shown only if something fails.
#
# Env: HUGESLAB_CACHE (default /var/cache/hugeslab)
set -euo pipefail

CACHE="${HUGESLAB_CACHE:-/var/cache/hugeslab}"
LOG="$CACHE/install-deps.log"
SRC_TARBALL_PKG=linux-source-6.12

# Packages that do not depend on which kernel version is current.
BASE_PKGS=(
	build-essential make gcc clang libclang-rt-14-dev pkg-config
	liburing-dev libnl-genl-3-dev
	valgrind perl python3 shellcheck
	qemu-system-x86 busybox-static cpio gzip xz-utils kmod coreutils
	linux-image-amd64 linux-headers-amd64
	"$SRC_TARBALL_PKG"
	dkms udev openssl
	debhelper dh-dkms man-db
	libjemalloc-dev libgoogle-perftools-dev libdpdk-dev gnuplot-nox
	flex bison bc libelf-dev libssl-dev
	nbd-server nbd-client nbdkit libnbd-bin qemu-utils fio e2fsprogs strace
	dmsetup
	rdma-core ibverbs-providers libibverbs-dev iproute2
)

# Files extracted from the kernel source tarball (relative to its top dir).
# checkpatch.pl reads spelling.txt and const_structs.checkpatch next to
# itself, and Documentation/dev-tools/checkpatch.rst for --verbose.
SRC_MEMBERS=(
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
	Documentation/dev-tools/checkpatch.rst
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
)

APT_UPDATED=0

die() {
	echo "install-deps: $*" >&2
	exit 1
}

# Run a command with its output appended to $LOG; dump the log on failure.
logged() {
	if ! "$@" >>"$LOG" 2>&1; then
		echo "install-deps: command failed: $*" >&2
		echo "----- $LOG (last 60 lines) -----" >&2
		tail -n 60 "$LOG" >&2
		exit 1
	fi
}

apt_update_once() {
	[[ $APT_UPDATED == 1 ]] && return 0
	logged apt-get update
	APT_UPDATED=1
}

# Newest linux-image-6.12.N+deb12-amd64 known to apt, as "6.12.N+deb12-amd64".
newest_612_release() {
	apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' 2>/dev/null |
		awk '{print $1}' | sed 's/^linux-image-//' | sort -V | tail -n 1
}

# Print the packages from "$@" that are not fully installed.
missing_pkgs() {
	local p st
	for p in "$@"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[[ $st == installed ]] || echo "$p"
	done
}

install_pkgs() {
	local missing
	mapfile -t missing < <(missing_pkgs "$@")
	((${#missing[@]} == 0)) && return 0
	echo "install-deps: installing ${missing[*]} (log: $LOG)" >&2
	export DEBIAN_FRONTEND=noninteractive
	# INITRD=No: the kernels are only booted by qemu with our own initramfs,
	# so skip the (slow) host initramfs generation.
	if ! INITRD=No apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1; then
		# Most likely stale or absent package lists: update once and retry.
		apt_update_once
		INITRD=No logged apt-get install -y --no-install-recommends "${missing[@]}"
	fi
}

extract_source_members() {
	local ver dest tmp m
	ver=$(dpkg-query -W -f='${Version}' "$SRC_TARBALL_PKG")
	dest="$CACHE/linux-source-$ver"
	if [[ -f $dest/.complete ]]; then
		return 0
	fi
	local tarballs=(/usr/src/linux-source-6.12.tar.*)
	local tarball=${tarballs[0]}
	[[ -f $tarball ]] || die "no /usr/src/linux-source-6.12.tar.* found"
	tmp=$(mktemp -d "$CACHE/.extract.XXXXXX")
	local members=()
	for m in "${SRC_MEMBERS[@]}"; do
		members+=("linux-source-6.12/$m")
	done
	logged tar -xf "$tarball" -C "$tmp" "${members[@]}"
	rm -rf "$dest"
	mv "$tmp/linux-source-6.12" "$dest"
	rmdir "$tmp"
	touch "$dest/.complete"
}

main() {
	[[ $(id -u) == 0 ]] || die "must run as root (apt-get install)"
	mkdir -p "$CACHE"

	local k612
	k612=$(newest_612_release)
	if [[ -z $k612 ]]; then
		# No package lists yet (fresh machine).
		apt_update_once
		k612=$(newest_612_release)
	fi
	[[ -n $k612 ]] || die "apt offers no linux-image-6.12.*+deb12-amd64"

	install_pkgs "${BASE_PKGS[@]}" "linux-image-$k612" "linux-headers-$k612"
	extract_source_members
}

main "$@"

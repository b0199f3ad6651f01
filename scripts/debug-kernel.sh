#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the 6.12 debug kernel of the debug lane from Debian's
# linux-source-6.12: `make allnoconfig` with scripts/debug-kernel.config as
# KCONFIG_ALLCONFIG, i.e. only what the VM and the tests need plus KASAN,
# kmemleak, lockdep, DEBUG_VM, DEBUG_LIST and fault injection. The result is
# cached outside the repository, keyed by the source version and the config,
# so only the first run pays (the build's own time is kept in build-seconds;
# see the README for the figure).
#
#   scripts/debug-kernel.sh --path     print the cache dir if built, else fail
#   scripts/debug-kernel.sh --build    build if missing, then print the dir
#
# The cache dir holds: bzImage, kver, build/ (the O= tree, for building
# out-of-tree modules against it) and modules/lib/modules/KVER.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${HUGESLAB_CACHE:-/var/cache/hugeslab}
FRAGMENT=$TOP/scripts/debug-kernel.config

die() {
	echo "debug-kernel.sh: $*" >&2
	exit 1
}

src_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null ||
		die "linux-source-6.12 is not installed (scripts/install-deps.sh)"
}

cache_dir() {
	local key
	key=$( { src_version; cat "$FRAGMENT"; echo allnoconfig-v2; } | sha256sum | cut -c1-16)
	echo "$CACHE/debug-kernel/$key"
}

build() {
	local dir=$1 src=$CACHE/debug-kernel/src-$(src_version)
	local obj=$dir/build jobs
	jobs=$(nproc)

	if [[ ! -f $src/.complete ]]; then
		rm -rf "$src"
		mkdir -p "$src"
		tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$src" --strip-components=1
		touch "$src/.complete"
	fi

	rm -rf "$dir"
	mkdir -p "$obj"
	local start=$SECONDS
	make -s -C "$src" O="$obj" ARCH=x86_64 KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig
	# Every option of the fragment must have survived olddefconfig.
	local line
	while read -r line; do
		[[ $line =~ ^CONFIG_ ]] || continue
		if [[ $line == *=n ]]; then
			! grep -q "^${line%=n}=y" "$obj/.config" ||
				die "config: ${line%=n} could not be disabled"
		else
			grep -qx -- "$line" "$obj/.config" || die "config: $line did not stick"
		fi
	done <"$FRAGMENT"

	make -s -C "$src" O="$obj" ARCH=x86_64 -j"$jobs" bzImage modules
	make -s -C "$src" O="$obj" ARCH=x86_64 INSTALL_MOD_PATH="$dir/modules" modules_install
	cp "$obj/arch/x86/boot/bzImage" "$dir/bzImage"
	make -s -C "$src" O="$obj" ARCH=x86_64 kernelrelease >"$dir/kver"
	echo $((SECONDS - start)) >"$dir/build-seconds"
	touch "$dir/.complete"
}

dir=$(cache_dir)
case "${1:-}" in
--path)
	[[ -f $dir/.complete ]] || exit 1
	echo "$dir"
	;;
--build)
	if [[ ! -f $dir/.complete ]]; then
		echo "debug-kernel.sh: building the debug kernel in $dir (a few minutes)" >&2
		build "$dir" >&2
	fi
	echo "$dir"
	;;
*)
	sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac

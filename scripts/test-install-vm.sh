#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The installed tree on a (virtual) node: `make install DESTDIR=payload/root`
# for KVER, booted with scripts/vm/run.sh; the guest (scripts/vm/
# install-guest.sh) copies it to /, runs depmod, loads the module with
# options from the modprobe.d example, and checks the udev rule (mode and
# group of /dev/hugeslab, run by the real systemd-udevd), group access with
# a program built against the installed library with pkg-config, unloading
# and loading through the modules-load.d example (systemd-modules-load).
#
# The guest has only busybox: kmod, udevadm and systemd-modules-load are
# copied from the host (Debian's initramfs-tools runs systemd-udevd the same
# way, without systemd); the runner copies their shared libraries.
#
# Usage: scripts/test-install-vm.sh [--kver KVER] [--src DIR]
# Output: build/pkg-vm-KVER/ (payload/, vm/ with console.log, tests.log).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/packaging-lib.sh
. "$TOP/scripts/packaging-lib.sh"

KVER=
SRC=
while (($#)); do
	case $1 in
	--kver) KVER=${2:?}; shift 2 ;;
	--src) SRC=${2:?}; shift 2 ;;
	*) die "unknown argument: $1" ;;
	esac
done
KVER=${KVER:-$("$TOP/scripts/kernels.sh" | tail -n 1)}

WORK=$TOP/build/pkg-vm-$KVER
PAYLOAD=$WORK/payload
rm -rf "$WORK"
mkdir -p "$PAYLOAD/bin"
if [[ -z $SRC ]]; then
	SRC=$WORK/src
	copy_tree "$SRC"
fi

step "make install DESTDIR=$PAYLOAD/root KVER=$KVER"
make -C "$SRC" --no-print-directory install DESTDIR="$PAYLOAD/root" KVER="$KVER" \
	>"$WORK/install.log" 2>&1 || { tail -n 40 "$WORK/install.log"; die "make install failed"; }

step "install-test, built with pkg-config against the installed library"
flags=$(PKG_CONFIG_PATH='' PKG_CONFIG_LIBDIR=$PAYLOAD/root/usr/local/lib/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$PAYLOAD/root pkg-config --cflags --libs hugeslab)
# shellcheck disable=SC2086 # word splitting of the flags is intended
gcc -Wall -Wextra -Werror -o "$PAYLOAD/bin/install-test" \
	"$TOP/packaging/test/install-test.c" $flags

step "guest tools"
cp /bin/kmod /bin/udevadm /lib/systemd/systemd-modules-load "$PAYLOAD/bin/"
for t in modprobe depmod modinfo rmmod lsmod; do
	ln -s kmod "$PAYLOAD/bin/$t"
done
ln -s udevadm "$PAYLOAD/bin/systemd-udevd"
install -m 0755 "$TOP/scripts/vm/install-guest.sh" "$PAYLOAD/run-guest.sh"

step "boot $KVER"
"$TOP/scripts/vm/run.sh" --kver "$KVER" --payload "$PAYLOAD" --out "$WORK/vm" \
	--mem 1024 --timeout 300

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms.conf, exercised with Debian's dkms against every test kernel
# (scripts/kernels.sh):
#
#   1. `make install-dkms-src` stages the DKMS source tree
#      (usr/src/hugeslab-<version>); its version is the module's
#      MODULE_VERSION;
#   2. dkms add; for the first kernel `dkms build` + `dkms install -k`, for
#      the others `dkms autoinstall -k` (what /etc/kernel/postinst.d/dkms
#      runs when a new kernel is installed: AUTOINSTALL=yes must work);
#   3. each installed module: found by depmod/modinfo under updates/dkms,
#      vermagic of its kernel, version of the package, signed with the DKMS
#      MOK key when dkms could sign (Debian's dkms generates
#      /var/lib/dkms/mok.key on first use, see the admin guide);
#   4. `dkms remove --all` leaves no module and no DKMS state behind.
#
# DKMS runs on private trees (--sourcetree, --dkmstree, --installtree under
# build/pkg-dkms, depmod -b on them): the host's /usr/src, /var/lib/dkms and
# /lib/modules are not touched, so the test is idempotent and safe next to
# a real DKMS setup. The one exception is the MOK key pair dkms itself
# creates in /var/lib/dkms when none exists; the test removes it again if it
# created it.
#
# Usage: scripts/test-dkms.sh [--src DIR]
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/packaging-lib.sh
. "$TOP/scripts/packaging-lib.sh"

SRC=
while (($#)); do
	case $1 in
	--src) SRC=${2:?}; shift 2 ;;
	*) die "unknown argument: $1" ;;
	esac
done

command -v dkms >/dev/null || die "dkms missing (scripts/install-deps.sh)"
mapfile -t KVERS < <("$TOP/scripts/kernels.sh")

WORK=$TOP/build/pkg-dkms
# One run at a time on this host, whatever the checkout: runs share the MOK
# key in /var/lib/dkms.
mkdir -p "$TOP/build" /run/lock
exec 9>/run/lock/hugeslab-test-dkms.lock
flock 9
rm -rf "$WORK"
mkdir -p "$WORK"
if [[ -z $SRC ]]; then
	SRC=$WORK/tree
	copy_tree "$SRC"
fi

MOK_KEY=/var/lib/dkms/mok.key
MOK_CERT=/var/lib/dkms/mok.pub
mok_existed=0
[[ -e $MOK_KEY || -e $MOK_CERT ]] && mok_existed=1
cleanup() {
	if ((mok_existed == 0)); then
		rm -f "$MOK_KEY" "$MOK_CERT"
	fi
}
trap cleanup EXIT

step "make install-dkms-src"
make -C "$SRC" --no-print-directory install-dkms-src DESTDIR="$WORK/srcroot" ||
	die "make install-dkms-src failed"
srcdir=$(echo "$WORK"/srcroot/usr/src/hugeslab-*)
[[ -f $srcdir/dkms.conf ]] || die "no dkms.conf in the staged source tree"
VER=${srcdir##*/hugeslab-}
modver=$(sed -n 's/^#define[[:space:]]*HUGESLAB_VERSION[[:space:]]*"\(.*\)".*/\1/p' \
	"$SRC"/module/*.h "$SRC"/module/*.c | head -n 1)
[[ $VER == "$modver" ]] || die "staged version $VER != module version $modver"
grep -qx "PACKAGE_VERSION=\"$VER\"" "$srcdir/dkms.conf" || die "staged dkms.conf: wrong version"
rootver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$SRC/dkms.conf")
if [[ $rootver != "$VER" ]]; then
	# Only `dkms add .` straight from a checkout uses it; say so, no failure.
	echo "warning: dkms.conf says PACKAGE_VERSION=\"$rootver\", the module is $VER:" \
		"update dkms.conf when bumping HUGESLAB_VERSION"
fi
find "$srcdir" -type f | sed "s|^$srcdir/||" | sort

MODROOT=$WORK/modroot
mkdir -p "$WORK/dkms"
for k in "${KVERS[@]}"; do
	mkdir -p "$MODROOT/lib/modules/$k"
done
D=(dkms --dkmstree "$WORK/dkms" --sourcetree "$WORK/srcroot/usr/src"
	--installtree "$MODROOT/lib/modules")

step "dkms add"
"${D[@]}" add -m hugeslab -v "$VER"

for i in "${!KVERS[@]}"; do
	k=${KVERS[$i]}
	if ((i == 0)); then
		step "dkms build + install -k $k"
		"${D[@]}" build -m hugeslab -v "$VER" -k "$k"
		"${D[@]}" install -m hugeslab -v "$VER" -k "$k" --no-depmod
	else
		step "dkms autoinstall -k $k"
		"${D[@]}" autoinstall -k "$k" --no-depmod
	fi
done

step "dkms status"
"${D[@]}" status | tee "$WORK/status"
for k in "${KVERS[@]}"; do
	grep -q "^hugeslab/$VER, $k, x86_64: installed" "$WORK/status" ||
		die "dkms status: not installed for $k"
done

step "the installed modules"
signed_any=0
for k in "${KVERS[@]}"; do
	ko=$(find "$MODROOT/lib/modules/$k" -name 'hugeslab.ko*')
	[[ $(wc -l <<<"$ko") == 1 && $ko == */updates/dkms/hugeslab.ko* ]] ||
		die "$k: expected one updates/dkms/hugeslab.ko*, found: $ko"
	depmod -b "$MODROOT" "$k" 2>/dev/null
	fn=$(modinfo -b "$MODROOT" -k "$k" -F filename hugeslab)
	[[ $fn == "$ko" ]] || die "$k: modinfo resolves hugeslab to '$fn', not $ko"
	vm=$(modinfo -F vermagic "$ko")
	[[ $vm == "$k "* ]] || die "$k: vermagic '$vm'"
	v=$(modinfo -F version "$ko")
	[[ $v == "$VER" ]] || die "$k: module version '$v', package $VER"
	signer=$(modinfo -F signer "$ko")
	echo "$k: $ko: vermagic $vm, version $v, signer '${signer:-none}'"
	if [[ -n $signer ]]; then
		signed_any=1
	fi
done
if [[ -f $MOK_KEY && -f $MOK_CERT ]] && ((signed_any == 0)); then
	die "a DKMS MOK key exists but no module was signed"
fi

step "dkms remove --all"
"${D[@]}" remove -m hugeslab -v "$VER" --all --no-depmod
left=$(find "$MODROOT/lib/modules" -name 'hugeslab.ko*')
[[ -z $left ]] || die "left after dkms remove: $left"
[[ ! -e $WORK/dkms/hugeslab ]] || die "DKMS state left in $WORK/dkms/hugeslab"
"${D[@]}" status | grep hugeslab && die "dkms status still lists hugeslab"
rm -rf "$WORK"
echo "ok"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packaging (packaging/debian): copied to ./debian in a copy of
# the working tree, `dpkg-buildpackage -b -us -uc`, then the packages'
# contents, dependencies and maintainer scripts are checked:
#
#   hugeslab-dkms    /usr/src/hugeslab-<module version>/ (dkms.conf, Kbuild,
#                    module/, include/), the udev rule, the examples; depends
#                    on dkms and adduser; postinst creates the group and runs
#                    DKMS (dh_dkms)
#   libhugeslab1     libhugeslab.so.<SONAME version>, shlibs
#   libhugeslab-dev  headers, libhugeslab.so, .a, hugeslab.pc
#   hugeslab-tools   the tools whose sources are in the tree
#
# The packages are not installed (that would build and install the module
# on this host through DKMS; scripts/test-dkms.sh covers dkms.conf).
#
# Usage: scripts/test-deb.sh [--src DIR]
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

for c in dpkg-buildpackage dh dh_dkms; do
	command -v $c >/dev/null || die "$c missing (scripts/install-deps.sh)"
done

WORK=$TOP/build/pkg-deb
rm -rf "$WORK"
mkdir -p "$WORK"
if [[ -z $SRC ]]; then
	copy_tree "$WORK/hugeslab"
else
	cp -a "$SRC" "$WORK/hugeslab"
fi
T=$WORK/hugeslab
rm -rf "$T/debian"
cp -r "$T/packaging/debian" "$T/debian"

step "dpkg-buildpackage -b -us -uc"
(cd "$T" && dpkg-buildpackage -b -us -uc) >"$WORK/build.log" 2>&1 ||
	{ tail -n 40 "$WORK/build.log"; die "dpkg-buildpackage failed"; }
grep -E 'dh_missing|warning' "$WORK/build.log" || true

modver=$(make -s -C "$T" --no-print-directory version)
debver=$(cd "$T" && dpkg-parsechangelog -S Version)

deb() {
	local f=$WORK/${1}_${debver}_$2.deb
	[[ -f $f ]] || die "$1 not built"
	echo "$f"
}
contents() {
	dpkg-deb -c "$(deb "$1" "$2")" | awk '{print $6}' | sed 's|^\./|/|'
}
has() {
	local pkg=$1 arch=$2 path
	shift 2
	for path; do
		contents "$pkg" "$arch" | grep -qx -- "$path" || die "$pkg lacks $path"
	done
}

step "hugeslab-dkms"
contents hugeslab-dkms all
has hugeslab-dkms all "/usr/src/hugeslab-$modver/dkms.conf" \
	"/usr/src/hugeslab-$modver/Kbuild" "/usr/src/hugeslab-$modver/module/main.c" \
	"/usr/src/hugeslab-$modver/include/uapi/linux/hugeslab.h" \
	/lib/udev/rules.d/60-hugeslab.rules \
	/usr/share/doc/hugeslab-dkms/examples/modprobe.d/hugeslab.conf
dpkg-deb -x "$(deb hugeslab-dkms all)" "$WORK/x-dkms"
grep -qx "PACKAGE_VERSION=\"$modver\"" "$WORK/x-dkms/usr/src/hugeslab-$modver/dkms.conf" ||
	die "dkms.conf in the package has the wrong version"
dep=$(dpkg-deb -f "$(deb hugeslab-dkms all)" Depends)
[[ $dep == *dkms* && $dep == *adduser* ]] || die "hugeslab-dkms Depends: $dep"
dpkg-deb -e "$(deb hugeslab-dkms all)" "$WORK/ctl-dkms"
grep -q 'addgroup --system hugeslab' "$WORK/ctl-dkms/postinst" || die "postinst: no addgroup"
grep -q "^DKMS_NAME=hugeslab" "$WORK/ctl-dkms/postinst" || die "postinst: no dh_dkms part"
grep -q 'dkms remove' "$WORK/ctl-dkms/prerm" || die "prerm: no dkms remove"

step "libhugeslab1, libhugeslab-dev, hugeslab-tools"
for p in libhugeslab1 libhugeslab-dev hugeslab-tools; do
	contents "$p" amd64
	contents "$p" amd64 | grep -q '^/usr/src/' && die "$p ships /usr/src"
done
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
soname=$(contents libhugeslab1 amd64 | sed -n "s|^/usr/lib/$ma/\(libhugeslab\.so\.[0-9]*\)$|\1|p")
[[ -n $soname ]] || die "libhugeslab1 has no libhugeslab.so.N"
dpkg-deb -e "$(deb libhugeslab1 amd64)" "$WORK/ctl-lib"
grep -q "^libhugeslab ${soname##*.} libhugeslab1" "$WORK/ctl-lib/shlibs" || die "libhugeslab1: shlibs"
has libhugeslab-dev amd64 /usr/include/hugeslab.h /usr/include/linux/hugeslab.h \
	"/usr/lib/$ma/libhugeslab.so" "/usr/lib/$ma/libhugeslab.a" \
	"/usr/lib/$ma/pkgconfig/hugeslab.pc"
nman=$(find "$T/userspace/man" -name '*.3' 2>/dev/null | wc -l)
dman=$(contents libhugeslab-dev amd64 | grep -c '^/usr/share/man/man3/.*\.3' || true)
((dman == nman)) || die "libhugeslab-dev has $dman section-3 man pages, the tree $nman"
if [[ -f $T/userspace/sink/Makefile ]]; then
	has hugeslab-tools amd64 /usr/bin/hugeslab-sink /usr/bin/hugeslab-source
fi
if [[ -f $T/userspace/tools/Makefile ]]; then
	has hugeslab-tools amd64 /usr/sbin/hugeslabctl
fi
echo "ok"

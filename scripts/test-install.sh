#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make install` / `make uninstall` into a DESTDIR, checked on the host:
#
#   1. install (PREFIX=/usr/local) into build/pkg-install/root for KVER
#      (default: the newest kernel of scripts/kernels.sh);
#   2. the tree: module + depmod index (modinfo/modprobe -d resolve it, its
#      vermagic is KVER's), library with SONAME, headers, hugeslab.pc, udev
#      rule, man pages, examples, tools that were built, and a manifest that
#      lists exactly the installed files;
#   3. a program built with nothing but `pkg-config --cflags --libs
#      hugeslab` (and --static) against the DESTDIR runs (fallback backend:
#      the host has no /dev/hugeslab);
#   4. install again (idempotent), uninstall: nothing but empty directories
#      is left;
#   5. PREFIX=/usr and LIBDIR=/usr/lib/x86_64-linux-gnu land where asked
#      and hugeslab.pc says so; uninstall again.
#
# The build runs in a copy of the working tree (build/pkg-install/src), so it
# does not touch objects in the source tree.
#
# Usage: scripts/test-install.sh [--kver KVER] [--src DIR]
#   --src DIR: use DIR (a prepared source tree) instead of copying the tree.
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

WORK=$TOP/build/pkg-install
ROOT=$WORK/root
rm -rf "$WORK"
mkdir -p "$WORK"
if [[ -z $SRC ]]; then
	SRC=$WORK/src
	copy_tree "$SRC"
fi

mk() {
	make -C "$SRC" --no-print-directory KVER="$KVER" "$@"
}

step "make install DESTDIR=$ROOT KVER=$KVER"
mk install DESTDIR="$ROOT" >"$WORK/install.log" 2>&1 ||
	{ tail -n 40 "$WORK/install.log"; die "make install failed"; }

P=$ROOT/usr/local
MANIFEST=$P/share/hugeslab/install-manifest

step "the installed tree"
find "$ROOT" ! -type d | sed "s|^$ROOT||" | sort
ko=$(find "$ROOT/lib/modules/$KVER/updates" -name 'hugeslab.ko*')
[[ -n $ko ]] || die "no module under lib/modules/$KVER/updates"
# depmod -b made an index that finds it, and it is built for KVER.
grep -q '^updates/hugeslab\.ko[.a-z]*:' "$ROOT/lib/modules/$KVER/modules.dep" ||
	die "modules.dep does not list updates/hugeslab.ko"
fn=$(modinfo -b "$ROOT" -k "$KVER" -F filename hugeslab)
[[ $fn == "$ko" ]] || die "modinfo -b resolves hugeslab to '$fn', not $ko"
vm=$(modinfo -F vermagic "$ko")
[[ $vm == "$KVER "* ]] || die "vermagic '$vm' is not for $KVER"
deps=$(modprobe -d "$ROOT" -S "$KVER" --show-depends hugeslab) ||
	die "modprobe -d $ROOT --show-depends hugeslab failed"
[[ $deps == "insmod $ko"* ]] || die "modprobe -d resolves hugeslab to: $deps"
echo "module: $ko, vermagic $vm"

for f in lib/libhugeslab.a lib/pkgconfig/hugeslab.pc include/hugeslab.h \
	include/linux/hugeslab.h share/doc/hugeslab/examples/modprobe.d/hugeslab.conf \
	share/doc/hugeslab/examples/modules-load.d/hugeslab.conf; do
	[[ -f $P/$f ]] || die "missing /usr/local/$f"
done
[[ -f $ROOT/lib/udev/rules.d/60-hugeslab.rules ]] || die "missing the udev rule"
soname=$(readelf -d "$P/lib/libhugeslab.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ -n $soname && -L $P/lib/$soname && -L $P/lib/libhugeslab.so ]] ||
	die "libhugeslab.so / SONAME link ($soname) missing"
[[ -f $(readlink -f "$P/lib/$soname") ]] || die "$soname is a dangling link"
echo "library: SONAME $soname -> $(readlink "$P/lib/$soname")"

# Man pages and tools that exist in the source tree are installed.
for m in "$SRC"/userspace/man/*.[138]; do
	[[ -e $m ]] || continue
	[[ -f $P/share/man/man${m##*.}/${m##*/} ]] || die "man page ${m##*/} not installed"
done
echo "man pages: $(find "$P/share/man" -type f 2>/dev/null | wc -l)"
# A tool whose directory has a Makefile is built by `make install` and must
# be installed; the others do not exist yet in this tree.
for t in sbin/hugeslabctl:userspace/tools bin/hugeslab-sink:userspace/sink \
	bin/hugeslab-source:userspace/sink; do
	path=${t%%:*} dir=${t#*:}
	if [[ -x $P/$path ]]; then
		echo "tool $path: installed"
	elif [[ -f $SRC/$dir/Makefile ]]; then
		die "$dir/Makefile exists but $path was not installed"
	else
		echo "tool $path: no $dir/Makefile in this tree, not installed"
	fi
done

# The manifest lists exactly the installed files (depmod's index files are
# generated state, handled by uninstall).
diff -u <(find "$ROOT" ! -type d | sed "s|^$ROOT||" |
	grep -v "^/lib/modules/$KVER/modules\." | sort) "$MANIFEST" ||
	die "install-manifest differs from the installed files"

step "a program built with pkg-config alone"
export PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR=$P/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$ROOT
flags=$(pkg-config --cflags --libs hugeslab)
echo "pkg-config --cflags --libs hugeslab: $flags"
# shellcheck disable=SC2086 # word splitting of the flags is intended
gcc -Wall -Wextra -Werror -o "$WORK/install-test" \
	"$TOP/packaging/test/install-test.c" $flags
readelf -d "$WORK/install-test" | grep -q "NEEDED.*\[$soname\]" ||
	die "install-test does not link $soname"
LD_LIBRARY_PATH=$P/lib "$WORK/install-test"
sflags=$(pkg-config --static --cflags --libs hugeslab)
echo "pkg-config --static --cflags --libs hugeslab: $sflags"
# shellcheck disable=SC2086
gcc -Wall -Wextra -Werror -static -o "$WORK/install-test-static" \
	"$TOP/packaging/test/install-test.c" $sflags
"$WORK/install-test-static"
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

step "install again, then uninstall"
mk install DESTDIR="$ROOT" >>"$WORK/install.log" 2>&1 || die "second make install failed"
mk uninstall DESTDIR="$ROOT" >"$WORK/uninstall.log" 2>&1 ||
	{ cat "$WORK/uninstall.log"; die "make uninstall failed"; }
left=$(find "$ROOT" ! -type d)
[[ -z $left ]] || die "left after uninstall: $left"
echo "nothing left but directories"

step "PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu"
ROOT2=$WORK/root-usr
mk install DESTDIR="$ROOT2" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu \
	>"$WORK/install-usr.log" 2>&1 || die "make install PREFIX=/usr failed"
pc=$ROOT2/usr/lib/x86_64-linux-gnu/pkgconfig/hugeslab.pc
[[ -f $pc && -f $ROOT2/usr/include/hugeslab.h && -f $ROOT2/usr/share/hugeslab/install-manifest ]] ||
	die "PREFIX=/usr: files not where asked"
grep -qx 'libdir=/usr/lib/x86_64-linux-gnu' "$pc" || die "hugeslab.pc: wrong libdir"
[[ -z $(find "$ROOT2/usr/local" 2>/dev/null) ]] || die "PREFIX=/usr: files in /usr/local"
mk uninstall DESTDIR="$ROOT2" PREFIX=/usr >>"$WORK/uninstall.log" 2>&1 ||
	die "make uninstall PREFIX=/usr failed"
left=$(find "$ROOT2" ! -type d)
[[ -z $left ]] || die "left after uninstall (PREFIX=/usr): $left"

# Debian 12 has a merged /usr: /lib is a symlink to usr/lib, and installing
# into / must go through it, not replace it with a directory.
step "merged /usr: /lib -> usr/lib stays a link"
ROOT3=$WORK/root-merged
mkdir -p "$ROOT3/usr/lib"
ln -s usr/lib "$ROOT3/lib"
mk install DESTDIR="$ROOT3" >"$WORK/install-merged.log" 2>&1 ||
	die "make install (merged /usr) failed"
[[ -L $ROOT3/lib ]] || die "make install replaced the /lib symlink"
[[ -f $ROOT3/usr/lib/udev/rules.d/60-hugeslab.rules ]] ||
	die "the udev rule did not land in usr/lib through the /lib link"
mk uninstall DESTDIR="$ROOT3" >>"$WORK/uninstall.log" 2>&1 ||
	die "make uninstall (merged /usr) failed"
left=$(find "$ROOT3" ! -type d ! -path "$ROOT3/lib")
[[ -z $left ]] || die "left after uninstall (merged /usr): $left"

# Man pages render (man(1) reports groff warnings on stderr).
for m in $(find "$SRC"/userspace -name '*.[138]' -type f | sort); do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null) ||
		die "man cannot render ${m#"$SRC"/}"
	[[ -z $w ]] || echo "warning: ${m#"$SRC"/}: $w"
done
echo "ok"

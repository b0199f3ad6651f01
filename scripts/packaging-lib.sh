# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the packaging tests (scripts/test-install.sh,
# scripts/test-install-vm.sh, scripts/test-dkms.sh). Sourced, not run.

die() {
	echo "${0##*/}: FAIL: $*" >&2
	exit 1
}

step() {
	echo "== $*"
}

# copy_tree DIR: the working tree as git sees it (tracked and untracked,
# not ignored files: no build outputs) copied into DIR.
copy_tree() {
	local dst=$1
	rm -rf "$dst"
	mkdir -p "$dst"
	(cd "$TOP" && git ls-files -z -c -o --exclude-standard) |
		(cd "$TOP" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$dst" -xf -
	[[ -f $dst/Makefile && -f $dst/Kbuild ]] || die "copy of the source tree failed"
}

#!/usr/bin/env bash
# Print the kernel releases the module is built and VM-tested against, one
# per line, 6.1 first then 6.12 (newest installed of each series that has
# /boot/vmlinuz-*, /lib/modules/*/kernel and /usr/src/linux-headers-*).
# Run scripts/install-deps.sh first.
#
#   scripts/kernels.sh               -> the 6.1 release, then the newest 6.12 one, one a line
#   scripts/kernels.sh --source-dir  -> dir with files extracted from
#                                       linux-source-6.12 (checkpatch, kselftest
#                                       headers), by scripts/install-deps.sh
set -euo pipefail

CACHE="${HUGESLAB_CACHE:-/var/cache/hugeslab}"

die() {
	echo "kernels.sh: $*" >&2
	exit 1
}

# Newest usable release matching the extended regex $1.
newest_release() {
	local re=$1 d k
	for d in /lib/modules/*/; do
		k=$(basename "$d")
		[[ $k =~ $re ]] || continue
		[[ -d /lib/modules/$k/kernel && -f /boot/vmlinuz-$k &&
			-d /usr/src/linux-headers-$k ]] || continue
		echo "$k"
	done | sort -V | tail -n 1
}

source_dir() {
	local ver dir
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
		die "linux-source-6.12 not installed (run scripts/install-deps.sh)"
	dir="$CACHE/linux-source-$ver"
	[[ -f $dir/.complete ]] ||
		die "$dir not extracted (run scripts/install-deps.sh)"
	echo "$dir"
}

case "${1:-}" in
--source-dir)
	source_dir
	;;
"")
	k61=$(newest_release '^6\.1\.[0-9]+-[0-9]+-amd64$')
	k612=$(newest_release '^6\.12\.[0-9]+\+deb12-amd64$')
	[[ -n $k61 ]] || die "no 6.1 kernel installed (run scripts/install-deps.sh)"
	[[ -n $k612 ]] || die "no 6.12 kernel installed (run scripts/install-deps.sh)"
	printf '%s\n%s\n' "$k61" "$k612"
	;;
-h | --help)
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
	;;
*)
	die "unknown argument: $1 (try --help)"
	;;
esac

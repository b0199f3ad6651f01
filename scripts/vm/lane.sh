# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the VM lanes (selftests/*/run.sh, bench/vm.sh): what their
# runners share.
#
# vm_lane_args LANE "$@": the options of a lane that takes only --kver,
# --out and --module (see selftests/rdma/run.sh): sets KVER, OUT (default
# build/vm-LANE-KVER) and KO (may stay empty); -h prints the caller's
# header comment. Exits 2 on a bad argument.
vm_lane_args() {
	local lane=$1 top
	shift
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	KVER= OUT= KO=
	while (($#)); do
		case $1 in
		--kver) KVER=${2:?}; shift 2 ;;
		--out) OUT=${2:?}; shift 2 ;;
		--module) KO=${2:?}; shift 2 ;;
		-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) echo "$lane vm test: unknown argument $1" >&2; exit 2 ;;
		esac
	done
	[[ -n $KVER ]] || { echo "$lane vm test: --kver is required" >&2; exit 2; }
	OUT=${OUT:-$top/build/vm-$lane-$KVER}
}
#
# vm_module KVER DIR: print the path of a hugeslab.ko for KVER. The one
# scripts/check.sh built (build/module-KVER) is used when no module source
# is newer than it, so a lane run by hand after an edit never boots a stale
# module; otherwise one is built in DIR/module with W=1 (log:
# DIR/module.log).
vm_module() {
	local kver=$1 dir=$2 top ko
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	ko=$top/build/module-$kver/hugeslab.ko
	if [[ -f $ko && -z $(find "$top/Kbuild" "$top/module" "$top/include" \
		-newer "$ko" -print -quit) ]]; then
		echo "$ko"
		return 0
	fi
	rm -rf "$dir/module" && mkdir -p "$dir/module"
	cp -r "$top/Kbuild" "$top/module" "$top/include" "$dir/module/"
	if ! make -s -C "/lib/modules/$kver/build" M="$dir/module" W=1 modules \
		>"$dir/module.log" 2>&1; then
		echo "hugeslab.ko for $kver did not build, see $dir/module.log" >&2
		return 1
	fi
	echo "$dir/module/hugeslab.ko"
}

# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the VM lanes (selftests/*/run.sh, bench/vm.sh).
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

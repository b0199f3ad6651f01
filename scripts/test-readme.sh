#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's "Try the module" commands, run as a newcomer would run them,
# so that they keep working as Debian's archive moves on (issue 16 item 17):
#
#   1. no command in README.md or the admin guide names a kernel release:
#      a release written into a doc stops existing when the archive moves
#      on (a 6.12 release did); the docs use scripts/kernels.sh instead;
#   2. the indented code block under "## Try the module" is extracted and
#      run with bash -e in a copy of the working tree (build/readme-test),
#      so the module build (`make KVER=...`) uses the headers of the kernel
#      the README picks and leaves the shared checkout alone;
#   3. the VM command is not booted (make check boots the same payload on
#      every kernel already): its arguments are checked instead, that the
#      kernel is installed and bootable and that the payload is the
#      directory check.sh builds (build/payload-KVER). HS_README_VM=1
#      boots it too, when the payload exists.
#
# Usage: scripts/test-readme.sh        exit 0 when every command worked
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$TOP/build/readme-test

die() {
	echo "test-readme: $*" >&2
	exit 1
}

# 1. No hard-coded kernel release in the commands of the docs.
release_re='[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+|\+deb[0-9]+)-(amd64|arm64|rt-amd64|cloud-amd64)'
if grep -nE "$release_re" "$TOP/README.md" \
	"$TOP/Documentation/hugeslab/admin-guide.rst"; then
	die "a doc names a kernel release (above); use \$(scripts/kernels.sh | tail -1)"
fi

# 2. The code block: indented lines after the heading, up to the next
# non-indented, non-empty line.
block=$(awk '
	/^## Try the module/ { on = 1; next }
	on && /^    / { sub(/^    /, ""); print; seen = 1; next }
	on && seen && !/^[[:space:]]*$/ { exit }
' "$TOP/README.md")
[[ -n $block ]] || die "no code block under '## Try the module' in README.md"
grep -q 'make KVER=' <<<"$block" || die "the block builds no module: $block"
grep -q '^scripts/vm/run.sh ' <<<"$block" || die "the block boots no VM: $block"

# A copy of the working tree (tracked and new files, as make check tests).
rm -rf "$WORK"
mkdir -p "$WORK"
(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -C "$WORK" -xf -

# 3. The VM command's arguments, checked against what exists.
vm_check() {
	local kver='' payload='' out='' a=("$@")
	while (($#)); do
		case $1 in
		--kver) kver=$2; shift 2 ;;
		--payload) payload=$2; shift 2 ;;
		--out) out=$2; shift 2 ;;
		--timeout | --mem | --disk-mb | --modules | --append) shift 2 ;;
		*) die "run.sh: argument the runner does not take: $1" ;;
		esac
	done
	[[ -n $kver && -n $payload && -n $out ]] ||
		die "run.sh needs --kver, --payload and --out: ${a[*]}"
	scripts/kernels.sh | grep -qxF "$kver" ||
		die "--kver $kver is not a kernel scripts/kernels.sh picks"
	[[ -f /boot/vmlinuz-$kver ]] || die "no /boot/vmlinuz-$kver to boot"
	[[ $payload == "build/payload-$kver" ]] ||
		die "--payload $payload is not the payload check.sh builds (build/payload-$kver)"
	echo "vm command ok: kernel $kver installed, payload $payload"
	if [[ ${HS_README_VM:-0} == 1 && -d $TOP/$payload ]]; then
		"$TOP/scripts/vm/run.sh" --kver "$kver" --payload "$TOP/$payload" \
			--out "$WORK/$out"
	fi
}

script=$WORK/readme-commands.sh
{
	echo 'set -euo pipefail'
	declare -f die vm_check
	echo "TOP=$(printf '%q' "$TOP") WORK=$(printf '%q' "$WORK")"
	sed 's|^scripts/vm/run.sh |vm_check |' <<<"$block"
} >"$script"
echo "== README commands, in $WORK:"
sed 's/^/    /' <<<"$block"
(cd "$WORK" && bash -x "$script")

# The build must have produced a module for the picked kernel.
kver=$(cd "$WORK" && scripts/kernels.sh | tail -1)
[[ $(modinfo -F vermagic "$WORK/hugeslab.ko" | cut -d' ' -f1) == "$kver" ]] ||
	die "hugeslab.ko was not built for $kver"
echo "README commands ok (module built for $kver)"

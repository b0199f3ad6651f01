# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Sourced by bench/nbd/run.sh: each unmodified userspace client completes a
# handshake and a verified round trip against the server at SRV_URI:
#   nbdinfo   handshake (NBD_OPT_GO), export size = backing file size
#   nbdcopy   4 MiB of random data to offset 0, read back, compared
#   qemu-img  other random data written with `convert -n`, read back with
#             `dd`, compared
# One TSV line per client is appended to $CLIENTS_TSV:
#   client <TAB> server <TAB> ok|FAIL <TAB> detail

client_row() {
	printf 'client\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$CLIENTS_TSV"
}

clients_check() {
	local name=$1 file=$2 dir=$3
	local want got src=$dir/client.src back=$dir/client.back
	want=$(stat -c %s "$file")
	got=$(nbdinfo --size "$SRV_URI" 2>"$dir/nbdinfo.err") || got=error
	if [[ $got == "$want" ]]; then
		client_row nbdinfo "$name" ok "size $got"
	else
		client_row nbdinfo "$name" FAIL "size $got, want $want"
	fi

	head -c $((4 << 20)) /dev/urandom >"$src"
	if nbdcopy "$src" "$SRV_URI" 2>"$dir/nbdcopy.err" &&
		cmp -n $((4 << 20)) "$src" <(nbdcopy "$SRV_URI" - 2>/dev/null) >"$dir/nbdcopy.cmp" 2>&1; then
		client_row nbdcopy "$name" ok "4 MiB written, read back, equal"
	else
		client_row nbdcopy "$name" FAIL "$(head -c 200 "$dir/nbdcopy.err" "$dir/nbdcopy.cmp" | tr '\n\t' '  ')"
	fi

	head -c $((4 << 20)) /dev/urandom >"$src"
	rm -f "$back"
	if qemu-img convert -n -f raw -O raw "$src" "$SRV_URI" 2>"$dir/qemu-img.err" &&
		qemu-img dd -f raw -O raw bs=1M count=4 if="$SRV_URI" of="$back" 2>>"$dir/qemu-img.err" >/dev/null &&
		cmp "$src" "$back" >>"$dir/qemu-img.err" 2>&1; then
		client_row qemu-img "$name" ok "4 MiB convert -n, dd back, equal"
	else
		client_row qemu-img "$name" FAIL "$(head -c 200 "$dir/qemu-img.err" | tr '\n\t' '  ')"
	fi
	rm -f "$src" "$back"
}

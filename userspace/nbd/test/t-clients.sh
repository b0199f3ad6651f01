# SPDX-License-Identifier: MIT
# Unmodified clients: nbdinfo (block sizes, flags, --list, over TCP and the
# Unix socket), nbdcopy over
# four connections (multi-conn) and back with a checksum, qemu-img convert
# to and from nbd://, fio's nbd engine with verify=crc32c.
. "$(dirname "$0")/lib.sh"
need nbdinfo nbdcopy qemu-img fio

mkimg a.img 128M
mkimg b.img 64M
start_server --pool 64M --threads 2 --unix "$W/nbd.sock" "$W/a.img" --name second "$W/b.img"

nbdinfo --json "nbd://127.0.0.1:$PORT" >"$W/info.json" || fail "nbdinfo"
python3 - "$W/info.json" <<'PY' || fail "nbdinfo: wrong export info"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
want = {"export-size": 128 << 20, "block_size_minimum": 4096,
        "block_size_preferred": 4096, "block_size_maximum": 32 << 20,
        "can_flush": True, "can_fua": True, "can_trim": True,
        "can_zero": True, "can_multi_conn": True, "is_read_only": False}
bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
if bad:
    print("mismatch:", bad)
    sys.exit(1)
PY
nbdinfo --list "nbd://127.0.0.1:$PORT" >"$W/list.txt" || fail "nbdinfo --list"
grep -q 'export="a.img"' "$W/list.txt" && grep -q 'export="second"' "$W/list.txt" ||
	fail "nbdinfo --list: $(cat "$W/list.txt")"
nbdinfo "$(uri nosuch)" >/dev/null 2>&1 && fail "unknown export accepted"
nbdinfo --size "nbd+unix:///second?socket=$W/nbd.sock" >"$W/usize.txt" || fail "nbdinfo over the Unix socket"
[ "$(cat "$W/usize.txt")" = 67108864 ] || fail "Unix socket: size $(cat "$W/usize.txt")"

head -c 96M /dev/urandom >"$W/src.bin"
nbdcopy --connections=4 --requests=16 "$W/src.bin" "$(uri a.img)" || fail "nbdcopy to server"
nbdcopy --connections=4 "$(uri a.img)" "$W/back.bin" || fail "nbdcopy from server"
head -c 96M "$W/back.bin" >"$W/back96.bin"
[ "$(sum "$W/src.bin")" = "$(sum "$W/back96.bin")" ] || fail "nbdcopy round trip differs"
log "nbdcopy 96 MiB round trip over 4 connections: sha256 equal"

head -c 64M /dev/urandom >"$W/q.bin"
qemu-img convert -n -f raw -O raw "$W/q.bin" "$(uri second)" || fail "qemu-img convert to nbd"
qemu-img convert -f raw -O raw "$(uri second)" "$W/qback.bin" || fail "qemu-img convert from nbd"
[ "$(sum "$W/q.bin")" = "$(sum "$W/qback.bin")" ] || fail "qemu-img round trip differs"
log "qemu-img convert 64 MiB round trip: sha256 equal"

fio --name=verify --ioengine=nbd --uri="$(uri a.img)" --rw=randwrite --bs=64k \
	--size=64M --iodepth=16 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
	--output="$W/fio.txt" || fail "fio: $(tail -5 "$W/fio.txt")"
grep -q "err= 0" "$W/fio.txt" || fail "fio reported errors"
log "fio nbd engine, 64 MiB random writes QD16, verify=crc32c: ok"

stop_server
if [ -e "$W/nbd.sock" ]; then
	fail "Unix socket left behind after exit"
fi

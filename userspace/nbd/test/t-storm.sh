# SPDX-License-Identifier: MIT
# Pool exhaustion in the middle of a storm, with nothing lost: a 16-buffer
# pool (32 MiB, one 32 MiB request fills it) under nbdcopy with 8
# connections x up to 32 requests of 32 MiB, and fio with 4 connections x
# QD 8 x 32 MiB and verify=crc32c: far more wanted at once than the pool
# holds. The server must have waited for buffers (its summary counts it),
# must not deadlock, and every byte must come back.
. "$(dirname "$0")/lib.sh"
need nbdcopy fio

mkimg a.img 512M
start_server --pool 32M --threads 2 "$W/a.img"

head -c 384M /dev/urandom >"$W/src.bin"
nbdcopy --connections=8 --requests=32 --request-size=33554432 "$W/src.bin" "$(uri)" ||
	fail "nbdcopy storm to server"
nbdcopy --connections=8 --requests=32 --request-size=33554432 "$(uri)" "$W/back.bin" ||
	fail "nbdcopy storm from server"
head -c 384M "$W/back.bin" >"$W/back384.bin"
[ "$(sum "$W/src.bin")" = "$(sum "$W/back384.bin")" ] || fail "storm round trip differs"
log "nbdcopy storm 384 MiB, 8 x 32 x 32 MiB on a 32 MiB pool: sha256 equal"

fio --name=storm --ioengine=nbd --uri="$(uri)" --rw=write --bs=32m --size=128M \
	--numjobs=4 --offset_increment=128M --iodepth=8 --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --verify_state_save=0 --output="$W/fio.txt" ||
	fail "fio storm: $(tail -5 "$W/fio.txt")"
[ "$(grep -c "err= 0" "$W/fio.txt")" -eq 4 ] || fail "fio storm reported errors"
log "fio storm 4 x QD8 x 32 MiB with verify=crc32c: ok"

stop_server
waits=$(sed -n 's/.* \([0-9]*\) waits for pool buffers.*/\1/p' "$W/srv.err")
[ "${waits:-0}" -gt 0 ] || fail "the pool never ran out (waits: ${waits:-none})"
log "requests waited for pool buffers $waits times; 0 buffers held at exit"

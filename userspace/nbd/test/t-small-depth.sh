# SPDX-License-Identifier: MIT
# Small requests run at full depth when the 2 MiB pool is tiny: 4 KiB
# random writes at QD 64 (fio, verify=crc32c) against a server whose 2 MiB
# pool is 4 MiB, two buffers. Each 4 KiB request takes one buffer of the
# small pool, so the server must have had more than two of them holding
# buffers at once (its summary) and must never have waited for a buffer;
# a server that gives each request a 2 MiB buffer admits two at a time and
# waits for the rest.
. "$(dirname "$0")/lib.sh"
need fio

mkimg a.img 256M
start_server --pool 4M --threads 1 "$W/a.img"
fio --name=small --ioengine=nbd --uri="$(uri)" --rw=randwrite --bs=4k --size=64M \
	--iodepth=64 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
	--output="$W/fio.txt" || fail "fio: $(tail -5 "$W/fio.txt")"
grep -q "err= 0" "$W/fio.txt" || fail "fio reported errors"
log "fio 4 KiB randwrite QD 64, 64 MiB, verify=crc32c: ok"
stop_server

peak=$(sed -n 's/.*at most \([0-9]*\) small and .*/\1/p' "$W/srv.err")
waits=$(sed -n 's/.* \([0-9]*\) waits for pool buffers.*/\1/p' "$W/srv.err")
[ -n "$peak" ] && [ "$peak" -gt 2 ] ||
	fail "at most ${peak:-?} small requests in flight at once (want > 2)"
[ "${waits:-1}" -eq 0 ] || fail "requests waited for buffers ${waits:-?} times"
log "up to $peak small requests held buffers at once on a 2-buffer 2 MiB pool, 0 waits"

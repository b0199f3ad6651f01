# SPDX-License-Identifier: MIT
# A mixed storm that exhausts both pools loses nothing and does not
# deadlock: at the same time, fio writes 4 KiB blocks at QD 64 on 4
# connections (256 small buffers wanted, the small pool has 32) and 32 MiB
# blocks at QD 8 on 4 connections (16 large buffers each, the 2 MiB pool
# has 16), both with verify=crc32c. Each class must have waited for its
# own buffers (the summary counts both), every byte must verify, and the
# run must end within the timeout.
. "$(dirname "$0")/lib.sh"
need fio

mkimg a.img 768M
start_server --pool 32M --small-pool 2M --threads 2 "$W/a.img"
timeout -k 10 240 fio --name=small --ioengine=nbd --uri="$(uri)" --rw=randwrite --bs=4k \
	--size=16M --numjobs=4 --offset_increment=16M --iodepth=64 --verify=crc32c \
	--do_verify=1 --verify_fatal=1 --verify_state_save=0 --output="$W/small.txt" &
small=$!
timeout -k 10 240 fio --name=large --ioengine=nbd --uri="$(uri)" --rw=write --bs=32m \
	--offset=256M --size=128M --numjobs=4 --offset_increment=128M --iodepth=8 \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
	--output="$W/large.txt" &
large=$!
wait $small || fail "fio 4 KiB: $(tail -5 "$W/small.txt")"
wait $large || fail "fio 32 MiB: $(tail -5 "$W/large.txt")"
[ "$(grep -c "err= 0" "$W/small.txt")" -eq 4 ] || fail "fio 4 KiB reported errors"
[ "$(grep -c "err= 0" "$W/large.txt")" -eq 4 ] || fail "fio 32 MiB reported errors"
log "4 x QD 64 x 4 KiB and 4 x QD 8 x 32 MiB at once, verify=crc32c: ok"
stop_server

waits=$(sed -n 's/.* \([0-9]*\) waits for pool buffers (\([0-9]*\) for small.*/\1 \2/p' "$W/srv.err")
set -- $waits
[ $# -eq 2 ] || fail "no wait counts in the summary"
[ "$2" -gt 0 ] || fail "the small pool never ran out"
[ $(($1 - $2)) -gt 0 ] || fail "the 2 MiB pool never ran out"
log "waits for small buffers: $2, for 2 MiB buffers: $(($1 - $2)); 0 buffers held at exit"

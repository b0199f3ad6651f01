# SPDX-License-Identifier: MIT
# The threaded paths under ThreadSanitizer: handshake threads, two workers
# and their aux threads (t-crash: three connections, FLUSH across them,
# kill -9; t-sigterm: shutdown with requests in flight; t-small-storm: both
# buffer classes exhausted at once), and nbdcopy over
# four connections. Any report makes the server exit non-zero (TSan's
# exitcode) or shows in its log, and fails the test.
. "$(dirname "$0")/lib.sh"
: "${HS_TSAN_BIN:?HS_TSAN_BIN not set}"
need nbdcopy
D=$(dirname "$0")
HS_BIN=$HS_TSAN_BIN HS_TMP=$W python3 "$D/t-sigterm.py" || fail "t-sigterm under TSan"
HS_BIN=$HS_TSAN_BIN HS_TMP=$W python3 "$D/t-crash.py" || fail "t-crash under TSan"
# Both buffer classes exhausted at once, across two workers.
NBD=$HS_TSAN_BIN/hugeslab-nbd HS_TMP=$W sh "$D/t-small-storm.sh" || fail "t-small-storm under TSan"
NBD=$HS_TSAN_BIN/hugeslab-nbd
mkimg a.img 64M
start_server --pool 16M --threads 2 "$W/a.img"
head -c 48M /dev/urandom >"$W/src.bin"
nbdcopy --connections=4 --requests=16 "$W/src.bin" "$(uri)" || fail "nbdcopy to server"
nbdcopy --connections=4 "$(uri)" "$W/back.bin" || fail "nbdcopy from server"
head -c 48M "$W/back.bin" >"$W/back48.bin"
[ "$(sum "$W/src.bin")" = "$(sum "$W/back48.bin")" ] || fail "round trip differs"
stop_server
grep -q ThreadSanitizer "$W"/*/srv.err "$W/srv.err" && fail "ThreadSanitizer report"
log "no ThreadSanitizer report"

# SPDX-License-Identifier: MIT
"""Receives wake up only once what they need is queued (SO_RCVLOWAT), and
never wait for bytes the client will not send:
1. A 1 MiB WRITE whose payload comes in 16 pieces of 64 KiB, 20 ms apart,
   is received in at most 2 receive completions (one per piece without
   the mark), and reads back.
2. A payload whose last 4 KiB arrives alone, 300 ms after the rest, with
   nothing sent after it: the reply must still come (the mark is never
   more than what the receive still needs).
3. A header sent in two pieces, and a refused WRITE of 5 bytes whose 5
   bytes of payload come 200 ms after the header (drained: fewer than a
   header, so a mark left at 28 would never wake): error reply, and the
   stream stays in sync.
The server's summary counts write payloads and the receives they took."""
import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

KB = 1 << 10
MB = 1 << 20


def payload_counts(text):
    m = re.search(r"(\d+) write payloads in (\d+) receives", text)
    check(m, "no payload receive counts in the summary")
    return int(m.group(1)), int(m.group(2))


def main():
    w = workdir()
    img = sparse_file(w, "disk.img", 64 * MB)
    srv = Server(w, ["--threads", "1", img])
    c = Conn(srv.port, timeout=10)
    c.hello()
    c.go()

    data = os.urandom(MB)
    c.request(CMD_WRITE, 0, MB, 1)
    for i in range(16):
        c.send(data[i * 64 * KB:(i + 1) * 64 * KB])
        time.sleep(0.02)
    check(c.reply(1)[0] == 0, "slow 1 MiB write")
    err, back = c.read(0, MB, 2)
    check(err == 0 and back == data, "slow 1 MiB write read back")
    log("1 MiB payload in 16 pieces 20 ms apart: written and read back")

    tail = os.urandom(MB)
    c.request(CMD_WRITE, MB, MB, 3, 0, tail[:MB - 4 * KB])
    time.sleep(0.3)
    c.send(tail[MB - 4 * KB:])
    check(c.reply(3)[0] == 0, "write whose last 4 KiB came alone")
    err, back = c.read(MB, MB, 4)
    check(err == 0 and back == tail, "tail write read back")
    log("last 4 KiB alone, 300 ms late, nothing after it: replied")

    hdr = struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_READ, 5, 0, 4096)
    c.send(hdr[:10])
    time.sleep(0.2)
    c.send(hdr[10:])
    err, _ = c.reply(5)
    check(err == 0 and c.recv(4096) == data[:4096], "header in two pieces")
    c.request(CMD_WRITE, 0, 5, 6)
    time.sleep(0.2)
    c.send(b"hello")
    check(c.reply(6)[0] == EINVAL, "5-byte write not refused with EINVAL")
    err, back = c.read(0, 4096, 7)
    check(err == 0 and back == data[:4096], "stream out of sync after a 5-byte drain")
    log("header in two pieces, 5-byte refused write drained: in sync")
    c.disc()

    payloads, recvs = payload_counts(srv.stop())
    check(payloads == 2, "%d write payloads, expected 2" % payloads)
    # 16 pieces: one receive each without the mark; with it, the slow one
    # takes 1 or 2 and the late tail 2.
    check(recvs <= 4, "%d receives for 2 payloads of 16 and 2 pieces" % recvs)
    log("2 write payloads in %d receives" % recvs)


run(main)

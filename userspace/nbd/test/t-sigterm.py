# SPDX-License-Identifier: MIT
"""SIGTERM finishes the requests in flight: a client pipelines 16 writes
of 2 MiB without reading a reply and the server gets SIGTERM once the first
reply is in. Every request the server had read (its summary counts them)
must be replied to with success and be on disk, the requests it had not
read yet get no reply (the connection closes), and the server exits 0 with
no buffer held. A second client that stalls in the middle of a write
payload, and a third in the middle of a header, do not hold the shutdown
past its grace period (10 s)."""
import os
import re
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

MB = 1 << 20
N = 16


def main():
    w = workdir()
    img = sparse_file(w, "disk.img", 64 * MB)
    srv = Server(w, ["--pool", "16M", "--threads", "1", img])
    c = Conn(srv.port)
    c.hello()
    c.go()
    stall = Conn(srv.port)
    stall.hello()
    stall.go()
    stall.request(CMD_WRITE, 40 * MB, 2 * MB, 77, 0, os.urandom(100 * 1024))
    half = Conn(srv.port)
    half.hello()
    half.go()
    half.send(struct.pack(">IHHQ", REQ_MAGIC, 0, CMD_READ, 78))
    blocks = [os.urandom(2 * MB) for _ in range(N)]
    for i, data in enumerate(blocks):
        c.request(CMD_WRITE, i * 2 * MB, len(data), 500 + i, 0, data)
    got = {}
    err, ck = c.reply()
    got[ck] = err
    os.kill(srv.pid, signal.SIGTERM)
    try:
        while len(got) < N:
            err, ck = c.reply()
            got[ck] = err
    except (EOFError, ConnectionResetError):
        pass
    check(all(e == 0 for e in got.values()), "error replies after SIGTERM")
    check(c.closed_by_server(), "connection not closed after SIGTERM")
    t0 = time.time()
    text = srv.stop()
    check(time.time() - t0 < 30, "shutdown took %.0f s" % (time.time() - t0))
    check("request still incomplete after the grace period" in text,
          "the stalled write was not cut at the end of the grace period")
    check("finishing requests in flight" in text, "no shutdown message")
    m = re.search(r" (\d+) requests,", text)
    # the stalled write's header was read too; it is cut, not replied to
    check(m and int(m.group(1)) == len(got) + 1,
          "server read %s requests but replied to %d (+1 stalled)" % (m and m.group(1), len(got)))
    check(len(got) >= 2, "no request was in flight at SIGTERM")
    with open(img, "rb") as f:
        for i, data in enumerate(blocks):
            if 500 + i in got:
                f.seek(i * 2 * MB)
                check(f.read(2 * MB) == data, "block %d replied to but not on disk" % i)
    log("%d of %d pipelined writes read by the server: all replied and on disk after SIGTERM" % (len(got), N))


run(main)

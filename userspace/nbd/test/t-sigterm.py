# SPDX-License-Identifier: MIT
"""SIGTERM finishes the requests in flight: a client pipelines 16 writes
of 2 MiB without reading a reply, the server gets SIGTERM once the first
reply is in, and still every write is replied to with success, is on disk,
and the server exits 0 with no buffer held."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

MB = 1 << 20
N = 16


def main():
    w = workdir()
    img = os.path.join(w, "disk.img")
    with open(img, "wb") as f:
        f.truncate(64 * MB)
    srv = Server(w, ["--pool", "16M", "--threads", "1", img])
    c = Conn(srv.port)
    c.hello()
    c.go()
    blocks = [os.urandom(2 * MB) for _ in range(N)]
    for i, data in enumerate(blocks):
        c.request(CMD_WRITE, i * 2 * MB, len(data), 500 + i, 0, data)
    got = {}
    err, ck = c.reply()
    got[ck] = err
    os.kill(srv.pid, signal.SIGTERM)
    while len(got) < N:
        err, ck = c.reply()
        got[ck] = err
    check(sorted(got) == list(range(500, 500 + N)), "replies %r" % sorted(got))
    check(all(e == 0 for e in got.values()), "error replies after SIGTERM")
    check(c.closed_by_server(), "connection not closed after SIGTERM")
    text = srv.stop()
    check("finishing requests in flight" in text, "no shutdown message")
    with open(img, "rb") as f:
        for i, data in enumerate(blocks):
            check(f.read(2 * MB) == data, "block %d not on disk" % i)
    log("%d pipelined writes all replied and on disk after SIGTERM" % N)


run(main)

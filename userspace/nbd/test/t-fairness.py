# SPDX-License-Identifier: MIT
"""A client that stops reading its replies cannot take the whole pool: it
pipelines 30 READs of 4 MiB (60 buffers wanted, the pool has 32) and never
reads a reply; another connection must still get its 32 MiB write and read
through, as one connection holds at most half of the pool (here 16
buffers: one maximum request)."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

MB = 1 << 20


def main():
    w = workdir()
    img = sparse_file(w, "disk.img", 256 * MB)
    srv = Server(w, ["--pool", "64M", "--threads", "1", img])
    hog = Conn(srv.port)
    hog.hello()
    hog.go()
    hog.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    for i in range(30):
        hog.request(CMD_READ, i * 4 * MB, 4 * MB, 100 + i)
    time.sleep(1)
    c = Conn(srv.port, timeout=20)
    c.hello()
    c.go()
    data = os.urandom(32 * MB)
    t0 = time.time()
    check(c.write(128 * MB, data, 1) == 0, "write beside a hog")
    err, back = c.read(128 * MB, 32 * MB, 2)
    check(err == 0 and back == data, "read beside a hog")
    log("32 MiB write + read beside a connection not reading its replies: %.2f s" % (time.time() - t0))
    c.disc()
    hog.close()
    srv.stop()


run(main)

# SPDX-License-Identifier: MIT
"""kill -9 and restart: everything written before the last FLUSH reply
reads back. Writes go over two connections, the FLUSH over a third (the
server advertises CAN_MULTI_CONN, so that FLUSH must cover them all);
more writes are in flight, unflushed, when the server is killed."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

MB = 1 << 20


def main():
    w = workdir()
    img = sparse_file(w, "disk.img", 64 * MB)
    srv = Server(w, ["--pool", "32M", "--threads", "2", img])
    conns = [Conn(srv.port) for _ in range(3)]
    for c in conns:
        c.hello()
        c.go()
    flushed = {}
    for rnd in range(3):
        for blk in range(16):
            data = os.urandom(MB)
            c = conns[blk % 2]
            check(c.write(blk * MB, data, 100 + blk) == 0, "write")
            flushed[blk] = data
        check(conns[2].flush(999) == 0, "flush")
    # unflushed writes, some still in flight at the kill
    for blk in range(16, 48):
        conns[blk % 2].request(CMD_WRITE, blk * MB, MB, 200 + blk, 0, os.urandom(MB))
    srv.kill9()
    log("killed with writes in flight after %d flushed MiB" % len(flushed))
    srv = Server(w, ["--pool", "32M", img])
    c = Conn(srv.port)
    c.hello()
    c.go()
    for blk, data in flushed.items():
        err, back = c.read(blk * MB, MB, 300 + blk)
        check(err == 0 and back == data, "block %d written before the last FLUSH reply is lost" % blk)
    c.disc()
    srv.stop()
    log("all %d MiB written before the last FLUSH reply read back after kill -9" % len(flushed))


run(main)

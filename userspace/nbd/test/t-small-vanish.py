# SPDX-License-Identifier: MIT
"""Pool accounting returns to zero after a client vanishes mid-write on a
small buffer, and `hugeslabctl top` shows who holds what. A client sends
a 64 KiB WRITE header and part of its payload, then waits: top on the
small pool must show one buffer in use, held by the tag nbd-worker0-small,
and none in the 2 MiB pool. The client vanishes: the small pool must go
back to 0 in use (gets == puts). Then 40 more clients vanish the same way,
more than the small pool's 32 buffers, and a 16-deep pipeline of 4 KiB
writes must still be admitted and read back."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

KB = 1 << 10


def top(srv, name):
    path = "%s/hugeslab.%d.%s" % (os.environ.get("HUGESLAB_STATS_DIR", "/dev/shm"),
                                  srv.pid, name)
    out = subprocess.run([os.environ["HS_CTL"], "--json", "top", "--once", path],
                         capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, "hugeslabctl top %s: %s" % (path, out.stderr.strip()))
    return json.loads(out.stdout.splitlines()[0])


def wait_in_use(srv, name, want):
    t = {}
    for _ in range(100):
        t = top(srv, name)
        if t["in_use"] == want:
            return t
        time.sleep(0.1)
    raise Fail("pool %s: %d buffers in use, expected %d" % (name, t.get("in_use", -1), want))


def vanish(port):
    c = Conn(port)
    c.hello()
    c.go()
    c.request(CMD_WRITE, 0, 64 * KB, 7, 0, os.urandom(10 * KB))
    return c


def main():
    check(os.access(os.environ.get("HS_CTL", ""), os.X_OK), "no hugeslabctl (HS_CTL)")
    w = workdir()
    img = sparse_file(w, "disk.img", 64 << 20)
    srv = Server(w, ["--pool", "4M", "--small-pool", "2M", "--threads", "1", img])
    c = vanish(srv.port)
    t = wait_in_use(srv, "hugeslab-nbd-small", 1)
    held = {g["name"]: g["in_use"] for g in t["tags"]}
    check(held.get("nbd-worker0-small") == 1, "top: tags holding small buffers %r" % held)
    check(top(srv, "hugeslab-nbd")["in_use"] == 0, "a 64 KiB write holds a 2 MiB buffer")
    log("mid-write: small pool 1 in use, held by nbd-worker0-small; 2 MiB pool 0")
    c.close()
    t = wait_in_use(srv, "hugeslab-nbd-small", 0)
    check(t["gets"] == t["puts"] and t["gets"] > 0, "gets %d puts %d" % (t["gets"], t["puts"]))
    log("client vanished: small pool back to 0 in use (%d gets, %d puts)" % (t["gets"], t["puts"]))

    for _ in range(40):
        vanish(srv.port).close()
    c = Conn(srv.port, timeout=20)
    c.hello()
    c.go()
    data = [os.urandom(4 * KB) for _ in range(16)]
    for i, d in enumerate(data):
        c.request(CMD_WRITE, i * 4 * KB, 4 * KB, 100 + i, 0, d)
    for i in range(16):
        check(c.reply(100 + i)[0] == 0, "pipelined write %d after 40 vanished clients" % i)
    for i, d in enumerate(data):
        err, back = c.read(i * 4 * KB, 4 * KB, 200 + i)
        check(err == 0 and back == d, "read back %d" % i)
    c.disc()
    t = wait_in_use(srv, "hugeslab-nbd-small", 0)
    log("40 more vanished mid-write, then 16 pipelined 4 KiB writes: ok, 0 in use")
    srv.stop()


run(main)

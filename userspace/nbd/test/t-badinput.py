# SPDX-License-Identifier: MIT
"""Bad input, from a raw-socket client. Handshake garbage, a wrong magic
and a header claiming more than the maximum close only that connection,
with a logged reason, while another connection goes on working; every
malformed request gets the protocol's error reply with the stream kept in
sync and nothing on disk changed; a client that vanishes in the middle of
a 32 MiB write leaves no buffer held (the pool has exactly 16 buffers, so
one leaked buffer would make the next 32 MiB write wait forever)."""
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

SIZE = 16 << 20
MAX = 32 << 20


def disk_sum(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    w = workdir()
    img = os.path.join(w, "disk.img")
    with open(img, "wb") as f:
        f.write(os.urandom(SIZE))
    big = sparse_file(w, "big.img", 64 << 20)
    srv = Server(w, ["--pool", "32M", "--threads", "2", img, big])
    # A good connection that must survive everything below.
    good = Conn(srv.port)
    good.hello()
    size, tflags, bs = good.go()
    check(size == SIZE and bs == (4096, 4096, MAX), "GO info %r %r" % (size, bs))
    check(good.write(0, b"\x5a" * 4096, 10) == 0, "good write")
    before = disk_sum(img)

    def still_good(what):
        err, data = good.read(0, 4096, 11)
        check(err == 0 and data == b"\x5a" * 4096, "good connection broken after " + what)

    nclosed = 0

    def expect_closed(c, what):
        nonlocal nclosed
        check(c.closed_by_server(), what + ": connection not closed")
        nclosed += 1
        still_good(what)
        log("closed: " + what)

    # ---- handshake ----
    c = Conn(srv.port)
    c.recv(18)
    c.send(b"GET / HTTP/1.0\r\n\r\n")
    expect_closed(c, "HTTP request as handshake")

    c = Conn(srv.port)
    c.hello(cflags=0)
    expect_closed(c, "client not fixed newstyle")

    c = Conn(srv.port)
    c.hello()
    c.send(struct.pack(">QII", 0x1122334455667788, OPT_GO, 0))
    expect_closed(c, "wrong option magic")

    c = Conn(srv.port)
    c.hello()
    c.send(struct.pack(">QII", IHAVEOPT, OPT_GO, 1 << 30))
    expect_closed(c, "option claiming 1 GiB")

    c = Conn(srv.port)
    c.hello()
    c.opt(OPT_STRUCTURED_REPLY)
    check(c.rep()[1] == REP_ERR_UNSUP, "STRUCTURED_REPLY not ERR_UNSUP")
    c.opt(0x4242, b"junk")
    check(c.rep()[1] == REP_ERR_UNSUP, "unknown option not ERR_UNSUP")
    c.opt(OPT_GO, struct.pack(">I", 4) + b"nope" + struct.pack(">H", 0))
    check(c.rep()[1] == REP_ERR_UNKNOWN, "GO of unknown export not ERR_UNKNOWN")
    c.opt(OPT_GO, struct.pack(">I", 400) + b"x")
    check(c.rep()[1] == REP_ERR_INVALID, "malformed GO not ERR_INVALID")
    c.opt(OPT_LIST, b"x")
    check(c.rep()[1] == REP_ERR_INVALID, "LIST with data not ERR_INVALID")
    c.opt(OPT_EXPORT_NAME, b"nope")
    expect_closed(c, "EXPORT_NAME of an unknown export")
    log("option errors: ERR_UNSUP, ERR_UNKNOWN, ERR_INVALID as expected")

    # ---- requests with error replies, stream kept in sync ----
    c = Conn(srv.port)
    c.hello()
    c.go()
    cases = [
        ("unaligned write offset", CMD_WRITE, 512, 4096, 0, EINVAL),
        ("unaligned write length", CMD_WRITE, 0, 4608, 0, EINVAL),
        ("write past the end", CMD_WRITE, SIZE, 4096, 0, ENOSPC),
        ("write straddling the end", CMD_WRITE, SIZE - 4096, 8192, 0, ENOSPC),
        ("write with NO_HOLE", CMD_WRITE, 0, 4096, FLAG_NO_HOLE, EINVAL),
        ("write with unknown flag", CMD_WRITE, 0, 4096, 1 << 7, EINVAL),
        ("zero-length write", CMD_WRITE, 0, 0, 0, EINVAL),
        ("full-size write past the end", CMD_WRITE, 0, MAX, 0, ENOSPC),
        ("read past the end", CMD_READ, SIZE, 4096, 0, EINVAL),
        ("read with wrapping offset", CMD_READ, (1 << 64) - 4096, 8192, 0, EINVAL),
        ("read larger than the maximum", CMD_READ, 0, MAX + 4096, 0, EINVAL),
        ("unaligned read", CMD_READ, 100, 4096, 0, EINVAL),
        ("trim past the end", CMD_TRIM, SIZE - 4096, 8192, 0, EINVAL),
        ("unaligned trim", CMD_TRIM, 1, 4096, 0, EINVAL),
        ("write_zeroes past the end", CMD_WRITE_ZEROES, SIZE, 4096, 0, ENOSPC),
        ("flush with a length", CMD_FLUSH, 0, 4096, 0, EINVAL),
        ("unknown command 5 (CACHE)", 5, 0, 4096, 0, EINVAL),
        ("unknown command 99", 99, 0, 0, 0, EINVAL),
    ]
    for i, (what, typ, off, length, flags, want) in enumerate(cases):
        payload = os.urandom(length) if typ == CMD_WRITE else b""
        c.request(typ, off, length, 1000 + i, flags, payload)
        err, _ = c.reply(1000 + i)
        check(err == want, "%s: error %d, expected %d" % (what, err, want))
        # the stream is still in sync: a good read right after
        err, data = c.read(0, 4096, 2000 + i)
        check(err == 0 and data == b"\x5a" * 4096, what + ": stream out of sync")
    log("%d malformed requests: error replies, stream in sync" % len(cases))
    c.disc()
    check(disk_sum(img) == before, "malformed requests changed the disk")
    log("disk unchanged (sha256)")

    # ---- fatal requests: close that connection only ----
    c = Conn(srv.port)
    c.hello()
    c.go()
    c.send(struct.pack(">IHHQQI", 0x25609514, 0, CMD_READ, 1, 0, 4096))
    expect_closed(c, "wrong request magic")

    c = Conn(srv.port)
    c.hello()
    c.go()
    c.request(CMD_WRITE, 0, 64 << 20, 5)
    expect_closed(c, "write header claiming 64 MiB")

    c = Conn(srv.port)
    c.hello()
    c.go()
    c.request(CMD_WRITE, 0, 0xffffffff, 6, 0, b"\0" * 4096)
    expect_closed(c, "write header claiming 4 GiB")
    check(disk_sum(img) == before, "fatal requests changed the disk")

    # ---- a client vanishing mid-write holds no buffer ----
    for n in range(3):
        c = Conn(srv.port)
        c.hello()
        c.go(b"big.img")
        c.request(CMD_WRITE, 0, MAX, 7, 0, os.urandom(5 << 20))
        c.close()
        c2 = Conn(srv.port)
        c2.hello()
        c2.go(b"big.img")
        data = os.urandom(MAX)
        check(c2.write(0, data, 8) == 0, "32 MiB write after a vanished client")
        err, back = c2.read(0, MAX, 9)
        check(err == 0 and back == data, "32 MiB read back")
        c2.disc()
    log("3 clients vanished mid-write; the whole pool was free again each time")

    still_good("all cases")
    good.disc()
    text = srv.stop()
    for why in ("closed in handshake: client is not fixed newstyle",
                "closed in handshake: bad option magic",
                "closed in handshake: option data too long",
                "closed in handshake: NBD_OPT_EXPORT_NAME of an unknown export",
                "closed: bad request magic",
                "closed: write larger than the maximum block size",
                "closed: client closed in a write payload"):
        check(why in text, "no log line: " + why)
    log("every close logged with its reason; 0 buffers held at exit")


run(main)

# SPDX-License-Identifier: MIT
"""Zero-copy READ replies (IORING_OP_SENDMSG_ZC). Skipped only when the
running kernel lacks the opcode (the server's start-up line says so).

1. nbdcopy reads an export back over TCP: equal bytes, and the summary
   counts zero-copy sends and no copied ones; over AF_UNIX, which kernels
   up to 6.12 refuse SENDMSG_ZC on, the same read falls back to copied
   sends (or is zero-copy, on a kernel that takes it); with --no-zerocopy
   only copied sends.
2. Buffers are not recycled before the kernel's notification: a 4-buffer
   pool, three connections that leave their 2 MiB READ replies unread for
   a while (a 64 KiB receive buffer, so the tail of each reply waits in
   the server's TCP write queue, still in the pool buffer, after the send
   completed) and read them slowly, while a fourth connection reads other
   data through the same buffers as fast as it can. Every byte is
   compared. The negative control, a build that returns the buffers at
   the send completion (NBD_TEST_BROKEN_ZC), must get wrong bytes.
3. Server CPU seconds per GB read, zero-copy and --no-zerocopy, measured
   on the optimized build in this run and printed (loopback copies
   anyway, at the receiver; nothing is asserted on it)."""
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

MB = 1 << 20
IMG_MB = 64
BUF = 2 * MB


def start(w, args, binary=None):
    """A server with a fresh srv.err, so that its log is its own."""
    try:
        os.unlink(os.path.join(w, "srv.err"))
    except FileNotFoundError:
        pass
    return Server(w, args, binary=binary)


def wait_start(srv):
    """The line with the worker description, printed after the port."""
    for _ in range(300):
        m = re.search(r"worker\(s\) \((.*)\)", srv.log())
        if m:
            return m.group(1)
        time.sleep(0.05)
    raise Fail("no worker description in the server log")


def counts(text):
    """(zero-copy sends, copied sends, zero-copy sends the kernel copied)"""
    m = re.search(r"(\d+) zero-copy sends \((\d+) copied by the kernel\), (\d+) copied sends",
                  text)
    check(m, "no send counts in the summary")
    return int(m.group(1)), int(m.group(3)), int(m.group(2))


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nbdcopy_read(uri, out, data):
    subprocess.run(["nbdcopy", "--connections=4", uri, out], check=True, timeout=240)
    with open(out, "rb") as f:
        check(f.read() == data, "nbdcopy read back different bytes from " + uri)
    os.unlink(out)


def reads(w, img, data):
    srv = start(w, ["--threads", "2", img])
    desc = wait_start(srv)
    if "no SENDMSG_ZC" in desc:
        kill_servers()
        print("SKIP: %s: this kernel has no IORING_OP_SENDMSG_ZC (%s)" % (T, desc))
        sys.exit(77)
    check("zero-copy sends" in desc, "zero-copy not on by default: " + desc)
    nbdcopy_read("nbd://127.0.0.1:%d/" % srv.port, os.path.join(w, "back.bin"), data)
    zc, cp, kc = counts(srv.stop())
    check(zc > 0 and cp == 0, "TCP reads: %d zero-copy, %d copied sends" % (zc, cp))
    check(kc <= zc, "more kernel copies than zero-copy sends")
    log("TCP: nbdcopy read %d MiB equal, %d zero-copy sends (the kernel reported %d of them"
        " copied: loopback), %d copied" % (IMG_MB, zc, kc, cp))

    sock = os.path.join(w, "s.sock")
    srv = start(w, ["--threads", "1", "--unix", sock, img])
    wait_start(srv)
    nbdcopy_read("nbd+unix:///?socket=" + sock, os.path.join(w, "back.bin"), data)
    zc, cp, kc = counts(srv.stop())
    # Up to 6.12 the kernel refuses SENDMSG_ZC on AF_UNIX (no
    # SOCK_SUPPORT_ZC) and the server falls back; newer ones may take it.
    check((zc == 0) != (cp == 0), "AF_UNIX reads: %d zero-copy, %d copied sends" % (zc, cp))
    log("AF_UNIX: %s, %d zero-copy and %d copied sends, equal bytes"
        % ("the kernel takes SENDMSG_ZC" if zc else "falls back to copied sends", zc, cp))

    srv = start(w, ["--threads", "2", "--no-zerocopy", img])
    check("copied sends" in wait_start(srv), "--no-zerocopy not in the description")
    nbdcopy_read("nbd://127.0.0.1:%d/" % srv.port, os.path.join(w, "back.bin"), data)
    zc, cp, kc = counts(srv.stop())
    check(zc == 0 and cp > 0, "--no-zerocopy: %d zero-copy, %d copied sends" % (zc, cp))
    log("--no-zerocopy: %d copied sends, equal bytes" % cp)


def storm(w, img, data, binary, rounds):
    """Return the number of wrong replies seen (0 is right)."""
    srv = start(w, ["--threads", "1", "--pool", "8M", img], binary=binary)
    wait_start(srv)
    bad = [0]
    stop = threading.Event()

    def conn(rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(60)
        s.connect(("127.0.0.1", srv.port))
        c = Conn.__new__(Conn)
        c.s = s
        c.hello()
        c.go()
        return c

    def fast(c):
        # Regions 24..31 (2 MiB each); the slow ones read 0..23.
        i = 0
        while not stop.is_set():
            for k in range(2):
                c.request(CMD_READ, (24 + (i + k) % 8) * BUF, BUF, i + k)
            for k in range(2):
                err, ck = c.reply()
                off = (24 + ck % 8) * BUF
                if err or c.recv(BUF) != data[off:off + BUF]:
                    bad[0] += 1
            i += 2

    slow = [conn(64 << 10) for _ in range(3)]
    f = conn()
    th = threading.Thread(target=fast, args=(f,))
    th.start()
    try:
        for r in range(rounds):
            offs = [((r * 3 + j) % 24) * BUF for j in range(3)]
            for j, c in enumerate(slow):
                c.request(CMD_READ, offs[j], BUF, r * 3 + j)
            time.sleep(0.2)
            for j, c in enumerate(slow):
                err, _ = c.reply(r * 3 + j)
                got = b""
                while len(got) < BUF:
                    got += c.s.recv(min(64 << 10, BUF - len(got)))
                    time.sleep(0.002)
                if err or got != data[offs[j]:offs[j] + BUF]:
                    bad[0] += 1
    finally:
        stop.set()
        th.join()
    for c in slow + [f]:
        c.disc()
    srv.stop()
    return bad[0]


def measure(w, img, mb):
    """Alternate the modes, twice each, so that a change in the load of
    the machine during the run biases neither."""
    fast_bin = os.path.join(os.environ["HS_FAST_BIN"], "hugeslab-nbd")
    tot = {"zero-copy": [0.0, 0.0, 0], "copied": [0.0, 0.0, 0]}
    for _ in range(2):
        for mode, extra in (("zero-copy", []), ("copied", ["--no-zerocopy"])):
            srv = start(w, ["--threads", "2"] + extra + [img], binary=fast_bin)
            wait_start(srv)
            t0, c0 = time.monotonic(), cpu_s(srv.pid)
            done = 0
            while done < mb:
                subprocess.run(["nbdcopy", "--connections=4",
                                "nbd://127.0.0.1:%d/" % srv.port, "null:"],
                               check=True, timeout=240)
                done += IMG_MB
            c1, t1 = cpu_s(srv.pid), time.monotonic()
            zc, cp, kc = counts(srv.stop())
            check((zc > 0) == (mode == "zero-copy"), "%s: %d zero-copy sends" % (mode, zc))
            tot[mode][0] += c1 - c0
            tot[mode][1] += t1 - t0
            tot[mode][2] += done
    for mode, (cpu, secs, done) in tot.items():
        log("%s: server %.3f CPU s/GB over %d MiB read, %.0f MB/s"
            % (mode, cpu / (done * MB / 1e9), done, done * MB / 1e6 / secs))


def main():
    w = workdir()
    img = os.path.join(w, "a.img")
    data = os.urandom(IMG_MB * MB)
    with open(img, "wb") as f:
        f.write(data)
    reads(w, img, data)
    bad = storm(w, img, data, None, 8)
    check(bad == 0, "%d replies with wrong bytes: buffers recycled before the notification"
          % bad)
    log("storm on a 4-buffer pool, 3 slow readers + 1 fast: every byte right")
    broken = os.path.join(os.environ["HS_BROKEN_ZC_BIN"], "hugeslab-nbd")
    # 4 to 25 wrong replies in 8 rounds over seven runs: 16 rounds, so
    # that a run with none is not a matter of luck.
    bad = storm(w, img, data, broken, 16)
    check(bad > 0, "negative control: recycling at the send completion went unnoticed")
    log("negative control (buffers back at the send completion): %d wrong replies" % bad)
    measure(w, img, 512)
    os.unlink(img)


run(main)

# SPDX-License-Identifier: MIT
"""Durability, from a trace of the server's system calls (strace -f), not
from anything the server says about itself. A client writes (plain and
FUA), waits for each reply, then sends FLUSH; in the trace, between the
sendmsg() of the write's reply and the sendmsg() of the FLUSH's reply,
there must be an fdatasync() of the export that both started after the
write's reply and returned 0 before the FLUSH's reply.

The same check is run against build/broken-flush/hugeslab-nbd (aux.c
with NBD_TEST_BROKEN_FLUSH: the FLUSH reply goes out before fdatasync()),
and must catch it: the test proves it can fail, every time it runs."""
import os
import re
import struct
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

ROUNDS = 5


def reply_hex(cookie):
    b = struct.pack(">IIQ", REPLY_MAGIC, 0, cookie)
    return "".join("\\x%02x" % x for x in b)


def drive(srv):
    c = Conn(srv.port)
    c.hello()
    c.go()
    pairs = []
    for i in range(ROUNDS):
        wc, fc = 0x7700000000000000 + i, 0xF100000000000000 + i
        flags = FLAG_FUA if i % 2 else 0
        check(c.write(i << 20, os.urandom(1 << 20), wc, flags) == 0, "write")
        check(c.flush(fc) == 0, "flush")
        pairs.append((wc, fc))
    c.disc()
    return pairs


def verify(trace, pairs, img):
    """Return None when every FLUSH is covered, else the first violation."""
    lines = open(trace, errors="replace").read().splitlines()
    fd = None
    hexpath = "".join("\\x%02x" % x for x in img.encode())
    for l in lines:
        m = re.search(r'openat\(AT_FDCWD, "%s", [^)]*O_DIRECT[^)]*\) = (\d+)' % re.escape(hexpath), l)
        if m:
            fd = m.group(1)
    if fd is None:
        return "the export's open is not in the trace"
    exp_fd_re = re.escape(fd) + r"[) ]"
    syncs = []	# (start index, end index) of fdatasync() calls that returned 0
    open_at = {}
    for i, l in enumerate(lines):
        m = re.match(r"^(\d+)\s+(.*)$", l)
        if not m:
            continue
        pid, rest = m.groups()
        if rest.startswith("fdatasync(") and re.match(exp_fd_re, rest[10:]):
            if "<unfinished" in rest:
                open_at[pid] = i
            elif rest.endswith("= 0"):
                syncs.append((i, i))
        elif rest.startswith("<... fdatasync resumed>") and pid in open_at:
            if rest.endswith("= 0"):
                syncs.append((open_at[pid], i))
            del open_at[pid]

    def sent(cookie):
        h = reply_hex(cookie)
        for i, l in enumerate(lines):
            if "sendmsg(" in l and h in l:
                return i
        return None

    for wc, fc in pairs:
        w, f = sent(wc), sent(fc)
        if w is None or f is None:
            return "reply of %#x or %#x not in the trace" % (wc, fc)
        if not any(w < s and e < f for s, e in syncs):
            return "FLUSH %#x replied (line %d) with no fdatasync between the write reply (line %d) and it" % (fc, f + 1, w + 1)
    return None


def one(w, binary, name):
    img = sparse_file(w, name + ".img", 16 << 20)
    trace = os.path.join(w, name + ".trace")
    srv = Server(w, ["--threads", "2", "--pool", "16M", img], binary=binary,
                 wrap=["strace", "-f", "-qq", "-xx", "-s", "4096", "-o", trace,
                       "-e", "trace=openat,fdatasync,sendmsg"])
    pairs = drive(srv)
    srv.stop()
    return verify(trace, pairs, img)


def main():
    if not shutil.which("strace"):
        print("SKIP: strace not installed")
        sys.exit(77)
    w = workdir()
    bad = one(w, None, "good")
    check(bad is None, bad or "")
    log("%d FLUSH replies, each after an fdatasync() that began after the write's reply" % ROUNDS)
    broken = os.path.join(os.environ["HS_BROKEN_BIN"], "hugeslab-nbd")
    bad = one(w, broken, "broken")
    check(bad is not None, "the check missed the broken-flush build")
    log("negative control caught: " + bad)


run(main)

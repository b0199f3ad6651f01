# SPDX-License-Identifier: MIT
"""Each command on both kinds of export, a regular file and a block device
(a loop device, when losetup works here): WRITE with and without FUA,
READ, WRITE_ZEROES with and without NO_HOLE (the range reads back as
zeroes, its neighbours intact), TRIM (a hole in the file afterwards: the
punch really happened; the device just succeeds), FLUSH."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdraw import *  # noqa: E402,F403

MB = 1 << 20
K = 1 << 10


def exercise(c, name, path, is_file):
    c.hello()
    size, tflags, bs = c.go(name.encode())
    check(size == 16 * MB, "%s: size %d" % (name, size))
    a, b = os.urandom(MB), os.urandom(MB)
    check(c.write(0, a, 1) == 0, name + ": write")
    check(c.write(MB, b, 2, FLAG_FUA) == 0, name + ": FUA write")
    err, back = c.read(0, 2 * MB, 3)
    check(err == 0 and back == a + b, name + ": read back")
    c.request(CMD_WRITE_ZEROES, 4 * K, 64 * K, 4)
    check(c.reply(4)[0] == 0, name + ": WRITE_ZEROES")
    c.request(CMD_WRITE_ZEROES, MB + 8 * K, 16 * K, 5, FLAG_NO_HOLE | FLAG_FUA)
    check(c.reply(5)[0] == 0, name + ": WRITE_ZEROES NO_HOLE FUA")
    err, back = c.read(0, 2 * MB, 6)
    want = bytearray(a + b)
    want[4 * K:68 * K] = bytes(64 * K)
    want[MB + 8 * K:MB + 24 * K] = bytes(16 * K)
    check(err == 0 and back == bytes(want), name + ": zeroed ranges wrong")
    c.request(CMD_TRIM, 512 * K, 128 * K, 7)
    check(c.reply(7)[0] == 0, name + ": TRIM")
    check(c.flush(8) == 0, name + ": FLUSH")
    if is_file:
        fd = os.open(path, os.O_RDONLY)
        try:
            hole = os.lseek(fd, 512 * K, os.SEEK_HOLE)
        finally:
            os.close(fd)
        check(hole == 512 * K, "%s: no hole at 512 KiB after TRIM (next hole %d)" % (name, hole))
    # untouched by TRIM and the zeroes: still the data
    err, back = c.read(MB + 64 * K, 64 * K, 9)
    check(err == 0 and back == b[64 * K:128 * K], name + ": data after TRIM")
    c.disc()
    log("%s: WRITE, FUA, READ, WRITE_ZEROES (+NO_HOLE), TRIM, FLUSH ok" % name)


def main():
    w = workdir()
    img = sparse_file(w, "file.img", 16 * MB)
    back = sparse_file(w, "loop-backing.img", 16 * MB)
    loop = None
    try:
        loop = subprocess.run(["losetup", "-f", "--show", back], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        log("no loop device here: block device part skipped")
    try:
        args = ["--pool", "16M", "--name", "file", img]
        if loop:
            args += ["--name", "dev", loop]
        srv = Server(w, args)
        exercise(Conn(srv.port), "file", img, True)
        if loop:
            exercise(Conn(srv.port), "dev", loop, False)
        srv.stop()
    finally:
        kill_servers()	# a failed test's server must let go of the device
        if loop:
            subprocess.run(["losetup", "-d", loop], check=False)


run(main)

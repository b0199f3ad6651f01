# SPDX-License-Identifier: MIT
"""nbdraw.py: a raw-socket NBD client for the tests: it sends exactly the
bytes a test asks for, malformed ones included, and reads replies byte by
byte. Also starts and stops the server like lib.sh."""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

NBDMAGIC = 0x4e42444d41474943
IHAVEOPT = 0x49484156454f5054
REP_MAGIC = 0x3e889045565a9
REQ_MAGIC = 0x25609513
REPLY_MAGIC = 0x67446698
OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_INFO, OPT_GO = 1, 2, 3, 6, 7
OPT_STRUCTURED_REPLY = 8
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3
REP_ERR_UNSUP, REP_ERR_INVALID, REP_ERR_UNKNOWN = (1 << 31) | 1, (1 << 31) | 3, (1 << 31) | 6
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM, CMD_WRITE_ZEROES = 0, 1, 2, 3, 4, 6
FLAG_FUA, FLAG_NO_HOLE = 1, 2
EINVAL, ENOSPC, EPERM = 22, 28, 1

T = os.path.splitext(os.path.basename(sys.argv[0]))[0]


def log(msg):
    print("# %s: %s" % (T, msg), flush=True)


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def workdir():
    w = os.path.join(os.environ.get("HS_TMP", "/tmp/hs-nbd-test"), T)
    subprocess.run(["rm", "-rf", w], check=True)
    os.makedirs(w)
    return w


def sparse_file(w, name, size):
    """A new all-zero export of size bytes in w (a hole, no blocks)."""
    path = os.path.join(w, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


SERVERS = []


class Server:
    """hugeslab-nbd on a free loopback port; stderr in W/srv.err. A server
    still running when the test ends (it failed) is killed by run()."""

    def __init__(self, w, args, binary=None, wrap=()):
        SERVERS.append(self)
        self.w = w
        self.bin = binary or os.path.join(os.environ["HS_BIN"], "hugeslab-nbd")
        self.err = open(os.path.join(w, "srv.err"), "ab")
        cmd = list(wrap) + [self.bin, "--listen", "127.0.0.1:0", "--progress", "0"] + args
        env = dict(os.environ)
        if wrap:
            # LeakSanitizer cannot run under ptrace (strace)
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, env=env)
        line = self.p.stdout.readline()
        check(line.strip().isdigit(), "server did not print its port")
        self.port = int(line)
        self.pid = self.p.pid
        if wrap:
            # signals go to the server, not to the tracer
            with open("/proc/%d/task/%d/children" % (self.p.pid, self.p.pid)) as f:
                self.pid = int(f.read().split()[0])

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        self.p.wait()

    def stop(self, expect_clean=True):
        os.kill(self.pid, signal.SIGTERM)
        rc = self.p.wait(timeout=120)
        self.err.close()
        text = self.log()
        if expect_clean:
            check(rc == 0, "server exited %d" % rc)
            check(" 0 buffers held at exit" in text, "buffers held at exit")
            for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer",
                        "ThreadSanitizer"):
                check(bad not in text, "sanitizer report: " + bad)
        return text

    def log(self):
        with open(os.path.join(self.w, "srv.err"), "r", errors="replace") as f:
            return f.read()


class Conn:
    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, b):
        self.s.sendall(b)

    def recv(self, n):
        buf = b""
        while len(buf) < n:
            d = self.s.recv(n - len(buf))
            if not d:
                raise EOFError("closed after %d of %d bytes" % (len(buf), n))
            buf += d
        return buf

    def closed_by_server(self, timeout=10):
        """True when the server closes the connection (EOF or reset)."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def hello(self, cflags=3):
        magic, opt, hflags = struct.unpack(">QQH", self.recv(18))
        check(magic == NBDMAGIC and opt == IHAVEOPT and hflags == 3, "bad greeting")
        self.send(struct.pack(">I", cflags))

    def opt(self, o, data=b""):
        self.send(struct.pack(">QII", IHAVEOPT, o, len(data)) + data)

    def rep(self):
        magic, o, typ, n = struct.unpack(">QIII", self.recv(20))
        check(magic == REP_MAGIC, "bad option reply magic")
        return o, typ, self.recv(n)

    def go(self, name=b""):
        """NBD_OPT_GO; return (size, tflags, (min, pref, max))."""
        self.opt(OPT_GO, struct.pack(">I", len(name)) + name + struct.pack(">HH", 1, 3))
        size = bs = None
        while True:
            o, typ, d = self.rep()
            check(o == OPT_GO, "reply to another option")
            if typ == REP_ACK:
                break
            check(typ == REP_INFO, "GO failed: reply type %#x" % typ)
            info = struct.unpack(">H", d[:2])[0]
            if info == 0:
                size, tflags = struct.unpack(">QH", d[2:12])
            elif info == 3:
                bs = struct.unpack(">III", d[2:14])
        return size, tflags, bs

    def request(self, typ, off, length, cookie, flags=0, payload=b""):
        self.send(struct.pack(">IHHQQI", REQ_MAGIC, flags, typ, cookie, off, length) + payload)

    def reply(self, cookie=None):
        magic, err, ck = struct.unpack(">IIQ", self.recv(16))
        check(magic == REPLY_MAGIC, "bad reply magic")
        if cookie is not None:
            check(ck == cookie, "reply cookie %#x, expected %#x" % (ck, cookie))
        return err, ck

    def write(self, off, data, cookie=1, flags=0):
        self.request(CMD_WRITE, off, len(data), cookie, flags, data)
        return self.reply(cookie)[0]

    def read(self, off, length, cookie=2):
        self.request(CMD_READ, off, length, cookie)
        err, _ = self.reply(cookie)
        return err, (self.recv(length) if err == 0 else b"")

    def flush(self, cookie=3):
        self.request(CMD_FLUSH, 0, 0, cookie)
        return self.reply(cookie)[0]

    def disc(self):
        self.request(CMD_DISC, 0, 0, 0)
        self.s.close()

    def close(self):
        self.s.close()


def kill_servers():
    for srv in SERVERS:
        if srv.p.poll() is None:
            try:
                os.kill(srv.pid, signal.SIGKILL)	# the server, also under strace
            except ProcessLookupError:
                pass
            srv.p.kill()
            srv.p.wait()


def on_sigterm(signo, frame):
    raise Fail("killed by SIGTERM (the runner's timeout)")


def run(main):
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        main()
    except (Fail, EOFError, OSError, subprocess.TimeoutExpired) as e:
        print("FAIL: %s: %s" % (T, e), flush=True)
        kill_servers()
        sys.exit(1)
    sys.exit(0)

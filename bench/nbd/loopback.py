#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The machine's loopback TCP limit, in the same run as the servers: one
connection over 127.0.0.1, 1 MiB send(2)s into 1 MiB recv_into(2)s, no
copy in userspace on either side. Prints "MB/s" (10^6 bytes per second).

    loopback.py MIB
"""
import socket
import sys
import threading
import time

CHUNK = 1 << 20


def sink(srv, total, done):
    conn, _ = srv.accept()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    got = 0
    while got < total:
        n = conn.recv_into(view)
        if n == 0:
            break
        got += n
    conn.sendall(b"k")
    conn.close()
    done.append(got)


def main():
    total = int(sys.argv[1]) << 20
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    done = []
    t = threading.Thread(target=sink, args=(srv, total, done))
    t.start()
    cli = socket.create_connection(srv.getsockname())
    data = memoryview(bytearray(CHUNK))
    t0 = time.monotonic()
    sent = 0
    while sent < total:
        cli.sendall(data)
        sent += CHUNK
    # the receiver's ack: everything was received, not just queued
    cli.recv(1)
    t1 = time.monotonic()
    t.join()
    cli.close()
    srv.close()
    if not done or done[0] != total:
        sys.exit("loopback.py: received %s of %d bytes" % (done, total))
    print("%.1f" % (total / (t1 - t0) / 1e6))


if __name__ == "__main__":
    main()

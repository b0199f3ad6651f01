#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Page cache of one file: the workloads' page-cache growth is measured on
the backing file itself, so other processes on the machine do not count.

    filecache.py drop FILE       write back and evict FILE's cached pages
    filecache.py resident FILE   print FILE's resident bytes (mincore(2) via
                                 fincore(1))
"""
import os
import subprocess
import sys


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "drop":
        fd = os.open(path, os.O_RDONLY)
        try:
            # dirty pages cannot be evicted: write them back first
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    elif cmd == "resident":
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                             check=True, capture_output=True, text=True).stdout
        print(int(out.split()[0]))
    else:
        sys.exit("filecache.py: drop|resident FILE")


if __name__ == "__main__":
    main()

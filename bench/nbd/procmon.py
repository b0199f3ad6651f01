#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Measure one server process (and the children it forks) during a workload.

    procmon.py PID OUTFILE

Started before the workload, stopped with SIGTERM after it. Writes one line
"cpu_s<TAB>peak_rss_kib" to OUTFILE:

- cpu_s: user + system time of PID and all its threads, plus its reaped
  children (cutime/cstime: nbd-server forks one child per connection) and
  the children still alive at the end, from /proc/PID/stat, minus the same
  at the start.
- peak_rss_kib: the larger of PID's VmHWM (reset to the current RSS at the
  start by writing 5 to /proc/PID/clear_refs) and the highest sum of VmRSS
  over PID and its descendants seen by sampling every 20 ms (the children's
  own VmHWM dies with them).
"""
import os
import signal
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    # comm may contain spaces: fields start after the last ')'
    return s[s.rindex(")") + 2:].split()


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(stat_fields(int(d))[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def descendants(root):
    kids = children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def cpu_ticks(pid, with_reaped):
    f = stat_fields(pid)
    # fields 14-17 of stat(5): utime stime cutime cstime (0-based 11..14
    # after the comm)
    t = int(f[11]) + int(f[12])
    if with_reaped:
        t += int(f[13]) + int(f[14])
    return t


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def total_cpu(root):
    t = cpu_ticks(root, True)
    for c in descendants(root):
        try:
            t += cpu_ticks(c, False)
        except (OSError, ValueError, IndexError):
            pass
    return t


def main():
    root, outfile = int(sys.argv[1]), sys.argv[2]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    try:
        with open("/proc/%d/clear_refs" % root, "w") as f:
            f.write("5")
    except OSError:
        pass
    cpu0 = total_cpu(root)
    peak = 0
    while not stop:
        try:
            rss = status_kib(root, "VmRSS")
            for c in descendants(root):
                rss += status_kib(c, "VmRSS")
        except OSError:
            break
        peak = max(peak, rss)
        time.sleep(0.02)
    # let the parent reap the children of closed connections
    time.sleep(0.3)
    try:
        cpu1 = total_cpu(root)
        hwm = status_kib(root, "VmHWM")
    except OSError:
        cpu1, hwm = cpu0, 0
    with open(outfile, "w") as f:
        f.write("%.3f\t%d\n" % ((cpu1 - cpu0) / TICK, max(peak, hwm)))


if __name__ == "__main__":
    main()

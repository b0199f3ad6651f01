#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The guest's raw NBD results (bench/nbd/guest.sh) as bench/nbd/run.sh's
results directory, then its table (report.py).

    vmresults.py TESTS_LOG OUT

TESTS_LOG is the VM's serial log: the raw results are the base64 tar.gz
between "# nbd-results begin" and "# nbd-results end". They are unpacked
into OUT/raw; OUT/results.tsv and OUT/meta.tsv are written in run.sh's
format (OUT/host-meta.tsv, when there, is added to the meta), and
report.py writes OUT/results.md. Computed here, from the guest's samples:
  CPU s/GB    server tree's ticks (guest USER_HZ 100) / GB moved
  peak RSS    the larger of the tree's sampled RSS and the server's VmHWM
  page cache  Buffers + Cached - Shmem after the workload minus before
  verified    fio exited 0 (crc32c verify on the reads) and moved every byte
Exit status: report.py's (1 when a row is not verified), 1 when the log
has no results.
"""
import base64
import io
import json
import os
import re
import subprocess
import sys
import tarfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import fioparse  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = 100


def extract(log, raw):
    lines, on = [], False
    with open(log, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line == "# nbd-results begin":
                on, lines = True, []
            elif line == "# nbd-results end":
                on = False
                break
            elif on:
                lines.append(line)
    if not lines or on:
        return False
    data = base64.b64decode("".join(lines))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        t.extractall(raw, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(raw)
    return True


def read_words(path):
    try:
        with open(path) as f:
            return f.read().split()
    except OSError:
        return []


def pool_source(path):
    """Where hugeslab-nbd's pool came from, by its /proc/PID/maps lines: the
    module's VMAs belong to its file "/hugeslab" (module/backing.c), the
    library's fallback would map "/memfd:hugeslab"."""
    try:
        with open(path) as f:
            maps = [line.split(None, 5) for line in f]
    except OSError:
        return "pool: no maps recorded"
    dev = [m for m in maps if len(m) == 6 and re.match(r"(/dev)?/hugeslab( \(deleted\))?$", m[5].strip())]
    if dev:
        mib = sum(int(m[0].split("-")[1], 16) - int(m[0].split("-")[0], 16) for m in dev) >> 20
        return "pool from /dev/hugeslab (maps: %d MiB of %s)" % (mib, dev[0][5].strip())
    memfd = [m[5].strip() for m in maps if len(m) == 6 and "memfd" in m[5]]
    return "pool NOT from /dev/hugeslab (maps: %s)" % (memfd[0] if memfd else "no pool mapping")


def loopback_mbps(path):
    """The sender's MB/s of guest.sh's fio net-engine job, None if missing."""
    try:
        with open(path) as f:
            text = f.read()
        j = json.loads(text[text.index("{"):])
        snd = [x for x in j["jobs"] if x["jobname"] == "sender"][0]
        return snd["write"]["bw_bytes"] / 1e6 if snd["error"] == 0 and snd["write"]["io_bytes"] else None
    except (OSError, ValueError, KeyError, IndexError):
        return None


def conf_workloads(out):
    """name -> (rw, bs, jobs, qd, size) from the payload's nbd.conf."""
    wl, on = {}, False
    with open(os.path.join(out, "payload", "nbd.conf")) as f:
        for line in f:
            if line.startswith("WORKLOADS="):
                on, line = True, line[len("WORKLOADS=\""):]
            if on:
                p = line.strip().rstrip('"').split()
                if len(p) == 6:
                    wl[p[0]] = p[1:]
                if line.rstrip().endswith('"'):
                    break
    return wl


def main():
    log, out = sys.argv[1], sys.argv[2]
    raw = os.path.join(out, "raw")
    if not extract(log, raw):
        print("vmresults: no results in %s" % log, file=sys.stderr)
        return 1
    wl = conf_workloads(out)
    meta = {}
    with open(os.path.join(raw, "meta.tsv")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    rows, machine, servers = [], [], []
    reps = sorted((d for d in os.listdir(raw) if d.startswith("r") and d[1:].isdigit()), key=lambda d: int(d[1:]))
    for rd in reps:
        rep = rd[1:]
        lb = loopback_mbps(os.path.join(raw, rd, "loopback.json"))
        if lb:
            machine.append("machine\tloopback_tcp_mbps\t%.1f\t%s" % (lb, rep))
        for srv in sorted(os.listdir(os.path.join(raw, rd))):
            d = os.path.join(raw, rd, srv)
            if not os.path.isdir(d):
                continue
            if srv != "odirect" and srv not in servers:
                servers.append(srv)
            for name, (rw, bs, jobs, qd, size) in wl.items():
                js = os.path.join(d, name + ".json")
                if not os.path.exists(js):
                    continue
                ddir = "read" if rw.endswith("read") else "write"
                rc = read_words(os.path.join(d, name + ".rc"))
                try:
                    nbytes, mbps, p50, p99, err, depth = fioparse.parse(js, ddir)
                except (ValueError, KeyError, IndexError):
                    nbytes, mbps, p50, p99, err, depth = 0, 0, 0, 0, 1, "0"
                ok = rc == ["0"] and err == 0 and nbytes == int(jobs) * int(size)
                cpugb = rss = "-"
                mon = read_words(os.path.join(d, name + ".mon"))
                if srv != "odirect" and len(mon) == 3:
                    gb = nbytes / 1e9
                    cpugb = "%.2f" % (int(mon[0]) / TICK / gb if gb else 0)
                    rss = "%.1f" % (max(int(mon[1]), int(mon[2])) / 1024)
                elif srv != "odirect":
                    ok = False
                c = read_words(os.path.join(d, name + ".cache"))
                growth = "%.1f" % ((int(c[1]) - int(c[0])) / 1024) if len(c) == 2 else "-"
                rows.append("\t".join(["row", srv, name, "%.1f" % mbps, cpugb, "%.1f" % p50, "%.1f" % p99, rss,
                                       growth, "yes" if ok else "no", str(nbytes), jobs, qd, bs, rep, depth]))
    io_of = {"hugeslab-nbd": "O_DIRECT, io_uring, pool buffers",
             "nbd-server": "buffered, fsync on FLUSH",
             "nbdkit": "file plugin cache=none (buffered + fadvise)",
             "qemu-nbd": "--cache=none (O_DIRECT) --aio=io_uring"}
    pool = pool_source(os.path.join(raw, reps[-1] if reps else "r1", "hugeslab-nbd", "maps"))
    with open(os.path.join(out, "results.tsv"), "w") as f:
        f.write("row\tserver\tworkload\tmbps\tcpu_s_per_gb\tp50_us\tp99_us\tpeak_rss_mib\tcache_growth_mib"
                "\tverified\tbytes\tjobs\tqd\tbs\trep\tdepth\n")
        for line in machine + rows:
            f.write(line + "\n")
        for s in servers:
            desc = io_of.get(s, "?") + ("; " + pool if s == "hugeslab-nbd" else "")
            f.write("server\t%s\t-\t%s\n" % (s, desc))
    with open(os.path.join(out, "meta.tsv"), "w") as f:
        f.write("meta\twhere\tVM, qemu TCG, guest kernel %s, %s vCPUs, %s; %s\n" % (
            meta.get("kernel"), meta.get("cpus"), meta.get("mem"), meta.get("disk")))
        f.write("meta\tmodule\thugeslab.ko loaded: %s; hugeslab-nbd %s\n" % (meta.get("module"), pool))
        f.write("meta\tsizes\t%s\n" % meta.get("note"))
        f.write("meta\tpool_mib\t%s\n" % meta.get("pool_mib"))
        f.write("meta\tloopback\tfio net engine, one connection\n")
        f.write("meta\tguest_loadavg\t%s .. %s\n" % (meta.get("loadavg_start"), meta.get("loadavg_end")))
        hm = os.path.join(out, "host-meta.tsv")
        if os.path.exists(hm):
            with open(hm) as g:
                f.write(g.read())
    return subprocess.call([sys.executable, os.path.join(HERE, "report.py"), out])


if __name__ == "__main__":
    sys.exit(main())

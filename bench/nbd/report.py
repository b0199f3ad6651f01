#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tables and checks from a bench/nbd/run.sh results directory.

    report.py DIR                   write DIR/results.md, print it
    report.py --smoke DIR --servers LIST
                                    sanity checks of a smoke run (rows
                                    present, data verified, clients ok),
                                    never speed; "N passed, N failed"

Every ratio is against a baseline of the same run: "vs O_DIRECT" is fio
O_DIRECT on the same file at the same depth, "vs best peer" the fastest of
nbd-server, nbdkit and qemu-nbd on the same workload.
"""
import os
import sys

WORKLOADS = ["seqwrite", "seqread", "randwrite", "randread", "stormwrite", "stormread"]
PEERS = ["nbd-server", "nbdkit", "qemu-nbd"]
COLS = ["mbps", "cpu_s_per_gb", "p50_us", "p99_us", "peak_rss_mib", "cache_growth_mib",
        "verified", "bytes", "jobs", "qd", "bs"]
POOL_MIB = 256


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def aggregate(reps):
    """One row from its repetitions: medians, the maximum of peak RSS, and
    verified only if every repetition was."""
    out = dict(reps[0])
    for k in ("mbps", "cpu_s_per_gb", "p50_us", "p99_us", "cache_growth_mib", "peak_rss_mib"):
        xs = [num(r[k]) for r in reps if num(r[k]) is not None]
        if not xs:
            continue
        v = max(xs) if k == "peak_rss_mib" else median(xs)
        out[k] = "%.2f" % v if k == "cpu_s_per_gb" else "%.1f" % v
    mb = [num(r["mbps"]) for r in reps if num(r["mbps"]) is not None]
    out["mbps_range"] = "%.0f-%.0f" % (min(mb), max(mb)) if len(mb) > 1 else ""
    out["reps"] = len(reps)
    bad = [r["verified"] for r in reps if r["verified"] != "yes"]
    out["verified"] = bad[0] if bad else "yes"
    return out


def load(d):
    raw, mach, skips, servers, clients, meta = {}, {}, {}, {}, [], []
    with open(os.path.join(d, "results.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "row" and p[1] != "server":
                r = dict(zip(COLS, p[3:]))
                rep = p[3 + len(COLS)] if len(p) > 3 + len(COLS) else "1"
                # the deepest queue fio had in flight (fioparse.py)
                r["depth"] = p[4 + len(COLS)] if len(p) > 4 + len(COLS) else "?"
                raw[(p[1], p[2], rep)] = r
            elif p[0] == "machine":
                mach.setdefault(p[1], []).append(num(p[2]) or 0)
            elif p[0] == "skip":
                skips[p[1]] = p[2]
            elif p[0] == "server":
                servers[p[1]] = p[3]
    # A write is verified only by its read-back in the same repetition: the
    # read checks the crc32c headers the write laid down.
    for (s, w, rep), r in raw.items():
        rd = raw.get((s, w.replace("write", "read"), rep))
        if w.endswith("write") and (rd is None or rd["verified"] != "yes"):
            r["verified"] = "no (read-back)" if r["verified"] == "yes" else r["verified"]
    groups = {}
    for (s, w, rep), r in sorted(raw.items()):
        groups.setdefault((s, w), []).append(r)
    rows = {k: aggregate(v) for k, v in groups.items()}
    machine = {k: "%.1f" % median(v) for k, v in mach.items()}
    path = os.path.join(d, "clients.tsv")
    if os.path.exists(path):
        with open(path) as f:
            clients = [line.rstrip("\n").split("\t")[1:] for line in f if line.startswith("client\t")]
    path = os.path.join(d, "meta.tsv")
    if os.path.exists(path):
        with open(path) as f:
            meta = [line.rstrip("\n").split("\t")[1:] for line in f]
    return rows, machine, skips, servers, clients, meta


def depth_bucket(qd):
    """fio's iodepth_level bucket that a queue depth of qd falls in."""
    q = int(num(qd) or 0)
    return ">=64" if q >= 64 else str(max([b for b in (1, 2, 4, 8, 16, 32) if b <= q] or [0]))


def ratio(a, b):
    a, b = num(a), num(b)
    if a is None or not b:
        return "-"
    return "%.2f×" % (a / b)


def table(d):
    rows, machine, skips, servers, clients, meta = load(d)
    pool_mib = int(dict((m[0], m[1]) for m in meta if len(m) > 1).get("pool_mib", POOL_MIB))
    out = ["# NBD servers side by side", ""]
    for m in meta:
        out.append("- %s: %s" % (m[0], " ".join(m[1:])))
    nrep = max([r["reps"] for r in rows.values()] or [1])
    out.append("- repetitions: %d, competitors interleaved; medians, peak RSS the maximum" % nrep)
    out.append("- loopback TCP (one connection): %s MB/s" % machine.get("loopback_tcp_mbps", "?"))
    for s, io in servers.items():
        out.append("- %s: %s" % (s, io))
    for s, why in skips.items():
        out.append("- %s: skipped (%s)" % (s, why))
    out += ["",
            "| workload | server | MB/s (range) | vs O_DIRECT | vs best peer | CPU s/GB | p50 ms | p99 ms "
            "| peak RSS MiB | page cache MiB | verified |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    order = ["odirect", "hugeslab-nbd"] + PEERS
    for w in WORKLOADS:
        peers = [num(rows[(p, w)]["mbps"]) for p in PEERS if (p, w) in rows]
        best = max([x for x in peers if x] or [0])
        base = rows.get(("odirect", w), {}).get("mbps", "0")
        for s in order:
            r = rows.get((s, w))
            if not r:
                continue
            name = "fio O_DIRECT (machine)" if s == "odirect" else s
            lat = ["%.2f" % (num(r[k]) / 1000) if num(r[k]) is not None else "-" for k in ("p50_us", "p99_us")]
            mbps = r["mbps"] + (" (%s)" % r["mbps_range"] if r.get("mbps_range") else "")
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                w, name, mbps, "1.00×" if s == "odirect" else ratio(r["mbps"], base),
                "-" if s == "odirect" else ratio(r["mbps"], best),
                r["cpu_s_per_gb"], lat[0], lat[1], r["peak_rss_mib"], r["cache_growth_mib"], r["verified"]))
    geo = {w: rows.get(("odirect", w)) for w in WORKLOADS}
    out += ["", "Geometry: " + "; ".join(
        "%s %s jobs × QD %s × %s KiB" % (w, g["jobs"], g["qd"], int(g["bs"]) // 1024)
        for w, g in geo.items() if g)]
    out += ["", "Queue depth fio reached (its iodepth_level buckets), per server: " + "; ".join(
        "%s %s" % (w, ", ".join("%s %s" % ("O_DIRECT" if s == "odirect" else s, rows[(s, w)]["depth"])
                                for s in order if (s, w) in rows))
        for w in ("stormwrite", "stormread") if any((s, w) in rows for s in order))]
    if clients:
        out += ["", "| client | server | result | detail |", "|---|---|---|---|"]
        out += ["| %s |" % " | ".join(c) for c in clients]
    h = "hugeslab-nbd"
    if any(k[0] == h for k in rows):
        out += ["", "Goals (ratios from this run):"]
        for w in ("seqwrite", "stormwrite"):
            r = rows.get((h, w))
            if not r:
                continue
            peers = {p: num(rows[(p, w)]["mbps"]) for p in PEERS if (p, w) in rows}
            bp = max(peers, key=lambda p: peers[p] or 0) if peers else None
            out.append("- %s: %s vs best peer (%s, goal ≥ 1.0×), %s vs O_DIRECT (goal ≥ 0.8×)" % (
                w, ratio(r["mbps"], peers.get(bp)), bp,
                ratio(r["mbps"], rows.get(("odirect", w), {}).get("mbps", "0"))))
        r = rows.get((h, "stormwrite"))
        if r:
            out.append("- storm peak RSS %s MiB (goal ≤ pool %d + 16 MiB), page-cache growth %s MiB (goal 0); "
                       "peers: %s" % (r["peak_rss_mib"], pool_mib, r["cache_growth_mib"], ", ".join(
                           "%s %s MiB" % (p, rows[(p, "stormwrite")]["peak_rss_mib"])
                           for p in PEERS if (p, "stormwrite") in rows)))
    text = "\n".join(out) + "\n"
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write(text)
    print(text, end="")
    # make bench fails when any server's data or any client failed
    bad = [k for k, r in rows.items() if r["verified"] != "yes"] + [c for c in clients if c[2] != "ok"]
    for x in bad:
        print("report: not verified: %s" % (x,), file=sys.stderr)
    return 1 if bad else 0


def smoke(d, servers):
    rows, machine, skips, started, clients, _ = load(d)
    res = []

    def check(name, ok, why=""):
        res.append(ok)
        print("%s - %s%s" % ("ok" if ok else "FAIL", name, "" if ok else ": " + why))

    check("machine: loopback TCP measured", (num(machine.get("loopback_tcp_mbps", "0")) or 0) > 0,
          str(machine))
    for s in ["odirect"] + servers:
        if skips.get(s) == "not available":
            print("ok - %s: not available # SKIP" % s)
            continue
        check("%s: started" % s, s == "odirect" or s in started, skips.get(s, "no server row"))
        for w in WORKLOADS:
            r = rows.get((s, w))
            if not r:
                check("%s %s: row present" % (s, w), False, "missing")
                continue
            bad = []
            if r["verified"] != "yes":
                bad.append("data not verified")
            if not (num(r["mbps"]) or 0) > 0:
                bad.append("MB/s %s" % r["mbps"])
            p50, p99 = num(r["p50_us"]) or 0, num(r["p99_us"]) or 0
            if not (0 < p50 <= p99):
                bad.append("p50 %s p99 %s" % (r["p50_us"], r["p99_us"]))
            if s != "odirect" and not ((num(r["peak_rss_mib"]) or 0) > 0 and num(r["cpu_s_per_gb"]) is not None):
                bad.append("RSS %s CPU %s" % (r["peak_rss_mib"], r["cpu_s_per_gb"]))
            if num(r["cache_growth_mib"]) is None:
                bad.append("page cache %s" % r["cache_growth_mib"])
            # the storm must really have had QD requests in flight
            if w.startswith("storm") and r["depth"] != depth_bucket(r["qd"]):
                bad.append("queue depth reached %s, asked %s" % (r["depth"], r["qd"]))
            check("%s %s: row present, data verified, figures sane" % (s, w), not bad, ", ".join(bad))
        if s != "odirect":
            mine = {c[0]: c for c in clients if c[1] == s}
            for c in ("nbdinfo", "nbdcopy", "qemu-img"):
                ok = c in mine and mine[c][2] == "ok"
                check("%s: %s handshake and verified round trip" % (s, c), ok,
                      " ".join(mine.get(c, ["missing"])))
    passed = sum(1 for r in res if r)
    print("%d passed, %d failed" % (passed, len(res) - passed))
    return 0 if passed == len(res) else 1


def main():
    a = sys.argv[1:]
    if a and a[0] == "--smoke":
        servers = a[a.index("--servers") + 1].split(",") if "--servers" in a else PEERS
        sys.exit(smoke(a[1], servers))
    sys.exit(table(a[0]))


if __name__ == "__main__":
    main()

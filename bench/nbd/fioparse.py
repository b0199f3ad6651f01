#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One fio JSON result (group_reporting: one merged job) as a TSV fragment:

    fioparse.py FILE read|write
    -> io_bytes <TAB> MB/s <TAB> p50_us <TAB> p99_us <TAB> error <TAB> depth

MB/s is fio's bandwidth (10^6 bytes/s); p50/p99 are completion latencies.
depth is the highest queue-depth bucket fio saw in use (its iodepth_level
table: 1, 2, 4, 8, 16, 32 or >=64), so a run can show it really reached
the depth it asked for. fio may print engine messages before the JSON:
they are skipped. vmresults.py imports parse().
"""
import json
import sys

DEPTHS = ["1", "2", "4", "8", "16", "32", ">=64"]


def parse(path, ddir):
    """(io_bytes, MB/s, p50_us, p99_us, error, depth) of one fio JSON file."""
    with open(path) as f:
        text = f.read()
    j = json.loads(text[text.index("{"):])
    job = j["jobs"][0]
    d = job[ddir]
    pct = d.get("clat_ns", {}).get("percentile", {})
    levels = job.get("iodepth_level", {})
    used = [k for k in DEPTHS if float(levels.get(k, 0)) > 0]
    return (d["io_bytes"], d["bw_bytes"] / 1e6, pct.get("50.000000", 0) / 1000,
            pct.get("99.000000", 0) / 1000, job["error"], used[-1] if used else "0")


def main():
    print("%d\t%.1f\t%.1f\t%.1f\t%d\t%s" % parse(sys.argv[1], sys.argv[2]))


if __name__ == "__main__":
    main()

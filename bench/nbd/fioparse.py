#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One fio JSON result (group_reporting: one merged job) as a TSV fragment:

    fioparse.py FILE read|write
    -> io_bytes <TAB> MB/s <TAB> p50_us <TAB> p99_us <TAB> error

MB/s is fio's bandwidth (10^6 bytes/s); p50/p99 are completion latencies.
fio may print engine messages before the JSON: they are skipped.
"""
import json
import sys


def main():
    path, ddir = sys.argv[1], sys.argv[2]
    with open(path) as f:
        text = f.read()
    j = json.loads(text[text.index("{"):])
    job = j["jobs"][0]
    d = job[ddir]
    pct = d.get("clat_ns", {}).get("percentile", {})
    p50 = pct.get("50.000000", 0) / 1000
    p99 = pct.get("99.000000", 0) / 1000
    print("%d\t%.1f\t%.1f\t%.1f\t%d" % (d["io_bytes"], d["bw_bytes"] / 1e6, p50, p99, job["error"]))


if __name__ == "__main__":
    main()

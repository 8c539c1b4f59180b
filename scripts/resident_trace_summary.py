#!/usr/bin/env python3
"""Where a resident session's step spends its time: summarises the CSV that ResidentTrace writes
(SPRNN_RESIDENT_TRACE_FILE=F sprnn bench session --session-kinds resident ...) as medians and p90s in µs.

    python3 scripts/resident_trace_summary.py F [F ...]

Kernel phases come from the GPU's %globaltimer, the round trip from the host's clock; the two clocks are not related,
so 'outside the kernel' is the host's round trip less the kernel's span of the same step."""
import csv
import sys
from collections import defaultdict

PHASES = [
    ("host round trip (post .. done seen)", lambda r, p: r["host_done"] - r["host_post"]),
    ("kernel span (posted seen .. done written)", lambda r, p: r["done_written"] - r["posted_seen"]),
    ("outside the kernel (round trip - span)", lambda r, p: (r["host_done"] - r["host_post"]) - (r["done_written"] - r["posted_seen"])),
    ("  CTA 0: copy x in, hand on", lambda r, p: r["handed_on"] - r["posted_seen"]),
    ("  last CTA sees the hand-on", lambda r, p: r["last_cta_go"] - r["handed_on"]),
    ("  CTA 0 warp 0: projection", lambda r, p: r["cta0_projected"] - r["handed_on"]),
    ("  last CTA warp 0: projection", lambda r, p: r["last_cta_projected"] - r["last_cta_go"]),
    ("  CTA 0: recurrent step (projected .. stepped)", lambda r, p: r["cta0_stepped"] - r["cta0_projected"]),
    ("  CTA 0 stepped .. done fence begins", lambda r, p: r["done_fence"] - r["cta0_stepped"]),
    ("  done fence and store", lambda r, p: r["done_written"] - r["done_fence"]),
    ("Java: the call .. its post (checks, staging)", lambda r, p: r["host_post"] - r["call_in"] if r.get("call_in") else None),
    ("Java: done seen .. the call returns (outputs, checks)", lambda r, p: r["call_out"] - r["host_done"] if r.get("call_out") else None),
    ("host: done seen .. next post", lambda r, p: r["host_post"] - p["host_done"] if p else None),
    ("kernel: done written .. next post seen", lambda r, p: r["posted_seen"] - p["done_written"] if p else None),
    ("kernel: step to step (done .. done)", lambda r, p: r["done_written"] - p["done_written"] if p else None),
]


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def main(files):
    sessions = defaultdict(list)
    for f in files:
        with open(f, newline="") as fh:
            for row in csv.DictReader(fh):
                r = {k: int(v) for k, v in row.items()}
                sessions[(f, r["session"])].append(r)
    for (f, sid), rows in sorted(sessions.items()):
        rows.sort(key=lambda r: r["step"])
        rows = [r for r in rows if all(r[k] > 0 for k in ("posted_seen", "handed_on", "done_written"))]
        if len(rows) < 100:
            continue  # a verification session: too few steps to say anything
        r0 = rows[0]
        pieces = sorted({r["piece"] for r in rows})
        print(f"\n{f} session {sid}: hidden {r0['hidden']}, batch {r0['batch']}, {len(rows)} steps, pieces of {pieces}")
        print(f"| phase | median µs | p90 µs |\n|---|---|---|")
        for name, fn in PHASES:
            vals = []
            for i, r in enumerate(rows[50:], 50):  # past the warm-up
                p = rows[i - 1] if rows[i - 1]["step"] == r["step"] - 1 else None
                v = fn(r, p)
                if v is not None:
                    vals.append(v / 1000.0)
            if vals:
                print(f"| {name} | {pct(vals, 0.5):.2f} | {pct(vals, 0.9):.2f} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])

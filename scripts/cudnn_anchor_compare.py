#!/usr/bin/env python3
"""cuda-cudnn as sprnn measures it against the team's independent cuDNN figures (issue 14).

    python3 scripts/cudnn_anchor_compare.py OUT/bench.csv

Reads the rows `sprnn bench --engines cuda-cudnn` appended (gpu-suite.sh PART cudnn-anchors), takes the fastest
cuda-cudnn row (any algorithm, fp16 or fp32) per hidden size and batch, and sets it beside the best cuDNN figure of
results/anchors/README.md (measured 2026-11-24 on an H100 80GB HBM3, rnn_relu, T 256, recurrent part only).
Prints a markdown table; exits 1 when a shape differs by more than 10% or has no row.
"""
import csv
import sys

# results/anchors/README.md, "Best baseline per configuration": at N <= 2304 the best is a cuDNN persistent kernel
ANCHORS = {  # (hidden, batch): (µs per step, which)
    (1152, 1): (1.14, "PERSIST_STATIC fp16"),
    (1152, 4): (2.94, "PERSIST_DYNAMIC fp32"),
    (1152, 16): (3.83, "PERSIST_STATIC fp16"),
    (2304, 1): (1.76, "PERSIST_DYNAMIC fp32"),
    (2304, 4): (4.39, "PERSIST_DYNAMIC fp32"),
    (2304, 16): (5.66, "PERSIST_STATIC fp16"),
}


def main(path):
    best = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row["engine"].startswith("cuda-cudnn") or row["cell"] != "rnn_relu" or row["steps"] != "256":
                continue
            key = (int(row["hidden"]), int(row["batch"]))
            us = float(row["recurrent_us_per_step_median"])
            if key not in best or us < best[key][0]:
                best[key] = (us, f'{row["engine"]} {row["precision"]}', row["recurrent_p10"], row["recurrent_p90"])
    bad = 0
    print("| hidden | batch | anchors µs/step (which) | sprnn cuda-cudnn µs/step (p10–p90, which) | sprnn / anchors | within 10% |")
    print("|---|---|---|---|---|---|")
    for key, (ref, which) in sorted(ANCHORS.items()):
        if key not in best:
            print(f"| {key[0]} | {key[1]} | {ref:.2f} ({which}) | no row | | **no** |")
            bad += 1
            continue
        us, name, p10, p90 = best[key]
        ratio = us / ref
        ok = abs(ratio - 1) <= 0.10
        bad += 0 if ok else 1
        print(f"| {key[0]} | {key[1]} | {ref:.2f} ({which}) | {us:.2f} ({float(p10):.2f}–{float(p90):.2f}, {name}) | "
              f"{ratio:.2f} | {'yes' if ok else '**no**'} |")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: cudnn_anchor_compare.py BENCH_CSV")
    sys.exit(main(sys.argv[1]))

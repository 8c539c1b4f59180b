#!/usr/bin/env python3
"""calibration_from_grid.py — the cost model's measured table from `sprnn bench grid` rows.

    python3 scripts/calibration_from_grid.py OUT.csv GRID.csv [GRID.csv ...]

Keeps the timed rows (us_per_step_median present, fp16 weights, the cost model's engines) and writes
engine,gates,hidden,batch,density,us_per_step with the source files, device and dates as '#' comments. Where a shape
was measured more than once the median is kept. The output is what CostModel reads from its resources
(sprnn-core/src/main/resources/org/sprnn/engine/h100-grid.csv).
"""
import csv
import statistics
import sys

GATES = {"rnn_relu": 1, "rnn_tanh": 1, "gru": 3, "lstm": 4}
ENGINES = {"cuda-sparse-persistent", "cuda-dense-persistent", "cuda-gemm", "cuda-spmm", "cuda-cudnn"}


def main(out, sources):
    rows, devices, dates, commits = {}, set(), [], set()
    for path in sources:
        with open(path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if r["engine"] not in ENGINES or r["precision"] != "fp16" or not r["us_per_step_median"]:
                    continue
                key = (r["engine"], GATES[r["cell"]], int(r["hidden"]), int(r["batch"]), float(r["density"]))
                rows.setdefault(key, []).append(float(r["us_per_step_median"]))
                devices.add(r["device"])
                dates.append(r["date"][:16])
                commits.add(r["commit"])
    with open(out, "w", encoding="utf-8") as f:
        f.write("# sprnn cost model calibration: recurrent us per step (median of the replays), fp16 weights, input 128,\n")
        f.write("# from `sprnn bench grid` on %s, %s .. %s, commit %s\n" % (", ".join(sorted(devices)), min(dates), max(dates),
                                                                      ", ".join(sorted(commits))))
        f.write("# made by scripts/calibration_from_grid.py from %s\n" % " ".join(sources))
        f.write("engine,gates,hidden,batch,density,us_per_step\n")
        for key in sorted(rows):
            f.write("%s,%d,%d,%d,%g,%.4g\n" % (key + (statistics.median(rows[key]),)))
    print("%d shapes x engines from %d files -> %s" % (len(rows), len(sources), out))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])

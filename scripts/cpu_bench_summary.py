#!/usr/bin/env python3
"""Turns the cpu engine's benchmark outputs into the figures of results/cpu/README.md.

Reads (from --dir, default results/cpu):
  jmh_engine.json  JMH -rf json of CpuEngineBenchmark   (score: us per timestep; methods sequence =
                   engine.run on float64 tensors, sequenceFloat = engine.runFloat on float32 tensors)
  jmh_copy.json    JMH -rf json of CopyBandwidthBenchmark (score: ms per copy of one 256 MiB array)
  jmh_vector_api.json  JMH -rf json of CpuEngineVectorApiBenchmark (optional; us per timestep; methods
                   vectorApiLoops and scalarLoops, or older files' vectorApi parameter)
  torch_cpu.json   scripts/bench_torch_cpu.py output    (us per timestep)
and writes results.csv (one row per measurement) and summary.md (the table), and prints the table.

Memory floor = bytes of the layer's nonzeros as the engine stores them (4-byte fp32 value + 2-byte
column index, W_ih and W_hh), streamed once per step, divided by the best measured copy bandwidth
(bytes read + bytes written per second).

    /usr/bin/python3 scripts/cpu_bench_summary.py
"""
import argparse
import csv
import json
import os
import statistics


def jmh(path):
    with open(path) as f:
        return json.load(f)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default="results/cpu")
    a = p.parse_args()
    d = a.dir

    hidden = inp = 2304
    density = 0.1
    nnz_per_matrix = hidden * max(1, round(density * inp))  # SyntheticModels: round(d*cols) per row
    weight_bytes = 2 * nnz_per_matrix * 6

    rows = []
    copy = jmh(os.path.join(d, "jmh_copy.json"))
    bandwidths = {}
    for b in copy:
        name = b["benchmark"].rsplit(".", 1)[1]
        threads = b["threads"]
        mib = int(b["params"]["megabytes"])
        ms = b["primaryMetric"]["score"]
        raw = [x for fork in b["primaryMetric"]["rawData"] for x in fork]
        best_ms = min(raw)
        moved = 2 * mib * 2**20 * threads  # read + written, every thread
        gbs = moved / (ms / 1e3) / 1e9
        gbs_best = moved / (best_ms / 1e3) / 1e9
        bandwidths[name] = (gbs, gbs_best)
        rows.append({"measurement": f"copy bandwidth ({threads} thread{'s' if threads > 1 else ''})",
                     "value": round(gbs, 2), "unit": "GB/s", "spread": f"best iteration {gbs_best:.2f} GB/s",
                     "config": f"System.arraycopy of {mib} MiB float[] per thread, {threads} thread(s)"})
    best_bw = max(v[0] for v in bandwidths.values())
    floor_us = weight_bytes / best_bw / 1e3  # bytes / (GB/s) = ns -> us
    rows.append({"measurement": "memory floor per step", "value": round(floor_us, 1), "unit": "us",
                 "spread": "", "config": f"{weight_bytes} bytes (2 x {nnz_per_matrix} nonzeros x 6 B) / {best_bw:.2f} GB/s"})

    torch_res = json.load(open(os.path.join(d, "torch_cpu.json")))
    torch_us = torch_res["us_per_step_median"]
    rows.append({"measurement": "PyTorch nn.RNN relu (dense-stored)", "value": round(torch_us, 1), "unit": "us/step",
                 "spread": f"min {torch_res['us_per_step_min']:.0f} max {torch_res['us_per_step_max']:.0f} over {torch_res['reps']} runs",
                 "config": f"torch {torch_res['torch']}, {torch_res['torch_threads']} thread(s), H={hidden} I={inp} B=4 T=256 d={density}"})

    table = ["| measurement | value | spread | vs PyTorch | vs floor |", "|---|---|---|---|---|"]
    api = {"sequence": "run(Tensor) float64 API", "sequenceFloat": "runFloat(FloatTensor) float32 API"}
    for b in jmh(os.path.join(d, "jmh_engine.json")):
        th = b["params"]["threads"]
        us = b["primaryMetric"]["score"]
        err = b["primaryMetric"]["scoreError"]
        raw = [x for fork in b["primaryMetric"]["rawData"] for x in fork]
        method = b["benchmark"].rsplit(".", 1)[1]
        rows.append({"measurement": f"sprnn cpu engine, {api.get(method, method)}, {th} thread(s)", "value": round(us, 1), "unit": "us/step",
                     "spread": f"±{err:.1f} (99.9% CI); iterations min {min(raw):.1f} median {statistics.median(raw):.1f} max {max(raw):.1f}",
                     "config": f"H={b['params']['hidden']} I={b['params']['inputSize']} B={b['params']['batch']} T=256 d={b['params']['density']}",
                     "speedup_vs_torch": round(torch_us / us, 1), "x_floor": round(us / floor_us, 2)})

    vpath = os.path.join(d, "jmh_vector_api.json")
    if os.path.exists(vpath):
        for b in jmh(vpath):
            us = b["primaryMetric"]["score"]
            raw = [x for fork in b["primaryMetric"]["rawData"] for x in fork]
            if "vectorApi" in b["params"]:  # files written before the benchmark moved to org.sprnn.bench
                vector = b["params"]["vectorApi"] == "true"
            else:  # one method per loop kind: vectorApiLoops, scalarLoops
                vector = b["benchmark"].endswith(".vectorApiLoops")
            loops = "Vector API" if vector else "scalar"
            rows.append({"measurement": f"sprnn cpu engine, {loops} loops, {b['params']['threads']} thread(s)",
                         "value": round(us, 1), "unit": "us/step",
                         "spread": f"±{b['primaryMetric']['scoreError']:.1f} (99.9% CI); iterations min {min(raw):.1f} max {max(raw):.1f}",
                         "config": f"H=2304 I=2304 B=4 T=256 d=0.1 (CpuEngineVectorApiBenchmark)"})

    fields = ["measurement", "value", "unit", "spread", "config", "speedup_vs_torch", "x_floor"]
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    for r in rows:
        table.append(f"| {r['measurement']} | {r['value']} {r['unit']} | {r['spread']} | "
                     f"{str(r.get('speedup_vs_torch', '')) + 'x faster' if 'speedup_vs_torch' in r else ''} | "
                     f"{str(r.get('x_floor', '')) + 'x the floor' if 'x_floor' in r else ''} |")
    text = "\n".join(table) + "\n"
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()

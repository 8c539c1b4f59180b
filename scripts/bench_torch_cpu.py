#!/usr/bin/env python3
"""PyTorch CPU baseline for the cpu engine's speed target (issue 2).

Times torch.nn.RNN(relu) on the same workload as sprnn-bench's CpuEngineBenchmark: input 2304,
hidden 2304, batch 4, 256 steps, W_ih and W_hh pruned to 10% (exactly round(0.1 * cols) nonzeros per
row at random columns, as SyntheticModels makes them) but stored dense, as PyTorch runs them. Uses
torch's default thread count. Prints one JSON object (also written to --out): the median, min and max
time per step over the repetitions, and the environment.

    /usr/bin/python3 scripts/bench_torch_cpu.py --out results/cpu/torch_cpu.json
"""
import argparse
import json
import math
import os
import platform
import statistics
import time

import torch


def pruned(rows, cols, density, gen):
    keep = max(1, round(density * cols))
    w = torch.zeros(rows, cols)
    scale = 1.0 / math.sqrt(cols * density)
    for r in range(rows):
        idx = torch.randperm(cols, generator=gen)[:keep]
        w[r, idx] = torch.randn(keep, generator=gen) * scale
    return w


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=2304)
    p.add_argument("--input", type=int, default=2304)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=256)
    p.add_argument("--density", type=float, default=0.1)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--out", default=None)
    a = p.parse_args()

    load_before = os.getloadavg()
    gen = torch.Generator().manual_seed(42)
    rnn = torch.nn.RNN(a.input, a.hidden, num_layers=1, nonlinearity="relu")
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(pruned(a.hidden, a.input, a.density, gen))
        rnn.weight_hh_l0.copy_(pruned(a.hidden, a.hidden, a.density, gen))
        rnn.bias_ih_l0.copy_(torch.randn(a.hidden, generator=gen) * 0.1)
        rnn.bias_hh_l0.copy_(torch.randn(a.hidden, generator=gen) * 0.1)
    inputs = [torch.rand(a.steps, a.batch, a.input, generator=gen) * 2 - 1 for _ in range(4)]

    per_step_us = []
    with torch.inference_mode():
        for i in range(a.warmup + a.reps):
            x = inputs[i % len(inputs)]
            t0 = time.perf_counter()
            y, h = rnn(x)
            dt = time.perf_counter() - t0
            assert torch.isfinite(y).all()
            if i >= a.warmup:
                per_step_us.append(dt / a.steps * 1e6)

    res = {
        "what": "torch.nn.RNN relu, dense-stored weights pruned to density, full-sequence forward / steps",
        "hidden": a.hidden, "input": a.input, "batch": a.batch, "steps": a.steps, "density": a.density,
        "reps": a.reps, "us_per_step_median": statistics.median(per_step_us),
        "us_per_step_min": min(per_step_us), "us_per_step_max": max(per_step_us),
        "us_per_step_all": per_step_us,
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
    }
    res["loadavg_before"] = load_before
    res["loadavg_after"] = os.getloadavg()
    text = json.dumps(res, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()

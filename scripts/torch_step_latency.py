#!/usr/bin/env python3
"""PyTorch's one-step call, for issue 17's session latency: what a user of nn.RNN / nn.LSTM pays per timestep when
feeding steps one at a time, beside PyTorch's own whole-sequence time per step.

Same workload as `sprnn bench session` on a synthetic layer: W_hh pruned to --density (exactly round(d * H) nonzeros
per row at random columns, N(0,1)/sqrt(H*d), as SyntheticModels makes them) but stored and multiplied dense, as
PyTorch does; W_ih dense, N(0,1)/sqrt(I); biases N(0, 0.1); inputs uniform in [-1, 1). For each cell, hidden size and
batch:

  step+sync  y, h = rnn(x_t, h) with x_t already on the device, then torch.cuda.synchronize(): --calls calls, each
             timed alone (time.perf_counter_ns) after --warmup untimed ones; median, p90, p99, max in microseconds.
  step+host  the same with x_t coming from a host tensor (.to(device)) and y copied back (.cpu()): the round trip
             that `sprnn bench session` times from Java (a Java array in, a Java array out).
  sequence   one call over --seq-steps steps (CUDA events on the GPU, perf_counter on the CPU), median of --seq-reps
             runs / T: PyTorch's whole-sequence time per step (cuDNN on the GPU where torch uses it).

The stepped outputs of the first 8 steps are checked against the whole-sequence call on the same input (the step
loop is what is timed, so it must compute the same thing). Prints a markdown table and appends rows to --out (CSV).
Runs on the CPU too (--device cpu), for testing without a GPU. Needs PyTorch (on the GPU machine: its python3).

    python3 scripts/torch_step_latency.py --device cuda --hidden 1152,2304 --batch 1,4 --out OUT/torch_step.csv
    /usr/bin/python3 scripts/torch_step_latency.py --device cpu --hidden 64 --batch 1 --calls 2000 --seq-steps 128
"""
import argparse
import csv
import datetime
import math
import os
import platform
import statistics
import sys
import time

import torch

HEADER = ["date", "device", "torch", "cudnn", "threads", "cell", "hidden", "input", "batch", "density", "dtype", "calls",
          "calls_timed", "warmup", "seed", "step_sync_us_median", "step_sync_us_p90", "step_sync_us_p99",
          "step_sync_us_max", "step_host_us_median", "step_host_us_p90", "step_host_us_p99", "step_host_us_max",
          "seq_steps", "seq_reps", "seq_us_per_step_median", "step_sync_over_seq", "step_check_rel_error", "note"]

MIN_CALLS = 20  # the fewest timed calls whatever --wall-seconds says (as sprnn bench session)
POOL = 8  # distinct step inputs rotated between calls


def pruned(rows, cols, density, gen):
    """A [rows][cols] matrix with exactly round(density * cols) nonzeros per row at random columns, as SyntheticModels."""
    keep = max(1, math.floor(density * cols + 0.5))  # Java's Math.round, not Python's round-half-even
    scale = 1.0 / math.sqrt(cols * density)
    cols_kept = torch.rand(rows, cols, generator=gen).argsort(dim=1)[:, :keep]
    w = torch.zeros(rows, cols)
    w.scatter_(1, cols_kept, torch.randn(rows, keep, generator=gen) * scale)
    return w


def build(cell, inp, hidden, density, gen):
    if cell == "rnn_relu":
        rnn, gates = torch.nn.RNN(inp, hidden, nonlinearity="relu"), 1
    elif cell == "rnn_tanh":
        rnn, gates = torch.nn.RNN(inp, hidden, nonlinearity="tanh"), 1
    elif cell == "gru":
        rnn, gates = torch.nn.GRU(inp, hidden), 3
    elif cell == "lstm":
        rnn, gates = torch.nn.LSTM(inp, hidden), 4
    else:
        raise ValueError(f"--cell: unknown cell '{cell}': expected rnn_relu, rnn_tanh, gru, lstm")
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.randn(gates * hidden, inp, generator=gen) / math.sqrt(inp))
        rnn.weight_hh_l0.copy_(pruned(gates * hidden, hidden, density, gen))
        rnn.bias_ih_l0.copy_(torch.randn(gates * hidden, generator=gen) * 0.1)
        rnn.bias_hh_l0.copy_(torch.randn(gates * hidden, generator=gen) * 0.1)
    return rnn


def quantile(samples, q):
    """Linear between neighbouring samples, as DeviceTimes.quantile."""
    s = sorted(samples)
    pos = q * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def rel_error(a, b):
    a, b = a.double().cpu(), b.double().cpu()
    den = b.norm().item()
    return (a - b).norm().item() / den if den else (a - b).norm().item()


def measure(a, cell, hidden, batch, dev, dtype, sync):
    inp = a.input or hidden
    gen = torch.Generator().manual_seed(a.seed + 31 * batch + hidden)
    rnn = build(cell, inp, hidden, a.density, gen).to(dev, dtype)
    if dev.type == "cuda":
        rnn.flatten_parameters()

    def uniform(*shape):
        return (torch.rand(*shape, generator=gen) * 2 - 1).to(dtype)

    def state():
        h = uniform(1, batch, hidden).to(dev)
        return (h, uniform(1, batch, hidden).to(dev)) if cell == "lstm" else h

    budget = a.wall_seconds * 1e9
    row = {"cell": cell, "hidden": hidden, "input": inp, "batch": batch}
    with torch.inference_mode():
        # the step loop computes what the whole sequence does (first 8 steps)
        xv = uniform(8, batch, inp).to(dev)
        h0 = state()
        y_seq, _ = rnn(xv, h0)
        h, ys = h0, []
        for t in range(8):
            y, h = rnn(xv[t:t + 1], h)
            ys.append(y)
        row["step_check_rel_error"] = rel_error(torch.cat(ys), y_seq)

        xs = [uniform(1, batch, inp).to(dev) for _ in range(POOL)]
        xs_host = [x.cpu() for x in xs]
        notes = []
        for mode in ("sync", "host"):
            h = state()
            start = time.perf_counter_ns()
            for w in range(a.warmup):
                if time.perf_counter_ns() - start > budget / 4:
                    break
                y, h = rnn(xs[w % POOL], h)
            sync()
            us = []
            while len(us) < a.calls and (len(us) < MIN_CALLS or time.perf_counter_ns() - start < budget):
                k = len(us) % POOL
                if mode == "sync":
                    t0 = time.perf_counter_ns()
                    y, h = rnn(xs[k], h)
                    sync()
                    t1 = time.perf_counter_ns()
                else:
                    t0 = time.perf_counter_ns()
                    y, h = rnn(xs_host[k].to(dev), h)
                    y = y.cpu()  # waits for the step: the outputs are then in host memory
                    t1 = time.perf_counter_ns()
                us.append((t1 - t0) / 1e3)
            finite = bool(torch.isfinite(y).all())
            if not finite:
                notes.append(f"step+{mode}: non-finite outputs after {len(us)} calls")
            if len(us) < a.calls:
                notes.append(f"step+{mode}: {len(us)} of {a.calls} calls (time budget)")
            for q, name in ((0.5, "median"), (0.9, "p90"), (0.99, "p99"), (1.0, "max")):
                row[f"step_{mode}_us_{name}"] = quantile(us, q)
            row["calls_timed"] = min(row.get("calls_timed", len(us)), len(us))

        # the whole sequence, two input sets rotated, from the same initial states
        sets = [uniform(a.seq_steps, batch, inp).to(dev) for _ in range(2)]
        h0 = state()
        for w in range(3):
            rnn(sets[w % 2], h0)
        sync()
        per_step = []
        for r in range(a.seq_reps):
            if dev.type == "cuda":
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                e0.record()
                rnn(sets[r % 2], h0)
                e1.record()
                e1.synchronize()
                per_step.append(e0.elapsed_time(e1) * 1e3 / a.seq_steps)
            else:
                t0 = time.perf_counter_ns()
                rnn(sets[r % 2], h0)
                per_step.append((time.perf_counter_ns() - t0) / 1e3 / a.seq_steps)
        row["seq_us_per_step_median"] = statistics.median(per_step)
        row["step_sync_over_seq"] = row["step_sync_us_median"] / row["seq_us_per_step_median"]
        row["note"] = "; ".join(notes)
    return row


def check_csv(path):
    """Refuses, before any work, a file whose first line is another header (as sprnn's CsvRow): rows under wrong names."""
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path, newline="") as f:
            first = f.readline().rstrip("\r\n")
        if first != ",".join(HEADER):
            sys.exit(f"torch_step_latency.py: {path}: holds rows of another layout (its header differs); give a new --out")


def append_csv(path, rows):
    """Appends rows under HEADER, writing it where the file is new."""
    check_csv(path)
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()})


def positive_ints(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'")
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"each must be >= 1, got '{text}'")
    return values


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog="Example: python3 scripts/torch_step_latency.py --hidden 1152,2304 --batch 1,4 --out torch_step.csv")
    p.add_argument("--device", default="cuda", help="cuda or cpu (default: cuda)")
    p.add_argument("--cell", default="rnn_relu,lstm", help="cells, comma-separated: rnn_relu, rnn_tanh, gru, lstm (default: rnn_relu,lstm)")
    p.add_argument("--hidden", type=positive_ints, default=[1152, 2304], help="hidden sizes (default: 1152,2304)")
    p.add_argument("--input", type=int, default=None, help="input size I (default: H, as sprnn bench session)")
    p.add_argument("--batch", type=positive_ints, default=[1, 4], help="batch sizes (default: 1,4)")
    p.add_argument("--density", type=float, default=0.1, help="W_hh density in (0,1] (default: 0.1)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"], help="weights and data (default: float32)")
    p.add_argument("--calls", type=int, default=10000, help="timed one-step calls (default: 10000)")
    p.add_argument("--warmup", type=int, default=500, help="untimed one-step calls first (default: 500)")
    p.add_argument("--seq-steps", type=int, default=1024, help="T of the whole-sequence call (default: 1024)")
    p.add_argument("--seq-reps", type=int, default=20, help="timed whole-sequence calls (default: 20)")
    p.add_argument("--wall-seconds", type=float, default=60, help="each step loop stops after this (at least 20 calls; default: 60)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None, help="append rows to this CSV file")
    a = p.parse_args()
    cells = [c.strip() for c in a.cell.split(",") if c.strip()]
    for c in cells:
        if c not in ("rnn_relu", "rnn_tanh", "gru", "lstm"):
            p.error(f"--cell: unknown cell '{c}': expected rnn_relu, rnn_tanh, gru, lstm")
    if not (0 < a.density <= 1):
        p.error(f"--density: must be in (0, 1], got {a.density}")
    if a.calls < 1 or a.warmup < 0 or a.seq_steps < 1 or a.seq_reps < 1 or not (a.wall_seconds > 0):
        p.error("--calls >= 1, --warmup >= 0, --seq-steps >= 1, --seq-reps >= 1, --wall-seconds > 0")
    if a.input is not None and a.input < 1:
        p.error(f"--input: must be >= 1, got {a.input}")
    if a.device not in ("cuda", "cpu"):
        p.error(f"--device: expected cuda or cpu, got '{a.device}'")
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_step_latency.py: --device cuda: PyTorch sees no GPU here (torch " + torch.__version__ + "); use --device cpu")
    if a.out:
        check_csv(a.out)
    dev = torch.device(a.device)
    dtype = getattr(torch, a.dtype)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else (platform.processor() or platform.machine()) + f", {os.cpu_count()} cores"
    cudnn = str(torch.backends.cudnn.version()) if dev.type == "cuda" and torch.backends.cudnn.is_available() else "none"
    common = {"date": None, "device": name, "torch": torch.__version__, "cudnn": cudnn, "threads": torch.get_num_threads(),
              "density": a.density, "dtype": a.dtype, "calls": a.calls, "warmup": a.warmup, "seed": a.seed,
              "seq_steps": a.seq_steps, "seq_reps": a.seq_reps}
    print(f"PyTorch {torch.__version__} on {name} (cuDNN {cudnn}, {torch.get_num_threads()} threads), {a.dtype}, W_hh density "
          f"{a.density} stored dense; {a.calls} one-step calls after {a.warmup} warm-up; whole sequence T {a.seq_steps}, "
          f"{a.seq_reps} runs", flush=True)
    rows, bad = [], 0
    for cell in cells:
        for hidden in a.hidden:
            for batch in a.batch:
                r = {**common, **measure(a, cell, hidden, batch, dev, dtype, sync)}
                r["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
                rows.append({k: r.get(k) for k in HEADER})
                # TF32 (cuDNN's default for RNNs on the GPU) and fp16 round differently step by step than in one call
                if not r["step_check_rel_error"] <= (1e-2 if a.dtype == "float32" else 5e-2):
                    bad += 1
                print(f"{cell} H {hidden} B {batch}: step+sync median {r['step_sync_us_median']:.2f} us, p99 "
                      f"{r['step_sync_us_p99']:.2f}; step+host median {r['step_host_us_median']:.2f}; whole sequence "
                      f"{r['seq_us_per_step_median']:.2f} us/step; step check {r['step_check_rel_error']:.1e}", flush=True)
                if a.out:
                    append_csv(a.out, [rows[-1]])
    print()
    print("| cell | hidden | batch | step+sync µs median | p90 | p99 | max | step+host µs median | p99 | whole sequence µs/step "
          "(T) | step+sync / sequence | step check | note |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['cell']} | {r['hidden']} | {r['batch']} | {r['step_sync_us_median']:.2f} | {r['step_sync_us_p90']:.2f} | "
              f"{r['step_sync_us_p99']:.2f} | {r['step_sync_us_max']:.2f} | {r['step_host_us_median']:.2f} | "
              f"{r['step_host_us_p99']:.2f} | {r['seq_us_per_step_median']:.2f} ({r['seq_steps']}) | "
              f"{r['step_sync_over_seq']:.2f} | {r['step_check_rel_error']:.1e} | {r['note']} |")
    if a.out:
        print(f"rows appended to {a.out}")
    if bad:
        sys.exit(f"torch_step_latency.py: {bad} shape(s) where the step loop disagreed with the whole-sequence call")


if __name__ == "__main__":
    main()

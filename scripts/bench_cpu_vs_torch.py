#!/usr/bin/python3
"""sprnn's `cpu` engine against PyTorch on the CPU, dense and sparse, side by side on one machine (issue 15).

One command re-measures everything (Debian's python3 with torch 1.13 CPU and numpy; JDK 25 and Maven for sprnn):

    /usr/bin/python3 scripts/bench_cpu_vs_torch.py --out-dir results/cpu/torch-side-by-side

It makes one pruned ReLU RNN layer (PyTorch's state-dict names weight_ih_l0, weight_hh_l0, bias_ih_l0,
bias_hh_l0; exactly round(density * cols) nonzeros in every row of W_ih and W_hh, random positions) and one
input x [T][B][I] float32, saves both (model.npz, x.npy), and then, in each of --rounds rounds, times on those
same weights and inputs, one after the other:

  sprnn-cpu     `sprnn bench --model model.npz --cell rnn_relu --input x.npy --engines cpu` (the CLI;
                the cpu engine at its default threads, all processors); µs/step = bench.csv's
                full_us_per_step_median: wall clock around whole Engine.run calls, input projection and
                float64 conversion of input and output included (for the cpu engine the recurrent column
                holds the same samples)
  torch-dense   torch.nn.RNN(nonlinearity='relu') under torch.no_grad(), weights pruned but stored dense
  torch-sparse  W_ih and W_hh as torch sparse CSR tensors; the input projection of the whole sequence in one
                sparse product (as nn.RNN and sprnn do it), then a Python loop over the steps:
                h = relu(xp_t + b_ih + W_hh h + b_hh) with torch.addmm(bias, W_hh_csr, h)
                (torch.sparse.mm and the @ operator measured the same on CSR in torch 1.13)
  torch-sparse-coo  the same loop on torch.sparse_coo tensors (only with --contenders naming it)

PyTorch runs at its default thread count (torch.get_num_threads(), recorded); where that is below the number
of processors, each torch contender runs once more at that number (rows torch-dense-Nt, torch-sparse-Nt, ...), so
that sprnn's all-processor figure has a torch figure at the same thread count beside it. Each contender is
timed as the median of --reps whole-sequence runs after --warmup untimed ones (sprnn: its own --reps/--warmup),
in µs per step. The contenders alternate in every round; `uptime` and any other java/maven process are logged
before and after each round.

Before timing, all outputs are checked against a float64 numpy evaluation of the same layer over all T steps
(sprnn's output from `sprnn run --engine cpu`): relative L2 error (sprnn's Accuracy.relativeError) and
max |out - ref| / max |ref|.

sprnn is built once through the launcher (./sprnn, which builds on first use) before the rounds; the built jar
is copied into the work folder and every round runs that copy with the launcher's java options, so that a
source change by someone else during the session cannot trigger a rebuild between rounds.

Writes into --out-dir: rounds.csv (one row per contender and round), accuracy.csv, summary.json, console.log
(everything printed, also the sprnn console), and the sprnn bench folders (sprnn_round*/bench.csv).
"""
import argparse
import csv
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG = None


def log(*parts):
    line = " ".join(str(p) for p in parts)
    print(line, flush=True)
    if LOG is not None:
        LOG.write(line + "\n")
        LOG.flush()


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, **kw)


def others():
    """java/maven processes other than this script's own (the machine should be quiet)."""
    return [l for l in sh(["pgrep", "-fa", r"maven|surefire|\.ci/run|java"]).stdout.splitlines()
            if "bench_cpu_vs_torch" not in l]


def machine_state(tag):
    """Logs uptime and any other java/maven process; returns (uptime, load1, number of others)."""
    up = sh("uptime").stdout.strip()
    others_now = others()
    log(f"[{tag}] {time.strftime('%H:%M:%S', time.gmtime())} UTC uptime: {up}")
    for o in others_now:
        log(f"[{tag}]   other process: {o[:160]}")
    load1 = os.getloadavg()[0]
    return up, load1, len(others_now)


def jdk25():
    """The first JDK >= 25 at $JAVA_HOME or under /usr/lib/jvm, as the launcher looks for it."""
    for d in [os.environ.get("JAVA_HOME", "")] + sorted(os.path.join("/usr/lib/jvm", e) for e in os.listdir("/usr/lib/jvm")):
        if d and os.path.exists(d + "/bin/javac"):
            m = re.search(r'version "(\d+)', sh([d + "/bin/java", "-version"]).stderr)
            if m and int(m.group(1)) >= 25:
                return d
    sys.exit("no JDK >= 25 found")


def pruned(rng, rows, cols, density, scale):
    """[rows][cols] float32, exactly round(density*cols) nonzeros in each row at random positions, N(0, scale^2/k)."""
    k = int(round(density * cols))
    w = np.zeros((rows, cols), dtype=np.float32)
    for r in range(rows):
        idx = rng.choice(cols, size=k, replace=False)
        w[r, idx] = (rng.standard_normal(k) * scale / np.sqrt(k)).astype(np.float32)
    return w, k


def reference64(w_ih, w_hh, b_ih, b_hh, x):
    """float64 evaluation of h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); returns [T][B][H]."""
    w_ih, w_hh = w_ih.astype(np.float64), w_hh.astype(np.float64)
    b = (b_ih.astype(np.float64) + b_hh.astype(np.float64))
    t_, b_, _ = x.shape
    xp = x.astype(np.float64).reshape(t_ * b_, -1) @ w_ih.T
    xp = xp.reshape(t_, b_, -1) + b
    h = np.zeros((b_, w_hh.shape[0]))
    out = np.empty((t_, b_, w_hh.shape[0]))
    for t in range(t_):
        h = np.maximum(xp[t] + h @ w_hh.T, 0.0)
        out[t] = h
    return out


def errors(out, ref):
    out = np.asarray(out, dtype=np.float64)
    d = out - ref
    rel_l2 = float(np.sqrt((d * d).sum() / (ref * ref).sum()))
    rel_max = float(np.abs(d).max() / np.abs(ref).max())
    return rel_l2, rel_max


class TorchDense:
    name = "torch-dense"

    def __init__(self, sd, x):
        i, h = sd["weight_ih_l0"].shape[1], sd["weight_hh_l0"].shape[0]
        self.rnn = torch.nn.RNN(i, h, num_layers=1, nonlinearity="relu")
        self.rnn.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
        self.rnn.eval()
        self.x = torch.from_numpy(x)

    def run(self):
        with torch.no_grad():
            out, _ = self.rnn(self.x)
        return out


class TorchSparse:
    """layout 'csr' (torch.sparse_csr, the default contender) or 'coo' (torch.sparse_coo, coalesced)."""

    def __init__(self, sd, x, layout="csr"):
        conv = (lambda t: t.to_sparse_csr()) if layout == "csr" else (lambda t: t.to_sparse().coalesce())
        self.w_ih = conv(torch.from_numpy(sd["weight_ih_l0"]))              # [H][I] sparse
        self.w_hh = conv(torch.from_numpy(sd["weight_hh_l0"]))              # [H][H] sparse
        self.b_ih = torch.from_numpy(sd["bias_ih_l0"]).unsqueeze(1)         # [H][1]
        self.b_hh = torch.from_numpy(sd["bias_hh_l0"]).unsqueeze(1)         # [H][1]
        t_, b_, i = x.shape
        self.t, self.b = t_, b_
        self.xt = torch.from_numpy(x).reshape(t_ * b_, i).t().contiguous()  # [I][T*B], step-major columns

    def run(self):
        with torch.no_grad():
            # input projection of all steps in one sparse product: [H][T*B]
            xp = torch.addmm(self.b_ih, self.w_ih, self.xt)
            h = torch.zeros(self.w_hh.shape[0], self.b)                      # [H][B]
            outs = []
            for t in range(self.t):
                h = torch.relu(xp[:, t * self.b:(t + 1) * self.b] + torch.addmm(self.b_hh, self.w_hh, h))
                outs.append(h)
            return torch.stack(outs).transpose(1, 2)                         # [T][B][H]


def time_torch(c, warmup, reps, steps, threads):
    torch.set_num_threads(threads)
    for _ in range(warmup):
        c.run()
    us = []
    for _ in range(reps):
        t0 = time.perf_counter()
        c.run()
        us.append((time.perf_counter() - t0) * 1e6 / steps)
    return us


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "results/cpu/torch-side-by-side"))
    ap.add_argument("--work-dir", default="/tmp/sprnn-cpu-vs-torch", help="model, input, jar copy (not committed)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=10, help="timed whole-sequence runs per torch contender (>= 10)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--sprnn-reps", type=int, default=20)
    ap.add_argument("--sprnn-warmup", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=2304)
    ap.add_argument("--input", type=int, default=2304)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--contenders", default="sprnn-cpu,torch-dense,torch-sparse",
                    help="sprnn-cpu (always run) and any of torch-dense, torch-sparse (CSR), torch-sparse-coo; each torch "
                         "one also runs at all processors where torch's default thread count is lower")
    ap.add_argument("--wait-quiet-s", type=int, default=900,
                    help="before each round, wait (polling every 30 s) up to this long for no other java/maven process")
    a = ap.parse_args()
    if a.reps < 10 or a.sprnn_reps < 20 or a.rounds < 1:
        sys.exit("--reps >= 10, --sprnn-reps >= 20, --rounds >= 1")
    os.makedirs(a.out_dir, exist_ok=True)
    os.makedirs(a.work_dir, exist_ok=True)
    global LOG
    LOG = open(os.path.join(a.out_dir, "console.log"), "w")
    log("command:", " ".join([sys.executable] + sys.argv))
    log("date:", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "UTC")

    # --- environment
    model_name = next((l.split(":", 1)[1].strip() for l in sh("lscpu").stdout.splitlines()
                       if l.startswith("Model name")), platform.processor())
    env = {
        "cpu": model_name, "processors": os.cpu_count(),
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "torch_default_threads": torch.get_num_threads(),
        "git_commit": sh(["git", "-C", ROOT, "rev-parse", "HEAD"]).stdout.strip(),
        "git_dirty_files": sh(["git", "-C", ROOT, "status", "--short"]).stdout.strip().splitlines(),
    }
    default_threads = env["torch_default_threads"]

    # --- sprnn: build once through the launcher, then run a copy of its jar with the launcher's options
    launcher = os.path.join(ROOT, "sprnn")
    r = sh([launcher, "--version"])
    log("sprnn --version:", (r.stdout + r.stderr).strip())
    if r.returncode != 0:
        sys.exit("sprnn launcher failed")
    jar = os.path.join(a.work_dir, "sprnn.jar")
    shutil.copyfile(os.path.join(ROOT, "sprnn-cli/target/sprnn.jar"), jar)
    env["sprnn_jar_sha256"] = hashlib.sha256(open(jar, "rb").read()).hexdigest()
    java = jdk25() + "/bin/java"
    env["java"] = sh([java, "-version"]).stderr.strip().splitlines()[0:2]
    sprnn_cmd = [java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                 "-XX:+UseParallelGC", "-jar", jar]
    for k, v in env.items():
        log(f"{k}: {v}")

    # --- one model and one input for everything
    rng = np.random.default_rng(a.seed)
    w_ih, k_ih = pruned(rng, a.hidden, a.input, a.density, 1.0)
    w_hh, k_hh = pruned(rng, a.hidden, a.hidden, a.density, 1.0)
    bound = 1.0 / np.sqrt(a.hidden)  # PyTorch's bias init
    sd = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh,
          "bias_ih_l0": rng.uniform(-bound, bound, a.hidden).astype(np.float32),
          "bias_hh_l0": rng.uniform(-bound, bound, a.hidden).astype(np.float32)}
    x = rng.standard_normal((a.steps, a.batch, a.input)).astype(np.float32)  # [T][B][I]
    model_path, x_path = os.path.join(a.work_dir, "model.npz"), os.path.join(a.work_dir, "x.npy")
    np.savez(model_path, **sd)
    np.save(x_path, x)
    workload = (f"ReLU RNN, input {a.input}, hidden {a.hidden}, batch {a.batch}, T {a.steps}; W_ih {k_ih} and W_hh "
                f"{k_hh} nonzeros per row (density {a.density}, {a.hidden * k_ih} + {a.hidden * k_hh} in all), seed {a.seed}")
    log("workload:", workload)

    # --- accuracy against float64 over all T steps
    t0 = time.time()
    ref = reference64(w_ih, w_hh, sd["bias_ih_l0"], sd["bias_hh_l0"], x)
    log(f"float64 reference: {time.time() - t0:.1f} s, max |h| {np.abs(ref).max():.4g}, "
        f"mean |h| {np.abs(ref).mean():.4g}, zero fraction {(ref == 0).mean():.3f}")
    acc = []
    y_path = os.path.join(a.work_dir, "y_sprnn.npy")
    r = sh(sprnn_cmd + ["run", "--model", model_path, "--cell", "rnn_relu", "--input", x_path, "--engine", "cpu",
                        "--output", y_path])
    if r.returncode != 0:
        sys.exit("sprnn run failed: " + r.stdout + r.stderr)
    base = a.contenders.split(",")
    torch_objs = {"torch-dense": TorchDense(sd, x), "torch-sparse": TorchSparse(sd, x, "csr"),
                  "torch-sparse-coo": TorchSparse(sd, x, "coo")}
    torch_objs = {k: v for k, v in torch_objs.items() if k in base}
    outs = {"sprnn-cpu": np.load(y_path)}
    outs.update({k: v.run().numpy() for k, v in torch_objs.items()})
    for name, o in outs.items():
        l2, mx = errors(o, ref)
        acc.append({"contender": name, "rel_l2_error_vs_float64": l2, "max_abs_error_over_max_abs_ref": mx})
        log(f"accuracy {name}: relative L2 error {l2:.3e}, max|d|/max|ref| {mx:.3e} (all {a.steps} steps vs float64)")
    with open(os.path.join(a.out_dir, "accuracy.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(acc[0]))
        wr.writeheader()
        wr.writerows(acc)

    # --- rounds
    threads_of = {"sprnn-cpu": None}  # contender -> torch threads
    threads_of.update({c: default_threads for c in torch_objs})
    if default_threads < os.cpu_count():
        threads_of.update({f"{c}-{os.cpu_count()}t": os.cpu_count() for c in torch_objs})
    contenders = list(threads_of)
    rows = []
    for rnd in range(1, a.rounds + 1):
        deadline = time.time() + a.wait_quiet_s
        while others() and time.time() < deadline:
            log(f"[round {rnd}] waiting for other java/maven processes to end ...")
            time.sleep(30)
        up0, l0, o0 = machine_state(f"round {rnd} before")
        order = contenders[rnd - 1:] + contenders[:rnd - 1]  # rotate who goes first
        for c in order:
            start = time.strftime("%H:%M:%S", time.gmtime())
            if c == "sprnn-cpu":
                d = os.path.join(a.out_dir, f"sprnn_round{rnd}")
                shutil.rmtree(d, ignore_errors=True)
                r = sh(sprnn_cmd + ["bench", "--model", model_path, "--cell", "rnn_relu", "--input", x_path,
                                    "--engines", "cpu", "--reps", str(a.sprnn_reps), "--warmup", str(a.sprnn_warmup),
                                    "--out-dir", d])
                for l in (r.stdout + r.stderr).splitlines():
                    if "Using incubator modules" not in l:
                        log("  sprnn |", l)
                if r.returncode != 0:
                    sys.exit("sprnn bench failed")
                with open(os.path.join(d, "bench.csv")) as f:
                    b = next(csv.DictReader(f))
                med = float(b["full_us_per_step_median"])
                lo, hi = float(b["recurrent_min"]), float(b["recurrent_max"])
                threads, reps = "all processors (engine default)", a.sprnn_reps
            else:
                n = threads_of[c]
                obj = torch_objs[re.sub(r"-\d+t$", "", c)]
                us = time_torch(obj, a.warmup, a.reps, a.steps, n)
                med, lo, hi = statistics.median(us), min(us), max(us)
                threads, reps = n, a.reps
                log(f"  {c}: runs (µs/step) " + ", ".join(f"{u:.0f}" for u in us))
            log(f"round {rnd} {c} ({start}): median {med:.1f} µs/step (runs {lo:.1f}–{hi:.1f}), threads {threads}")
            rows.append({"round": rnd, "contender": c, "start_utc": start, "us_per_step_median": round(med, 2),
                         "us_per_step_min": round(lo, 2), "us_per_step_max": round(hi, 2), "reps": reps,
                         "threads": threads})
        up1, l1, o1 = machine_state(f"round {rnd} after")
        for row in rows:
            if row["round"] == rnd:
                row.update({"load1_before": l0, "load1_after": l1, "other_java_maven_before": o0,
                            "other_java_maven_after": o1})
    torch.set_num_threads(default_threads)
    with open(os.path.join(a.out_dir, "rounds.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)

    # --- summary: per contender median over rounds, ratios per round
    per = {c: [r["us_per_step_median"] for r in rows if r["contender"] == c] for c in contenders}
    summary = {"workload": workload, "env": env, "contenders": {}, "ratios": {}, "accuracy": acc}
    log("\n| contender | median of rounds µs/step | min–max over rounds |")
    log("|---|---|---|")
    for c, v in per.items():
        summary["contenders"][c] = {"median": statistics.median(v), "min": min(v), "max": max(v), "rounds": v}
        log(f"| {c} | {statistics.median(v):.1f} | {min(v):.1f}–{max(v):.1f} |")
    log("\n| ratio (torch / sprnn, same round) | median | min–max over rounds |")
    log("|---|---|---|")
    for c in contenders[1:]:
        ratios = [t / s for t, s in zip(per[c], per["sprnn-cpu"])]
        summary["ratios"][f"{c} / sprnn-cpu"] = {"median": statistics.median(ratios), "min": min(ratios),
                                                 "max": max(ratios), "rounds": ratios}
        log(f"| {c} / sprnn-cpu | {statistics.median(ratios):.1f}x | {min(ratios):.1f}x–{max(ratios):.1f}x |")
    with open(os.path.join(a.out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    log("done:", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "UTC")


if __name__ == "__main__":
    main()

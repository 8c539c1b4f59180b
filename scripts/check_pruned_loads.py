#!/usr/bin/env python3
"""Checks with PyTorch what sprnn's Java tests can only check against the files: that `sprnn prune` output
loads into the user's own module with load_state_dict(strict=True), and that `sprnn run --batch-first`
agrees with nn.*(batch_first=True). Not part of the test suite (it needs torch); run it by hand after
changing ModelFiles, PruneCommand or the batch-first path.

For every golden fixture (scripts/make_golden.py: module prefixes such as "encoder.lstm.", bias=False
models, safetensors and npz inputs) and both output formats it
  1. runs `./sprnn prune --density 0.3 --input-weights` on the fixture's weight file,
  2. builds the fixture's nn.RNN/GRU/LSTM inside modules nested as its key prefix says (so "rnn." is a
     real attribute path) and loads the pruned file with load_state_dict(strict=True),
  3. runs that module (float64) on the fixture's input and compares with `./sprnn run --engine
     cpu-reference` on the pruned file (float32 output files: relative error below 1e-5).
For every batch_first case it compares `./sprnn run --batch-first` with the output PyTorch stored.

Usage:  /usr/bin/python3 scripts/check_pruned_loads.py    (torch 1.13+ and numpy; CPU; a few seconds a case)
"""
import json
import pathlib
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "sprnn-core" / "src" / "test" / "resources" / "golden"
SPRNN = str(ROOT / "sprnn")
NP_TYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}


def sprnn(*args):
    r = subprocess.run([SPRNN, *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"sprnn {' '.join(map(str, args))} failed: {r.stderr.strip()}")
    return r.stdout


def read_safetensors(path):
    raw = pathlib.Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        if h["dtype"] == "BF16":
            bits = np.frombuffer(data[a:b], dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(data[a:b], dtype=NP_TYPES[h["dtype"]])
        out[name] = torch.from_numpy(arr.astype(np.float64).reshape(h["shape"]))
    return out


def read_weights(path):
    if pathlib.Path(path).read_bytes()[:2] == b"PK":
        with np.load(path) as z:
            return {k: torch.from_numpy(z[k].astype(np.float64)) for k in z.files}
    return read_safetensors(path)


def rnn_module(c):
    args = dict(input_size=c["input"], hidden_size=c["hidden"], num_layers=c["layers"], bias=c.get("bias", True),
                batch_first=c.get("batch_first", False))
    kind = c["cell"]
    if kind in ("rnn_relu", "rnn_tanh"):
        return torch.nn.RNN(nonlinearity=kind[4:], **args)
    return torch.nn.GRU(**args) if kind == "gru" else torch.nn.LSTM(**args)


def holder(c):
    """The RNN inside modules nested as the key prefix says: "encoder.lstm." → root.encoder.lstm."""
    rnn = rnn_module(c).double()
    root = module = torch.nn.Module() if c.get("prefix") else rnn
    parts = [p for p in c.get("prefix", "").split(".") if p]
    for i, p in enumerate(parts):
        child = rnn if i == len(parts) - 1 else torch.nn.Module()
        setattr(module, p, child)
        module = child
    return root, rnn


def forward(rnn, c, arrays):
    x = torch.from_numpy(arrays["input"].astype(np.float64))
    with torch.no_grad():
        if c["cell"] == "lstm":
            if "h0" in arrays:
                out, _ = rnn(x, (torch.from_numpy(arrays["h0"].astype(np.float64)), torch.from_numpy(arrays["c0"].astype(np.float64))))
            else:
                out, _ = rnn(x)
        else:
            out, _ = rnn(x, torch.from_numpy(arrays["h0"].astype(np.float64))) if "h0" in arrays else rnn(x)
    return out.numpy()


def rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def run_args(tmp, arrays, model, cell, extra=()):
    paths = {}
    for k in ("input", "h0", "c0"):
        if k in arrays:
            paths[k] = tmp / f"{k}.npy"
            np.save(paths[k], arrays[k])
    args = ["run", "--model", model, "--cell", cell, "--input", paths["input"], "--output", tmp / "y.npy",
            "--engine", "cpu-reference", *extra]
    if "h0" in paths:
        args += ["--h0", paths["h0"]]
    if "c0" in paths:
        args += ["--c0", paths["c0"]]
    sprnn(*args)
    return np.load(tmp / "y.npy").astype(np.float64)


def main():
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        for c in manifest["cases"]:
            arrays = dict(np.load(GOLDEN / c["arrays_file"]))
            original = read_weights(GOLDEN / c["model_file"])
            for ext in ("npz", "safetensors"):
                out = tmp / f"pruned.{ext}"
                sprnn("prune", "--model", GOLDEN / c["model_file"], "--cell", c["cell"], "--density", "0.3",
                      "--input-weights", "--output", out)
                pruned = read_weights(out)
                root, rnn = holder(c)
                problems = []
                try:
                    root.load_state_dict(pruned, strict=True)
                except RuntimeError as e:
                    problems.append("load_state_dict(strict=True): " + str(e).replace("\n", " "))
                if set(pruned) != set(original):
                    problems.append(f"keys differ: {sorted(set(pruned) ^ set(original))}")
                for k, v in pruned.items():
                    if k in original and k.split(".")[-1].startswith("bias") and not torch.equal(v, original[k]):
                        problems.append(f"{k} changed")
                err = float("nan")
                if not problems:
                    want = forward(rnn, c, arrays)
                    got = run_args(tmp, arrays, out, c["cell"])
                    err = rel(got, want)
                    if not err < 1e-5:
                        problems.append(f"sprnn run on the pruned file vs torch: relative error {err:.2e}")
                failures += bool(problems)
                print(f"{'FAIL' if problems else 'ok  '} prune {c['model_file']:52s} -> .{ext:12s} "
                      f"prefix {c.get('prefix', '')!r:16s} bias {c.get('bias', True)!s:5s} run vs torch {err:.1e}"
                      + ("  " + "; ".join(problems) if problems else ""))
        for c in manifest.get("batch_first_cases", []):
            arrays = dict(np.load(GOLDEN / c["arrays_file"]))
            got = run_args(tmp, arrays, GOLDEN / c["model_file"], c["cell"], ["--batch-first"])
            err = rel(got, arrays["output"]) if got.shape == arrays["output"].shape else float("inf")
            ok = err < 1e-5
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} run --batch-first {c['name']:48s} output {got.shape} vs torch "
                  f"batch_first=True: relative error {err:.1e}")
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Issue 17 on a GPU, without a JDK there: every GPU engine through the default streaming session
(`sprnn stream`, npy and raw frames) against its own whole run and against cpu-reference; every GPU engine's run
with per-sequence lengths (`--lengths`) against cpu-reference's; and every engine on PyTorch's fixtures of packed
sequences and bidirectional layers (sprnn-core/src/test/resources/golden-packed, from make_golden_packed.py).

  python3 scripts/issue17_gpu_check.py make DATA          # here: models (safetensors) and input frames, numpy only
  bash scripts/gpu-issue17-check.sh TARBALL DATA OUT      # there: runs the bundle's sprnn; OUT/log.txt, OUT/results.tar
  python3 scripts/issue17_gpu_check.py compare DATA OUT   # here: the table, non-zero exit on a failure

Pass: a stream's outputs equal the engine's whole run within the engine's tolerance (fp16 weights and state:
3e-3 relative), and cpu-reference's within the same; every engine's --lengths run equals cpu-reference's within the
same, zero after each sequence's end; on every PyTorch fixture, every engine's output, h_n and (LSTM) c_n equal
PyTorch's within the same, outputs after a sequence's end exactly zero; auto with --lengths runs and agrees too.
"""
import io
import json
import pathlib
import struct
import sys
import tarfile

import numpy as np

MODELS = {  # name: cell, input, hidden, layers, W_hh density, steps, batch, chunk lengths of the npy stream
    "relu": ("rnn_relu", 64, 1152, 1, 0.1, 40, 4, [1, 3, 7, 2, 1, 10, 5, 11]),
    "lstm": ("lstm", 32, 256, 2, 0.3, 40, 4, [2, 1, 1, 9, 4, 8, 15]),
}
ENGINES = ["cpu-reference", "cuda-sparse-persistent", "cuda-dense-persistent", "cuda-gemm", "cuda-spmm", "cuda-cudnn"]
# the persistent engines' opt-in modes, as gpu-issue17-check.sh names them: device sessions (stream), directions at once
STREAM_ENGINES = ENGINES + ["cuda-sparse-persistent@device", "cuda-dense-persistent@device"]
PACKED_ENGINES = ENGINES + ["cuda-sparse-persistent@halves", "cuda-dense-persistent@halves"]
TOLERANCE = 3e-3
LENGTHS = [40, 3, 17, 9]  # the --lengths of gpu-issue17-check.sh, batch 4, T 40
PACKED = pathlib.Path(__file__).resolve().parent.parent / "sprnn-core" / "src" / "test" / "resources" / "golden-packed"


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, a in tensors.items():
        raw = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def make(data):
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(17)
    for name, (cell, i, h, layers, d, steps, batch, chunks) in MODELS.items():
        g = {"rnn_relu": 1, "gru": 3, "lstm": 4}[cell]
        sd = {}
        for k in range(layers):
            n_in = i if k == 0 else h
            whh = rng.standard_normal((g * h, h)) * (rng.random((g * h, h)) < d) * 0.9 / np.sqrt(h * d)
            sd[f"weight_ih_l{k}"] = rng.standard_normal((g * h, n_in)) / np.sqrt(n_in)
            sd[f"weight_hh_l{k}"] = whh
            sd[f"bias_ih_l{k}"] = rng.standard_normal(g * h) * 0.1
            sd[f"bias_hh_l{k}"] = rng.standard_normal(g * h) * 0.1
        write_safetensors(data / f"{name}.safetensors", sd, {"cell": cell, "format": "pt"})
        x = (rng.random((steps, batch, i)) * 2 - 1).astype(np.float32)
        np.save(data / f"{name}_x.npy", x)
        buf, t = io.BytesIO(), 0
        for n in chunks:
            np.save(buf, x[t:t + n])
            t += n
        assert t == steps
        (data / f"{name}_frames.npys").write_bytes(buf.getvalue())
        x.tofile(data / f"{name}_raw.f32")  # raw: one step per frame, B*I float32
    packed = data / "packed"
    packed.mkdir(exist_ok=True)
    cases = json.loads((PACKED / "manifest.json").read_text())["cases"]
    for c in cases:  # each fixture as `sprnn run` takes it: the model, x.npy, h0/c0.npy, and its extra arguments
        name, z = c["name"], np.load(PACKED / c["arrays_file"])
        (packed / f"{name}.safetensors").write_bytes((PACKED / c["model_file"]).read_bytes())
        np.save(packed / f"{name}_x.npy", z["input"])
        args = []
        for s in ("h0", "c0"):
            if s in z.files:
                np.save(packed / f"{name}_{s}.npy", z[s])
                args += [f"--{s}", f"{name}_{s}.npy"]
        if c.get("lengths"):
            args += ["--lengths", ",".join(map(str, c["lengths"]))]
        if c.get("batch_first"):
            args += ["--batch-first"]
        if c["cell"] == "lstm":
            args += ["--final-c", "CN"]
        (packed / f"{name}.args").write_text(" ".join(args) + "\n")
        np.savez(packed / f"{name}_expected.npz", **{k: z[k] for k in ("output", "h_n", "c_n") if k in z.files})
    print(f"wrote {len(MODELS)} models and their inputs, and {len(cases)} PyTorch fixtures (packed/), to {data}")


def read_frames(blob):
    f, out = io.BytesIO(blob), []
    while f.tell() < len(blob):
        out.append(np.load(f))
    return np.concatenate(out) if out else None


def rel(a, b):
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(b.ravel()), 1e-30))


def compare(data, out):
    files = {}
    with tarfile.open(out / "results.tar") as t:
        for m in t.getmembers():
            if m.isfile():
                files[pathlib.Path(m.name).name] = t.extractfile(m).read()
    log = (out / "log.txt").read_text()
    failures, skipped = 0, 0
    print(f"{'model':6} {'engine':30} {'stream vs run':>14} {'raw vs run':>11} {'run vs ref':>11} {'lengths vs ref':>15}")
    for name, (_, _, h, _, _, steps, batch, _) in MODELS.items():
        ref = np.load(io.BytesIO(files[f"{name}_cpu-reference_run.npy"]))
        ref_len = np.load(io.BytesIO(files[f"{name}_cpu-reference_lengths.npy"]))
        for e in STREAM_ENGINES:
            if f"{name}_{e}_run.npy" not in files or not files[f"{name}_{e}_run.npy"]:
                print(f"{name:6} {e:30} {'not run (engine unavailable: see log.txt)':>40}")
                skipped += 1
                continue
            run = np.load(io.BytesIO(files[f"{name}_{e}_run.npy"]))
            stream = read_frames(files[f"{name}_{e}_stream.npys"])
            raw = np.frombuffer(files[f"{name}_{e}_raw.f32"], dtype="<f4").reshape(steps, batch, -1)
            es, er, ef = rel(stream, run), rel(raw, run), rel(run, ref)
            blob = files.get(f"{name}_{e}_lengths.npy")
            el = past = float("nan")
            if blob:
                got = np.load(io.BytesIO(blob))
                el, past = rel(got, ref_len), past_end(got, LENGTHS, batch_first=False)
            ok = es <= TOLERANCE and er <= TOLERANCE and ef <= TOLERANCE and el <= TOLERANCE and past == 0
            failures += not ok
            print(f"{name:6} {e:30} {es:14.2e} {er:11.2e} {ef:11.2e} {el:15.2e}{'' if ok else '   FAIL'}")
        blob = files.get(f"{name}_auto_lengths.npy")
        ea = rel(np.load(io.BytesIO(blob)), ref_len) if blob else float("nan")
        failures += not ea <= TOLERANCE
        print(f"{name:6} {'auto (--lengths)':24} {'':14} {'':11} {'':11} {ea:15.2e}{'' if ea <= TOLERANCE else '   FAIL'}")
    failures += compare_packed(data, files)
    print(("PASS" if failures == 0 else f"{failures} FAILED") + (f" ({skipped} engine runs not made: unavailable)" if skipped else ""))
    return failures


def past_end(out, lengths, batch_first):
    """The largest |value| of the outputs at or after each sequence's end (0 where they are all zero)."""
    worst = 0.0
    for b, n in enumerate(lengths):
        tail = out[b, n:] if batch_first else out[n:, b]
        worst = max(worst, float(np.abs(tail).max()) if tail.size else 0.0)
    return worst


def compare_packed(data, files):
    """Every engine's run of every PyTorch fixture against PyTorch's output, h_n and c_n; returns the failures."""
    failures = 0
    cases = json.loads((PACKED / "manifest.json").read_text())["cases"]
    print(f"\n{'PyTorch fixture':46} {'engine':30} {'output':>9} {'h_n':>9} {'c_n':>9} {'past end':>9}")
    for c in cases:
        name = c["name"]
        want = np.load(data / "packed" / f"{name}_expected.npz")
        for e in PACKED_ENGINES:
            blob = files.get(f"packed_{name}_{e}_y.npy")
            if not blob:
                print(f"{name:46} {e:30} {'no output (see log.txt)':>30}   FAIL")
                failures += 1
                continue
            y = np.load(io.BytesIO(blob))
            h = np.load(io.BytesIO(files[f"packed_{name}_{e}_hn.npy"]))
            eo, eh = rel(y, want["output"]), rel(h, want["h_n"])
            ec = rel(np.load(io.BytesIO(files[f"packed_{name}_{e}_cn.npy"])), want["c_n"]) if "c_n" in want.files else 0.0
            past = past_end(y, c["lengths"], bool(c.get("batch_first"))) if c.get("lengths") else 0.0
            ok = max(eo, eh, ec) <= TOLERANCE and past == 0
            failures += not ok
            print(f"{name:46} {e:30} {eo:9.2e} {eh:9.2e} {ec:9.2e} {past:9.1e}{'' if ok else '   FAIL'}")
    return failures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(pathlib.Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(min(compare(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])), 100))
    else:
        sys.exit(__doc__)

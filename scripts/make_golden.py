#!/usr/bin/env python3
"""Writes the PyTorch golden fixtures that sprnn's GoldenTest checks every CPU engine against.

Each case is a small nn.RNN / nn.GRU / nn.LSTM whose weights are magnitude-pruned to a density, rounded
to the dtype the weight file stores (F32, F16, BF16 or F64), and then run by PyTorch in float64 on
exactly those rounded values, so the expected outputs are the exact function of the stored weights and
inputs (up to float64 rounding). Per case it writes

  <name>.safetensors (or <name>.weights.npz)  the state dict under PyTorch's names, maybe under a prefix
  <name>.npz                                  input [T][B][I], h0/c0 [L][B][H] if given, and the expected
                                              output [T][B][H], h_n and c_n [L][B][H] (float64)

plus manifest.json listing every case: "cases" sequence-first, as the engines take them, and
"batch_first_cases" run by PyTorch with batch_first=True, whose input is [B][T][I] and output [B][T][H]
(h0/c0/h_n/c_n stay [L][B][H]); those check EngineOptions.batchFirst. The safetensors files are written by hand (8-byte little-endian
header length, JSON header, raw little-endian data), so the `safetensors` package is not needed.

Usage:  /usr/bin/python3 scripts/make_golden.py    (torch 1.13+ and numpy; CPU only; deterministic: a rerun
        with the same torch and numpy rewrites identical bytes)
"""
import json
import pathlib
import struct
import zipfile

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "sprnn-core" / "src" / "test" / "resources" / "golden"

# name, cell, input, hidden, layers, batch, steps, density, weight dtype, initial states, extra options
#   states: "zero" (none passed) or "given" (h0, and c0 for LSTM)
#   prefix: module prefix on every tensor name; bias: nn.* bias flag
#   model: "safetensors" (default) or "npz"; meta_cell: write __metadata__ "cell" (else the test passes it)
#   input_dtype: float32 (default) or float64; arrays: "npz" (stored) or "npz_compressed"
CASES = [
    dict(name="rnn_relu_i33_h97_l1_b1_d10_f32_zero", cell="rnn_relu", input=33, hidden=97, layers=1, batch=1,
         steps=6, density=0.10, dtype="F32", states="zero"),
    dict(name="rnn_relu_i33_h97_l1_b2_d1_bf16_given", cell="rnn_relu", input=33, hidden=97, layers=1, batch=2,
         steps=5, density=0.01, dtype="BF16", states="given"),
    dict(name="rnn_tanh_i5_h8_l3_b3_d100_f32_given", cell="rnn_tanh", input=5, hidden=8, layers=3, batch=3,
         steps=7, density=1.0, dtype="F32", states="given"),
    dict(name="rnn_tanh_i9_h13_l2_b5_d70_npz_given", cell="rnn_tanh", input=9, hidden=13, layers=2, batch=5,
         steps=5, density=0.70, dtype="F32", states="given", model="npz", meta_cell=False),
    dict(name="rnn_relu_i3_h5_l2_b2_d60_f16_zero_nometa", cell="rnn_relu", input=3, hidden=5, layers=2, batch=2,
         steps=7, density=0.60, dtype="F16", states="zero", meta_cell=False, input_dtype="float64"),
    dict(name="gru_i33_h97_l2_b2_d30_bf16_given", cell="gru", input=33, hidden=97, layers=2, batch=2,
         steps=5, density=0.30, dtype="BF16", states="given", arrays="npz_compressed"),
    dict(name="gru_i33_h97_l1_b1_d100_f32_zero", cell="gru", input=33, hidden=97, layers=1, batch=1,
         steps=5, density=1.0, dtype="F32", states="zero"),
    dict(name="gru_i4_h6_l1_b1_d100_f32_nobias_zero", cell="gru", input=4, hidden=6, layers=1, batch=1,
         steps=6, density=1.0, dtype="F32", states="zero", bias=False),
    dict(name="gru_i12_h20_l3_b4_d50_f16_prefix_zero", cell="gru", input=12, hidden=20, layers=3, batch=4,
         steps=6, density=0.50, dtype="F16", states="zero", prefix="rnn."),
    dict(name="lstm_i33_h97_l1_b4_d5_f16_given", cell="lstm", input=33, hidden=97, layers=1, batch=4,
         steps=6, density=0.05, dtype="F16", states="given"),
    dict(name="lstm_i7_h16_l3_b2_d50_f32_prefix_given", cell="lstm", input=7, hidden=16, layers=3, batch=2,
         steps=7, density=0.50, dtype="F32", states="given", prefix="encoder.lstm."),
    dict(name="lstm_i10_h24_l2_b1_d20_f64_zero", cell="lstm", input=10, hidden=24, layers=2, batch=1,
         steps=5, density=0.20, dtype="F64", states="zero", input_dtype="float64"),
    dict(name="lstm_i6_h10_l2_b3_d100_bf16_nobias_given", cell="lstm", input=6, hidden=10, layers=2, batch=3,
         steps=6, density=1.0, dtype="BF16", states="given", bias=False, arrays="npz_compressed"),
]

# nn.*(batch_first=True): arrays input [B][T][I], output [B][T][H]; batch != steps so that a swapped axis
# cannot pass. Seeds 2000 + i, so that adding them changes none of the CASES above.
BATCH_FIRST_CASES = [
    dict(name="lstm_i7_h11_l2_b3_t5_d50_f32_given_batchfirst", cell="lstm", input=7, hidden=11, layers=2, batch=3,
         steps=5, density=0.50, dtype="F32", states="given", prefix="rnn.", batch_first=True),
    dict(name="gru_i5_h9_l3_b4_t2_d70_f32_zero_batchfirst", cell="gru", input=5, hidden=9, layers=3, batch=4,
         steps=2, density=0.70, dtype="F32", states="zero", batch_first=True),
    dict(name="rnn_tanh_i4_h6_l1_b2_t7_d100_f16_given_batchfirst", cell="rnn_tanh", input=4, hidden=6, layers=1,
         batch=2, steps=7, density=1.0, dtype="F16", states="given", batch_first=True),
]

DTYPE_SIZE = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}


def make_module(c):
    kind = c["cell"]
    args = dict(input_size=c["input"], hidden_size=c["hidden"], num_layers=c["layers"], bias=c.get("bias", True),
                batch_first=c.get("batch_first", False))
    if kind in ("rnn_relu", "rnn_tanh"):
        return torch.nn.RNN(nonlinearity=kind[4:], **args)
    if kind == "gru":
        return torch.nn.GRU(**args)
    return torch.nn.LSTM(**args)


def prune(w, density):
    """Zeroes all but the max(1, round(density * numel)) largest-magnitude entries of a matrix."""
    keep = max(1, int(round(density * w.numel())))
    if keep >= w.numel():
        return w
    threshold_idx = torch.argsort(w.abs().flatten(), descending=True)[:keep]
    mask = torch.zeros(w.numel(), dtype=torch.bool)
    mask[threshold_idx] = True
    return torch.where(mask.view_as(w), w, torch.zeros_like(w))


def round_to(t, dtype):
    """The float64 values of t after storing it in dtype (round to nearest even)."""
    return {"F16": t.half(), "BF16": t.bfloat16(), "F32": t.float(), "F64": t}[dtype].double()


def encode(t, dtype):
    if dtype == "BF16":
        return t.bfloat16().view(torch.int16).numpy().astype("<i2").tobytes()
    np_type = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}[dtype]
    return t.numpy().astype(np_type).tobytes()


def write_safetensors(path, tensors, dtype, metadata):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in tensors.items():
        raw = encode(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_npz(path, arrays, compressed):
    """What np.savez / np.savez_compressed write (entries opened with force_zip64, as numpy does), but with
    fixed entry timestamps so that reruns give identical bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as z:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = z.compression
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(a))


def make_case(c, seed):
    torch.manual_seed(seed)
    module = make_module(c).double()
    L, B, H, T, I = c["layers"], c["batch"], c["hidden"], c["steps"], c["input"]
    with torch.no_grad():
        for name, p in module.named_parameters():
            v = prune(p, c["density"]) if name.startswith("weight") else p
            p.copy_(round_to(v, c["dtype"]))
    in_dtype = c.get("input_dtype", "float32")
    x = torch.rand(*((B, T, I) if c.get("batch_first", False) else (T, B, I)), dtype=torch.float64) * 2 - 1
    if in_dtype == "float32":
        x = x.float().double()
    arrays = {"input": x.numpy().astype(in_dtype)}
    lstm = c["cell"] == "lstm"
    with torch.no_grad():
        if c["states"] == "given":
            h0 = (torch.rand(L, B, H, dtype=torch.float64) - 0.5).float().double()
            arrays["h0"] = h0.numpy().astype("float32")
            if lstm:
                c0 = (torch.rand(L, B, H, dtype=torch.float64) * 2 - 1).float().double()
                arrays["c0"] = c0.numpy().astype("float32")
                out, (hn, cn) = module(x, (h0, c0))
            else:
                out, hn = module(x, h0)
        else:
            if lstm:
                out, (hn, cn) = module(x)
            else:
                out, hn = module(x)
    arrays["output"] = out.numpy()
    arrays["h_n"] = hn.numpy()
    if lstm:
        arrays["c_n"] = cn.numpy()

    prefix = c.get("prefix", "")
    state = {prefix + n: p.detach().clone() for n, p in module.state_dict().items()}
    if c.get("model", "safetensors") == "npz":
        model_file = c["name"] + ".weights.npz"
        write_npz(OUT / model_file, {n: t.numpy().astype("<f4") for n, t in state.items()}, compressed=False)
    else:
        model_file = c["name"] + ".safetensors"
        meta = {"cell": c["cell"], "format": "pt"} if c.get("meta_cell", True) else {"format": "pt"}
        write_safetensors(OUT / model_file, state, c["dtype"], meta)
    arrays_file = c["name"] + ".npz"
    write_npz(OUT / arrays_file, arrays, compressed=c.get("arrays") == "npz_compressed")

    nnz = sum(int((p != 0).sum()) for n, p in module.named_parameters() if n.startswith("weight"))
    entry = {k: v for k, v in c.items()}
    entry.update(model_file=model_file, arrays_file=arrays_file, seed=seed, weight_nonzeros=nnz,
                 cell_override=None if c.get("meta_cell", True) and c.get("model", "safetensors") != "npz" else c["cell"])
    return entry


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    torch.set_num_threads(1)
    manifest = {"generator": "scripts/make_golden.py", "torch": torch.__version__, "numpy": np.__version__,
                "cases": [make_case(c, 1000 + i) for i, c in enumerate(CASES)],
                "batch_first_cases": [make_case(c, 2000 + i) for i, c in enumerate(BATCH_FIRST_CASES)]}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"wrote {len(CASES) + len(BATCH_FIRST_CASES)} cases, {total} bytes, to {OUT}")
    assert total < 2_000_000, "fixtures must stay under 2 MB"


if __name__ == "__main__":
    main()

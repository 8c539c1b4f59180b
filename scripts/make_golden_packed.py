#!/usr/bin/env python3
"""Writes the PyTorch fixtures for issue 17: sequences of different lengths (pack_padded_sequence) and
bidirectional layers, which sprnn's PackedGoldenTest checks every CPU engine against.

Each case is a small nn.RNN / nn.GRU / nn.LSTM (made, pruned and rounded as in make_golden.py, whose helpers
this script reuses), run by PyTorch in float64. Where a case has lengths, its input goes through
torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False) and the output comes back through
pad_packed_sequence(..., total_length=T): outputs after a sequence's end are zero, h_n/c_n are each sequence's
states at its own last step (and, bidirectional, the reverse direction starts there). The padding steps of
the input hold large values (±1e3), which a run that read them would show. Per case it writes

  <name>.safetensors  the state dict under PyTorch's names (bidirectional: with the *_reverse tensors)
  <name>.npz          input, h0/c0 if given, and the expected
                      output ([T][B][D*H], or [B][T][D*H] batch first), h_n and c_n ([D*L][B][H]), float64

plus manifest.json listing the cases (with their lengths).

Usage:  /usr/bin/python3 scripts/make_golden_packed.py    (torch 1.13+ and numpy; CPU only; deterministic)
"""
import json
import pathlib
import sys

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_golden import prune, round_to, write_npz, write_safetensors  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "sprnn-core" / "src" / "test" / "resources" / "golden-packed"

# lengths: None (every sequence T steps) or one per batch element; bidirectional: nn.*(bidirectional=True)
CASES = [
    dict(name="rnn_relu_i5_h9_l2_b4_t7_lengths", cell="rnn_relu", input=5, hidden=9, layers=2, batch=4, steps=7,
         density=0.6, dtype="F32", states="given", lengths=[7, 3, 1, 5]),
    dict(name="rnn_tanh_i4_h8_l3_b3_t6_lengths", cell="rnn_tanh", input=4, hidden=8, layers=3, batch=3, steps=6,
         density=1.0, dtype="F32", states="zero", lengths=[2, 6, 4]),
    dict(name="gru_i6_h10_l2_b5_t8_lengths", cell="gru", input=6, hidden=10, layers=2, batch=5, steps=8,
         density=0.5, dtype="F16", states="given", lengths=[8, 1, 8, 3, 5]),
    dict(name="lstm_i7_h12_l2_b4_t9_lengths", cell="lstm", input=7, hidden=12, layers=2, batch=4, steps=9,
         density=0.5, dtype="F32", states="given", lengths=[4, 9, 2, 6]),
    dict(name="lstm_i5_h8_l1_b3_t6_lengths_shorter", cell="lstm", input=5, hidden=8, layers=1, batch=3, steps=6,
         density=1.0, dtype="F32", states="zero", lengths=[5, 2, 3]),  # no sequence fills all T steps
    dict(name="rnn_relu_i5_h7_l2_b3_t6_bidir", cell="rnn_relu", input=5, hidden=7, layers=2, batch=3, steps=6,
         density=0.7, dtype="F32", states="given", bidirectional=True),
    dict(name="rnn_tanh_i4_h6_l3_b2_t5_bidir_lengths", cell="rnn_tanh", input=4, hidden=6, layers=3, batch=2, steps=5,
         density=1.0, dtype="F32", states="zero", bidirectional=True, lengths=[3, 5]),
    dict(name="gru_i6_h9_l2_b4_t7_bidir_lengths", cell="gru", input=6, hidden=9, layers=2, batch=4, steps=7,
         density=0.5, dtype="BF16", states="given", bidirectional=True, lengths=[7, 2, 5, 1]),
    dict(name="gru_i3_h5_l1_b2_t4_bidir", cell="gru", input=3, hidden=5, layers=1, batch=2, steps=4,
         density=1.0, dtype="F32", states="zero", bidirectional=True),
    dict(name="lstm_i7_h10_l2_b3_t8_bidir_lengths", cell="lstm", input=7, hidden=10, layers=2, batch=3, steps=8,
         density=0.5, dtype="F32", states="given", bidirectional=True, lengths=[8, 3, 6], prefix="encoder.lstm."),
    dict(name="lstm_i4_h6_l3_b2_t5_bidir", cell="lstm", input=4, hidden=6, layers=3, batch=2, steps=5,
         density=1.0, dtype="F16", states="zero", bidirectional=True),
    dict(name="lstm_i5_h7_l2_b3_t6_bidir_lengths_batchfirst", cell="lstm", input=5, hidden=7, layers=2, batch=3, steps=6,
         density=0.6, dtype="F32", states="given", bidirectional=True, lengths=[2, 6, 4], batch_first=True),
    dict(name="gru_i4_h6_l2_b4_t5_lengths_batchfirst", cell="gru", input=4, hidden=6, layers=2, batch=4, steps=5,
         density=1.0, dtype="F32", states="zero", lengths=[5, 1, 3, 2], batch_first=True),
]


def make_module(c):
    kind = c["cell"]
    args = dict(input_size=c["input"], hidden_size=c["hidden"], num_layers=c["layers"],
                batch_first=c.get("batch_first", False), bidirectional=c.get("bidirectional", False))
    if kind in ("rnn_relu", "rnn_tanh"):
        return torch.nn.RNN(nonlinearity=kind[4:], **args)
    if kind == "gru":
        return torch.nn.GRU(**args)
    return torch.nn.LSTM(**args)


def make_case(c, seed):
    torch.manual_seed(seed)
    module = make_module(c).double()
    L, B, H, T, I = c["layers"], c["batch"], c["hidden"], c["steps"], c["input"]
    D = 2 if c.get("bidirectional", False) else 1
    bf = c.get("batch_first", False)
    with torch.no_grad():
        for name, p in module.named_parameters():
            v = prune(p, c["density"]) if name.startswith("weight") else p
            p.copy_(round_to(v, c["dtype"]))
    x = (torch.rand(*((B, T, I) if bf else (T, B, I)), dtype=torch.float64) * 2 - 1).float().double()
    lengths = c.get("lengths")
    if lengths is not None:
        for b, n in enumerate(lengths):  # padding PyTorch never reads; a run that read it would show
            pad = (torch.rand(T - n, I, dtype=torch.float64) * 2e3 - 1e3).float().double()
            if bf:
                x[b, n:, :] = pad
            else:
                x[n:, b, :] = pad
    arrays = {"input": x.numpy().astype("float32")}
    lstm = c["cell"] == "lstm"
    hx = None
    if c["states"] == "given":
        h0 = (torch.rand(D * L, B, H, dtype=torch.float64) - 0.5).float().double()
        arrays["h0"] = h0.numpy().astype("float32")
        hx = h0
        if lstm:
            c0 = (torch.rand(D * L, B, H, dtype=torch.float64) * 2 - 1).float().double()
            arrays["c0"] = c0.numpy().astype("float32")
            hx = (h0, c0)
    elif lstm:
        hx = None
    with torch.no_grad():
        seq = x if lengths is None else pack_padded_sequence(x, torch.tensor(lengths), batch_first=bf, enforce_sorted=False)
        out, state = module(seq, hx)
        if lengths is not None:
            out, _ = pad_packed_sequence(out, batch_first=bf, total_length=T)
    hn, cn = state if lstm else (state, None)
    arrays["output"] = out.numpy()
    arrays["h_n"] = hn.numpy()
    if lstm:
        arrays["c_n"] = cn.numpy()

    prefix = c.get("prefix", "")
    state_dict = {prefix + n: p.detach().clone() for n, p in module.state_dict().items()}
    model_file = c["name"] + ".safetensors"
    write_safetensors(OUT / model_file, state_dict, c["dtype"], {"cell": c["cell"], "format": "pt"})
    arrays_file = c["name"] + ".npz"
    write_npz(OUT / arrays_file, arrays, compressed=False)
    entry = {k: v for k, v in c.items()}
    entry.update(model_file=model_file, arrays_file=arrays_file, seed=seed, directions=D)
    return entry


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    torch.set_num_threads(1)
    manifest = {"generator": "scripts/make_golden_packed.py", "torch": torch.__version__, "numpy": np.__version__,
                "cases": [make_case(c, 3000 + i) for i, c in enumerate(CASES)]}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"wrote {len(CASES)} cases, {total} bytes, to {OUT}")
    assert total < 1_000_000, "fixtures must stay under 1 MB"


if __name__ == "__main__":
    main()

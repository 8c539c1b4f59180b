#!/usr/bin/env python3
"""Issue 16's model pairs: one PyTorch layer pruned two ways, saved as .safetensors files sprnn reads.

For each shape, an nn.RNN / nn.GRU / nn.LSTM with PyTorch's own initialisation (seeded), then its weight_hh_l0 pruned
  per-matrix  torch.nn.utils.prune.l1_unstructured(amount = 1 - density): the smallest |w| of the whole matrix go,
              so rows keep unequal counts (what magnitude pruning of a model leaves), and
  per-row     each row keeps its round(density * H) largest |w| (prune.custom_from_mask): every row the same count,
both made permanent with prune.remove, weight_ih and the biases kept dense. The file pair differs only in W_hh's mask.

    python3 scripts/make_pruned_pair.py OUTDIR [--shapes rnn_relu:1152:0.1,rnn_relu:2304:0.3,rnn_relu:5760:0.1] [--seed 16]

writes OUTDIR/<cell>_<H>_<density>_{matrix,row}.safetensors and prints each file's row-count spread.
"""
import argparse
import os
import sys

import torch
import torch.nn.utils.prune as prune

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_to_safetensors import write_safetensors  # noqa: E402

DEFAULT_SHAPES = "rnn_relu:1152:0.1,rnn_relu:2304:0.3,rnn_relu:5760:0.1"


def layer(cell, hidden, seed):
    torch.manual_seed(seed)
    if cell in ("rnn_relu", "rnn_tanh"):
        return torch.nn.RNN(hidden, hidden, nonlinearity=cell[4:])
    return {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](hidden, hidden)


def per_row_mask(w, density):
    keep = max(1, round(density * w.shape[1]))
    idx = w.abs().topk(keep, dim=1).indices
    mask = torch.zeros_like(w)
    mask.scatter_(1, idx, 1.0)
    return mask


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--shapes", default=DEFAULT_SHAPES, help="cell:hidden:density,... (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=16)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for spec in a.shapes.split(","):
        cell, hidden, density = spec.split(":")
        hidden, density = int(hidden), float(density)
        for how in ("matrix", "row"):
            m = layer(cell, hidden, a.seed)
            with torch.no_grad():
                if how == "matrix":
                    prune.l1_unstructured(m, "weight_hh_l0", amount=1.0 - density)
                else:
                    prune.custom_from_mask(m, "weight_hh_l0", per_row_mask(m.weight_hh_l0, density))
                prune.remove(m, "weight_hh_l0")
            w = m.weight_hh_l0.detach()
            counts = (w != 0).sum(dim=1)
            path = os.path.join(a.outdir, f"{cell}_{hidden}_{density:g}_{how}.safetensors")
            write_safetensors(path, {k: v.detach().contiguous() for k, v in m.state_dict().items()}, {"cell": cell, "format": "pt"})
            print(f"{path}: W_hh {tuple(w.shape)}, {int(counts.sum())} nonzeros, per row min {int(counts.min())} "
                  f"mean {counts.float().mean():.1f} max {int(counts.max())}")


if __name__ == "__main__":
    main()

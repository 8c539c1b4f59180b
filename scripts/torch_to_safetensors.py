#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (.pt/.pth, written by torch.save) to a .safetensors file sprnn reads.

sprnn never unpickles anything, so it refuses torch.save files and points here. This script loads the
checkpoint with torch.load(..., weights_only=True), which rebuilds tensors and plain containers only
and refuses to run arbitrary pickled code, and writes every tensor under its own key, in its own dtype,
with a small hand-written safetensors writer (8-byte little-endian header length, JSON header, raw
little-endian data), so the `safetensors` package is not needed; torch, json and struct suffice.

Accepted contents: a state dict (torch.save(rnn.state_dict(), path)), or a checkpoint dict holding one
under "state_dict", "model_state_dict" or "model" (or the key given with --key). A whole pickled
nn.Module (torch.save(rnn, path)) cannot be loaded safely; load it yourself, trusting the file, and save
its state_dict() instead.

    python3 scripts/torch_to_safetensors.py lstm.pt lstm.safetensors --cell lstm
    sprnn inspect --model lstm.safetensors

--cell (rnn_relu, rnn_tanh, gru, lstm) goes into __metadata__ {"cell": ..., "format": "pt"}, so that
sprnn needs no --cell option for the file.
"""
import argparse
import json
import os
import struct
import sys
import tempfile

import torch

CELLS = ("rnn_relu", "rnn_tanh", "gru", "lstm")
DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}
NESTED_KEYS = ("state_dict", "model_state_dict", "model")


def fail(message):
    sys.exit(f"torch_to_safetensors: {message}")


def state_dict_of(obj, key):
    """The dict of name -> tensor inside what torch.load returned."""
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()  # a module (only reachable if torch.load allowed it)
    if not isinstance(obj, dict):
        fail(f"the checkpoint holds a {type(obj).__name__}, not a state dict")
    if key is not None:
        if key not in obj:
            fail(f"the checkpoint has no key {key!r} (it has {sorted(map(str, obj))[:10]})")
        return state_dict_of(obj[key], None)
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    for k in NESTED_KEYS:
        if isinstance(obj.get(k), dict):
            return state_dict_of(obj[k], None)
    others = sorted(str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor))
    fail(f"the checkpoint is a dict whose values are not all tensors (e.g. {others[:5]}); "
         f"name the state dict inside it with --key")


def tensor_bytes(t):
    """The tensor's elements, C order, little-endian, as bytes."""
    t = t.detach().to("cpu").contiguous()
    flat = t.reshape(-1).view(torch.uint8) if t.numel() else torch.empty(0, dtype=torch.uint8)
    try:
        return flat.numpy().tobytes()
    except (ImportError, RuntimeError):  # torch without numpy: slower, same bytes
        return bytes(flat.tolist())


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata} if metadata else {}
    blobs, offset = [], 0
    for name, t in tensors.items():
        if t.dtype not in DTYPES:
            fail(f"tensor {name!r} has dtype {t.dtype}, which safetensors has no name for")
        raw = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for b in blobs:
                f.write(b)
        os.replace(tmp, path)  # all or nothing
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="checkpoint written by torch.save (.pt, .pth)")
    p.add_argument("output", help="safetensors file to write")
    p.add_argument("--cell", choices=CELLS, help="cell type, stored in __metadata__ for sprnn")
    p.add_argument("--key", help="key of the state dict inside a checkpoint dict")
    a = p.parse_args()
    if sys.byteorder != "little":
        fail("safetensors data is little-endian; run this on a little-endian machine")
    try:
        obj = torch.load(a.input, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types; the message is what the user needs
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        fail(f"{a.input}: torch.load(weights_only=True) refused it ({reason}); if it holds a whole pickled "
             f"nn.Module, load it in Python yourself (only if you trust the file) and torch.save(module.state_dict(), ...)")
    sd = state_dict_of(obj, a.key)
    if not sd:
        fail(f"{a.input}: the state dict is empty")
    if "__metadata__" in sd:
        fail("a tensor named __metadata__ cannot be stored in safetensors")
    metadata = {"cell": a.cell, "format": "pt"} if a.cell else {"format": "pt"}
    write_safetensors(a.output, {str(k): v for k, v in sd.items()}, metadata)
    print(f"{a.output}: {len(sd)} tensors" + (f", cell {a.cell}" if a.cell else " (no --cell: pass it to sprnn)"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the hostile-file corpus that sprnn's HostileFilesTest (core) and HostileFilesCliTest (CLI) feed
to the loaders: one small file per way an untrusted .npy, .npz, .safetensors or torch.save file has
broken sprnn, each with the exact refusal the tests expect (see the corpus README.md).

Files too large to commit (the zip bomb, a 1 MB metadata string, a header over 64 KiB) are built by the tests
themselves; this script writes only the small ones, into sprnn-core/src/test/resources/hostile/.

Usage:  /usr/bin/python3 scripts/make_hostile.py    (numpy, and torch 1.13+ for the two .pt files;
        deterministic: reruns write identical bytes, except in torch-legacy.pt, whose storage keys
        are pointer values)
"""
import json
import pathlib
import struct
import zipfile
import zlib

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "sprnn-core" / "src" / "test" / "resources" / "hostile"
FORGED = "\n sprnn: all good\x1b[2J\x1b[31m"  # a forged second line, clear-screen and red


def npy(dict_text, data=b"", major=1, minor=0):
    """A .npy file with a hand-written header dict, padded as numpy pads it."""
    raw = dict_text.encode("latin-1")
    pre = 10 if major == 1 else 12
    pad = -(pre + len(raw) + 1) % 64
    header = raw + b" " * pad + b"\n"
    length = struct.pack("<H", len(header)) if major == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([major, minor]) + length + header + data


def safetensors(header_text, data=b""):
    raw = header_text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw + data


def npz(arrays, compressed, names=None):
    """An .npz as numpy writes it, with fixed timestamps; names overrides the entry names."""
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as z:
        for i, (name, a) in enumerate(arrays.items()):
            info = zipfile.ZipInfo((names[i] if names else name + ".npy"), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = z.compression
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(a))
    return buf.getvalue()


def lstm_state_dict():
    g = np.random.default_rng(12)
    h, i = 4, 3
    return {
        "weight_ih_l0": g.standard_normal((4 * h, i)).astype(np.float32),
        "weight_hh_l0": g.standard_normal((4 * h, h)).astype(np.float32),
        "bias_ih_l0": g.standard_normal(4 * h).astype(np.float32),
        "bias_hh_l0": g.standard_normal(4 * h).astype(np.float32),
    }


def flip_stored(data):
    """The stored .npz with one bit of weight_hh_l0's data flipped: same sizes, wrong CRC-32."""
    start = data.index(b"\x93NUMPY", data.index(b"weight_hh_l0.npy"))  # the entry's .npy after its local header
    header_len = struct.unpack("<H", data[start + 8:start + 10])[0]
    at = start + 10 + header_len + 4 * 7  # element 7 of the float32 data
    b = bytearray(data)
    b[at] ^= 0x10
    return bytes(b)


def flip_deflated(data):
    """The deflated .npz with one byte of compressed data changed such that the entry still inflates to
    the same length (zlib accepts it) but to different bytes: only the CRC-32 can tell."""
    z = zipfile.ZipFile(__import__("io").BytesIO(data))
    info = z.getinfo("weight_hh_l0.npy")
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    comp = data[start:start + info.compress_size]
    good = zlib.decompress(comp, -15)
    for pos in range(len(comp) // 2, len(comp)):
        for bit in range(8):
            c = bytearray(comp)
            c[pos] ^= 1 << bit
            try:
                d = zlib.decompressobj(-15)
                out = d.decompress(bytes(c)) + d.flush()
            except zlib.error:
                continue
            if len(out) == len(good) and out != good and d.eof and not d.unused_data and out[:128] == good[:128]:
                b = bytearray(data)
                b[start + pos] ^= 1 << bit
                return bytes(b)
    raise SystemExit("no single-bit change of the deflated data keeps its length")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    files = {}
    f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"
    files["deep-nesting.npy"] = npy(f4 % ("(" * 20000 + ")" * 20000))
    files["float-shape.npy"] = npy(f4 % "(144.0, 16.0)", bytes(144 * 16 * 4))
    files["exponent-shape.npy"] = npy(f4 % "(1e3,)", bytes(4000))
    files["huge-extent.npy"] = npy(f4 % "(123456789012345678901234567890,)")
    files["version-1-5.npy"] = npy(f4 % "(2,)", bytes(8), 1, 5)
    files["version-2-7.npy"] = npy(f4 % "(2,)", bytes(8), 2, 7)
    files["control-chars-descr.npy"] = npy(f4.replace("<f4", "<f4" + FORGED) % "(2,)", bytes(8))

    sd = lstm_state_dict()
    stored = npz(sd, False)
    files["crc-flipped-stored.npz"] = flip_stored(stored)
    files["crc-flipped-deflated.npz"] = flip_deflated(npz(sd, True))
    names = [n + ".npy" for n in sd]
    names[1] = "weight_hh_l0" + FORGED + ".npy"
    files["control-chars-entry.npz"] = npz(sd, True, names)

    tensor = '{"dtype":"F32","shape":%s,"data_offsets":%s}'
    files["float-shape.safetensors"] = safetensors('{"w":' + tensor % ("[144.0,16.0]", "[0,9216]") + "}", bytes(9216))
    files["float-offsets.safetensors"] = safetensors('{"w":' + tensor % ("[2,3]", "[0.0,24.0]") + "}", bytes(24))
    files["exponent-offsets.safetensors"] = safetensors('{"w":' + tensor % ("[2,3]", "[0,2.4e1]") + "}", bytes(24))
    files["overflow-offsets.safetensors"] = safetensors(
        '{"w":' + tensor % ("[2,3]", "[0,18446744073709551640]") + "}", bytes(24))
    files["control-chars-name.safetensors"] = safetensors(json.dumps(
        {"weight_ih_l0" + FORGED: {"dtype": "F32\u202e", "shape": [1], "data_offsets": [0, 4]}}), bytes(4))
    files["deep-nesting.safetensors"] = safetensors('{"w":' + "[" * 20000 + "]" * 20000 + "}")

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4)
    torch.save(lstm.state_dict(), OUT / "torch-state-dict.pt")
    torch.save(lstm.state_dict(), OUT / "torch-legacy.pt", _use_new_zipfile_serialization=False)
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    print(f"{len(files) + 2} files in {OUT}")


if __name__ == "__main__":
    main()

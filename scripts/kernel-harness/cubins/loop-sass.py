#!/usr/bin/env python3
"""The sparse persistent kernel's step loop, counted in SASS instructions, without a GPU.

Compiles sparse_persistent_rnn.cu with nvcc (-cubin, sm_90, -O3) for each variant's defines, disassembles the kernel's
.text section with nvdisasm (read straight from the cubin's ELF: cuobjdump on this development machine's toolkit
refuses these cubins), takes the step loop as the span of the longest backward branch, and prints the loop's static
instruction count by opcode, the first variant as the baseline and each other one's difference to it.

Why it is worth having: the loop's straight-line code is what every warp issues each step (the spin loops inside it
run only while waiting), and on the H100 a step's arithmetic time tracks it. Checked against Nsight Compute
(results/suite/session18/README.md): for relu 5760 / 10% / batch 4 this script's counts (equal rows 835, the warp tail
893: +58) track the executed instructions a warp and step ncu measured (709 and 768: +59; the static counts also hold
the spin loops' and fault paths' cold code), opcode by opcode within one or two.

    python3 scripts/kernel-harness/cubins/loop-sass.py \\
        "rows18:-DSPRNN_CELL=0 -DSPRNN_HIDDEN=5760 ... -DSPRNN_SLOTS=54 -DSPRNN_ROW_SLOTS=18" \\
        "tail4:-DSPRNN_CELL=0 -DSPRNN_HIDDEN=5760 ... -DSPRNN_SLOTS=55 -DSPRNN_ROW_SLOTS=17 -DSPRNN_TAIL_SLOTS=4"

Needs nvcc and nvdisasm on PATH (nvdisasm of CUDA 11.8 or later decodes sm_90: on this development machine Debian's
nvidia-cuda-toolkit's, beside the CUDA 13 nvcc, which ships none). LoopSassScriptTest runs it where both are found.
Each argument is LABEL:DEFINES (the defines `sprnn plan` prints, or SpecDefines.java in this folder gives, with -D).
"""
import collections
import os
import re
import struct
import subprocess
import sys
import tempfile

KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                       "sprnn-core", "src", "main", "resources", "org", "sprnn", "kernels")


def kernel_text(cubin):
    """The bytes of the cubin's .text section of sparse_persistent_rnn (ELF64, little-endian)."""
    d = open(cubin, "rb").read()
    if d[:4] != b"\x7fELF":
        raise SystemExit(f"{cubin}: not an ELF file")
    shoff = struct.unpack_from("<Q", d, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
    secs = [struct.unpack_from("<IIQQQQ", d, shoff + i * shentsize) for i in range(shnum)]
    strtab = secs[shstrndx][4]
    for name, _type, _flags, _addr, off, size in secs:
        n = d[strtab + name:d.index(b"\0", strtab + name)].decode()
        if n == ".text.sparse_persistent_rnn":
            return d[off:off + size]
    raise SystemExit(f"{cubin}: no .text.sparse_persistent_rnn section")


def disassemble(text, work):
    path = os.path.join(work, "text.bin")
    open(path, "wb").write(text)
    out = subprocess.run(["nvdisasm", "-b", "SM90", path], capture_output=True, text=True, check=True).stdout
    ins = []
    for line in out.splitlines():
        m = re.match(r"\s*/\*([0-9a-f]+)\*/\s+(.*?)\s*;", line)
        if m:
            ins.append((int(m.group(1), 16), m.group(2)))
    return ins


def opcode(s):
    s = re.sub(r"^@!?U?P\w+\s+", "", s.strip())
    return s.split()[0] if s else "?"


def step_loop(ins):
    """The instructions between the target and the source of the longest backward branch."""
    best = None
    for addr, s in ins:
        m = re.search(r"\bBRA\s+(0x[0-9a-f]+)", s)
        if m:
            target = int(m.group(1), 16)
            if target < addr and (best is None or addr - target > best[1] - best[0]):
                best = (target, addr)
    if best is None:
        raise SystemExit("no backward branch: no step loop found")
    return [s for addr, s in ins if best[0] <= addr <= best[1]]


def count(label, defines, work):
    cubin = os.path.join(work, label + ".cubin")
    cmd = ["nvcc", "-cubin", "-arch=sm_90", "-O3", "-I" + KERNELS, *defines.split(), "-Xptxas", "-v", "-o", cubin,
           os.path.join(KERNELS, "sparse_persistent_rnn.cu")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{label}: nvcc failed:\n{r.stderr[-2000:]}")
    regs = re.search(r"Used (\d+) registers", r.stderr)
    spill = re.search(r"(\d+) bytes spill stores", r.stderr)
    loop = step_loop(disassemble(kernel_text(cubin), work))
    return collections.Counter(opcode(s) for s in loop), len(loop), regs.group(1) if regs else "?", spill.group(1) if spill else "?"


def main():
    if len(sys.argv) < 2 or any(":" not in a for a in sys.argv[1:]):
        raise SystemExit(__doc__)
    with tempfile.TemporaryDirectory() as work:
        results = []
        for arg in sys.argv[1:]:
            label, defines = arg.split(":", 1)
            results.append((label, *count(label, defines, work)))
    for label, ops, n, regs, spill in results:
        print(f"{label}: {n} instructions in the step loop, {regs} registers, {spill} B spilled")
    base = results[0][1]
    for label, ops, n, _regs, _spill in results[1:]:
        print(f"\n{label} against {results[0][0]} ({n - results[0][2]:+d}):")
        for k in sorted(set(base) | set(ops), key=lambda k: -(ops[k] - base[k])):
            if ops[k] != base[k]:
                print(f"  {k:24} {base[k]:5d} {ops[k]:5d} {ops[k] - base[k]:+d}")


if __name__ == "__main__":
    main()

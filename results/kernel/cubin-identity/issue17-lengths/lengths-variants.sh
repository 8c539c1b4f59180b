#!/bin/bash
# lengths-variants.sh — compiles every sparse_persistent_rnn.cu kernel of specs.txt (the engines' own defines, from
# cubin-identity.sh) once as it is and once with -DSPRNN_LENGTHS=1 (what KernelSpec#withLengths adds), for sm_90 with
# ptxas -v, and prints per kernel: registers, spill bytes (stores/loads) of each, and whether the cubins differ.
# Usage (repository root, after cubin-identity.sh wrote OUT/specs.txt): lengths-variants.sh OUT
set -eu
OUT=${1:?usage: lengths-variants.sh OUT}
KDIR=sprnn-core/src/main/resources/org/sprnn/kernels
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stat() { grep -o 'Used [0-9]* registers' "$1" | grep -o '[0-9]*' | tr '\n' ' '; grep -o '[0-9]* bytes spill stores, [0-9]* bytes spill loads' "$1" | sed 's/ bytes spill stores, /\//; s/ bytes spill loads//' | tr '\n' ' '; }
echo "# $(nvcc --version | grep -o 'release [^,]*, V[0-9.]*'), sm_90; name | default: regs spill(st/ld) | SPRNN_LENGTHS=1: regs spill(st/ld) | cubin"
grep ' sparse_persistent_rnn.cu ' "$OUT/specs.txt" | while read -r name src defs; do
  # shellcheck disable=SC2086
  (cd "$KDIR" && nvcc -arch=sm_90 -cubin -std=c++17 -Xptxas -v $defs -o "$work/a.cubin" "$src" > "$work/a.log" 2>&1)
  # shellcheck disable=SC2086
  (cd "$KDIR" && nvcc -arch=sm_90 -cubin -std=c++17 -Xptxas -v $defs -DSPRNN_LENGTHS=1 -o "$work/b.cubin" "$src" > "$work/b.log" 2>&1) \
    || { echo "COMPILE FAILED $name with SPRNN_LENGTHS=1"; cat "$work/b.log"; exit 1; }
  echo "$name | $(stat "$work/a.log")| $(stat "$work/b.log")| $(cmp -s "$work/a.cubin" "$work/b.cubin" && echo same || echo differs)"
done

#!/usr/bin/env bash
# gpu-figures.sh — the data of issue 15's figures, one `sprnn bench sweep` (or ablation) each, on a GPU machine with no
# JDK; plot them here afterwards with `./sprnn plot` (the bundle's runtime has no java.desktop).
#
#   scripts/dist.sh                                                            # here
#   bash scripts/gpu-pack.sh OUT -- bash scripts/gpu-figures.sh dist/sprnn-linux-x64.tar.xz @OUT@ 1,3     # there
#   ./sprnn plot --out results/figures/1-density.svg r/fig1/sweep.csv          # here, after unpacking OUT/all.tgz
#
# FIGURES (default 1,2,3,4,5), each its own folder under OUT with sweep.csv/jsonl and the log, each cut at
# SPRNN_FIGURE_S seconds (default 150; the rows so far are kept):
#   1  speed vs density (1%..100%) at hidden 1152, 2304, 4608, 5760, batch 4, T 256: where sparse persistent stops winning
#   2  µs per step vs hidden size (256..8192) at densities 5%, 10%, 30%, batch 4: capacity limits (infeasible rows say
#      why) and the largest layer on-chip per density
#   3  batch 1..32 at hidden 2304, densities 10% and 30%
#   4  T 16..2048 at hidden 2304, density 10%, batch 4: per-step cost and per-sequence latency
#   5  the ablation (the paper's Table 1) at 1152/10%, with the exchange floor
set -uo pipefail
tarball=${1:?usage: gpu-figures.sh TARBALL OUT [FIGURES]}
OUT=${2:?usage: gpu-figures.sh TARBALL OUT [FIGURES]}
FIGS=${3:-1,2,3,4,5}
LIMIT=${SPRNN_FIGURE_S:-150}
SEED=${SPRNN_SEED:-$(( $(date +%s) % 100000 ))}
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
S="$work/sprnn-linux-x64/bin/sprnn"
export SPRNN_CACHE="$work/cache"
engines=cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm,cuda-spmm,cuda-cudnn
failed=0
fig() { # fig N ARGS...: one sweep into OUT/figN
  local n=$1; shift
  mkdir -p "$OUT/fig$n"
  local t0=$SECONDS
  timeout $((LIMIT + 120)) "$S" bench sweep --deadline-s "$LIMIT" --seed "$SEED" --engines "$engines" --out-dir "$OUT/fig$n" "$@" \
    > "$OUT/fig$n/sweep.log" 2>&1
  local rc=$?
  printf 'figure %s: exit %s, %ss\n' "$n" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
}
has() { [[ ",$FIGS," == *",$1,"* ]]; }
echo "seed $SEED figures $FIGS" >> "$OUT/steps.txt"
has 1 && fig 1 --hidden 1152,2304,4608,5760 --density 0.01,0.05,0.1,0.2,0.3,0.5,1 --batch 4 --steps 256
has 2 && fig 2 --hidden 256,512,1152,2304,3456,4608,5760,6912,8192 --density 0.05,0.1,0.3 --batch 4 --steps 256 --verify-steps 4
has 3 && fig 3 --hidden 2304 --density 0.1,0.3 --batch 1,2,4,8,16,32 --steps 256
has 4 && fig 4 --hidden 2304 --density 0.1 --batch 4 --steps 16,64,256,1024,2048
if has 5; then
  mkdir -p "$OUT/fig5"
  timeout $((LIMIT + 120)) "$S" bench ablation --baselines cuda-gemm,cuda-spmm --out-dir "$OUT/fig5" > "$OUT/fig5/ablation.log" 2>&1
  rc=$?; printf 'figure 5: exit %s\n' "$rc" | tee -a "$OUT/steps.txt"; [ "$rc" -eq 0 ] || failed=$((failed + 1))
fi
echo "failed figures: $failed"
exit "$failed"

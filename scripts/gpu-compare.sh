#!/usr/bin/env bash
# gpu-compare.sh — two builds side by side on the same GPU, for a refactoring that must not change speed:
# the three anchor shapes (rnn_relu, batch 4, T 256: 1152/10%, 2304/30%, 5760/10%) with cuda-sparse-persistent,
# cuda-gemm and cuda-spmm, the two bundles alternating for ROUNDS rounds (default 2) so drift hits both alike.
#
#   bash scripts/gpu-compare.sh BEFORE.tar.xz AFTER.tar.xz OUT [ROUNDS]
#
# Rows go to OUT/before/bench.csv and OUT/after/bench.csv; logs beside them.
set -uo pipefail
before=${1:?usage: gpu-compare.sh BEFORE.tar.xz AFTER.tar.xz OUT [ROUNDS]}
after=${2:?usage: gpu-compare.sh BEFORE.tar.xz AFTER.tar.xz OUT [ROUNDS]}
OUT=${3:?usage: gpu-compare.sh BEFORE.tar.xz AFTER.tar.xz OUT [ROUNDS]}
ROUNDS=${4:-2}
work=$(mktemp -d)
for side in before after; do
  mkdir -p "$work/$side" "$OUT/$side"
  tar -C "$work/$side" -xJf "$([ $side = before ] && echo "$before" || echo "$after")"
done
export SPRNN_CACHE="$work/cache"
engines=cuda-sparse-persistent,cuda-gemm,cuda-spmm
for r in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    S="$work/$side/sprnn-linux-x64/bin/sprnn"
    for shape in "1152 0.1" "2304 0.3" "5760 0.1"; do
      set -- $shape
      timeout 120 "$S" bench --hidden "$1" --batch 4 --density "$2" --steps 256 --engines $engines --seed $((r * 7)) \
        --out-dir "$OUT/$side" > "$OUT/$side/bench-$1-r$r.log" 2>&1
      echo "$side round $r hidden $1: exit $?"
    done
  done
done
for side in before after; do
  echo "== $side"; grep -h "^| cuda" "$OUT/$side"/bench-*.log | cut -c1-120
done

#!/usr/bin/env bash
# gpu-bidir.sh — issue 17's bidirectional layers on the GPU: the two directions of a layer one after the other on the
# whole device (sequential) against both at once, each planned for half the SMs (halves), for cuda-sparse-persistent,
# each verified against cpu-reference first (the bidirectional model's, both directions, final states).
# The recurrent time is both directions' launches between CUDA events (input projection excluded): halves = the two
# grids' launches interleaved on two streams, from the first start to the later stop; sequential = the sum.
#
#   scripts/dist.sh                                                                          # here
#   bash scripts/gpu-pack.sh $OUT -- bash scripts/gpu-bidir.sh dist/sprnn-linux-x64.tar.xz @OUT@/bidir   # there
set -uo pipefail
tarball=${1:?usage: gpu-bidir.sh TARBALL OUT}
OUT=${2:?usage: gpu-bidir.sh TARBALL OUT}
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
S="$work/sprnn-linux-x64/bin/sprnn"
export SPRNN_CACHE="$work/cache"
SEED=${SPRNN_SEED:-$(( $(date +%s) % 100000 ))}
failed=0
for shape in "rnn_relu 1152 0.1 4" "rnn_relu 2304 0.3 4" "rnn_relu 1152 0.1 1" "lstm 1024 0.1 4"; do
  read -r cell h d b <<< "$shape"
  t0=$SECONDS
  timeout 120 "$S" bench --bidirectional --cell "$cell" --hidden "$h" --density "$d" --batch "$b" --steps 256 --seed "$SEED" \
    --engines cuda-sparse-persistent --bidir-modes sequential,halves --reps 30 --out-dir "$OUT" \
    >> "$OUT/bidir.log" 2>&1
  rc=$?
  printf '%-32s exit %s %ss\n' "$cell $h $d b$b" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
done
grep -E '^\| (cuda|auto)' "$OUT/bidir.log" | cut -c1-200
exit "$failed"

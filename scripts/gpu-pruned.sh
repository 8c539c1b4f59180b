#!/usr/bin/env bash
# gpu-pruned.sh — issue 16's rows as pruning leaves them: one PyTorch layer per shape pruned per matrix (magnitude, rows
# of unequal length) and per row (every row the same count) by scripts/make_pruned_pair.py, then both files through
# `sprnn bench --model A --model B --model A --model B` on cuda-sparse-persistent in one process (batch 4, T 256; each
# model verified against cpu-reference first), with `sprnn plan` of each file beside; then the per-matrix file once more
# with SPRNN_ROW_ENDS=compiled (no tail: the general slot loop's run-time row-end test, as before the tail layout). Shapes: relu 1152/10%, 2304/30%,
# 5760/10% unless SPRNN_PRUNED_SHAPES (make_pruned_pair.py's --shapes) says otherwise. Needs python3 with PyTorch (the
# GPU machine's) and this checkout's scripts/. SPRNN_PRUNED_ENGINES: other engines (e.g. cpu, to try the script here).
# SPRNN_PRUNED_MODES (e.g. "cta tail-smem"): each shape's pair once more for each of these SPRNN_ROW_ENDS modes (cta: warps
# of one row share a tail across their CTA, PackedLayer#packCtaTail; tail-smem: the warp tail's sums in shared memory),
# both files in one process; SPRNN_PRUNED_CTA=1 adds cta.
# SPRNN_PRUNED_DEFINES (e.g. "SPRNN_LOAD_AHEAD=2 SPRNN_LOAD_AHEAD=8"): each shape's pair once more for
# each of these sets of optional kernel switches (SPRNN_KERNEL_DEFINES), both files in one process.
# SPRNN_PRUNED_WARPS (e.g. "9 12"): each shape's pair once more for each of these warps per CTA (SPRNN_WARPS), both
# files in one process, to measure a partition the planner does not pick (two rows a warp share a tail at 2304 / 30%).
#
#   scripts/dist.sh                                                                                  # here
#   bash scripts/gpu-pack.sh $OUT -- bash scripts/gpu-pruned.sh dist/sprnn-linux-x64.tar.xz @OUT@/pruned   # there
set -uo pipefail
tarball=${1:?usage: gpu-pruned.sh TARBALL OUT}
OUT=${2:?usage: gpu-pruned.sh TARBALL OUT}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
S="$work/sprnn-linux-x64/bin/sprnn"
export SPRNN_CACHE="$work/cache"
SEED=${SPRNN_SEED:-$(( $(date +%s) % 100000 ))}
shapes=${SPRNN_PRUNED_SHAPES:-rnn_relu:1152:0.1,rnn_relu:2304:0.3,rnn_relu:5760:0.1}
python3 "$here/make_pruned_pair.py" "$work/m" --shapes "$shapes" --seed "$SEED" | tee "$OUT/models.txt"
failed=0
for spec in ${shapes//,/ }; do
  IFS=: read -r cell h d <<< "$spec"
  d=$(python3 -c "print(f'{float($d):g}')")
  row="$work/m/${cell}_${h}_${d}_row.safetensors" matrix="$work/m/${cell}_${h}_${d}_matrix.safetensors"
  for f in "$row" "$matrix"; do
    echo "== $(basename "$f")" >> "$OUT/plan.txt"
    SPRNN_ROW_ENDS=tail "$S" plan --model "$f" --batch 4 >> "$OUT/plan.txt" 2>&1
  done
  t0=$SECONDS
  SPRNN_ROW_ENDS=tail timeout 200 "$S" bench --model "$row" --model "$matrix" --model "$row" --model "$matrix" --batch 4 --steps 256 --seed "$SEED" \
    --engines "${SPRNN_PRUNED_ENGINES:-cuda-sparse-persistent}" --reps 30 --wall-seconds 10 --out-dir "$OUT" > "$OUT/bench_${cell}_${h}.log" 2>&1
  rc=$?
  printf '%-28s exit %s %ss\n' "$cell $h $d" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || { failed=$((failed + 1)); tail -3 "$OUT/bench_${cell}_${h}.log"; }
  grep -E '^(model [0-9]|\| [0-9] )' "$OUT/bench_${cell}_${h}.log" | cut -c1-180
  # the per-matrix file again without the tail (SPRNN_ROW_ENDS=compiled: rows of unequal length run the general slot
  # loop, row ends tested at run time, as before the tail), for what the tail layout buys; SPRNN_PRUNED_NOTAIL=0 skips it
  if [ "${SPRNN_PRUNED_NOTAIL:-1}" = 1 ]; then
  echo "== $(basename "$matrix") SPRNN_ROW_ENDS=compiled" >> "$OUT/plan.txt"
  SPRNN_ROW_ENDS=compiled "$S" plan --model "$matrix" --batch 4 >> "$OUT/plan.txt" 2>&1
  t0=$SECONDS
  SPRNN_ROW_ENDS=compiled timeout 120 "$S" bench --model "$matrix" --batch 4 --steps 256 --seed "$SEED" \
    --engines "${SPRNN_PRUNED_ENGINES:-cuda-sparse-persistent}" --reps 30 --wall-seconds 10 > "$OUT/bench_${cell}_${h}_notail.log" 2>&1
  rc=$?
  printf '%-28s exit %s %ss\n' "$cell $h $d without the tail" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
  grep -E '^\| ' "$OUT/bench_${cell}_${h}_notail.log" | tail -1 | cut -c1-180
  fi
  modes=${SPRNN_PRUNED_MODES:-}; [ "${SPRNN_PRUNED_CTA:-0}" = 1 ] && modes="cta $modes"
  for mode in $modes; do
    for f in "$row" "$matrix"; do
      echo "== $(basename "$f") SPRNN_ROW_ENDS=$mode" >> "$OUT/plan.txt"
      SPRNN_ROW_ENDS=$mode "$S" plan --model "$f" --batch 4 >> "$OUT/plan.txt" 2>&1
    done
    t0=$SECONDS
    SPRNN_ROW_ENDS=$mode timeout 200 "$S" bench --model "$row" --model "$matrix" --model "$row" --model "$matrix" --batch 4 --steps 256 \
      --seed "$SEED" --engines "${SPRNN_PRUNED_ENGINES:-cuda-sparse-persistent}" --reps 30 --wall-seconds 10 \
      > "$OUT/bench_${cell}_${h}_$mode.log" 2>&1
    rc=$?
    printf '%-28s exit %s %ss\n' "$cell $h $d $mode" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
    [ "$rc" -eq 0 ] || { failed=$((failed + 1)); tail -3 "$OUT/bench_${cell}_${h}_$mode.log"; }
    grep -E '^(model [0-9]|\| [0-9] )' "$OUT/bench_${cell}_${h}_$mode.log" | cut -c1-180
  done
  for defs in ${SPRNN_PRUNED_DEFINES:-}; do
    t0=$SECONDS
    tag=$(echo "$defs" | tr -c 'A-Za-z0-9\n' '_')
    SPRNN_KERNEL_DEFINES=$defs SPRNN_ROW_ENDS=tail timeout 200 "$S" bench --model "$row" --model "$matrix" --model "$row" --model "$matrix" \
      --batch 4 --steps 256 --seed "$SEED" --engines "${SPRNN_PRUNED_ENGINES:-cuda-sparse-persistent}" --reps 30 --wall-seconds 10 \
      > "$OUT/bench_${cell}_${h}_$tag.log" 2>&1
    rc=$?
    printf '%-28s exit %s %ss\n' "$cell $h $d $defs" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
    [ "$rc" -eq 0 ] || { failed=$((failed + 1)); tail -3 "$OUT/bench_${cell}_${h}_$tag.log"; }
    grep -E '^(model [0-9]|\| [0-9] )' "$OUT/bench_${cell}_${h}_$tag.log" | cut -c1-180
  done
  for w in ${SPRNN_PRUNED_WARPS:-}; do
    for f in "$row" "$matrix"; do
      echo "== $(basename "$f") SPRNN_WARPS=$w" >> "$OUT/plan.txt"
      SPRNN_WARPS=$w SPRNN_ROW_ENDS=tail "$S" plan --model "$f" --batch 4 >> "$OUT/plan.txt" 2>&1
    done
    t0=$SECONDS
    SPRNN_WARPS=$w SPRNN_ROW_ENDS=tail timeout 150 "$S" bench --model "$row" --model "$matrix" --model "$row" --model "$matrix" --batch 4 \
      --steps 256 --seed "$SEED" --engines "${SPRNN_PRUNED_ENGINES:-cuda-sparse-persistent}" --reps 30 --wall-seconds 10 \
      > "$OUT/bench_${cell}_${h}_w$w.log" 2>&1
    rc=$?
    printf '%-28s exit %s %ss\n' "$cell $h $d warps $w" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
    grep -E '^(model [0-9]|\| [0-9] )' "$OUT/bench_${cell}_${h}_w$w.log" | cut -c1-180
  done
done
echo "seed $SEED" >> "$OUT/steps.txt"
exit "$failed"

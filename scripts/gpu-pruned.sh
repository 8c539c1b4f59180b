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
# both files in one process; SPRNN_PRUNED_CTA=1 adds cta. A mode may carry kernel switches: cta+SPRNN_CTA_TAIL_DEFER=0.
# SPRNN_PRUNED_DEFINES (e.g. "SPRNN_LOAD_AHEAD=2 SPRNN_LOAD_AHEAD=8"): each shape's pair once more for
# each of these sets of optional kernel switches (SPRNN_KERNEL_DEFINES), both files in one process.
# SPRNN_PRUNED_WARPS (e.g. "9 12"): each shape's pair once more for each of these warps per CTA (SPRNN_WARPS), both
# files in one process, to measure a partition the planner does not pick (two rows a warp share a tail at 2304 / 30%).
# SPRNN_PRUNED_EXCHANGES (e.g. "barrier timestamps"): the same for each exchange (SPRNN_EXCHANGE).
# SPRNN_PRUNED_ENVS (e.g. "SPRNN_PLACEMENT=cta SPRNN_PLACEMENT=dealt"): the same for each set of the engine's environment switches
# (NAME=value, several joined by +), in the order given (a repeat of the default after a variant shows the drift).
# Rows: OUT/bench.csv for the default pair, OUT/rows_notail/bench.csv for the per-matrix file without the tail, and
# OUT/rows_<variant>/bench.csv for each variant above (the variant is not a column of the CSV, so each has its own file).
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
# pair TAG LABEL PLAN ENV... [-- BENCH_ARGS...]: both files planned (PLAN=1) and benched as R, M, R, M in one process with
# the environment ENV (NAME=value ...), into OUT/bench_<cell>_<h>TAG.log, one verdict line in OUT/steps.txt
pair() {
  local tag=$1 label=$2 plan=$3 f t0 rc
  shift 3
  local envs=() extra=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift && extra=("$@")
  if [ "$plan" = 1 ]; then
    for f in "$row" "$matrix"; do
      echo "== $(basename "$f")${label:+ $label}" >> "$OUT/plan.txt"
      env "${envs[@]}" "$S" plan --model "$f" --batch 4 >> "$OUT/plan.txt" 2>&1
    done
  fi
  local log="$OUT/bench_${cell}_${h}$tag.log" n=2
  # a variant given twice (a repeat to show drift) logs beside the first, not over it
  while [ -e "$log" ]; do log="$OUT/bench_${cell}_${h}${tag}_$n.log"; n=$((n + 1)); done
  t0=$SECONDS
  env "${envs[@]}" timeout 200 "$S" bench --model "$row" --model "$matrix" --model "$row" --model "$matrix" --batch 4 --steps 256 \
    --seed "$SEED" --engines "${SPRNN_PRUNED_ENGINES:-cuda-sparse-persistent}" --reps 30 --wall-seconds 10 "${extra[@]}" > "$log" 2>&1
  rc=$?
  printf '%-28s exit %s %ss\n' "$cell $h $d${label:+ $label}" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || { failed=$((failed + 1)); tail -3 "$log"; }
  grep -E '^(model [0-9]|\| [0-9] )' "$log" | cut -c1-180
}
for spec in ${shapes//,/ }; do
  IFS=: read -r cell h d <<< "$spec"
  d=$(python3 -c "print(f'{float($d):g}')")
  row="$work/m/${cell}_${h}_${d}_row.safetensors" matrix="$work/m/${cell}_${h}_${d}_matrix.safetensors"
  pair "" "" 1 SPRNN_ROW_ENDS=tail -- --out-dir "$OUT"
  # the per-matrix file again without the tail (SPRNN_ROW_ENDS=compiled: rows of unequal length run the general slot
  # loop, row ends tested at run time, as before the tail), for what the tail layout buys; SPRNN_PRUNED_NOTAIL=0 skips it
  if [ "${SPRNN_PRUNED_NOTAIL:-1}" = 1 ]; then
    echo "== $(basename "$matrix") SPRNN_ROW_ENDS=compiled" >> "$OUT/plan.txt"
    SPRNN_ROW_ENDS=compiled "$S" plan --model "$matrix" --batch 4 >> "$OUT/plan.txt" 2>&1
    t0=$SECONDS
    SPRNN_ROW_ENDS=compiled timeout 120 "$S" bench --model "$matrix" --batch 4 --steps 256 --seed "$SEED" \
      --engines "${SPRNN_PRUNED_ENGINES:-cuda-sparse-persistent}" --reps 30 --wall-seconds 10 --out-dir "$OUT/rows_notail" \
      > "$OUT/bench_${cell}_${h}_notail.log" 2>&1
    rc=$?
    printf '%-28s exit %s %ss\n' "$cell $h $d without the tail" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
    grep -E '^\| ' "$OUT/bench_${cell}_${h}_notail.log" | tail -1 | cut -c1-180
  fi
  modes=${SPRNN_PRUNED_MODES:-}; [ "${SPRNN_PRUNED_CTA:-0}" = 1 ] && modes="cta $modes"
  for m in $modes; do
    # MODE or MODE+SPRNN_X=v (kernel switches for that mode, SPRNN_KERNEL_DEFINES; several joined by +)
    mode=${m%%+*} defs=""
    [ "$m" != "$mode" ] && defs=$(echo "${m#*+}" | tr '+' ',')
    tag=$(echo "$m" | tr -c 'A-Za-z0-9\n' '_')
    menv=(SPRNN_ROW_ENDS="$mode"); [ -n "$defs" ] && menv+=(SPRNN_KERNEL_DEFINES="$defs")  # else an exported one stands
    pair "_$tag" "SPRNN_ROW_ENDS=$mode${defs:+ $defs}" 1 "${menv[@]}" -- --out-dir "$OUT/rows_$tag"
  done
  for defs in ${SPRNN_PRUNED_DEFINES:-}; do
    tag=$(echo "$defs" | tr -c 'A-Za-z0-9\n' '_')
    pair "_$tag" "$defs" 0 SPRNN_KERNEL_DEFINES="$defs" SPRNN_ROW_ENDS=tail -- --out-dir "$OUT/rows_$tag"
  done
  for x in ${SPRNN_PRUNED_EXCHANGES:-}; do
    pair "_x$x" "SPRNN_EXCHANGE=$x" 1 SPRNN_EXCHANGE="$x" SPRNN_ROW_ENDS=tail -- --out-dir "$OUT/rows_x$x"
  done
  for e in ${SPRNN_PRUNED_ENVS:-}; do
    # NAME=value, several joined by + (e.g. SPRNN_PLACEMENT=cta): any of the engine's switches, both files in one process
    tag=$(echo "$e" | tr -c 'A-Za-z0-9\n' '_')
    IFS=+ read -r -a eenv <<< "$e"
    pair "_$tag" "${e//+/ }" 1 SPRNN_ROW_ENDS=tail "${eenv[@]}" -- --out-dir "$OUT/rows_$tag"  # the entry's own win
  done
  for w in ${SPRNN_PRUNED_WARPS:-}; do
    pair "_w$w" "SPRNN_WARPS=$w" 1 SPRNN_WARPS="$w" SPRNN_ROW_ENDS=tail -- --out-dir "$OUT/rows_w$w"
  done
done
echo "seed $SEED" >> "$OUT/steps.txt"
exit "$failed"

#!/usr/bin/env bash
# plot-figures.sh — draws every figure of issue 15 from the rows scripts/gpu-figures.sh wrote, here (no GPU; a JDK,
# through ./sprnn plot). RESULTS is the unpacked r/ folder of the device calls (figN/sweep.csv, fig5/ablation.csv):
#
#   tar xzf figA/all.tgz && tar xzf figB/all.tgz          # both into r/
#   bash scripts/plot-figures.sh r results/figures
#
# Writes OUT/<figure>.svg and .png (SPRNN_PLOT_FORMATS, default "svg png"); a figure whose folder is absent is skipped
# with a line, so one call's rows are enough for its figures. The panels follow the data: one per hidden size (1),
# density (2, 3, 6a) or cell (6b) found in the rows. Exit code: the number of charts that failed.
#   1        speed-up over the fastest dense engine (SPRNN_PLOT_BASELINE, default cuda-gemm,cuda-cudnn,cuda-dense-persistent)
#            vs density, one chart per hidden size
#   2        µs per step vs hidden size per density, each engine's last timed size marked where it was refused beyond it
#   3        µs per step vs batch per density
#   4        µs per step and µs per sequence vs T
#   5        the ablation's bars, exchange floors and baselines
#   6        µs per layer-sequence of each case and engine, and the speed-up over the fastest other engine
#            (SPRNN_PLOT_OTHERS, default the dense engines and cuda-spmm)
# SPRNN overrides the command (default: the repository's ./sprnn launcher), e.g. "java -cp ... org.sprnn.cli.Main".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
R=${1:?usage: plot-figures.sh RESULTS_DIR OUT_DIR}
OUT=${2:?usage: plot-figures.sh RESULTS_DIR OUT_DIR}
read -ra S <<< "${SPRNN:-$root/sprnn}"
read -ra FORMATS <<< "${SPRNN_PLOT_FORMATS:-svg png}"
BASE=${SPRNN_PLOT_BASELINE:-cuda-gemm,cuda-cudnn,cuda-dense-persistent}
# figure 6's speed-up charts: over the fastest OTHER engine, cuSPARSE included (as results/figures/SUMMARY.md's tables)
OTHERS=${SPRNN_PLOT_OTHERS:-cuda-gemm,cuda-cudnn,cuda-dense-persistent,cuda-spmm}
mkdir -p "$OUT"
failed=0 drawn=0

plot() { # plot NAME ARGS... FILES: one chart in every format
  local name=$1 fmt; shift
  for fmt in "${FORMATS[@]}"; do
    if "${S[@]}" plot --out "$OUT/$name.$fmt" "$@"; then drawn=$((drawn + 1)); else
      echo "plot-figures.sh: $name.$fmt failed" >&2; failed=$((failed + 1)); fi
  done
}
# values COLUMN FILES...: the distinct values of a column, numerically sorted (sweep.csv quotes only its last column)
values() {
  local col=$1; shift
  awk -F, -v c="$col" 'FNR == 1 { k = 0; for (i = 1; i <= NF; i++) if ($i == c) k = i; next } k { print $k }' "$@" | sort -u | sort -g
}
# csvs NAME...: the sweep.csv files of these figure folders that exist
csvs() { local d; for d in "$@"; do [ -f "$R/$d/sweep.csv" ] && echo "$R/$d/sweep.csv"; done; }
skip() { echo "figure $1: no rows under $R ($2), skipped"; }

mapfile -t f1 < <(csvs fig1 fig1a fig1b fig1c)
if [ "${#f1[@]}" -gt 0 ]; then
  for h in $(values hidden "${f1[@]}"); do
    plot "1-density-h$h" --x density --y speedup --baseline "$BASE" --log-x --where "hidden=$h" \
      --title "Speed-up over the fastest dense engine vs W_hh density, hidden $h" "${f1[@]}"
  done
else skip 1 "fig1*/sweep.csv"; fi

mapfile -t f2 < <(csvs fig2 fig2big)
if [ "${#f2[@]}" -gt 0 ]; then
  for d in $(values density "${f2[@]}"); do
    p=$(awk -v d="$d" 'BEGIN { printf "%g", 100 * d }')
    plot "2-hidden-d$p" --x hidden --log-y --where "density=$d" \
      --title "µs per step vs hidden size at density $p% (dashed: an engine's last size before it was refused)" "${f2[@]}"
  done
else skip 2 "fig2/sweep.csv, fig2big/sweep.csv"; fi

mapfile -t f3 < <(csvs fig3)
if [ "${#f3[@]}" -gt 0 ]; then
  for d in $(values density "${f3[@]}"); do
    p=$(awk -v d="$d" 'BEGIN { printf "%g", 100 * d }')
    plot "3-batch-d$p" --x batch --log-x --where "density=$d" --title "µs per step vs batch at density $p%" "${f3[@]}"
  done
else skip 3 "fig3/sweep.csv"; fi

mapfile -t f4 < <(csvs fig4)
if [ "${#f4[@]}" -gt 0 ]; then
  plot 4-steps-per-step --x steps --log-x --title "µs per step vs sequence length T" "${f4[@]}"
  plot 4-steps-per-sequence --x steps --y us-per-sequence --log-x --log-y --title "Recurrent latency of one sequence vs T" "${f4[@]}"
else skip 4 "fig4/sweep.csv"; fi

if [ -f "$R/fig5/ablation.csv" ]; then
  plot 5-ablation --title "Ablation of the sparse persistent kernel (the paper's Table 1), with the exchange floors" "$R/fig5/ablation.csv"
else skip 5 "fig5/ablation.csv"; fi

mapfile -t f6a < <(csvs fig6a)
if [ "${#f6a[@]}" -gt 0 ]; then
  for d in $(values density "${f6a[@]}"); do
    p=$(awk -v d="$d" 'BEGIN { printf "%g", 100 * d }')
    plot "6-cases-d$p" --y us-per-layer-sequence --where "density=$d" \
      --title "NMT and Deep Speech 2 layers at density $p%: time per layer-sequence" "${f6a[@]}"
    plot "6-cases-speedup-d$p" --y speedup --baseline "$OTHERS" --where "density=$d" \
      --title "NMT and Deep Speech 2 layers at density $p%: speed-up over the fastest other engine" "${f6a[@]}"
  done
else skip 6a "fig6a/sweep.csv"; fi
mapfile -t f6b < <(csvs fig6b)
if [ "${#f6b[@]}" -gt 0 ]; then
  for c in $(values cell "${f6b[@]}"); do
    plot "6-deepbench-$c" --y us-per-layer-sequence --where "cell=$c" \
      --title "DeepBench inference set, $c layers: time per layer-sequence" "${f6b[@]}"
    plot "6-deepbench-$c-speedup" --y speedup --baseline "$OTHERS" --where "cell=$c" \
      --title "DeepBench inference set, $c layers: speed-up over the fastest other engine" "${f6b[@]}"
  done
else skip 6b "fig6b/sweep.csv"; fi

echo "plot-figures.sh: $drawn chart(s) in $OUT, $failed failed"
exit "$failed"

#!/usr/bin/env bash
# gpu-figures.sh — the data of issue 15's figures, one `sprnn bench sweep` (or ablation) each, on a GPU machine with no
# JDK; draw them here afterwards with scripts/plot-figures.sh (the bundle's runtime has no java.desktop).
#
#   scripts/dist.sh                                                                            # here
#   bash scripts/gpu-pack.sh OUT -- bash scripts/gpu-figures.sh dist/sprnn-linux-x64.tar.xz @OUT@ 1,3     # there
#   tar xzf OUT/all.tgz && bash scripts/plot-figures.sh r results/figures                     # here
#
# THE DEVICE CALLS (on 2026-12-07 two calls of 296 s and 384 s of commands plus the machine's start, results/figures;
# figure 6 has grown since, so three now). Each call with the run tool's timeout_s 600; SPRNN_CALL_S caps the script
# itself (default 510 s: every sweep's --deadline-s is cut to what is left):
#
#   call A:  bash scripts/gpu-pack.sh /tmp/figA -- bash scripts/gpu-figures.sh dist/sprnn-linux-x64.tar.xz @OUT@ 1,3,4,5,2
#   call B:  bash scripts/gpu-pack.sh /tmp/figB -- bash scripts/gpu-figures.sh dist/sprnn-linux-x64.tar.xz @OUT@ 2big,6a
#   call C:  bash scripts/gpu-pack.sh /tmp/figC -- bash scripts/gpu-figures.sh dist/sprnn-linux-x64.tar.xz @OUT@ 6b
#
# (the device tool brings back OUT/all.tgz; unpack them all here into one folder: `tar xzf` each gives r/figN/ folders that do
# not overlap, then `bash scripts/plot-figures.sh r results/figures` and
# `python3 scripts/figures_summary.py r > results/figures/SUMMARY.md`).
#
# FIGURES, each its own folder under OUT with sweep.csv/jsonl (ablation.csv for 5) and the log; rnn_relu, fp16, T 256
# unless said; every point verified against cpu-reference before it is timed:
#   1     speed vs density at hidden 1152 and 2304 (1, 5, 10, 20, 30, 50, 100%), 4608 (1, 5, 10, 30, 100%), 5760 (1, 10,
#         30%), batch 4: where sparse persistent stops winning (plotted as the speed-up over the fastest dense engine)
#   2     µs per step vs hidden size 256..5760 at densities 5%, 10%, 30%, batch 4, T 256 (--verify-steps 4)
#   2big  the same at 6912, 8192, 9216 (5%, 10%) and 10240 (5%): the largest layer on-chip per density. `sprnn plan`
#         (H100 profile, no GPU) says 8192/10% fits (7,028,736 of 9,056,256 words) and 9216/10% does not; 30% fits at
#         4608 and not at 5760 (the 5760/30% row of figure 2 is the mark); 10240/5% fits
#   3     batch 1..32 at hidden 2304, densities 10% and 30%
#   4     T 16..2048 at hidden 2304, density 10%, batch 4: per-step cost and per-sequence latency
#   5     the ablation (the paper's Table 1) at 1152/10%, with the exchange floor, beside cuda-gemm and cuda-spmm
#   6     case studies: time per layer-sequence of each engine (CASES below: NMT, Deep Speech 2, DeepBench), 10% and 30%
#         for the NMT and DS2 layers, 10% for DeepBench's inference set
#
# BUDGET (measured on an H200 on 2026-12-07, results/figures/data/steps-call-*.txt: the host's model drawing, planning,
# verification and engine builds dominate, not the GPU):
#   call A  1a 34 s, 1b 46 s, 1c 37 s, 3 61 s, 4 21 s, 5 6 s, 2 89 s = 296 s
#   call B  2big 112 s + 39 s, 6a 116 s (cut by its then share of 110 s after 22 of 24 points: now 140), 6b 114 s = 384 s
#           (6b then had 27 points; with DeepBench's GRU 512 and 1024 rows, 33: share 200). Figure 6 alone (`... 6`, or
#           6a / 6b for one half) is one call of about 6 minutes.
# Each figure's --deadline-s below is its share (SPRNN_FIGURE_S overrides all), cut to what the call has left; a sweep
# cut by it keeps its rows and exits 4 (counted in the exit code, not fatal to the next figure). After the call, the
# logs' "[i/n ...]" lines and steps.txt give the real durations to correct these shares.
#
# Engines: the five GPU engines everywhere; a point where one cannot run (cuda-dense-persistent beyond its capacity, the
# sparse kernel beyond its on-chip capacity) costs only its refusal and is kept as a row: it is what marks a capacity.
set -uo pipefail
tarball=${1:?usage: gpu-figures.sh TARBALL OUT [FIGURES]}
OUT=${2:?usage: gpu-figures.sh TARBALL OUT [FIGURES]}
FIGS=${3:-1,3,4,5,2}
CALL_S=${SPRNN_CALL_S:-510}
SEED=${SPRNN_SEED:-$(( $(date +%s) % 100000 ))}
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
S="$work/sprnn-linux-x64/bin/sprnn"
export SPRNN_CACHE="$work/cache"
engines=cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm,cuda-spmm,cuda-cudnn
failed=0

# CASES of figure 6: NAME=CELL/HIDDEN/LAYERS/BATCH/T[/INPUT] (sprnn bench sweep --case), each from a source:
#
# Attention NMT, OpenNMT-py's defaults: LSTM encoder and decoder of 2 layers each, hidden 500 (enc_hid_size,
# dec_hid_size), embeddings 500, input feeding on (the decoder's first layer takes embedding + attention context, 1000),
# beam 5 (so the decoder runs at batch 5 for one sentence), sentences up to 50 tokens (the legacy preprocess's
# src_seq_length): https://github.com/OpenNMT/OpenNMT-py/blob/97111d97551c24857076a4102eabdb468b35cff4/onmt/opts.py
# (enc_layers, dec_layers, enc_hid_size, dec_hid_size, src_word_vec_size, input_feed, rnn_type, beam_size) and
# https://github.com/OpenNMT/OpenNMT-py/blob/5642a245864a42d82d715bf0476ce3da74da98f6/onmt/opts.py (src_seq_length 50).
# The 4-layer model is Luong, Pham and Manning's attention NMT, 4 LSTM layers of 1000 cells, embeddings 1000, input
# feeding (https://arxiv.org/abs/1508.04025, section 4.1): decoder input 2000.
nmt=(nmt2-enc=lstm/500/2/1/50/500 nmt2-dec=lstm/500/2/5/50/1000 nmt4-enc=lstm/1000/4/1/50/1000 nmt4-dec=lstm/1000/4/5/50/2000)
# Deep Speech 2 (Amodei et al., https://arxiv.org/abs/1512.02595): up to 7 recurrent layers, simple RNN (clipped ReLU;
# sprnn's rnn_relu is not clipped, the cost is the same) or GRU, served in small batches (Batch Dispatch). Its layer
# sizes are taken from Baidu's own DeepBench, whose README labels these shapes "Speech Recognition": vanilla RNN 1760
# and 2560 at T 50 (DeepBench's training set), GRU 1536 and 2560 at T 375; batch 1, 4, 16 for the vanilla layers and
# 16 for the GRU (DeepBench's inference set below has GRU at batch 1, 2, 4). The issue's lower bound of 800 has no
# layer here: no source at hand gives that size.
ds2=(ds2-rnn1760-b1=rnn_relu/1760/1/1/50 ds2-rnn1760-b4=rnn_relu/1760/1/4/50 ds2-rnn1760-b16=rnn_relu/1760/1/16/50
     ds2-rnn2560-b1=rnn_relu/2560/1/1/50 ds2-rnn2560-b4=rnn_relu/2560/1/4/50 ds2-rnn2560-b16=rnn_relu/2560/1/16/50
     ds2-gru1536-b16=gru/1536/1/16/375 ds2-gru2560-b16=gru/2560/1/16/375)
# DeepBench's RNN inference (server) set, https://github.com/baidu-research/DeepBench/blob/da81ba7820739e2e506dc27f382d15be5479f98f/code/kernels/rnn_problems.h
# (inference_server_set: hidden, batch, timesteps, cell): every LSTM row (256 T 150, 512/1024/2048 T 25, 1536 T 50;
# batch 1, 2, 4) and the GRU rows of hidden 1536, 2048, 2560, 2816 at T 375 (the set has each at T 187, 375, 750,
# 1500: the per-step cost does not depend on T, the per-sequence time is that times T), and its two other GRU rows,
# 512 at T 1 and 1024 at T 1500 (added after the first run, results/figures, which left them out).
db=()
for b in 1 2 4; do
  db+=(db-lstm256-b$b=lstm/256/1/$b/150 db-lstm512-b$b=lstm/512/1/$b/25 db-lstm1024-b$b=lstm/1024/1/$b/25
       db-lstm1536-b$b=lstm/1536/1/$b/50 db-lstm2048-b$b=lstm/2048/1/$b/25 db-gru512-b$b=gru/512/1/$b/1
       db-gru1024-b$b=gru/1024/1/$b/1500)
done
for h in 1536 2048 2560 2816; do for b in 1 2 4; do db+=(db-gru$h-b$b=gru/$h/1/$b/375); done; done
cases() { local c; for c in "$@"; do printf -- '--case\n%s\n' "$c"; done; }

start=$SECONDS
budget() { # budget SHARE: the figure's --deadline-s, cut to what the call has left (60 s kept for the last point)
  local share=${SPRNN_FIGURE_S:-$1} left=$((CALL_S - (SECONDS - start) - 60))
  echo $(( share < left ? share : left ))
}
fig() { # fig ID SHARE ARGS...: one sweep into OUT/figID
  local n=$1 limit; limit=$(budget "$2"); shift 2
  mkdir -p "$OUT/fig$n"
  if [ "$limit" -lt 15 ]; then
    printf 'figure %s: skipped, the call budget (SPRNN_CALL_S=%s) is spent\n' "$n" "$CALL_S" | tee -a "$OUT/steps.txt"
    failed=$((failed + 1)); return
  fi
  local t0=$SECONDS
  timeout $((limit + 120)) "$S" bench sweep --deadline-s "$limit" --seed "$SEED" --engines "$engines" --out-dir "$OUT/fig$n" "$@" \
    >> "$OUT/fig$n/sweep.log" 2>&1
  local rc=$?
  printf 'figure %s: exit %s, %ss (deadline %ss)\n' "$n" "$rc" "$((SECONDS - t0))" "$limit" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
}
echo "seed $SEED figures $FIGS call budget ${CALL_S}s" >> "$OUT/steps.txt"
IFS=, read -ra order <<< "$FIGS"
for f in "${order[@]}"; do
  case "$f" in
    1) fig 1a 60 --hidden 1152,2304 --density 0.01,0.05,0.1,0.2,0.3,0.5,1 --batch 4 --steps 256
       fig 1b 70 --hidden 4608 --density 0.01,0.05,0.1,0.3,1 --batch 4 --steps 256
       fig 1c 60 --hidden 5760 --density 0.01,0.1,0.3 --batch 4 --steps 256 ;;
    2) fig 2 150 --hidden 256,512,1152,2304,3456,4608,5760 --density 0.05,0.1,0.3 --batch 4 --steps 256 --verify-steps 4 ;;
    2big) fig 2big 150 --hidden 6912,8192,9216 --density 0.05,0.1 --batch 4 --steps 256 --verify-steps 4
          fig 2big 40 --hidden 10240 --density 0.05 --batch 4 --steps 256 --verify-steps 4 ;;
    3) fig 3 50 --hidden 2304 --density 0.1,0.3 --batch 1,2,4,8,16,32 --steps 256 ;;
    4) fig 4 35 --hidden 2304 --density 0.1 --batch 4 --steps 16,64,256,1024,2048 ;;
    5) mkdir -p "$OUT/fig5"
       t0=$SECONDS
       timeout 150 "$S" bench ablation --seed "$SEED" --baselines cuda-gemm,cuda-spmm --out-dir "$OUT/fig5" > "$OUT/fig5/ablation.log" 2>&1
       rc=$?; printf 'figure 5: exit %s, %ss\n' "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"; [ "$rc" -eq 0 ] || failed=$((failed + 1)) ;;
    6|6a|6b)
       if [ "$f" != 6b ]; then mapfile -t a < <(cases "${nmt[@]}" "${ds2[@]}"); fig 6a 140 --density 0.1,0.3 "${a[@]}"; fi
       if [ "$f" != 6a ]; then mapfile -t a < <(cases "${db[@]}"); fig 6b 200 --density 0.1 "${a[@]}"; fi ;;
    *) echo "gpu-figures.sh: unknown figure '$f' (1, 2, 2big, 3, 4, 5, 6, 6a, 6b)" | tee -a "$OUT/steps.txt"; failed=$((failed + 1)) ;;
  esac
done
echo "failed or cut figures: $failed"
exit "$failed"

#!/usr/bin/env bash
# gpu-suite.sh — every GPU result this repository commits, from one command, on a GPU machine with no JDK.
#
#   scripts/dist.sh                                          # here: build dist/sprnn-linux-x64.tar.xz
#   bash scripts/gpu-suite.sh dist/sprnn-linux-x64.tar.xz OUT [PART]   # there
#
# PART (default all): checks = machine, info, demo, selftest of the library baselines, kernel-check of
# the sparse persistent engine, the no-GPU path, compute-sanitizer on small cases; quick = checks without
# the sanitizers; full = kernel-check --full,
# the whole correctness matrix of issue 4 (about 5-6 minutes on an H100 with 16 cores, so not part of all: run
# it as its own device command; the golden fixtures: $SPRNN_FIXTURES, else this checkout's test resources);
# bench = the results/anchors/README.md shapes with every GPU engine side by side, and the ablation (paper's Table 1
# and the headline shape). Each step has its own time limit; a failing step is reported and the rest
# still run; the exit code is the number of failed steps. Logs, CSV and JSON rows go to OUT.
# dense (not part of all; about 4-5 minutes): cuda-dense-persistent: its plan and capacity, kernel-check of its matrix
# (every cell, fp16/bf16, each exchange, stacked, at capacity, refusals beyond), selftest, and bench beside
# cuda-sparse-persistent and cuda-gemm at 1152 d=1.0 and d=0.1, 2304 d=0.3 (batch 4, T 256).
# cudnn-anchors (not part of all; about 3 minutes): cuda-cudnn at the shapes of results/anchors' cuDNN figures.
# recheck (not part of all; about 3 minutes): the dense kernel-check --quick and cuda-cudnn's selftest --quick.
# grid (not part of all): sprnn bench grid, issue 14's auto-against-the-fastest table (see the grid block below).
# session (not part of all; about 3-5 minutes, at most 7): issue 17's session latency, rnn_relu at hidden 1152 and
# 2304, batch 1 and 4, density 0.1: `sprnn bench session` on every GPU engine (each session verified against
# cpu-reference, then 10,000 single-step s.step(x) calls timed from Java, median/p99, beside the engine's whole-sequence
# µs per step), and scripts/torch_step_latency.py (PyTorch's one-step nn.RNN relu / nn.LSTM call with
# torch.cuda.synchronize() after each, and its whole sequence; fp32, and fp16 for rnn_relu) at the same shapes; rows to
# OUT/session/session.csv and OUT/session/torch_step.csv. Needs this checkout's scripts/ (torch_step_latency.py beside
# this script) and a python3 with PyTorch (the GPU machine's). The next GPU session:
#   scripts/dist.sh                                                                      # here
#   bash scripts/gpu-pack.sh $OUT -- bash scripts/gpu-suite.sh dist/sprnn-linux-x64.tar.xz @OUT@/s session    # there
# (the device tool: carry ["dist"], timeout_s 420; $OUT/all.tgz comes back: tar xzf all.tgz gives r/s/...)
set -uo pipefail
tarball=${1:?usage: gpu-suite.sh TARBALL OUT [checks|quick|bench|full|dense|recheck|grid|cudnn-anchors|session|session-trace|all]}
OUT=${2:?usage: gpu-suite.sh TARBALL OUT [checks|quick|bench|full|dense|recheck|grid|cudnn-anchors|session|session-trace|all]}
PART=${3:-all}
# fresh random models and inputs each run unless SPRNN_SEED is given; the seed is recorded in steps.txt
SEED=${SPRNN_SEED:-$(( $(date +%s) % 100000 ))}
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
S="$work/sprnn-linux-x64/bin/sprnn"
export SPRNN_CACHE="$work/cache"
failed=0
echo "seed $SEED ($PART)" >> "$OUT/steps.txt"

step() { # step NAME LIMIT_S COMMAND...: runs, logs to OUT/NAME.log, prints a one-line verdict
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  printf '%-28s exit %-3s %4ss\n' "$name" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
  return 0
}

{
  date -u +"date %Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

if [ "$PART" = all ] || [ "$PART" = checks ] || [ "$PART" = quick ]; then
  step info 60 "$S" info
  step demo 180 "$S" demo
  step selftest-baselines 300 "$S" selftest --seed "$SEED"
  step kernel-check 300 "$S" kernel-check --engine cuda-sparse-persistent --seed "$SEED"   # the dense matrix: PART dense
  step no-gpu-auto 60 env CUDA_VISIBLE_DEVICES= "$S" demo --hidden 64 --steps 4
  # must fail with the reason (exit 2): the engine was asked for by name and there is no device
  CUDA_VISIBLE_DEVICES= timeout 60 "$S" demo --engine cuda-sparse-persistent --hidden 64 --steps 4 > "$OUT/no-gpu-named.log" 2>&1
  rc=$?; printf '%-28s exit %-3s (expected 2)\n' no-gpu-named "$rc" | tee -a "$OUT/steps.txt"; [ "$rc" -eq 2 ] || failed=$((failed + 1))
  SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
  J="$work/sprnn-linux-x64/runtime/bin/java --enable-native-access=ALL-UNNAMED -jar $work/sprnn-linux-x64/lib/sprnn.jar"
  tools="memcheck racecheck"; [ "$PART" = quick ] && tools=""   # quick: the checks without the sanitizers (~2 of ~6 minutes)
  for tool in $tools; do
    step "sanitizer-$tool" 240 "$SAN" --tool "$tool" --print-limit 20 $J \
      bench --hidden 96 --input 40 --batch 3 --density 0.3 --steps 6 --verify-steps 6 --reps 20 --warmup 0 --input-sets 1 \
      --engines cuda-sparse-persistent,cuda-gemm,cuda-spmm
    grep -h "ERROR SUMMARY" "$OUT/sanitizer-$tool.log" | head -3
  done
fi

if [ "$PART" = all ] || [ "$PART" = bench ]; then
  engines=cuda-sparse-persistent,cuda-gemm,cuda-spmm
  step bench-1152-b4-d10 120 "$S" bench --hidden 1152 --batch 4 --density 0.1 --steps 256 --engines $engines --out-dir "$OUT"
  step bench-2304-b4-d30 120 "$S" bench --hidden 2304 --batch 4 --density 0.3 --steps 256 --engines $engines --out-dir "$OUT"
  step bench-5760-b4-d10 150 "$S" bench --hidden 5760 --batch 4 --density 0.1 --steps 256 --engines $engines --out-dir "$OUT"
  step ablation-1152 150 "$S" bench ablation --baselines cuda-gemm,cuda-spmm --out-dir "$OUT"
  step ablation-2304 150 "$S" bench ablation --hidden 2304 --density 0.3 --baselines cuda-gemm --out-dir "$OUT"
  step ablation-5760 200 "$S" bench ablation --hidden 5760 --density 0.1 --baselines cuda-gemm,cuda-spmm --out-dir "$OUT"
  grep -h "^|" "$OUT"/bench-*.log "$OUT"/ablation-*.log | cut -c1-200
fi
if [ "$PART" = dense ]; then
  step dense-plan 60 "$S" plan --engine cuda-dense-persistent --hidden 1152 --cell lstm --batch 4
  grep -h "^capacity\|^fits" "$OUT/dense-plan.log"
  step dense-kernel-check 200 "$S" kernel-check --quick --engine cuda-dense-persistent --seed "$SEED"
  step dense-selftest 150 "$S" selftest --quick --engines cuda-dense-persistent --precisions fp16,bf16 --seed "$SEED"
  engines=cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm
  step dense-bench-1152-d100 60 "$S" bench --hidden 1152 --batch 4 --density 1.0 --steps 256 --precisions fp16 --engines $engines --out-dir "$OUT"
  step dense-bench-1152-d10 60 "$S" bench --hidden 1152 --batch 4 --density 0.1 --steps 256 --precisions fp16 --engines $engines --out-dir "$OUT"
  step dense-bench-2304-d30 60 "$S" bench --hidden 2304 --batch 4 --density 0.3 --steps 256 --precisions fp16 --engines $engines --out-dir "$OUT"
  grep -h "FAIL\|passed\|refused" "$OUT/dense-kernel-check.log" "$OUT/dense-selftest.log" | cut -c1-300 | tail -25
  grep -h "^|" "$OUT"/dense-bench-*.log | cut -c1-200
fi
if [ "$PART" = recheck ]; then
  # the engines' own checks after a fix, without the benches of PART dense: the dense persistent matrix (at capacity
  # included) and cuda-cudnn's selftest (its fp32 tolerance)
  step dense-kernel-check 200 "$S" kernel-check --quick --engine cuda-dense-persistent --seed "$SEED"
  step cudnn-selftest 200 "$S" selftest --quick --engines cuda-cudnn --seed "$SEED"
  grep -h "FAIL\|passed\|refused" "$OUT/dense-kernel-check.log" "$OUT/cudnn-selftest.log" | cut -c1-300 | tail -25
fi
if [ "$PART" = cudnn-anchors ]; then
  # issue 14: cuda-cudnn as sprnn measures it beside the team's independent cuDNN figures (results/anchors/README.md:
  # rnn_relu, T 256, hidden 1152 and 2304, batch 1/4/16, best of the algorithms, fp16 and fp32); compare the best row
  # of each log with scripts/cudnn_anchor_compare.py
  for H in 1152 2304; do
    for B in 1 4 16; do
      step "cudnn-$H-b$B" 120 "$S" bench --hidden "$H" --batch "$B" --density 0.1 --steps 256 --verify-steps 8 --reps 30 \
        --engines cuda-cudnn --precisions fp16,fp32 --cudnn-algos standard,persist-static,persist-dynamic --out-dir "$OUT"
    done
  done
  grep -h "^|" "$OUT"/cudnn-*.log | cut -c1-200
fi
if [ "$PART" = grid ]; then
  # issue 14's grid: every GPU engine at each point, auto's pick (cost model, no trial) against the fastest; a subset
  # through SPRNN_GRID_ARGS (e.g. "--cell lstm --hidden 1152,2304"), cut at SPRNN_GRID_S seconds (rows so far kept)
  t0=$SECONDS
  # shellcheck disable=SC2086
  timeout "$(( ${SPRNN_GRID_S:-480} + 120 ))" "$S" bench grid --deadline-s "${SPRNN_GRID_S:-480}" --seed "$SEED" \
    ${SPRNN_GRID_ARGS:-} --out-dir "$OUT/grid" > "$OUT/grid.log" 2>&1
  rc=$?; printf '%-28s exit %-3s %4ss\n' grid "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
  tail -n 40 "$OUT/grid.log" | cut -c1-250
fi
if [ "$PART" = session ]; then
  # issue 17: the time from s.step(x) of one timestep to its outputs in Java, 10,000 calls per engine and batch (goal:
  # under 15 µs at 2304, 10%, batch 1). --wall-seconds bounds each engine and batch (an engine slower than ~450 µs a
  # call times fewer calls and says so in its row; PyTorch's loops likewise); the step limits bound the part at 5 minutes
  # SPRNN_SESSION_ENGINES narrows the engines (default: every GPU engine; the persistent ones each as a host session and a
  # device session, --session-kinds; SPRNN_SESSION_KINDS, default host,device,lean,resident), SPRNN_SESSION_WALL the seconds per engine and batch (default 5), SPRNN_SESSION_HIDDEN
  # the hidden sizes (default "1152 2304"), SPRNN_SESSION_TORCH=0 leaves PyTorch's rows out
  mkdir -p "$OUT/session"
  engines=${SPRNN_SESSION_ENGINES:-cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm,cuda-spmm,cuda-cudnn}
  # first the device sessions on chunks of several steps (5, the last of 23 shorter: two graphs) and an LSTM of 2 layers
  # (both graph kinds: device, lean), and a GRU of 3 layers in chunks of 1
  step session-chunks 60 "$S" bench session --cell lstm --layers 2 --hidden 256 --batch 3 --density 0.3 --chunk 5 \
    --verify-steps 23 --calls 200 --engines cuda-sparse-persistent --session-kinds device,lean --wall-seconds 2 --seed "$SEED"
  step session-gru 60 "$S" bench session --cell gru --layers 3 --hidden 320 --batch 2 --density 0.2 --chunk 1 \
    --verify-steps 9 --calls 200 --engines cuda-sparse-persistent --session-kinds device,lean --wall-seconds 2 --seed "$SEED"
  # the resident kernel (one layer): LSTM in chunks of 5, GRU in chunks of 1, and chunks of 70 (more than its ring of
  # 64 slots); each verification reads the state midway and pauses 40 ms (the kernel leaves and is launched again)
  step session-resident 60 "$S" bench session --cell lstm --hidden 256 --batch 3 --density 0.3 --chunk 5 \
    --verify-steps 23 --calls 200 --engines cuda-sparse-persistent --session-kinds resident --wall-seconds 2 --seed "$SEED"
  step session-resident-gru 60 "$S" bench session --cell gru --hidden 320 --batch 2 --density 0.2 --chunk 1 \
    --verify-steps 9 --calls 200 --engines cuda-sparse-persistent --session-kinds resident --wall-seconds 2 --seed "$SEED"
  step session-resident-long 60 "$S" bench session --cell rnn_tanh --hidden 512 --batch 4 --density 0.1 --chunk 70 \
    --verify-steps 210 --calls 50 --engines cuda-sparse-persistent --session-kinds resident --wall-seconds 2 --seed "$SEED"
  for H in ${SPRNN_SESSION_HIDDEN:-1152 2304}; do
    step "session-$H" 150 "$S" bench session --cell rnn_relu --hidden "$H" --batch 1,4 --density 0.1 --calls 10000 \
      --engines "$engines" --session-kinds "${SPRNN_SESSION_KINDS:-host,device,lean,resident}" \
      --wall-seconds "${SPRNN_SESSION_WALL:-5}" --seed "$SEED" --out-dir "$OUT/session"
  done
  # the resident session through Session#stepFloat: float32 in and out, no float64 copy either way
  for H in ${SPRNN_SESSION_HIDDEN:-1152 2304}; do
    step "session-f32-$H" 60 "$S" bench session --cell rnn_relu --hidden "$H" --batch 1,4 --density 0.1 --calls 10000 \
      --engines cuda-sparse-persistent --session-kinds resident --float32 --wall-seconds 3 --seed "$SEED" --out-dir "$OUT/session"
  done
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  [ "${SPRNN_SESSION_TORCH:-1}" = 1 ] && {
  # PyTorch as its users run it (fp32, cuDNN), then fp16 weights and data as sprnn's GPU engines hold them by default
  step torch-step 60 python3 "$here/torch_step_latency.py" --device cuda --cell rnn_relu,lstm --hidden 1152,2304 \
    --batch 1,4 --density 0.1 --calls 10000 --wall-seconds 3 --seed "$SEED" --out "$OUT/session/torch_step.csv"
  step torch-step-fp16 40 python3 "$here/torch_step_latency.py" --device cuda --cell rnn_relu --hidden 1152,2304 \
    --batch 1,4 --density 0.1 --dtype float16 --calls 10000 --wall-seconds 3 --seed "$SEED" --out "$OUT/session/torch_step.csv"
  }
  grep -h "^|" "$OUT"/session-*.log "$OUT"/torch-step*.log | cut -c1-250
fi
if [ "$PART" = session-trace ]; then
  # issue 17: where a resident step's time goes, from the kernel's own %globaltimer stamps (ResidentTrace): one-step
  # calls at 2304 and 1152 (batch 1), 2304 batch 4, calls of 64 steps (the kernel's steps back to back), and 2304 batch 1
  # and 4 once more with W_ih read from global memory (SPRNN_RESIDENT_WIH_SMEM=0) instead of shared memory
  # SPRNN_TRACE_CASES (e.g. "2304 1 1 1,1152 1 1 1 f"): other cases, each "hidden batch chunk W_ih-in-shared-memory
  # [f] [NAME=VALUE ...]" (f: the calls through Session#stepFloat, bench session --float32; NAME=VALUE: a kernel switch
  # for an A/B, SPRNN_KERNEL_DEFINES, e.g. SPRNN_RESIDENT_POLLERS=1)
  mkdir -p "$OUT/trace"
  IFS=, read -r -a cases <<< "${SPRNN_TRACE_CASES:-2304 1 1 1,1152 1 1 1,2304 4 1 1,2304 1 64 1,2304 1 1 0,2304 4 1 0}"
  for c in "${cases[@]}"; do
    set -- $c
    tag="h$1-b$2-c$3"; [ "$4" = 0 ] && tag="$tag-wih-global"
    f32=(); kd=""
    for extra in "${@:5}"; do
      case "$extra" in
        f) f32=(--float32); tag="$tag-f32" ;;
        SPRNN_*=*) kd="${kd:+$kd,}$extra"; tag="$tag-${extra#SPRNN_}" ;;
        *) echo "SPRNN_TRACE_CASES: unknown field '$extra'" >&2; exit 2 ;;
      esac
    done
    tag=$(printf '%s' "$tag" | tr '=' '_')
    step "trace-$tag" 60 env SPRNN_KERNEL_DEFINES="$kd" SPRNN_RESIDENT_WIH_SMEM="$4" SPRNN_RESIDENT_TRACE_FILE="$OUT/trace/$tag.csv" "$S" bench session \
      --cell rnn_relu --hidden "$1" --batch "$2" --density 0.1 --chunk "$3" --calls 10000 --engines cuda-sparse-persistent ${f32[@]+"${f32[@]}"} \
      --session-kinds resident --wall-seconds 3 --seed "$SEED" --out-dir "$OUT/trace"
  done
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  python3 "$here/resident_trace_summary.py" "$OUT"/trace/h*.csv | tee "$OUT/trace/SUMMARY.md"
  grep -h "^|" "$OUT"/trace-*.log | cut -c1-250
fi
if [ "$PART" = full ]; then
  fixtures=${SPRNN_FIXTURES:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/sprnn-core/src/test/resources/golden"}
  fx=(); [ -f "$fixtures/manifest.json" ] && fx=(--fixtures "$fixtures")
  # the table on stdout (kernel-check-full.log), phase timings on stderr (kernel-check-full.err)
  t0=$SECONDS
  SPRNN_JAVA_OPTS="${SPRNN_JAVA_OPTS:--Xmx96g}" timeout 560 "$S" kernel-check --full ${fx[@]+"${fx[@]}"} --seed "$SEED" \
    > "$OUT/kernel-check-full.log" 2> "$OUT/kernel-check-full.err"
  rc=$?; printf '%-28s exit %-3s %4ss\n' kernel-check-full "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
  tail -n 25 "$OUT/kernel-check-full.log"
fi
echo "failed steps: $failed"
exit "$failed"

#!/bin/bash
# java-run.sh — on the GPU machine: unpack the self-contained bundle carried beside this script, then the
# kernel's correctness matrix (sprnn kernel-check) and the ablation (sprnn bench ablation), logs under $OUT.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv | tee "$OUT/gpu.txt"
rm -rf /tmp/sprnn-linux-x64 && tar -C /tmp -xJf "$here/sprnn-linux-x64.tar.xz"
S=/tmp/sprnn-linux-x64/bin/sprnn
export SPRNN_CACHE=/tmp/sprnn-cache
CHECK=${CHECK:---quick}
if [ -z "${NOCHECK:-}" ]; then
  timeout ${CHECK_TIMEOUT:-240} $S kernel-check $CHECK > "$OUT/kernel-check.log" 2>&1; echo "kernel-check exit $?"
  grep -E "FAIL|passed|Exception|error" "$OUT/kernel-check.log" | cut -c1-300 | head -30
fi
timeout 200 $S bench ablation --baselines cuda-gemm,cuda-spmm --out-dir "$OUT" > "$OUT/ablation-1152.log" 2>&1; echo "ablation 1152 exit $?"
tail -16 "$OUT/ablation-1152.log"
if [ -n "${BIG:-}" ]; then
  timeout 240 $S bench ablation --hidden 5760 --density 0.1 --baselines none --reps 10 --out-dir "$OUT" > "$OUT/ablation-5760.log" 2>&1; echo "ablation 5760 exit $?"
  tail -12 "$OUT/ablation-5760.log"
fi
if [ -n "${MORE:-}" ]; then
  timeout 150 $S bench ablation --hidden 2304 --density 0.3 --baselines cuda-gemm --out-dir "$OUT" > "$OUT/ablation-2304.log" 2>&1; echo "ablation 2304 exit $?"
  tail -14 "$OUT/ablation-2304.log"
fi

#!/usr/bin/env bash
# gpu-run.sh — one device call: unpack the self-contained distribution carried in .carry/gpu/, record
# the machine, run the GPU selftest and the benchmarks, leave logs and result rows under $OUT.
#   (on the device) bash .carry/gpu/gpu-run.sh [selftest-args...]
# MODE=selftest | bench | all (default all)
set -uo pipefail
OUT="${OUT:-/tmp/sprnn-out}"
mkdir -p "$OUT"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODE="${MODE:-all}"
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv
  ldconfig -p | grep -E "libcuda\.so|libnvrtc|libcublas|libcusparse" || true
  ls -d /usr/local/cuda*/lib64 2>/dev/null
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"
rm -rf /tmp/sprnn-linux-x64
tar -C /tmp -xJf "$here/sprnn-linux-x64.tar.xz"
S=/tmp/sprnn-linux-x64/bin/sprnn
export SPRNN_CACHE=/tmp/sprnn-cache
rc=0
if [ "$MODE" = all ] || [ "$MODE" = selftest ]; then
  timeout 420 "$S" selftest "$@" > "$OUT/selftest.log" 2>&1; rc=$?
  echo "selftest exit $rc"
  grep -E "^(NVRTC|compiled|selftest:|FAILED|first compile|sprnn|GPU:|fault)" "$OUT/selftest.log" | cut -c1-400 | head -40
fi
if [ "$MODE" = all ] || [ "$MODE" = bench ]; then
  # the headline configuration twice (run-to-run spread), then the paper's Table 1 point, a large very
  # sparse layer, and batch 1 / 16 at the headline size
  for args in "--hidden 2304 --batch 4 --density 0.3 --precisions fp16,fp32" \
              "--hidden 2304 --batch 4 --density 0.3 --precisions fp16,fp32" \
              "--hidden 1152 --batch 4 --density 0.1 --precisions fp16,fp32" \
              "--hidden 4608 --batch 4 --density 0.01 --precisions fp16" \
              "--hidden 2304 --batch 1 --density 0.3 --precisions fp16" \
              "--hidden 2304 --batch 16 --density 0.3 --precisions fp16"; do
    echo "## sprnn bench $args --steps 256 --engines cuda-gemm,cuda-spmm --reps 50" >> "$OUT/bench.log"
    timeout 240 "$S" bench $args --steps 256 --engines cuda-gemm,cuda-spmm --reps 50 --out-dir "$OUT" \
      >> "$OUT/bench.log" 2>&1
    echo "bench $args: exit $?"
  done
  grep -E "^\||unavailable|sprnn:" "$OUT/bench.log"
fi
exit $rc

#!/usr/bin/env bash
# gpu-checks.sh — one device call for the CLI paths around the GPU engines: info and plan with the real
# device, demo on auto, the no-device path (CUDA_VISIBLE_DEVICES=""), and the engines under
# compute-sanitizer memcheck on a small layer. Logs under $OUT.
#   (on the device) bash .carry/gpu/gpu-checks.sh
set -uo pipefail
OUT="${OUT:-/tmp/sprnn-out}"
mkdir -p "$OUT"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rm -rf /tmp/sprnn-linux-x64
tar -C /tmp -xJf "$here/sprnn-linux-x64.tar.xz"
S=/tmp/sprnn-linux-x64/bin/sprnn
export SPRNN_CACHE=/tmp/sprnn-cache
{
  echo "## sprnn info"; "$S" info; echo "exit $?"
  echo "## sprnn plan (defaults)"; "$S" plan 2>&1 | head -30; echo "exit $?"
  echo "## sprnn demo"; "$S" demo; echo "exit $?"
  echo "## CUDA_VISIBLE_DEVICES= sprnn demo --engine cuda-gemm"; CUDA_VISIBLE_DEVICES= "$S" demo --engine cuda-gemm --hidden 64 --steps 4; echo "exit $?"
  echo "## CUDA_VISIBLE_DEVICES= sprnn demo (auto)"; CUDA_VISIBLE_DEVICES= "$S" demo --hidden 64 --steps 4; echo "exit $?"
} > "$OUT/checks.log" 2>&1
grep -v "^WARNING: Using incubator" "$OUT/checks.log" | cut -c1-300
echo "## compute-sanitizer memcheck"
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
timeout 240 "$SAN" --tool memcheck --leak-check no --print-limit 20 \
  /tmp/sprnn-linux-x64/runtime/bin/java --enable-native-access=ALL-UNNAMED -jar /tmp/sprnn-linux-x64/lib/sprnn.jar \
  bench --hidden 96 --input 40 --batch 3 --density 0.3 --steps 6 --verify-steps 6 --reps 20 --warmup 0 --input-sets 1 \
  --engines cuda-gemm,cuda-spmm --precisions fp16,fp32 > "$OUT/memcheck.log" 2>&1
echo "memcheck exit $?"
grep -E "ERROR SUMMARY|Invalid|^\| cuda|sprnn" "$OUT/memcheck.log" | head -20

#!/usr/bin/env bash
# gpu-cudnn-check.sh — the cuda-cudnn engine on a GPU machine with no JDK (issue 14), in about 5-6 minutes.
#
#   scripts/dist.sh                                            # here: build dist/sprnn-linux-x64.tar.xz
#   bash scripts/gpu-cudnn-check.sh dist/sprnn-linux-x64.tar.xz OUT   # there (cuDNN 9: libcudnn.so.9 on the loader path)
#
# Steps, each with its own time limit and all within one overall deadline (SPRNN_DEADLINE_S, default 340 s: a step
# that would start after it is skipped and counted as failed):
#   info             sprnn info: the device, every library (cuDNN's version and path among them), the engines
#   selftest-cudnn   sprnn selftest --engines cuda-cudnn: the matrix with CUDNN_RNN_ALGO_STANDARD against
#                    cpu-reference, then each persistent algorithm and auto on small shapes (REFUSED rows are cuDNN's
#                    documented limits, not failures); --quick unless SPRNN_CUDNN_FULL=1
#   bench-*          the results/anchors shapes (rnn_relu, batch 4, T 256: 1152/d0.1, 2304/d0.3, 5760/d0.1) with
#                    cuda-sparse-persistent, cuda-gemm and cuda-cudnn side by side, cuda-cudnn once per algorithm
#                    (standard, persist-static, persist-static-small-h, persist-dynamic), fp16 and fp32; at 5760
#                    PERSIST_DYNAMIC (14-26 s of cuDNN's run-time compilation per descriptor, results/anchors) runs fp16
#                    only, in a step of its own
# Logs, bench.csv and bench.jsonl go to OUT; the exit code is the number of failed or skipped steps.
set -uo pipefail
tarball=${1:?usage: gpu-cudnn-check.sh TARBALL OUT}
OUT=${2:?usage: gpu-cudnn-check.sh TARBALL OUT}
SEED=${SPRNN_SEED:-$(( $(date +%s) % 100000 ))}
DEADLINE=${SPRNN_DEADLINE_S:-340}
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
S="$work/sprnn-linux-x64/bin/sprnn"
export SPRNN_CACHE="$work/cache"
failed=0
echo "seed $SEED (gpu-cudnn-check)" >> "$OUT/steps.txt"

step() { # step NAME LIMIT_S COMMAND...: runs (within the deadline), logs to OUT/NAME.log, prints a one-line verdict
  local name=$1 limit=$2; shift 2
  local left=$((DEADLINE - SECONDS))
  if [ "$left" -lt 10 ]; then
    printf '%-28s skipped: past the %ss deadline\n' "$name" "$DEADLINE" | tee -a "$OUT/steps.txt"
    failed=$((failed + 1))
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
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
  ldconfig -p 2>/dev/null | grep -E 'libcudnn(_adv|_ops|_graph)?\.so\.9' | head -8
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

step info 30 "$S" info
quick=(--quick); [ "${SPRNN_CUDNN_FULL:-0}" = 1 ] && quick=()
step selftest-cudnn 150 "$S" selftest --engines cuda-cudnn --seed "$SEED" ${quick[@]+"${quick[@]}"}
grep -h -E "^selftest:|^cuda-cudnn |^FAILED|refusal" "$OUT/selftest-cudnn.log" | head -20

engines=cuda-sparse-persistent,cuda-gemm,cuda-cudnn
algos=standard,persist-static,persist-static-small-h,persist-dynamic
step bench-1152-b4-d10 60 "$S" bench --hidden 1152 --batch 4 --density 0.1 --steps 256 --engines $engines \
  --precisions fp16,fp32 --cudnn-algos $algos --out-dir "$OUT"
step bench-2304-b4-d30 75 "$S" bench --hidden 2304 --batch 4 --density 0.3 --steps 256 --engines $engines \
  --precisions fp16,fp32 --cudnn-algos $algos --out-dir "$OUT"
step bench-5760-b4-d10 45 "$S" bench --hidden 5760 --batch 4 --density 0.1 --steps 256 --verify-steps 8 --engines $engines \
  --precisions fp16,fp32 --cudnn-algos standard,persist-static,persist-static-small-h --out-dir "$OUT"
step bench-5760-b4-d10-dynamic 90 "$S" bench --hidden 5760 --batch 4 --density 0.1 --steps 256 --verify-steps 8 \
  --engines cuda-cudnn --precisions fp16 --cudnn-algos persist-dynamic --out-dir "$OUT"
grep -h -E "^\||refuses|fails|unavailable" "$OUT"/bench-*.log | cut -c1-260
echo "failed steps: $failed (total ${SECONDS}s)"
exit "$failed"

#!/usr/bin/env bash
# gpu-sprnn.sh — one sprnn command from the bundle on the GPU machine (no JDK there), its output in OUT/NAME.log and a
# one-line verdict; environment variables pass through (e.g. SPRNN_KERNEL_DEFINES, SPRNN_ROW_ENDS):
#
#   bash scripts/gpu-pack.sh $OUT -- env SPRNN_KERNEL_DEFINES=SPRNN_TAIL_SMEM=1 bash scripts/gpu-sprnn.sh \
#        dist/sprnn-linux-x64.tar.xz @OUT@/k tailsmem 300 kernel-check --quick --engine cuda-sparse-persistent
set -uo pipefail
tarball=${1:?usage: gpu-sprnn.sh TARBALL OUT NAME LIMIT_S SPRNN_ARGS...}
OUT=${2:?usage: gpu-sprnn.sh TARBALL OUT NAME LIMIT_S SPRNN_ARGS...}
name=${3:?usage: gpu-sprnn.sh TARBALL OUT NAME LIMIT_S SPRNN_ARGS...}
limit=${4:?usage: gpu-sprnn.sh TARBALL OUT NAME LIMIT_S SPRNN_ARGS...}
shift 4
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
export SPRNN_CACHE="$work/cache"
t0=$SECONDS
timeout "$limit" "$work/sprnn-linux-x64/bin/sprnn" "$@" > "$OUT/$name.log" 2>&1
rc=$?
printf '%-28s exit %-3s %4ss  (sprnn %s)\n' "$name" "$rc" "$((SECONDS - t0))" "$*" | tee -a "$OUT/steps.txt"
tail -3 "$OUT/$name.log"
exit "$rc"

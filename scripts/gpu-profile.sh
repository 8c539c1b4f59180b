#!/usr/bin/env bash
# gpu-profile.sh — Nsight Compute on the sparse persistent kernel as the engine runs it: for each shape, issue 16's
# PyTorch pair (scripts/make_pruned_pair.py: per row, per matrix), each file through `sprnn bench --model` under `ncu`
# (one recurrent launch profiled, after the verification and warm-up launches), with --set full and the per-instruction
# source counters (stall sampling) of the SASS. Writes, per file F: F.details.txt (every section), F.source.csv (SASS
# lines with their samples and counters), F.bench.log, and `sprnn plan` of both files in plan.txt.
# ncu runs with --clock-control none (the device tool's METHOD.md: leave the clocks alone).
#
#   bash scripts/gpu-pack.sh $OUT -- bash scripts/gpu-profile.sh dist/sprnn-linux-x64.tar.xz @OUT@/prof
#
# SPRNN_PROFILE_SHAPES (make_pruned_pair.py's --shapes; default relu 5760/10% and 2304/30%), SPRNN_PROFILE_KINDS
# (default "row matrix"), SPRNN_PROFILE_ENV (NAME=value ... for every run, e.g. SPRNN_ROW_ENDS=pairs).
set -uo pipefail
tarball=${1:?usage: gpu-profile.sh TARBALL OUT}
OUT=${2:?usage: gpu-profile.sh TARBALL OUT}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
S="$work/sprnn-linux-x64/bin/sprnn"
export SPRNN_CACHE="$work/cache"
SEED=${SPRNN_SEED:-$(( $(date +%s) % 100000 ))}
shapes=${SPRNN_PROFILE_SHAPES:-rnn_relu:5760:0.1,rnn_relu:2304:0.3}
read -r -a envs <<< "${SPRNN_PROFILE_ENV:-}"
python3 "$here/make_pruned_pair.py" "$work/m" --shapes "$shapes" --seed "$SEED" | tee "$OUT/models.txt"
failed=0
for spec in ${shapes//,/ }; do
  IFS=: read -r cell h d <<< "$spec"
  d=$(python3 -c "print(f'{float($d):g}')")
  for kind in ${SPRNN_PROFILE_KINDS:-row matrix}; do
    f="$work/m/${cell}_${h}_${d}_${kind}.safetensors"
    n="${cell}_${h}_${kind}"
    echo "== $n ${envs[*]}" >> "$OUT/plan.txt"
    env "${envs[@]}" "$S" plan --model "$f" --batch 4 >> "$OUT/plan.txt" 2>&1
    t0=$SECONDS
    env "${envs[@]}" timeout 300 ncu --clock-control none -k regex:'^sparse_persistent_rnn$' --launch-skip 2 --launch-count 1 \
      --set full --import-source no -o "$OUT/$n" \
      "$S" bench --model "$f" --batch 4 --steps 256 --seed "$SEED" --engines cuda-sparse-persistent --reps 20 \
      --wall-seconds 5 > "$OUT/$n.bench.log" 2>&1
    rc=$?
    printf '%-28s exit %s %ss\n' "$n" "$rc" "$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
    if [ -f "$OUT/$n.ncu-rep" ]; then
      ncu -i "$OUT/$n.ncu-rep" --page source --csv --print-source sass > "$OUT/$n.source.csv" 2>&1
      ncu -i "$OUT/$n.ncu-rep" --page details > "$OUT/$n.details.txt" 2>&1
      ncu -i "$OUT/$n.ncu-rep" --page raw --csv > "$OUT/$n.raw.csv" 2>&1
      gzip -9 "$OUT/$n.source.csv"
      rm -f "$OUT/$n.ncu-rep"
    else
      failed=$((failed + 1)); tail -5 "$OUT/$n.bench.log"
    fi
  done
done
rm -rf "$work"
exit "$failed"

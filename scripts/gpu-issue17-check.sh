#!/usr/bin/env bash
# gpu-issue17-check.sh — issue 17 on a GPU machine with no JDK: every GPU engine through `sprnn stream` (the default
# session: state carried between chunks, npy and raw frames), a whole `sprnn run` and a run with --lengths,
# cpu-reference beside them, auto with --lengths, and every engine on PyTorch's fixtures of packed sequences and
# bidirectional layers (DATA/packed); the persistent engines also with their device session (ENGINE@device, stream) and
# with a bidirectional layer's two directions at once (ENGINE@halves, the fixtures). Data from, and verdict by,
# scripts/issue17_gpu_check.py (make before, compare after).
#
#   scripts/dist.sh && python3 scripts/issue17_gpu_check.py make DATA     # here
#   bash scripts/gpu-issue17-check.sh dist/sprnn-linux-x64.tar.xz DATA OUT   # there
#   python3 scripts/issue17_gpu_check.py compare DATA OUT                    # here
set -uo pipefail
tarball=${1:?usage: gpu-issue17-check.sh TARBALL DATA OUT}
data=${2:?usage: gpu-issue17-check.sh TARBALL DATA OUT}
OUT=${3:?usage: gpu-issue17-check.sh TARBALL DATA OUT}
mkdir -p "$OUT"
work=$(mktemp -d)
tar -C "$work" -xJf "$tarball"
S="$work/sprnn-linux-x64/bin/sprnn"
export SPRNN_CACHE="$work/cache"
R="$work/results"
mkdir -p "$R"
log="$OUT/log.txt"
"$S" info > "$log" 2>&1
# ENGINE@device: the persistent engine with its device session (SPRNN_SESSION=device) for stream; ENGINE@halves: with the
# two directions of a bidirectional layer at once (SPRNN_BIDIRECTIONAL=halves) for the PyTorch fixtures
variant() { # variant NAME: the engine's name, then the environment the variant sets (or nothing)
  case "$1" in
    *@device) echo "${1%@*} SPRNN_SESSION=device" ;;
    *@halves) echo "${1%@*} SPRNN_BIDIRECTIONAL=halves" ;;
    *) echo "$1 SPRNN_NOTHING=1" ;;
  esac
}
for m in relu lstm; do
  for v in cpu-reference cuda-sparse-persistent cuda-sparse-persistent@device cuda-dense-persistent cuda-dense-persistent@device \
           cuda-gemm cuda-spmm cuda-cudnn; do
    read -r e setting <<< "$(variant "$v")"
    export "${setting?}"
    echo "== $m $v" >> "$log"
    timeout 120 "$S" stream --model "$data/$m.safetensors" --batch 4 --engine "$e" -v < "$data/${m}_frames.npys" \
      > "$R/${m}_${v}_stream.npys" 2>> "$log"; echo "stream exit $?" >> "$log"
    timeout 120 "$S" stream --model "$data/$m.safetensors" --batch 4 --engine "$e" --format raw < "$data/${m}_raw.f32" \
      > "$R/${m}_${v}_raw.f32" 2>> "$log"; echo "raw exit $?" >> "$log"
    timeout 120 "$S" run --model "$data/$m.safetensors" --input "$data/${m}_x.npy" --engine "$e" --output "$R/${m}_${v}_run.npy" \
      >> "$log" 2>&1; echo "run exit $?" >> "$log"
    timeout 120 "$S" run --model "$data/$m.safetensors" --input "$data/${m}_x.npy" --engine "$e" --lengths 40,3,17,9 \
      --output "$R/${m}_${v}_lengths.npy" >> "$log" 2>&1; echo "lengths exit $?" >> "$log"
    unset "${setting%%=*}"
  done
  echo "== $m auto with lengths" >> "$log"
  timeout 120 "$S" run --model "$data/$m.safetensors" --input "$data/${m}_x.npy" --lengths 40,3,17,9 \
    --output "$R/${m}_auto_lengths.npy" -v >> "$log" 2>&1; echo "auto lengths exit $?" >> "$log"
done
for args in "$data"/packed/*.args; do
  name=$(basename "$args" .args)
  for v in cpu-reference cuda-sparse-persistent cuda-sparse-persistent@halves cuda-dense-persistent cuda-dense-persistent@halves \
           cuda-gemm cuda-spmm cuda-cudnn; do
    read -r e setting <<< "$(variant "$v")"
    echo "== packed $name $v" >> "$log"
    # shellcheck disable=SC2046
    (export "${setting?}"; cd "$data/packed" && timeout 120 "$S" run --model "$name.safetensors" --input "${name}_x.npy" \
      --engine "$e" $(sed "s|CN|$R/packed_${name}_${v}_cn.npy|" "$args") --output "$R/packed_${name}_${v}_y.npy" \
      --final-h "$R/packed_${name}_${v}_hn.npy" -v) >> "$log" 2>&1; echo "packed exit $?" >> "$log"
  done
done
tar -C "$R" -cf "$OUT/results.tar" .
rm -rf "$work"
echo "wrote $OUT/log.txt and $OUT/results.tar"

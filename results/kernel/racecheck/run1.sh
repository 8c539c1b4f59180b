#!/bin/bash
# race investigation: harness variants under racecheck (lineinfo), SASS of the cluster kernel, Java engine under racecheck
set -u
R=$(cd "$(dirname "$0")" && pwd); OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PATH=$PATH:/usr/local/cuda/bin
SAN=$(command -v compute-sanitizer); ND=$(command -v nvdisasm)
echo "san=$SAN nd=$ND"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; $SAN --version | tail -1
$SAN --help 2>&1 | grep -i -A2 "racecheck" > $OUT/san-help.txt
H=/tmp/h; cp -r $R/h $H; cd $H; mkdir -p bin
D=$(cat lay/r96_cl.defines)
( nvcc -arch=sm_90 -cubin -std=c++17 -lineinfo $D kernels/sparse_persistent_rnn.cu -o $OUT/r96_cl_nvcc.cubin && $ND -g -c $OUT/r96_cl_nvcc.cubin > $OUT/r96_cl_nvcc.sass ) &
grep -v '^#' variants.txt | awk 'NF>=5' | while read n spec T reps extra; do
  nvcc -O3 -arch=sm_90 -std=c++17 -Ikernels $(cat lay/$n.defines) $extra harness.cu -o bin/$n > bin/$n.log 2>&1 || echo "BUILD FAILED $n" &
done
W=/tmp/w; mkdir -p $W; (cd $W && tar xJf $R/sprnn-linux-x64.tar.xz) &
wait
echo "--- harness racecheck"
for n in r96_cl r96_clbar r96_ts r96_bar; do
  for T in 6; do
    timeout 60 $SAN --tool racecheck --racecheck-report hazard --print-limit 8 ./bin/$n lay/$n.bin.gz $T 1 1 > $OUT/rc_${n}_T$T.log 2>&1
    echo "$n T=$T: $(grep -E 'RACECHECK SUMMARY' $OUT/rc_${n}_T$T.log) $(grep -oE 'relerr=[^ ]+ .*PASS|FAIL' $OUT/rc_${n}_T$T.log | head -1)"
  done
done
for T in 1 2 3; do
  timeout 60 $SAN --tool racecheck --racecheck-report hazard --print-limit 8 ./bin/r96_cl lay/r96_cl.bin.gz $T 1 1 > $OUT/rc_r96_cl_T$T.log 2>&1
  echo "r96_cl T=$T: $(grep -E 'RACECHECK SUMMARY' $OUT/rc_r96_cl_T$T.log)"
done
echo "--- java engine racecheck"
J="$W/sprnn-linux-x64/runtime/bin/java --enable-native-access=ALL-UNNAMED -jar $W/sprnn-linux-x64/lib/sprnn.jar"
cd $W
timeout 200 $SAN --tool racecheck --racecheck-report hazard --print-limit 8 $J bench --hidden 96 --input 40 --batch 3 --density 0.3 --steps 6 --verify-steps 6 --reps 2 --warmup 0 --input-sets 1 --engines cuda-sparse-persistent > $OUT/rc_java.log 2>&1
grep -E "RACECHECK SUMMARY|cuda-sparse" $OUT/rc_java.log | head
C=$(ls -t ~/.cache/sprnn/cubin/*cluster*.cubin 2>/dev/null | head -1); echo "nvrtc cubin: $C"
[ -n "$C" ] && $ND -c "$C" > $OUT/r96_cl_nvrtc.sass && cp "$C" $OUT/
for f in $OUT/r96_cl_nvrtc.sass $OUT/r96_cl_nvcc.sass; do echo "== $f"; grep -E "/\*0f[89a-f]0\*/|/\*1[0-2][0-9a-f]0\*/" $f | cut -c1-110 | sed -n '1,70p'; done
echo "--- ablation under racecheck (summaries)"
timeout 150 $SAN --tool racecheck --print-limit 2 $J bench ablation --hidden 96 --density 0.3 --batch 3 --steps 6 --reps 5 --baselines none > $OUT/rc_ablation.log 2>&1
grep -E "RACECHECK SUMMARY|^\|" $OUT/rc_ablation.log | cut -c1-160 | head -20

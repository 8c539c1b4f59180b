#!/bin/bash
# Inputs (in .carry/race/h, made by scripts/kernel-harness/prepare.sh-style export of rnn_relu:96:3:0.3:cluster:1:1:1 as lay/r96_cl):
#   kernels/probe.cu   = sed '/fence.mbarrier_init.release.cluster/{n;s/^  }$/  }\n  __syncthreads();/}' kernels/sparse_persistent_rnn.cu
#   harness_probe.cu   = harness.cu with #include "probe.cu"
set -u
R=$(cd "$(dirname "$0")" && pwd); OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PATH=$PATH:/usr/local/cuda/bin
SAN=$(command -v compute-sanitizer); ND=$(command -v nvdisasm)
H=/tmp/h; rm -rf $H; cp -r $R/h $H; cd $H; mkdir -p bin
D=$(cat lay/r96_cl.defines)
nvcc -O3 -arch=sm_90 -std=c++17 -Ikernels $D -lineinfo harness.cu -o bin/cl > bin/cl.log 2>&1 &
nvcc -O3 -arch=sm_90 -std=c++17 -Ikernels $D -lineinfo harness_probe.cu -o bin/probe > bin/probe.log 2>&1 &
nvcc -O3 -arch=sm_90 -std=c++17 -Ikernels $D -lineinfo -DSPRNN_CLUSTER_MBARRIER=0 harness.cu -o bin/clbar > bin/clbar.log 2>&1 &
W=/tmp/w; mkdir -p $W; (cd $W && tar xJf $R/sprnn-linux-x64.tar.xz) &
wait
ls bin
for n in cl probe clbar; do
  timeout 60 $SAN --tool racecheck --racecheck-report hazard --print-limit 6 ./bin/$n lay/r96_cl.bin.gz 6 1 1 > $OUT/rc_$n.log 2>&1
  echo "$n: $(grep -E 'RACECHECK SUMMARY' $OUT/rc_$n.log) $(grep -oE 'relerr=[^ ]+ nans=[0-9]+ [A-Z]+' $OUT/rc_$n.log | head -1)"
done
head -c 6000 $OUT/rc_cl.log
J="$W/sprnn-linux-x64/runtime/bin/java --enable-native-access=ALL-UNNAMED -jar $W/sprnn-linux-x64/lib/sprnn.jar"
cd $W
timeout 150 $SAN --tool racecheck --racecheck-report hazard --print-limit 4 $J bench --hidden 96 --input 40 --batch 3 --density 0.3 --steps 6 --verify-steps 6 --reps 20 --warmup 0 --input-sets 1 --engines cuda-sparse-persistent > $OUT/rc_java.log 2>&1
grep -E "RACECHECK SUMMARY|Race reported|Access at|Write Thread|Read Thread" $OUT/rc_java.log | head -12
C=$(ls -t ~/.cache/sprnn/cubin/*.cubin 2>/dev/null | head -1); echo "nvrtc cubin: $C"
[ -n "$C" ] && $ND -c "$C" > $OUT/nvrtc.sass && cp "$C" $OUT/nvrtc.cubin
grep -E "/\*0f[a-f]0\*/|/\*1[12][0-9a-f]0\*/" $OUT/nvrtc.sass | cut -c1-100

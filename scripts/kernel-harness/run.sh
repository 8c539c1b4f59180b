#!/bin/bash
# run.sh — on the GPU machine: compile every variant of lay/ with nvcc (in parallel), report registers and
# spills, check each against the float64 reference, time it, then compute-sanitizer and the fault test.
# Expects: lay/NAME.{bin,defines} (prepare.sh), kernels/ (the .cu/.cuh), harness.cu, variants.txt.
set -u
cd "$(dirname "$0")"
lay() { if [ -f lay/$1.same ]; then echo lay/$(cat lay/$1.same).bin.gz; else echo lay/$1.bin.gz; fi; }  # prepare.sh dedupes layouts
OUT=${OUT:-/tmp/out}
mkdir -p bin "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
nvcc --version | tail -2 | tee -a "$OUT/gpu.txt"
grep -v "^#" variants.txt | awk 'NF>=5' > /tmp/vlist
build() {  # one line of variants.txt
  set -- $1
  local extra="${*:5}"; [ "$extra" = "-" ] && extra=""
  nvcc -O3 -arch=${ARCH:-sm_90} -std=c++17 -Ikernels $(cat lay/$1.defines) $extra -Xptxas -v harness.cu -o bin/$1 > bin/$1.log 2>&1 \
    || echo "BUILD FAILED $1"
}
export -f build
tr -s ' ' < /tmp/vlist | xargs -P 16 -I{} bash -c 'build "{}"'
for f in bin/*.log; do n=$(basename $f .log); echo "$n: $(grep -A1 'sparse_persistent_rnn' $f | grep -oE 'Used [0-9]+ registers|[0-9]+ bytes spill stores|[0-9]+ bytes stack frame' | tr '\n' ' ')"; done | tee "$OUT/ptxas.txt"
: > "$OUT/results.txt"
while read name spec T reps extra; do
  [ -x bin/$name ] || { echo "MISSING $name" | tee -a "$OUT/results.txt"; continue; }
  timeout 120 ./bin/$name $(lay $name) $T 7 $reps 2>&1 | tee -a "$OUT/results.txt" | tail -3
done < /tmp/vlist
echo "--- fault test (launch with 16 B too little shared memory)" | tee -a "$OUT/results.txt"
timeout 60 ./bin/relu64b1_ts $(lay relu64b1_ts) 7 1 1 1 2>&1 | tee -a "$OUT/results.txt"
echo "--- compute-sanitizer" | tee -a "$OUT/results.txt"
# SAN_EXTRA: more variant names to run the sanitizers on
[ -n "${NOSAN:-}" ] && tools="" || tools="memcheck racecheck"
for tool in $tools; do
  for n in relu64b1_ts relu64b1_bar relu64b1_cl ${SAN_EXTRA:-}; do
    timeout 120 compute-sanitizer --tool $tool --print-limit 5 ./bin/$n $(lay $n) 7 1 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|RESULT" | sed "s/^/$tool $n: /" | tee -a "$OUT/results.txt"
  done
done
echo "=== SUMMARY"; grep -E "RESULT|FAULT|FAIL|MISSING" "$OUT/results.txt" | sed -E 's/^RESULT lay\///' | awk '{print}' | cut -c1-400

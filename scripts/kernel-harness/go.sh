#!/bin/bash
# go.sh — on the GPU machine: run.sh without the sanitizers (every variant timed and checked), then the SASS and
# Nsight Compute source-level counters (per-instruction stall sampling, CSV) of each variant named in $PROF; everything
# under $OUT packed into one k.tgz (the device tool brings back few files).
cd "$(dirname "$0")"
export OUT=${OUT:-/tmp/o}; mkdir -p "$OUT"
NOSAN=${NOSAN-1} bash run.sh > "$OUT/run.log" 2>&1
grep -A60 "=== SUMMARY" "$OUT/run.log" | cut -c1-60,150-400
for n in ${PROF:-}; do
  cuobjdump -sass bin/$n > "$OUT/$n.sass" 2>&1
  lay=lay/$n.bin.gz; [ -f lay/$n.same ] && lay=lay/$(cat lay/$n.same).bin.gz
  timeout 200 ncu --clock-control none --launch-skip 1 --launch-count 1 -k sparse_persistent_rnn --set full --import-source no \
    -o "$OUT/$n" ./bin/$n $lay 256 7 2 > "$OUT/$n.ncu.log" 2>&1
  ncu -i "$OUT/$n.ncu-rep" --page source --csv --print-source sass > "$OUT/$n.source.csv" 2>&1
  ncu -i "$OUT/$n.ncu-rep" --page details > "$OUT/$n.details.txt" 2>&1
  rm -f "$OUT/$n.ncu-rep"
done
cd "$OUT" && tar czf /tmp/k.tgz . && rm -rf ./* && mv /tmp/k.tgz "$OUT/k.tgz"; ls -la "$OUT"

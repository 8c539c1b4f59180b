#!/bin/bash
# profile.sh — on the GPU machine, after run.sh built bin/: SASS of chosen variants and Nsight Compute
# warp-state / scheduler / instruction sections of one launch of each (what the step time is made of).
set -u
cd "$(dirname "$0")"
lay() { if [ -f lay/$1.same ]; then echo lay/$(cat lay/$1.same).bin.gz; else echo lay/$1.bin.gz; fi; }  # prepare.sh dedupes layouts
OUT=${OUT:-/tmp/out}
for n in "$@"; do
  cuobjdump -sass bin/$n > "$OUT/$n.sass" 2>&1
  echo "== $n: SASS opcode histogram (whole kernel)"
  grep -oE '^\s+/\*[0-9a-f]{4}\*/\s+[A-Z][A-Z0-9.]*' "$OUT/$n.sass" | awk '{print $2}' | sed 's/\..*//' | sort | uniq -c | sort -rn | head -25 | tr '\n' ' '; echo
  timeout 300 ncu --clock-control none --launch-skip 1 --launch-count 1 -k sparse_persistent_rnn \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section InstructionStats --section LaunchStats \
    ./bin/$n $(lay $n) 256 7 2 > "$OUT/$n.ncu.txt" 2>&1
  grep -E "Duration|Elapsed Cycles|SM Frequency|Issued Warp Per Scheduler|No Eligible|Active Warps Per Scheduler|Warp Cycles Per Issued|Executed Ipc A|Stall|Instructions" "$OUT/$n.ncu.txt" | head -30
done

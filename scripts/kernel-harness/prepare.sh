#!/bin/bash
# prepare.sh — on the development machine: export every layout of $VARIANTS (default variants.txt) with the library's packer
# and stage harness + kernels into DEST (default /work/main/.carry/kernel, which the device tool carries).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST=${1:-/work/main/.carry/kernel}
rm -rf "$DEST"; mkdir -p "$DEST/lay" "$DEST/kernels"
cd "$ROOT"
specs=()
while read name spec T reps extra; do specs+=("$name:$spec"); done < <(grep -v '^#' scripts/kernel-harness/${VARIANTS:-variants.txt} | awk 'NF>=5')
java -cp sprnn-core/target/classes scripts/kernel-harness/ExportLayouts.java "$DEST/lay" "${specs[@]}"
# variants that differ only in nvcc defines share one layout: keep the first, leave NAME.same naming it
declare -A first
for f in "$DEST"/lay/*.bin.gz; do
  sum=$(md5sum < "$f" | cut -d' ' -f1); n=$(basename "$f" .bin.gz)
  if [ -n "${first[$sum]:-}" ]; then rm "$f"; echo "${first[$sum]}" > "$DEST/lay/$n.same"; else first[$sum]=$n; fi
done
cp sprnn-core/src/main/resources/org/sprnn/kernels/{sparse_persistent_rnn.cu,sparse_persistent_rnn.cuh,cell_math.cuh} "$DEST/kernels/"
cp scripts/kernel-harness/harness.cu scripts/kernel-harness/run.sh scripts/kernel-harness/go.sh scripts/kernel-harness/profile.sh scripts/kernel-harness/java-run.sh "$DEST/"; cp scripts/kernel-harness/${VARIANTS:-variants.txt} "$DEST/variants.txt"
du -sh "$DEST"

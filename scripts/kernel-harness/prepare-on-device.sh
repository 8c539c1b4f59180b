#!/bin/bash
# prepare-on-device.sh — on the GPU machine: prepare.sh's layout export with the dist bundle's runtime, for variant
# sets whose layouts are too large to carry. Usage: prepare-on-device.sh BUNDLE.tar.xz EXPORTDIR DEST VARIANTS
# (EXPORTDIR holds ExportLayouts.class: javac -d EXPORTDIR -cp sprnn-core/target/classes scripts/kernel-harness/ExportLayouts.java).
set -eu
bundle=$1 exp=$(cd "$2" && pwd) dest=$3 variants=$4
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
w=$(mktemp -d); tar -C "$w" -xJf "$bundle"
rm -rf "$dest"; mkdir -p "$dest/lay" "$dest/kernels"
specs=()
while read name spec T reps extra; do specs+=("$name:$spec"); done < <(grep -v '^#' "$here/$variants" | awk 'NF>=5')
"$w/sprnn-linux-x64/runtime/bin/java" -cp "$w/sprnn-linux-x64/lib/sprnn.jar:$exp" ExportLayouts "$dest/lay" "${specs[@]}" | cut -c1-200
cp "$root"/sprnn-core/src/main/resources/org/sprnn/kernels/{sparse_persistent_rnn.cu,sparse_persistent_rnn.cuh,cell_math.cuh} "$dest/kernels/"
cp "$here"/harness.cu "$here"/run.sh "$here"/profile.sh "$dest/"; cp "$here/$variants" "$dest/variants.txt"

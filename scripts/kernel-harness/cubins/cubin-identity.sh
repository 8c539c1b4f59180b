#!/bin/bash
# cubin-identity.sh — does a change to the kernel sources leave every compiled kernel as it was? Compiles the
# engines' kernels (the defines SpecDefines.java prints, from the library's own planner and spec records) with
# nvcc at two commits and compares the cubins byte for byte; where the bytes differ, compares `cuobjdump -sass`
# too (where cuobjdump is installed), so a difference only in embedded metadata shows as such. Both commits' sources are compiled from the same
# temporary path, so no path can differ. Exit 0 when every cubin is identical, 1 otherwise.
#
# Usage (from the repository root, after `mvn -pl sprnn-core compile`; no GPU needed):
#   scripts/kernel-harness/cubins/cubin-identity.sh [BASE [HEAD [OUT]]]
#   BASE default 0b3bc8b, HEAD default HEAD, OUT default results/kernel/cubin-identity; ARCH (sm_90), JOBS (2).
# Writes OUT/specs.txt (NAME SOURCE DEFINES, one kernel a line) and OUT/result.txt (a verdict and the two sha256 a kernel).
set -eu
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$ROOT"
BASE=${1:-0b3bc8b}
HEAD=${2:-HEAD}
OUT=${3:-results/kernel/cubin-identity}
ARCH=${ARCH:-sm_90}
JOBS=${JOBS:-2}
KDIR=sprnn-core/src/main/resources/org/sprnn/kernels
[ -d sprnn-core/target/classes/org/sprnn ] || { echo "sprnn-core/target/classes missing: run mvn -pl sprnn-core compile first" >&2; exit 2; }
base_rev=$(git rev-parse --short=12 "$BASE^{commit}")
head_rev=$(git rev-parse --short=12 "$HEAD^{commit}")
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

java -cp sprnn-core/target/classes scripts/kernel-harness/cubins/SpecDefines.java > "$OUT/specs.txt"

# compile every kernel of specs.txt from the sources of commit $1 into $work/$2/NAME.cubin
compile_at() {
  local rev=$1 label=$2
  rm -rf "$work/src" "$work/tree" && mkdir -p "$work/src" "$work/tree" "$work/$label"
  git archive "$rev" "$KDIR" | tar -x -C "$work/tree"
  cp "$work/tree/$KDIR"/* "$work/src/"
  export work label ARCH
  # shellcheck disable=SC2016
  xargs -P "$JOBS" -L 1 bash -c '
    name=$0; src=$1; shift
    (cd "$work/src" && nvcc -arch="$ARCH" -cubin -std=c++17 "$@" -o "$work/$label/$name.cubin" "$src" 2> "$work/$label/$name.log") \
      || { echo "COMPILE FAILED $label $name"; cat "$work/$label/$name.log"; exit 255; }' < "$OUT/specs.txt"
}
compile_at "$base_rev" base
compile_at "$head_rev" head

{
  echo "# cubin identity: $ARCH, base $base_rev, head $head_rev, $(nvcc --version | grep -o 'release [^,]*, V[0-9.]*')"
  echo "# verdict name sha256(base) sha256(head)"
} > "$OUT/result.txt"
identical=0 sass_only=0 different=0
while read -r name _; do
  b="$work/base/$name.cubin" h="$work/head/$name.cubin"
  if cmp -s "$b" "$h"; then
    verdict=IDENTICAL; identical=$((identical + 1))
  elif ! command -v cuobjdump > /dev/null; then
    verdict=DIFFERENT-NO-CUOBJDUMP; different=$((different + 1))
  elif cmp -s <(cuobjdump -sass "$b") <(cuobjdump -sass "$h"); then
    verdict=SASS-IDENTICAL-BYTES-DIFFER; sass_only=$((sass_only + 1))
  else
    verdict=DIFFERENT; different=$((different + 1))
  fi
  echo "$verdict $name $(sha256sum < "$b" | cut -c1-16) $(sha256sum < "$h" | cut -c1-16)" >> "$OUT/result.txt"
done < "$OUT/specs.txt"
total=$((identical + sass_only + different))
echo "# $total kernels: $identical identical bytes, $sass_only same SASS with other bytes, $different different" >> "$OUT/result.txt"
tail -1 "$OUT/result.txt"
[ "$identical" -eq "$total" ]

#!/usr/bin/env bash
# gpu-pack.sh — runs GPU commands into a scratch folder and packs everything they wrote into ONE archive under OUT.
# The device tool brings back at most eight files of a call (the rest are listed as left out), so a session's
# logs, CSVs and JSON rows come back only as one archive:
#
#   bash scripts/gpu-pack.sh OUT -- bash scripts/gpu-suite.sh dist/sprnn-linux-x64.tar.xz @OUT@/q quick
#   bash scripts/gpu-pack.sh OUT -- bash scripts/gpu-suite.sh dist/sprnn-linux-x64.tar.xz @OUT@/g grid
#
# Each command after `--` (several separated by `---`) runs with every `@OUT@` in its arguments replaced by the scratch
# folder; the archive is OUT/all.tgz (unpack here with `tar xzf all.tgz`: folder `r/`), the exit code the number of
# commands that failed. Output the commands print still goes to the call's output.
#
# SPRNN_PACK_S=N (seconds) bounds the whole call: each command runs under `timeout` for what is left of N (a command
# not started by then is skipped and counted as failed), so the archive is always written before the device tool's own
# timeout would kill the call and return nothing. Set it some 20 s under the tool's timeout_s.
set -uo pipefail
OUT=${1:?usage: gpu-pack.sh OUT -- COMMAND... [--- COMMAND...]}
shift
[ "${1:-}" = "--" ] || { echo "usage: gpu-pack.sh OUT -- COMMAND... [--- COMMAND...]" >&2; exit 2; }
shift
scratch=$(mktemp -d)
mkdir -p "$scratch/r" "$OUT"
failed=0
pack_start=$SECONDS
run_one() {
  local args=() a
  for a in "$@"; do args+=("${a//@OUT@/$scratch/r}"); done
  if [ -n "${SPRNN_PACK_S:-}" ]; then
    local left=$((SPRNN_PACK_S - (SECONDS - pack_start)))
    if [ "$left" -lt 5 ]; then
      echo "gpu-pack.sh: skipped (SPRNN_PACK_S=$SPRNN_PACK_S spent): ${args[*]}" | tee -a "$scratch/r/skipped.txt" >&2
      failed=$((failed + 1))
      return
    fi
    timeout "$left" "${args[@]}" || failed=$((failed + 1))
  else
    "${args[@]}" || failed=$((failed + 1))
  fi
}
cmd=()
for a in "$@"; do
  if [ "$a" = "---" ]; then run_one "${cmd[@]}"; cmd=(); else cmd+=("$a"); fi
done
[ "${#cmd[@]}" -gt 0 ] && run_one "${cmd[@]}"
nvidia-smi --query-gpu=name,driver_version --format=csv > "$scratch/r/gpu.txt" 2>&1
if ! tar -C "$scratch" -czf "$OUT/all.tgz" r; then
  echo "gpu-pack.sh: packing into $OUT/all.tgz failed" >&2
  failed=$((failed + 1))
fi
echo "packed $(find "$scratch/r" -type f | wc -l) files into $OUT/all.tgz; $failed command(s) or the packing failed"
rm -rf "$scratch"
exit "$failed"

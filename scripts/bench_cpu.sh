#!/usr/bin/env bash
# Reproduces results/cpu: the cpu engine's time per step (JMH, through run() and runFloat()), Vector API vs
# scalar loops (JMH), the machine's copy bandwidth (JMH), PyTorch's nn.RNN on the same layer, and the
# summary table (scripts/cpu_bench_summary.py).
# Run on a quiet machine: it records the load average before and after each part in load.txt.
#   scripts/bench_cpu.sh [results-dir] [parts]
# parts: comma-separated subset of engine,vector-api,copy,torch (default: all). The summary reuses the
# files of the parts not run, e.g. `scripts/bench_cpu.sh results/cpu engine` re-times the engine against
# the recorded copy bandwidth (the memory floor) and PyTorch figures.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/cpu}
parts=${2:-engine,vector-api,copy,torch}
has() { [[ ",$parts," == *",$1,"* ]]; }
mkdir -p "$out"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export PATH=$JAVA_HOME/bin:$PATH MAVEN_OPTS=--sun-misc-unsafe-memory-access=allow
mvn -B -q -ntp -pl sprnn-core,sprnn-bench -am package -DskipTests
jar=sprnn-bench/target/sprnn-bench.jar
{ echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; java $(java -version 2>&1 | head -1); commit $(git rev-parse --short HEAD); parts $parts"; } > "$out/load.txt"
if has engine; then
  echo "before engine: $(uptime)" >> "$out/load.txt"
  java -jar $jar CpuEngineBenchmark -p threads=1,2 -rf json -rff "$out/jmh_engine.json" | tee "$out/jmh_engine.txt"
fi
if has vector-api; then
  echo "before vector-api: $(uptime)" >> "$out/load.txt"
  java -jar $jar CpuEngineVectorApiBenchmark -rf json -rff "$out/jmh_vector_api.json" | tee "$out/jmh_vector_api.txt"
fi
if has copy; then
  echo "before copy: $(uptime)" >> "$out/load.txt"
  java -jar $jar CopyBandwidthBenchmark -rf json -rff "$out/jmh_copy.json" | tee "$out/jmh_copy.txt"
fi
if has torch; then
  echo "before torch: $(uptime)" >> "$out/load.txt"
  /usr/bin/python3 scripts/bench_torch_cpu.py --out "$out/torch_cpu.json"
fi
echo "after: $(uptime)" >> "$out/load.txt"
/usr/bin/python3 scripts/cpu_bench_summary.py --dir "$out"

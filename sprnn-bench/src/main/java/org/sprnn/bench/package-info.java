/**
 * JMH benchmarks of sprnn's CPU engines: the {@code cpu} engine's time per step
 * ({@link org.sprnn.bench.CpuEngineBenchmark}), its Vector API loops against its scalar loops
 * ({@link org.sprnn.bench.CpuEngineVectorApiBenchmark}) and the machine's copy bandwidth, the memory floor
 * ({@link org.sprnn.bench.CopyBandwidthBenchmark}). Uses sprnn-core's public API only; {@code scripts/bench_cpu.sh}
 * runs them all and writes {@code results/cpu}.
 */
package org.sprnn.bench;

/**
 * The CPU engines: {@code cpu-reference}, the scalar float64 oracle every other engine is tested against (with
 * {@link org.sprnn.engine.cpu.CellEquations}, PyTorch's equations in float64), and {@code cpu}, float32 and
 * multi-threaded, streaming only the nonzeros in unit-major CSR with the Vector API where the
 * {@code jdk.incubator.vector} module is present. Each has its {@link org.sprnn.engine.EngineFactory}.
 *
 * <p>Imports {@link org.sprnn.engine}, {@link org.sprnn.model}, {@link org.sprnn.sparse} and
 * {@code jdk.incubator.vector} (only from the class that nothing loads without the module); no native code. Its
 * public types are used by the CLI, the benchmarks and the verification harness (the reference engine).
 */
package org.sprnn.engine.cpu;

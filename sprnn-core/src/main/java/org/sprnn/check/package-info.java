/**
 * The GPU verification harness: every GPU engine against the float64 {@code cpu-reference} on a real device,
 * runnable where the JVM runs, without Maven or JUnit.
 * <ul>
 *   <li>{@link org.sprnn.check.GpuSelfTest}: {@code sprnn selftest}, the {@code cuda-gemm}, {@code cuda-spmm} and
 *       {@code cuda-cudnn} (STANDARD) matrix (cells, sizes, densities, batches, precisions), the NVRTC toolkit-header
 *       probe, the fault checks and the float32-range contract of every GPU engine; {@code CudnnSelfTest}, cuDNN's
 *       other algorithms on small shapes (refusals within cuDNN's documented limits reported, not failed);</li>
 *   <li>{@link org.sprnn.check.SparsePersistentSelfTest}: {@code sprnn kernel-check}, the
 *       {@code cuda-sparse-persistent} matrix in a few minutes;</li>
 *   <li>{@link org.sprnn.check.SparsePersistentFullCheck}: {@code sprnn kernel-check --full}, the whole matrix,
 *       ablation, stalled-CTA fault paths, launch chunking and the PyTorch golden fixtures;</li>
 *   <li>{@code RoundingProbe}: for a row above tolerance, whether 16-bit roundings alone (emulated in float64 on
 *       the CPU) reach its error.</li>
 * </ul>
 * Each command's entry class keeps its order of work; its parts are named for what they own: {@code SelfTest*} and
 * {@code Float32ContractCheck} for {@code selftest}, {@code FullCheck*} for {@code kernel-check --full}. What they
 * share, the relative error of a run against its reference and the rule for drawn models that leave fp16's range,
 * is {@code RelativeError} and {@code Fp16Range}.
 *
 * <p>What it may import: the engines ({@code org.sprnn.engine}, {@code engine.cpu}, {@code engine.cuda}),
 * {@code model}, {@code plan}, {@code sparse}, {@code io} and Jackson (the golden fixtures' manifest). It reaches
 * past an engine's public API only through {@link org.sprnn.engine.cuda.EngineTesting}, the engines' one
 * test-support surface (kernel variants, plans made here, the kernels an engine compiles, its roundings). The
 * checks of the CUDA bindings themselves (the toolkit-header probe, the fault checks) and compiling kernels ahead
 * into the cubin cache use {@code org.sprnn.internal.cuda} directly.
 *
 * <p>Nothing in the library's engines imports this package; the CLI's {@code selftest} and {@code kernel-check}
 * commands and the tests do.
 */
package org.sprnn.check;

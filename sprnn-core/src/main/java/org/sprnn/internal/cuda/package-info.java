/**
 * Hand-written Foreign Function &amp; Memory bindings to the CUDA driver API, NVRTC, cuBLASLt,
 * cuSPARSE and cuDNN 9 ({@link org.sprnn.internal.cuda.Cudnn}, the RNN inference API), plus small {@link java.lang.AutoCloseable} wrappers around the native objects they create.
 *
 * <p>Internal: only the CUDA engines ({@code org.sprnn.engine.cuda}) and the GPU verification harness
 * ({@code org.sprnn.check}) use it; there is no Java kernel package, {@link org.sprnn.internal.cuda.KernelCompiler}
 * compiles the {@code .cu} sources under {@code org/sprnn/kernels/} on the class path. Imports nothing of sprnn but
 * {@link org.sprnn.SprnnException}. Libraries are
 * opened lazily, by soname, and a missing library or driver becomes a reason string
 * ({@link org.sprnn.internal.cuda.CudaLibraries}), never a {@link java.lang.LinkageError}. Symbols are
 * looked up by the versioned names the CUDA 13 headers map to ({@code cuMemAlloc_v2}, ...). Every
 * return code goes through {@link org.sprnn.internal.cuda.NativeFunction#check}, which names the call
 * and the library's own error name.
 */
package org.sprnn.internal.cuda;

/**
 * The GPU engines: {@code cuda-sparse-persistent} (the sparse persistent kernel, compiled at run time by NVRTC
 * from a {@link org.sprnn.plan.KernelSpec}, launched once per layer for the whole sequence) and the library
 * baselines {@code cuda-gemm} (cuBLASLt) and {@code cuda-spmm} (cuSPARSE), each step's element-wise cell update in
 * {@code kernels/rnn_cell_update.cu}; {@code cuda-cudnn} ({@link org.sprnn.engine.cuda.CudnnEngine}: cuDNN 9's
 * {@code cudnnRNNForward}, every algorithm, the library contender); their factories, and {@code GpuStatus}, what
 * {@code sprnn info} says about the GPU. How the baselines hold a {@link org.sprnn.Precision} on the device (the kernels'
 * {@code ELEM_TYPE}, the libraries' {@code cudaDataType_t}, the buffers' elements) is {@code CudaPrecision}'s alone.
 *
 * <p>Imports {@link org.sprnn.engine}, {@link org.sprnn.model}, {@link org.sprnn.sparse}, {@link org.sprnn.plan}
 * and {@link org.sprnn.internal.cuda}; the engines import neither {@link org.sprnn.io} nor Jackson. The GPU
 * verification harness (self-tests, the full kernel check, the rounding probe) lives in {@code org.sprnn.check},
 * which imports this package; nothing here imports it.
 */
package org.sprnn.engine.cuda;

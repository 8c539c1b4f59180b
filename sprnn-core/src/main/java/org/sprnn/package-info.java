/**
 * sprnn: pruned RNNs (PyTorch's {@code nn.RNN}, {@code nn.GRU}, {@code nn.LSTM}) run on CPU and on NVIDIA GPUs.
 *
 * <p>The packages follow the data: {@link org.sprnn.model} (the weights) → {@link org.sprnn.io} (files) →
 * {@link org.sprnn.prune} (magnitude pruning) → {@link org.sprnn.sparse} (sparse forms and the on-chip packing)
 * → {@link org.sprnn.plan} (does a layer fit on-chip, and how) → the kernels (CUDA sources under the class-path
 * folder {@code org/sprnn/kernels/}, compiled at run time) → {@link org.sprnn.engine} (the engines, with
 * {@code engine.cpu} and {@code engine.cuda} as siblings). {@link org.sprnn.internal.cuda} holds the FFM bindings
 * that only the CUDA engines (and the GPU verification harness, {@code org.sprnn.check}) touch. Each package
 * imports only packages to its left; this one holds {@link org.sprnn.SprnnException} and {@link org.sprnn.Precision}
 * (the one name for fp16, bf16, fp32 and fp64: ids, sizes, 16-bit conversions and the engines' tolerances), which every
 * package may use, with {@link org.sprnn.CacheDir} (where caches live) and {@link org.sprnn.JvmSupport} (what the JVM
 * grants: the Vector API and native access, each said once when missing).
 */
package org.sprnn;

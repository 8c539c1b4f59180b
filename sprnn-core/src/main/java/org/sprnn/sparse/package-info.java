/**
 * The one sparse form of a weight matrix and the one definition of each on-chip layout.
 *
 * <p>{@link org.sprnn.sparse.CsrMatrix} (float32 CSR, the entries nonzero after rounding to float32) is the
 * only input form: every engine and the packer start from it. The {@code cpu} engine repacks it unit-major
 * ({@code engine.cpu.UnitMajorCsr}), {@code cuda-spmm} uploads it to cuSPARSE as it is, and the sparse persistent
 * kernel's layout is dealt from it here: the packed 32-bit word ({@link org.sprnn.sparse.PackedWord},
 * {@link org.sprnn.Precision}), the shared-memory bank model ({@link org.sprnn.sparse.SharedMemoryBanks}),
 * the bank-aware row order ({@link org.sprnn.sparse.BankAwareOrder}) and the dealing of a layer's rows to warps
 * ({@link org.sprnn.sparse.PackedLayer}). {@code PackedWord} and {@code SharedMemoryBanks} mirror
 * {@code kernels/sparse_persistent_rnn.cuh} formula for formula; a test compiles the header and holds the two
 * together.
 *
 * <p>Imports {@link org.sprnn.model} only. Imported by {@link org.sprnn.plan}, the engines, the verification harness
 * ({@code org.sprnn.check}) and the CLI.
 */
package org.sprnn.sparse;

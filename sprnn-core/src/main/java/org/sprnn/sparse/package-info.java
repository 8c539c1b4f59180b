/**
 * The sparse forms of a weight matrix and the one definition of each on-chip layout: CSR
 * ({@link org.sprnn.sparse.CsrMatrix}) and rows of nonzeros ({@link org.sprnn.sparse.SparseRows}) that the
 * engines start from; the packed 32-bit word ({@link org.sprnn.sparse.PackedWord}, its value in fp16 or bf16 by
 * {@link org.sprnn.Precision#encode(float)}), the shared-memory bank model ({@link org.sprnn.sparse.SharedMemoryBanks}),
 * the bank-aware row order ({@link org.sprnn.sparse.BankAwareOrder}) and the dealing of a layer's rows to warps
 * ({@link org.sprnn.sparse.PackedLayer}) for the sparse persistent kernel. {@code PackedWord} and
 * {@code SharedMemoryBanks} mirror {@code kernels/sparse_persistent_rnn.cuh} formula for formula; a test compiles
 * the header and holds the two together.
 *
 * <p>Imports {@link org.sprnn.model} only. Imported by {@link org.sprnn.plan} and the engines.
 */
package org.sprnn.sparse;

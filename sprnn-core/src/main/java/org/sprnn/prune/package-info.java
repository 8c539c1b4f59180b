/**
 * Magnitude pruning ({@link org.sprnn.prune.Pruner}, configured by a {@link org.sprnn.prune.PruneSpec}) and the
 * sparsity figures {@code sprnn inspect} prints ({@link org.sprnn.prune.ModelStats}). Deterministic: the result
 * depends only on the model and the spec. The modes differ in where the kept count applies: the whole matrix, every
 * row, every group of rows that a GPU warp shares (balanced, after ESE) or every shared-memory bank of every row
 * (bank-balanced, after BBS); the last two make the persistent kernel's fast paths a choice made at pruning time.
 *
 * <p>Imports {@link org.sprnn.model} only. Used by the CLI ({@code prune}, {@code inspect}, {@code bench sweep}); no
 * engine needs it.
 */
package org.sprnn.prune;

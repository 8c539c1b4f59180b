/**
 * Magnitude pruning ({@link org.sprnn.prune.Pruner}, configured by a {@link org.sprnn.prune.PruneSpec}) and the
 * sparsity figures {@code sprnn inspect} prints ({@link org.sprnn.prune.ModelStats}). Deterministic: the result
 * depends only on the model and the spec.
 *
 * <p>Imports {@link org.sprnn.model} only. Used by the CLI ({@code prune}, {@code inspect}); no engine needs it.
 */
package org.sprnn.prune;

package org.sprnn.plan;

import org.sprnn.Precision;
import org.sprnn.SprnnException;

/**
 * The choices a plan is made with: the optimization switches (each one a column of the ablation) and,
 * optionally, a fixed partition.
 *
 * @param exchange exchange of {@code h_t}; null = the cluster if the layer fits one, else timestamps
 * @param wideLoads one shared-memory access per nonzero for the whole batch
 * @param bankAware bank-aware order of each row (Algorithm 1)
 * @param balanced balanced dealing of units to warps (else naive contiguous split)
 * @param ctas CTAs, 0 = derive (cluster: the device's largest cluster; grid: one per SM)
 * @param warpsPerCta warps per CTA, 0 = derive
 * @param weights the weights' 16-bit encoding: fp16 or bf16
 * @param splitWeights each nonzero packed as two 16-bit words of one column, its rounding and its residual's
 *     ({@link org.sprnn.sparse.PackedLayer}): weights within {@code 2^-22} relative instead of {@code 2^-11} for fp16,
 *     twice the words per row (the plan counts them against the capacity); the kernel is unchanged
 * @param compiledRowEnds compile the row ends into the kernel where every row takes the same slots
 *     ({@link KernelSpec#rowSlots}); false keeps the general slot loop, which tests for row ends at run time (for
 *     measuring one against the other, and to check the general loop on layers of equal rows)
 * @param dense plan the dense mode ({@code cuda-dense-persistent}, {@link KernelSpec#dense}): W_hh whole, two weights
 *     a word; wide loads, full warps and compiled row ends always, bank-aware order and split weights never (those
 *     switches are ignored)
 * @param tails with {@code compiledRowEnds} and balanced dealing, lay rows of unequal length out with a tail the warp's
 *     rows share ({@link org.sprnn.sparse.PackedLayer#packTail}, {@link KernelSpec#tailSlots}) where that takes no more
 *     slots, so their ends are compiled in too; false: such rows run the general slot loop
 * @param ctaTails with {@code tails}, lay warps of one row (relu/tanh, a unit a warp) of unequal length out with a tail the
 *     CTA's rows share ({@link org.sprnn.sparse.PackedLayer#packCtaTail}, {@link KernelSpec#tailEntries}) where that takes
 *     fewer slots than the longest row
 * @param tailSmem with {@code tails}, a warp tail's lane sums in shared memory instead of registers
 *     ({@link KernelSpec#tailSmem}, an experiment: {@code SPRNN_ROW_ENDS=tail-smem})
 * @param placement where balanced warps sit among the CTAs' warp positions outside a cluster
 *     ({@link org.sprnn.sparse.WarpPlacement}: dealt, the default, spread or cta; {@code SPRNN_PLACEMENT})
 */
public record PlanOptions(ExchangeMode exchange, boolean wideLoads, boolean bankAware, boolean balanced, int ctas,
                          int warpsPerCta, Precision weights, boolean splitWeights, boolean compiledRowEnds, boolean dense,
                          boolean tails, boolean ctaTails, boolean tailSmem, org.sprnn.sparse.WarpPlacement placement) {

    /** Options with balanced warps in the order dealing filled them ({@link #placement} dealt). */
    public PlanOptions(ExchangeMode exchange, boolean wideLoads, boolean bankAware, boolean balanced, int ctas,
                       int warpsPerCta, Precision weights, boolean splitWeights, boolean compiledRowEnds, boolean dense,
                       boolean tails, boolean ctaTails, boolean tailSmem) {
        this(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, tails, ctaTails, tailSmem, org.sprnn.sparse.WarpPlacement.DEALT);
    }

    /** Options without the warp tail's sums in shared memory ({@link #tailSmem} false). */
    public PlanOptions(ExchangeMode exchange, boolean wideLoads, boolean bankAware, boolean balanced, int ctas,
                       int warpsPerCta, Precision weights, boolean splitWeights, boolean compiledRowEnds, boolean dense,
                       boolean tails, boolean ctaTails) {
        this(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, tails, ctaTails, false);
    }

    /** Options without the CTA tail ({@link #ctaTails} false). */
    public PlanOptions(ExchangeMode exchange, boolean wideLoads, boolean bankAware, boolean balanced, int ctas,
                       int warpsPerCta, Precision weights, boolean splitWeights, boolean compiledRowEnds, boolean dense,
                       boolean tails) {
        this(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, tails, false);
    }

    /** Options with the shared tail for rows of unequal length ({@link #tails} true). */
    public PlanOptions(ExchangeMode exchange, boolean wideLoads, boolean bankAware, boolean balanced, int ctas,
                       int warpsPerCta, Precision weights, boolean splitWeights, boolean compiledRowEnds, boolean dense) {
        this(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, true);
    }

    /** Sparse options ({@code dense} false). */
    public PlanOptions(ExchangeMode exchange, boolean wideLoads, boolean bankAware, boolean balanced, int ctas, int warpsPerCta,
                       Precision weights, boolean splitWeights, boolean compiledRowEnds) {
        this(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, false);
    }

    public PlanOptions {
        if (placement == null) {
            throw new SprnnException("plan options: a warp placement must be given");
        }
        if (ctas < 0 || warpsPerCta < 0 || warpsPerCta > 32) {
            throw new SprnnException("plan options: ctas " + ctas + " / warpsPerCta " + warpsPerCta + " out of range");
        }
        if (weights == null) {
            throw new SprnnException("plan options: weights format must be given");
        }
        if (!weights.isSixteenBit()) {
            throw new SprnnException("plan options: weights must be fp16 or bf16, got " + weights.id());
        }
    }

    /** The options with row ends compiled in where rows are alike. */
    public PlanOptions(ExchangeMode exchange, boolean wideLoads, boolean bankAware, boolean balanced, int ctas, int warpsPerCta,
                       Precision weights, boolean splitWeights) {
        this(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, true);
    }

    /** The options with one word per nonzero (weights not split), row ends compiled in where rows are alike. */
    public PlanOptions(ExchangeMode exchange, boolean wideLoads, boolean bankAware, boolean balanced, int ctas, int warpsPerCta,
                       Precision weights) {
        this(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, false);
    }

    /** Every optimization on, exchange and partition derived, fp16 weights, one word per nonzero. */
    public static PlanOptions defaults() {
        return new PlanOptions(null, true, true, true, 0, 0, Precision.FP16);
    }

    /** The dense mode's options: exchange and partition derived, balanced dealing, {@code weights} (fp16 or bf16). */
    public static PlanOptions denseDefaults(Precision weights) {
        return new PlanOptions(null, true, false, true, 0, 0, weights, false, true, true);
    }

    /** The same options with another exchange. */
    public PlanOptions withExchange(ExchangeMode e) {
        return new PlanOptions(e, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, tails, ctaTails, tailSmem, placement);
    }

    /** The same options with another partition. */
    public PlanOptions withPartition(int newCtas, int newWarps) {
        return new PlanOptions(exchange, wideLoads, bankAware, balanced, newCtas, newWarps, weights, splitWeights, compiledRowEnds, dense, tails, ctaTails, tailSmem, placement);
    }

    /** The same options with the given switches. */
    public PlanOptions withSwitches(boolean wide, boolean bank, boolean bal) {
        return new PlanOptions(exchange, wide, bank, bal, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, tails, ctaTails, tailSmem, placement);
    }

    /** The same options with row ends compiled in where rows are alike, or never. */
    public PlanOptions withCompiledRowEnds(boolean compiled) {
        return new PlanOptions(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiled, dense, tails, ctaTails, tailSmem, placement);
    }

    /** The same options with weights split in two words per nonzero, or not. */
    public PlanOptions withSplitWeights(boolean split) {
        return new PlanOptions(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, split, compiledRowEnds, dense, tails, ctaTails, tailSmem, placement);
    }

    /** The same options for the dense mode, or the sparse one. */
    public PlanOptions withDense(boolean d) {
        return new PlanOptions(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, d, tails, ctaTails, tailSmem, placement);
    }

    /** The same options with a warp tail's sums in shared memory, or in registers ({@link #tailSmem}). */
    public PlanOptions withTailSmem(boolean m) {
        return new PlanOptions(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, tails, ctaTails, m, placement);
    }

    /** The same options with the CTA tail for warps of one row of unequal length, or without ({@link #ctaTails}). */
    public PlanOptions withCtaTails(boolean c) {
        return new PlanOptions(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, tails, c, tailSmem, placement);
    }

    /** The same options with the shared tail for rows of unequal length, or without ({@link #tails}). */
    public PlanOptions withTails(boolean t) {
        return new PlanOptions(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, t, ctaTails, tailSmem, placement);
    }

    /** The same options with another placement of balanced warps ({@link #placement}). */
    public PlanOptions withPlacement(org.sprnn.sparse.WarpPlacement p) {
        return new PlanOptions(exchange, wideLoads, bankAware, balanced, ctas, warpsPerCta, weights, splitWeights, compiledRowEnds, dense, tails, ctaTails, tailSmem, p);
    }
}

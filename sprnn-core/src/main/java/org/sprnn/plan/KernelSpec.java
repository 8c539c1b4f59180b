package org.sprnn.plan;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.sparse.PackedLayer;
import org.sprnn.sparse.PackedWord;
import org.sprnn.sparse.SharedMemoryBanks;

/**
 * Everything that specialises one compiled sparse persistent kernel: shape, partition, on-chip tiers and
 * every optimization switch. It validates itself and derives the rest (threads, shared-memory layout,
 * the {@code -D} defines, the kernel name that keys the cubin cache and labels benchmark rows).
 *
 * <p>The shared-memory layout the kernel carves out of its dynamic shared memory, in this order (each part
 * 16-byte aligned); {@code sparse_persistent_rnn.cuh} computes the same offsets from the same defines:
 * <pre>
 *   act     [2][H + 32][paddedBatch] fp16   h_{t-1} double-buffered (the grid barrier without multicast staging
 *                                           uses the first only), batch innermost; 32 zero columns above H;
 *                                           each buffer padded to 16 bytes
 *   preact  [warps][U*G][paddedBatch] fp32  each row's recurrent sum, handed from the reduction to the cell update
 *   tier2   [warps][S - R][32] u32          packed words beyond the register tier, slot-major
 *   ctail   [2][paddedBatch/2][warps x 32] float2 with {@link #tailEntries}: each lane's tail sums, by step parity;
 *                                           [warps][paddedBatch][32] fp32 with {@link #tailSmem}
 * </pre>
 *
 * @param cell cell type
 * @param hidden {@code H}
 * @param batch batch size {@code B}
 * @param weights the weights' 16-bit encoding: fp16 or bf16
 * @param ctas CTAs (one per SM); for {@link ExchangeMode#CLUSTER} the cluster size
 * @param warpsPerCta warps per CTA
 * @param slotsPerLane {@code S}: packed words per lane
 * @param registerSlots {@code R <= S}: words held in registers; the other {@code S-R} in shared memory
 * @param unitsPerWarp {@code U}: most hidden units one warp owns
 * @param wideLoads one access per nonzero for the whole batch (else one 2-byte load per batch element)
 * @param bankAware rows in bank-aware order (host layout only; part of the name for benchmark rows)
 * @param exchange how {@code h_t} moves between CTAs
 * @param balanced balanced dealing of units to warps (host layout only; part of the name)
 * @param smArch compute capability the cubin is built for, e.g. 90
 * @param splitWeights each nonzero packed as two words, hi and lo ({@link org.sprnn.sparse.PackedLayer}; host layout
 *     only, the kernel sums a row's words either way; part of the name)
 * @param stageCluster CTAs of a thread-block cluster that share the grid barrier's staging of {@code h_{t-1}} by TMA
 *     multicast (1: none; 2, 4, 8 or 16 dividing {@code ctas}, grid barrier, compute capability 9.0); see
 *     {@link #defaultStageCluster}
 * @param uniformSlots every warp's rows fill all {@code S} slots ({@link org.sprnn.sparse.PackedLayer#fullWarps}), so
 *     the slot loop needs no test for a warp's padding tail ({@code SPRNN_UNIFORM_SLOTS}; measured faster where it
 *     applies: results/kernel/session5/README.md)
 * @param rowSlots {@code L > 0} when every warp holds {@code U*G > 1} rows of exactly {@code L} slots each
 *     ({@link org.sprnn.sparse.PackedLayer#equalRowSlots}: rows of equal slot counts, as N nonzeros a row give, every
 *     warp full; then {@code S = U*G*L} and {@code uniformSlots}), so row {@code k} of every warp ends at slot
 *     {@code (k+1)L-1} and the kernel compiles the row ends in: no per-group row-end test or branch, the slot loop one
 *     basic block ({@code SPRNN_ROW_SLOTS}; measured faster than the run-time row-end test:
 *     results/kernel/session6/README.md); 0 for the general loop
 * @param dense the dense mode ({@code SPRNN_DENSE}, {@code cuda-dense-persistent}): W_hh whole, two weights of adjacent
 *     columns a word and no column index ({@link org.sprnn.sparse.PackedLayer#packDense}); every row takes
 *     {@code ceil(H/64)} slots, so {@code S = U*G*ceil(H/64)}, full warps, wide loads, row ends compiled in where a warp
 *     holds more than one row, no split weights; the activations keep 64 zero columns above {@code H} instead of 32
 * @param tailSlots {@code T > 0}: rows as pruning leaves them ({@link org.sprnn.sparse.PackedLayer#packTail}): the warp's
 *     first {@code T} slots a tail its rows share lane by lane, then every row {@code rowSlots} slots with its ends
 *     compiled in, {@code S = T + U*G*rowSlots} ({@code SPRNN_TAIL_SLOTS}); with {@code tailEntries}, the tail of
 *     {@link org.sprnn.sparse.PackedLayer#packCtaTail} instead; 0 without
 * @param lengths per-sequence lengths ({@code SPRNN_LENGTHS}): the kernel takes each sequence's length and the launch's
 *     first step, and from a sequence's end on keeps its column's state and writes zero outputs, so a batch of
 *     sequences of different lengths runs in the same single launch; everything else, the plan included, is the spec's
 *     without it (the run-time variant of a planned spec, {@link #withLengths()})
 * @param tailEntries {@code K > 0}: warps of one row ({@code U*G = 1}) of unequal length with a tail the CTA's rows share
 *     ({@link org.sprnn.sparse.PackedLayer#packCtaTail}, {@code SPRNN_CTA_TAIL=tailSlots}, {@code SPRNN_CTA_TAIL_ENTRIES=K}):
 *     every warp's first {@code tailSlots} slots hold, lane by lane, words of any row of its CTA, then its own row; a
 *     row adds up to {@code K} tail lanes' sums a lane after one CTA barrier; {@code rowSlots} 0. 0 without
 * @param tailSmem with a warp tail ({@code tailSlots > 0}, {@code tailEntries} 0), each lane keeps its tail sums in shared
 *     memory ({@code [warps][PB][32]} fp32 after the tier-2 words) instead of {@code PB} registers live through the slot
 *     loop ({@code SPRNN_TAIL_SMEM}; an experiment, off by default)
 */
public record KernelSpec(CellType cell, int hidden, int batch, Precision weights, int ctas, int warpsPerCta,
                         int slotsPerLane, int registerSlots, int unitsPerWarp, boolean wideLoads, boolean bankAware,
                         ExchangeMode exchange, boolean balanced, int smArch, boolean splitWeights, int stageCluster,
                         boolean uniformSlots, int rowSlots, boolean dense, boolean lengths, int tailSlots, int tailEntries,
                         boolean tailSmem) {

    /** The largest batch a persistent kernel takes (the range the compact constructor checks). */
    public static final int MAX_BATCH = 32;

    /** A spec without {@link #tailSmem}. */
    public KernelSpec(CellType cell, int hidden, int batch, Precision weights, int ctas, int warpsPerCta,
                      int slotsPerLane, int registerSlots, int unitsPerWarp, boolean wideLoads, boolean bankAware,
                      ExchangeMode exchange, boolean balanced, int smArch, boolean splitWeights, int stageCluster,
                      boolean uniformSlots, int rowSlots, boolean dense, boolean lengths, int tailSlots, int tailEntries) {
        this(cell, hidden, batch, weights, ctas, warpsPerCta, slotsPerLane, registerSlots, unitsPerWarp, wideLoads, bankAware,
                exchange, balanced, smArch, splitWeights, stageCluster, uniformSlots, rowSlots, dense, lengths, tailSlots, tailEntries, false);
    }

    /** A spec without a CTA tail ({@link #tailEntries} 0). */
    public KernelSpec(CellType cell, int hidden, int batch, Precision weights, int ctas, int warpsPerCta,
                      int slotsPerLane, int registerSlots, int unitsPerWarp, boolean wideLoads, boolean bankAware,
                      ExchangeMode exchange, boolean balanced, int smArch, boolean splitWeights, int stageCluster,
                      boolean uniformSlots, int rowSlots, boolean dense, boolean lengths, int tailSlots) {
        this(cell, hidden, batch, weights, ctas, warpsPerCta, slotsPerLane, registerSlots, unitsPerWarp, wideLoads, bankAware,
                exchange, balanced, smArch, splitWeights, stageCluster, uniformSlots, rowSlots, dense, lengths, tailSlots, 0);
    }

    /** A spec without a tail ({@link #tailSlots} 0). */
    public KernelSpec(CellType cell, int hidden, int batch, Precision weights, int ctas, int warpsPerCta,
                      int slotsPerLane, int registerSlots, int unitsPerWarp, boolean wideLoads, boolean bankAware,
                      ExchangeMode exchange, boolean balanced, int smArch, boolean splitWeights, int stageCluster,
                      boolean uniformSlots, int rowSlots, boolean dense, boolean lengths) {
        this(cell, hidden, batch, weights, ctas, warpsPerCta, slotsPerLane, registerSlots, unitsPerWarp, wideLoads, bankAware,
                exchange, balanced, smArch, splitWeights, stageCluster, uniformSlots, rowSlots, dense, lengths, 0);
    }

    /** A sparse spec (not {@link #dense}). */
    public KernelSpec(CellType cell, int hidden, int batch, Precision weights, int ctas, int warpsPerCta,
                      int slotsPerLane, int registerSlots, int unitsPerWarp, boolean wideLoads, boolean bankAware,
                      ExchangeMode exchange, boolean balanced, int smArch, boolean splitWeights, int stageCluster,
                      boolean uniformSlots, int rowSlots) {
        this(cell, hidden, batch, weights, ctas, warpsPerCta, slotsPerLane, registerSlots, unitsPerWarp, wideLoads, bankAware,
                exchange, balanced, smArch, splitWeights, stageCluster, uniformSlots, rowSlots, false);
    }

    /** A spec without {@link #lengths}. */
    public KernelSpec(CellType cell, int hidden, int batch, Precision weights, int ctas, int warpsPerCta,
                      int slotsPerLane, int registerSlots, int unitsPerWarp, boolean wideLoads, boolean bankAware,
                      ExchangeMode exchange, boolean balanced, int smArch, boolean splitWeights, int stageCluster,
                      boolean uniformSlots, int rowSlots, boolean dense) {
        this(cell, hidden, batch, weights, ctas, warpsPerCta, slotsPerLane, registerSlots, unitsPerWarp, wideLoads, bankAware,
                exchange, balanced, smArch, splitWeights, stageCluster, uniformSlots, rowSlots, dense, false);
    }

    /**
     * This spec's kernel taking per-sequence lengths ({@link #lengths}): the same plan, layout and shared memory, two
     * more kernel arguments.
     *
     * @return the spec with {@code lengths} set
     */
    public KernelSpec withLengths() {
        return toBuilder().lengths(true).build();
    }

    /** The most tail lanes' sums one lane of a row adds ({@link #tailEntries}): {@link PackedLayer#MAX_TAIL_ENTRIES}. */
    public static final int MAX_TAIL_ENTRIES = PackedLayer.MAX_TAIL_ENTRIES;

    /** Registers per thread the kernel needs besides its register tier (ptxas -v, sm_90, nvcc 13.0: 71-90 registers at R=20, spills from R=48 at 16 warps). */
    public static final int REGISTER_OVERHEAD = 84;

    /**
     * Registers per thread the kernel needs besides its register tier, by cell: the gated cells keep more state
     * (x projections of 3-4 gates a step ahead, cell state). From ptxas -v and the H100 runs (sm_90, nvcc 13.0):
     * GRU spilled with R=72 at 168 registers and LSTM with R=84 at 168, so 112 and 128. For relu/tanh the need
     * grows with R: 94 registers at R=22 (72 besides), 128 plus a 16-byte spill at R=44, so 72 up to R=24
     * and 84 above ({@link #registerSlotsFor}).
     */
    public static int registerOverhead(CellType cell) {
        return switch (cell) {
            case RNN_RELU, RNN_TANH -> REGISTER_OVERHEAD;
            case GRU -> 112;
            case LSTM -> 128;
        };
    }

    /** The most packed words per lane a thread with {@code registers} registers can hold without spilling. */
    public static int registerSlotsFor(CellType cell, int registers) {
        if (cell == CellType.RNN_RELU || cell == CellType.RNN_TANH) {
            int small = registers - 72;
            if (small <= 24) {
                return Math.max(0, small);
            }
            return Math.max(24, registers - REGISTER_OVERHEAD);
        }
        return Math.max(0, registers - registerOverhead(cell));
    }

    public KernelSpec {
        if (cell == null || weights == null || exchange == null) {
            throw new SprnnException("kernel spec: cell, weights and exchange must be given");
        }
        if (!weights.isSixteenBit()) {
            throw new SprnnException("kernel spec: weights must be fp16 or bf16, got " + weights.id());
        }
        if (hidden < 1 || hidden + SharedMemoryBanks.ZERO_COLUMNS - 1 > PackedWord.MAX_COLUMN) {
            throw new SprnnException("kernel spec: hidden " + hidden + " outside [1, " + (PackedWord.MAX_COLUMN - SharedMemoryBanks.ZERO_COLUMNS + 1) + "]");
        }
        if (batch < 1 || batch > MAX_BATCH) {
            throw new SprnnException("kernel spec: batch " + batch + " outside [1, " + MAX_BATCH + "]");
        }
        if (ctas < 1 || (exchange == ExchangeMode.CLUSTER && ctas > 16)) {
            throw new SprnnException("kernel spec: ctas " + ctas + (exchange == ExchangeMode.CLUSTER ? " outside [1, 16] for a cluster" : " must be >= 1"));
        }
        if (warpsPerCta < 1 || warpsPerCta > 32) {
            throw new SprnnException("kernel spec: warpsPerCta " + warpsPerCta + " outside [1, 32]");
        }
        if (slotsPerLane < 1 || registerSlots < 0 || registerSlots > slotsPerLane) {
            throw new SprnnException("kernel spec: registerSlots " + registerSlots + " must be in [0, slotsPerLane=" + slotsPerLane + "]");
        }
        if (unitsPerWarp < 1) {
            throw new SprnnException("kernel spec: unitsPerWarp " + unitsPerWarp + " must be >= 1");
        }
        if (smArch < 50) {
            throw new SprnnException("kernel spec: smArch " + smArch + " below 50");
        }
        if (exchange == ExchangeMode.CLUSTER && smArch < 90) {
            throw new SprnnException("kernel spec: the cluster exchange needs compute capability 9.0, target is " + smArch);
        }
        if (stageCluster != 1 && !(exchange == ExchangeMode.GRID_BARRIER && smArch >= 90 && Integer.bitCount(stageCluster) == 1
                && stageCluster >= 2 && stageCluster <= 16 && ctas % stageCluster == 0)) {
            throw new SprnnException("kernel spec: stageCluster " + stageCluster + " must be 1, or 2, 4, 8 or 16 dividing ctas " + ctas
                    + " with the grid barrier on compute capability 9.0 (" + exchange.id() + ", sm " + smArch + ")");
        }
        if (tailEntries < 0 || (tailEntries > 0 && (tailSlots < 1 || tailSlots >= slotsPerLane || rowSlots != 0 || dense
                || unitsPerWarp * cell.gates() != 1 || tailEntries > MAX_TAIL_ENTRIES))) {
            throw new SprnnException("kernel spec: tailEntries " + tailEntries + " must be >= 0, and > 0 (at most " + MAX_TAIL_ENTRIES
                    + ") only with one row a warp, no rowSlots, not dense and tailSlots in [1, slotsPerLane)");
        }
        if (tailSmem && (tailSlots < 1 || tailEntries > 0)) {
            throw new SprnnException("kernel spec: tailSmem needs a warp tail (tailSlots > 0, no tailEntries)");
        }
        if (tailSlots < 0 || (tailSlots > 0 && tailEntries == 0 && (rowSlots == 0 || dense))) {
            throw new SprnnException("kernel spec: tailSlots " + tailSlots + " must be >= 0, and > 0 only with rowSlots (or tailEntries) and not dense");
        }
        if (rowSlots < 0 || (rowSlots > 0 && ((long) rowSlots * unitsPerWarp * cell.gates() + tailSlots != slotsPerLane
                || unitsPerWarp * cell.gates() < 2 || !uniformSlots))) {
            throw new SprnnException("kernel spec: tailSlots " + tailSlots + " + rowSlots " + rowSlots + " x " + unitsPerWarp * cell.gates()
                    + " rows a warp must be slotsPerLane " + slotsPerLane + ", with more than one row a warp and full warps");
        }
        if (dense) {
            int l = PackedLayer.denseRowSlots(hidden);
            int rows = unitsPerWarp * cell.gates();
            if (!wideLoads || !uniformSlots || splitWeights || bankAware || (long) rows * l != slotsPerLane
                    || rowSlots != (rows > 1 ? l : 0)) {
                throw new SprnnException("kernel spec: dense needs wide loads, full warps, no split weights or bank-aware order, "
                        + "slotsPerLane = " + rows + " rows x " + l + " slots (got " + slotsPerLane + ") and rowSlots "
                        + (rows > 1 ? l : 0) + " (got " + rowSlots + ")");
            }
        }
    }

    /**
     * The most packed words per lane a thread of the dense mode with {@code registers} registers can hold without
     * spilling, at padded batch {@code paddedBatch}: ptxas -v (sm_90, nvcc 13.0) on dense specs of the largest R without
     * spill stores (scripts in the branch's report; the lead's runs decide). The dense slot loop holds 2 x PB fp16 of
     * activations a slot in flight, so it keeps more registers than the sparse one at wide batches, and ptxas gives the
     * register tier a smaller share of a large budget (relu: R 48 of 128 registers, 106 of 255 at batch 2).
     */
    public static int denseRegisterSlotsFor(CellType cell, int paddedBatch, int registers, ExchangeMode exchange) {
        return DenseRegisters.slots(cell, paddedBatch, registers, exchange);
    }

    /**
     * A builder with every component named: {@code KernelSpec.builder().cell(GRU).hidden(1152)...build()}. Unset
     * switches are off, {@code rowSlots} is 0 and {@code stageCluster} follows {@link #defaultStageCluster}.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this spec's components, to change a few of them. */
    public Builder toBuilder() {
        return builder().cell(cell).hidden(hidden).batch(batch).weights(weights).ctas(ctas).warpsPerCta(warpsPerCta)
                .slotsPerLane(slotsPerLane).registerSlots(registerSlots).unitsPerWarp(unitsPerWarp).wideLoads(wideLoads)
                .bankAware(bankAware).exchange(exchange).balanced(balanced).smArch(smArch).splitWeights(splitWeights)
                .stageCluster(stageCluster).uniformSlots(uniformSlots).rowSlots(rowSlots).dense(dense).lengths(lengths).tailSlots(tailSlots)
                .tailEntries(tailEntries).tailSmem(tailSmem);
    }

    /**
     * Names the components of a {@link KernelSpec}; {@link #build()} validates them through the record's constructor.
     * Each setter means the component of the same name (see the record's parameters).
     */
    public static final class Builder {
        private CellType cell;
        private int hidden;
        private int batch;
        private Precision weights;
        private int ctas;
        private int warpsPerCta;
        private int slotsPerLane;
        private int registerSlots;
        private int unitsPerWarp;
        private boolean wideLoads;
        private boolean bankAware;
        private ExchangeMode exchange;
        private boolean balanced;
        private int smArch;
        private boolean splitWeights;
        private int stageCluster; // 0: defaultStageCluster at build()
        private boolean uniformSlots;
        private int rowSlots;
        private boolean dense;
        private boolean lengths;
        private int tailSlots;
        private int tailEntries;
        private boolean tailSmem;

        private Builder() {
        }

        public Builder cell(CellType v) {
            cell = v;
            return this;
        }

        public Builder hidden(int v) {
            hidden = v;
            return this;
        }

        public Builder batch(int v) {
            batch = v;
            return this;
        }

        public Builder weights(Precision v) {
            weights = v;
            return this;
        }

        public Builder ctas(int v) {
            ctas = v;
            return this;
        }

        public Builder warpsPerCta(int v) {
            warpsPerCta = v;
            return this;
        }

        public Builder slotsPerLane(int v) {
            slotsPerLane = v;
            return this;
        }

        public Builder registerSlots(int v) {
            registerSlots = v;
            return this;
        }

        public Builder unitsPerWarp(int v) {
            unitsPerWarp = v;
            return this;
        }

        public Builder wideLoads(boolean v) {
            wideLoads = v;
            return this;
        }

        public Builder bankAware(boolean v) {
            bankAware = v;
            return this;
        }

        public Builder exchange(ExchangeMode v) {
            exchange = v;
            return this;
        }

        public Builder balanced(boolean v) {
            balanced = v;
            return this;
        }

        public Builder smArch(int v) {
            smArch = v;
            return this;
        }

        public Builder splitWeights(boolean v) {
            splitWeights = v;
            return this;
        }

        /** The staging cluster; 0 (the default) means {@link #defaultStageCluster} for the other components. */
        public Builder stageCluster(int v) {
            stageCluster = v;
            return this;
        }

        public Builder uniformSlots(boolean v) {
            uniformSlots = v;
            return this;
        }

        public Builder rowSlots(int v) {
            rowSlots = v;
            return this;
        }

        public Builder dense(boolean v) {
            dense = v;
            return this;
        }

        public Builder tailSlots(int v) {
            tailSlots = v;
            return this;
        }

        public Builder tailEntries(int v) {
            tailEntries = v;
            return this;
        }

        public Builder tailSmem(boolean v) {
            tailSmem = v;
            return this;
        }

        public Builder lengths(boolean v) {
            lengths = v;
            return this;
        }

        /**
         * The spec.
         *
         * @throws SprnnException naming the component and its limit, as the record's constructor does
         */
        public KernelSpec build() {
            int stage = stageCluster != 0 ? stageCluster
                    : exchange == null ? 1 : defaultStageCluster(exchange, smArch, ctas, hidden, batch);
            return new KernelSpec(cell, hidden, batch, weights, ctas, warpsPerCta, slotsPerLane, registerSlots, unitsPerWarp,
                    wideLoads, bankAware, exchange, balanced, smArch, splitWeights, stage, uniformSlots, rowSlots, dense, lengths, tailSlots,
                    tailEntries, tailSmem);
        }
    }

    /** Batch as stored per activation column: next power of two, at least 2. */
    public int paddedBatch() {
        return SharedMemoryBanks.paddedBatch(batch);
    }

    /** Bytes per activation column ({@code 2 * paddedBatch}). */
    public int rowBytes() {
        return 2 * paddedBatch();
    }

    /**
     * Staged bytes of {@code h} per CTA and step above which the grid barrier stages through a cluster's TMA
     * multicast ({@link #stageCluster}): on the H100 at batch 4 the multicast staging beat each CTA's own 16-byte load
     * loop at H 5760 (46 KB) and lost at 4096 (32 KB) and 3456 (27 KB); results/kernel/session4/README.md.
     */
    public static final long MULTICAST_STAGING_MIN_BYTES = 40 * 1024;

    /**
     * The staging cluster of a spec on {@code ctas} CTAs unless the planner picks a bigger one: 2 where the staged
     * bytes exceed {@link #MULTICAST_STAGING_MIN_BYTES} (grid barrier, compute capability 9.0, an even CTA count), so
     * each of the pair copies half of {@code h} with one TMA bulk copy multicast into both; else 1 (each CTA loads
     * all of {@code h} itself). The launch stays cooperative; the cluster shape is compiled into the kernel. (The
     * planner also tries clusters of {@link #WIDE_STAGE_CLUSTER} on fewer CTAs: {@code Plan#of}.)
     */
    public static int defaultStageCluster(ExchangeMode exchange, int smArch, int ctas, int hidden, int batch) {
        return multicastWorthIt(exchange, smArch, hidden, batch) && ctas % 2 == 0 ? 2 : 1;
    }

    /** Whether the grid barrier's staging moves enough bytes per CTA for multicast staging ({@link #MULTICAST_STAGING_MIN_BYTES}). */
    public static boolean multicastWorthIt(ExchangeMode exchange, int smArch, int hidden, int batch) {
        return exchange == ExchangeMode.GRID_BARRIER && smArch >= 90
                && (long) hidden * 2 * SharedMemoryBanks.paddedBatch(batch) > MULTICAST_STAGING_MIN_BYTES;
    }

    /**
     * The bigger staging cluster the planner tries where multicast staging pays: every byte of {@code h} is read from
     * L2 once per cluster, so 8 CTAs read it a quarter as often as pairs do; the cooperative launch must then fit in
     * the co-resident 8-CTA clusters (15 on an H100 SXM: 120 CTAs). At H 5760 / batch 4 / 10% clusters of 8 on 120
     * CTAs beat clusters of 4 and pairs on all 132 (results/kernel/session5/README.md).
     */
    public static final int WIDE_STAGE_CLUSTER = 8;

    /** Threads per CTA. */
    public int threadsPerCta() {
        return warpsPerCta * 32;
    }

    /** Words per lane in the shared-memory tier. */
    public int sharedSlots() {
        return slotsPerLane - registerSlots;
    }

    /** Total warps. */
    public int warps() {
        return ctas * warpsPerCta;
    }

    /**
     * Bytes of static shared memory the kernel declares beside the dynamic layout (the abort flag, the staging and exit
     * mbarriers: under 64 B in every engine configuration), which the device's per-block limit also has to hold. A plan
     * whose dynamic bytes filled the limit exactly was refused by {@code cuFuncSetAttribute} (the dense engine at its
     * capacity, H100, results/suite/session9).
     */
    public static final int STATIC_SHARED_BYTES = 128;

    /** Bytes of dynamic shared memory each CTA needs (the layout in the class comment). */
    public long sharedMemoryBytes() {
        return sharedMemoryBytesWithoutTier2() + tier2Bytes();
    }

    /** Shared memory besides the tier-2 words. */
    public long sharedMemoryBytesWithoutTier2() {
        int g = cell.gates();
        int pb = paddedBatch();
        long act = activationBytes(hidden, batch, dense);
        long preact = align16((long) warpsPerCta * unitsPerWarp * g * pb * 4);
        // after tier2: the CTA tail's sums [2][PB/2][warps x 32] float2, or a warp tail's [warps][PB][32] fp32 (tailSmem)
        long ctail = tailEntries > 0 ? 2L * warpsPerCta * 32 * pb * 4 : tailSmem ? (long) warpsPerCta * 32 * pb * 4 : 0;
        return act + preact + ctail;
    }

    /** Bytes of the tier-2 words per CTA. */
    public long tier2Bytes() {
        return (long) warpsPerCta * sharedSlots() * 32 * 4;
    }

    /**
     * The two activation buffers of a CTA: {@code [2][H + 32][PB]} fp16, each 16-byte aligned; the dense mode keeps 64
     * zero columns above {@code H} (its rows read up to {@code 64 ceil(H/64) - 1 < H + 64}).
     */
    public static long activationBytes(int hidden, int batch, boolean dense) {
        int zero = SharedMemoryBanks.ZERO_COLUMNS * (dense ? 2 : 1);
        return 2 * align16((long) (hidden + zero) * 2 * SharedMemoryBanks.paddedBatch(batch));
    }

    private static long align16(long b) {
        return (b + 15) & ~15L;
    }

    /**
     * The kernel's entry point in {@code sparse_persistent_rnn.cu} ({@code extern "C" __global__}), and the prefix of
     * every specialised {@link #name()}.
     */
    public static final String SYMBOL = "sparse_persistent_rnn";

    private String cellShort() {
        return switch (cell) {
            case RNN_RELU -> "relu";
            case RNN_TANH -> "tanh";
            case GRU -> "gru";
            case LSTM -> "lstm";
        };
    }

    /**
     * The kernel's name, e.g. {@code sparse_persistent_rnn_relu_h1152_b4_k5_sm90_c16w16r5_wide_bank_cluster_bal}:
     * shape, slots per lane, architecture, then partition and switches ({@code _bf16}, {@code _split}, {@code _len} where set), so it
     * is unique per compiled variant and labels benchmark rows.
     */
    public String name() {
        return String.format(Locale.ROOT, "%s_%s_h%d_b%d_k%d_sm%d_c%dw%dr%du%d_%s_%s_%s_%s%s%s",
                SYMBOL, cellShort(), hidden, batch, slotsPerLane, smArch, ctas, warpsPerCta, registerSlots, unitsPerWarp,
                wideLoads ? "wide" : "scalar", bankAware ? "bank" : "natural", exchange.id(), balanced ? "bal" : "naivesplit",
                weights == Precision.BF16 ? "_bf16" : "", splitWeights ? "_split" : "")
                + (stageCluster() > 1 ? "_mc" + stageCluster() : "") + (uniformSlots ? "_full" : "")
                + (rowSlots > 0 ? "_rows" + rowSlots : "") + (tailSlots > 0 ? (tailEntries > 0 ? "_ctail" + tailSlots + "k" + tailEntries : "_tail" + tailSlots) : "")
                + (tailSmem ? "_tsmem" : "") + (dense ? "_dense" : "") + (lengths ? "_len" : "");
    }

    /** The {@code -D} defines that specialise {@code sparse_persistent_rnn.cu}, in a fixed order. */
    public Map<String, String> defines() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("SPRNN_CELL", Integer.toString(cell.kernelCode()));
        d.put("SPRNN_HIDDEN", Integer.toString(hidden));
        d.put("SPRNN_BATCH", Integer.toString(batch));
        d.put("SPRNN_PADDED_BATCH", Integer.toString(paddedBatch()));
        d.put("SPRNN_CTAS", Integer.toString(ctas));
        d.put("SPRNN_WARPS", Integer.toString(warpsPerCta));
        d.put("SPRNN_SLOTS", Integer.toString(slotsPerLane));
        d.put("SPRNN_REG_SLOTS", Integer.toString(registerSlots));
        d.put("SPRNN_UNITS_PER_WARP", Integer.toString(unitsPerWarp));
        d.put("SPRNN_WIDE_LOADS", wideLoads ? "1" : "0");
        d.put("SPRNN_EXCHANGE", Integer.toString(exchange.define()));
        d.put("SPRNN_BF16", weights == Precision.BF16 ? "1" : "0");
        if (stageCluster() > 1) {
            d.put("SPRNN_STAGE_ASYNC", "2");
            d.put("SPRNN_STAGE_CLUSTER", Integer.toString(stageCluster()));
        }
        if (uniformSlots) {
            d.put("SPRNN_UNIFORM_SLOTS", "1");
        }
        if (rowSlots > 0) {
            d.put("SPRNN_ROW_SLOTS", Integer.toString(rowSlots));
        }
        if (tailSlots > 0 && tailEntries == 0) {
            d.put("SPRNN_TAIL_SLOTS", Integer.toString(tailSlots));
        }
        if (tailSmem) {
            d.put("SPRNN_TAIL_SMEM", "1");
        }
        if (tailEntries > 0) {
            d.put("SPRNN_CTA_TAIL", Integer.toString(tailSlots));
            d.put("SPRNN_CTA_TAIL_ENTRIES", Integer.toString(tailEntries));
        }
        if (dense) {
            d.put("SPRNN_DENSE", "1");
        }
        if (lengths) {
            d.put("SPRNN_LENGTHS", "1");
        }
        return d;
    }

    /** The defines as nvcc/NVRTC options ({@code -DNAME=value}). */
    public java.util.List<String> defineOptions() {
        return defines().entrySet().stream().map(e -> "-D" + e.getKey() + "=" + e.getValue()).toList();
    }
}

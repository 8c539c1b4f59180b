package org.sprnn.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.sparse.CsrMatrix;
import org.sprnn.sparse.PackedLayer;

/**
 * Whether one layer fits on-chip for the sparse persistent kernel on a device, and how: the partition,
 * the packed layout, registers per thread, shared memory per CTA, and the capacity it was held against.
 *
 * <p>Capacity, exactly: with {@code warpsPerCta} warps in the one CTA per SM, a thread may use
 * {@link #registersPerThread} registers (a sub-partition's quarter of the register file over its
 * {@code ceil(warps / 4)} warps, rounded down to 8, at most 255); {@link KernelSpec#REGISTER_OVERHEAD}
 * of them are the kernel's own, the rest hold packed words (the register tier, {@code R} per lane).
 * Shared memory per CTA left after the activation buffers and bookkeeping (the layout in {@link KernelSpec})
 * holds the second tier, {@code floor(left / (4 * T))} words per lane. The layer fits when every warp's
 * {@code S} slots fit in {@code R} plus that tier. Capacity in nonzeros = warps x 32 x (R + tier-2 words per lane),
 * padding included.
 *
 * @param spec the kernel spec (also when it does not fit, to say how far off)
 * @param layout the packed layer
 * @param device the limits planned against
 * @param registersPerThread registers a thread may use
 * @param registerSlotsAvailable packed words per lane the register tier can hold
 * @param sharedSlotsAvailable packed words per lane the shared-memory tier can hold
 * @param fits whether it fits
 * @param why one line: why it fits or what exceeds which limit
 */
public record Plan(KernelSpec spec, PackedLayer layout, DeviceLimits device, int registersPerThread,
                   int registerSlotsAvailable, int sharedSlotsAvailable, boolean fits, String why) {

    /**
     * Plans one layer. An exchange of null plans every exchange (the cluster only on compute capability 9.0) and
     * keeps the fitting one with the lowest {@link #predictedMicrosPerStep()}. Split weights
     * ({@link PlanOptions#splitWeights}) are used when asked for, and wherever they cost no slot
     * ({@link PackedLayer#splitCostsNoSlots}).
     */
    public static Plan of(CsrMatrix whh, CellType cell, int batch, DeviceLimits device, PlanOptions options) {
        if (options.dense()) {
            return DensePlanner.of(whh, cell, whh.cols(), batch, device, options);
        }
        if (!options.splitWeights() && splitsWeights(whh, options)) {
            options = options.withSplitWeights(true);
        }
        if (options.exchange() == null) {
            Plan best = null;
            for (ExchangeMode e : ExchangeMode.values()) {
                if (e == ExchangeMode.CLUSTER && (device.maxClusterSize() < 2 || device.computeCapability() < 90)) {
                    continue;
                }
                Plan p = of(whh, cell, batch, device, options.withExchange(e));
                if (best == null || (p.fits() && (!best.fits() || p.predictedMicrosPerStep() < best.predictedMicrosPerStep()))) {
                    best = p;
                }
            }
            return best;
        }
        ExchangeMode ex = options.exchange();
        int h = whh.cols();
        int ctas = options.ctas();
        if (ctas == 0) {
            ctas = ex == ExchangeMode.CLUSTER ? Math.min(16, Math.max(1, device.maxClusterSize())) : device.smCount();
        }
        Plan plan = of(whh, cell, batch, device, options, ex, ctas, 0);
        // the grid barrier's staging in clusters of 8 on the CTAs such clusters can hold (fewer than the SMs): h is read
        // from L2 once per 8 CTAs; taken where its partition costs no more slots per lane (KernelSpec.WIDE_STAGE_CLUSTER)
        int wideCtas = KernelSpec.WIDE_STAGE_CLUSTER * device.clustersOf8();
        if (options.ctas() == 0 && wideCtas >= KernelSpec.WIDE_STAGE_CLUSTER && wideCtas <= device.smCount()
                && KernelSpec.multicastWorthIt(ex, device.computeCapability(), h, batch)) {
            Plan wide = of(whh, cell, batch, device, options, ex, wideCtas, KernelSpec.WIDE_STAGE_CLUSTER);
            if (wide.fits() && (!plan.fits() || wide.slotCost() <= plan.slotCost())) {
                plan = wide;
            }
        }
        return plan;
    }

    /**
     * Slots per lane of the critical warp, shared-tier slots weighted {@link #TIER2_SLOT_COST}: the arithmetic part of
     * {@link #predictedMicrosPerStep}.
     */
    double slotCost() {
        return spec.registerSlots() + TIER2_SLOT_COST * spec.sharedSlots();
    }

    /** One layer on {@code ctas} CTAs, staging in clusters of {@code stageCluster} (0: {@link KernelSpec#defaultStageCluster}). */
    private static Plan of(CsrMatrix whh, CellType cell, int batch, DeviceLimits device, PlanOptions options, ExchangeMode ex,
                           int ctas, int stageCluster) {
        int h = whh.cols();
        if (options.warpsPerCta() != 0) {
            return of(whh, cell, batch, device, options, ex, ctas, options.warpsPerCta(), stageCluster);
        }
        // the warp count with the shortest critical path; if that partition does not fit, the next ones (by the same
        // cost) that might (their slots per lane within registers plus the shared memory left after the activations
        // alone, an optimistic bound), so that no layer is refused that fits with another warp count
        List<int[]> candidates = warpCandidates(whh, cell, batch, device, ctas, ex == ExchangeMode.CLUSTER, options.balanced(),
                options.splitWeights(), triesTail(options), triesTail(options) && options.ctaTails());
        Plan first = of(whh, cell, batch, device, options, ex, ctas, candidates.get(0)[0], stageCluster);
        boolean partitionPossible = ex == ExchangeMode.CLUSTER ? device.computeCapability() >= 90 && ctas <= device.maxClusterSize()
                : ctas <= device.smCount();
        if (first.fits() || !partitionPossible) {
            return first;
        }
        long act = KernelSpec.builder().cell(cell).hidden(h).batch(batch).weights(options.weights()).ctas(ctas).warpsPerCta(1)
                .slotsPerLane(1).registerSlots(0).unitsPerWarp(1).wideLoads(options.wideLoads()).bankAware(options.bankAware())
                .exchange(ex).balanced(options.balanced()).smArch(device.computeCapability())
                .build().sharedMemoryBytesWithoutTier2();
        for (int[] c : candidates.subList(1, candidates.size())) {
            int w = c[0], slots = c[1];
            int optimistic = KernelSpec.registerSlotsFor(cell, registersPerThread(device, w))
                    + (int) Math.max(0, (device.sharedMemoryPerBlockOptin() - KernelSpec.STATIC_SHARED_BYTES - act) / (4L * w * 32));
            if (slots <= optimistic) {
                Plan p = of(whh, cell, batch, device, options, ex, ctas, w, stageCluster);
                if (p.fits()) {
                    return p;
                }
            }
        }
        return first; // refused with the cost-optimal partition's numbers
    }

    /**
     * Whether a plan of {@code whh} with {@code options} splits its weights: when asked for, and wherever that costs no
     * slot ({@link PackedLayer#splitCostsNoSlots}): the same kernel and step, W_hh to about 2^-22 instead of 2^-11
     * (it removes most of the random draws whose recurrence amplifies the weights' fp16 rounding past 3e-3:
     * results/fp16/README.md).
     */
    public static boolean splitsWeights(CsrMatrix whh, PlanOptions options) {
        return !options.dense() && (options.splitWeights() || PackedLayer.splitCostsNoSlots(whh));
    }

    /**
     * Whether dealing each CTA one contiguous range of units (then balanced over its warps) costs the grid barrier no
     * slot per lane against dealing all units over all warps: then each CTA's {@code h_t}, {@code out[t]} and x loads
     * are one contiguous block (whole 32-byte sectors) instead of 8-byte pieces scattered over the buffer, a little
     * faster at H 5760 through the engine (results/kernel/session5/README.md). It applies to the naive split as well (the
     * ablation's grid-barrier rows): each CTA's range by slot share, then dealt over its warps by count; at 1152 and
     * 2304 those rows measured as before it, at 5760 the two dealings are the same layout.
     */
    static boolean ctaContiguousIsFree(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, PlanOptions options) {
        int[] unitSlots = PackedLayer.unitSlots(whh, cell, options.splitWeights());
        return PackedLayer.slotsPerLane(unitSlots, batch, ctas, ctas * warps, true, options.balanced())
                <= PackedLayer.slotsPerLane(unitSlots, batch, ctas, ctas * warps, false, options.balanced());
    }

    /**
     * The row slots a layout's kernel compiles in ({@link KernelSpec#rowSlots}): {@link PackedLayer#equalRowSlots} (every
     * warp full, its rows alike) where a warp holds more than one row, for only there does the general slot loop test
     * for row ends, once per group of slots; 0 for one row a warp, where the general loop has no row-end test and
     * compiling the ends in measured slower or no better (results/kernel/session6/README.md), and 0 where the options
     * ask for the general loop.
     */
    static int compiledRowSlots(PackedLayer layout, CellType cell, PlanOptions options) {
        return options.compiledRowEnds() && layout.unitsPerWarp() * cell.gates() > 1 ? layout.compiledRowSlots() : 0;
    }

    /**
     * Whether a partition tries {@link PackedLayer#packTail} (rows as pruning leaves them, ends compiled in): where the
     * options compile row ends in and deal balanced, for a sparse layout.
     */
    static boolean triesTail(PlanOptions options) {
        return options.tails() && options.compiledRowEnds() && options.balanced() && !options.dense();
    }

    /**
     * Whether every row of {@code whh} takes the same slots (N nonzeros a row, as the benchmark layers and per-row pruning
     * give): such layers keep the general layout (its row ends compiled in where the units fill the warps), the one
     * measured; the shared tail is for rows of unequal length.
     */
    static boolean rowsAlike(CsrMatrix whh, boolean splitWeights) {
        int wpn = splitWeights ? 2 : 1;
        int first = org.sprnn.sparse.BankAwareOrder.slotColumns(wpn * whh.rowNnz(0));
        for (int r = 1; r < whh.rows(); r++) {
            if (org.sprnn.sparse.BankAwareOrder.slotColumns(wpn * whh.rowNnz(r)) != first) {
                return false;
            }
        }
        return true;
    }

    /**
     * The layout of one partition: {@link PackedLayer#pack}, or where its rows are unequal (no {@link
     * PackedLayer#equalRowSlots}) and a warp holds more than one, {@link PackedLayer#packTail} if that takes no more
     * slots per lane: the same or fewer slots with no run-time row-end test.
     */
    static PackedLayer layout(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous, PlanOptions options) {
        if (triesTail(options) && options.ctaTails() && cell.gates() == 1 && whh.cols() <= ctas * warps
                && !rowsAlike(whh, options.splitWeights())) {
            // warps of one row: a tail the CTA's rows share, where it takes fewer slots than the longest row
            int general = PackedLayer.slotsPerLane(PackedLayer.unitSlots(whh, cell, options.splitWeights()), batch, ctas, ctas * warps,
                    ctaContiguous, options.balanced());
            int cta = PackedLayer.ctaTailSlotsPerLane(whh, cell, batch, ctas, ctas * warps, ctaContiguous, options.splitWeights());
            if (cta > 0 && cta < general) {
                PackedLayer c = PackedLayer.packCtaTail(whh, cell, batch, ctas, ctas * warps, ctaContiguous, options.bankAware(),
                        options.wideLoads(), options.weights(), options.splitWeights());
                if (c != null) {
                    return c;
                }
            }
        }
        if (triesTail(options) && !rowsAlike(whh, options.splitWeights())) { // both sizes first (cheap), then the one layout
            int general = PackedLayer.slotsPerLane(PackedLayer.unitSlots(whh, cell, options.splitWeights()), batch, ctas, ctas * warps,
                    ctaContiguous, options.balanced());
            int tail = PackedLayer.tailSlotsPerLane(whh, cell, batch, ctas, ctas * warps, ctaContiguous, options.splitWeights());
            if (tail > 0 && tail <= general) {
                PackedLayer t = PackedLayer.packTail(whh, cell, batch, ctas, ctas * warps, ctaContiguous, options.bankAware(),
                        options.wideLoads(), options.weights(), options.splitWeights());
                // rows that are equal already keep the general layout (the same slots, no tail)
                if (t != null && !(t.tailSlots() == 0 && tail == general)) {
                    return t;
                }
            }
        }
        return PackedLayer.pack(whh, cell, batch, ctas, ctas * warps, ctaContiguous,
                options.balanced(), options.bankAware(), options.wideLoads(), options.weights(), options.splitWeights(),
                options.placement());
    }

    /** One layer on a given partition (exchange, CTAs, warps and staging cluster fixed; 0: the default cluster). */
    private static Plan of(CsrMatrix whh, CellType cell, int batch, DeviceLimits device, PlanOptions options, ExchangeMode ex,
                           int ctas, int warps, int stageCluster) {
        int h = whh.cols();
        boolean ctaContiguous = ex == ExchangeMode.CLUSTER
                || (ex == ExchangeMode.GRID_BARRIER && ctaContiguousIsFree(whh, cell, batch, ctas, warps, options));
        PackedLayer layout = layout(whh, cell, batch, ctas, warps, ctaContiguous, options);
        int threads = warps * 32;
        int regs = registersPerThread(device, warps);
        int regSlotsAvail = KernelSpec.registerSlotsFor(cell, regs);
        if (layout.tailEntries() > 0) { // the CTA tail's entries and sums: 2 registers more (ptxas, sm_90, at 96 a thread)
            regSlotsAvail = Math.max(0, regSlotsAvail - CTA_TAIL_REGISTERS);
        }
        int s = layout.slotsPerLane();
        int regSlots = Math.min(s, regSlotsAvail);
        KernelSpec spec = KernelSpec.builder().cell(cell).hidden(h).batch(batch).weights(options.weights()).ctas(ctas)
                .warpsPerCta(warps).slotsPerLane(s).registerSlots(regSlots).unitsPerWarp(layout.unitsPerWarp())
                .wideLoads(options.wideLoads()).bankAware(options.bankAware()).exchange(ex).balanced(options.balanced())
                .smArch(device.computeCapability()).splitWeights(options.splitWeights())
                .stageCluster(stageCluster) // 0: KernelSpec.defaultStageCluster
                .uniformSlots(layout.fullWarps()).rowSlots(compiledRowSlots(layout, cell, options))
                .tailSlots(layout.tailSlots()).tailEntries(layout.tailEntries())
                .tailSmem(options.tailSmem() && layout.tailSlots() > 0 && layout.tailEntries() == 0).build();
        long fixed = spec.sharedMemoryBytesWithoutTier2();
        long left = device.sharedMemoryPerBlockOptin() - KernelSpec.STATIC_SHARED_BYTES - fixed;
        int sharedSlotsAvail = (int) Math.max(0, left / (4L * threads));
        long capacity = (long) ctas * warps * 32 * (regSlotsAvail + sharedSlotsAvail);
        long needed = (long) ctas * warps * 32 * s;
        String split = options.splitWeights() ? " x 2 words, split weights" : "";
        String why;
        boolean fits;
        if (ex == ExchangeMode.CLUSTER && (device.computeCapability() < 90 || ctas > device.maxClusterSize())) {
            fits = false;
            why = String.format(Locale.ROOT, "a cluster of %d CTAs needs compute capability 9.0 and clusters of that size; %s has %d.%d and clusters up to %d",
                    ctas, device.name(), device.computeCapability() / 10, device.computeCapability() % 10, device.maxClusterSize());
        } else if (ex != ExchangeMode.CLUSTER && ctas > device.smCount()) {
            fits = false;
            why = String.format(Locale.ROOT, "%d CTAs, one per SM, but %s has %d SMs", ctas, device.name(), device.smCount());
        } else if (threads > device.maxThreadsPerBlock()) {
            fits = false;
            why = String.format(Locale.ROOT, "%d threads per CTA > %d", threads, device.maxThreadsPerBlock());
        } else if (regSlotsAvail == 0 && s > 0 && left < 0) {
            fits = false;
            why = "no room for weights: registers per thread " + regs + " <= overhead " + KernelSpec.registerOverhead(cell);
        } else if (left < 0) {
            fits = false;
            why = String.format(Locale.ROOT, "activations and bookkeeping need %d B of shared memory per CTA > %d B",
                    fixed, device.sharedMemoryPerBlockOptin() - KernelSpec.STATIC_SHARED_BYTES);
        } else if (s > regSlotsAvail + sharedSlotsAvail) {
            fits = false;
            why = String.format(Locale.ROOT,
                    "needs %d words per lane (%d padded words, %d nonzeros%s) but %d registers + %d shared fit per lane (capacity %d words on %d CTAs x %d warps)",
                    s, needed, layout.stats().nonzeros(), split, regSlotsAvail, sharedSlotsAvail, capacity, ctas, warps);
        } else {
            fits = true;
            why = String.format(Locale.ROOT, "%d words per lane = %d in registers + %d in shared memory (room for %d + %d); %d of %d words of capacity used",
                    s, regSlots, s - regSlots, regSlotsAvail, sharedSlotsAvail, needed, capacity);
        }
        if (!fits && !why.contains("capacity")) {
            why += String.format(Locale.ROOT, " (capacity %d words = %d CTAs x %d warps x 32 lanes x (%d register + %d shared words); needs %d words for %d nonzeros%s)",
                    capacity, ctas, warps, regSlotsAvail, sharedSlotsAvail, needed, layout.stats().nonzeros(), split);
        }
        if (!fits && layout.tailEntries() > 0) { // its sums' shared memory or registers: the layout without the CTA tail
            return of(whh, cell, batch, device, options.withCtaTails(false), ex, ctas, warps, stageCluster);
        }
        return new Plan(spec, layout, device, regs, regSlotsAvail, sharedSlotsAvail, fits, why);
    }

    /** Register slots a thread gives up to a CTA tail's entries and sums (one row a warp, {@link KernelSpec#tailEntries}). */
    static final int CTA_TAIL_REGISTERS = 2;

    /** Sub-partitions (warp schedulers, each with a quarter of the register file) per SM since Volta. */
    static final int SM_SUBPARTITIONS = 4;

    /**
     * Registers a thread of a one-CTA-per-SM kernel of {@code warps} warps may use: each SM sub-partition holds a
     * quarter of the register file and up to {@code ceil(warps / 4)} of the CTA's warps, so
     * {@code floor(registersPerSm / 4 / (ceil(warps / 4) * 32))}, rounded down to a multiple of 8 and capped at the
     * per-thread limit. (15 warps get 128 registers, not 136: ptxas caps __launch_bounds__(480, 1) there.)
     */
    public static int registersPerThread(DeviceLimits device, int warps) {
        int warpsPerSubpartition = (warps + SM_SUBPARTITIONS - 1) / SM_SUBPARTITIONS;
        return Math.min(device.maxRegistersPerThread(),
                (device.registersPerSm() / SM_SUBPARTITIONS / (warpsPerSubpartition * 32)) & ~7);
    }

    /**
     * Cost of a shared-tier slot relative to a register slot (one more shared load a slot), for ranking warp counts
     * and exchanges. At H 5760 / batch 4 / 10% it ranks 15 warps with 44 of 54 slots in registers ahead of 22 warps
     * with 8 of 36, as measured (results/kernel/session3/README.md).
     */
    static final double TIER2_SLOT_COST = 2.5;

    /**
     * A rough step time for choosing the exchange: the exchange floor plus a cost per slot of the critical warp.
     * The floors are piecewise linear in the exchanged words (one word = one fp16 pair, {@code H * paddedBatch / 2}),
     * through the floors measured on the H100 at 2304, 4608 and 11520 words (rnn_relu, batch 4, H 1152 / 2304 / 5760),
     * the timestamped exchange's plus a constant for each further round of polls ({@link #pollRounds}); below 2304 words
     * the timestamps and cluster floors fall linearly to their values at 600 words, the barrier's stays. Plus a constant
     * per slot per lane, tier-2 slots {@link #TIER2_SLOT_COST}x. The measurements behind every constant:
     * results/kernel/session3/README.md. A model for ranking, not a promise.
     */
    public double predictedMicrosPerStep() {
        double kWords = spec.hidden() * (spec.paddedBatch() / 2) / 1000.0;
        double floor = switch (spec.exchange()) {
            case CLUSTER -> small(kWords, 0.79, 1.13);
            case GRID_BARRIER -> piecewise(kWords, 1.66, 1.80, 2.52);
            case TIMESTAMPS -> (kWords < 2.304 ? small(kWords, 0.85, 1.09) : piecewise(kWords, 1.09, 1.15, 1.40))
                    + 1.38 * (pollRounds(spec) - 1);
        };
        return floor + 0.085 * (spec.registerSlots() + TIER2_SLOT_COST * spec.sharedSlots());
    }

    /**
     * Rounds of polls a thread of the timestamped exchange makes per step when its CTA needs every column: the words
     * ({@code H} units of {@code max(1, paddedBatch / 4)} words) over the CTA's threads, {@code SPRNN_POLL_BATCH} at a
     * time (the kernel's default: 4, or 8 above 8 words a thread).
     */
    static int pollRounds(KernelSpec spec) {
        long words = (long) spec.hidden() * Math.max(1, spec.paddedBatch() / 4);
        int threads = spec.threadsPerCta();
        long perThread = (words + threads - 1) / threads;
        int batch = words > 8L * threads ? 8 : 4;
        return (int) Math.max(1, (perThread + batch - 1) / batch);
    }

    /** Linear from {@code at600} at 0.6 thousand words (flat below) to {@code at2304} at 2.304 thousand. */
    static double small(double kWords, double at600, double at2304) {
        double x = Math.min(Math.max(kWords, 0.6), 2.304);
        return at600 + (at2304 - at600) * (x - 0.6) / (2.304 - 0.6);
    }

    /**
     * Linear through (2.304, a), (4.608, b), (11.52, c) thousand words and extended past the last point; flat at
     * {@code a} below the first (a grid-wide exchange costs about 1 us however little it moves: results/anchors/README.md).
     */
    static double piecewise(double kWords, double a, double b, double c) {
        if (kWords <= 2.304) {
            return a;
        }
        return kWords <= 4.608 ? a + (b - a) * (kWords - 2.304) / 2.304 : b + (c - b) * (kWords - 4.608) / 6.912;
    }

    /**
     * Warps per CTA with the shortest critical path: the fewest slots per lane {@code S} (words held in the shared
     * tier counted {@link #TIER2_SLOT_COST}x), ties to fewer warps (more registers each); from 1 to the block limit.
     */
    static int chooseWarps(CsrMatrix whh, CellType cell, int batch, DeviceLimits device, int ctas, boolean contiguous, boolean balanced) {
        return warpCandidates(whh, cell, batch, device, ctas, contiguous, balanced, false, false, false).get(0)[0];
    }

    /**
     * Every usable warp count as {@code {warps, slots per lane}}, cheapest first by the cost of {@link #chooseWarps}
     * (ties to fewer warps, but see {@link #fillSubpartitions}); never empty (1 warp when no count has a register tier).
     * With {@code tails}, a count's slots per lane are the fewer of the general layout's and {@link
     * PackedLayer#tailSlotsPerLane}'s; with {@code ctaTails} as well, where the count gives warps of one row, also {@link
     * PackedLayer#ctaTailSlotsPerLane}'s.
     */
    static List<int[]> warpCandidates(CsrMatrix whh, CellType cell, int batch, DeviceLimits device, int ctas, boolean contiguous,
                                      boolean balanced, boolean splitWeights, boolean tails, boolean ctaTails) {
        int[] unitSlots = PackedLayer.unitSlots(whh, cell, splitWeights);
        tails = tails && !rowsAlike(whh, splitWeights);
        List<double[]> scored = new ArrayList<>(); // {cost, warps, slots}
        for (int w = 1; w <= Math.min(32, device.maxThreadsPerBlock() / 32); w++) {
            int regs = registersPerThread(device, w);
            int regSlots = KernelSpec.registerSlotsFor(cell, regs);
            if (regSlots == 0) {
                continue; // no register tier at all: the kernel's own registers do not fit
            }
            int s = PackedLayer.slotsPerLane(unitSlots, batch, ctas, ctas * w, contiguous, balanced);
            int tail = tails && s > 1 ? PackedLayer.tailSlotsPerLane(whh, cell, batch, ctas, ctas * w, contiguous, splitWeights) : 0;
            if (tail > 0) {
                s = Math.min(s, tail);
            }
            int ctaTail = tails && ctaTails && s > 1 && cell.gates() == 1 && whh.cols() <= ctas * w
                    ? PackedLayer.ctaTailSlotsPerLane(whh, cell, batch, ctas, ctas * w, contiguous, splitWeights) : 0;
            if (ctaTail > 0) {
                s = Math.min(s, ctaTail);
            }
            scored.add(new double[] {Math.min(s, regSlots) + TIER2_SLOT_COST * Math.max(0, s - regSlots), w, s});
        }
        // costs are multiples of 0.5 (compared rounded to tenths), then fewer warps
        scored.sort(Comparator.<double[]>comparingLong(c -> Math.round(c[0] * 10)).thenComparingDouble(c -> c[1]));
        List<int[]> out = new ArrayList<>();
        for (double[] c : scored) {
            out.add(new int[] {(int) c[1], (int) c[2]});
        }
        if (out.isEmpty()) {
            out.add(new int[] {1, PackedLayer.slotsPerLane(unitSlots, batch, ctas, ctas, contiguous, balanced)});
        }
        fillSubpartitions(out);
        return out;
    }

    /** Slots per lane up to which a step is mostly exchange, so more warps (more polling threads) pay. */
    static final int EXCHANGE_BOUND_SLOTS = 8;

    /**
     * When the cheapest warp count leaves a step little arithmetic ({@link #EXCHANGE_BOUND_SLOTS} slots per lane or
     * fewer), moves to the front the count that fills every scheduler's sub-partition as far as the busiest one
     * ({@code 4 x ceil(warps / 4)}: the same registers per thread, so the same tiers) if it needs no more slots: the
     * extra warps poll and stage the exchange: faster at 1152 / batch 4 / 10%, slower with 22 slots at 2304 / 30%
     * (results/kernel/session3/README.md).
     */
    static void fillSubpartitions(List<int[]> candidates) {
        int[] best = candidates.get(0);
        if (best[1] > EXCHANGE_BOUND_SLOTS) {
            return;
        }
        int filled = 4 * ((best[0] + 3) / 4);
        for (int i = 1; i < candidates.size(); i++) {
            int[] c = candidates.get(i);
            if (c[0] == filled && c[1] <= best[1]) {
                candidates.add(0, candidates.remove(i));
                return;
            }
        }
    }

    /**
     * The dense mode's capacity on a device ({@link #denseCapacity}).
     *
     * @param cell the cell
     * @param batch the batch
     * @param hidden the largest hidden size that fits on-chip (0: none)
     * @param plan the plan at {@code hidden} (null when 0)
     * @param beyond the plan at {@code hidden + 1}, refused with its numbers
     */
    public record DenseCapacity(CellType cell, int batch, int hidden, Plan plan, Plan beyond) {
        /** One line: the largest hidden size, its partition and use, and why one more is refused. */
        public String describe() {
            return String.format(Locale.ROOT, "%s batch %d: hidden up to %d on-chip%s; %d: %s", cell.id(), batch, hidden,
                    plan == null ? "" : " (" + plan.spec().exchange().id() + ", " + plan.spec().ctas() + " CTAs x "
                            + plan.spec().warpsPerCta() + " warps, " + plan.spec().registerSlots() + " register + "
                            + plan.spec().sharedSlots() + " shared words per lane)", hidden + 1, beyond.why());
        }
    }

    /**
     * The largest hidden size of a {@code cell} layer that the dense mode ({@code cuda-dense-persistent}) holds on-chip
     * at {@code batch} on {@code device} with {@code options} (dense or not, planned dense), with the refusal one above.
     */
    public static DenseCapacity denseCapacity(CellType cell, int batch, DeviceLimits device, PlanOptions options) {
        return DensePlanner.capacity(cell, batch, device, options.withDense(true));
    }

    /** The engine a plan is for: {@code cuda-dense-persistent} for the dense mode, else {@code cuda-sparse-persistent}. */
    public String engineName() {
        return spec.dense() ? "cuda-dense-persistent" : "cuda-sparse-persistent";
    }

    /** Throws, naming the capacity figures, unless the layer fits. */
    public Plan requireFits() {
        if (!fits) {
            throw new SprnnException("layer does not fit on-chip for " + engineName() + " (" + spec.exchange().id() + "): " + why);
        }
        return this;
    }

    /** Human-readable plan: partition, registers per thread, shared memory per CTA, fits or not and why. */
    public String describe() {
        KernelSpec s = spec;
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "kernel     %s%n", s.name()));
        b.append(String.format(Locale.ROOT, "device     %s: %d SMs, %d registers/SM, %d B shared/block (opt-in), clusters up to %d%n",
                device.name(), device.smCount(), device.registersPerSm(), device.sharedMemoryPerBlockOptin(), device.maxClusterSize()));
        if (layout == null) { // a dense plan that does not fit is not packed
            b.append(String.format(Locale.ROOT, "layer      %s hidden %d batch %d (padded %d), dense: %d weights%n",
                    s.cell().id(), s.hidden(), s.batch(), s.paddedBatch(), (long) s.cell().gates() * s.hidden() * s.hidden()));
        } else {
            b.append(String.format(Locale.ROOT, "layer      %s hidden %d batch %d (padded %d), %d nonzeros (density %.2f%%)%s%n",
                    s.cell().id(), s.hidden(), s.batch(), s.paddedBatch(), layout.stats().nonzeros(),
                    100.0 * layout.stats().nonzeros() / ((double) s.cell().gates() * s.hidden() * s.hidden()),
                    s.dense() ? ", held dense" : ""));
        }
        b.append(String.format(Locale.ROOT, "partition  %d CTAs x %d warps (%d threads), exchange %s, %s split, %s order, %s loads%s%n",
                s.ctas(), s.warpsPerCta(), s.threadsPerCta(), s.exchange().id(), s.balanced() ? "balanced" : "naive",
                s.dense() ? "dense-row" : s.bankAware() ? "bank-aware" : "natural", s.wideLoads() ? "wide" : "scalar",
                (s.splitWeights() ? ", split weights (2 words per nonzero)" : "")
                        + (s.stageCluster() > 1 ? ", h staged by TMA multicast in clusters of " + s.stageCluster() : "")));
        b.append(String.format(Locale.ROOT, "registers  %d per thread: %d for the kernel, %d words per lane available, %d used%n",
                registersPerThread, registersPerThread - registerSlotsAvailable, registerSlotsAvailable, s.registerSlots()));
        b.append(String.format(Locale.ROOT, "shared     %d B per CTA: %d B activations+bookkeeping, %d B tier-2 words (%d per lane; room for %d)%n",
                s.sharedMemoryBytes(), s.sharedMemoryBytesWithoutTier2(), s.tier2Bytes(), s.sharedSlots(), sharedSlotsAvailable));
        b.append(String.format(Locale.ROOT, "layout     %s%s%n", layout == null ? "not packed (does not fit)" : layout.summary(),
                s.rowSlots() > 0 ? "; every row " + s.rowSlots() + " slots" + (s.tailSlots() > 0 ? " after a tail of " + s.tailSlots()
                        + " its rows share lane by lane (rows of unequal length)" : "") + ": row ends compiled in"
                        : s.tailEntries() > 0 ? "; one row a warp, its first " + (s.slotsPerLane() - s.tailSlots()) * 32
                        + " words in its own slots after a tail of " + s.tailSlots() + " the CTA's rows share lane by lane (rows of"
                        + " unequal length), up to " + s.tailEntries() * 32 + " tail lanes a row" : ""));
        if (layout != null && !layout.dense() && layout.tailSlots() == 0 && layout.tailEntries() == 0 && s.ctas() * s.warpsPerCta() == layout.warps()) {
            long[] sched = layout.schedulerSlots(s.warpsPerCta());
            long most = java.util.Arrays.stream(sched).max().orElse(0);
            double mean = java.util.Arrays.stream(sched).average().orElse(0);
            int per = sched.length / s.ctas();
            int busy = 0;
            for (int c = 0; c < s.ctas(); c++) {
                long x = 0;
                for (int k = 0; k < per; k++) {
                    x += sched[c * per + k];
                }
                busy += x > 0 ? 1 : 0;
            }
            b.append(String.format(Locale.ROOT, "schedulers %d slots on the busiest of %d warp schedulers (4 an SM), mean %.1f (%.3f); %d of %d CTAs hold rows%n",
                    most, sched.length, mean, mean == 0 ? 1.0 : most / mean, busy, s.ctas()));
        }
        b.append(String.format(Locale.ROOT, "fits       %s: %s%n", fits ? "yes" : "NO", why));
        b.append(String.format(Locale.ROOT, "predicted  ~%.2f us/step (exchange floor + slots; a model fitted to H100 runs, for ranking)%n",
                predictedMicrosPerStep()));
        return b.toString();
    }
}

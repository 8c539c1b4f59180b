package org.sprnn.engine.cuda;

import java.util.List;
import java.util.Optional;
import org.sprnn.SprnnException;
import org.sprnn.engine.CostModel;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.StepCost;
import org.sprnn.model.RnnModel;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.PlanOptions;

/**
 * Makes {@code cuda-sparse-persistent} ({@link SparsePersistentEngine}) and says why it cannot: no usable GPU,
 * a precision other than fp16/bf16 (weights are 16-bit on-chip), or a layer that does not fit on-chip at the
 * expected batch (the reason carries the capacity numbers from {@link org.sprnn.plan.Plan}).
 *
 * <p>Rank 150 for {@code auto} (ranks 100-199 are this engine's): when every layer fits on-chip it beats the
 * library baselines (300+) at the shapes measured in results/kernel/NOTES.md.
 *
 * <p>{@link #dense()} makes {@code cuda-dense-persistent} the same way: the same engine and kernel in its dense mode
 * ({@link PlanOptions#dense}): W_hh whole, two fp16/bf16 weights a word. Rank 160 (below the sparse engine) for a
 * model of W_hh density under {@link #DENSE_PREFERRED_DENSITY}, 140 (above it) from there: at density 1 a dense word
 * holds two weights and a sparse one one, so the dense rows take half the slots. Not yet calibrated by measurement.
 */
public final class SparsePersistentFactory implements EngineFactory {
    /** W_hh density from which {@code auto} ranks the dense mode above the sparse one (a guess until measured). */
    public static final double DENSE_PREFERRED_DENSITY = 0.6;

    private final boolean dense;

    /** The factory of {@code cuda-sparse-persistent}. */
    public SparsePersistentFactory() {
        this(false);
    }

    private SparsePersistentFactory(boolean dense) {
        this.dense = dense;
    }

    /** The factory of {@code cuda-dense-persistent}. */
    public static SparsePersistentFactory dense() {
        return new SparsePersistentFactory(true);
    }

    @Override
    public String name() {
        return dense ? SparsePersistentEngine.DENSE_NAME : SparsePersistentEngine.NAME;
    }

    @Override
    public String description() {
        return dense ? "the dense persistent kernel (the sparse kernel's dense mode): W_hh whole on-chip, two 16-bit weights a word "
                + "in registers + shared memory, one launch per layer and sequence, the same exchanges"
                : "the sparse persistent kernel: W_hh packed on-chip (registers + shared memory), one launch per layer and sequence, "
                + "h exchanged by cluster DSMEM, timestamped words or a grid barrier";
    }

    @Override
    public int rank(RnnModel model, EngineOptions options) {
        if (!dense) {
            return 150;
        }
        return CudaEngineFactory.density(model) >= DENSE_PREFERRED_DENSITY ? 140 : 160;
    }

    @Override
    public Optional<String> unavailableReason(RnnModel model, EngineOptions options) {
        Optional<String> gpu = GpuStatus.problem();
        if (gpu.isPresent()) {
            return gpu;
        }
        if (!options.precision().isSixteenBit()) {
            return Optional.of("--precision " + options.precision().id() + ": the on-chip weights are 16-bit; use fp16 or bf16");
        }
        Optional<DeviceLimits> limits = GpuStatus.deviceLimits();
        if (limits.isEmpty()) {
            return Optional.of("no device limits could be read");
        }
        if (!limits.get().cooperativeLaunch()) {
            return Optional.of(limits.get().name() + " does not support cooperative launches (co-residency cannot be guaranteed)");
        }
        return Optional.ofNullable(SparsePersistentEngine.refusal(model, options.batchHint(), limits.get(), planOptions(options)));
    }

    /** The plan options an engine built from {@code options} uses: every optimization on, partition derived. */
    public PlanOptions planOptions(EngineOptions options) {
        return planOptions(options.precision(), dense);
    }

    /** The plan options of the sparse ({@code dense} false) or dense engine with {@code weights}: every optimization on, partition derived. */
    public static PlanOptions planOptions(org.sprnn.Precision weights, boolean dense) {
        if (dense) {
            return PlanOptions.denseDefaults(weights);
        }
        PlanOptions d = PlanOptions.defaults();
        String ends = OptIn.mode(ROW_ENDS_PROPERTY, "SPRNN_ROW_ENDS", DEFAULT_ROW_ENDS,
                List.of("cta", "tail", "tail-smem", "compiled", "runtime"));
        return new PlanOptions(exchange(), d.wideLoads(), d.bankAware(), d.balanced(), 0, warpsPerCta(), weights)
                .withCompiledRowEnds(!ends.equals("runtime")).withTails(ends.startsWith("tail") || ends.equals("cta"))
                .withCtaTails(ends.equals("cta")).withTailSmem(ends.equals("tail-smem"))
                .withPlacement(placement());
    }

    /** {@link #PLACEMENT_PROPERTY}'s warp placement (the default placement where neither is set). */
    public static org.sprnn.sparse.WarpPlacement placement() {
        return org.sprnn.sparse.WarpPlacement.parse(OptIn.mode(PLACEMENT_PROPERTY, "SPRNN_PLACEMENT",
                PlanOptions.defaults().placement().id(),
                java.util.Arrays.stream(org.sprnn.sparse.WarpPlacement.values()).map(org.sprnn.sparse.WarpPlacement::id).toList()));
    }

    /**
     * Where the sparse engine's plans place balanced warps among the CTAs' positions
     * ({@link org.sprnn.sparse.WarpPlacement}): {@code dealt} (the default), {@code spread} or {@code cta}, for
     * measuring one against another. System property {@value}, else environment variable {@code SPRNN_PLACEMENT}.
     */
    public static final String PLACEMENT_PROPERTY = "sprnn.placement";

    /**
     * The exchange of h the sparse engine's plans use: {@code auto} (the planner's choice by its cost model, the default)
     * or {@code timestamps}, {@code barrier} or {@code cluster} for every layer (a layer that does not fit it is
     * refused), for measuring one exchange against another through the engine where the cost model ranks them close.
     * System property {@value}, else environment variable {@code SPRNN_EXCHANGE}.
     */
    public static final String EXCHANGE_PROPERTY = "sprnn.exchange";

    /**
     * {@link #EXCHANGE_PROPERTY}'s exchange.
     *
     * @return null for {@code auto} (unset), else the exchange
     * @throws SprnnException naming the property, the variable and the value (escaped) where it is none of the four
     */
    public static org.sprnn.plan.ExchangeMode exchange() {
        return switch (OptIn.mode(EXCHANGE_PROPERTY, "SPRNN_EXCHANGE", "auto", List.of("auto", "timestamps", "barrier", "cluster"))) {
            case "timestamps" -> org.sprnn.plan.ExchangeMode.TIMESTAMPS;
            case "barrier" -> org.sprnn.plan.ExchangeMode.GRID_BARRIER;
            case "cluster" -> org.sprnn.plan.ExchangeMode.CLUSTER;
            default -> null;
        };
    }

    /**
     * Warps per CTA of the sparse engine's plans: {@code auto} (0, the planner's choice by its cost model) or a count 1 to
     * 32 that every layer is planned with (a layer that does not fit it is refused), for measuring one partition against
     * another through the engine. System property {@value}, else environment variable {@code SPRNN_WARPS}.
     */
    public static final String WARPS_PROPERTY = "sprnn.warpsPerCta";

    /**
     * {@link #WARPS_PROPERTY}'s count.
     *
     * @return 0 for {@code auto} (unset), else the count
     * @throws SprnnException naming the property and the variable and the value (escaped) where it is neither
     */
    public static int warpsPerCta() {
        String v = System.getProperty(WARPS_PROPERTY);
        if (v == null) {
            v = System.getenv("SPRNN_WARPS");
        }
        if (v == null || v.isBlank() || v.strip().equals("auto")) {
            return 0;
        }
        String s = v.strip();
        if (s.matches("[0-9]{1,2}") && Integer.parseInt(s) >= 1 && Integer.parseInt(s) <= 32) {
            return Integer.parseInt(s);
        }
        throw new SprnnException(WARPS_PROPERTY + " (or SPRNN_WARPS) is " + org.sprnn.io.Untrusted.quote(v)
                + ": use auto or a warp count 1 to 32");
    }

    /**
     * Where the sparse kernel's row ends come from: {@code cta} ({@code tail}, and warps of one row of unequal length
     * share a tail across their CTA, {@link org.sprnn.sparse.PackedLayer#packCtaTail}: not yet the default, as it has not
     * run on a GPU), {@code tail-smem} ({@code tail} with the tail's lane sums in shared memory, an experiment:
     * {@link org.sprnn.plan.KernelSpec#tailSmem}), {@code tail} (compiled in wherever a warp holds more than one row,
     * rows of unequal length through a tail the warp's rows share, {@link org.sprnn.sparse.PackedLayer#packTail}),
     * {@code compiled} (compiled in where every row takes the same slots; rows of unequal length run the general slot
     * loop's run-time test) or {@code runtime} (the general loop everywhere, for comparison). System property {@value},
     * else environment variable {@code SPRNN_ROW_ENDS}; default {@link #DEFAULT_ROW_ENDS}.
     */
    public static final String ROW_ENDS_PROPERTY = "sprnn.rowEnds";
    /** The default of {@link #ROW_ENDS_PROPERTY}. */
    public static final String DEFAULT_ROW_ENDS = "tail";

    @Override
    public Optional<StepCost> predict(RnnModel model, EngineOptions options) {
        int batch = options.batchHint();
        String mode = model.bidirectional() ? bidirectionalMode() : "sequential";
        if (!mode.equals("sequential")) {
            // the layers whose directions the engine runs at once (as create's BidirectionalEngine decides) cost the plans'
            // predicted ratio of at once to one after the other; on this device, else on the H100 the calibration is of
            DeviceLimits limits = GpuStatus.deviceLimits().orElse(DeviceLimits.h100Sxm());
            DeviceLimits half = limits.share(2);
            PlanOptions plan = planOptions(options);
            double[] atOnce = new double[model.numLayers()];
            boolean all = true;
            for (int k = 0; k < model.numLayers(); k++) {
                double ratio = 0;
                for (int d = 0; d < 2 && all; d++) {
                    RnnModel one = model.singleLayer(k, d);
                    double r = SparsePersistentEngine.halvesRatio(one, batch, limits, half, plan); // NaN: not on the half
                    if (Double.isNaN(r) || !mode.equals("halves") && !(r < 1)) {
                        all = false;
                    } else {
                        ratio = Math.max(ratio, r);
                    }
                }
                atOnce[k] = ratio;
            }
            if (all) { // BidirectionalEngine runs the directions at once only where every layer's both fit (concurrentAt)
                return Optional.of(CostModel.persistentBidirectional(model, batch, dense, atOnce));
            }
        }
        return Optional.of(dense ? CostModel.densePersistent(model, batch) : CostModel.sparsePersistent(model, batch));
    }

    /**
     * Lengths and bidirectional models ({@link org.sprnn.engine.ComposedFeatures}: a bidirectional model runs as one
     * engine per layer and direction, each layer in its own persistent launches; lengths in one launch of the kernel's lengths variant).
     */
    @Override
    public java.util.Set<org.sprnn.engine.EngineFeature> features() {
        return org.sprnn.engine.ComposedFeatures.FACTORY_FEATURES;
    }

    /**
     * How a bidirectional model's two directions of a layer run: {@code halves} (each planned for half the SMs, so that
     * the two grids can be resident at once, launched at once from two threads, wherever both fit their halves at the
     * run's batch; one after the other on the whole device elsewhere), {@code auto} (as halves, where moreover the plan's
     * predicted step on half the SMs is under twice the whole device's, {@link SparsePersistentEngine#halvesPay}: the
     * measured wins at 1152 / 10% and LSTM 1024 / 10%, not the loss at 2304 / 30%, results/suite/session12) or
     * {@code sequential} (always one after the other on the whole device). System property {@value}, else environment
     * variable {@code SPRNN_BIDIRECTIONAL}; default {@link #DEFAULT_BIDIRECTIONAL}.
     */
    public static final String BIDIRECTIONAL_PROPERTY = "sprnn.bidirectional";
    /** The default of {@link #BIDIRECTIONAL_PROPERTY}. */
    public static final String DEFAULT_BIDIRECTIONAL = "auto";

    /** {@link #BIDIRECTIONAL_PROPERTY}'s value: halves, auto or sequential; anything else is refused. */
    static String bidirectionalMode() {
        return OptIn.mode(BIDIRECTIONAL_PROPERTY, "SPRNN_BIDIRECTIONAL", DEFAULT_BIDIRECTIONAL, List.of("auto", "halves", "sequential"));
    }

    @Override
    public Engine create(RnnModel model, EngineOptions options) {
        DeviceLimits limits = GpuStatus.deviceLimits().orElseThrow();
        PlanOptions plan = planOptions(options);
        String mode = model.bidirectional() ? bidirectionalMode() : "sequential";
        if (!mode.equals("sequential")) {
            DeviceLimits half = limits.share(2);
            boolean always = mode.equals("halves");
            return new org.sprnn.engine.BidirectionalEngine(name(), model, layer -> new SparsePersistentEngine(layer, limits, plan),
                    layer -> new SparsePersistentEngine(layer, half, plan),
                    (layer, batch) -> always ? SparsePersistentEngine.refusal(layer, batch, half, plan) == null
                            : SparsePersistentEngine.halvesPay(layer, batch, limits, half, plan))
                    .withPairTimer(SparsePersistentEngine.PAIR_TIMER);
        }
        if (model.bidirectional()) {
            return new org.sprnn.engine.BidirectionalEngine(name(), model, layer -> new SparsePersistentEngine(layer, limits, plan))
                    .withPairTimer(SparsePersistentEngine.PAIR_TIMER);
        }
        return new SparsePersistentEngine(model, limits, plan);
    }
}

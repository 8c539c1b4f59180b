// SparsePersistentEngine.java — the public face of cuda-sparse-persistent: builds, runs, times and closes; the
// layers' device state, the run's buffers, the forward pass and the fault record live in the Persistent* classes.
package org.sprnn.engine.cuda;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sprnn.SprnnException;
import org.sprnn.engine.Engine;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaDriver;
import org.sprnn.internal.cuda.CudaException;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.CsrMatrix;

/**
 * {@code cuda-sparse-persistent}: the paper's kernel ({@code sparse_persistent_rnn.cu}). Per layer, the input
 * projection {@code W_ih x_t + b_ih} for all T steps is one fp32 cuBLASLt GEMM; then one launch of the
 * persistent kernel runs every step with {@code W_hh} resident on-chip (packed words in registers and
 * shared memory), exchanging {@code h_t} between CTAs as its {@link Plan} says (cluster DSMEM, timestamped words
 * or grid barrier). Stacked layers run layer by layer.
 *
 * <p>Per batch size the engine plans each layer ({@link Plan}; refusing layers that do not fit, with the
 * capacity numbers), packs, compiles the specialised kernel through NVRTC (cubin cache keyed by the
 * spec's name) and uploads the packed layout once ({@link PersistentLayers}); per sequence shape (T, B) it allocates
 * the run's device buffers once and keeps the last shape's until the next shape or {@link #close()}
 * ({@link PersistentWorkspace}); a run ({@link PersistentRun}) uploads inputs, launches and downloads. Outputs
 * are poisoned (NaN) before every launch; a kernel that gave up (bounded spins) leaves a fault record
 * ({@link KernelFault}) and the run throws naming the layer, CTA and step (the engine stays usable: the kernel left normally).
 *
 * <p>A sequence runs in launches of at most {@link #STEPS_PER_LAUNCH} steps ({@link StepChunks}), h (and c)
 * carried between them on the device, so the timestamped exchange buffer is bounded by that many steps instead of
 * growing with T. The input projection's cuBLASLt plan is built once per (layer, T*B) and kept until
 * {@link #close()}.
 */
public final class SparsePersistentEngine implements Engine {
    /** The engine's name. */
    public static final String NAME = "cuda-sparse-persistent";
    /**
     * The name of the same engine in the kernel's dense mode ({@link PlanOptions#dense}): {@code W_hh} whole, two 16-bit
     * weights a word ({@link org.sprnn.sparse.PackedLayer#packDense}); everything else is this engine's.
     */
    public static final String DENSE_NAME = "cuda-dense-persistent";
    /** How long one spin of the kernel may wait before it records a fault and leaves. */
    static final long SPIN_TIMEOUT_NS = 2_000_000_000L;
    /** Launches timed together in {@link #microsPerStep} (each sample's time divided by it). */
    static final int LAUNCHES_PER_SAMPLE = 4;
    /**
     * The most timesteps one launch runs (the paper's T = 256 in one launch); longer sequences run in launches of
     * this many steps, which bounds the timestamped exchange buffer at {@code 256 x H x paddedBatch x 2} bytes.
     */
    public static final int STEPS_PER_LAUNCH = 256;
    /** The kernel source every layer's kernel is specialised from. */
    static final String SOURCE = "sparse_persistent_rnn.cu";

    private final RnnModel model;
    private final PlanOptions planOptions;
    private final Variant variant;
    private final Resources owned = new Resources(); // context, stream, then the layers' buffers, modules and plans
    private final CudaContext ctx;
    private final CudaStream stream;
    private final PersistentLayers layers;
    private PersistentWorkspace workspace; // the last run shape's buffers, or null
    private final java.util.Set<org.sprnn.engine.Session> sessions = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private boolean closed;

    /**
     * What the engine's kernels are besides their spec: the normal kernel, the exchange floor, or (for the
     * checks only) a kernel whose CTA {@code stallCta} stops at step {@code stallStep} of every launch, or one that
     * runs fewer steps per launch. A user's engine is always {@link #NORMAL} (or the floor,
     * {@link SparsePersistentEngine#exchangeFloor}); the others are built through {@link EngineTesting#sparsePersistent}.
     *
     * @param exchangeOnly {@code SPRNN_EXCHANGE_ONLY}: skip the arithmetic (the floor)
     * @param stallCta CTA that stops ({@code SPRNN_STALL_CTA}), -1 = none
     * @param stallStep step of each launch at which it stops
     * @param spinTimeoutNs how long each bounded spin of the kernel waits
     * @param stepsPerLaunch the most steps one launch runs
     */
    public record Variant(boolean exchangeOnly, int stallCta, int stallStep, long spinTimeoutNs, int stepsPerLaunch) {
        /** Validates the ranges. */
        public Variant {
            if (spinTimeoutNs < 1_000_000L || stepsPerLaunch < 1 || stallCta < -1 || stallStep < 0) {
                throw new SprnnException(NAME + ": variant " + stallCta + "/" + stallStep + "/" + spinTimeoutNs + " ns/"
                        + stepsPerLaunch + " steps per launch out of range");
            }
        }

        /** The engine's own kernel: arithmetic on, no stall, 2 s spins, {@link SparsePersistentEngine#STEPS_PER_LAUNCH} per launch. */
        public static final Variant NORMAL = new Variant(false, -1, 0, SPIN_TIMEOUT_NS, STEPS_PER_LAUNCH);

        /**
         * For the fault-path check: this variant with CTA {@code cta} stopping at step {@code step} of every launch
         * (injected at compile time) and bounded spins of {@code spinTimeoutNs}: every run must throw naming the
         * layer, step and CTA, and leave the engine usable.
         */
        public Variant withStall(int cta, int step, long spinTimeoutNs) {
            return new Variant(exchangeOnly, cta, step, spinTimeoutNs, stepsPerLaunch);
        }

        /** For the chunking check: this variant running at most {@code steps} steps per launch. */
        public Variant withStepsPerLaunch(int steps) {
            return new Variant(exchangeOnly, stallCta, stallStep, spinTimeoutNs, steps);
        }

        /** The name a spec's kernel is compiled (and cached) under by an engine of this variant. */
        String kernelName(KernelSpec s) {
            StringBuilder extra = new StringBuilder();
            experimentDefines().forEach((k, v) -> extra.append('_').append(k.substring("SPRNN_".length()).toLowerCase(java.util.Locale.ROOT))
                    .append(v.replace('-', 'm')));
            return s.name() + (exchangeOnly ? "_exchangeonly" : "") + (stallCta >= 0 ? "_stall" + stallCta + "at" + stallStep : "")
                    + (extra.length() > 0 ? "_x" + extra : "");
        }

        /** The defines a spec's kernel is compiled with by an engine of this variant: the spec's, then the variant's. */
        Map<String, String> defines(KernelSpec s) {
            Map<String, String> defines = new LinkedHashMap<>(s.defines());
            if (exchangeOnly) {
                defines.put("SPRNN_EXCHANGE_ONLY", "1");
            }
            if (stallCta >= 0) {
                defines.put("SPRNN_STALL_CTA", Integer.toString(stallCta));
                defines.put("SPRNN_STALL_STEP", Integer.toString(stallStep));
            }
            experimentDefines().forEach((k, v) -> {
                if (PLAN_OWNED_DEFINES.contains(k) && !defines.containsKey(k)) {
                    throw new SprnnException(EXPERIMENT_PROPERTY + ": " + k + " changes the layout or its shared memory, which the plan "
                            + "sets (e.g. SPRNN_ROW_ENDS=tail-smem or cta); only the kernel's optional switches may be added");
                }
                if (defines.containsKey(k)) {
                    throw new SprnnException(EXPERIMENT_PROPERTY + ": " + k + " is set by the plan (" + defines.get(k) + "); only the kernel's "
                            + "optional switches may be added");
                }
                defines.put(k, v);
            });
            return defines;
        }
    }

    /**
     * For kernel experiments through the engine (e.g. {@code scripts/gpu-pruned.sh} timing a variant of the planned
     * kernel): extra integer defines of the kernel's optional switches, {@code SPRNN_LOAD_AHEAD=8,SPRNN_DEFER_REDUCE=1},
     * appended to every kernel an engine compiles and named in its kernel name (so cached apart). System property {@value},
     * else environment variable {@code SPRNN_KERNEL_DEFINES}; none by default. Not for production: a switch the plan does
     * not know of can change the kernel's registers or correctness (kernel-check it first).
     */
    public static final String EXPERIMENT_PROPERTY = "sprnn.kernelDefines";

    /** Defines a plan sets where its layout needs them (shared memory, row ends, the words' meaning): never an experiment's. */
    static final java.util.Set<String> PLAN_OWNED_DEFINES = java.util.Set.of("SPRNN_TAIL_SMEM", "SPRNN_CTA_TAIL",
            "SPRNN_CTA_TAIL_ENTRIES", "SPRNN_TAIL_SLOTS", "SPRNN_ROW_SLOTS", "SPRNN_UNIFORM_SLOTS", "SPRNN_DENSE", "SPRNN_LENGTHS",
            "SPRNN_STAGE_CLUSTER");

    /** {@link #EXPERIMENT_PROPERTY}'s defines, in order; each name {@code SPRNN_[A-Z0-9_]+}, each value an integer. */
    static Map<String, String> experimentDefines() {
        String v = System.getProperty(EXPERIMENT_PROPERTY);
        if (v == null) {
            v = System.getenv("SPRNN_KERNEL_DEFINES");
        }
        Map<String, String> out = new LinkedHashMap<>();
        if (v == null || v.isBlank()) {
            return out;
        }
        if (v.length() > 1000) {
            throw new SprnnException(EXPERIMENT_PROPERTY + " (or SPRNN_KERNEL_DEFINES): longer than 1000 characters");
        }
        for (String item : v.split(",")) {
            String t = item.strip();
            if (!t.matches("SPRNN_[A-Z0-9_]{1,40}=-?[0-9]{1,9}")) {
                throw new SprnnException(EXPERIMENT_PROPERTY + " (or SPRNN_KERNEL_DEFINES): expected SPRNN_NAME=integer[,...], got "
                        + org.sprnn.io.Untrusted.quote(t));
            }
            int eq = t.indexOf('=');
            out.put(t.substring(0, eq), t.substring(eq + 1));
        }
        return out;
    }

    /**
     * Builds the engine: opens the device and uploads the input weights; layers are planned per batch size at
     * the first run with that batch.
     *
     * @param options switches and partition (null exchange = cluster if it fits, else timestamps)
     */
    public SparsePersistentEngine(RnnModel model, DeviceLimits limits, PlanOptions options) {
        this(model, limits, options, Variant.NORMAL);
    }

    /**
     * An engine whose kernel skips the sparse arithmetic and only exchanges h each step
     * ({@code SPRNN_EXCHANGE_ONLY}): the floor of the same partition and exchange, for the ablation. Its
     * outputs are not the layer's.
     */
    public static SparsePersistentEngine exchangeFloor(RnnModel model, DeviceLimits limits, PlanOptions options) {
        Variant n = Variant.NORMAL;
        return new SparsePersistentEngine(model, limits, options, new Variant(true, -1, 0, n.spinTimeoutNs(), n.stepsPerLaunch()));
    }

    /** An engine of {@code variant}: the constructor above, {@link #exchangeFloor} and {@link EngineTesting}. */
    SparsePersistentEngine(RnnModel model, DeviceLimits limits, PlanOptions options, Variant variant) {
        if (model.bidirectional()) {
            throw new SprnnException((options.dense() ? DENSE_NAME : NAME) + ": a bidirectional model runs as a BidirectionalEngine of one engine per layer and direction (EngineProvider builds it)");
        }
        this.variant = variant;
        this.model = model;
        this.planOptions = options;
        this.ctx = owned.add(CudaContext.open(CudaContext.selectedOrdinal()));
        try {
            stream = owned.add(ctx.createStream());
            layers = new PersistentLayers(model, limits, options, variant, ctx, stream, owned);
        } catch (RuntimeException | Error e) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (contextLost(e)) {
                throw lostContext(e);
            }
            throw e;
        }
    }

    /**
     * Whether {@code e} is a CUDA error after which the process's context on the device is unusable (a kernel fault:
     * illegal or misaligned address, illegal instruction, launch failure or timeout): every later call fails the same.
     */
    static boolean contextLost(Throwable e) {
        return e instanceof CudaException c && (c.code() == CudaDriver.ERROR_ILLEGAL_ADDRESS || c.code() == CudaDriver.ERROR_LAUNCH_TIMEOUT
                || (c.code() >= CudaDriver.ERROR_HARDWARE_STACK_ERROR && c.code() <= CudaDriver.ERROR_LAUNCH_FAILED));
    }

    /**
     * What a session step throws for a CUDA error {@code e} of engine {@code engine}: the lost-context message where the
     * context is unusable ({@link #contextLost}), else {@code e} itself.
     */
    static RuntimeException sessionError(String engine, CudaException e) {
        return contextLost(e) ? new SprnnException(engine + ": the CUDA context is unusable after a kernel fault in this process ("
                + e.getMessage() + "); restart the process") : e;
    }

    private static SprnnException lostContext(Throwable e) {
        return new SprnnException(NAME + ": the CUDA context is unusable after a kernel fault in this process (" + e.getMessage()
                + "); restart the process");
    }

    /**
     * Plans every layer of {@code model} for {@code batch} on {@code limits}, both directions of a bidirectional model
     * (each runs as an engine of its own); the first that does not fit, or null.
     */
    public static String refusal(RnnModel model, int batch, DeviceLimits limits, PlanOptions options) {
        for (int k = 0; k < model.numLayers(); k++) {
            for (int d = 0; d < model.directions(); d++) {
                Plan p = Plan.of(CsrMatrix.of(model.layer(k, d).wHh()), model.cell(), batch, limits, options);
                if (!p.fits()) {
                    return refusal(model.bidirectional() ? k + (d == 0 ? " (forward)" : " (reverse)") : Integer.toString(k), p, batch);
                }
            }
        }
        return null;
    }

    /**
     * Whether a one-layer model's direction fits {@code half} the device and runs faster there beside its other direction than twice
     * on the whole one: the plan's predicted step ({@link Plan#predictedMicrosPerStep}) on the half under twice the
     * whole's. Measured on the H100 (results/suite/session12, gpu-bidir.sh): at relu 1152 / 10% batch 4 and 1, and LSTM
     * 1024 / 10% batch 4 the halves won (0.57, 0.41, 0.92 of sequential; predicted 1.43 against 2.86, 1.27 against 2.54,
     * 3.77 against 4.83) and at relu 2304 / 30% batch 4 they lost (1.26; predicted 7.41 against 6.04).
     */
    static boolean halvesPay(RnnModel layer, int batch, DeviceLimits whole, DeviceLimits half, PlanOptions options) {
        return halvesRatio(layer, batch, whole, half, options) < 1;
    }

    /**
     * A one-layer model's predicted step on {@code half} the device over twice its predicted step on the whole one (the
     * plans' {@link Plan#predictedMicrosPerStep}): the cost of both directions at once over one after the other; NaN
     * where the layer does not fit the half (so {@link #halvesPay} is false there).
     */
    static double halvesRatio(RnnModel layer, int batch, DeviceLimits whole, DeviceLimits half, PlanOptions options) {
        CsrMatrix w = CsrMatrix.of(layer.layers().get(0).wHh());
        Plan onHalf = Plan.of(w, layer.cell(), batch, half, options);
        return onHalf.fits() ? onHalf.predictedMicrosPerStep() / (2 * Plan.of(w, layer.cell(), batch, whole, options).predictedMicrosPerStep())
                : Double.NaN;
    }

    /** Why layer {@code k} is refused under plan {@code p} (which does not fit): the capacity numbers. */
    static String refusal(int k, Plan p, int batch) {
        return refusal(Integer.toString(k), p, batch);
    }

    /** Why layer {@code layer} (its number, and its direction in a bidirectional model) is refused under {@code p}. */
    private static String refusal(String layer, Plan p, int batch) {
        return "layer " + layer + " does not fit on-chip" + (p.spec().dense() ? " held dense" : "") + " (" + p.spec().exchange().id()
                + ", batch " + batch + "): " + p.why();
    }

    /** {@link #NAME}, or {@link #DENSE_NAME} for an engine of dense plan options. */
    @Override
    public String name() {
        return planOptions.dense() ? DENSE_NAME : NAME;
    }

    /** Lengths ({@link org.sprnn.engine.ComposedFeatures#ENGINE_FEATURES}): in the same launches as without them, {@link #run(Tensor, Tensor, Tensor, SequenceLengths)}. */
    @Override
    public java.util.Set<org.sprnn.engine.EngineFeature> features() {
        return org.sprnn.engine.ComposedFeatures.ENGINE_FEATURES;
    }

    /**
     * Which session {@link #openSession} opens: {@code device} or {@code lean} ({@link PersistentSession}:
     * the states stay on the device, a step is one captured graph; {@link #SESSION_KINDS}) or {@code host} (the states on
     * the Java heap, a step one {@link #run}). System
     * property {@value}, else environment variable {@code SPRNN_SESSION}; default {@link #DEFAULT_SESSION}.
     */
    public static final String SESSION_PROPERTY = "sprnn.session";
    /**
     * The default of {@link #SESSION_PROPERTY}: the lean session, verified against cpu-reference on the GPU and faster at
     * every point measured than the device session (an H100, 2026-12-07, results/suite/session15: one-step calls at 1152
     * and 2304, batch 1 and 4, 1.3-1.6x less time a call), which was faster than the host session (session 14). The
     * resident session is faster still (results/suite/session16: 16.3 against 38.7 µs at 2304, batch 1; 1.65-2.9x less
     * at every point measured) but holds every SM while it waits for the next step: other work on the GPU, this engine's
     * run and another resident session included, waits until it has been idle {@code SPRNN_RESIDENT_IDLE_MS}, and a
     * session stepped more often than that never lets it start. So it is asked for, not assumed.
     */
    public static final String DEFAULT_SESSION = "lean";

    /**
     * The values of {@link #SESSION_PROPERTY}: {@code device} (a step's graph copies the chunk in and the outputs, states
     * and fault records out), {@code lean} (the chunk in and the outputs out, nothing more: the fault records come back
     * through mapped memory, the states only when asked), {@code resident} (one-layer models: the kernel stays resident between steps,
     * fed through page-locked memory, {@link ResidentSession}), {@code host} (the states on the Java heap, a step one {@link #run}).
     */
    public static final List<String> SESSION_KINDS = List.of("device", "lean", "resident", "host");

    /** The kernel's define of the resident session variant ({@code sparse_persistent_rnn.cu}, "resident"). */
    public static final String RESIDENT_DEFINE = "SPRNN_RESIDENT";

    /**
     * A session of this engine, as {@link #SESSION_PROPERTY} says: on the device ({@link PersistentSession}) or with the
     * states on the Java heap ({@link org.sprnn.engine.ComposedFeatures#session}); the initial states checked now.
     */
    @Override
    public org.sprnn.engine.Session openSession(int batch, Tensor h0, Tensor c0) {
        if (closed) {
            throw new SprnnException(name() + ": engine used after close()");
        }
        String kind = OptIn.mode(SESSION_PROPERTY, "SPRNN_SESSION", DEFAULT_SESSION, SESSION_KINDS);
        if (kind.equals("host")) {
            return org.sprnn.engine.ComposedFeatures.session(this, model, batch, h0, c0);
        }
        synchronized (this) {
            org.sprnn.engine.Session s = kind.equals("resident") ? new ResidentSession(this, model, batch, h0, c0)
                    : new PersistentSession(this, model, batch, h0, c0, PersistentSession.Kind.of(kind));
            sessions.add(s);
            return s;
        }
    }

    /** The plans used for {@code batch} (planning and compiling them if needed), one per layer. */
    public List<Plan> plans(int batch) {
        return layers.kernels(batch).stream().map(PersistentLayers.LayerKernel::plan).toList();
    }

    /** Registers per thread and local (spill) bytes of layer {@code layer}'s compiled kernel for {@code batch}. */
    public String kernelResources(int batch, int layer) {
        CudaModule.CudaKernel k = layers.kernels(batch).get(layer).kernel();
        return "regs=" + k.attribute(CudaDriver.FUNC_ATTR_NUM_REGS) + " local=" + k.attribute(CudaDriver.FUNC_ATTR_LOCAL_SIZE_BYTES) + "B";
    }

    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        RunInputs.check(model, input, h0, c0);
        Float32Range.requireFp16(h0, name()); // h travels between steps in fp16
        ctx.makeCurrent(); // this thread may not be the one that built the engine (BidirectionalEngine's reverse thread)
        try (Run r = new Run(input, h0, c0)) {
            r.forward(0, null);
            return Float32Range.requireInRange(Float32Range.requireFp16Exchange(r.result(), name()));
        } catch (CudaException e) {
            throw contextLost(e) ? lostContext(e) : e;
        }
    }

    /**
     * Sequences of different lengths in the launches of a plain run (one per layer and {@link #STEPS_PER_LAUNCH} steps),
     * not one run per distinct length: each layer's kernel is its lengths variant ({@link KernelSpec#withLengths()},
     * compiled at the first such run per batch), in which a batch column keeps its h (and c) from its sequence's end on
     * and writes zero outputs while the others go on. The padding is replaced by zeros before the upload and never read.
     */
    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0, SequenceLengths lengths) {
        if (lengths == null) {
            return run(input, h0, c0);
        }
        RunInputs.check(model, input, h0, c0, lengths);
        if (lengths.allEqual(input.dim(0))) {
            return run(input, h0, c0);
        }
        Float32Range.requireFp16(h0, name()); // h travels between steps in fp16
        int steps = input.dim(0), batch = input.dim(1), in = input.dim(2);
        int[] len = lengths.values();
        double[] x = input.data().clone();
        for (int b = 0; b < batch; b++) {
            for (int t = len[b]; t < steps; t++) {
                Arrays.fill(x, (t * batch + b) * in, (t * batch + b + 1) * in, 0.0);
            }
        }
        ctx.makeCurrent();
        try (Run r = new Run(new Tensor(input.shape(), x), h0, c0, len)) {
            r.forward(0, null);
            return Float32Range.requireInRange(Float32Range.requireFp16Exchange(r.result(), name()));
        } catch (CudaException e) {
            throw contextLost(e) ? lostContext(e) : e;
        }
    }

    /**
     * Times the recurrent part (the persistent launch, input projection excluded) of layer 0 on {@code input}:
     * the median over {@code reps} samples of {@link #LAUNCHES_PER_SAMPLE} back-to-back launches, after warm-up,
     * with CUDA events, in µs per step. The layer is run and checked by the caller through {@link #run} first.
     */
    public double microsPerStep(Tensor input, int reps) {
        RunInputs.check(model, input, null, null);
        try (Run r = new Run(input, null, null)) {
            double[] ms = new double[reps];
            r.forward(3, ms);
            Arrays.sort(ms);
            return ms[reps / 2] * 1000.0 / input.dim(0);
        }
    }

    /**
     * The device timer of a one-layer bidirectional model run by two engines of this kind
     * ({@link org.sprnn.engine.BidirectionalEngine#withPairTimer}). Together: both engines' layer-0 launches issued
     * interleaved on their own streams, {@link #LAUNCHES_PER_SAMPLE} each a sample, from the first stream's start event to
     * the later of the two stop events (so the sample includes any delay of the second grid's start), on the first input
     * set only (its {@code how} says so); apart: each
     * engine's samples as {@link #microsPerStep} takes them, the two added. Every sample's launches are checked for a
     * fault record; each engine ran once before, checked.
     */
    static final org.sprnn.engine.DirectionPairTimer PAIR_TIMER = (fe, re, forward, reverse, warmup, reps, together) -> {
        if (!(fe instanceof SparsePersistentEngine f) || !(re instanceof SparsePersistentEngine r)) {
            throw new SprnnException(NAME + ": the pair timer times two engines of its own kind, got " + fe.name() + " and " + re.name());
        }
        int steps = forward.get(0).dim(0);
        for (Tensor x : forward) {
            RunInputs.check(f.model, x, null, null);
        }
        for (Tensor x : reverse) {
            RunInputs.check(r.model, x, null, null);
        }
        double[] us = new double[reps];
        if (!together) {
            for (int i = 0; i < reps; i++) {
                us[i] = f.sampleMicros(forward.get(i % forward.size()), i == 0 ? Math.max(1, warmup) : 0)
                        + r.sampleMicros(reverse.get(i % reverse.size()), i == 0 ? Math.max(1, warmup) : 0);
            }
            return new org.sprnn.engine.DeviceTimes(steps, us, us, "recurrent launches (input projection excluded), CUDA events");
        }
        f.ctx.makeCurrent();
        try (Run a = f.new Run(forward.get(0), null, null); Run b = r.new Run(reverse.get(0), null, null);
             CudaEventPair ea = new CudaEventPair(f.ctx); CudaEventPair eb = new CudaEventPair(f.ctx)) {
            a.prepareLayer0();
            b.prepareLayer0();
            for (int i = 0; i < warmup; i++) {
                a.launchLayer0();
                b.launchLayer0();
            }
            a.stream().synchronize();
            b.stream().synchronize();
            for (int i = 0; i < reps; i++) {
                ea.start().record(a.stream()); // b's launches queue behind a's first: the sample starts with a
                for (int l = 0; l < LAUNCHES_PER_SAMPLE; l++) {
                    a.launchLayer0();
                    b.launchLayer0();
                }
                ea.stop().record(a.stream());
                eb.stop().record(b.stream());
                ea.stop().synchronize();
                eb.stop().synchronize();
                a.checkLayer0();
                b.checkLayer0();
                double ms = Math.max(ea.stop().millisSince(ea.start()), eb.stop().millisSince(ea.start()));
                us[i] = ms * 1000.0 / LAUNCHES_PER_SAMPLE;
            }
        }
        return new org.sprnn.engine.DeviceTimes(steps, us, us, "recurrent launches of both directions interleaved on two streams "
                + "(input projection excluded), CUDA events from the first start to the later stop; one input set");
    };

    /** One sample of layer 0's launches on {@code x} (after {@code warmups} untimed), µs per whole sequence. */
    private double sampleMicros(Tensor x, int warmups) {
        ctx.makeCurrent();
        double[] ms = new double[1];
        try (Run run = new Run(x, null, null)) {
            run.forward(warmups, ms);
        }
        return ms[0] * 1000.0;
    }

    /** A start and a stop event. */
    private record CudaEventPair(org.sprnn.internal.cuda.CudaEvent start, org.sprnn.internal.cuda.CudaEvent stop) implements AutoCloseable {
        CudaEventPair(CudaContext ctx) {
            this(ctx.createEvent(), ctx);
        }

        private CudaEventPair(org.sprnn.internal.cuda.CudaEvent start, CudaContext ctx) {
            this(start, second(start, ctx));
        }

        private static org.sprnn.internal.cuda.CudaEvent second(org.sprnn.internal.cuda.CudaEvent start, CudaContext ctx) {
            try {
                return ctx.createEvent();
            } catch (RuntimeException e) {
                start.close();
                throw e;
            }
        }

        @Override
        public void close() {
            try {
                start.close();
            } finally {
                stop.close();
            }
        }
    }

    /** The weights' precision's ({@link org.sprnn.Precision#tolerance()}): fp16 3e-3, bf16 2e-2, as the library engines'. */
    @Override
    public double tolerance() {
        return planOptions.weights().tolerance();
    }

    /**
     * Times the recurrent part of layer 0 (the persistent launch; the input projection excluded), µs per
     * whole sequence, CUDA events (see {@link #microsPerStep}); full and recurrent times are the same values,
     * taken from zero initial states (the launch's time does not depend on them; {@code h0}, {@code c0} are
     * not used). One input set: one run, {@code max(1, warmup)} warm-up launches, then {@code reps} samples.
     * Several: one sample per set in rotation, each in a run of its own after one warm-up launch.
     */
    @Override
    public java.util.Optional<org.sprnn.engine.DeviceTimer> deviceTimer() {
        return java.util.Optional.of((inputSets, h0, c0, warmup, reps) -> {
            int steps = inputSets.get(0).dim(0), batch = inputSets.get(0).dim(1);
            for (Tensor x : inputSets) {
                RunInputs.check(model, x, null, null);
                if (x.dim(0) != steps || x.dim(1) != batch) {
                    throw new IllegalArgumentException("input sets differ in shape: " + x.shapeString());
                }
            }
            double[] ms = new double[reps];
            if (inputSets.size() == 1) {
                try (Run r = new Run(inputSets.get(0), null, null)) {
                    r.forward(Math.max(1, warmup), ms);
                }
            } else {
                double[] one = new double[1];
                for (int i = 0; i < reps; i++) {
                    try (Run r = new Run(inputSets.get(i % inputSets.size()), null, null)) {
                        r.forward(1, one);
                    }
                    ms[i] = one[0];
                }
            }
            double[] us = new double[reps];
            for (int i = 0; i < reps; i++) {
                us[i] = ms[i] * 1000.0;
            }
            return new org.sprnn.engine.DeviceTimes(steps, us, us, "recurrent launch alone (input projection "
                    + "excluded), CUDA events, one sample per input set in rotation");
        });
    }

    /** A device session ended: forgets it. */
    synchronized void sessionClosed(org.sprnn.engine.Session s) {
        sessions.remove(s);
    }

    /** Throws if the engine was closed. */
    void requireOpen() {
        if (closed) {
            throw new SprnnException(name() + ": engine used after close()");
        }
    }

    /**
     * Uses {@code plans} (one per layer, made by {@link Plan#of} for this engine's model, options and limits, e.g.
     * in parallel by a check) for {@code batch} instead of planning again. Reached through {@link EngineTesting}.
     */
    void usePlans(int batch, List<Plan> plans) {
        layers.usePlans(batch, plans);
    }

    /** Input projection plans built so far (one per layer and T*B run); reached through {@link EngineTesting}. */
    int projectionPlans() {
        return layers.projectionPlans();
    }

    RnnModel model() {
        return model;
    }

    CudaContext context() {
        return ctx;
    }

    CudaStream stream() {
        return stream;
    }

    PersistentLayers layers() {
        return layers;
    }

    Variant variant() {
        return variant;
    }

    /**
     * The buffers for runs of {@code steps x batch}: the last run's if it had that shape, else new ones (the old
     * ones freed first).
     */
    PersistentWorkspace workspace(int steps, int batch, List<PersistentLayers.LayerKernel> ks, int launchSteps, int launches) {
        if (closed) {
            throw new SprnnException(NAME + ": engine used after close()");
        }
        if (workspace != null && workspace.fits(steps, batch)) {
            return workspace;
        }
        if (workspace != null) {
            PersistentWorkspace old = workspace;
            workspace = null;
            old.close();
        }
        workspace = new PersistentWorkspace(ctx, steps, batch, model.layers().get(0).inputSize(), model.hiddenSize(),
                model.cell().gates(), model.numLayers(), ks, launchSteps, launches);
        return workspace;
    }

    /** One run of this engine ({@link PersistentRun}), under the name the timing methods use. */
    private final class Run extends PersistentRun {
        Run(Tensor input, Tensor h0, Tensor c0) {
            super(SparsePersistentEngine.this, input, h0, c0);
        }

        Run(Tensor input, Tensor h0, Tensor c0, int[] lengths) {
            super(SparsePersistentEngine.this, input, h0, c0, lengths);
        }
    }

    /**
     * Frees every device resource (run buffers, modules, plans, buffers, stream, context reference), the last made
     * first; idempotent. Every resource is closed even when one fails; the first failure is then thrown.
     *
     * <p>Nothing else releases them: an engine dropped without {@code close()} keeps its device memory,
     * pinned host memory, streams, modules and its reference on the device's primary context until the
     * process exits (there is no Cleaner; see {@link org.sprnn.engine.Engine}).
     */
    @Override
    public void close() {
        // No Cleaner on purpose (yet): see CudaRnnEngine.close(); here `owned` holds every long-lived
        // resource and none of them references the engine, so a Cleaner action over `owned` would do.
        if (closed) {
            return;
        }
        org.sprnn.engine.Session[] open;
        synchronized (this) {
            open = sessions.toArray(new org.sprnn.engine.Session[0]);
        }
        for (org.sprnn.engine.Session s : open) { // their device buffers before the context reference goes
            s.close();
        }
        closed = true;
        PersistentWorkspace w = workspace;
        workspace = null;
        try (owned) {
            if (w != null) {
                w.close();
            }
        }
    }
}

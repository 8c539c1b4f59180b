package org.sprnn.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sprnn.SprnnException;
import org.sprnn.engine.Engine;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.RunInputs;
import org.sprnn.internal.cuda.CublasLt;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaDriver;
import org.sprnn.internal.cuda.CudaEvent;
import org.sprnn.internal.cuda.CudaException;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.GemmPlan;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.PackedLayer;
import org.sprnn.sparse.SparseRows;

/**
 * {@code cuda-sparse-persistent}: the paper's kernel ({@code sparse_persistent_rnn.cu}). Per layer, the input
 * projection {@code W_ih x_t + b_ih} for all T steps is one fp32 cuBLASLt GEMM; then one launch of the
 * persistent kernel runs every step with {@code W_hh} resident on-chip (packed words in registers and
 * shared memory), exchanging {@code h_t} between CTAs as its {@link Plan} says (cluster DSMEM, timestamped words
 * or grid barrier). Stacked layers run layer by layer.
 *
 * <p>Per batch size the engine plans each layer ({@link Plan}; refusing layers that do not fit, with the
 * capacity numbers), packs, compiles the specialised kernel through NVRTC (cubin cache keyed by the
 * spec's name) and uploads the packed layout once; a run uploads inputs, launches and downloads. Outputs
 * are poisoned (NaN) before every launch; a kernel that gave up (bounded spins) leaves a fault record
 * and the run throws naming the layer, CTA and step (the engine stays usable: the kernel left normally).
 *
 * <p>A sequence runs in launches of at most {@link #STEPS_PER_LAUNCH} steps ({@link StepChunks}), h (and c)
 * carried between them on the device, so the timestamped exchange buffer is bounded by that many steps instead of
 * growing with T. The input projection's cuBLASLt plan is built once per (layer, T*B) and kept until
 * {@link #close()}.
 */
public final class SparsePersistentEngine implements Engine {
    /** The engine's name. */
    public static final String NAME = "cuda-sparse-persistent";
    /** How long one spin of the kernel may wait before it records a fault and leaves. */
    static final long SPIN_TIMEOUT_NS = 2_000_000_000L;
    private static final long WORKSPACE_BYTES = 8L << 20;
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
    private final DeviceLimits limits;
    private final Variant variant;
    private final int hidden;
    private final int gates;
    private final CudaContext ctx;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>(); // closed in reverse order
    private final CudaStream stream;
    private final CublasLt.Handle lt;
    private final DeviceBuffer workspace;
    private final KernelCompiler compiler;
    private final List<SparseRows> recurrent = new ArrayList<>(); // per layer, made at the first planning
    private final List<DeviceBuffer> wIh = new ArrayList<>();  // per layer [G*H][I] fp32 row-major
    private final List<DeviceBuffer> bIh = new ArrayList<>();  // per layer [G*H] fp32
    private final List<DeviceBuffer> bHh = new ArrayList<>();  // per layer [G*H] fp32
    private final Map<Integer, List<LayerKernel>> byBatch = new HashMap<>();
    private final Map<Long, GemmPlan> projections = new HashMap<>(); // (layer << 32 | T*B) → input projection plan
    private boolean closed;

    /**
     * One layer planned, compiled and uploaded for one batch size.
     *
     * @param plan the plan (fits)
     * @param kernel the specialised kernel
     * @param words {@code [W][S][32]} packed words
     * @param rowEnds {@code [W][U*G]} int32
     * @param warpUnits {@code [W][U]} int32
     * @param needed {@code [CTAs][H+1]} int32: count, then the columns each CTA reads
     */
    record LayerKernel(Plan plan, CudaModule.CudaKernel kernel, DeviceBuffer words, DeviceBuffer rowEnds,
                       DeviceBuffer warpUnits, DeviceBuffer needed) {
    }

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

        String suffix() {
            return (exchangeOnly ? "_exchangeonly" : "") + (stallCta >= 0 ? "_stall" + stallCta + "at" + stallStep : "");
        }
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
        this.variant = variant;
        this.model = model;
        this.planOptions = options;
        this.limits = limits;
        this.hidden = model.hiddenSize();
        this.gates = model.cell().gates();
        this.ctx = CudaContext.open(0);
        try {
            owned.push(ctx);
            stream = own(ctx.createStream());
            lt = own(CublasLt.get().new Handle(ctx));
            workspace = own(ctx.allocate(WORKSPACE_BYTES, "cuBLASLt workspace"));
            compiler = new KernelCompiler();
            for (Layer layer : model.layers()) {
                wIh.add(uploadFloats(layer.wIh().data(), "W_ih"));
                bIh.add(uploadFloats(layer.bIh().data(), "b_ih"));
                bHh.add(uploadFloats(layer.bHh().data(), "b_hh"));
            }
        } catch (RuntimeException | Error e) {
            close();
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
        return e instanceof CudaException c && (c.code() == 700 || c.code() == 702 || (c.code() >= 714 && c.code() <= 719));
    }

    private static SprnnException lostContext(Throwable e) {
        return new SprnnException(NAME + ": the CUDA context is unusable after a kernel fault in this process (" + e.getMessage()
                + "); restart the process");
    }

    /** Plans every layer of {@code model} for {@code batch} on {@code limits}; the first that does not fit, or null. */
    public static String refusal(RnnModel model, int batch, DeviceLimits limits, PlanOptions options) {
        for (int k = 0; k < model.numLayers(); k++) {
            Plan p = Plan.of(SparseRows.of(model.layers().get(k).wHh()), model.cell(), batch, limits, options);
            if (!p.fits()) {
                return refusal(k, p, batch);
            }
        }
        return null;
    }

    /** Why layer {@code k} is refused under plan {@code p} (which does not fit): the capacity numbers. */
    static String refusal(int k, Plan p, int batch) {
        return "layer " + k + " does not fit on-chip (" + p.spec().exchange().id() + ", batch " + batch + "): " + p.why();
    }

    @Override
    public String name() {
        return NAME;
    }

    /** The plans used for {@code batch} (planning and compiling them if needed), one per layer. */
    public List<Plan> plans(int batch) {
        return kernels(batch).stream().map(LayerKernel::plan).toList();
    }

    /** Registers per thread and local (spill) bytes of layer {@code layer}'s compiled kernel for {@code batch}. */
    public String kernelResources(int batch, int layer) {
        CudaModule.CudaKernel k = kernels(batch).get(layer).kernel();
        return "regs=" + k.attribute(CudaDriver.FUNC_ATTR_NUM_REGS) + " local=" + k.attribute(CudaDriver.FUNC_ATTR_LOCAL_SIZE_BYTES) + "B";
    }

    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        RunInputs.check(model, input, h0, c0);
        Float32Range.requireFp16(h0, NAME); // h travels between steps in fp16
        try (Run r = new Run(input, h0, c0)) {
            r.forward(0, null);
            return Float32Range.requireInRange(Float32Range.requireFp16Exchange(r.result(), NAME));
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

    /** fp16 weights: 3e-3; bf16: 2e-2 (the same bars as the library engines at those precisions). */
    @Override
    public double tolerance() {
        return CudaRnnEngine.tolerance(planOptions.weights() == org.sprnn.sparse.WeightFormat.BF16 ? "bf16" : "fp16");
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

    private List<LayerKernel> kernels(int batch) {
        List<LayerKernel> ks = byBatch.get(batch);
        if (ks != null) {
            return ks;
        }
        if (recurrent.isEmpty()) {
            for (Layer layer : model.layers()) {
                recurrent.add(SparseRows.of(layer.wHh()));
            }
        }
        List<Plan> plans = new ArrayList<>();
        for (int k = 0; k < model.numLayers(); k++) {
            plans.add(Plan.of(recurrent.get(k), model.cell(), batch, limits, planOptions));
        }
        return build(batch, plans);
    }

    /**
     * Uses {@code plans} (one per layer, made by {@link Plan#of} for this engine's model, options and limits, e.g.
     * in parallel by a check) for {@code batch} instead of planning again. Reached through {@link EngineTesting}.
     */
    void usePlans(int batch, List<Plan> plans) {
        if (plans.size() != model.numLayers()) {
            throw new SprnnException(NAME + ": " + plans.size() + " plans for " + model.numLayers() + " layers");
        }
        for (Plan p : plans) {
            if (p.spec().batch() != batch || p.spec().hidden() != hidden || p.spec().cell() != model.cell()) {
                throw new SprnnException(NAME + ": plan " + p.spec().name() + " is not for batch " + batch + " of this model");
            }
        }
        if (!byBatch.containsKey(batch)) {
            build(batch, plans);
        }
    }

    /** The name a spec's kernel is compiled (and cached) under by an engine of {@code variant}. */
    static String kernelName(KernelSpec s, Variant variant) {
        return s.name() + variant.suffix();
    }

    /** The defines a spec's kernel is compiled with by an engine of {@code variant}. */
    static Map<String, String> kernelDefines(KernelSpec s, Variant variant) {
        Map<String, String> defines = new java.util.LinkedHashMap<>(s.defines());
        if (variant.exchangeOnly()) {
            defines.put("SPRNN_EXCHANGE_ONLY", "1");
        }
        if (variant.stallCta() >= 0) {
            defines.put("SPRNN_STALL_CTA", Integer.toString(variant.stallCta()));
            defines.put("SPRNN_STALL_STEP", Integer.toString(variant.stallStep()));
        }
        return defines;
    }

    private List<LayerKernel> build(int batch, List<Plan> plans) {
        List<LayerKernel> ks = new ArrayList<>();
        for (int k = 0; k < model.numLayers(); k++) {
            Plan p = plans.get(k);
            if (!p.fits()) {
                throw new SprnnException(NAME + ": " + refusal(k, p, batch));
            }
            KernelSpec s = p.spec();
            String kernelName = kernelName(s, variant);
            byte[] cubin = compiler.compile(SOURCE, kernelName, kernelDefines(s, variant), "sm_" + s.smArch());
            CudaModule module = own(ctx.loadModule(cubin, kernelName));
            CudaModule.CudaKernel kernel = module.kernel("sparse_persistent_rnn");
            kernel.setMaxDynamicSharedMemory((int) s.sharedMemoryBytes());
            if (s.exchange() == ExchangeMode.CLUSTER && s.ctas() > 8) {
                kernel.setAttribute(CudaDriver.FUNC_ATTR_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1);
            }
            if (s.stageCluster() > 1) { // the cooperative launch must hold every staging cluster at once
                int resident = kernel.maxActiveClusters(s.ctas(), s.threadsPerCta(), (int) s.sharedMemoryBytes());
                if ((long) resident * s.stageCluster() < s.ctas()) {
                    throw new SprnnException(NAME + ": layer " + k + " stages h in clusters of " + s.stageCluster() + " on " + s.ctas()
                            + " CTAs, but " + ctx.info().name() + " holds only " + resident + " such clusters at once");
                }
            }
            PackedLayer l = p.layout();
            ks.add(new LayerKernel(p, kernel, uploadInts(l.words(), "packed W_hh words"), uploadInts(l.rowEnds(), "row ends"),
                    uploadInts(l.warpUnits(), "warp units"), uploadInts(l.neededColumns(s.ctas(), s.warpsPerCta()), "needed columns")));
        }
        byBatch.put(batch, ks);
        return ks;
    }

    /** The buffers of one run (T, B) and the layer-by-layer forward pass. */
    private final class Run implements AutoCloseable {
        private final Deque<AutoCloseable> res = new ArrayDeque<>();
        private final int steps;
        private final int batch;
        private final List<LayerKernel> ks;
        private final DeviceBuffer x;        // [T][B][I] fp32: the sequence
        private final DeviceBuffer xproj;    // [T][B][G*H] fp32: W_ih x_t + b_ih of the current layer
        private final DeviceBuffer[] seq;    // two [T][B][H] fp32: layer outputs, alternating
        private final DeviceBuffer h0s;      // [L][B][H] fp32
        private final DeviceBuffer c0s;      // [L][B][H] fp32
        private final DeviceBuffer hN;       // [L][B][H] fp32
        private final DeviceBuffer cN;       // [L][B][H] fp32
        private final DeviceBuffer exchange; // timestamps: fp16 [min(T, steps per launch)][H][PB], emptied per launch; barrier: fp16 [2][pad16(H*PB*2) B]
        private final DeviceBuffer counter;  // grid barrier: arrivals (word 0) or one flag word per CTA (u32 [1024])
        private final DeviceBuffer fault;    // int32 [4]
        private final DeviceBuffer[] carry;  // two [2][B][H] fp32 (h then c) between launches of one layer, or null
        private final List<StepChunks.Chunk> chunks;
        private int lastLayerSeq;

        Run(Tensor input, Tensor h0, Tensor c0) {
            steps = input.dim(0);
            batch = input.dim(1);
            ks = kernels(batch);
            chunks = StepChunks.of(steps, variant.stepsPerLaunch());
            int layers = model.numLayers();
            long tb = (long) steps * batch;
            try {
                x = alloc(tb * input.dim(2) * 4, "input sequence");
                upload(x, input.data());
                xproj = alloc(tb * gates * hidden * 4, "input projection");
                seq = new DeviceBuffer[] {alloc(tb * hidden * 4, "layer output"), layers > 1 ? alloc(tb * hidden * 4, "layer output") : null};
                long state = (long) layers * batch * hidden * 4;
                h0s = alloc(state, "h0");
                c0s = alloc(state, "c0");
                hN = alloc(state, "h_n");
                cN = alloc(state, "c_n");
                upload(h0s, h0 == null ? new double[layers * batch * hidden] : h0.data());
                upload(c0s, c0 == null ? new double[layers * batch * hidden] : c0.data());
                long ex = 16;
                int launchSteps = StepChunks.longest(chunks);
                for (LayerKernel k : ks) {
                    KernelSpec s = k.plan().spec();
                    ex = Math.max(ex, s.exchange() == ExchangeMode.TIMESTAMPS ? (long) launchSteps * hidden * s.rowBytes() // a slot per step
                            : 2L * ((hidden * (long) s.rowBytes() + 15) & ~15L)); // two halves, each 16-byte aligned
                }
                exchange = alloc(ex, "h exchange");
                exchange.fill((byte) 0, stream);
                counter = alloc(4096, "grid barrier counter or per-CTA flags");
                fault = alloc(16, "fault record");
                carry = chunks.size() > 1 ? new DeviceBuffer[] {alloc(2L * batch * hidden * 4, "h/c carry"),
                        alloc(2L * batch * hidden * 4, "h/c carry")} : null;
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private DeviceBuffer alloc(long bytes, String what) {
            DeviceBuffer b = ctx.allocate(Math.max(16, bytes), what);
            res.push(b);
            return b;
        }

        /**
         * Runs every layer; with {@code timed != null}, layer 0 only, {@code warmups} untimed launches then one
         * timed launch per element of {@code timed} (ms).
         */
        void forward(int warmups, double[] timed) {
            long in = x.ptr();
            int inputSize = model.layers().get(0).inputSize();
            int layers = timed == null ? model.numLayers() : 1;
            for (int k = 0; k < layers; k++) {
                LayerKernel lk = ks.get(k);
                projection(k, inputSize, steps * batch).run(stream, wIh.get(k).ptr(), in, xproj.ptr(), xproj.ptr());
                DeviceBuffer out = seq[k % 2];
                if (timed == null) {
                    launch(k, lk, out);
                } else {
                    for (int w = 0; w < warmups; w++) {
                        launch(k, lk, out);
                    }
                    // LAUNCHES_PER_SAMPLE launches back to back between two events: the host's launch overhead
                    // (FFM marshalling, the driver) overlaps the previous launch instead of sitting inside the timing
                    try (CudaEvent start = ctx.createEvent(); CudaEvent stop = ctx.createEvent()) {
                        for (int i = 0; i < timed.length; i++) {
                            start.record(stream);
                            for (int l = 0; l < LAUNCHES_PER_SAMPLE; l++) {
                                counter.fill((byte) 0, stream);
                                launchOnly(lk, k, out);
                            }
                            stop.record(stream);
                            stop.synchronize();
                            timed[i] = stop.millisSince(start) / LAUNCHES_PER_SAMPLE;
                            checkFault(k, chunks.size() == 1 ? chunks.get(0) : new StepChunks.Chunk(0, steps)); // step within its launch
                        }
                    }
                }
                in = out.ptr();
                inputSize = hidden;
                lastLayerSeq = k % 2;
            }
        }

        /** Runs layer {@code k}, every launch of it checked for a fault record. */
        private void launch(int k, LayerKernel lk, DeviceBuffer out) {
            out.fill((byte) 0xFF, stream); // NaN: unwritten outputs show
            for (int i = 0; i < chunks.size(); i++) {
                counter.fill((byte) 0, stream);
                fault.fill((byte) 0, stream);
                launchChunk(lk, k, out, i);
                try {
                    stream.synchronize();
                } catch (SprnnException e) {
                    throw new SprnnException(NAME + ": layer " + k + ": the kernel failed at steps " + chunks.get(i).first() + ".."
                            + (chunks.get(i).first() + chunks.get(i).steps() - 1) + " (" + e.getMessage() + ")"
                            + (contextLost(e) ? "; the CUDA context is lost for this process: restart it" : ""));
                }
                checkFault(k, chunks.get(i));
            }
        }

        /** Every launch of layer {@code k} back to back, unchecked (the timed path). */
        private void launchOnly(LayerKernel lk, int k, DeviceBuffer out) {
            for (int i = 0; i < chunks.size(); i++) {
                if (i > 0) {
                    counter.fill((byte) 0, stream);
                }
                launchChunk(lk, k, out, i);
            }
        }

        /** One launch: steps {@code [first, first + steps)} of layer {@code k}, state from the previous launch's. */
        private void launchChunk(LayerKernel lk, int k, DeviceBuffer out, int i) {
            KernelSpec s = lk.plan().spec();
            StepChunks.Chunk c = chunks.get(i);
            long state = (long) k * batch * hidden * 4;
            long bh = (long) batch * hidden * 4;
            long hIn = i == 0 ? h0s.ptr(state) : carry[(i - 1) & 1].ptr(0);
            long cIn = i == 0 ? c0s.ptr(state) : carry[(i - 1) & 1].ptr(bh);
            boolean last = i == chunks.size() - 1;
            long hOut = last ? hN.ptr(state) : carry[i & 1].ptr(0);
            long cOut = last ? cN.ptr(state) : carry[i & 1].ptr(bh);
            long xOff = (long) c.first() * batch * gates * hidden * 4;
            long outOff = (long) c.first() * batch * hidden * 4;
            Object[] args = {lk.words(), lk.rowEnds(), lk.warpUnits(), lk.needed(), xproj.ptr(xOff), bHh.get(k), hIn, cIn,
                    out.ptr(outOff), hOut, cOut, exchange, counter, fault, c.steps(), variant.spinTimeoutNs()};
            int smem = (int) s.sharedMemoryBytes();
            if (s.exchange() == ExchangeMode.TIMESTAMPS) {
                exchange.fill((byte) 0xFF, stream); // every slot empty (all ones) before the launch writes its steps
            }
            if (s.exchange() == ExchangeMode.CLUSTER) {
                lk.kernel().launch(stream, s.ctas(), s.threadsPerCta(), smem, args); // cluster dims are compiled in
            } else {
                lk.kernel().launchCooperative(stream, s.ctas(), s.threadsPerCta(), smem, args);
            }
        }

        private void checkFault(int k, StepChunks.Chunk c) {
            int[] f = downloadInts(fault, 4);
            if (f[0] != 0) {
                String kind = switch (f[0]) {
                    case 1 -> "a timestamped h value (column " + f[3] + ") did not arrive";
                    case 2 -> "the grid barrier did not complete (counter " + f[3] + ")";
                    case 3 -> "launched with too little shared memory (" + f[3] + " B)";
                    case 4 -> "the cluster peers' blocks of h did not all arrive";
                    case 5 -> "a cluster peer did not reach the exit barrier";
                    default -> "fault kind " + f[0];
                };
                throw new SprnnException(String.format(Locale.ROOT, "%s: layer %d: kernel gave up at step %d in CTA %d: %s within %s s",
                        NAME, k, c.first() + f[2], f[1], kind, formatSeconds(variant.spinTimeoutNs() * (f[0] == 5 ? 2 : 1))));
            }
        }

        RnnOutput result() {
            int layers = model.numLayers();
            float[] out = downloadFloats(seq[lastLayerSeq], (long) steps * batch * hidden);
            float[] h = downloadFloats(hN, (long) layers * batch * hidden);
            Tensor c = null;
            if (model.cell().hasCellState()) {
                c = Tensor.ofFloats(downloadFloats(cN, (long) layers * batch * hidden), layers, batch, hidden);
            }
            return new RnnOutput(Tensor.ofFloats(out, steps, batch, hidden), Tensor.ofFloats(h, layers, batch, hidden), c);
        }

        @Override
        public void close() {
            while (!res.isEmpty()) {
                try {
                    res.pop().close();
                } catch (Exception e) {
                    // keep closing the rest
                }
            }
        }
    }

    private void upload(DeviceBuffer b, double[] v) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(4L, 4L * v.length), 16);
            for (int i = 0; i < v.length; i++) {
                m.setAtIndex(JAVA_FLOAT, i, (float) v[i]);
            }
            if (v.length > 0) {
                b.upload(m.asSlice(0, 4L * v.length), 0, stream);
            }
        }
    }

    private DeviceBuffer uploadFloats(double[] v, String what) {
        DeviceBuffer b = own(ctx.allocate(Math.max(16L, 4L * v.length), what));
        upload(b, v);
        return b;
    }

    private DeviceBuffer uploadInts(int[] v, String what) {
        DeviceBuffer b = own(ctx.allocate(Math.max(16L, 4L * v.length), what));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(4L, 4L * v.length), 16);
            MemorySegment.copy(v, 0, m, JAVA_INT, 0, v.length);
            if (v.length > 0) {
                b.upload(m.asSlice(0, 4L * v.length), 0, stream);
            }
        }
        return b;
    }

    private float[] downloadFloats(DeviceBuffer b, long n) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4L * n, 16);
            b.download(m, 0, stream);
            return m.toArray(JAVA_FLOAT);
        }
    }

    private int[] downloadInts(DeviceBuffer b, int n) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4L * n, 16);
            b.download(m, 0, stream);
            return m.toArray(JAVA_INT);
        }
    }

    /** The input projection of layer {@code k} for {@code tb = T*B} columns: built once, kept until {@link #close()}. */
    private GemmPlan projection(int k, int inputSize, int tb) {
        long key = ((long) k << 32) | tb;
        GemmPlan p = projections.get(key);
        if (p == null) {
            int gh = gates * hidden;
            p = own(new GemmPlan(ctx, lt, new GemmPlan.Spec(gh, tb, inputSize, true, inputSize, inputSize, gh,
                    CublasLt.CUDA_R_32F, CublasLt.CUDA_R_32F, CublasLt.EPILOGUE_BIAS, 0f, 16), bIh.get(k).ptr(), workspace, 1));
            projections.put(key, p);
        }
        return p;
    }

    /** Input projection plans built so far (one per layer and T*B run); reached through {@link EngineTesting}. */
    int projectionPlans() {
        return projections.size();
    }

    private static String formatSeconds(long ns) {
        return new java.math.BigDecimal(ns).movePointLeft(9).stripTrailingZeros().toPlainString();
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    /**
     * Frees every device resource (modules, plans, buffers, stream, context reference); idempotent.
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
        closed = true;
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                // keep closing the rest
            }
        }
    }
}

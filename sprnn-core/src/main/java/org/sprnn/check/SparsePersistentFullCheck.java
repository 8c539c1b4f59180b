package org.sprnn.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.sprnn.SprnnException;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.CudaRnnEngine;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.engine.cuda.SparsePersistentEngine.Variant;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npz;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.SparseRows;
import org.sprnn.sparse.WeightFormat;

/**
 * {@code sprnn kernel-check --full}: the whole correctness matrix issue 4 asks of {@code cuda-sparse-persistent} on
 * a real GPU, in one command that fits in a few minutes. Against {@code cpu-reference} (float64), outputs poisoned,
 * fresh random models and inputs, relative error ≤ 3e-3 with fp16 weights (2e-2 with bf16):
 * <ul>
 *   <li>matrix: every cell x hidden {64, 300, 1152, 2304, 4096} x batch {1, 3, 4, 8, 16} x density {1, 10, 30,
 *       100 %} x T {1, 7, 256}, default (auto) options: what fits must pass, what does not must be refused with the
 *       capacity numbers (checked in the text);</li>
 *   <li>ablation: every exchange x wide loads x bank-aware x balance (24 combinations) on representative shapes of
 *       every cell, the 24 sharing one model, input and reference per shape;</li>
 *   <li>run-time row ends: every cell x exchange at hidden 1152 with the general slot loop asked for. The synthetic
 *       rows are all alike, so full warps of more than one row get their row ends compiled in elsewhere
 *       ({@link org.sprnn.plan.KernelSpec#rowSlots}); at 1152 that is the cluster exchange's partition, whose jobs here
 *       are the general loop's counterpart (the other exchanges plan one unit a warp or warps without a unit, the
 *       matrix's own kernels);</li>
 *   <li>stacked layers (2 and 3, every cell), bf16 weights, hidden sizes not a multiple of 4 (5, 97, 301) with
 *       every exchange, sequences longer than one launch (h/c carried between launches of at most
 *       {@link Variant#stepsPerLaunch} steps),
 *       the PyTorch golden fixtures (when a folder is given);</li>
 *   <li>faults: per exchange, a CTA made to stop (compiled-in stall) must make the run throw a one-line error naming
 *       layer, step and CTA, again on a second run, and a normal engine must still pass afterwards.</li>
 * </ul>
 * A drawn model whose float64 reference leaves fp16's range (a ReLU recurrence that explodes, e.g. one large weight
 * per row at hidden 64 and density 1%) cannot be held by the kernel's fp16 activations by design; such a shape is
 * checked with that model's W_hh halved until its reference stays in range, and the row says so.
 * Fast by construction: every model is planned once per batch in parallel (refusals decided before any reference is
 * computed), every distinct kernel is compiled in parallel into the cubin cache first (NVRTC per program and the
 * cache's write-then-rename are thread-safe), references are computed in parallel in GPU order while one thread runs
 * the GPU, and each engine reuses the check's plans ({@link EngineTesting#usePlans}).
 */
public final class SparsePersistentFullCheck {
    static final double FP16_TOLERANCE = 3e-3;
    static final int INPUT = 24;
    static final int[] HIDDEN = {64, 300, 1152, 2304, 4096};
    static final int[] BATCH = {1, 3, 4, 8, 16};
    static final double[] DENSITY = {0.01, 0.1, 0.3, 1.0};
    static final int[] STEPS = {1, 7, 256};
    /** Fault checks: the stalled CTA's spin bound and where it stops. */
    static final long FAULT_TIMEOUT_NS = 50_000_000L;
    static final int STALL_CTA = 0;
    static final int STALL_STEP = 5;
    /** The largest finite fp16 value: the kernel's activations (h exchanged between steps) are fp16. */
    static final double FP16_MAX = 65504;
    private static final Pattern CAPACITY = Pattern.compile("capacity \\d+ words");
    private static final Pattern FAULT_LINE = Pattern.compile("layer (\\d+): kernel gave up at step (\\d+) in CTA (\\d+): ");

    private SparsePersistentFullCheck() {
    }

    /** A model: synthetic (cell, hidden, layers, density, seed) or a fixture file. */
    record ModelKey(CellType cell, int hidden, int layers, double density, long seed, String fixture) {
        @Override
        public String toString() {
            return fixture != null ? fixture
                    : String.format(Locale.ROOT, "%s H=%d L=%d d=%.2f", cell.id(), hidden, layers, density);
        }
    }

    /** One run: a model, batch and T, with given or seeded inputs. */
    record Shape(ModelKey model, int batch, int steps) {
    }

    /** One engine (model, plan options, variant) and the shapes it runs, in order. */
    record Job(String section, ModelKey model, PlanOptions options, Variant variant, List<Shape> shapes) {
        String optionsLabel() {
            return SparsePersistentSelfTest.optionsLabel(options)
                    + (variant.stepsPerLaunch() != SparsePersistentEngine.STEPS_PER_LAUNCH ? " " + variant.stepsPerLaunch() + "/launch" : "");
        }
    }

    /** A batch's plans (one per layer) or why it is refused. */
    record Planned(List<Plan> plans, String refusal) {
    }

    /** Inputs and the float64 reference of one shape. */
    record Reference(Tensor x, Tensor h0, Tensor c0, RnnOutput want) {
    }

    /** One row of the report. */
    record Row(String section, String cell, String label, String kernel, double error, String result, String note) {
        boolean passed() {
            return result.equals("PASS");
        }

        boolean refused() {
            return result.equals("REFUSED");
        }
    }

    /** The jobs of the matrix, ablation, stacked, bf16 and chunk sections (faults and fixtures run apart). */
    static List<Job> jobs(long seed) {
        List<Job> jobs = new ArrayList<>();
        Variant normal = Variant.NORMAL;
        PlanOptions auto = PlanOptions.defaults();
        for (CellType c : CellType.values()) {
            for (int h : HIDDEN) {
                for (double d : DENSITY) {
                    ModelKey m = synthetic(c, h, 1, d, seed);
                    List<Shape> shapes = new ArrayList<>();
                    for (int b : BATCH) {
                        for (int t : STEPS) {
                            shapes.add(new Shape(m, b, t));
                        }
                    }
                    jobs.add(new Job("matrix", m, auto, normal, shapes));
                }
            }
        }
        // the 24 switch combinations on representative shapes, one model/input/reference per shape
        int[][] ablationShapes = {{300, 3, 64}, {1152, 4, 256}};
        double[] ablationDensity = {0.1, 0.1};
        for (CellType c : CellType.values()) {
            for (int i = 0; i < ablationShapes.length; i++) {
                ModelKey m = synthetic(c, ablationShapes[i][0], 1, ablationDensity[i], seed);
                Shape s = new Shape(m, ablationShapes[i][1], ablationShapes[i][2]);
                for (ExchangeMode e : ExchangeMode.values()) {
                    for (int bits = 0; bits < 8; bits++) {
                        PlanOptions o = new PlanOptions(e, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, 0, 0, WeightFormat.FP16);
                        jobs.add(new Job("ablation", m, o, normal, List.of(s)));
                    }
                }
            }
        }
        // the general slot loop (row ends tested at run time, as for pruned rows of unequal length) on layers whose rows
        // are all alike: with the cluster exchange the counterpart of the compiled row ends (SparsePersistentFullCheckTest
        // checks that those plans compile them in); the other exchanges plan the matrix's own kernels here
        for (CellType c : CellType.values()) {
            for (ExchangeMode e : ExchangeMode.values()) {
                ModelKey m = synthetic(c, 1152, 1, 0.1, seed);
                jobs.add(new Job("run-time row ends", m, auto.withExchange(e).withCompiledRowEnds(false), normal,
                        List.of(new Shape(m, 4, 256), new Shape(m, 3, 7))));
            }
        }
        for (CellType c : CellType.values()) {
            ModelKey two = synthetic(c, 1152, 2, 0.1, seed);
            jobs.add(new Job("stacked", two, auto, normal, List.of(new Shape(two, 4, 256), new Shape(two, 3, 7))));
            ModelKey three = synthetic(c, 300, 3, 0.3, seed);
            jobs.add(new Job("stacked", three, auto, normal, List.of(new Shape(three, 3, 64), new Shape(three, 1, 7))));
        }
        PlanOptions bf16 = new PlanOptions(null, true, true, true, 0, 0, WeightFormat.BF16);
        for (CellType c : CellType.values()) {
            for (int[] hb : new int[][] {{300, 3, 64}, {1152, 4, 256}, {2304, 8, 7}}) {
                ModelKey m = synthetic(c, hb[0], 1, hb[0] == 2304 ? 0.01 : 0.1, seed);
                jobs.add(new Job("bf16", m, bf16, normal, List.of(new Shape(m, hb[1], hb[2]))));
            }
        }
        // hidden sizes that are not multiples of 4 or 8 (buffer alignment), every exchange, batches 1 to 5
        for (CellType c : CellType.values()) {
            for (int h : new int[] {5, 97, 301}) {
                ModelKey m = synthetic(c, h, 1, h == 5 ? 0.6 : 0.1, seed);
                for (ExchangeMode e : ExchangeMode.values()) {
                    jobs.add(new Job("odd", m, auto.withExchange(e), normal,
                            List.of(new Shape(m, 1, 64), new Shape(m, 2, 7), new Shape(m, 4, 64), new Shape(m, 5, 7))));
                }
            }
        }
        // sequences longer than one launch: every exchange at 16 steps per launch, and the default 256 at T 600
        for (CellType c : CellType.values()) {
            ModelKey m = synthetic(c, 300, 1, 0.1, seed);
            for (ExchangeMode e : ExchangeMode.values()) {
                jobs.add(new Job("chunks", m, auto.withExchange(e),
                        normal.withStepsPerLaunch(16),
                        List.of(new Shape(m, 3, 100), new Shape(m, 4, 16))));
            }
            ModelKey big = synthetic(c, 1152, 1, 0.1, seed);
            jobs.add(new Job("chunks", big, auto, normal, List.of(new Shape(big, 4, 600))));
        }
        return jobs;
    }

    private static ModelKey synthetic(CellType c, int h, int layers, double d, long seed) {
        String id = String.format(Locale.ROOT, "%s/%d/%d/%.2f", c.id(), h, layers, d);
        return new ModelKey(c, h, layers, d, seed * 1_000_003L + id.hashCode(), null);
    }

    /** State of one check: memoized models, plans and references, the thread pool, the report. */
    private static final class State implements AutoCloseable {
        final DeviceLimits limits;
        final ExecutorService pool;
        // models and their sparse rows are made by the first thread that asks (inline, never queued behind the
        // tasks waiting for them); plans and references are pool tasks
        final Map<ModelKey, FutureTask<RnnModel>> models = new ConcurrentHashMap<>();
        final Map<ModelKey, FutureTask<List<SparseRows>>> rows = new ConcurrentHashMap<>();
        final Map<String, Future<Planned>> plans = new ConcurrentHashMap<>();
        final Map<Shape, Future<Reference>> refs = new ConcurrentHashMap<>();
        final Map<Shape, Integer> shapeUses = new ConcurrentHashMap<>();   // runs left per shape: its reference is dropped at 0
        final Map<ModelKey, Integer> modelUses = new ConcurrentHashMap<>(); // jobs left per model: dropped at 0
        final List<Row> rows_ = new ArrayList<>();
        final Map<String, String> spills = new TreeMap<>(); // kernel name → registers and local bytes, where local > 0
        final java.util.Set<String> kernelsRun = new java.util.HashSet<>();
        final PrintStream out;
        final PrintStream progress;
        final AtomicLong compileNanos = new AtomicLong();
        final Map<String, String> compileErrors = new ConcurrentHashMap<>(); // kernel → NVRTC's error (its rows fail)

        State(DeviceLimits limits, PrintStream out, PrintStream progress) {
            this.limits = limits;
            this.out = out;
            this.progress = progress;
            int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
            pool = Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "kernel-check-worker");
                t.setDaemon(true);
                return t;
            });
        }

        Future<RnnModel> model(ModelKey k) {
            return inline(models, k, () -> SyntheticModels.random(k.cell(), INPUT, k.hidden(), k.layers(), k.density(), 1.0, k.seed()));
        }

        Future<List<SparseRows>> rows(ModelKey k) {
            return inline(rows, k, () -> get(model(k)).layers().stream().map(l -> SparseRows.of(l.wHh())).toList());
        }

        /** The memoized value of {@code key}, computed by the calling thread if no thread has started it. */
        static <K, V> Future<V> inline(Map<K, FutureTask<V>> memo, K key, java.util.concurrent.Callable<V> make) {
            FutureTask<V> mine = new FutureTask<>(make);
            FutureTask<V> f = memo.putIfAbsent(key, mine);
            if (f == null) {
                mine.run();
                return mine;
            }
            return f;
        }

        static String planKey(Job j, int batch) {
            return j.model() + "|" + j.options() + "|" + batch;
        }

        Future<Planned> plan(Job j, int batch) {
            return plans.computeIfAbsent(planKey(j, batch), key -> pool.submit(() -> {
                try {
                    List<SparseRows> rs = get(rows(j.model()));
                    List<Plan> ps = new ArrayList<>();
                    for (int k = 0; k < rs.size(); k++) {
                        Plan p = Plan.of(rs.get(k), j.model().cell(), batch, limits, j.options());
                        if (!p.fits()) {
                            return new Planned(null, EngineTesting.refusal(k, p, batch));
                        }
                        ps.add(p);
                    }
                    return new Planned(ps, null);
                } catch (RuntimeException e) { // reported as the row's failure (no capacity numbers), not fatal
                    return new Planned(null, "planning failed: " + oneLine(e));
                }
            }));
        }

        Future<Reference> reference(Shape s) {
            return refs.computeIfAbsent(s, key -> pool.submit(() -> {
                RnnModel m = get(model(key.model()));
                long seed = key.model().seed() * 31 + key.batch() * 1009L + key.steps();
                int layers = m.numLayers(), h = m.hiddenSize();
                Tensor x = SyntheticModels.input(key.steps(), key.batch(), m.inputSize(), seed + 1);
                Tensor h0 = SyntheticModels.state(layers, key.batch(), h, seed + 2);
                Tensor c0 = m.cell().hasCellState() ? SyntheticModels.state(layers, key.batch(), h, seed + 3) : null;
                return new Reference(x, h0, c0, new CpuReferenceEngine(m).run(x, h0, c0));
            }));
        }

        @Override
        public void close() {
            pool.shutdownNow();
        }
    }

    static <T> T get(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SprnnException("kernel-check: interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new SprnnException("kernel-check: " + c);
        }
    }

    /**
     * Runs the full check on GPU 0; prints the markdown table and the summary to {@code out}, phase timings to
     * {@code progress}; returns the number of failures.
     *
     * @param fixtures folder of the golden fixtures ({@code manifest.json}), or null to skip them
     */
    public static int run(long seed, Path fixtures, PrintStream out, PrintStream progress) {
        DeviceLimits limits = GpuStatus.deviceLimits().orElseThrow(() -> new SprnnException("kernel-check: no usable GPU: "
                + GpuStatus.problem().orElse("unknown")));
        long t0 = System.nanoTime();
        List<Job> jobs = jobs(seed);
        try (State st = new State(limits, out, progress)) {
            // 1. plan every (job, batch) in parallel; refusals are known before any reference is computed
            for (Job j : jobs) {
                for (Shape s : j.shapes()) {
                    st.plan(j, s.batch());
                }
            }
            Map<String, Object[]> kernels = new TreeMap<>(); // name → {kernel, arch}
            int planned = 0, refused = 0;
            for (Job j : jobs) {
                for (Shape s : j.shapes()) {
                    Planned p = get(st.plan(j, s.batch()));
                    if (p.refusal() != null) {
                        refused++;
                        continue;
                    }
                    planned++;
                    for (Plan pl : p.plans()) {
                        EngineTesting.KernelBuild k = EngineTesting.sparsePersistentKernel(pl.spec(), j.variant());
                        kernels.putIfAbsent(k.name(), new Object[] {k, "sm_" + pl.spec().smArch()});
                    }
                }
            }
            for (CellType c : CellType.values()) { // the fault checks' kernels, compiled with the rest
                for (ExchangeMode e : ExchangeMode.values()) {
                    Job j = faultJob(c, e, seed);
                    st.plan(new Job("faults", j.model(), j.options(), Variant.NORMAL, j.shapes()), 3);
                    Planned p = get(st.plan(j, 3));
                    if (p.plans() != null) {
                        EngineTesting.KernelBuild k = EngineTesting.sparsePersistentKernel(p.plans().get(0).spec(), j.variant());
                        kernels.putIfAbsent(k.name(), new Object[] {k, "sm_" + p.plans().get(0).spec().smArch()});
                    }
                }
            }
            st.rows.clear(); // every plan is made: the sparse rows are no longer needed
            for (Job j : jobs) {
                st.modelUses.merge(j.model(), 1, Integer::sum);
                for (Shape s : j.shapes()) {
                    st.shapeUses.merge(s, 1, Integer::sum);
                }
            }
            long t1 = System.nanoTime();
            progress.printf(Locale.ROOT, "kernel-check --full: %d jobs, %d runs planned to fit, %d refused; planning %.1f s%n",
                    jobs.size(), planned, refused, (t1 - t0) / 1e9);
            // 2. every distinct kernel compiled in parallel into the cubin cache
            KernelCompiler compiler = new KernelCompiler();
            List<Future<?>> compiles = new ArrayList<>();
            for (Map.Entry<String, Object[]> e : kernels.entrySet()) {
                EngineTesting.KernelBuild k = (EngineTesting.KernelBuild) e.getValue()[0];
                String arch = (String) e.getValue()[1];
                compiles.add(st.pool.submit(() -> {
                    long c0 = System.nanoTime();
                    try {
                        compiler.compile(k.source(), k.name(), k.defines(), arch);
                    } catch (RuntimeException ex) { // the engine compiles it again and its rows fail with the error
                        st.compileErrors.put(e.getKey(), oneLine(ex));
                    }
                    st.compileNanos.addAndGet(System.nanoTime() - c0);
                }));
            }
            // 3. references queued in GPU order behind the compiles
            for (Job j : jobs) {
                for (Shape s : j.shapes()) {
                    if (get(st.plan(j, s.batch())).refusal() == null) {
                        st.reference(s);
                    }
                }
            }
            for (Future<?> f : compiles) {
                get(f);
            }
            long t2 = System.nanoTime();
            progress.printf(Locale.ROOT, "kernel-check --full: %d kernels compiled (or cached) in %.1f s wall, %.1f s summed over threads; %d failed to compile%n",
                    kernels.size(), (t2 - t1) / 1e9, st.compileNanos.get() / 1e9, st.compileErrors.size());
            out.printf(Locale.ROOT, "%s; seed %d; tolerance %.0e fp16 / %.0e bf16 weights (fp32 accumulation); outputs poisoned%n",
                    limits.name(), seed, FP16_TOLERANCE, CudaRnnEngine.tolerance("bf16"));
            out.println("| section | case | kernel | rel. error | result |");
            out.println("|---|---|---|---|---|");
            // 4. the GPU, one job at a time
            // the odd hidden sizes and the fixtures last: a kernel fault that kills the CUDA context there (as a
            // misaligned address at H = 97 once did) cannot take the rest of the matrix with it
            String lastSection = "";
            for (boolean odd : new boolean[] {false, true}) {
                if (odd) {
                    progress.printf(Locale.ROOT, "kernel-check --full: section faults at %.1f s%n", (System.nanoTime() - t0) / 1e9);
                    for (CellType c : CellType.values()) {
                        for (ExchangeMode e : ExchangeMode.values()) {
                            faultCheck(st, faultJob(c, e, seed));
                        }
                    }
                }
                for (Job j : jobs) {
                    if (j.section().equals("odd") != odd) {
                        continue;
                    }
                    if (!j.section().equals(lastSection)) {
                        progress.printf(Locale.ROOT, "kernel-check --full: section %s at %.1f s%n", j.section(), (System.nanoTime() - t0) / 1e9);
                        lastSection = j.section();
                    }
                    runJob(st, j);
                }
            }
            if (fixtures != null) {
                progress.printf(Locale.ROOT, "kernel-check --full: section fixtures at %.1f s%n", (System.nanoTime() - t0) / 1e9);
                fixtures(st, fixtures);
            }
            return summarize(st, (System.nanoTime() - t0) / 1e9);
        }
    }

    private static Job faultJob(CellType c, ExchangeMode e, long seed) {
        ModelKey m = synthetic(c, 300, 1, 0.1, seed);
        return new Job("faults", m, PlanOptions.defaults().withExchange(e),
                Variant.NORMAL.withStall(STALL_CTA, STALL_STEP, FAULT_TIMEOUT_NS),
                List.of(new Shape(m, 3, 64)));
    }

    private static void add(State st, Row r) {
        st.rows_.add(r);
        st.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s%s |%n", r.section(), r.label(), r.kernel(),
                Double.isNaN(r.error()) ? "-" : String.format(Locale.ROOT, "%.2e", r.error()), r.result(),
                r.note().isEmpty() ? "" : ": " + r.note().replace('|', '/'));
    }

    private static String label(Job j, Shape s) {
        return String.format(Locale.ROOT, "%s B=%d T=%d %s", j.model(), s.batch(), s.steps(), j.optionsLabel());
    }

    /** Refusals are checked for the capacity numbers; fitting shapes run on one engine against their reference. */
    private static void runJob(State st, Job j) {
        RnnModel model = null;
        SparsePersistentEngine engine = null;
        java.util.Set<Integer> runLengths = new java.util.HashSet<>(); // distinct T*B this engine ran
        try {
            for (Shape s : j.shapes()) {
                Planned p = get(st.plan(j, s.batch()));
                String cell = j.model().cell().id();
                if (p.refusal() != null) {
                    boolean ok = CAPACITY.matcher(p.refusal()).find();
                    add(st, new Row(j.section(), cell, label(j, s), "-", Double.NaN, ok ? "REFUSED" : "FAIL",
                            (ok ? "" : "refusal without capacity numbers: ") + p.refusal()));
                    continue;
                }
                String kernel = p.plans().get(0).spec().name();
                try {
                    if (engine == null) {
                        model = get(st.model(j.model()));
                        engine = EngineTesting.sparsePersistent(model, st.limits, j.options(), j.variant());
                    }
                    EngineTesting.usePlans(engine, s.batch(), p.plans());
                    if (st.kernelsRun.add(kernel)) { // the compile report: registers and local (spill) bytes
                        String res = engine.kernelResources(s.batch(), 0);
                        if (!res.endsWith("local=0B")) {
                            st.spills.put(kernel, res);
                        }
                    }
                    Reference ref = get(st.reference(s));
                    double peak = peak(ref.want());
                    if (peak > FP16_MAX) {
                        add(st, damped(st, j, s, model, ref, kernel, peak));
                        continue;
                    }
                    runLengths.add(s.batch() * s.steps());
                    RnnOutput got = engine.run(ref.x(), ref.h0(), ref.c0());
                    double err = error(got, ref.want());
                    double tol = engine.tolerance();
                    add(st, new Row(j.section(), cell, label(j, s), kernel, err, err <= tol ? "PASS" : "FAIL",
                            err <= tol ? "" : String.format(Locale.ROOT, "above %.0e; %s", tol, probe(model, s, ref, j.options().weights(), err))));
                } catch (RuntimeException e) {
                    add(st, new Row(j.section(), cell, label(j, s), kernel, Double.NaN, "FAIL", oneLine(e)));
                }
                if (st.shapeUses.merge(s, -1, Integer::sum) <= 0) {
                    st.refs.remove(s); // its output may be large: kept only while a later job runs the shape
                }
            }
            // the input projection's cuBLASLt plan is built once per (layer, T*B) and kept by the engine
            if (engine != null && EngineTesting.projectionPlans(engine) != runLengths.size() * j.model().layers()) {
                add(st, new Row(j.section(), j.model().cell().id(), j.model() + " " + j.optionsLabel() + ": input projection plans",
                        "-", Double.NaN, "FAIL", EngineTesting.projectionPlans(engine) + " plans cached for " + runLengths.size()
                        + " distinct T*B x " + j.model().layers() + " layers"));
            }
        } finally {
            if (engine != null) {
                engine.close();
            }
            if (st.modelUses.merge(j.model(), -1, Integer::sum) <= 0) {
                st.models.remove(j.model());
            }
        }
    }

    /** Work (nonzeros x batch x steps) up to which a failing row gets a {@link RoundingProbe} (about a second each). */
    static final double PROBE_WORK = 3e8;

    /** For a row above tolerance: whether 16-bit roundings alone reach its error on this model and input. */
    private static String probe(RnnModel model, Shape s, Reference ref, WeightFormat weights, double err) {
        if (Double.isNaN(err)) {
            return "no rounding probe for NaN";
        }
        double nnz = model.layers().stream().mapToDouble(l -> l.wHh().countNonZero()).sum();
        if (nnz * s.batch() * s.steps() > PROBE_WORK) {
            return "no rounding probe (too large for the CPU)";
        }
        return RoundingProbe.explain(model, ref.x(), ref.h0(), ref.c0(), ref.want(), weights, err, 8);
    }

    /** The largest |value| of a run's outputs and final states. */
    static double peak(RnnOutput o) {
        double m = 0;
        for (Tensor t : new Tensor[] {o.output(), o.hN(), o.cN()}) {
            if (t != null) {
                for (double v : t.data()) {
                    m = Math.max(m, Math.abs(v));
                }
            }
        }
        return m;
    }

    /** {@code model} with every layer's W_hh times {@code f}. */
    static RnnModel scaleRecurrent(RnnModel model, double f) {
        List<org.sprnn.model.Layer> ls = new ArrayList<>();
        for (org.sprnn.model.Layer l : model.layers()) {
            double[] w = l.wHh().data().clone();
            for (int i = 0; i < w.length; i++) {
                w[i] *= f;
            }
            ls.add(new org.sprnn.model.Layer(l.wIh(), new Tensor(l.wHh().shape(), w), l.bIh(), l.bHh()));
        }
        return new RnnModel(model.cell(), ls);
    }

    /**
     * A drawn model whose recurrence explodes (a ReLU RNN with a few large weights per row: the float64 reference
     * leaves fp16's range, which the kernel's fp16 activations cannot hold by design) is checked with W_hh halved
     * until its reference stays in range: same sparsity pattern, same kernel, same inputs.
     */
    private static Row damped(State st, Job j, Shape s, RnnModel model, Reference ref, String kernel, double peak) {
        String cell = j.model().cell().id();
        double f = 1;
        RnnModel m = model;
        RnnOutput want = ref.want();
        while (peak(want) > FP16_MAX && f > 1e-3) {
            f /= 2;
            m = scaleRecurrent(model, f);
            want = new CpuReferenceEngine(m).run(ref.x(), ref.h0(), ref.c0());
        }
        String why = String.format(Locale.ROOT, "drawn W_hh explodes (float64 max |h| %.1e > fp16 max): checked with W_hh x %s", peak,
                new java.math.BigDecimal(f).stripTrailingZeros().toPlainString());
        try (SparsePersistentEngine e = EngineTesting.sparsePersistent(m, st.limits, j.options(), j.variant())) {
            double err = error(e.run(ref.x(), ref.h0(), ref.c0()), want);
            double tol = e.tolerance();
            return new Row(j.section(), cell, label(j, s), kernel, err, err <= tol ? "PASS" : "FAIL", why);
        } catch (RuntimeException ex) {
            return new Row(j.section(), cell, label(j, s), kernel, Double.NaN, "FAIL", why + ": " + oneLine(ex));
        }
    }

    static double error(RnnOutput got, RnnOutput want) {
        double err = Math.max(Accuracy.relativeError(got.output(), want.output()), Accuracy.relativeError(got.hN(), want.hN()));
        if (want.cN() != null) {
            err = Math.max(err, Accuracy.relativeError(got.cN(), want.cN()));
        }
        return err;
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return m.replace('\n', ' ');
    }

    /**
     * One exchange's fault path: the stalled kernel must throw a one-line error naming layer 0, the stall's step (or
     * the next, where consumers wait for it) and a CTA, twice (the engine survives its fault), and then a normal
     * engine on the same device must still pass.
     */
    private static void faultCheck(State st, Job j) {
        Shape s = j.shapes().get(0);
        String cell = j.model().cell().id();
        String what = String.format(Locale.ROOT, "%s B=%d T=%d %s, CTA %d stops at step %d, spins bounded at %d ms",
                j.model(), s.batch(), s.steps(), j.options().exchange().id(), STALL_CTA, STALL_STEP, FAULT_TIMEOUT_NS / 1_000_000);
        Planned p = get(st.plan(j, s.batch()));
        if (p.refusal() != null) {
            add(st, new Row("faults", cell, what, "-", Double.NaN, CAPACITY.matcher(p.refusal()).find() ? "REFUSED" : "FAIL", p.refusal()));
            return;
        }
        String kernel = EngineTesting.sparsePersistentKernel(p.plans().get(0).spec(), j.variant()).name();
        RnnModel model = get(st.model(j.model()));
        Reference ref = get(st.reference(s));
        List<String> problems = new ArrayList<>();
        String first = null;
        long t0 = System.nanoTime();
        try (SparsePersistentEngine e = EngineTesting.sparsePersistent(model, st.limits, j.options(), j.variant())) {
            EngineTesting.usePlans(e, s.batch(), p.plans());
            for (int attempt = 0; attempt < 2; attempt++) {
                try {
                    e.run(ref.x(), ref.h0(), ref.c0());
                    problems.add("run " + (attempt + 1) + " did not throw");
                } catch (SprnnException ex) {
                    String m = ex.getMessage();
                    first = first == null ? m : first;
                    Matcher mm = FAULT_LINE.matcher(m);
                    if (m.contains("\n") || !m.startsWith(SparsePersistentEngine.NAME + ": ") || !mm.find()) {
                        problems.add("run " + (attempt + 1) + " message not one line naming layer, step and CTA: " + m);
                    } else {
                        int layer = Integer.parseInt(mm.group(1)), step = Integer.parseInt(mm.group(2));
                        if (layer != 0 || step < STALL_STEP || step > STALL_STEP + 1) {
                            problems.add("run " + (attempt + 1) + " names layer " + layer + " step " + step + ", expected layer 0 step "
                                    + STALL_STEP + " or " + (STALL_STEP + 1) + ": " + m);
                        }
                        if (m.contains("context is lost")) {
                            problems.add("run " + (attempt + 1) + " lost the context: " + m);
                        }
                    }
                }
            }
        } catch (RuntimeException ex) {
            problems.add("engine: " + oneLine(ex));
        }
        double faultSeconds = (System.nanoTime() - t0) / 1e9;
        // the device is still usable: a normal engine, same model and input, passes
        double err = Double.NaN;
        Planned normal = get(st.plan(new Job("faults", j.model(), j.options(), Variant.NORMAL, j.shapes()), s.batch()));
        try (SparsePersistentEngine e = new SparsePersistentEngine(model, st.limits, j.options())) {
            EngineTesting.usePlans(e, s.batch(), normal.plans());
            err = error(e.run(ref.x(), ref.h0(), ref.c0()), ref.want());
            if (!(err <= FP16_TOLERANCE)) {
                problems.add(String.format(Locale.ROOT, "normal run after the fault: error %.2e", err));
            }
        } catch (RuntimeException ex) {
            problems.add("normal run after the fault: " + oneLine(ex));
        }
        add(st, new Row("faults", cell, what, kernel, err, problems.isEmpty() ? "PASS" : "FAIL",
                (problems.isEmpty() ? String.format(Locale.ROOT, "2 faulted runs in %.2f s, threw: ", faultSeconds) + first
                        : String.join("; ", problems))));
    }

    /** The PyTorch golden fixtures (manifest.json of scripts/make_golden.py) through the engine, fp16 weights. */
    private static void fixtures(State st, Path dir) {
        JsonNode manifest;
        try {
            manifest = new ObjectMapper().readTree(Files.readString(dir.resolve("manifest.json")));
        } catch (IOException e) {
            throw new SprnnException("kernel-check: --fixtures " + dir + ": cannot read manifest.json: " + e.getMessage());
        }
        for (JsonNode c : manifest.get("cases")) {
            String name = c.get("name").asText();
            String cell = c.get("cell").asText();
            String label = "golden " + name;
            try {
                JsonNode ov = c.get("cell_override");
                CellType override = ov == null || ov.isNull() ? null : CellType.parse(ov.asText());
                RnnModel model = ModelFiles.load(dir.resolve(c.get("model_file").asText()), override);
                Map<String, Tensor> arrays = Npz.read(dir.resolve(c.get("arrays_file").asText()));
                int batch = arrays.get("input").dim(1);
                String refusal = SparsePersistentEngine.refusal(model, batch, st.limits, PlanOptions.defaults());
                if (refusal != null) {
                    boolean ok = CAPACITY.matcher(refusal).find();
                    add(st, new Row("fixtures", cell, label, "-", Double.NaN, ok ? "REFUSED" : "FAIL", refusal));
                    continue;
                }
                try (SparsePersistentEngine e = new SparsePersistentEngine(model, st.limits, PlanOptions.defaults())) {
                    String kernel = e.plans(batch).get(0).spec().name();
                    RnnOutput got = e.run(arrays.get("input"), arrays.get("h0"), arrays.get("c0"));
                    RnnOutput want = new RnnOutput(arrays.get("output"), arrays.get("h_n"), model.cell().hasCellState() ? arrays.get("c_n") : null);
                    double err = error(got, want);
                    add(st, new Row("fixtures", cell, label, kernel, err, err <= FP16_TOLERANCE ? "PASS" : "FAIL",
                            "against PyTorch " + manifest.path("torch").asText("?")));
                }
            } catch (RuntimeException e) {
                add(st, new Row("fixtures", cell, label, "-", Double.NaN, "FAIL", oneLine(e)));
            }
        }
    }

    private static int summarize(State st, double seconds) {
        int pass = 0, refused = 0, fail = 0;
        Map<String, int[]> bySection = new LinkedHashMap<>();
        Map<String, double[]> worst = new TreeMap<>(); // cell → worst fp16 error, worst bf16 error
        for (Row r : st.rows_) {
            int[] c = bySection.computeIfAbsent(r.section(), k -> new int[3]);
            if (r.passed()) {
                pass++;
                c[0]++;
                double[] w = worst.computeIfAbsent(r.cell(), k -> new double[] {0, 0});
                if (!Double.isNaN(r.error())) {
                    int i = r.section().equals("bf16") ? 1 : 0;
                    w[i] = Math.max(w[i], r.error());
                }
            } else if (r.refused()) {
                refused++;
                c[1]++;
            } else {
                fail++;
                c[2]++;
            }
        }
        st.out.println();
        st.out.println("| section | passed | refused correctly | failed |");
        st.out.println("|---|---|---|---|");
        bySection.forEach((k, v) -> st.out.printf(Locale.ROOT, "| %s | %d | %d | %d |%n", k, v[0], v[1], v[2]));
        st.out.println();
        st.out.println("| cell | worst rel. error, fp16 weights (passed rows) | worst, bf16 weights |");
        st.out.println("|---|---|---|");
        worst.forEach((k, v) -> st.out.printf(Locale.ROOT, "| %s | %.2e | %.2e |%n", k, v[0], v[1]));
        st.out.println();
        st.out.printf(Locale.ROOT, "Kernels with local memory (register spills), %d of %d run (layer 0 of each engine):%n",
                st.spills.size(), st.kernelsRun.size());
        st.spills.forEach((k, v) -> st.out.printf(Locale.ROOT, "- %s: %s%n", k, v));
        st.out.printf(Locale.ROOT, "kernel-check --full: %d passed / %d refused correctly / %d failed (of %d) in %.0f s%n",
                pass, refused, fail, st.rows_.size(), seconds);
        return fail;
    }
}

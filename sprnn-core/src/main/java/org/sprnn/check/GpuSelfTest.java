package org.sprnn.check;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.sprnn.SprnnException;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.CudaRnnEngine;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaEnvironment;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * The whole GPU test matrix, runnable without Maven or JUnit ({@code sprnn selftest}): every GPU
 * engine against {@code cpu-reference} on fresh random models and inputs, for all cells, hidden
 * {33, 256, 1152}, batch {1, 4, 8}, W_hh density {1%, 30%, 100%}, T {1, 50}, fp32 (relative error ≤
 * 1e-5) and fp16 weights (≤ 3e-3), plus 3-layer stacks; device outputs are poisoned (NaN) before every
 * run. Prints one row per case and a summary; {@link #run} returns the number of failures.
 *
 * <p>Some random models are ill-conditioned (hidden 33 at 1% density keeps one weight of σ≈1.7 per row,
 * and tanh/GRU/LSTM dynamics then amplify any perturbation): rounding only the weights, or only h at each
 * step, to fp16 moves even the float64 result by more than 1e-3. For those ({@link #ILL_CONDITIONED}) the
 * tolerance of a reduced precision becomes {@link #RAISE} times that sensitivity, marked {@code *} in the
 * table and listed at the end: no engine with fp16 operands can do better, while a real defect (a wrong
 * index, a missing write) still shows as an error near 1 or NaN.
 *
 * <p>The error is the largest of {@code ‖out−ref‖/‖ref‖} over the output sequence, the final hidden
 * states and (LSTM) the final cell states. The float64 references are computed on all CPU cores while
 * the GPU works through the cases in order.
 */
public final class GpuSelfTest {
    /** Input size of every test model: not equal to any hidden size, so W_ih shape mistakes show. */
    static final int INPUT_SIZE = 48;
    /** Sensitivity (see {@link #reference}) above which a model counts as ill-conditioned: ~3× the typical fp16 value. */
    static final double ILL_CONDITIONED = 1e-3;
    /** An ill-conditioned case's tolerance: this many times its sensitivity (float64 emulation of fp16 engines: ≤ 3.9×). */
    static final double RAISE = 5;

    /**
     * What to run.
     *
     * @param engines    engine names to test ({@code cuda-gemm}, {@code cuda-spmm})
     * @param precisions {@code fp32}, {@code fp16}, {@code bf16}
     * @param quick      a reduced matrix (hidden {33, 256}, batch {1, 4}, T 50 only) for a fast check
     * @param seed       base seed; every case derives its own from it
     */
    public record Options(List<String> engines, List<String> precisions, boolean quick, long seed) {
        public Options {
            engines = List.copyOf(engines);
            precisions = List.copyOf(precisions);
            for (String e : engines) {
                if (!e.equals("cuda-gemm") && !e.equals("cuda-spmm")) {
                    throw new SprnnException("--engines: '" + e + "' is not a GPU engine (cuda-gemm, cuda-spmm)");
                }
            }
            for (String p : precisions) {
                EngineTesting.checkPrecision(p);
            }
        }
    }

    /** One model configuration (the engine and precision vary inside it). */
    record ModelCase(CellType cell, int hidden, double density, int layers, boolean givenStates) {
        /** A seed component that is the same in every JVM (record hashCode of an enum is not). */
        long key() {
            return ((cell.ordinal() * 100_003L + hidden) * 1_000_003L + Math.round(density * 1000)) * 31 + layers
                    + (givenStates ? 7 : 0);
        }
    }

    /** One run. */
    record Shape(int batch, int steps) {
    }

    private GpuSelfTest() {
    }

    static double tolerance(String precision) {
        return CudaRnnEngine.tolerance(precision);
    }

    /**
     * Runs the matrix, printing to {@code out}.
     *
     * @return the number of failed cases (0 = all passed)
     * @throws SprnnException if there is no usable GPU (with the reason): the tests cannot run, which is
     *                        not a pass
     */
    public static int run(Options opt, PrintStream out) {
        CudaEnvironment env = CudaEnvironment.get();
        out.print(env.report());
        String problem = env.problem(opt.engines().contains("cuda-spmm"));
        if (problem != null) {
            throw new SprnnException("selftest cannot run: " + problem);
        }
        // one context retained throughout: engines come and go, the primary context is not torn down between them
        try (CudaContext keep = CudaContext.open(0)) {
            keep.makeCurrent();
            return runMatrix(opt, out, env);
        }
    }

    private static int runMatrix(Options opt, PrintStream out, CudaEnvironment env) {
        out.printf(Locale.ROOT, "seed %d; tolerances fp32 %.0e, fp16 %.0e, bf16 %.0e; outputs poisoned (NaN) before each run%n",
                opt.seed(), tolerance("fp32"), tolerance("fp16"), tolerance("bf16"));
        int failures = 0;
        failures += headerProbe(env, out);
        failures += faultChecks(env, out);
        failures += float32Checks(opt, out);

        List<CellType> cells = List.of(CellType.values());
        List<Integer> hiddens = opt.quick() ? List.of(33, 256) : List.of(33, 256, 1152);
        List<Integer> batches = opt.quick() ? List.of(1, 4) : List.of(1, 4, 8);
        List<Integer> stepsList = opt.quick() ? List.of(50) : List.of(1, 50);
        List<Double> densities = List.of(0.01, 0.3, 1.0);
        List<ModelCase> models = new ArrayList<>();
        for (CellType c : cells) {
            for (int h : hiddens) {
                for (double d : densities) {
                    models.add(new ModelCase(c, h, d, 1, true));
                }
            }
        }
        for (CellType c : cells) {
            models.add(new ModelCase(c, 256, 0.3, 3, false)); // stacked layers, zero initial states
        }
        List<Shape> shapes = new ArrayList<>();
        for (int b : batches) {
            for (int t : stepsList) {
                shapes.add(new Shape(b, t));
            }
        }

        precompileKernels(env, opt, models, batches, out);

        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "selftest-reference");
            t.setDaemon(true);
            return t;
        });
        try {
            // every reference queued up front, consumed in order by the GPU loop
            Map<String, Future<Object[]>> refs = new LinkedHashMap<>();
            for (ModelCase m : models) {
                for (Shape s : m.layers() > 1 ? List.of(new Shape(4, 50)) : shapes) {
                    String key = m + "|" + s;
                    refs.put(key, pool.submit(() -> reference(m, s, opt.seed(), opt.precisions())));
                }
            }
            out.println();
            out.println("| engine | precision | cell | hidden | layers | batch | density | T | rel. error | tolerance | result |");
            out.println("|---|---|---|---|---|---|---|---|---|---|---|");
            int total = 0;
            List<String> failed = new ArrayList<>();
            List<String> raised = new ArrayList<>();
            for (ModelCase m : models) {
                RnnModel model = model(m, opt.seed());
                List<Shape> ms = m.layers() > 1 ? List.of(new Shape(4, 50)) : shapes;
                for (String engineName : opt.engines()) {
                    CudaRnnEngine.Kind kind = engineName.equals("cuda-gemm") ? CudaRnnEngine.Kind.GEMM : CudaRnnEngine.Kind.SPMM;
                    for (String prec : opt.precisions()) {
                        double baseTol = tolerance(prec);
                        CudaRnnEngine engine = null;
                        String buildError = null;
                        try {
                            engine = new CudaRnnEngine(model, kind, prec);
                        } catch (RuntimeException e) {
                            buildError = e.getMessage();
                        }
                        try {
                            for (Shape s : ms) {
                                total++;
                                Object[] ref;
                                try {
                                    ref = refs.get(m + "|" + s).get();
                                } catch (InterruptedException | ExecutionException e) {
                                    throw new IllegalStateException("reference failed: " + e, e);
                                }
                                double err;
                                String note = "";
                                // an ill-conditioned model: rounding only its weights, or only h at every step, to
                                // `prec` already moves the float64 result by `sensitivity`; no engine computing
                                // with `prec` operands can do much better
                                Map<?, ?> sens = (Map<?, ?>) ref[4];
                                double sensitivity = sens.containsKey(prec) ? (Double) sens.get(prec) : 0;
                                double tol = sensitivity > ILL_CONDITIONED ? Math.max(baseTol, RAISE * sensitivity) : baseTol;
                                if (tol > baseTol) {
                                    raised.add(String.format(Locale.ROOT, "%s %s %s h%d b%d d%.2f T%d: rounding weights or h to %s "
                                            + "alone moves the float64 reference by %.2e", engineName, prec, m.cell().id(), m.hidden(),
                                            s.batch(), m.density(), s.steps(), prec, sensitivity));
                                }
                                if (engine == null) {
                                    err = Double.NaN;
                                    note = buildError;
                                } else {
                                    double damping = (Double) ref[5];
                                    try {
                                        RnnOutput got;
                                        if (damping == 1) {
                                            got = engine.run((Tensor) ref[0], (Tensor) ref[1], (Tensor) ref[2]);
                                        } else {
                                            note = String.format(Locale.ROOT, "drawn W_hh explodes past fp16's range: checked with W_hh x %s",
                                                    new java.math.BigDecimal(damping).stripTrailingZeros().toPlainString());
                                            try (CudaRnnEngine damped = new CudaRnnEngine((RnnModel) ref[6], kind, prec)) {
                                                got = damped.run((Tensor) ref[0], (Tensor) ref[1], (Tensor) ref[2]);
                                            }
                                        }
                                        err = error(got, (RnnOutput) ref[3]);
                                    } catch (RuntimeException e) {
                                        err = Double.NaN;
                                        note = e.getMessage();
                                    }
                                }
                                boolean pass = err <= tol; // NaN fails
                                String row = String.format(Locale.ROOT, "| %s | %s | %s | %d | %d | %d | %.2f | %d | %.2e | %s | %s |",
                                        engineName, prec, m.cell().id(), m.hidden(), m.layers(), s.batch(), m.density(),
                                        s.steps(), err, tol > baseTol ? String.format(Locale.ROOT, "%.1e*", tol)
                                                : String.format(Locale.ROOT, "%.0e", tol),
                                        (pass ? "PASS" : "FAIL") + (note.isEmpty() ? "" : ": " + note));
                                out.println(row);
                                if (!pass) {
                                    failed.add(row);
                                }
                            }
                        } finally {
                            if (engine != null) {
                                engine.close();
                            }
                        }
                    }
                }
            }
            failures += failed.size();
            out.println();
            out.printf(Locale.ROOT, "selftest: %d of %d engine cases passed, %d failed%s%n", total - failed.size(), total,
                    failed.size(), failures > failed.size() ? " (and " + (failures - failed.size()) + " probe/fault checks failed)" : "");
            for (String f : failed) {
                out.println("FAILED " + f);
            }
            if (!raised.isEmpty()) {
                out.printf("* tolerance raised to %.0f× the model's rounding sensitivity for %d ill-conditioned case(s):%n", RAISE, raised.size());
                raised.forEach(r -> out.println("  " + r));
            }
            return failures;
        } finally {
            pool.shutdownNow();
        }
    }

    static RnnModel model(ModelCase m, long seed) {
        long s = seed ^ (m.key() * 0x9E3779B97F4A7C15L);
        return SyntheticModels.random(m.cell(), INPUT_SIZE, m.hidden(), m.layers(), m.density(), 1.0, s);
    }

    /**
     * {input, h0, c0, reference output, precision → weight-rounding error} for a case; fresh random input
     * per shape. The weight-rounding error of a precision is how far the float64 reference moves when
     * only W_ih and W_hh are rounded to it: the part of an fp16-weight engine's error that no engine can
     * avoid (large only for ill-conditioned models, e.g. hidden 33 with one weight of σ≈1.7 per row).
     */
    static Object[] reference(ModelCase m, Shape s, long seed, List<String> precisions) {
        RnnModel model = model(m, seed);
        long k = seed ^ (m.key() * 31 + s.batch() * 1009L + s.steps()) * 0xBF58476D1CE4E5B9L;
        Tensor x = SyntheticModels.input(s.steps(), s.batch(), INPUT_SIZE, k);
        Tensor h0 = m.givenStates() ? SyntheticModels.state(m.layers(), s.batch(), m.hidden(), k + 1) : null;
        Tensor c0 = m.givenStates() && m.cell().hasCellState()
                ? SyntheticModels.state(m.layers(), s.batch(), m.hidden(), k + 2) : null;
        RnnOutput ref = new CpuReferenceEngine(model).run(x, h0, c0);
        // a drawn ReLU recurrence that explodes past fp16's range (which a 16-bit engine cannot hold by design) is
        // checked with W_hh halved until its reference stays in range, as kernel-check --full does
        double damping = 1;
        if (precisions.stream().anyMatch(GpuSelfTest::reduced)) {
            while (SparsePersistentFullCheck.peak(ref) > SparsePersistentFullCheck.FP16_MAX && damping > 1e-3) {
                damping /= 2;
                model = SparsePersistentFullCheck.scaleRecurrent(model(m, seed), damping);
                ref = new CpuReferenceEngine(model).run(x, h0, c0);
            }
        }
        Map<String, Double> sensitivity = new LinkedHashMap<>();
        for (String p : precisions) {
            if (reduced(p)) {
                double w = error(new CpuReferenceEngine(roundWeights(model, p)).run(x, h0, c0), ref);
                double h = m.layers() == 1 ? error(roundingHEachStep(model, x, h0, c0, p), ref) : 0;
                sensitivity.put(p, Math.max(w, h));
            }
        }
        return new Object[] {x, h0, c0, ref, sensitivity, damping, model};
    }

    /** Whether {@code precision} (checked) is a 16-bit one, below the fp32 the references are compared in. */
    private static boolean reduced(String precision) {
        EngineTesting.checkPrecision(precision);
        return !precision.equals("fp32");
    }

    /**
     * The float64 reference of a one-layer model with h rounded to {@code precision} before every step (what
     * a product with {@code precision} operands sees); the cell state, if any, stays exact.
     */
    static RnnOutput roundingHEachStep(RnnModel model, Tensor x, Tensor h0, Tensor c0, String precision) {
        int steps = x.dim(0), b = x.dim(1), in = x.dim(2), hid = model.hiddenSize();
        CpuReferenceEngine eng = new CpuReferenceEngine(model);
        Tensor h = h0 != null ? h0 : Tensor.zeros(1, b, hid);
        Tensor c = model.cell().hasCellState() ? (c0 != null ? c0 : Tensor.zeros(1, b, hid)) : null;
        double[] out = new double[steps * b * hid];
        for (int s = 0; s < steps; s++) {
            Tensor xs = new Tensor(new int[] {1, b, in}, java.util.Arrays.copyOfRange(x.data(), s * b * in, (s + 1) * b * in));
            RnnOutput o = eng.run(xs, round(h, precision), c);
            System.arraycopy(o.output().data(), 0, out, s * b * hid, b * hid);
            h = o.hN();
            c = o.cN();
        }
        return new RnnOutput(new Tensor(new int[] {steps, b, hid}, out), h, c);
    }

    /** The model with W_ih and W_hh rounded to {@code precision} (biases unchanged, as the engines keep them fp32). */
    static RnnModel roundWeights(RnnModel model, String precision) {
        List<org.sprnn.model.Layer> out = new ArrayList<>();
        for (org.sprnn.model.Layer l : model.layers()) {
            out.add(new org.sprnn.model.Layer(round(l.wIh(), precision), round(l.wHh(), precision), l.bIh(), l.bHh()));
        }
        return new RnnModel(model.cell(), out);
    }

    /** {@code w} stored as the GPU engines store a {@code precision} operand and read back. */
    private static Tensor round(Tensor w, String precision) {
        return new Tensor(w.shape(), EngineTesting.rounded(precision, w.data()));
    }

    /** The largest relative error over output, final h and (LSTM) final c. */
    static double error(RnnOutput got, RnnOutput ref) {
        double e = Math.max(Accuracy.relativeError(got.output(), ref.output()), Accuracy.relativeError(got.hN(), ref.hN()));
        if (ref.cN() != null) {
            e = Math.max(e, got.cN() == null ? Double.NaN : Accuracy.relativeError(got.cN(), ref.cN()));
        }
        return Double.isNaN(e) ? Double.NaN : e;
    }

    /** Compiles every cell-update kernel the matrix needs, on all cores, so the GPU loop finds them cached. */
    private static void precompileKernels(CudaEnvironment env, Options opt, List<ModelCase> models, List<Integer> batches,
                                          PrintStream out) {
        Set<EngineTesting.KernelBuild> specs = new LinkedHashSet<>();
        for (ModelCase m : models) {
            for (int b : m.layers() > 1 ? List.of(4) : batches) {
                for (String e : opt.engines()) {
                    CudaRnnEngine.Kind kind = e.equals("cuda-spmm") ? CudaRnnEngine.Kind.SPMM : CudaRnnEngine.Kind.GEMM;
                    for (String p : opt.precisions()) {
                        specs.addAll(EngineTesting.cellUpdateKernels(m.cell(), m.hidden(), b, kind, p));
                    }
                }
            }
        }
        long t0 = System.nanoTime();
        KernelCompiler compiler = new KernelCompiler();
        String arch = env.device().arch();
        List<Thread> threads = new ArrayList<>();
        List<EngineTesting.KernelBuild> list = new ArrayList<>(specs);
        int n = Math.max(1, Runtime.getRuntime().availableProcessors());
        List<RuntimeException> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int w = 0; w < n; w++) {
            int start = w;
            Thread t = Thread.ofPlatform().start(() -> {
                for (int i = start; i < list.size(); i += n) {
                    EngineTesting.KernelBuild s = list.get(i);
                    try {
                        compiler.compile(s.source(), s.name(), s.defines(), arch);
                    } catch (RuntimeException e) {
                        errors.add(e);
                    }
                }
            });
            threads.add(t);
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        out.printf(Locale.ROOT, "compiled %d kernel specialisations for %s with NVRTC %s in %.1f s (%d failed; cache %s)%n",
                list.size(), arch, compiler.nvrtcVersion(), (System.nanoTime() - t0) / 1e9, errors.size(),
                KernelCompiler.defaultCacheDir());
        if (!errors.isEmpty()) {
            out.println("first compile failure: " + errors.get(0).getMessage());
        }
    }

    /**
     * Provokes the faults a user can meet and checks each becomes one line naming the call and the
     * error, with the context still usable afterwards: device out-of-memory, a kernel that does not
     * compile (NVRTC log in the message), an invalid launch configuration.
     *
     * @return the number of checks that failed
     */
    static int faultChecks(CudaEnvironment env, PrintStream out) {
        int failed = 0;
        try (CudaContext ctx = CudaContext.open(0); CudaStream stream = ctx.createStream()) {
            failed += expectFault(out, "device out of memory", "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY",
                    () -> ctx.allocate(1L << 50, "fault check (1 PiB)").close());
            KernelCompiler compiler = new KernelCompiler();
            failed += expectFault(out, "kernel that does not compile", "undefined_function_in_fault_check",
                    () -> compiler.compileSource("extern \"C\" __global__ void broken() { undefined_function_in_fault_check(); }\n",
                            "fault_check.cu", "fault_check_" + System.nanoTime(), Map.of(), env.device().arch()));
            byte[] cubin = compiler.compile("toolkit_header_probe.cu", "toolkit_header_probe_" + env.device().arch(),
                    Map.of(), env.device().arch());
            try (CudaModule mod = ctx.loadModule(cubin, "toolkit_header_probe")) {
                CudaModule.CudaKernel k = mod.kernel("toolkit_header_probe");
                failed += expectFault(out, "launch with 4096 threads per block", "cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE",
                        () -> k.launch(stream, 1, 4096, 0, 0L, 0L, 0L, 0));
                stream.synchronize();
                try (DeviceBuffer b = ctx.allocate(1024, "after the faults")) {
                    b.fill((byte) 0, stream);
                    stream.synchronize();
                }
                out.println("fault check: context usable after the faults: PASS");
            }
        } catch (RuntimeException e) {
            out.println("fault check: FAIL: the context did not survive: " + e.getMessage());
            failed++;
        }
        return failed;
    }

    /**
     * The {@link org.sprnn.engine.Float32Range} contract on every GPU engine (the selftest's engines and the
     * sparse persistent one) and precision: a ReLU layer whose state overflows fails with an {@code overflow}
     * error instead of returning infinity, one whose h leaves fp16's range fails so where the engine carries
     * h in fp16 and is computed where it does not, a float64 input float32 cannot hold is refused on the way
     * in, and the engine then still runs a normal input within its tolerance.
     *
     * @return the number of checks that failed
     */
    static int float32Checks(Options opt, PrintStream out) {
        int h = 64;
        double[] wIh = new double[h], wHh = new double[h * h], zeros = new double[h];
        java.util.Arrays.fill(wIh, 1);
        for (int u = 0; u < h; u++) {
            wHh[u * h + u] = 1; // every unit accumulates its input: h_t = relu(x_t + h_{t-1})
        }
        RnnModel model = new RnnModel(CellType.RNN_RELU, List.of(new org.sprnn.model.Layer(new Tensor(new int[] {h, 1}, wIh),
                new Tensor(new int[] {h, h}, wHh), new Tensor(new int[] {h}, zeros), new Tensor(new int[] {h}, zeros))));
        Tensor huge = new Tensor(new int[] {4, 2, 1}, new double[] {1, 1, 1, 1.5e38, 1, 1.5e38, 1, 1.5e38});
        Tensor outside = new Tensor(new int[] {4, 2, 1}, new double[] {1, 1, 1, 1e300, 1, 1, 1, 1});
        Tensor normal = new Tensor(new int[] {4, 2, 1}, new double[] {0.5, -0.25, 0.125, 0.5, -1, 0.75, 0.25, 0.5});
        RnnOutput ref = new CpuReferenceEngine(model).run(normal, null, null);
        Tensor beyondFp16 = new Tensor(new int[] {4, 2, 1}, new double[] {1, 1, 1, 4e4, 1, 4e4, 1, 4e4});
        RnnOutput refBeyondFp16 = new CpuReferenceEngine(model).run(beyondFp16, null, null);
        List<String> engines = new ArrayList<>(opt.engines());
        if (!engines.contains(SparsePersistentEngine.NAME)) {
            engines.add(SparsePersistentEngine.NAME);
        }
        int failed = 0;
        for (String name : engines) {
            for (String prec : name.equals(SparsePersistentEngine.NAME) ? List.of("fp16") : opt.precisions()) {
                String label = "float32 contract: " + name + " " + prec;
                org.sprnn.engine.EngineOptions eo = org.sprnn.engine.EngineOptions.builder().engine(name).precision(prec).batchHint(2).build();
                try (org.sprnn.engine.EngineSelection sel = org.sprnn.engine.EngineProvider.select(model, eo)) {
                    failed += expectFault(out, label + ": state overflow", "overflow: ", () -> sel.engine().run(huge, null, null));
                    failed += expectFault(out, label + ": 1e300 input", "input holds 1.0E300 at [1][1][0], beyond float32's range",
                            () -> sel.engine().run(outside, null, null));
                    // beyond fp16 (4e4 + 4e4), within float32: an fp16 h is an overflow error, an fp32 engine computes it
                    if (prec.equals("fp32")) {
                        double e32 = error(sel.engine().run(beyondFp16, null, null), refBeyondFp16);
                        boolean ok32 = e32 <= tolerance(prec);
                        out.printf(Locale.ROOT, "%s: h beyond fp16, within float32: %s (rel. error %.2e)%n", label, ok32 ? "PASS" : "FAIL", e32);
                        failed += ok32 ? 0 : 1;
                    } else {
                        failed += expectFault(out, label + ": h beyond fp16", "overflow: ", () -> sel.engine().run(beyondFp16, null, null));
                    }
                    double err = error(sel.engine().run(normal, null, null), ref);
                    boolean ok = err <= tolerance(prec);
                    out.printf(Locale.ROOT, "%s: a normal input afterwards: %s (rel. error %.2e)%n", label, ok ? "PASS" : "FAIL", err);
                    failed += ok ? 0 : 1;
                } catch (RuntimeException e) {
                    out.println(label + ": FAIL: " + e);
                    failed++;
                }
            }
        }
        return failed;
    }

    private static int expectFault(PrintStream out, String what, String expected, Runnable action) {
        try {
            action.run();
            out.println("fault check: " + what + ": FAIL (no error raised)");
            return 1;
        } catch (SprnnException e) {
            String msg = e.getMessage();
            boolean ok = msg.contains(expected);
            String shown = msg.length() > 300 ? msg.substring(0, 300) + "..." : msg;
            out.println("fault check: " + what + ": " + (ok ? "PASS" : "FAIL (expected '" + expected + "')") + " — " + shown);
            return ok ? 0 : 1;
        } catch (RuntimeException e) {
            out.println("fault check: " + what + ": FAIL (not a one-line sprnn error: " + e + ")");
            return 1;
        }
    }

    /**
     * Compiles {@code toolkit_header_probe.cu} (which includes {@code <cuda_fp16.h>} and
     * {@code <cuda_bf16.h>}) with NVRTC, runs it and compares with Java's own fp16 rounding.
     *
     * @return 1 if it failed, else 0
     */
    private static int headerProbe(CudaEnvironment env, PrintStream out) {
        try (CudaContext ctx = CudaContext.open(0); CudaStream stream = ctx.createStream()) {
            KernelCompiler compiler = new KernelCompiler();
            byte[] cubin = compiler.compile("toolkit_header_probe.cu", "toolkit_header_probe_" + env.device().arch(),
                    Map.of(), env.device().arch());
            int n = 1000;
            try (CudaModule mod = ctx.loadModule(cubin, "toolkit_header_probe");
                 DeviceBuffer in = ctx.allocate(4L * n, "probe in");
                 DeviceBuffer oh = ctx.allocate(2L * n, "probe fp16");
                 DeviceBuffer ob = ctx.allocate(2L * n, "probe bf16");
                 Arena a = Arena.ofConfined()) {
                MemorySegment host = a.allocate(4L * n, 4);
                java.util.SplittableRandom r = new java.util.SplittableRandom(7);
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (r.nextGaussian() * 100);
                    host.setAtIndex(ValueLayout.JAVA_FLOAT, i, v[i]);
                }
                in.upload(host, 0, stream);
                mod.kernel("toolkit_header_probe").launch(stream, (n + 255) / 256, 256, 0, in, oh, ob, n);
                MemorySegment hh = a.allocate(2L * n, 2), hb = a.allocate(2L * n, 2);
                oh.download(hh, 0, stream);
                ob.download(hb, 0, stream);
                int bad = 0;
                for (int i = 0; i < n; i++) {
                    if (hh.getAtIndex(ValueLayout.JAVA_SHORT, i) != Float.floatToFloat16(v[i])
                            || hb.getAtIndex(ValueLayout.JAVA_SHORT, i) != EngineTesting.bf16Bits(v[i])) {
                        bad++;
                    }
                }
                out.printf("NVRTC toolkit headers (<cuda_fp16.h>, <cuda_bf16.h>) with %s: %s%n",
                        compiler.includeOptions().isEmpty() ? "no -I (none found)" : String.join(" ", compiler.includeOptions()),
                        bad == 0 ? "PASS (compiled, ran, " + n + " conversions match Java's)" : "FAIL (" + bad + " of " + n + " conversions differ)");
                return bad == 0 ? 0 : 1;
            }
        } catch (RuntimeException e) {
            out.println("NVRTC toolkit headers (<cuda_fp16.h>, <cuda_bf16.h>): FAIL: " + e.getMessage());
            return 1;
        }
    }
}

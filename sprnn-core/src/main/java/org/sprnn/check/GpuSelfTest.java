package org.sprnn.check;

import java.io.PrintStream;
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
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.check.SelfTestReference.ModelCase;
import org.sprnn.check.SelfTestReference.Shape;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cuda.CudaRnnEngine;
import org.sprnn.engine.cuda.CudnnAlgorithm;
import org.sprnn.engine.cuda.CudnnEngine;
import org.sprnn.engine.cuda.CudnnEngineFactory;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.engine.cuda.SparsePersistentFactory;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaEnvironment;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
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
 *
 * <p>This file is the library-baseline matrix itself (its cases, kernels compiled ahead, the table and summary).
 * Before it run the checks of the CUDA bindings ({@link SelfTestDeviceChecks}) and the float32-range contract
 * ({@link Float32ContractCheck}); the models, inputs, references and sensitivities are {@link SelfTestReference}'s.
 */
public final class GpuSelfTest {
    /** Sensitivity (see {@link SelfTestReference#reference}) above which a model counts as ill-conditioned: ~3× the typical fp16 value. */
    static final double ILL_CONDITIONED = 1e-3;
    /** An ill-conditioned case's tolerance: this many times its sensitivity (float64 emulation of fp16 engines: ≤ 3.9×). */
    static final double RAISE = 5;

    /**
     * What to run.
     *
     * @param engines    engine names to test ({@code cuda-gemm}, {@code cuda-spmm}, {@code cuda-cudnn}: the matrix with
     *                   CUDNN_RNN_ALGO_STANDARD, then {@link CudnnSelfTest}'s slice of the other algorithms)
     * @param precisions among {@link EngineOptions#PRECISIONS}
     * @param quick      a reduced matrix (hidden {33, 256}, batch {1, 4}, T 50 only) for a fast check
     * @param seed       base seed; every case derives its own from it
     */
    public record Options(List<String> engines, List<Precision> precisions, boolean quick, long seed) {
        public Options {
            engines = List.copyOf(engines);
            precisions = List.copyOf(precisions);
            for (String e : engines) {
                if (!e.equals("cuda-gemm") && !e.equals("cuda-spmm") && !e.equals(CudnnEngine.NAME)
                        && !e.equals(SparsePersistentEngine.DENSE_NAME)) {
                    throw new SprnnException("--engines: '" + e + "' is not a GPU engine of the selftest (cuda-gemm, cuda-spmm, cuda-cudnn, "
                            + SparsePersistentEngine.DENSE_NAME + "; cuda-sparse-persistent is sprnn kernel-check's)");
                }
            }
            for (Precision p : precisions) {
                EngineOptions.checkPrecision(p);
            }
        }
    }

    private GpuSelfTest() {
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
                opt.seed(), Precision.FP32.tolerance(), Precision.FP16.tolerance(), Precision.BF16.tolerance());
        int failures = 0;
        List<String> engines = new ArrayList<>(opt.engines());
        if (engines.contains(CudnnEngine.NAME)) {
            String why = new CudnnEngineFactory().unavailableReason(SelfTestReference.model(new ModelCase(CellType.RNN_RELU, 33, 1, 1, true),
                    opt.seed()), EngineOptions.builder().engine(CudnnEngine.NAME).build()).orElse(null);
            if (why != null) {
                out.println("FAILED cuda-cudnn: not tested: " + why);
                failures++;
                engines.remove(CudnnEngine.NAME);
            }
        }
        failures += SelfTestDeviceChecks.headerProbe(env, out);
        failures += SelfTestDeviceChecks.faultChecks(env, out);
        failures += Float32ContractCheck.check(new Options(engines, opt.precisions(), opt.quick(), opt.seed()), out);
        if (engines.contains(CudnnEngine.NAME)) {
            failures += CudnnSelfTest.refusalCheck(opt.seed(), out);
        }

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

        precompileKernels(env, engines, opt, models, batches, out);

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
                    refs.put(key, pool.submit(() -> SelfTestReference.reference(m, s, opt.seed(), opt.precisions())));
                }
            }
            out.println();
            out.println("| engine | precision | cell | hidden | layers | batch | density | T | rel. error | tolerance | result |");
            out.println("|---|---|---|---|---|---|---|---|---|---|---|");
            int total = 0;
            List<String> failed = new ArrayList<>();
            List<String> raised = new ArrayList<>();
            org.sprnn.Progress bar = org.sprnn.Progress.of("selftest", models.size(), System.err);
            for (ModelCase m : models) {
                RnnModel model = SelfTestReference.model(m, opt.seed());
                List<Shape> ms = m.layers() > 1 ? List.of(new Shape(4, 50)) : shapes;
                for (String engineName : engines) {
                    for (Precision prec : opt.precisions()) {
                        if (engineName.equals(SparsePersistentEngine.DENSE_NAME) && !prec.isSixteenBit()) {
                            continue; // its on-chip weights are 16-bit
                        }
                        // the engine's own tolerance (cuDNN's fp32 is held to CudnnEngine.FP32_TOLERANCE)
                        double baseTol = prec == Precision.FP32 && engineName.equals(CudnnEngine.NAME) ? CudnnEngine.FP32_TOLERANCE : prec.tolerance();
                        Engine engine = null;
                        String buildError = null;
                        try {
                            engine = engine(engineName, model, prec);
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
                                            + "alone moves the float64 reference by %.2e", engineName, prec.id(), m.cell().id(), m.hidden(),
                                            s.batch(), m.density(), s.steps(), prec.id(), sensitivity));
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
                                                    Fp16Range.factorText(damping));
                                            try (Engine damped = engine(engineName, (RnnModel) ref[6], prec)) {
                                                got = damped.run((Tensor) ref[0], (Tensor) ref[1], (Tensor) ref[2]);
                                            }
                                        }
                                        err = RelativeError.of(got, (RnnOutput) ref[3]);
                                    } catch (RuntimeException e) {
                                        err = Double.NaN;
                                        note = e.getMessage();
                                    }
                                }
                                boolean pass = err <= tol; // NaN fails
                                String row = String.format(Locale.ROOT, "| %s | %s | %s | %d | %d | %d | %.2f | %d | %.2e | %s | %s |",
                                        label(engineName), prec.id(), m.cell().id(), m.hidden(), m.layers(), s.batch(), m.density(),
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
                bar.step(String.format(Locale.ROOT, "%s H %d x%d d %.2f", m.cell().id(), m.hidden(), m.layers(), m.density()));
            }
            int refused = 0;
            List<String> algorithmLines = List.of();
            if (engines.contains(CudnnEngine.NAME)) {
                CudnnSelfTest.Result r = CudnnSelfTest.run(opt.precisions(), hiddens, opt.seed(), (m, s) -> {
                    try {
                        return refs.get(m + "|" + s).get();
                    } catch (InterruptedException | ExecutionException e) {
                        throw new IllegalStateException("reference failed: " + e, e);
                    }
                }, out);
                total += r.total();
                failed.addAll(r.failed());
                failures += r.algorithmsNeverRun();
                refused = r.refused();
                algorithmLines = r.perAlgorithm();
            }
            failures += failed.size();
            out.println();
            out.printf(Locale.ROOT, "selftest: %d of %d engine cases passed, %d failed%s%s%n", total - failed.size() - refused, total,
                    failed.size(), refused > 0 ? ", " + refused + " refused by cuDNN (a persistent algorithm's documented limits: not failures)" : "",
                    failures > failed.size() ? " (and " + (failures - failed.size()) + " probe/fault/algorithm checks failed)" : "");
            algorithmLines.forEach(out::println);
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

    /**
     * The engine a matrix row runs: cuda-gemm, cuda-spmm, cuda-cudnn with CUDNN_RNN_ALGO_STANDARD, or
     * {@code cuda-dense-persistent} (the persistent kernel's dense mode, planned for this device; fp16 or bf16).
     */
    private static Engine engine(String engineName, RnnModel model, Precision prec) {
        return switch (engineName) {
            case "cuda-gemm" -> new CudaRnnEngine(model, CudaRnnEngine.Kind.GEMM, prec);
            case "cuda-spmm" -> new CudaRnnEngine(model, CudaRnnEngine.Kind.SPMM, prec);
            case SparsePersistentEngine.DENSE_NAME -> new SparsePersistentEngine(model, GpuStatus.deviceLimits().orElseThrow(),
                    SparsePersistentFactory.planOptions(prec, true));
            default -> new CudnnEngine(model, prec, CudnnAlgorithm.STANDARD.id);
        };
    }

    /** The engine column of a matrix row: cuda-cudnn with its algorithm. */
    private static String label(String engineName) {
        return engineName.equals(CudnnEngine.NAME) ? engineName + ":" + CudnnAlgorithm.STANDARD.id : engineName;
    }

    /** Compiles every cell-update kernel the matrix needs, on all cores, so the GPU loop finds them cached. */
    private static void precompileKernels(CudaEnvironment env, List<String> engines, Options opt, List<ModelCase> models,
                                          List<Integer> batches, PrintStream out) {
        Set<EngineTesting.KernelBuild> specs = new LinkedHashSet<>();
        for (ModelCase m : models) {
            for (int b : m.layers() > 1 ? List.of(4) : batches) {
                for (String e : engines) {
                    if (e.equals(CudnnEngine.NAME) || e.equals(SparsePersistentEngine.DENSE_NAME)) {
                        continue; // cuDNN compiles nothing of sprnn's; the dense persistent engine compiles its kernels itself
                    }
                    CudaRnnEngine.Kind kind = e.equals("cuda-spmm") ? CudaRnnEngine.Kind.SPMM : CudaRnnEngine.Kind.GEMM;
                    for (Precision p : opt.precisions()) {
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
}

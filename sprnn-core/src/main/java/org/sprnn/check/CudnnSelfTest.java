package org.sprnn.check;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.CudaRnnEngine;
import org.sprnn.engine.cuda.CudnnAlgorithm;
import org.sprnn.engine.cuda.CudnnEngine;
import org.sprnn.engine.cuda.CudnnEngineException;
import org.sprnn.check.SelfTestReference.ModelCase;
import org.sprnn.check.SelfTestReference.Shape;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Why this file exists: {@code cuda-cudnn} is one engine with four algorithms, and cuDNN documents limits for the
 * persistent ones (hidden sizes, batch) beyond which it refuses them. {@link GpuSelfTest} runs its whole matrix with
 * {@code CUDNN_RNN_ALGO_STANDARD} (which must take every case); this is the part that exercises each persistent algorithm
 * and {@code auto} on the small shapes, every cell, one- and three-layer models and every precision of the run: each case
 * passes, fails, or is <em>refused</em> ({@code CUDNN_STATUS_NOT_SUPPORTED*} for a persistent algorithm: cuDNN's documented
 * limit, reported with cuDNN's own reason and not counted as a failure). An algorithm that cuDNN refuses in every case is
 * a failure: cuDNN takes each of them at these sizes on the devices sprnn supports, so that points at how sprnn calls it.
 */
final class CudnnSelfTest {
    private CudnnSelfTest() {
    }

    /**
     * What the slice found: rows run, rows failed (as printed), rows refused, one line per algorithm, and how many
     * algorithms cuDNN never ran (each a failure of its own).
     */
    record Result(int total, List<String> failed, int refused, List<String> perAlgorithm, int algorithmsNeverRun) {
    }

    /** The float64 reference of a case, as {@link SelfTestReference#reference} returns it (computed ahead by the caller). */
    interface References {
        Object[] get(ModelCase m, Shape s);
    }

    /** The model cases of the slice: every cell at {@code hiddens} (density 0.3, given states), and the 3-layer stacks. */
    static List<ModelCase> models(List<Integer> hiddens) {
        List<ModelCase> ms = new ArrayList<>();
        for (CellType c : CellType.values()) {
            for (int h : hiddens) {
                ms.add(new ModelCase(c, h, 0.3, 1, true));
            }
        }
        for (CellType c : CellType.values()) {
            ms.add(new ModelCase(c, 256, 0.3, 3, false));
        }
        return ms;
    }

    /** The shapes of a model case: batch 1 and 4 at T 50 (stacks: batch 4), all in the main matrix's shapes. */
    static List<Shape> shapes(ModelCase m) {
        return m.layers() > 1 ? List.of(new Shape(4, 50)) : List.of(new Shape(1, 50), new Shape(4, 50));
    }

    /**
     * Whether {@code algorithm} is run on {@code m}: PERSIST_DYNAMIC compiles its kernels at run time for each batch, so
     * only at hidden ≤ 256 (a few seconds each).
     */
    static boolean runs(String algorithm, ModelCase m) {
        return !algorithm.equals(CudnnAlgorithm.PERSIST_DYNAMIC.id) || m.hidden() <= 256;
    }

    /** The algorithm options of the slice: each persistent algorithm, then {@code auto}. */
    static List<String> algorithms() {
        return List.of(CudnnAlgorithm.PERSIST_STATIC.id, CudnnAlgorithm.PERSIST_STATIC_SMALL_H.id, CudnnAlgorithm.PERSIST_DYNAMIC.id,
                CudnnAlgorithm.AUTO);
    }

    /**
     * Runs the slice, printing rows in {@link GpuSelfTest}'s table format ({@code cuda-cudnn:<algorithm>} in the engine
     * column, {@code REFUSED: <cuDNN's reason>} in the result column).
     */
    static Result run(List<Precision> precisions, List<Integer> hiddens, long seed, References refs, PrintStream out) {
        int total = 0, refused = 0;
        List<String> failed = new ArrayList<>();
        Map<String, int[]> tally = new LinkedHashMap<>(); // algorithm → {ran, refused}
        Map<String, String> firstRefusal = new LinkedHashMap<>();
        for (String algo : algorithms()) {
            tally.put(algo, new int[2]);
            for (ModelCase m : models(hiddens)) {
                if (!runs(algo, m)) {
                    continue;
                }
                RnnModel model = SelfTestReference.model(m, seed);
                for (Precision prec : precisions) {
                    // the engine's own tolerance (cuDNN's fp32 is held to CudnnEngine.FP32_TOLERANCE)
                    double baseTol = prec == Precision.FP32 ? CudnnEngine.FP32_TOLERANCE : prec.tolerance();
                    CudnnEngine engine = null;
                    RuntimeException buildError = null;
                    try {
                        engine = new CudnnEngine(model, prec, algo);
                    } catch (RuntimeException e) {
                        buildError = e;
                    }
                    try {
                        for (Shape s : shapes(m)) {
                            total++;
                            Object[] ref = refs.get(m, s);
                            Map<?, ?> sens = (Map<?, ?>) ref[4];
                            double sensitivity = sens.containsKey(prec) ? (Double) sens.get(prec) : 0;
                            double tol = sensitivity > GpuSelfTest.ILL_CONDITIONED ? Math.max(baseTol, GpuSelfTest.RAISE * sensitivity) : baseTol;
                            double err = Double.NaN;
                            String note = "";
                            RuntimeException failure = buildError;
                            if (engine != null) {
                                double damping = (Double) ref[5];
                                try {
                                    RnnOutput got;
                                    if (damping == 1) {
                                        got = engine.run((Tensor) ref[0], (Tensor) ref[1], (Tensor) ref[2]);
                                        note = engine.algorithm().map(a -> "ran " + a.cudnnName()).orElse("");
                                    } else {
                                        note = "W_hh x " + Fp16Range.factorText(damping) + " (drawn W_hh explodes past fp16's range)";
                                        try (CudnnEngine damped = new CudnnEngine((RnnModel) ref[6], prec, algo)) {
                                            got = damped.run((Tensor) ref[0], (Tensor) ref[1], (Tensor) ref[2]);
                                        }
                                    }
                                    err = RelativeError.of(got, (RnnOutput) ref[3]);
                                } catch (RuntimeException e) {
                                    failure = e;
                                }
                            }
                            String result;
                            if (failure instanceof CudnnEngineException ce && ce.documentedRefusal()) {
                                refused++;
                                tally.get(algo)[1]++;
                                firstRefusal.putIfAbsent(algo, ce.getMessage());
                                result = "REFUSED: " + ce.getMessage();
                            } else {
                                if (failure != null) {
                                    note = failure.getMessage();
                                }
                                tally.get(algo)[0]++;
                                boolean pass = err <= tol; // NaN fails
                                result = (pass ? "PASS" : "FAIL") + (note.isEmpty() ? "" : ": " + note);
                            }
                            String row = String.format(Locale.ROOT, "| %s:%s | %s | %s | %d | %d | %d | %.2f | %d | %.2e | %s | %s |",
                                    CudnnEngine.NAME, algo, prec, m.cell().id(), m.hidden(), m.layers(), s.batch(), m.density(), s.steps(),
                                    err, tol > baseTol ? String.format(Locale.ROOT, "%.1e*", tol) : String.format(Locale.ROOT, "%.0e", tol),
                                    result);
                            out.println(row);
                            if (result.startsWith("FAIL")) {
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
        List<String> perAlgorithm = new ArrayList<>();
        int neverRun = 0;
        for (Map.Entry<String, int[]> t : tally.entrySet()) {
            int ran = t.getValue()[0], ref = t.getValue()[1];
            String line = String.format(Locale.ROOT, "cuda-cudnn %s: ran %d case(s), cuDNN refused %d", t.getKey(), ran, ref);
            if (ran == 0) {
                line = "FAILED " + line + ": cuDNN never ran it (first refusal: " + firstRefusal.get(t.getKey()) + ")";
                neverRun++;
            }
            perAlgorithm.add(line);
        }
        return new Result(total, failed, refused, perAlgorithm, neverRun);
    }

    /**
     * A refusal must be one line naming the engine, the algorithm, the shape and cuDNN's status and message: asks
     * PERSIST_STATIC_SMALL_H for an rnn_relu layer of hidden 1152 (above the sizes cuDNN's small-H kernels take, 384 on an
     * H100 per the reference measurements). Where cuDNN takes it after all, its result must agree with the reference.
     *
     * @return 1 if the check failed, else 0
     */
    static int refusalCheck(long seed, PrintStream out) {
        String label = "cuda-cudnn refusal: persist-static-small-h, rnn_relu hidden 1152";
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, 32, 1152, 1, 0.1, 1.0, seed);
        Tensor x = SyntheticModels.input(3, 2, 32, seed + 1);
        try (CudnnEngine e = new CudnnEngine(model, Precision.FP32, CudnnAlgorithm.PERSIST_STATIC_SMALL_H.id)) {
            RnnOutput got = e.run(x, null, null);
            double err = RelativeError.of(got, new CpuReferenceEngine(model).run(x, null, null));
            boolean ok = err <= Precision.FP32.tolerance();
            out.printf(Locale.ROOT, "%s: cuDNN took it (%s; rel. error %.2e): %s%n", label, e.details(), err, ok ? "PASS" : "FAIL");
            return ok ? 0 : 1;
        } catch (CudnnEngineException ce) {
            String m = ce.getMessage();
            boolean ok = !m.contains("\n") && m.startsWith(CudnnEngine.NAME + ": cuDNN ") && m.contains("CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H")
                    && m.contains("hidden 1152") && m.contains("CUDNN_STATUS_") && m.contains(ce.call());
            out.printf("%s: %s: %s%n", label, ok ? "PASS" : "FAIL (not one line naming engine, algorithm, shape, call and status)", m);
            return ok ? 0 : 1;
        } catch (RuntimeException ex) {
            out.printf("%s: FAIL: %s%n", label, ex);
            return 1;
        }
    }
}

package org.sprnn.check;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.sprnn.Precision;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * Why this file exists: the engines compute in float32 (and some carry h in fp16) while the API speaks float64, so
 * every GPU engine promises what happens at those ranges' edges: an overflow is an error, never an infinity, and an
 * input float32 cannot hold is refused. {@code sprnn selftest} checks that promise on a hand-built ReLU layer, for the
 * selftest's engines and the sparse persistent one, before its matrix.
 */
final class Float32ContractCheck {
    private Float32ContractCheck() {
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
    static int check(GpuSelfTest.Options opt, PrintStream out) {
        int h = 64;
        double[] wIh = new double[h], wHh = new double[h * h], zeros = new double[h];
        java.util.Arrays.fill(wIh, 1);
        for (int u = 0; u < h; u++) {
            wHh[u * h + u] = 1; // every unit accumulates its input: h_t = relu(x_t + h_{t-1})
        }
        RnnModel model = new RnnModel(CellType.RNN_RELU, List.of(new Layer(new Tensor(new int[] {h, 1}, wIh),
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
            for (Precision prec : name.equals(SparsePersistentEngine.NAME) || name.equals(SparsePersistentEngine.DENSE_NAME)
                    ? List.of(Precision.FP16) : opt.precisions()) {
                String label = "float32 contract: " + name + " " + prec.id();
                EngineOptions eo = EngineOptions.builder().engine(name).precision(prec).batchHint(2).build();
                try (EngineSelection sel = EngineProvider.select(model, eo)) {
                    failed += SelfTestDeviceChecks.expectFault(out, label + ": state overflow", "overflow: ", () -> sel.engine().run(huge, null, null));
                    failed += SelfTestDeviceChecks.expectFault(out, label + ": 1e300 input", "input holds 1.0E300 at [1][1][0], beyond float32's range",
                            () -> sel.engine().run(outside, null, null));
                    // beyond fp16 (4e4 + 4e4), within float32: an fp16 h is an overflow error, an fp32 engine computes it
                    if (prec == Precision.FP32) {
                        double e32 = RelativeError.of(sel.engine().run(beyondFp16, null, null), refBeyondFp16);
                        boolean ok32 = e32 <= prec.tolerance();
                        out.printf(Locale.ROOT, "%s: h beyond fp16, within float32: %s (rel. error %.2e)%n", label, ok32 ? "PASS" : "FAIL", e32);
                        failed += ok32 ? 0 : 1;
                    } else {
                        failed += SelfTestDeviceChecks.expectFault(out, label + ": h beyond fp16", "overflow: ", () -> sel.engine().run(beyondFp16, null, null));
                    }
                    double err = RelativeError.of(sel.engine().run(normal, null, null), ref);
                    boolean ok = err <= prec.tolerance();
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
}

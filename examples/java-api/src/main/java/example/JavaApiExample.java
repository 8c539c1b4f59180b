package example;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.sprnn.JvmSupport;
import org.sprnn.Precision;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.RnnOutput;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * sprnn used as a library: runs two small models on the {@code cpu} engine and checks the results, exiting
 * with status 1 if any is wrong.
 *
 * <ol>
 *   <li>A one-unit tanh RNN whose outputs are worked out by hand: h1 = tanh(0.5 x1), h2 = tanh(0.5 x2 + 0.5 h1).
 *   <li>A pruned two-layer LSTM (30% of W_hh kept) written to a safetensors file and read back, as a model
 *       exported from PyTorch would be, run on {@code cpu} and compared with {@code cpu-reference}, the
 *       library's float64 oracle, within the {@code cpu} engine's stated tolerance.
 * </ol>
 */
public final class JavaApiExample {
    public static void main(String[] args) throws IOException {
        JvmSupport.describe().forEach(line -> System.out.println("jvm: " + line));
        boolean ok = handComputed() & savedAndLoaded();
        System.out.println(ok ? "java-api example: OK" : "java-api example: FAILED");
        System.exit(ok ? 0 : 1);
    }

    /** The one-unit tanh RNN: input 1, hidden 1, W_ih = W_hh = 0.5, no bias; two steps of batch 1. */
    static boolean handComputed() {
        Tensor half = new Tensor(new int[] {1, 1}, new double[] {0.5});
        Tensor zero = new Tensor(new int[] {1}, new double[] {0.0});
        RnnModel model = new RnnModel(CellType.RNN_TANH, List.of(new Layer(half, half, zero, zero)));
        Tensor x = new Tensor(new int[] {2, 1, 1}, new double[] {1.0, -2.0}); // [T][B][I]
        EngineOptions cpu = EngineOptions.builder().engine("cpu").build();
        try (EngineSelection chosen = EngineProvider.select(model, cpu)) {
            RnnOutput out = chosen.engine().run(x, null, null);
            double h1 = Math.tanh(0.5 * 1.0);
            double h2 = Math.tanh(0.5 * -2.0 + 0.5 * h1);
            double e1 = Math.abs(out.output().data()[0] - h1), e2 = Math.abs(out.output().data()[1] - h2);
            boolean ok = e1 <= 1e-6 && e2 <= 1e-6;
            System.out.printf("hand-computed tanh RNN on %s: h1 %.7f (expected %.7f), h2 %.7f (expected %.7f): %s%n",
                    chosen.engine().name(), out.output().data()[0], h1, out.output().data()[1], h2, ok ? "ok" : "WRONG");
            return ok;
        }
    }

    /** The pruned LSTM through a safetensors file, cpu against cpu-reference. */
    static boolean savedAndLoaded() throws IOException {
        Path dir = Files.createTempDirectory("sprnn-example");
        try {
            Path file = dir.resolve("lstm.safetensors");
            ModelFiles.save(SyntheticModels.random(CellType.LSTM, 16, 64, 2, 0.3, 1.0, 42), file, Precision.FP32);
            RnnModel model = ModelFiles.load(file, null); // the cell comes from the file's metadata
            Tensor x = SyntheticModels.input(20, 4, 16, 7); // [T=20][B=4][I=16]
            RnnOutput ref, got;
            try (EngineSelection oracle = EngineProvider.select(model, EngineOptions.builder().engine("cpu-reference").build())) {
                ref = oracle.engine().run(x, null, null);
            }
            try (EngineSelection chosen = EngineProvider.select(model, EngineOptions.builder().engine("cpu").batchHint(4).build())) {
                got = chosen.engine().run(x, null, null);
                double tol = chosen.engine().tolerance();
                double eY = Accuracy.relativeError(got.output(), ref.output());
                double eH = Accuracy.relativeError(got.hN(), ref.hN());
                double eC = Accuracy.relativeError(got.cN(), ref.cN());
                boolean ok = eY <= tol && eH <= tol && eC <= tol;
                System.out.printf("pruned LSTM (H=64, 2 layers, %s) on %s vs cpu-reference: relative error y %.1e, hN %.1e,"
                        + " cN %.1e (tolerance %.0e): %s%n", model.cell(), chosen.engine().name(), eY, eH, eC, tol,
                        ok ? "ok" : "WRONG");
                return ok;
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }
}

package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * {@code sprnn run} under the float32 contract ({@code engine.Float32Range}): a value float32 cannot
 * hold, a state that overflows, a run too large for one array: one line, exit 2, no file written.
 */
class Float32ContractCliTest {
    @TempDir
    Path dir;

    private static void assertRefused(CliTest.Result r, Path dir, String... fragments) throws IOException {
        CliTest.assertOneLineError(r, fragments);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("files left in %s", dir)
                    .noneMatch(n -> n.startsWith("y") || n.endsWith(".tmp"));
        }
    }

    /** ReLU, 1 input, 2 units; every unit adds its input to its state (W_hh = I). */
    private Path accumulatingRelu() {
        RnnModel m = new RnnModel(CellType.RNN_RELU, List.of(new Layer(new Tensor(new int[] {2, 1}, new double[] {1, 1}),
                new Tensor(new int[] {2, 2}, new double[] {1, 0, 0, 1}), new Tensor(new int[] {2}, new double[2]),
                new Tensor(new int[] {2}, new double[2]))));
        Path p = dir.resolve("relu.safetensors");
        ModelFiles.save(m, p, Precision.FP32);
        return p;
    }

    @Test
    void aFloat64InputBeyondFloat32IsOutOfRangeInEveryCpuEngine() throws IOException {
        Path model = accumulatingRelu(), x = dir.resolve("x.npy");
        Npy.write(x, new Tensor(new int[] {2, 1, 1}, new double[] {1, 1e300}), Precision.FP64);
        for (String engine : new String[] {"cpu", "cpu-reference", "auto"}) {
            CliTest.Result r = cli("run", "--model", model.toString(), "--input", x.toString(), "--output", dir.resolve("y.npy").toString(),
                    "--engine", engine);
            assertRefused(r, dir, x + ": input holds 1.0E300 at [1][0][0], beyond float32's range");
        }
    }

    @Test
    void aStateThatOverflowsIsAnErrorNamingLayerAndStep() throws IOException {
        Path model = accumulatingRelu(), x = dir.resolve("x.npy");
        Npy.write(x, new Tensor(new int[] {3, 1, 1}, new double[] {2e38, 2e38, 1}), Precision.FP32);
        for (String engine : new String[] {"cpu", "cpu-reference"}) {
            CliTest.Result r = cli("run", "--model", model.toString(), "--input", x.toString(), "--output", dir.resolve("y.npy").toString(),
                    "--final-h", dir.resolve("yh.npy").toString(), "--engine", engine);
            assertRefused(r, dir, "overflow: layer 0's hidden state at step 1 (batch element 0, unit 0) is ");
        }
    }

    @Test
    void aRunTooLargeForOneArrayIsRefusedWithTheSizes() throws IOException {
        // LSTM hidden 1024, input size 1: 2^19 steps (a 2 MB float32 input) need 2^19 x 4096 = 2^31 projections
        int hidden = 1024, rows = 4 * hidden;
        RnnModel m = new RnnModel(CellType.LSTM, List.of(new Layer(new Tensor(new int[] {rows, 1}, new double[rows]),
                new Tensor(new int[] {rows, hidden}, new double[rows * hidden]), new Tensor(new int[] {rows}, new double[rows]),
                new Tensor(new int[] {rows}, new double[rows]))));
        Path model = dir.resolve("lstm.safetensors"), x = dir.resolve("x.npy");
        ModelFiles.save(m, model, Precision.FP16);
        Npy.write(x, new Tensor(new int[] {1 << 19, 1, 1}, new double[1 << 19]), Precision.FP32);
        CliTest.Result r = cli("run", "--model", model.toString(), "--input", x.toString(), "--output", dir.resolve("y.npy").toString(),
                "--engine", "cpu-reference");
        assertRefused(r, dir, "input of 524288 steps x batch 1 is too large for one run of this model",
                "T*B*4096 = 2147483648 values per layer");
    }
}

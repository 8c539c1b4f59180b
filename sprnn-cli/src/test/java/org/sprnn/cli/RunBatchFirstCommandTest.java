package org.sprnn.cli;

// sprnn run --batch-first: a [B][T][I] input gives the [B][T][H] output that the same data laid out
// [T][B][I] gives without the option, transposed; final states are [layers][B][H] in both layouts; a wrong
// shape is reported in the batch-first layout, naming the file. B != T throughout, so a swapped axis fails.

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.cli;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sprnn.Precision;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class RunBatchFirstCommandTest {
    private static final int T = 5, B = 3, I = 6, H = 10, L = 2;

    @TempDir
    Path dir;

    Path model, xTbi, xBti, h0, c0;
    RnnModel lstm;
    Tensor x, h, c;

    @BeforeEach
    void files() {
        lstm = SyntheticModels.random(CellType.LSTM, I, H, L, 0.3, 1.0, 17);
        model = dir.resolve("lstm.safetensors");
        ModelFiles.save(lstm, model, Precision.FP32);
        x = SyntheticModels.input(T, B, I, 18);
        h = SyntheticModels.state(L, B, H, 19);
        c = SyntheticModels.state(L, B, H, 20);
        xTbi = dir.resolve("x_tbi.npy");
        xBti = dir.resolve("x_bti.npy");
        h0 = dir.resolve("h0.npy");
        c0 = dir.resolve("c0.npy");
        Npy.write(xTbi, x, Precision.FP32);
        Npy.write(xBti, swap(x), Precision.FP32);
        Npy.write(h0, h, Precision.FP32);
        Npy.write(c0, c, Precision.FP32);
    }

    /** [d0][d1][n] → [d1][d0][n], element by element. */
    private static Tensor swap(Tensor t) {
        int d0 = t.dim(0), d1 = t.dim(1), n = t.dim(2);
        double[] out = new double[t.size()];
        for (int a = 0; a < d0; a++) {
            for (int b = 0; b < d1; b++) {
                System.arraycopy(t.data(), (a * d1 + b) * n, out, (b * d0 + a) * n, n);
            }
        }
        return new Tensor(new int[] {d1, d0, n}, out);
    }

    private CliTest.Result run(String engine, Path input, String prefix, boolean batchFirst) {
        var args = new java.util.ArrayList<>(java.util.List.of("run", "--model", model.toString(), "--input", input.toString(),
                "--h0", h0.toString(), "--c0", c0.toString(), "--output", dir.resolve(prefix + "y.npy").toString(),
                "--final-h", dir.resolve(prefix + "hN.npy").toString(), "--final-c", dir.resolve(prefix + "cN.npy").toString(),
                "--engine", engine, "--threads", "2"));
        if (batchFirst) {
            args.add("--batch-first");
        }
        return cli(args.toArray(String[]::new));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "cpu-reference"})
    void batchFirstOutputIsTheSequenceFirstOutputTransposed(String engine) {
        CliTest.Result seq = run(engine, xTbi, "seq-", false);
        assertThat(seq.code()).as(seq.err()).isZero();
        CliTest.Result bf = run(engine, xBti, "bf-", true);
        assertThat(bf.code()).as(bf.err()).isZero();
        String what = "lstm L " + L + ", T " + T + ", B " + B + ", engine " + engine;

        Tensor ySeq = Npy.read(dir.resolve("seq-y.npy")), yBf = Npy.read(dir.resolve("bf-y.npy"));
        assertThat(yBf.shape()).as(what).containsExactly(B, T, H);
        assertThat(yBf).as("output [B][T][H] = sequence-first output transposed: " + what).isEqualTo(swap(ySeq));
        assertThat(Npy.read(dir.resolve("bf-hN.npy"))).as("final h stays [L][B][H]: " + what).isEqualTo(Npy.read(dir.resolve("seq-hN.npy")));
        assertThat(Npy.read(dir.resolve("bf-cN.npy"))).as("final c stays [L][B][H]: " + what).isEqualTo(Npy.read(dir.resolve("seq-cN.npy")));

        RnnOutput ref = new CpuReferenceEngine(lstm).run(x, h, c);
        assertThat(Accuracy.relativeError(yBf, swap(ref.output()))).as("against the float64 reference (files are float32): " + what)
                .isLessThan(1e-5);
    }

    @Test
    void batchFirstShapeErrorsNameTheFileAndTheLayout() {
        Path wrong = dir.resolve("wrong.npy");
        Npy.write(wrong, SyntheticModels.input(B, T, I + 1, 1));
        CliTest.Result r = cli("run", "--model", model.toString(), "--input", wrong.toString(), "--batch-first",
                "--output", dir.resolve("y.npy").toString());
        CliTest.assertOneLineError(r, "wrong.npy", "7 features", "[B][T][I]");
        assertThat(dir.resolve("y.npy")).doesNotExist();

        // the sequence-first file with --batch-first: B is read as 5, so the [L][3][H] h0 no longer fits
        CliTest.Result swapped = cli("run", "--model", model.toString(), "--input", xTbi.toString(), "--h0", h0.toString(),
                "--batch-first", "--output", dir.resolve("y.npy").toString());
        assertThat(swapped.code()).as(swapped.err()).isEqualTo(2);
        assertThat(swapped.err()).contains("h0.npy", "expected [2, 5, 10]");
    }

    @Test
    void helpDescribesTheLayout() {
        CliTest.Result r = cli("run", "--help");
        assertThat(r.out()).contains("--batch-first", "[B][T][I]", "[B][T][H]", "batch_first=True");
    }
}

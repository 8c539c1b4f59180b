package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuEngine;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.io.Safetensors;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** {@code sprnn run} end to end: files in, files out, and every kind of bad input as one line with exit code 2. */
class RunCommandTest {
    @TempDir
    Path dir;

    Path model, input, h0, c0;
    RnnModel lstm;
    Tensor x, h, c;

    @BeforeEach
    void files() {
        lstm = SyntheticModels.random(CellType.LSTM, 6, 10, 2, 0.3, 1.0, 7);
        model = dir.resolve("lstm.safetensors");
        ModelFiles.save(lstm, model, Precision.FP32);
        x = SyntheticModels.input(5, 3, 6, 8);
        h = SyntheticModels.state(2, 3, 10, 9);
        c = SyntheticModels.state(2, 3, 10, 10);
        input = dir.resolve("x.npy");
        h0 = dir.resolve("h0.npy");
        c0 = dir.resolve("c0.npy");
        Npy.write(input, x, Precision.FP64);
        Npy.write(h0, h, Precision.FP64);
        Npy.write(c0, c, Precision.FP64);
    }

    @Test
    void aPathWithRegexReplacementCharactersIsNamedAsItIs() {
        // the message names the file: a '$1' or '\\' in its path must not be read as a regex group (it gave exit 3)
        Path odd = dir.resolve("x$1\\y.npy");
        Npy.write(odd, SyntheticModels.input(5, 3, 4, 8), Precision.FP32); // 4 features where the model has 6
        CliTest.Result r = cli("run", "--model", model.toString(), "--input", odd.toString(), "--output", dir.resolve("y.npy").toString());
        assertOneLineError(r, odd + ": input has 4 features per step");
    }

    @Test
    void precisionIsOneOfTheGpuPrecisionsInAnyCase() {
        Path y = dir.resolve("y.npy");
        CliTest.Result upper = cli("run", "--model", model.toString(), "--input", input.toString(), "--output", y.toString(),
                "--engine", "cpu-reference", "--precision", "FP32");
        assertThat(upper.code()).as(upper.err()).isZero();
        CliTest.Result bad = cli("run", "--model", model.toString(), "--input", input.toString(), "--output", y.toString(),
                "--precision", "fp64");
        assertOneLineError(bad, "sprnn run: --precision: expected fp16, bf16 or fp32, got 'fp64'");
    }

    @Test
    void writesOutputAndFinalStatesMatchingTheReference() {
        Path y = dir.resolve("y.npy"), hN = dir.resolve("hN.npy"), cN = dir.resolve("cN.npy");
        CliTest.Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--h0", h0.toString(),
                "--c0", c0.toString(), "--output", y.toString(), "--final-h", hN.toString(), "--final-c", cN.toString(),
                "--engine", "cpu-reference");
        assertThat(r.code()).as(r.err()).isZero();
        RnnOutput ref = new CpuReferenceEngine(lstm).run(x, h, c);
        // the files are float32: compare at float32 resolution
        assertThat(Accuracy.relativeError(Npy.read(y), ref.output())).isLessThan(1e-6);
        assertThat(Accuracy.relativeError(Npy.read(hN), ref.hN())).isLessThan(1e-6);
        assertThat(Accuracy.relativeError(Npy.read(cN), ref.cN())).isLessThan(1e-6);
        assertThat(Npy.read(y).shape()).containsExactly(5, 3, 10);
    }

    @Test
    void cpuEngineFilesHoldExactlyTheEnginesFloat64RunRoundedToFloat32() {
        // the CLI runs the cpu engine through runFloat: its files must equal what run() gives, value for value
        Path y = dir.resolve("y.npy"), hN = dir.resolve("hN.npy"), cN = dir.resolve("cN.npy");
        CliTest.Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--h0", h0.toString(),
                "--c0", c0.toString(), "--output", y.toString(), "--final-h", hN.toString(), "--final-c", cN.toString(),
                "--engine", "cpu", "--threads", "2");
        assertThat(r.code()).as(r.err()).isZero();
        RnnOutput viaRun;
        try (CpuEngine e = new CpuEngine(lstm, 2)) {
            viaRun = e.run(x, h, c);
        }
        assertThat(Npy.read(y).data()).as("output, lstm 2 layers, T 5, B 3").containsExactly(viaRun.output().data());
        assertThat(Npy.read(hN).data()).as("final h").containsExactly(viaRun.hN().data());
        assertThat(Npy.read(cN).data()).as("final c").containsExactly(viaRun.cN().data());
        assertThat(Npy.read(y).shape()).containsExactly(5, 3, 10);
    }

    @Test
    void referenceEngineFilesHoldItsFloat64RunOnFloat64InputsRoundedToFloat32() {
        // x, h0, c0 are float64 files whose values float32 cannot hold exactly: cpu-reference must see them
        // as they are (the CLI calls run, not runFloat on rounded copies), and the files hold its results rounded
        assertThat(FloatTensor.of(x).toTensor().data()).as("the fixture's input is not float32-exact").isNotEqualTo(x.data());
        assertFilesHoldReferenceRunRounded(input, h0, c0, x, h, c);
    }

    @Test
    void referenceEngineFilesHoldItsRunOnFloat32InputsRoundedToFloat32() {
        // float32 files: the CLI goes through Engine.runFloat, whose default runs run() and rounds
        Tensor x32 = FloatTensor.of(x).toTensor(), h32 = FloatTensor.of(h).toTensor(), c32 = FloatTensor.of(c).toTensor();
        Path in32 = dir.resolve("x32.npy"), h32f = dir.resolve("h32.npy"), c32f = dir.resolve("c32.npy");
        Npy.write(in32, x32, Precision.FP32);
        Npy.write(h32f, h32, Precision.FP32);
        Npy.write(c32f, c32, Precision.FP32);
        assertFilesHoldReferenceRunRounded(in32, h32f, c32f, x32, h32, c32);
    }

    private void assertFilesHoldReferenceRunRounded(Path in, Path hIn, Path cIn, Tensor xs, Tensor hs, Tensor cs) {
        Path y = dir.resolve("y.npy"), hN = dir.resolve("hN.npy"), cN = dir.resolve("cN.npy");
        CliTest.Result r = cli("run", "--model", model.toString(), "--input", in.toString(), "--h0", hIn.toString(),
                "--c0", cIn.toString(), "--output", y.toString(), "--final-h", hN.toString(), "--final-c", cN.toString(),
                "--engine", "cpu-reference");
        assertThat(r.code()).as(r.err()).isZero();
        RnnOutput ref = new CpuReferenceEngine(ModelFiles.load(model, null)).run(xs, hs, cs); // the model as the file holds it (float32)
        assertThat(Npy.read(y).data()).as("output, lstm 2 layers, T 5, B 3, cpu-reference")
                .containsExactly(FloatTensor.of(ref.output()).toTensor().data());
        assertThat(Npy.read(hN).data()).as("final h").containsExactly(FloatTensor.of(ref.hN()).toTensor().data());
        assertThat(Npy.read(cN).data()).as("final c").containsExactly(FloatTensor.of(ref.cN()).toTensor().data());
    }

    @Test
    void truncatedModelFile() throws IOException {
        Path bad = dir.resolve("cut.safetensors");
        byte[] all = Files.readAllBytes(model);
        Files.write(bad, java.util.Arrays.copyOf(all, all.length / 2));
        assertOneLineError(cli("run", "--model", bad.toString(), "--input", input.toString(), "--output",
                dir.resolve("y.npy").toString()), "cut.safetensors");
        assertThat(dir.resolve("y.npy")).doesNotExist();
    }

    @Test
    void inputOfWrongSizeNamesTheFile() {
        Path wrong = dir.resolve("wrong.npy");
        Npy.write(wrong, SyntheticModels.input(5, 3, 7, 1));
        assertOneLineError(cli("run", "--model", model.toString(), "--input", wrong.toString(), "--output",
                dir.resolve("y.npy").toString()), "wrong.npy", "7 features", "input size is 6");
    }

    @Test
    void nanInInputNamesTheElement() {
        Tensor bad = SyntheticModels.input(5, 3, 6, 1);
        bad.data()[3 * 6 + 2] = Double.NaN; // t=1, b=0, i=2
        Path nan = dir.resolve("nan.npy");
        Npy.write(nan, bad);
        assertOneLineError(cli("run", "--model", model.toString(), "--input", nan.toString(), "--output",
                dir.resolve("y.npy").toString()), "nan.npy", "[1][0][2]");
        assertThat(dir.resolve("y.npy")).doesNotExist();
    }

    @Test
    void initialStateOfWrongShape() {
        Path bad = dir.resolve("h0bad.npy");
        Npy.write(bad, SyntheticModels.state(1, 3, 10, 1));
        assertOneLineError(cli("run", "--model", model.toString(), "--input", input.toString(), "--h0", bad.toString(),
                "--output", dir.resolve("y.npy").toString()), "h0bad.npy", "[2, 3, 10]");
    }

    @Test
    void missingTensorIsNamed() {
        Map<String, Tensor> sd = new java.util.TreeMap<>(ModelFiles.toStateDict(lstm));
        sd.remove("weight_hh_l1");
        Path partial = dir.resolve("partial.safetensors");
        Safetensors.write(partial, sd, Map.of("cell", "lstm"), Precision.FP32);
        assertOneLineError(cli("run", "--model", partial.toString(), "--input", input.toString(), "--output",
                dir.resolve("y.npy").toString()), "partial.safetensors", "weight_hh_l1");
    }

    @Test
    void theRnnOfALargerModelIsReadWithModule() throws IOException {
        Map<String, Tensor> sd = new java.util.TreeMap<>();
        ModelFiles.toStateDict(lstm).forEach((k, v) -> sd.put("encoder.rnn." + k, v));
        sd.put("head.weight", Tensor.zeros(2, 10));
        Path big = dir.resolve("big.safetensors");
        Safetensors.write(big, sd, Map.of("cell", "lstm"), Precision.FP32);
        Path y = dir.resolve("y.npy");
        assertOneLineError(cli("run", "--model", big.toString(), "--input", input.toString(), "--output", y.toString()),
                "unexpected tensor 'head.weight'", "name its module: 'encoder.rnn'");
        CliTest.Result r = cli("run", "--model", big.toString(), "--module", "encoder.rnn", "--input", input.toString(), "--output",
                y.toString(), "--engine", "cpu-reference");
        assertThat(r.code()).as(r.err()).isZero();
        Path y0 = dir.resolve("y0.npy");
        assertThat(cli("run", "--model", model.toString(), "--input", input.toString(), "--output", y0.toString(), "--engine",
                "cpu-reference").code()).isZero();
        assertThat(Files.readAllBytes(y)).as("the submodule's RNN is the plain file's").isEqualTo(Files.readAllBytes(y0));
        // a --cell that differs from the file's metadata wins, with a note on stderr
        Path tanh = dir.resolve("tanh.safetensors");
        ModelFiles.save(SyntheticModels.random(CellType.RNN_TANH, 6, 10, 1, 0.3, 1.0, 7), tanh, Precision.FP32);
        r = cli("run", "--model", tanh.toString(), "--cell", "rnn_relu", "--input", input.toString(), "--output", y.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("sprnn run: note:", "the cell given (rnn_relu) overrides the file's metadata cell 'rnn_tanh'");
    }

    @Test
    void unknownCellOption() {
        assertOneLineError(cli("run", "--model", model.toString(), "--cell", "lstmx", "--input", input.toString(),
                "--output", dir.resolve("y.npy").toString()), "lstmx");
    }

    @Test
    void unwritableOutputLeavesNoFile() {
        Path y = dir.resolve("no-such-dir").resolve("y.npy");
        assertOneLineError(cli("run", "--model", model.toString(), "--input", input.toString(), "--output", y.toString()),
                "no-such-dir");
        assertThat(y).doesNotExist();
    }

    @Test
    void finalCellStateOfAGruIsRefused() {
        RnnModel gru = SyntheticModels.random(CellType.GRU, 6, 10, 1, 0.3, 1.0, 7);
        Path g = dir.resolve("gru.safetensors");
        ModelFiles.save(gru, g, Precision.FP32);
        assertOneLineError(cli("run", "--model", g.toString(), "--input", input.toString(), "--output",
                dir.resolve("y.npy").toString(), "--final-c", dir.resolve("c.npy").toString()), "--final-c", "gru");
    }

    @Test
    void unavailableEngineSaysWhy() {
        CliTest.Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--output",
                dir.resolve("y.npy").toString(), "--engine", "nope");
        assertOneLineError(r, "nope");
    }
}

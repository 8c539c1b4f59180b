package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** {@code sprnn run --lengths} and bidirectional models through the CLI (issue 17), and {@code inspect} of one. */
class RunLengthsCommandTest {
    @TempDir
    Path dir;

    Path model, biModel, input;
    RnnModel gru, bi;
    Tensor x;

    @BeforeEach
    void files() {
        gru = SyntheticModels.random(CellType.GRU, 4, 9, 2, 0.5, 1.0, 3);
        bi = SyntheticModels.randomBidirectional(CellType.LSTM, 4, 6, 2, 0.5, 1.0, 4);
        model = dir.resolve("gru.safetensors");
        biModel = dir.resolve("bilstm.safetensors");
        ModelFiles.save(gru, model, Precision.FP32);
        ModelFiles.save(bi, biModel, Precision.FP32);
        x = SyntheticModels.input(6, 4, 4, 5);
        input = dir.resolve("x.npy");
        Npy.write(input, x, Precision.FP32);
    }

    private static RnnOutput reference(RnnModel m, Tensor x, SequenceLengths lengths) {
        try (EngineSelection s = EngineProvider.select(m, EngineOptions.builder().engine("cpu-reference").build())) {
            return s.engine().run(x, null, null, lengths);
        }
    }

    /** A 1-D .npy of {@code descr} ('<i4' or '<i8') holding {@code values}. */
    private Path integers(String name, String descr, long... values) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + values.length + ",), }";
        int unpadded = 10 + dict.length() + 1, total = (unpadded + 63) / 64 * 64;
        int width = descr.endsWith("4") ? 4 : 8;
        ByteBuffer b = ByteBuffer.allocate(total + width * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) (total - 10))
                .put((dict + " ".repeat(total - unpadded) + "\n").getBytes(StandardCharsets.ISO_8859_1));
        for (long v : values) {
            if (width == 4) {
                b.putInt((int) v);
            } else {
                b.putLong(v);
            }
        }
        Path f = dir.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    @Test
    void lengthsAsAListOrAnIntegerNpyGiveThePackedRun() throws IOException {
        RnnOutput ref = reference(gru, x, SequenceLengths.of(6, 2, 5, 1));
        for (String lengths : new String[] {"6,2,5,1", integers("l32.npy", "<i4", 6, 2, 5, 1).toString(),
            integers("l64.npy", "<i8", 6, 2, 5, 1).toString()}) {
            for (String engine : new String[] {"cpu", "cpu-reference", "auto"}) {
                Path y = dir.resolve("y.npy"), hN = dir.resolve("hN.npy");
                CliTest.Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--lengths", lengths,
                        "--output", y.toString(), "--final-h", hN.toString(), "--engine", engine, "--threads", "2");
                assertThat(r.code()).as(lengths + " on " + engine + ": " + r.err()).isZero();
                assertThat(Accuracy.relativeError(Npy.read(y), ref.output())).as(lengths + " on " + engine).isLessThan(1e-6);
                assertThat(Accuracy.relativeError(Npy.read(hN), ref.hN())).as(lengths + " on " + engine).isLessThan(1e-6);
                assertThat(Npy.read(y).data()[(3 * 4 + 1) * 9]).as("step 3 of the sequence of length 2 is zero").isZero();
            }
        }
    }

    @Test
    void badLengthsAreOneLineAndWriteNothing() throws IOException {
        Path y = dir.resolve("y.npy");
        String[][] cases = {
            {"6,2,5", "--lengths: lengths: 3 entries for a batch of 4"},
            {"6,2,5,7", "--lengths: lengths[3] is 7, more than the input's 6 steps"},
            {"6,0,5,1", "--lengths: lengths[1] is 0: every sequence must have at least 1 step"},
            {"6,two,5,1", "--lengths: lengths[1] is 'two', not an integer"},
            {integers("neg.npy", "<i8", 6, -1, 5, 1).toString(), "neg.npy: lengths[1] is -1"},
            {integers("few.npy", "<i4", 6, 2).toString(), "few.npy: lengths: 2 entries for a batch of 4"},
            {dir.resolve("missing.npy").toString(), "missing.npy: no such file"},
            {input.toString(), "x.npy: dtype '<f4' is not supported for lengths: expected int32 or int64"},
        };
        for (String[] c : cases) {
            CliTest.Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--lengths", c[0], "--output", y.toString());
            assertOneLineError(r, c[1]);
        }
        Path truncated = dir.resolve("truncated.npy");
        byte[] whole = Files.readAllBytes(integers("whole.npy", "<i8", 6, 2, 5, 1));
        Files.write(truncated, java.util.Arrays.copyOf(whole, whole.length - 3));
        assertOneLineError(cli("run", "--model", model.toString(), "--input", input.toString(), "--lengths", truncated.toString(),
                "--output", y.toString()), "truncated.npy: shape [4] of <i8 needs 32 bytes of data but the file has 29: truncated");
        Path huge = dir.resolve("huge.npy");
        // a header that claims 10^10 lengths (the padding spaces of the header absorb the longer shape)
        Files.write(huge, new String(Files.readAllBytes(integers("one.npy", "<i8", 1)), StandardCharsets.ISO_8859_1)
                .replace("(1,)", "(9999999999,)").getBytes(StandardCharsets.ISO_8859_1));
        assertOneLineError(cli("run", "--model", model.toString(), "--input", input.toString(), "--lengths", huge.toString(),
                "--output", y.toString()), "huge.npy: 9999999999 lengths, more than the 1048576 accepted");
        Path negative = dir.resolve("negative.npy");
        Files.write(negative, new String(Files.readAllBytes(integers("one.npy", "<i8", 1)), StandardCharsets.ISO_8859_1)
                .replace("(1,)", "(-1,)").getBytes(StandardCharsets.ISO_8859_1));
        assertOneLineError(cli("run", "--model", model.toString(), "--input", input.toString(), "--lengths", negative.toString(),
                "--output", y.toString()), "negative.npy: the header's shape (-1,) has a negative extent: corrupt");
        Path fortran = dir.resolve("fortran.npy");
        Files.write(fortran, new String(Files.readAllBytes(integers("four.npy", "<i8", 6, 2, 5, 1)), StandardCharsets.ISO_8859_1)
                .replace("'fortran_order': False", "'fortran_order': 7    ").getBytes(StandardCharsets.ISO_8859_1));
        assertOneLineError(cli("run", "--model", model.toString(), "--input", input.toString(), "--lengths", fortran.toString(),
                "--output", y.toString()), "fortran.npy: 'fortran_order' is '7', expected False (or True)");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).doesNotContain("y.npy");
        }
    }

    @Test
    void aBidirectionalModelRunsWithLengthsOnTheCpuAndIsInspected() {
        Path y = dir.resolve("y.npy"), hN = dir.resolve("hN.npy"), cN = dir.resolve("cN.npy");
        CliTest.Result r = cli("run", "--model", biModel.toString(), "--input", input.toString(), "--lengths", "3,6,1,4",
                "--output", y.toString(), "--final-h", hN.toString(), "--final-c", cN.toString(), "-v");
        assertThat(r.code()).as(r.err()).isZero();
        if (GpuStatus.problem().isPresent()) { // the GPU engines are out for want of a GPU only, not for the model
            assertThat(r.err()).contains("engine cpu").contains("not cuda-sparse-persistent: " + GpuStatus.problem().get())
                    .doesNotContain("not supported on this engine");
        }
        RnnOutput ref = reference(bi, x, SequenceLengths.of(3, 6, 1, 4));
        assertThat(Npy.read(y).shape()).containsExactly(6, 4, 12);
        assertThat(Npy.read(hN).shape()).containsExactly(4, 4, 6);
        assertThat(Accuracy.relativeError(Npy.read(y), ref.output())).isLessThan(1e-6);
        assertThat(Accuracy.relativeError(Npy.read(cN), ref.cN())).isLessThan(1e-6);

        if (GpuStatus.problem().isPresent()) {
            CliTest.Result gpu = cli("run", "--model", biModel.toString(), "--input", input.toString(), "--output", y.toString(),
                    "--engine", "cuda-gemm");
            assertOneLineError(gpu, "engine cuda-gemm is unavailable: ");
            assertThat(gpu.err()).doesNotContain("bidirectional");
        }

        CliTest.Result inspect = cli("inspect", "--model", biModel.toString());
        assertThat(inspect.code()).as(inspect.err()).isZero();
        assertThat(inspect.out()).contains("cell lstm, 2 layer(s), bidirectional").contains("weight_ih_l1_reverse").contains("[24, 12]");
    }

    @Test
    void namedGpuEnginesTakeLengthsAndAreRefusedOnlyWithoutAGpu() {
        org.junit.jupiter.api.Assumptions.assumeTrue(GpuStatus.problem().isPresent(), "a GPU is here: the GPU check scripts run the engines");
        CliTest.Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--lengths", "6,2,5,1",
                "--output", dir.resolve("y.npy").toString(), "--engine", "cuda-sparse-persistent");
        assertOneLineError(r, "engine cuda-sparse-persistent is unavailable: " + GpuStatus.problem().get());
        assertThat(r.err()).doesNotContain("lengths");
    }

    @Test
    void planAndExplainShowABidirectionalModelsDirectionsAndWhyTheGpuEnginesCannotRunIt() {
        CliTest.Result plan = cli("plan", "--model", biModel.toString(), "--batch", "2");
        assertThat(plan.code()).as(plan.err()).isZero();
        assertThat(plan.out()).contains("a bidirectional model runs as one cuda-sparse-persistent engine per layer and direction")
                .contains("== layer 0 forward").contains("== layer 1 reverse");
        CliTest.Result explain = cli("explain", "--model", biModel.toString(), "--batch", "2");
        assertThat(explain.code()).as(explain.err()).isZero();
        assertThat(explain.out()).contains("2 layer(s) x 2 directions")
                .contains("every engine runs a bidirectional model as one engine per layer and direction").doesNotContain("not supported");
    }
}

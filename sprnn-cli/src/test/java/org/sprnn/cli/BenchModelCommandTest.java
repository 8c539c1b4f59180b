package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;

/** {@code sprnn bench --model}: the user's own model file on the engines asked for, each verified, then timed. */
class BenchModelCommandTest {
    @TempDir
    Path dir;
    Path model;

    @BeforeEach
    void aStackedPrunedGru() {
        model = dir.resolve("gru.safetensors");
        ModelFiles.save(SyntheticModels.random(CellType.GRU, 5, 12, 2, 0.25, 1.0, 3), model, Precision.FP32);
    }

    /** stdout of the command: bench prints its table there (System.out, for the launcher's pipes). */
    private static String[] run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        CliTest.Result r;
        try {
            r = cli(args);
        } finally {
            System.setOut(saved);
        }
        return new String[] {String.valueOf(r.code()), bytes.toString(StandardCharsets.UTF_8) + r.out(), r.err()};
    }

    @Test
    void timesTheModelOnEachEngineWithItsOwnShape() throws Exception {
        String[] r = run("bench", "--model", model.toString(), "--batch", "3", "--steps", "6", "--engines", "cpu,cpu-reference",
                "--reps", "20", "--warmup", "1", "--out-dir", dir.toString());
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("gru x2, hidden 12, input 5, batch 3").contains("| cpu | fp32 |").contains("| cpu-reference | fp64 |")
                .contains("wall clock around run(), 20 runs");
        List<String> csv = Files.readAllLines(dir.resolve("bench.csv"), StandardCharsets.UTF_8);
        assertThat(csv).hasSize(3);
        assertThat(csv.get(1)).contains(",gru,2,12,5,3,").contains("," + model + ",");
    }

    @Test
    void severalModelsOneAfterTheOtherInOneTableRatiosToTheFirst() throws Exception {
        Path other = dir.resolve("gru-denser.safetensors");
        ModelFiles.save(SyntheticModels.random(CellType.GRU, 5, 12, 2, 0.5, 1.0, 4), other, Precision.FP32);
        String[] r = run("bench", "--model", model.toString(), "--model", other.toString(), "--batch", "2", "--steps", "5",
                "--engines", "cpu-reference", "--reps", "20", "--warmup", "1", "--out-dir", dir.toString());
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("model 1: 'gru.safetensors'").contains("model 2: 'gru-denser.safetensors'")
                .contains("| model | engine |").contains("| 1 | cpu-reference | fp64 |").contains("| 2 | cpu-reference | fp64 |");
        List<String> csv = Files.readAllLines(dir.resolve("bench.csv"), StandardCharsets.UTF_8);
        assertThat(csv).hasSize(3);
        assertThat(csv.get(1)).contains("," + model + ",");
        assertThat(csv.get(2)).contains("," + other + ",");
        // a bad second model is refused before anything runs
        assertOneLineError(cli("bench", "--model", model.toString(), "--model", dir.resolve("nope.safetensors").toString(),
                "--engines", "cpu-reference", "--reps", "20"), "nope.safetensors");
    }

    @Test
    void anInputFileSetsBatchAndSteps() {
        Path x = dir.resolve("x.npy");
        Npy.write(x, SyntheticModels.input(7, 2, 5, 9), Precision.FP32);
        String[] r = run("bench", "--model", model.toString(), "--input", x.toString(), "--engines", "cpu-reference", "--reps", "20");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("batch 2").contains("T 7 (input from the file)");
    }

    @Test
    void wrongOrContradictoryArgumentsAreOneLine() {
        Path x = dir.resolve("x4.npy");
        Npy.write(x, SyntheticModels.input(3, 2, 4, 9), Precision.FP32); // 4 features where the model has 5
        assertOneLineError(cli("bench", "--model", model.toString(), "--input", x.toString(), "--engines", "cpu"), "input");
        assertOneLineError(cli("bench", "--model", model.toString(), "--hidden", "64", "--engines", "cpu"), "--hidden", "model file");
        assertOneLineError(cli("bench", "--model", model.toString(), "--input", x.toString(), "--batch", "2", "--engines", "cpu"), "--batch");
        assertOneLineError(cli("bench", "--input", "x.npy", "--engines", "cpu"), "--input", "--model");
        assertOneLineError(cli("bench", "--model", dir.resolve("missing.safetensors").toString(), "--engines", "cpu"), "missing.safetensors");
    }

    @Test
    void noEngineThatCanRunIsAnErrorNotAnEmptyTable() {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.sprnn.engine.cuda.GpuStatus.deviceLimits().isEmpty(), "a GPU is present");
        String[] r = run("bench", "--model", model.toString(), "--engines", "cuda-gemm,cuda-spmm");
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2].strip().lines()).hasSize(1);
        assertThat(r[2]).contains("no engine of --engines cuda-gemm,cuda-spmm could run here", "without a GPU: --engines cpu,cpu-reference");
        // by default every GPU engine, each saying why it cannot run here
        String[] all = run("bench", "--model", model.toString());
        assertThat(all[0]).isEqualTo("2");
        assertThat(all[1]).contains("cuda-sparse-persistent fp16: unavailable", "cuda-dense-persistent fp16: unavailable",
                "cuda-cudnn:auto fp16: unavailable");
        assertThat(all[2]).contains("no engine of --engines cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm,cuda-spmm,cuda-cudnn could run here");
        assertThat(r[1]).contains("cuda-gemm fp16: unavailable");
    }

    @Test
    void rowsAreNeverAppendedUnderAnotherHeader() throws Exception {
        Files.writeString(dir.resolve("bench.csv"), "date,device,engine,hidden\nx,y,cpu,12\n", StandardCharsets.UTF_8);
        String[] r = run("bench", "--model", model.toString(), "--engines", "cpu", "--reps", "20", "--out-dir", dir.toString());
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2].strip().lines()).hasSize(1);
        assertThat(r[2]).contains("bench.csv").contains("another layout");
        assertThat(Files.readAllLines(dir.resolve("bench.csv"), StandardCharsets.UTF_8)).hasSize(2);
    }

    @Test
    void aModelFileWithoutItsCellTakesItFromCellAsRunDoes() {
        java.nio.file.Path npz = dir.resolve("gru.npz");
        ModelFiles.save(SyntheticModels.random(CellType.GRU, 5, 12, 1, 0.25, 1.0, 3), npz, Precision.FP32);
        String[] r = run("bench", "--model", npz.toString(), "--engines", "cpu");
        assertThat(r[0]).isEqualTo("2"); // an npz does not record the cell
        assertThat(r[2].strip().lines()).hasSize(1);
        assertThat(r[2]).contains("pass --cell");
        String[] ok = run("bench", "--model", npz.toString(), "--cell", "gru", "--engines", "cpu", "--steps", "3", "--reps", "20");
        assertThat(ok[0]).as(ok[2]).isEqualTo("0");
        assertThat(ok[1]).contains("gru");
        // the old name still works for scripts written against it, never beside the new one
        String[] old = run("bench", "--model", npz.toString(), "--model-cell", "gru", "--engines", "cpu", "--steps", "3", "--reps", "20");
        assertThat(old[0]).as(old[2]).isEqualTo("0");
        String[] both = run("bench", "--model", npz.toString(), "--cell", "gru", "--model-cell", "gru", "--engines", "cpu");
        assertThat(both[0]).isEqualTo("2");
        assertThat(both[2]).contains("--model-cell").contains("old name of --cell");
        assertThat(run("bench", "--help")[1]).doesNotContain("--model-cell");
    }

    @Test
    void aBidirectionalModelIsVerifiedAndTimedAndItsModesChecked() {
        Path bi = dir.resolve("bi.safetensors");
        ModelFiles.save(SyntheticModels.randomBidirectional(CellType.LSTM, 5, 8, 2, 0.5, 1.0, 4), bi, Precision.FP32);
        String[] r = run("bench", "--model", bi.toString(), "--batch", "2", "--steps", "5", "--engines", "cpu,cpu-reference",
                "--reps", "20", "--warmup", "1", "--wall-seconds", "5");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("lstm x2, hidden 8").contains("| cpu | fp32 |").contains("| cpu-reference | fp64 |");
        // a synthetic bidirectional layer: states of both directions; the GPU engines' modes are rows only there, checked always
        r = run("bench", "--bidirectional", "--cell", "gru", "--hidden", "6", "--density", "0.5", "--batch", "2", "--steps", "4",
                "--engines", "cpu", "--reps", "20", "--warmup", "0", "--wall-seconds", "5");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[1]).contains("bidirectional gru layer: hidden 6");
        assertOneLineError(cli("bench", "--bidir-modes", "both", "--engines", "cpu", "--hidden", "6"), "--bidir-modes", "'both'");
        assertOneLineError(cli("bench", "--model", bi.toString(), "--bidirectional", "--engines", "cpu"), "--bidirectional", "model file");
    }
}

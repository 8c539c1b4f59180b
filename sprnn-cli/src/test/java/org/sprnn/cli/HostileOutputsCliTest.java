package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;

/**
 * What a second fuzzing round (session 23) found in the commands' outputs: each now one line, exit 2, and nothing the
 * command reads or had written before is lost.
 */
class HostileOutputsCliTest {
    @TempDir
    Path dir;
    Path model;
    byte[] modelBytes;

    @BeforeEach
    void files() throws Exception {
        model = dir.resolve("m.safetensors");
        ModelFiles.save(SyntheticModels.random(CellType.LSTM, 4, 6, 1, 0.5, 1.0, 1), model, Precision.FP32);
        modelBytes = Files.readAllBytes(model);
    }

    private static CliTest.Result stream(byte[] stdin, OutputStream stdout, String... args) {
        String[] full = new String[args.length + 1];
        full[0] = "stream";
        System.arraycopy(args, 0, full, 1, args.length);
        StringWriter err = new StringWriter();
        int code = Main.execute(full, new ByteArrayInputStream(stdin), stdout, new PrintWriter(new StringWriter()), new PrintWriter(err, true));
        return new CliTest.Result(code, "", err.toString());
    }

    @Test
    void streamDoesNotWriteItsFinalStatesOverWhatItReads() throws Exception {
        Path h0 = dir.resolve("h0.npy");
        Npy.write(h0, SyntheticModels.state(1, 2, 6, 3));
        byte[] h0Bytes = Files.readAllBytes(h0);
        assertOneLineError(stream(new byte[0], OutputStream.nullOutputStream(), "--model", model.toString(), "--batch", "2",
                "--final-h", model.toString()), "--final-h", "is also --model", "does not write over what it reads");
        assertOneLineError(stream(new byte[0], OutputStream.nullOutputStream(), "--model", model.toString(), "--batch", "2",
                "--h0", h0.toString(), "--final-c", h0.toString()), "--final-c", "is also --h0");
        assertThat(Files.readAllBytes(model)).isEqualTo(modelBytes);
        assertThat(Files.readAllBytes(h0)).isEqualTo(h0Bytes);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void streamStopsWhenItsStdoutCannotBeWrittenAndWritesNoFinalState() {
        // a PrintStream whose writes fail, as System.out does on a closed pipe or a full disk (it only remembers the error)
        PrintStream broken = new PrintStream(new OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                throw new java.io.IOException("Broken pipe");
            }
        });
        byte[] frames = new byte[4 * 2 * 4 * 100]; // 100 raw frames of batch 2, input 4: zeros
        Path finalH = dir.resolve("h.npy");
        CliTest.Result r = stream(frames, broken, "--model", model.toString(), "--batch", "2", "--format", "raw",
                "--final-h", finalH.toString());
        assertOneLineError(r, "stdout: cannot write frame 0", "no final state was written");
        assertThat(finalH).doesNotExist();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void benchOutDirTargetsThatAreNoRegularFilesAreRefusedBeforeTheRuns() throws Exception {
        String[] bench = {"bench", "--model", model.toString(), "--engines", "cpu", "--steps", "2", "--reps", "20",
                "--wall-seconds", "1", "--warmup", "1", "--out-dir"};
        Path fifoDir = Files.createDirectory(dir.resolve("fifo"));
        boolean fifo;
        try {
            fifo = new ProcessBuilder("mkfifo", fifoDir.resolve("bench.csv").toString()).start().waitFor() == 0;
        } catch (java.io.IOException e) {
            fifo = false; // no mkfifo here: the other cases still run
        }
        if (fifo) { // a pipe would block the header check's read forever
            CliTest.Result r = cli(append(bench, fifoDir.toString()));
            assertOneLineError(r, "bench.csv", "not a regular file");
        }
        Path jsonlDir = Files.createDirectory(dir.resolve("jsonl"));
        Files.createDirectory(jsonlDir.resolve("bench.jsonl"));
        CliTest.Result r = cli(append(bench, jsonlDir.toString()));
        assertOneLineError(r, "bench.jsonl", "not a regular file");
        assertThat(r.out()).doesNotContain("| cpu |"); // refused before any engine ran
        assertThat(jsonlDir.resolve("bench.csv")).doesNotExist();
        // a device (a link to /dev/zero, whose first line never ends) is no regular file either
        Path zeroDir = Files.createDirectory(dir.resolve("zero"));
        Files.createSymbolicLink(zeroDir.resolve("bench.csv"), Path.of("/dev/zero"));
        assertOneLineError(cli(append(bench, zeroDir.toString())), "bench.csv", "not a regular file");
        // a regular file of one 64 MB line is read only as far as a header can reach
        Path longDir = Files.createDirectory(dir.resolve("long"));
        try (var w = Files.newBufferedWriter(longDir.resolve("bench.csv"))) {
            char[] x = new char[1 << 20];
            java.util.Arrays.fill(x, 'x');
            for (int k = 0; k < 64; k++) {
                w.write(x);
            }
        }
        long t0 = System.nanoTime();
        assertOneLineError(cli(append(bench, longDir.toString())), "bench.csv", "another layout");
        assertThat((System.nanoTime() - t0) / 1e9).as("seconds to refuse it").isLessThan(20);
    }

    @Test
    void benchAppendsToAnEmptyOrCrlfOrUnterminatedCsvOfItsOwnHeader() throws Exception {
        String[] bench = {"bench", "--model", model.toString(), "--engines", "cpu", "--steps", "2", "--reps", "20",
                "--wall-seconds", "1", "--warmup", "1", "--out-dir"};
        Path first = Files.createDirectory(dir.resolve("first"));
        assertThat(cli(append(bench, first.toString())).code()).isZero();
        String header = Files.readAllLines(first.resolve("bench.csv")).get(0);
        for (String start : new String[] {"", header + "\r\n", header}) {
            Path d = Files.createTempDirectory(dir, "csv");
            Files.writeString(d.resolve("bench.csv"), start);
            CliTest.Result r = cli(append(bench, d.toString()));
            assertThat(r.code()).as(r.err()).isZero();
            java.util.List<String> lines = Files.readAllLines(d.resolve("bench.csv"));
            assertThat(lines.get(0).strip()).isEqualTo(header);
            assertThat(lines).hasSize(2); // the header, then the row on a line of its own
        }
    }

    @Test
    void plotSaysWhyItCouldNotWriteTheChart() throws Exception {
        Path csv = dir.resolve("bench.csv");
        CliTest.Result made = cli("bench", "--model", model.toString(), "--engines", "cpu", "--steps", "2", "--reps", "20",
                "--wall-seconds", "1", "--warmup", "1", "--out-dir", dir.toString());
        assertThat(made.code()).as(made.err()).isZero();
        Path folder = Files.createDirectory(dir.resolve("chart.png"));
        assertOneLineError(cli("plot", csv.toString(), "--out", folder.toString()), "--out", "not a regular file");
        if (Files.isDirectory(Path.of("/proc/self"))) { // Linux: /proc takes no new files, not even root's
            CliTest.Result r = cli("plot", csv.toString(), "--out", "/proc/sprnn-chart.png");
            assertOneLineError(r, "--out", "cannot write the chart");
        }
        assertOneLineError(cli("plot", dir.toString(), "--out", dir.resolve("c.png").toString()), "not a regular file");
    }

    @Test
    void runDoesNotWriteOverALengthsFileOfAnyName() throws Exception {
        Path x = dir.resolve("x.npy");
        Npy.write(x, SyntheticModels.input(5, 2, 4, 2));
        Path lengths = dir.resolve("lenfile");
        Npy.write(lengths.resolveSibling("l.npy"), SyntheticModels.input(1, 1, 2, 1)); // any bytes: never read
        Files.copy(lengths.resolveSibling("l.npy"), lengths);
        byte[] before = Files.readAllBytes(lengths);
        assertOneLineError(cli("run", "--model", model.toString(), "--input", x.toString(), "--lengths", lengths.toString(),
                "--output", lengths.toString()), "--output", "is also --lengths");
        assertThat(Files.readAllBytes(lengths)).isEqualTo(before);
        assertOneLineError(cli("run", "--model", model.toString(), "--input", x.toString(), "--output", ""), "--output",
                "empty file name");
    }

    @Test
    void demoWritesItsModelAndInputBothOrNeither() {
        Path same = dir.resolve("d.safetensors");
        assertOneLineError(cli("demo", "--hidden", "8", "--steps", "4", "--repeats", "3", "--save-model", same.toString(),
                "--save-input", same.toString()), "--save-input", "model file's name");
        assertThat(same).doesNotExist();
        Path noDir = dir.resolve("missing").resolve("x.npy");
        Path m = dir.resolve("ok.safetensors");
        CliTest.Result r = cli("demo", "--hidden", "8", "--steps", "4", "--repeats", "3", "--save-model", m.toString(),
                "--save-input", noDir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(m).as("the model is not written where the input cannot be").doesNotExist();
    }

    private static String[] append(String[] a, String last) {
        String[] b = java.util.Arrays.copyOf(a, a.length + 1);
        b[a.length] = last;
        return b;
    }
}

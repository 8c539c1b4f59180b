package org.sprnn.cli;

// `sprnn run`'s output files as one unit, through both of its write paths (the cpu engine's float32 one
// and the Tensor one of every other engine): a bad --final-h or --final-c leaves no --output behind, a
// target that is not a regular file is refused and kept, and a run ended by SIGTERM while it writes
// leaves neither a file nor a temporary file. Every failure is exit code 2 and one line on stderr.

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;

class RunOutputFilesTest {
    @TempDir
    Path dir;

    Path model, input, out;

    @BeforeEach
    void files() throws IOException {
        model = dir.resolve("lstm.safetensors");
        ModelFiles.save(SyntheticModels.random(CellType.LSTM, 6, 10, 2, 0.3, 1.0, 7), model, Precision.FP32);
        input = dir.resolve("x.npy");
        Npy.write(input, SyntheticModels.input(5, 3, 6, 8));
        out = Files.createDirectory(dir.resolve("out"));
    }

    private List<String> outNames() throws IOException {
        try (Stream<Path> s = Files.list(out)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private CliTest.Result run(String engine, String... outputs) {
        List<String> args = new ArrayList<>(List.of("run", "--model", model.toString(), "--input", input.toString(),
                "--engine", engine, "--threads", "2"));
        args.addAll(List.of(outputs));
        return cli(args.toArray(String[]::new));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "cpu-reference"})
    void allThreeFilesAreWritten(String engine) throws IOException {
        CliTest.Result r = run(engine, "--output", out.resolve("y.npy").toString(), "--final-h", out.resolve("h.npy").toString(),
                "--final-c", out.resolve("c.npy").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(outNames()).containsExactly("c.npy", "h.npy", "y.npy");
        assertThat(Npy.read(out.resolve("h.npy")).shape()).containsExactly(2, 3, 10);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "cpu-reference"})
    void badFinalStateTargetLeavesNoOutput(String engine) throws IOException {
        Path y = out.resolve("y.npy");
        Path missing = out.resolve("no-such-dir").resolve("h.npy");
        assertOneLineError(run(engine, "--output", y.toString(), "--final-h", missing.toString()), missing.toString(), "does not exist");
        assertThat(outNames()).as("no --output and no temporary file").isEmpty();

        Path cDir = Files.createDirectory(out.resolve("c.npy"));
        Files.writeString(y, "previous output");
        assertOneLineError(run(engine, "--output", y.toString(), "--final-h", out.resolve("h.npy").toString(),
                "--final-c", cDir.toString()), cDir.toString(), "is a directory");
        assertThat(Files.readString(y)).as("the earlier --output is untouched").isEqualTo("previous output");
        assertThat(outNames()).containsExactly("c.npy", "y.npy");
    }

    @org.junit.jupiter.api.Test
    void badTargetsAreRefusedBeforeAnyWork() throws IOException {
        // the model does not exist: a refusal that names the output proves the targets are checked first
        Path cDir = Files.createDirectory(out.resolve("c.npy"));
        CliTest.Result r = CliTest.cli("run", "--model", out.resolve("no-model.safetensors").toString(), "--input",
                out.resolve("no-input.npy").toString(), "--output", out.resolve("y.npy").toString(), "--final-h", cDir.toString());
        assertOneLineError(r, cDir.toString(), "is a directory");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "cpu-reference"})
    void sameFileForTwoOutputsIsRefused(String engine) throws IOException {
        Path y = out.resolve("y.npy");
        assertOneLineError(run(engine, "--output", y.toString(), "--final-h", out.resolve(".").resolve("y.npy").toString()),
                "named twice");
        assertThat(outNames()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "cpu-reference"})
    void symbolicLinkTargetIsRefusedAndKept(String engine) throws IOException {
        Path real = Files.writeString(dir.resolve("real.npy"), "real");
        Path link = Files.createSymbolicLink(out.resolve("y.npy"), real);
        assertOneLineError(run(engine, "--output", link.toString()), link.toString(), "symbolic link", "not a regular file");
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.readString(real)).isEqualTo("real");
        assertThat(outNames()).containsExactly("y.npy");
    }

    @Test
    void namedPipeTargetIsRefusedAndKept() throws Exception {
        Path fifo = out.resolve("h.npy");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        Assumptions.assumeTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mkfifo is not available");
        assertOneLineError(run("cpu", "--output", out.resolve("y.npy").toString(), "--final-h", fifo.toString()),
                fifo.toString(), "named pipe");
        assertThat(Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(outNames()).containsExactly("h.npy");
    }

    @Test
    void deviceTargetIsRefusedAndKept() throws Exception {
        // as root, --output /dev/null would have been replaced by a regular file; a copy of its node here
        Path dev = out.resolve("null");
        Process mk = new ProcessBuilder("mknod", dev.toString(), "c", "1", "3").start();
        Assumptions.assumeTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mknod needs root");
        assertOneLineError(run("cpu-reference", "--output", dev.toString()), dev.toString(), "character device");
        assertThat((Integer) Files.getAttribute(dev, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000).isEqualTo(0020000);
        assertThat(outNames()).containsExactly("null");
    }

    @Test
    void leftoverOfAKilledRunIsRemovedByTheNextRun() throws Exception {
        // what kill -9 during a write leaves: the temporary file of a process that is gone, some time ago
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor(10, TimeUnit.SECONDS);
        Assumptions.assumeTrue(ProcessHandle.of(gone.pid()).isEmpty(), "pid reused at once");
        Path leftover = Files.writeString(out.resolve(".y.npy.sprnn-" + gone.pid() + "-k9.tmp"), "partial");
        Files.setLastModifiedTime(leftover, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(60)));
        CliTest.Result r = run("cpu", "--output", out.resolve("y.npy").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(outNames()).containsExactly("y.npy");
    }

    /**
     * A real {@code sprnn run} in a child JVM, made to pause in its first write (the test-only system
     * property of AtomicFiles), is sent SIGTERM once its temporary file exists.
     */
    @Test
    void sigtermWhileWritingLeavesNoFileAndNoTemporaryFile() throws Exception {
        Path y = Files.writeString(out.resolve("y.npy"), "previous output");
        Path h = out.resolve("h.npy");
        Path err = dir.resolve("stderr.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // the launcher's JVM flags; the launcher also drops the JVM's incubator line from stderr, as the check below does
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-Dsprnn.test.atomicFilesPauseMillis=120000",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "--model", model.toString(),
                "--input", input.toString(), "--engine", "cpu", "--threads", "2", "--output", y.toString(), "--final-h", h.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (outNames().stream().noneMatch(n -> n.endsWith(".tmp")) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(outNames()).as("the child is writing (stderr: %s)", Files.readString(err))
                    .anyMatch(n -> n.startsWith(".y.npy.sprnn-" + p.pid() + "-") && n.endsWith(".tmp"));
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the child ended").isTrue();
            assertThat(p.exitValue()).as("ended by SIGTERM").isEqualTo(128 + 15);
            assertThat(outNames()).as("no temporary file, no --final-h").containsExactly("y.npy");
            assertThat(Files.readString(y)).isEqualTo("previous output");
            assertThat(Files.readString(err, StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.equals("WARNING: Using incubator modules: jdk.incubator.vector")))
                    .as("nothing on stderr").isEmpty();
        } finally {
            p.destroyForcibly();
        }
    }
}

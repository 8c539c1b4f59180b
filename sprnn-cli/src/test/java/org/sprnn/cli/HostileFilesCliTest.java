package org.sprnn.cli;

// The hostile-file corpus (sprnn-core's src/test/resources/hostile, copied onto this module's test class
// path by its pom) through the commands a user runs: `sprnn run` with the file as --model, --input, --h0
// or --c0, and `sprnn inspect`. Each must end with exit code 2, exactly one printable line on stderr
// naming the file, no stack trace, and no output file.

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.io.Safetensors;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;

class HostileFilesCliTest {
    @TempDir
    Path dir;

    Path model, input, h0, c0, output;

    @BeforeEach
    void goodFiles() {
        RnnModel lstm = SyntheticModels.random(CellType.LSTM, 3, 4, 1, 1.0, 1.0, 5);
        model = dir.resolve("lstm.safetensors");
        ModelFiles.save(lstm, model, Precision.FP32);
        input = dir.resolve("x.npy");
        h0 = dir.resolve("h0.npy");
        c0 = dir.resolve("c0.npy");
        Npy.write(input, SyntheticModels.input(2, 1, 3, 1));
        Npy.write(h0, SyntheticModels.state(1, 1, 4, 2));
        Npy.write(c0, SyntheticModels.state(1, 1, 4, 3));
        output = dir.resolve("y.npy");
    }

    private static Path hostile(String name) {
        try {
            return Path.of(HostileFilesCliTest.class.getResource("/hostile/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("hostile/" + name + " is not on the test class path (see sprnn-cli/pom.xml)", e);
        }
    }

    /** Exit code 2, one printable stderr line "sprnn <command>: <file>..." holding the fragment, no output. */
    private void assertRefused(CliTest.Result r, String command, Path file, String fragment) {
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err().lines()).as(r.err()).hasSize(1);
        String line = r.err().strip();
        assertThat(line).startsWith("sprnn " + command + ": " + file).contains(fragment)
                .doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(line.codePoints().filter(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT))
                .as("control characters on stderr: %s", line).isEmpty();
        assertThat(r.out()).isEmpty();
        assertThat(output).as("no output file").doesNotExist();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "crc-flipped-stored.npz       | CRC-32 mismatch",
        "crc-flipped-deflated.npz     | CRC-32 mismatch",
        "control-chars-entry.npz      | unexpected tensor 'weight_hh_l0\\x0a sprnn: all good\\x1b[2J'",
        "torch-state-dict.pt          | scripts/torch_to_safetensors.py",
        "torch-legacy.pt              | a Python pickle",
        "float-shape.safetensors      | shape [144.0,16.0] holds 144.0",
        "float-offsets.safetensors    | data_offsets [0.0,24.0] holds 0.0",
        "exponent-offsets.safetensors | not a byte offset (a float",
        "overflow-offsets.safetensors | not a byte offset (too large)",
        "control-chars-name.safetensors | tensor 'weight_ih_l0\\x0a sprnn: all good\\x1b[2J\\x1b[31m' has dtype 'F32\\u202e'",
        "deep-nesting.safetensors     | nesting depth"})
    void hostileModelIsRefusedByRunAndInspect(String name, String fragment) {
        Path bad = hostile(name);
        assertRefused(cli("run", "--model", bad.toString(), "--cell", "lstm", "--input", input.toString(), "--output",
                output.toString(), "--engine", "cpu-reference"), "run", bad, fragment);
        assertRefused(cli("inspect", "--model", bad.toString(), "--cell", "lstm"), "inspect", bad, fragment);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "deep-nesting.npy        | nested deeper than 16 levels",
        "float-shape.npy         | shape (144.0, 16.0) holds 144.0, a float",
        "exponent-shape.npy      | shape (1e3,) holds 1e3, a float",
        "huge-extent.npy         | an integer out of range",
        "version-1-5.npy         | unsupported .npy format version 1.5",
        "version-2-7.npy         | unsupported .npy format version 2.7",
        "control-chars-descr.npy | dtype '<f4\\x0a sprnn: all good\\x1b[2J\\x1b[31m' is not supported"})
    void hostileArrayIsRefusedAsInputAndInitialStates(String name, String fragment) {
        Path bad = hostile(name);
        String[][] uses = {
            {"--input", bad.toString(), "--h0", h0.toString(), "--c0", c0.toString()},
            {"--input", input.toString(), "--h0", bad.toString(), "--c0", c0.toString()},
            {"--input", input.toString(), "--h0", h0.toString(), "--c0", bad.toString()}};
        for (String[] use : uses) {
            List<String> args = new ArrayList<>(List.of("run", "--model", model.toString(), "--output", output.toString(),
                    "--engine", "cpu-reference"));
            args.addAll(List.of(use));
            assertRefused(cli(args.toArray(String[]::new)), "run", bad, fragment);
        }
    }

    @Test
    void zipBombModelIsRefusedInOneLine() throws IOException {
        // a deflated entry of 64 MiB (a small array, then zeros): refused from its recorded size alone
        byte[] array = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            z.setLevel(9);
            z.putNextEntry(new ZipEntry("weight_ih_l0.npy"));
            z.write(array);
            byte[] mib = new byte[1 << 20];
            for (int i = 0; i < 64; i++) {
                z.write(mib);
            }
            z.closeEntry();
        }
        Path bomb = dir.resolve("bomb.npz");
        Files.write(bomb, bytes.toByteArray());
        String fragment = ":weight_ih_l0.npy: the archive records " + (array.length + (64 << 20)) + " bytes uncompressed "
                + "but the entry's .npy header (shape [4]) needs " + array.length + ": corrupt";
        assertRefused(cli("run", "--model", bomb.toString(), "--cell", "lstm", "--input", input.toString(), "--output",
                output.toString()), "run", bomb, fragment);
        assertRefused(cli("inspect", "--model", bomb.toString(), "--cell", "lstm"), "inspect", bomb, fragment);
    }

    @Test
    void longNpyHeaderAsInitialStateIsRefusedInOneLine() throws IOException {
        Path longHeader = dir.resolve("long.npy");
        Files.write(longHeader, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 4), }" + " ".repeat(70_000), 16));
        assertRefused(cli("run", "--model", model.toString(), "--input", input.toString(), "--h0", longHeader.toString(),
                "--output", output.toString()), "run", longHeader, "longer than the 65536 sprnn reads");
    }

    @Test
    void megabyteMetadataIsCutInTheMessage() {
        Path meta = dir.resolve("meta.safetensors");
        Safetensors.write(meta, ModelFiles.toStateDict(SyntheticModels.random(CellType.GRU, 3, 4, 1, 1.0, 1.0, 1)),
                Map.of("cell", "\n".repeat(1_000_000)), Precision.FP32);
        CliTest.Result r = cli("inspect", "--model", meta.toString());
        assertRefused(r, "inspect", meta, "unknown cell '\\x0a\\x0a");
        assertThat(r.err()).contains("(1000000 characters in all)").hasSizeLessThan(meta.toString().length() + 300);
    }

    /** A format 2.0 .npy (4-byte header length) of this header dict and {@code dataBytes} zero bytes. */
    private static byte[] npy(String dict, int dataBytes) {
        byte[] header = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12 + header.length + dataBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(header.length).put(header);
        return b.array();
    }

    /** Exit code 2 and one printable stderr line holding each fragment (session 22's fuzzing found each of these). */
    private static void assertOneClearLine(CliTest.Result r, String... fragments) {
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("internal error").contains(fragments);
        assertThat(r.err().strip().codePoints().filter(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT))
                .as("control characters on stderr: %s", r.err()).isEmpty();
    }

    @Test
    void optionValuesAndPathsAreEscapedInMessages() {
        assertOneClearLine(cli("run", "--model", model.toString(), "--input", input.toString(), "--output", output.toString(),
                "--engine", "cp\u001b[2Ju\nX"), "\\x1b[2Ju\\x0aX");
        assertOneClearLine(cli("inspect", "--model", dir.resolve("no\nsuch\u202e.safetensors").toString()), "no\\x0asuch\\u202e");
        assertOneClearLine(cli("demo", "--density", "0.\u001b5"), "0.\\x1b5");
        assertThat(output).doesNotExist();
    }

    @Test
    void aModelThatIsNotARegularFileIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("m.safetensors");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo is not available");
        assertOneClearLine(cli("inspect", "--model", fifo.toString()), fifo.toString(), "not a regular file");
        assertOneClearLine(cli("inspect", "--model", fifo.toString(), "--cell", "lstm"), "not a regular file");
        Path npz = dir.resolve("m.npz");
        new ProcessBuilder("mkfifo", npz.toString()).start().waitFor();
        assertOneClearLine(cli("prune", "--model", npz.toString(), "--cell", "lstm", "--density", "0.5", "--output",
                dir.resolve("o.npz").toString()), "not a regular file");
    }

    @Test
    void sizesThatOverflowAreRefusedBeforeAnyWork() {
        assertOneClearLine(cli("plan", "--hidden", "64", "--batch", "2147483647"), "--batch");
        assertOneClearLine(cli("plan", "--model", model.toString(), "--batch", "1073741825"), "--batch");
        assertOneClearLine(cli("plan", "--hidden", "65536"), "[65536, 65536] is too large");
        assertOneClearLine(cli("plan", "--hidden", "1000000"), "[1000000, 1000000] is too large");
        assertOneClearLine(cli("bench", "--hidden", "46341", "--batch", "1", "--engines", "cpu"), "46341", "is too large");
        assertOneClearLine(cli("bench", "--engines", "cpu", "--hidden", "8", "--input", "2147483647"), "2147483647", "is too large");
        assertOneClearLine(cli("explain", "--model", model.toString(), "--batch", "2147483647"), "--batch 2147483647", "1 to 65536");
        assertOneClearLine(cli("explain", "--model", model.toString(), "--batch", "0"), "--batch");
    }

    @Test
    void outputsThatAreNotWritableAsAskedAreRefused() {
        assertOneClearLine(cli("bench", "--model", model.toString(), "--model-cell", "lstm", "--engines", "cpu", "--reps", "20",
                "--out-dir", model.toString()), model.toString(), "not a directory");
        long before = model.toFile().length();
        assertOneClearLine(cli("run", "--model", model.toString(), "--input", input.toString(), "--engine", "cpu",
                "--output", model.toString()), "--output", "the model");
        assertOneClearLine(cli("run", "--model", model.toString(), "--input", input.toString(), "--engine", "cpu",
                "--output", input.toString()), "--output", "--input");
        assertOneClearLine(cli("run", "--model", model.toString(), "--input", input.toString(), "--engine", "cpu",
                "--output", dir.resolve("y.safetensors").toString()), "--output", "a model file's name");
        assertThat(model.toFile().length()).isEqualTo(before);
        assertThat(dir.resolve("y.safetensors")).doesNotExist();
        Path lengths = dir.resolve("lengths.npy");
        Npy.write(lengths, new org.sprnn.model.Tensor(new int[] {1}, new double[] {2}));
        assertOneClearLine(cli("run", "--model", model.toString(), "--input", input.toString(), "--engine", "cpu",
                "--lengths", lengths.toString(), "--output", lengths.toString()), "--output", "--lengths");
        // any other name is still written (scripts pass mktemp's names)
        Path plain = dir.resolve("out");
        CliTest.Result ok = cli("run", "--model", model.toString(), "--input", input.toString(), "--engine", "cpu", "--output", plain.toString());
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(Npy.read(plain).shape()).containsExactly(2, 1, 4);
    }
}

package org.sprnn.io;

// Every way an untrusted file has broken sprnn's loaders, each pinned to its exact refusal: the small
// files of src/test/resources/hostile/ (written by scripts/make_hostile.py; the corpus README lists them)
// and the ones too large to commit, built here: a 2 MB zip bomb that inflates to 1.9 GiB, a .npy header
// one byte over 64 KiB, a 1 MB metadata string. A refusal is one line naming the file, quick, and cheap
// in memory.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.Tensor;

class HostileFilesTest {

    @TempDir
    Path dir;

    /** The corpus file of that name. */
    static Path hostile(String name) {
        try {
            return Path.of(HostileFilesTest.class.getResource("/hostile/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("corpus file hostile/" + name + " is missing (scripts/make_hostile.py writes it)", e);
        }
    }

    /** Asserts that {@code load} refuses {@code file} with exactly {@code file + ": " + problem}, on one line. */
    static void assertRefusal(Path file, Consumer<Path> load, String problem) {
        assertThatThrownBy(() -> load.accept(file)).isExactlyInstanceOf(SprnnException.class)
                .hasMessage(file + problem)
                .satisfies(e -> assertOneLine(e.getMessage()));
    }

    /** One printable line: no line breaks, no control or format characters. */
    static void assertOneLine(String message) {
        assertThat(message.codePoints().filter(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                || c == 0x2028 || c == 0x2029).count()).as("control characters in: %s", message).isZero();
    }

    private static final Consumer<Path> NPY = Npy::read;
    private static final Consumer<Path> NPZ = Npz::read;
    private static final Consumer<Path> SAFETENSORS = Safetensors::read;
    private static final Consumer<Path> MODEL_LSTM = f -> ModelFiles.load(f, CellType.LSTM);
    private static final String CONVERT = "convert it with sprnn's scripts/torch_to_safetensors.py IN.pt OUT.safetensors "
            + "--cell <rnn_relu|rnn_tanh|gru|lstm>";

    static Stream<Arguments> corpus() {
        return Stream.of(
                Arguments.of("deep-nesting.npy", NPY, ": malformed header at character 66 (tuples and lists nested deeper than "
                        + "16 levels): near \" 'fortran_order': False, 'shape': ((((((((((((((((((((((((((((((((((((((((((((((\" "
                        + "(40054 characters in all)"),
                Arguments.of("float-shape.npy", NPY, ": shape (144.0, 16.0) holds 144.0, a float: extents must be integers"),
                Arguments.of("exponent-shape.npy", NPY, ": shape (1e3,) holds 1e3, a float: extents must be integers"),
                Arguments.of("huge-extent.npy", NPY, ": shape (123456789012345678901234567890,) holds "
                        + "123456789012345678901234567890, an integer out of range"),
                Arguments.of("version-1-5.npy", NPY, ": unsupported .npy format version 1.5 (sprnn reads 1.0, 2.0 and 3.0)"),
                Arguments.of("version-2-7.npy", NPY, ": unsupported .npy format version 2.7 (sprnn reads 1.0, 2.0 and 3.0)"),
                Arguments.of("control-chars-descr.npy", NPY, ": dtype '<f4\\x0a sprnn: all good\\x1b[2J\\x1b[31m' is not "
                        + "supported: sprnn reads float16, float32 and float64 ('<f2', '<f4', '<f8')"),
                Arguments.of("crc-flipped-stored.npz", NPZ, ":weight_hh_l0.npy: CRC-32 mismatch (the archive records "
                        + "cd393327, the data gives 573dd52a): the file is corrupt"),
                Arguments.of("crc-flipped-stored.npz", MODEL_LSTM, ":weight_hh_l0.npy: CRC-32 mismatch (the archive records "
                        + "cd393327, the data gives 573dd52a): the file is corrupt"),
                Arguments.of("crc-flipped-deflated.npz", NPZ, ":weight_hh_l0.npy: CRC-32 mismatch (the archive records "
                        + "cd393327, the data gives 224ccabb): the file is corrupt"),
                Arguments.of("control-chars-entry.npz", MODEL_LSTM, ": unexpected tensor 'weight_hh_l0\\x0a sprnn: all "
                        + "good\\x1b[2J'... (38 characters in all) (sprnn reads weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, "
                        + "bias_hh_l{k}, under at most one common prefix)"),
                Arguments.of("torch-state-dict.pt", NPZ, ": a PyTorch archive written by torch.save (it holds "
                        + "'torch-state-dict/data.pkl'), not an .npz of arrays; sprnn does not unpickle: " + CONVERT),
                Arguments.of("torch-state-dict.pt", MODEL_LSTM, ": a PyTorch archive written by torch.save (it holds "
                        + "'torch-state-dict/data.pkl'), not an .npz of arrays; sprnn does not unpickle: " + CONVERT),
                Arguments.of("torch-legacy.pt", MODEL_LSTM, ": a Python pickle (PyTorch's legacy torch.save format), not a "
                        + ".safetensors or .npz model file; sprnn does not unpickle: " + CONVERT),
                Arguments.of("float-shape.safetensors", SAFETENSORS, ": tensor 'w': shape [144.0,16.0] holds 144.0, not an "
                        + "extent 0..2147483647 (a float: JSON integers only, no fraction or exponent)"),
                Arguments.of("float-offsets.safetensors", SAFETENSORS, ": tensor 'w': data_offsets [0.0,24.0] holds 0.0, not a "
                        + "byte offset (a float: JSON integers only, no fraction or exponent)"),
                Arguments.of("exponent-offsets.safetensors", MODEL_LSTM, ": tensor 'w': data_offsets [0,24.0] holds 24.0, not "
                        + "a byte offset (a float: JSON integers only, no fraction or exponent)"),
                Arguments.of("overflow-offsets.safetensors", SAFETENSORS, ": tensor 'w': data_offsets "
                        + "[0,18446744073709551640] holds 18446744073709551640, not a byte offset (too large)"),
                Arguments.of("control-chars-name.safetensors", MODEL_LSTM, ": tensor 'weight_ih_l0\\x0a sprnn: all "
                        + "good\\x1b[2J\\x1b[31m' has dtype 'F32\\u202e', which sprnn does not read (F32, F16, BF16, F64)"),
                Arguments.of("deep-nesting.safetensors", SAFETENSORS, ": header is not valid JSON (Document nesting depth "
                        + "(1001) exceeds the maximum allowed (1000, from `StreamReadConstraints.getMaxNestingDepth()`))"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void corpusFileIsRefusedExactly(String name, Consumer<Path> load, String problem) {
        assertRefusal(hostile(name), load, problem);
    }

    @Test
    void everyCorpusFileIsTested() throws IOException {
        List<String> tested = corpus().map(a -> (String) a.get()[0]).toList();
        try (Stream<Path> files = Files.list(hostile("README.md").getParent())) {
            assertThat(files.map(f -> f.getFileName().toString()).filter(n -> !n.equals("README.md")))
                    .allSatisfy(n -> assertThat(tested).as("HostileFilesTest.corpus covers it").contains(n));
        }
    }

    // ---- .npy headers: bounds, built here ------------------------------------------------------------

    /** A format 2.0 .npy whose header is {@code dict} padded with spaces to exactly {@code headerLen} bytes. */
    private static byte[] npy2(String dict, int headerLen, byte[] data) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12 + headerLen + data.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(Npy.MAGIC).put((byte) 2).put((byte) 0).putInt(headerLen);
        b.put((dict + " ".repeat(headerLen - dict.length() - 1) + "\n").getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return b.array();
    }

    @Test
    void npyHeaderOf64KiBIsReadAndALongerOneRefused() throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        Path max = dir.resolve("max.npy");
        Files.write(max, npy2(dict, Npy.MAX_HEADER_BYTES, NpyTest.floats(1, 2)));
        assertThat(Npy.read(max).data()).containsExactly(1.0, 2.0);
        Path over = dir.resolve("over.npy");
        Files.write(over, npy2(dict, Npy.MAX_HEADER_BYTES + 1, NpyTest.floats(1, 2)));
        assertRefusal(over, NPY, ": header of 65537 bytes is longer than the 65536 sprnn reads (numpy itself refuses more "
                + "than 10000 by default): corrupt, or not a plain float array");
        Path huge = dir.resolve("huge.npy"); // a 4 GiB header length in a 100-byte file: refused before any allocation
        byte[] b = npy2(dict, 88, new byte[0]);
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(8, -1);
        Files.write(huge, b);
        assertRefusal(huge, NPY, ": header of 4294967295 bytes is longer than the 65536 sprnn reads (numpy itself refuses "
                + "more than 10000 by default): corrupt, or not a plain float array");
    }

    @Test
    void npyNestingOf16LevelsParsesAnd17AreRefused() throws IOException {
        String sixteen = "[" + "(".repeat(15) + "'a', '<f4'" + ")".repeat(15) + "]";
        Path ok = dir.resolve("deep16.npy");
        Files.write(ok, NpyTest.npy(1, "{'descr': " + sixteen + ", 'fortran_order': False, 'shape': (1,), }", new byte[4]));
        assertThatThrownBy(() -> Npy.read(ok)).hasMessageContaining("structured dtype").hasMessageNotContaining("nested");
        Path deep = dir.resolve("deep17.npy");
        Files.write(deep, NpyTest.npy(1, "{'descr': [" + sixteen + "], 'fortran_order': False, 'shape': (1,), }", new byte[4]));
        assertRefusal(deep, NPY, ": malformed header at character 26 (tuples and lists nested deeper than 16 levels): "
                + "\"{'descr': [[((((((((((((((('a', '<f4')))))))))))))))]], 'fortran_order': False, 'shape': (1,), }\"");
    }

    @Test
    void npyVersionsOtherThanExactly1And2And3AreRefused() throws IOException {
        for (int[] v : new int[][] {{1, 1}, {2, 7}, {3, 255}, {0, 0}, {4, 0}}) {
            byte[] b = NpyTest.npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", NpyTest.floats(1));
            b[6] = (byte) v[0];
            b[7] = (byte) v[1];
            Path f = dir.resolve("v.npy");
            Files.write(f, b);
            assertRefusal(f, NPY, ": unsupported .npy format version " + v[0] + "." + v[1] + " (sprnn reads 1.0, 2.0 and 3.0)");
        }
    }

    // ---- .npz: the zip bomb and entries that are not the size their header says -------------------------

    /** A .npy header for float32 {@code shape (n,)} followed by its n zero values. */
    private static byte[] smallNpy(int n) {
        return NpyTest.npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (" + n + ",), }", new byte[4 * n]);
    }

    /** The heap bytes this thread allocates while {@code run} runs, and that it ran in under a second. */
    private static long allocatedQuickly(Runnable run) {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        run.run();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertThat(ms).as("refused in well under a second").isLessThan(1000);
        return allocated;
    }

    private static final int BOMB_MIB = 1946; // 1.9 GiB of zeros behind a 144-byte array

    @Test
    void zipBombIsRefusedFromItsRecordedSizeWithoutInflating() throws IOException {
        HandZip.Entry bomb = HandZip.bomb("weight_ih_l0.npy", smallNpy(4), BOMB_MIB);
        Path f = dir.resolve("bomb.npz");
        Files.write(f, HandZip.write(List.of(bomb)));
        assertThat(Files.size(f)).as("a 2 MB file").isLessThan(2_200_000);
        long allocated = allocatedQuickly(() -> assertRefusal(f, NPZ, ":weight_ih_l0.npy: the archive records 2040529040 "
                + "bytes uncompressed but the entry's .npy header (shape [4]) needs 144: corrupt"));
        assertThat(allocated).as("bytes allocated refusing it").isLessThan(16L << 20);
    }

    @Test
    void arraysWhoseHeadersPromiseMoreThanTheHeapAreRefusedBeforeAnyIsInflated() throws IOException {
        // entries whose headers and recorded sizes agree on float32 arrays of 1.5 GB each, as float64 together larger than
        // this JVM's heap, but whose data is not there: read from their headers alone, in milliseconds (a real one
        // inflated for a minute first)
        long rows = (3L << 29) / 4 / 1024;
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + ", 1024), }";
        byte[] header = NpyTest.npy(1, dict, new byte[0]);
        long recorded = header.length + rows * 1024 * 4;
        List<HandZip.Entry> entries = new java.util.ArrayList<>();
        for (int k = 0; k <= Runtime.getRuntime().maxMemory() / (rows * 1024 * 8); k++) {
            entries.add(new HandZip.Entry("a" + k + ".npy", HandZip.DEFLATED, HandZip.deflate(header), 0, recorded));
        }
        Path f = dir.resolve("promises.npz");
        Files.write(f, HandZip.write(entries));
        allocatedQuickly(() -> assertThatThrownBy(() -> Npz.read(f)).isExactlyInstanceOf(SprnnException.class)
                .hasMessageStartingWith(f + ": reading its arrays (as its .npy headers give them")
                .hasMessageContaining("MiB of Java heap").hasMessageContaining("-Xmx"));
    }

    @Test
    void zipBombThatUnderstatesItsSizeStopsAtTheFirstByteTooMany() throws IOException {
        HandZip.Entry bomb = HandZip.bomb("weight_ih_l0.npy", smallNpy(4), BOMB_MIB).withSize(144);
        Path f = dir.resolve("bomb.npz");
        Files.write(f, HandZip.write(List.of(bomb)));
        long allocated = allocatedQuickly(() -> assertRefusal(f, MODEL_LSTM, ":weight_ih_l0.npy: entry holds more than "
                + "the 144 bytes its .npy header needs: trailing data"));
        assertThat(allocated).as("bytes allocated refusing it").isLessThan(16L << 20);
    }

    @Test
    void entryShorterThanItsHeaderSaysIsTruncated() throws IOException {
        byte[] npy = smallNpy(64); // 128-byte header + 256 bytes of data
        byte[] cut = java.util.Arrays.copyOf(npy, 200);
        HandZip.Entry e = new HandZip.Entry("x.npy", HandZip.DEFLATED, HandZip.deflate(cut), HandZip.crc(npy), npy.length);
        Path f = dir.resolve("cut.npz");
        Files.write(f, HandZip.write(List.of(e)));
        assertRefusal(f, NPZ, ":x.npy: entry ends after 200 of the 384 bytes its .npy header needs: truncated");
    }

    @Test
    void recordedSizeMustEqualWhatTheHeaderNeeds() throws IOException {
        Path f = dir.resolve("size.npz");
        Files.write(f, HandZip.write(List.of(HandZip.Entry.of("x.npy", smallNpy(4), false).withSize(1000))));
        assertRefusal(f, NPZ, ":x.npy: the archive records 1000 bytes uncompressed but the entry's .npy header "
                + "(shape [4]) needs 144: corrupt");
        Files.write(f, HandZip.write(List.of(HandZip.Entry.of("x.npy", smallNpy(4), true).withCrc(0x12345678))));
        assertRefusal(f, NPZ, ":x.npy: CRC-32 mismatch (the archive records 12345678, the data gives "
                + String.format("%08x", HandZip.crc(smallNpy(4))) + "): the file is corrupt");
        Files.write(f, HandZip.write(List.of(HandZip.Entry.of("x.npy", smallNpy(4), true), HandZip.Entry.of("x.npy", smallNpy(4), true))));
        assertRefusal(f, NPZ, ":x.npy: the archive holds 'x' twice");
        // two different arrays of one name: ZipFile would read the second with the first one's bytes
        Files.write(f, HandZip.write(List.of(HandZip.Entry.of("x.npy", smallNpy(4), true), HandZip.Entry.of("x.npy", smallNpy(8), false))));
        assertRefusal(f, NPZ, ":x.npy: the archive holds 'x' twice");
        Files.write(f, HandZip.write(List.of(HandZip.Entry.of("notes\u001b[2J.txt", new byte[3], true))));
        assertRefusal(f, NPZ, ":notes\\x1b[2J.txt: entry is not a .npy array");
    }

    // ---- safetensors: integers only, bounded messages -------------------------------------------------

    @Test
    void safetensorsExtentsAndOffsetsArePlainIntegers() throws IOException {
        String[][] cases = {
            {"[2,3]", "[0,-24]", ": tensor 'w': data_offsets [0,-24] holds -24, not a byte offset (negative)"},
            {"[2,-3]", "[0,24]", ": tensor 'w': shape [2,-3] holds -3, not an extent 0..2147483647 (negative)"},
            {"[2,3e0]", "[0,24]", ": tensor 'w': shape [2,3.0] holds 3.0, not an extent 0..2147483647 (a float: JSON "
                + "integers only, no fraction or exponent)"},
            {"[2147483648]", "[0,24]", ": tensor 'w': shape [2147483648] holds 2147483648, not an extent 0..2147483647 "
                + "(too large)"},
            {"[\"2\",3]", "[0,24]", ": tensor 'w': shape [\"2\",3] holds \"2\", not an extent 0..2147483647"},
            {"[2,3]", "[0,24,48]", ": tensor 'w': data_offsets is not a pair [begin, end] ([0,24,48])"},
        };
        for (String[] c : cases) {
            Path f = dir.resolve("t.safetensors");
            Files.write(f, safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":" + c[0] + ",\"data_offsets\":" + c[1] + "}}", 24));
            assertRefusal(f, SAFETENSORS, c[2]);
        }
    }

    @Test
    void megabyteMetadataIsShownCut() throws IOException {
        String cell = "x".repeat(1_000_000);
        Path f = dir.resolve("meta.safetensors");
        Safetensors.write(f, ModelFiles.toStateDict(org.sprnn.model.SyntheticModels.random(CellType.GRU, 3, 4, 1, 1.0, 1.0, 1)),
                Map.of("cell", cell), Precision.FP32);
        assertRefusal(f, path -> ModelFiles.load(path, null), ": __metadata__ \"cell\": unknown cell '" + "x".repeat(120)
                + "'... (1000000 characters in all): expected one of rnn_relu, rnn_tanh, gru, lstm (or pass --cell)");
        Files.write(f, safetensors("{\"__metadata__\":{\"note\":[\"" + "\\n".repeat(200_000) + "\"]}}", 0));
        assertThatThrownBy(() -> Safetensors.read(f)).isInstanceOf(SprnnException.class)
                .satisfies(e -> assertThat(e.getMessage().length() - f.toString().length()).isLessThan(250))
                .satisfies(e -> assertOneLine(e.getMessage()))
                .hasMessageStartingWith(f + ": __metadata__ entry 'note' is not a string ([\"\\\\n\\\\n");
    }

    @Test
    void validFilesStillLoad() {
        Map<String, Tensor> sd = ModelFiles.toStateDict(org.sprnn.model.SyntheticModels.random(CellType.LSTM, 3, 4, 1, 1.0, 1.0, 2));
        Path npz = dir.resolve("ok.npz");
        for (boolean compressed : new boolean[] {false, true}) {
            Npz.write(npz, sd, Precision.FP64, compressed);
            assertThat(Npz.read(npz)).isEqualTo(sd);
        }
    }

    /** A safetensors file: 8-byte length, this header, {@code dataBytes} zero bytes. */
    static byte[] safetensors(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + h.length + dataBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return b.putLong(h.length).put(h).array();
    }
}

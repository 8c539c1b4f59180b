package org.sprnn.io;

// Mutation fuzzing of every loader of untrusted files, in one JVM, reproducibly. Valid files of each
// format (.npy, .npz stored, .npz deflated, .safetensors; sprnn's own and numpy/PyTorch-written golden
// ones) are mutated thousands of times each: byte flips, truncations, insertions, deletions; header
// fields rewritten (shape, descr, dtype, lengths, offsets set to huge, negative, float, nested or
// control-character values); zip structure fields (sizes, CRC, method, name lengths, offsets, counts),
// entry names and deflated bombs. Every mutant goes through the format's reader and ModelFiles.load. The
// contract: a valid load, or a SprnnException whose message names the file on one short printable
// line. Anything else (another exception, an Error such as StackOverflowError or OutOfMemoryError, a
// multi-line or megabyte message, a load that takes seconds) fails with the seed and mutant index.
// A one-line summary per format goes to stdout: the README quotes its figures.

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class LoaderFuzzTest {

    /** Mutants per format. */
    static final int MUTANTS = 8000;

    /** The longest refusal accepted, not counting the file path it starts with. */
    static final int MAX_PROBLEM_CHARS = 400;

    /** The longest a single load may take, even on a slow shared machine. */
    static final long MAX_LOAD_MILLIS = 3000;

    /** The most heap one load may allocate: the files are kilobytes, the bombs inflate to at most 8 MiB. */
    static final long MAX_LOAD_BYTES = 256L << 20;

    /** The formats, each with its fixed seed and the file name its mutants are written to. */
    enum Format {
        NPY(0x5EED_0001L, "m.npy"),
        NPZ_STORED(0x5EED_0002L, "m.npz"),
        NPZ_DEFLATED(0x5EED_0003L, "m.npz"),
        SAFETENSORS(0x5EED_0004L, "m.safetensors");

        final long seed;
        final String fileName;

        Format(long seed, String fileName) {
            this.seed = seed;
            this.fileName = fileName;
        }

        String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** A valid file to mutate; {@code cell} is what ModelFiles.load is given (null: the file's metadata). */
    record Original(String name, byte[] bytes, CellType cell, Map<String, byte[]> npzEntries) {
    }

    /** A mutant and how it was made, for the failure message. */
    record Mutant(byte[] bytes, String how) {
    }

    /** A loader under test, by the name the summary uses. */
    interface Loader {
        void load(Path file);
    }

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @EnumSource(Format.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void everyMutantLoadsOrIsRefusedOnOneLine(Format format) throws IOException {
        List<Original> originals = originals(format);
        Map<String, int[]> loads = new LinkedHashMap<>(); // loader -> {loaded, refused}
        Map<String, Integer> refusals = new TreeMap<>();
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long slowestNanos = 0, mostBytes = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < MUTANTS; i++) {
            SplittableRandom rnd = new SplittableRandom(format.seed * 0x9E3779B97F4A7C15L + i);
            Original o = originals.get(rnd.nextInt(originals.size()));
            Mutant m = mutate(format, o, rnd);
            // a new file each time: on ext4, rewriting a file in place (truncate, write) flushes it, 2 ms a time
            Path file = dir.resolve(i + "-" + format.fileName);
            Files.write(file, m.bytes());
            for (Map.Entry<String, Loader> l : loaders(format, o).entrySet()) {
                String context = format.label() + " seed 0x" + Long.toHexString(format.seed) + " mutant " + i + " of "
                        + o.name() + " (" + m.how() + ") via " + l.getKey();
                long bytesBefore = mx.getCurrentThreadAllocatedBytes();
                long start = System.nanoTime();
                int[] counts = loads.computeIfAbsent(l.getKey(), k -> new int[2]);
                try {
                    l.getValue().load(file);
                    counts[0]++;
                } catch (SprnnException e) {
                    counts[1]++;
                    checkMessage(e.getMessage(), file, context);
                    refusals.merge(category(e.getMessage(), file), 1, Integer::sum);
                } catch (Throwable t) { // another exception or an Error: a bug
                    throw new AssertionError(context + ": " + t, t);
                }
                long nanos = System.nanoTime() - start;
                long bytes = mx.getCurrentThreadAllocatedBytes() - bytesBefore;
                if (nanos > MAX_LOAD_MILLIS * 1_000_000) {
                    fail(context + ": took " + nanos / 1_000_000 + " ms");
                }
                if (bytes > MAX_LOAD_BYTES) {
                    fail(context + ": allocated " + (bytes >> 20) + " MiB");
                }
                slowestNanos = Math.max(slowestNanos, nanos);
                mostBytes = Math.max(mostBytes, bytes);
            }
            Files.delete(file);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        String perLoader = loads.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()[0] + " loaded / " + e.getValue()[1] + " refused")
                .collect(Collectors.joining(", "));
        String top = refusals.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(6)
                .map(e -> "'" + e.getKey() + "' " + e.getValue()).collect(Collectors.joining(", "));
        System.out.printf(Locale.ROOT, "LoaderFuzzTest %s: %d mutants (seed 0x%x) in %.1f s, slowest load %.1f ms, most "
                        + "allocated %.1f MiB: %s; %d distinct refusals (all loaders), most common %s%n", format.label(), MUTANTS, format.seed,
                seconds, slowestNanos / 1e6, mostBytes / 1048576.0, perLoader, refusals.size(), top);
    }

    // ---- the contract -----------------------------------------------------------------------------------

    static void checkMessage(String message, Path file, String context) {
        if (message == null || !message.startsWith(file.toString())) {
            fail(context + ": the message does not start with the file: " + message);
        }
        String problem = message.substring(file.toString().length());
        if (problem.length() > MAX_PROBLEM_CHARS) {
            fail(context + ": a message of " + message.length() + " characters: " + message.substring(0, 300) + "...");
        }
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            int type = Character.getType(c);
            if (Character.isISOControl(c) || type == Character.FORMAT || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR || type == Character.SURROGATE && !validPair(message, i)) {
                fail(context + ": character U+" + Integer.toHexString(c) + " at " + i + " in the message: "
                        + Untrusted.quote(message, 300));
            }
        }
        if (message.contains("Exception")) {
            fail(context + ": an exception's name in the message: " + message);
        }
    }

    private static boolean validPair(String s, int i) {
        char c = s.charAt(i);
        return Character.isHighSurrogate(c) ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                : i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    /** What kind of refusal: the first four words of the problem, file, entry, numbers and quoted text left out. */
    static String category(String message, Path file) {
        String p = message.substring(file.toString().length());
        if (p.startsWith(":") && !p.startsWith(": ")) { // archive.npz:entry.npy: problem
            int colon = p.indexOf(": ", 1);
            p = colon < 0 ? p : p.substring(colon);
        }
        p = p.replaceFirst("^: ", "")
                .replaceAll("'(\\\\.|[^'\\\\])*'|\"(\\\\.|[^\"\\\\])*\"", "") // quoted text
                .replaceFirst("^tensor ?:? ?", "")
                .replaceAll("[0-9]+", "N");
        String[] words = p.trim().split("\\s+");
        return String.join(" ", Arrays.copyOf(words, Math.min(4, words.length)));
    }

    private static Map<String, Loader> loaders(Format format, Original o) {
        Map<String, Loader> l = new LinkedHashMap<>();
        switch (format) {
            case NPY -> l.put("Npy.read", Npy::read);
            case NPZ_STORED, NPZ_DEFLATED -> {
                l.put("Npz.read", Npz::read);
                l.put("ModelFiles.load", f -> ModelFiles.load(f, o.cell()));
            }
            case SAFETENSORS -> {
                l.put("Safetensors.read", Safetensors::read);
                l.put("ModelFiles.load", f -> ModelFiles.load(f, o.cell()));
            }
        }
        return l;
    }

    // ---- the valid files --------------------------------------------------------------------------------

    private static Path golden(String name) {
        try {
            return Path.of(LoaderFuzzTest.class.getResource("/golden/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private List<Original> originals(Format format) throws IOException {
        RnnModel lstm = SyntheticModels.random(CellType.LSTM, 3, 4, 1, 0.5, 1.0, 11);
        Map<String, Tensor> sd = ModelFiles.toStateDict(lstm);
        List<Original> out = new ArrayList<>();
        switch (format) {
            case NPY -> {
                SplittableRandom rnd = new SplittableRandom(7);
                int[][] shapes = {{3, 4}, {2}, {2, 3, 2}, {}, {0, 3}};
                Precision[] dtypes = {Precision.FP32, Precision.FP64, Precision.FP16, Precision.FP32, Precision.FP32};
                for (int k = 0; k < shapes.length; k++) {
                    Tensor t = SafetensorsTest.random(rnd, dtypes[k], shapes[k]);
                    out.add(new Original("npy " + dtypes[k] + " " + Arrays.toString(shapes[k]),
                            Npy.encode(t, dtypes[k], "fuzz"), null, null));
                }
                String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }";
                out.add(new Original("npy 2.0", NpyTest.npy(2, dict, NpyTest.floats(1.5f, -2f)), null, null));
                out.add(new Original("npy 3.0", NpyTest.npy(3, dict, NpyTest.floats(1.5f, -2f)), null, null));
            }
            case NPZ_STORED, NPZ_DEFLATED -> {
                boolean deflate = format == Format.NPZ_DEFLATED;
                Path f = dir.resolve("seed.npz");
                Npz.write(f, sd, Precision.FP32, deflate);
                out.add(new Original("sprnn lstm npz", Files.readAllBytes(f), CellType.LSTM, entries(sd)));
                if (deflate) {
                    out.add(golden("lstm_i6_h10_l2_b3_d100_bf16_nobias_given.npz", CellType.LSTM));
                } else {
                    out.add(golden("rnn_tanh_i9_h13_l2_b5_d70_npz_given.weights.npz", CellType.RNN_TANH));
                    out.add(golden("gru_i4_h6_l1_b1_d100_f32_nobias_zero.npz", CellType.GRU));
                }
            }
            case SAFETENSORS -> {
                Path f = dir.resolve("seed.safetensors");
                ModelFiles.save(lstm, f, Precision.FP32);
                out.add(new Original("sprnn lstm safetensors", Files.readAllBytes(f), null, null));
                out.add(golden("rnn_relu_i3_h5_l2_b2_d60_f16_zero_nometa.safetensors", CellType.RNN_RELU));
                out.add(golden("lstm_i6_h10_l2_b3_d100_bf16_nobias_given.safetensors", null));
            }
        }
        return out;
    }

    private static Original golden(String name, CellType cell) throws IOException {
        return new Original("golden " + name, Files.readAllBytes(golden(name)), cell, null);
    }

    /** The .npy bytes of each array, by entry name, for rebuilding an archive around a mutated one. */
    private static Map<String, byte[]> entries(Map<String, Tensor> sd) {
        Map<String, byte[]> e = new LinkedHashMap<>();
        sd.forEach((k, v) -> e.put(k + ".npy", Npy.encode(v, Precision.FP32, "fuzz")));
        return e;
    }

    // ---- mutations ----------------------------------------------------------------------------------------

    private static final byte[] INTERESTING_BYTES = {0, -1, 0x7F, (byte) 0x80, ' ', '(', ')', '[', ']', '{', '}', '\'',
        '"', ',', ':', '.', '-', 'e', '9', '\n', 0x1B, '\\'};
    private static final long[] INTERESTING_INTS = {0, 1, -1, 2, 7, 8, 10, 12, 64, 127, 128, 255, 256, 0x7FFF, 0x8000, 0xFFFF,
        0x10000, 65_536, 65_537, 100_000_000, 100_000_001, Integer.MAX_VALUE, Integer.MIN_VALUE, 0xFFFFFFFFL,
        Integer.MAX_VALUE - 16L, 1L << 32, Long.MAX_VALUE, Long.MIN_VALUE, 2_040_529_040L};

    private static Mutant mutate(Format format, Original o, SplittableRandom rnd) {
        Mutant m = mutateOnce(format, o, o.bytes(), rnd);
        if (rnd.nextInt(8) == 0) { // now and then, two mutations on top of each other
            Mutant second = bytes(m.bytes(), rnd);
            m = new Mutant(second.bytes(), m.how() + ", then " + second.how());
        }
        return m;
    }

    private static Mutant mutateOnce(Format format, Original o, byte[] b, SplittableRandom rnd) {
        if (rnd.nextInt(5) < 2) {
            return bytes(b, rnd);
        }
        return switch (format) {
            case NPY -> rnd.nextBoolean() ? npyHeader(rnd) : npySplice(b, rnd);
            case NPZ_STORED, NPZ_DEFLATED -> switch (rnd.nextInt(4)) {
                case 0 -> zipField(b, rnd);
                case 1 -> o.npzEntries() != null ? npzInner(o.npzEntries(), format == Format.NPZ_DEFLATED, rnd) : zipField(b, rnd);
                case 2 -> npzNames(o.npzEntries() != null ? o.npzEntries() : Map.of("x.npy", npyOf(4)),
                        format == Format.NPZ_DEFLATED, rnd);
                default -> npzBomb(rnd);
            };
            case SAFETENSORS -> switch (rnd.nextInt(3)) {
                case 0 -> safetensorsField(b, rnd);
                case 1 -> safetensorsHeaderLength(b, rnd);
                default -> safetensorsSplice(b, rnd);
            };
        };
    }

    /** Generic byte-level mutations, aimed at the first 512 bytes (the headers) half of the time. */
    private static Mutant bytes(byte[] b, SplittableRandom rnd) {
        if (b.length == 0) {
            return new Mutant(new byte[] {(byte) rnd.nextInt(256)}, "one random byte");
        }
        int at = rnd.nextBoolean() ? rnd.nextInt(Math.min(b.length, 512)) : rnd.nextInt(b.length);
        byte[] out;
        switch (rnd.nextInt(7)) {
            case 0 -> {
                out = b.clone();
                int n = 1 + rnd.nextInt(4);
                for (int k = 0; k < n; k++) {
                    int p = k == 0 ? at : rnd.nextInt(out.length);
                    out[p] ^= (byte) (1 << rnd.nextInt(8));
                }
                return new Mutant(out, n + " bit flips from " + at);
            }
            case 1 -> {
                out = b.clone();
                out[at] = INTERESTING_BYTES[rnd.nextInt(INTERESTING_BYTES.length)];
                return new Mutant(out, "byte " + at + " set to " + out[at]);
            }
            case 2 -> {
                return new Mutant(Arrays.copyOf(b, at), "truncated to " + at);
            }
            case 3 -> {
                int n = 1 + rnd.nextInt(32);
                out = new byte[b.length + n];
                System.arraycopy(b, 0, out, 0, at);
                for (int k = 0; k < n; k++) {
                    out[at + k] = rnd.nextBoolean() ? (byte) rnd.nextInt(256) : INTERESTING_BYTES[rnd.nextInt(INTERESTING_BYTES.length)];
                }
                System.arraycopy(b, at, out, at + n, b.length - at);
                return new Mutant(out, n + " bytes inserted at " + at);
            }
            case 4 -> {
                int n = Math.min(b.length - at, 1 + rnd.nextInt(64));
                out = new byte[b.length - n];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, at + n, out, at, b.length - at - n);
                return new Mutant(out, n + " bytes deleted at " + at);
            }
            case 5 -> {
                out = b.clone();
                int from = rnd.nextInt(b.length);
                int n = Math.min(Math.min(b.length - from, b.length - at), 1 + rnd.nextInt(64));
                System.arraycopy(b, from, out, at, n);
                return new Mutant(out, n + " bytes copied from " + from + " to " + at);
            }
            default -> {
                out = b.clone();
                int width = new int[] {2, 4, 8}[rnd.nextInt(3)];
                if (at + width > out.length) {
                    return new Mutant(Arrays.copyOf(b, at), "truncated to " + at);
                }
                long v = INTERESTING_INTS[rnd.nextInt(INTERESTING_INTS.length)];
                putLE(out, at, width, v);
                return new Mutant(out, width + "-byte " + v + " written at " + at);
            }
        }
    }

    private static void putLE(byte[] b, int at, int width, long v) {
        for (int k = 0; k < width; k++) {
            b[at + k] = (byte) (v >>> (8 * k));
        }
    }

    // .npy: headers written from hostile parts

    private static final String[] SHAPES = {"(3, 4)", "(2,)", "()", "(0,)", "(-1, 4)", "(3.0, 4.0)", "(144.0, 16.0)", "(1e3,)",
        "(99999999999,)", "(2147483647, 2147483647)", "(18446744073709551616,)", "(123456789012345678901234567890,)",
        "((3,), 4)", "('3', 4)", "(True, 4)", "(None,)", "[3, 4]", "(3, 4", "(3 4)", "(,)", "(3L, 4L)", "(-0,)", "(+3, 4)",
        "(0x10,)", "(1_0,)", "(3, 4, ,)", "'(3, 4)'", "(3.,)", "(.5,)", "(1e,)"};
    private static final String[] DESCRS = {"'<f4'", "'<f8'", "'<f2'", "'>f4'", "'<i4'", "'|O'", "'O'", "'<c8'", "'f4'",
        "'=f4'", "'|f4'", "'<f4\\n\\x1b[31m'", "'<f4\n\u001b[31m'", "[('a', '<f4')]", "[('a', '<f4', (2, 3))]", "''", "'<'",
        "3", "True", "'<f16'", "\"<f4\"", "'<f4", "'\u202e<f4'", "'<f4\u0000'"};
    private static final String[] FORTRAN = {"False", "True", "0", "1", "'False'", "None", "Fals"};

    private static Mutant npyHeader(SplittableRandom rnd) {
        String shape = SHAPES[rnd.nextInt(SHAPES.length)];
        if (rnd.nextInt(10) == 0) {
            int depth = rnd.nextInt(4) == 0 ? 20_000 : 1 + rnd.nextInt(40);
            shape = "(".repeat(depth) + "3," + ")".repeat(depth);
        } else if (rnd.nextInt(12) == 0) {
            shape = "(" + "1, ".repeat(rnd.nextInt(200)) + ")";
        }
        String descr = DESCRS[rnd.nextInt(DESCRS.length)];
        if (rnd.nextInt(20) == 0) {
            descr = "'" + "x".repeat(rnd.nextInt(70_000)) + "'";
        }
        String fortran = FORTRAN[rnd.nextInt(FORTRAN.length)];
        List<String> fields = new ArrayList<>(List.of("'descr': " + descr, "'fortran_order': " + fortran, "'shape': " + shape));
        switch (rnd.nextInt(6)) {
            case 0 -> fields.remove(rnd.nextInt(fields.size()));
            case 1 -> fields.add(fields.get(rnd.nextInt(fields.size()))); // a duplicate key
            case 2 -> fields.add("'extra': " + SHAPES[rnd.nextInt(SHAPES.length)]);
            default -> { }
        }
        String dict = "{" + String.join(", ", fields) + ", }";
        int major = new int[] {1, 1, 1, 2, 3, 0, 4}[rnd.nextInt(7)];
        int dataBytes = new int[] {48, 8, 0, 47, 49, 4, 4096}[rnd.nextInt(7)];
        byte[] bytes = npy(Math.max(1, Math.min(major, 3)), dict, new byte[dataBytes]);
        if (major == 0 || major == 4 || rnd.nextInt(10) == 0) {
            bytes[6] = (byte) major;
            bytes[7] = (byte) (rnd.nextInt(3) == 0 ? rnd.nextInt(256) : 0);
        }
        if (rnd.nextInt(6) == 0 && bytes.length >= 12) { // a header length that lies
            long v = INTERESTING_INTS[rnd.nextInt(INTERESTING_INTS.length)];
            putLE(bytes, 8, bytes[6] == 1 ? 2 : 4, rnd.nextBoolean() ? v : readLE(bytes, 8, 2) + rnd.nextInt(-64, 65));
        }
        return new Mutant(bytes, "npy v" + major + " header " + Untrusted.quote(dict, 80) + " + " + dataBytes + " data bytes");
    }

    /**
     * A .npy of this header dict (UTF-8 in 3.0, latin-1 before, '?' for what latin-1 lacks) padded as numpy
     * pads; a length that does not fit the 1.0 field is cut to it, as a careless writer would.
     */
    private static byte[] npy(int major, String dict, byte[] data) {
        byte[] raw = dict.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int pre = major == 1 ? 10 : 12;
        int pad = Math.floorMod(-(pre + raw.length + 1), 64);
        int headerLen = raw.length + pad + 1;
        ByteBuffer b = ByteBuffer.allocate(pre + headerLen + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Npy.MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) headerLen);
        } else {
            b.putInt(headerLen);
        }
        b.put(raw).put(" ".repeat(pad).getBytes(StandardCharsets.US_ASCII)).put((byte) '\n').put(data);
        return b.array();
    }

    private static final String[] SPLICES = {"(", ")", "[", "]", "{", "}", "'", "\"", ",", ":", ".", "e", "-", "1", "9",
        "\n", "\u001b", "\\", " ", "0.5", "(((((((((((((((((((((", "99999999999999999999", "True", "L"};

    /** One character of the header text replaced by, or followed by, a structural one. */
    private static Mutant npySplice(byte[] b, SplittableRandom rnd) {
        int headerEnd = b.length >= 10 ? Math.min(b.length, 10 + (int) readLE(b, 8, 2)) : b.length;
        if (headerEnd <= 11) {
            return bytes(b, rnd);
        }
        int at = 10 + rnd.nextInt(headerEnd - 10);
        byte[] s = SPLICES[rnd.nextInt(SPLICES.length)].getBytes(StandardCharsets.ISO_8859_1);
        boolean replace = rnd.nextBoolean();
        byte[] out = splice(b, at, s, replace);
        if (rnd.nextBoolean()) { // keep the header length consistent, so the parser sees the splice
            putLE(out, 8, 2, readLE(b, 8, 2) + s.length - (replace ? 1 : 0));
        }
        return new Mutant(out, (replace ? "header byte " : "insert at ") + at + ": " + Untrusted.quote(new String(s, StandardCharsets.ISO_8859_1)));
    }

    /** {@code b} with {@code s} put in at {@code at}: in place of the byte there ({@code replace}) or before it. */
    private static byte[] splice(byte[] b, int at, byte[] s, boolean replace) {
        int cut = replace ? 1 : 0;
        byte[] out = new byte[b.length + s.length - cut];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(s, 0, out, at, s.length);
        System.arraycopy(b, at + cut, out, at + s.length, b.length - at - cut);
        return out;
    }

    private static long readLE(byte[] b, int at, int width) {
        long v = 0;
        for (int k = width - 1; k >= 0; k--) {
            v = v << 8 | (b[at + k] & 0xFF);
        }
        return v;
    }

    // .npz: zip structure, inner arrays, names, bombs

    /** Field offsets (from the signature) and widths of the local header, central directory entry and end record. */
    private static final int[][] LOC_FIELDS = {{8, 2}, {14, 4}, {18, 4}, {22, 4}, {26, 2}, {28, 2}, {6, 2}};
    private static final int[][] CEN_FIELDS = {{10, 2}, {16, 4}, {20, 4}, {24, 4}, {28, 2}, {30, 2}, {32, 2}, {42, 4}, {8, 2}};
    private static final int[][] END_FIELDS = {{8, 2}, {10, 2}, {12, 4}, {16, 4}, {20, 2}};

    /** A field of a zip structure set to an interesting value, a nearby one, or another entry's. */
    private static Mutant zipField(byte[] b, SplittableRandom rnd) {
        List<int[]> fields = new ArrayList<>(); // {position, width}
        for (int i = 0; i + 4 <= b.length; i++) {
            int sig = (int) readLE(b, i, 4);
            int[][] layout = sig == 0x04034b50 ? LOC_FIELDS : sig == 0x02014b50 ? CEN_FIELDS : sig == 0x06054b50 ? END_FIELDS : null;
            if (layout != null) {
                for (int[] f : layout) {
                    if (i + f[0] + f[1] <= b.length) {
                        fields.add(new int[] {i + f[0], f[1]});
                    }
                }
            }
        }
        if (fields.isEmpty()) {
            return bytes(b, rnd);
        }
        int[] f = fields.get(rnd.nextInt(fields.size()));
        byte[] out = b.clone();
        long old = readLE(b, f[0], f[1]);
        long v = switch (rnd.nextInt(3)) {
            case 0 -> INTERESTING_INTS[rnd.nextInt(INTERESTING_INTS.length)];
            case 1 -> old + rnd.nextInt(-16, 17);
            default -> rnd.nextLong();
        };
        putLE(out, f[0], f[1], v);
        return new Mutant(out, "zip field at " + f[0] + " (" + f[1] + " bytes) " + old + " -> " + (v & ((1L << 8 * f[1]) - 1)));
    }

    /** The archive rebuilt around one array mutated as a .npy, with honest, header-matching or random sizes. */
    private static Mutant npzInner(Map<String, byte[]> entries, boolean deflate, SplittableRandom rnd) {
        List<String> names = new ArrayList<>(entries.keySet());
        String victim = names.get(rnd.nextInt(names.size()));
        Mutant inner = rnd.nextBoolean() ? npyHeader(rnd) : rnd.nextBoolean() ? npySplice(entries.get(victim), rnd)
                : bytes(entries.get(victim), rnd);
        String sizes = new String[] {"honest", "honest", "random size", "bad crc"}[rnd.nextInt(4)];
        List<HandZip.Entry> zip = new ArrayList<>();
        for (String n : names) {
            HandZip.Entry e = HandZip.Entry.of(n, n.equals(victim) ? inner.bytes() : entries.get(n), deflate);
            if (n.equals(victim) && sizes.equals("random size")) {
                e = e.withSize(rnd.nextBoolean() ? rnd.nextLong(1L << 32) : e.size() + rnd.nextInt(-8, 9));
            } else if (n.equals(victim) && sizes.equals("bad crc")) {
                e = e.withCrc(rnd.nextLong(1L << 32));
            }
            zip.add(e);
        }
        return new Mutant(HandZip.write(zip), "entry " + victim + " " + inner.how() + ", " + sizes);
    }

    private static final String[] NAMES = {"x.npy", "x.txt", "data.pkl", "archive/data.pkl", "dir/", "weight_ih_l0.npy",
        "w\n\u001b[2J.npy", ".npy", "../../etc/passwd.npy", "a\u202eypn.npy", "\u0000.npy", "x".repeat(5000) + ".npy"};

    /** Entry names replaced, duplicated or made hostile. */
    private static Mutant npzNames(Map<String, byte[]> entries, boolean deflate, SplittableRandom rnd) {
        List<HandZip.Entry> zip = new ArrayList<>();
        List<String> how = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            String name = e.getKey();
            if (rnd.nextInt(3) == 0) {
                name = NAMES[rnd.nextInt(NAMES.length)];
                how.add(Untrusted.quote(name, 30));
            }
            zip.add(HandZip.Entry.of(name, e.getValue(), deflate));
        }
        if (rnd.nextInt(4) == 0) {
            zip.add(zip.get(rnd.nextInt(zip.size())));
            how.add("a duplicate entry");
        }
        return new Mutant(HandZip.write(zip), "names " + how);
    }

    /** A small zip bomb: an array's .npy followed by up to 8 MiB of zeros, sizes honest or matching the header. */
    private static Mutant npzBomb(SplittableRandom rnd) {
        int n = 1 + rnd.nextInt(16);
        int mib = 1 + rnd.nextInt(8);
        HandZip.Entry bomb = BOMBS.computeIfAbsent(n * 100 + mib, k -> HandZip.bomb("weight_ih_l0.npy", npyOf(n), mib));
        boolean lie = rnd.nextBoolean();
        if (lie) {
            bomb = bomb.withSize(npyOf(n).length);
        }
        return new Mutant(HandZip.write(List.of(bomb)), "bomb of " + (bomb.payload().length >> 10) + " KiB, size "
                + (lie ? "as the header says" : "honest"));
    }

    /** Bombs by array length and MiB of zeros: built once each (the CRC of the zeros takes a while). */
    private static final Map<Integer, HandZip.Entry> BOMBS = new java.util.HashMap<>();

    private static byte[] npyOf(int n) {
        return NpyTest.npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (" + n + ",), }", new byte[4 * n]);
    }

    // safetensors: header fields, header length, splices

    private static final String[] ST_SHAPES = {"[144.0,16.0]", "[1e3]", "[-1]", "[18446744073709551616]", "[2147483648]",
        "[[3]]", "[\"3\"]", "[true]", "[]", "[null]", "[0]", "[3,-0]", "[1" + ",1".repeat(100) + "]", "{}", "3", "[1E400]",
        "[9" + "9".repeat(1200) + "]"};
    private static final String[] ST_OFFSETS = {"[0.0,24.0]", "[0,2.4e1]", "[24,0]", "[-4,0]", "[0]", "[0,1,2]", "{\"a\":1}",
        "[0,18446744073709551640]", "[0,9223372036854775807]", "[9223372036854775807,9223372036854775807]", "[0,0]",
        "null", "[\"0\",\"24\"]", "[0,-0]"};
    private static final String[] ST_DTYPES = {"\"I64\"", "\"F32\\n\\u001b[31m\"", "\"\"", "3", "null", "\"F32\\u202e\"",
        "\"f32\"", "\"BF16\"", "\"F64\"", "\"F16\"", "\"" + "X".repeat(100_000) + "\"", "[\"F32\"]"};

    /** One header field of one tensor (or the metadata) replaced, the header re-measured or not. */
    private static Mutant safetensorsField(byte[] b, SplittableRandom rnd) {
        long len = headerLength(b, 1);
        if (len < 0) {
            return bytes(b, rnd);
        }
        String header = new String(b, 8, (int) len, StandardCharsets.UTF_8);
        String[] keys = {"\"shape\":", "\"data_offsets\":", "\"dtype\":"};
        int which = rnd.nextInt(5);
        String replaced;
        String how;
        if (which < 3) {
            String key = keys[which];
            List<Integer> at = new ArrayList<>();
            for (int i = header.indexOf(key); i >= 0; i = header.indexOf(key, i + 1)) {
                at.add(i);
            }
            if (at.isEmpty()) {
                return bytes(b, rnd);
            }
            int start = at.get(rnd.nextInt(at.size())) + key.length();
            int end = valueEnd(header, start);
            String[] pool = which == 0 ? ST_SHAPES : which == 1 ? ST_OFFSETS : ST_DTYPES;
            String v = pool[rnd.nextInt(pool.length)];
            if (which == 0 && rnd.nextInt(10) == 0) {
                v = "[".repeat(20_000) + "]".repeat(20_000);
            }
            replaced = header.substring(0, start) + v + header.substring(end);
            how = key + " " + Untrusted.quote(v, 60);
        } else if (which == 3) { // a tensor name
            String name = new String[] {"w\n\u001b[2J", "__metadata__", "", "x".repeat(60_000), "weight_ih_l0", "\ud800"}[rnd.nextInt(6)];
            int q = header.indexOf("\"", header.indexOf("\"weight") >= 0 ? header.indexOf("\"weight") : 0);
            int q2 = q < 0 ? -1 : header.indexOf("\"", q + 1);
            if (q < 0 || q2 < 0) {
                return bytes(b, rnd);
            }
            replaced = header.substring(0, q + 1) + jsonEscape(name) + header.substring(q2);
            how = "tensor name " + Untrusted.quote(name, 40);
        } else { // metadata
            String meta = new String[] {"{\"cell\":3}", "{\"cell\":\"" + "x".repeat(100_000) + "\"}", "{\"cell\":\"lstm\\n\\u001b[2J\"}",
                "[1]", "{\"cell\":{\"a\":[" + "[".repeat(900) + "]".repeat(900) + "]}}", "{\"cell\":\"gru\"}"}[rnd.nextInt(6)];
            replaced = "{\"__metadata__\":" + meta + "," + header.substring(header.indexOf('{') + 1);
            how = "metadata " + Untrusted.quote(meta, 60);
        }
        byte[] h = replaced.getBytes(StandardCharsets.UTF_8);
        boolean remeasure = rnd.nextInt(4) != 0;
        byte[] out = new byte[8 + h.length + (b.length - 8 - (int) len)];
        putLE(out, 0, 8, remeasure ? h.length : len);
        System.arraycopy(h, 0, out, 8, h.length);
        System.arraycopy(b, 8 + (int) len, out, 8 + h.length, b.length - 8 - (int) len);
        return new Mutant(out, how + (remeasure ? "" : ", header length kept"));
    }

    /**
     * The JSON header's length that the first 8 bytes of a safetensors file {@code b} record, where it is at least
     * {@code least} and the header is all there; else -1 (the mutators then change raw bytes instead).
     */
    private static long headerLength(byte[] b, long least) {
        if (b.length < 8) {
            return -1;
        }
        long len = readLE(b, 0, 8);
        return len >= least && len <= b.length - 8 ? len : -1;
    }

    /** Where the JSON value starting at {@code start} ends (a bracketed value or a scalar). */
    private static int valueEnd(String s, int start) {
        int depth = 0;
        boolean inString = false;
        for (int i = start; i < s.length(); i++) {
            char c = s.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                    if (depth == 0) {
                        return i + 1;
                    }
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '[' || c == '{') {
                depth++;
            } else if (c == ']' || c == '}') {
                if (depth == 0) {
                    return i;
                }
                if (--depth == 0) {
                    return i + 1;
                }
            } else if (c == ',' && depth == 0) {
                return i;
            }
        }
        return s.length();
    }

    private static String jsonEscape(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c < 0x20 || c == '"' || c == '\\' || Character.isSurrogate(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static Mutant safetensorsHeaderLength(byte[] b, SplittableRandom rnd) {
        byte[] out = b.length >= 8 ? b.clone() : Arrays.copyOf(b, 8);
        long old = readLE(out, 0, 8);
        long v = rnd.nextBoolean() ? INTERESTING_INTS[rnd.nextInt(INTERESTING_INTS.length)] : old + rnd.nextInt(-16, 17);
        putLE(out, 0, 8, v);
        return new Mutant(out, "header length " + old + " -> " + v);
    }

    private static final String[] ST_SPLICES = {"[", "]", "{", "}", "\"", ",", ":", ".", "e", "-", "0", "9", "\n", "\\",
        "\u0000", "\u001b", "\\u0000", "\\ud800", ".0", "e999", "[[[[[[[[[[[[[[[[[[[[", "\u00ff", " "};

    /** One character of the JSON header replaced by, or followed by, a structural one (the length kept right). */
    private static Mutant safetensorsSplice(byte[] b, SplittableRandom rnd) {
        long len = headerLength(b, 2);
        if (len < 0) {
            return bytes(b, rnd);
        }
        int at = 8 + rnd.nextInt((int) len);
        byte[] s = ST_SPLICES[rnd.nextInt(ST_SPLICES.length)].getBytes(StandardCharsets.UTF_8);
        boolean replace = rnd.nextBoolean();
        byte[] out = splice(b, at, s, replace);
        putLE(out, 0, 8, len + s.length - (replace ? 1 : 0));
        return new Mutant(out, (replace ? "header byte " : "insert at ") + at + ": " + Untrusted.quote(new String(s, StandardCharsets.UTF_8)));
    }
}

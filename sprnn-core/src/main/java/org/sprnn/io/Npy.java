package org.sprnn.io;

// numpy's .npy format by hand (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// the magic "\x93NUMPY", a version, a header length (2 bytes in 1.0, 4 in 2.0/3.0), then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (T, B, I), } padded with spaces, then the
// raw data. Inputs, initial states and outputs travel as .npy; a model's tensors may come as .npz, a zip
// of .npy files, which reuses the parser here.

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sprnn.SprnnException;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.Tensor;

/**
 * numpy {@code .npy} arrays: read float16/32/64 little-endian C-order arrays exactly into a {@link Tensor};
 * write float32 or float64 (from a {@link Tensor}) or float32 (from a {@link FloatTensor}), format version
 * 1.0, atomically.
 *
 * <p>Refused with a one-line message naming the file: Fortran order, big-endian data, object arrays,
 * structured and any other dtypes, truncated data or trailing bytes, malformed headers, format versions
 * other than exactly 1.0, 2.0 and 3.0, headers longer than {@value #MAX_HEADER_BYTES} bytes or nested
 * deeper than {@value #MAX_NESTING} levels, shapes holding anything but non-negative integers or more
 * than {@value #MAX_RANK} of them. Text of the file that a message repeats goes through
 * {@link Untrusted#quote(String)}.
 */
public final class Npy {

    /** The magic string every .npy file starts with. */
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /**
     * The longest header read, in bytes: 64 KiB, a little more than the longest a format 1.0 file can
     * carry (65535), so every 1.0 file passes and a 2.0/3.0 header may be as long as a 1.0 one. A float
     * array's header takes well under 200 bytes; numpy itself refuses headers over 10000 bytes unless
     * told otherwise ({@code max_header_size}).
     */
    public static final int MAX_HEADER_BYTES = 65_536;

    /**
     * The deepest nesting of tuples and lists in a header: structured descrs need a few levels, a float
     * array's shape one. The parser recurses once per level, so this bounds its stack.
     */
    public static final int MAX_NESTING = 16;

    /** The most dimensions an array may have: numpy 2's limit ({@code NPY_MAXDIMS}). */
    public static final int MAX_RANK = 64;

    /** float32, little-endian, at any byte offset: the element layout of a written {@code <f4} array. */
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Npy() {
    }

    /**
     * Reads an array.
     *
     * @throws SprnnException naming the file and the problem
     */
    public static Tensor read(Path file) {
        if (Files.isDirectory(file)) {
            throw new SprnnException(file + ": is a directory, not a .npy file");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) { // a FIFO, device or socket: no size to check a header against
            throw new SprnnException(file + ": is not a regular file (a pipe or device): sprnn reads .npy arrays from regular files");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            long size = ch.size();
            MemorySegment map = size == 0 ? MemorySegment.ofArray(new byte[0])
                    : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena); // the whole file, read-only
            return parse(map, file.toString());
        } catch (NoSuchFileException e) {
            throw new SprnnException(file + ": no such file");
        } catch (IOException e) {
            throw new SprnnException(file + ": cannot read: " + e.getMessage());
        } catch (InternalError e) {
            // a mapped page that can no longer be read (the file was truncated meanwhile, an I/O error)
            throw new SprnnException(file + ": the file changed or could not be read while it was mapped (" + e.getMessage() + ")");
        }
    }

    /**
     * What a .npy header promises, checked: a supported dtype, C order, a shape of at most
     * {@value #MAX_RANK} extents holding at most {@code Integer.MAX_VALUE - 16} elements.
     *
     * @param dtype     the element type
     * @param shape     the extents, outermost first
     * @param count     the element count, the product of the extents
     * @param dataStart the bytes before the data: preamble and header
     */
    record Header(DType dtype, int[] shape, long count, long dataStart) {
        /** The size of a file holding exactly this array: header and data. */
        long totalBytes() {
            return dataStart + count * dtype.bytes(); // count < 2^31, bytes <= 8: no overflow
        }
    }

    /**
     * Parses the bytes of a .npy file.
     *
     * @param bytes the whole file
     * @param where how to name the source in messages: a path, or {@code archive.npz:name.npy}
     */
    static Tensor parse(MemorySegment bytes, String where) {
        Header h = header(bytes, where);
        long expected = h.count() * h.dtype().bytes();
        long actual = bytes.byteSize() - h.dataStart();
        if (actual != expected) {
            throw fail(where, "shape " + Arrays.toString(h.shape()) + " of " + h.dtype().npyDescr() + " needs " + expected
                    + " bytes of data but the file has " + actual + (actual < expected ? ": truncated" : ": trailing bytes"));
        }
        double[] values = allocate(h.count(), where);
        h.dtype().decode(bytes, h.dataStart(), values, values.length);
        return new Tensor(h.shape(), values);
    }

    /**
     * The length of the preamble and header of a .npy file, from its first bytes: checks the magic, the
     * version (exactly 1.0, 2.0 or 3.0) and the header length ({@value #MAX_HEADER_BYTES} bytes at most).
     *
     * @param bytes the start of the file: 12 bytes suffice; fewer only if the file is shorter
     */
    static long headerEnd(MemorySegment bytes, String where) {
        long size = bytes.byteSize();
        if (size < MAGIC.length || mismatchMagic(bytes)) {
            throw fail(where, "not a .npy file (it does not start with \\x93NUMPY)");
        }
        if (size < 8) {
            throw fail(where, "truncated header (" + size + " bytes)");
        }
        int major = bytes.get(ValueLayout.JAVA_BYTE, 6) & 0xFF;
        int minor = bytes.get(ValueLayout.JAVA_BYTE, 7) & 0xFF;
        if (major < 1 || major > 3 || minor != 0) {
            throw fail(where, "unsupported .npy format version " + major + "." + minor + " (sprnn reads 1.0, 2.0 and 3.0)");
        }
        long headerStart = major == 1 ? 10 : 12;
        if (size < headerStart) {
            throw fail(where, "truncated header (" + size + " bytes)");
        }
        long headerLen = major == 1
                ? bytes.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8) & 0xFFFF
                : bytes.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8) & 0xFFFFFFFFL;
        if (headerLen > MAX_HEADER_BYTES) {
            throw fail(where, "header of " + headerLen + " bytes is longer than the " + MAX_HEADER_BYTES
                    + " sprnn reads (numpy itself refuses more than 10000 by default): corrupt, or not a plain float array");
        }
        return headerStart + headerLen;
    }

    /**
     * Parses and checks the header of a .npy file; the data is not looked at.
     *
     * @param bytes the file, or at least its preamble and header
     */
    static Header header(MemorySegment bytes, String where) {
        long size = bytes.byteSize();
        long dataStart = headerEnd(bytes, where);
        int major = bytes.get(ValueLayout.JAVA_BYTE, 6) & 0xFF;
        long headerStart = major == 1 ? 10 : 12;
        if (dataStart > size) {
            throw fail(where, "header length " + (dataStart - headerStart) + " runs past the end of the file (" + size
                    + " bytes): truncated");
        }
        // version 3.0 allows UTF-8 in the header (structured field names); 1.0 and 2.0 are latin-1
        byte[] raw = bytes.asSlice(headerStart, dataStart - headerStart).toArray(ValueLayout.JAVA_BYTE);
        String header = new String(raw, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> dict = new HeaderParser(header, where).parseDict();

        Object descr = dict.get("descr");
        Object fortran = dict.get("fortran_order");
        Object shapeObj = dict.get("shape");
        if (descr == null || fortran == null || shapeObj == null) {
            throw fail(where, "header lacks " + (descr == null ? "'descr'" : fortran == null ? "'fortran_order'" : "'shape'")
                    + " (" + Untrusted.quote(header.strip()) + ")");
        }
        if (!(descr instanceof String d)) {
            throw fail(where, "structured dtype " + show(descr) + " is not supported: sprnn reads float16/32/64 arrays");
        }
        DType dtype = dtypeOf(d, where);
        if (!(fortran instanceof Boolean f)) {
            throw fail(where, "'fortran_order' is " + show(fortran) + ", not True or False");
        }
        if (f) {
            throw fail(where, "Fortran-order arrays are not supported: save with np.ascontiguousarray(a) (C order)");
        }
        if (!(shapeObj instanceof List<?> dims)) {
            throw fail(where, "'shape' is " + show(shapeObj) + ", not a tuple");
        }
        if (dims.size() > MAX_RANK) {
            throw fail(where, "shape has " + dims.size() + " dimensions; numpy allows at most " + MAX_RANK);
        }
        int[] shape = new int[dims.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            Object dim = dims.get(i);
            if (dim instanceof PyNumber n) {
                throw fail(where, "shape " + show(dims) + " holds " + n.text() + (n.isFloat()
                        ? ", a float: extents must be integers" : ", an integer out of range"));
            }
            if (!(dim instanceof Long v)) {
                throw fail(where, "shape " + show(dims) + " holds " + show(dim) + ", not an integer extent");
            }
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw fail(where, "shape " + show(dims) + " has an invalid extent " + v);
            }
            shape[i] = v.intValue();
            count = Safetensors.multiplyOrHuge(count, v);
        }
        if (count > Integer.MAX_VALUE - 16) {
            throw fail(where, "shape " + show(dims) + " holds more elements than one array can");
        }
        return new Header(dtype, shape, count, dataStart);
    }

    /**
     * A double array for {@code count} decoded values, or a one-line refusal where the heap cannot hold it
     * (a file that is as large as it says, on a JVM with too small a heap).
     */
    static double[] allocate(long count, String where) {
        try {
            return new double[Math.toIntExact(count)];
        } catch (OutOfMemoryError e) {
            throw fail(where, count + " values need " + (count * 8 >> 20) + " MiB of Java heap, more than the JVM can "
                    + "give: raise its limit (-Xmx, or SPRNN_JAVA_OPTS=-Xmx<size> for the sprnn command)");
        }
    }

    /**
     * A header value as Python would print it, strings quoted and escaped, cut after about
     * {@value Untrusted#MAX_SHOWN} characters.
     */
    private static String show(Object value) {
        StringBuilder out = new StringBuilder();
        show(value, out);
        return out.length() > Untrusted.MAX_SHOWN ? out.substring(0, Untrusted.MAX_SHOWN) + "..." : out.toString();
    }

    private static void show(Object value, StringBuilder out) {
        if (out.length() > Untrusted.MAX_SHOWN) {
            return;
        }
        switch (value) {
            case String s -> out.append(Untrusted.quote(s, 40));
            case Boolean b -> out.append(b ? "True" : "False");
            case PyNumber n -> out.append(n.text());
            case List<?> items -> {
                out.append('(');
                for (int i = 0; i < items.size() && out.length() <= Untrusted.MAX_SHOWN; i++) {
                    show(items.get(i), out.append(i > 0 ? ", " : ""));
                }
                out.append(items.size() == 1 ? ",)" : ")");
            }
            default -> out.append(value); // Long
        }
    }

    private static boolean mismatchMagic(MemorySegment bytes) {
        return MemorySegment.mismatch(bytes, 0, MAGIC.length, MemorySegment.ofArray(MAGIC), 0, MAGIC.length) != -1;
    }

    /** The dtype of a numpy descr string, or a one-line refusal. */
    private static DType dtypeOf(String descr, String where) {
        if (descr.length() < 2) {
            throw fail(where, "unknown dtype " + Untrusted.quote(descr));
        }
        char order = descr.charAt(0);
        String kind = descr.substring(1);
        if (kind.equals("O") || descr.equals("O")) {
            throw fail(where, "object arrays (dtype 'O') are not supported: save a numeric float array");
        }
        DType dtype = switch (kind) {
            case "f2" -> DType.F16;
            case "f4" -> DType.F32;
            case "f8" -> DType.F64;
            default -> null;
        };
        if (dtype == null) {
            throw fail(where, "dtype " + Untrusted.quote(descr) + " is not supported: sprnn reads float16, float32 and float64 ('<f2', '<f4', '<f8')");
        }
        if (order == '>') {
            throw fail(where, "big-endian dtype " + Untrusted.quote(descr) + " is not supported: convert with a.astype('<"
                    + kind + "')"); // kind is f2, f4 or f8 here
        }
        // '=' and '|' mean the writer's native order; numpy itself writes '<' on every little-endian host,
        // and sprnn runs only on little-endian ones
        if (order != '<' && order != '=' && order != '|') {
            throw fail(where, "unknown byte order in dtype " + Untrusted.quote(descr));
        }
        return dtype;
    }

    /**
     * Writes {@code t} as a format 1.0 .npy of float32 (or float64 with {@link DType#F64}) atomically.
     *
     * @throws SprnnException naming the file if it cannot be written or the dtype is not F32/F64/F16
     */
    public static void write(Path file, Tensor t, DType dtype) {
        byte[] bytes = encode(t, dtype, file.toString());
        AtomicFiles.write(file, ch -> Safetensors.writeFully(ch, ByteBuffer.wrap(bytes)));
    }

    /** Writes {@code t} as float32 .npy (format 1.0) atomically. */
    public static void write(Path file, Tensor t) {
        write(file, t, DType.F32);
    }

    /** Writes {@code t} as float32 .npy (format 1.0) atomically: the values as they are, no float64 copy. */
    public static void write(Path file, FloatTensor t) {
        addTo(AtomicFiles.batch(), file, t).write();
    }

    /**
     * Adds {@code t} as a float32 .npy file to {@code batch}, to be written with the batch's other files
     * (all or none). The bytes are made when the batch writes this file, one file at a time.
     *
     * @return {@code batch}
     */
    public static AtomicFiles.Batch addTo(AtomicFiles.Batch batch, Path file, Tensor t) {
        return batch.add(file, ch -> Safetensors.writeFully(ch, ByteBuffer.wrap(encode(t, DType.F32, file.toString()))));
    }

    /**
     * As {@link #addTo(AtomicFiles.Batch, Path, Tensor)} for float32 values, written as they are (no
     * float64 copy).
     *
     * @return {@code batch}
     */
    public static AtomicFiles.Batch addTo(AtomicFiles.Batch batch, Path file, FloatTensor t) {
        return batch.add(file, ch -> {
            byte[] bytes = allocateWithHeader(t.shape(), t.size(), DType.F32, file.toString());
            MemorySegment.copy(t.data(), 0, MemorySegment.ofArray(bytes), LE_FLOAT, bytes.length - 4L * t.size(), t.size());
            Safetensors.writeFully(ch, ByteBuffer.wrap(bytes));
        });
    }

    /** The complete bytes of a .npy file holding {@code t} in {@code dtype}. */
    static byte[] encode(Tensor t, DType dtype, String where) {
        byte[] out = allocateWithHeader(t.shape(), t.size(), dtype, where);
        dtype.encode(t.data(), MemorySegment.ofArray(out), out.length - (long) t.size() * dtype.bytes());
        return out;
    }

    /**
     * A .npy file's bytes for an array of this shape and dtype: the header written, the data (at the end,
     * {@code size * dtype.bytes()} bytes) left for the caller.
     */
    private static byte[] allocateWithHeader(int[] dims, int size, DType dtype, String where) {
        if (dtype.npyDescr() == null) {
            throw fail(where, "numpy has no " + dtype + " dtype: write f32, f16 or f64");
        }
        StringBuilder shape = new StringBuilder("(");
        for (int d : dims) {
            shape.append(d).append(", ");
        }
        if (dims.length == 1) {
            shape.setLength(shape.length() - 1); // (n,)
        } else if (dims.length > 1) {
            shape.setLength(shape.length() - 2); // (a, b)
        }
        shape.append(')');
        String dict = "{'descr': '" + dtype.npyDescr() + "', 'fortran_order': False, 'shape': " + shape + ", }";
        // magic(6) + version(2) + length(2) + dict, padded with spaces and ended by '\n' to a multiple of 64
        int unpadded = 10 + dict.length() + 1;
        int total = (unpadded + 63) / 64 * 64;
        if (total - 10 > 0xFFFF) {
            throw fail(where, "array of rank " + dims.length + " needs a header too long for format 1.0");
        }
        String header = dict + " ".repeat(total - unpadded) + "\n";
        long dataBytes = (long) size * dtype.bytes();
        if (total + dataBytes > Integer.MAX_VALUE - 16) {
            throw fail(where, "array of " + size + " elements is too large to write in one piece");
        }
        byte[] out = new byte[(int) (total + dataBytes)];
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) (total - 10)).put(header.getBytes(StandardCharsets.ISO_8859_1));
        return out;
    }

    private static SprnnException fail(String where, String problem) {
        return new SprnnException(where + ": " + problem);
    }

    /**
     * A number of the header that is not an integer in long range: a float ({@code 144.0}, {@code 1e3}) or
     * an integer too large; kept as its text (digits, sign, point, exponent only, cut at 40) for messages.
     */
    private record PyNumber(String text, boolean isFloat) {
    }

    /**
     * Parses the header's Python literal: a dict of string keys whose values are strings, True/False,
     * numbers, or tuples/lists of those (structured descrs are lists of tuples), nested at most
     * {@value #MAX_NESTING} deep. Nothing is evaluated.
     */
    private static final class HeaderParser {
        private final String s;
        private final String where;
        private int pos;

        HeaderParser(String s, String where) {
            this.s = s;
            this.where = where;
        }

        Map<String, Object> parseDict() {
            skipSpace();
            expect('{');
            Map<String, Object> dict = new LinkedHashMap<>();
            while (true) {
                skipSpace();
                if (peek() == '}') {
                    pos++;
                    break;
                }
                Object key = value(1);
                if (!(key instanceof String k)) {
                    throw bad("dict key is not a string");
                }
                skipSpace();
                expect(':');
                Object v = value(1);
                if (dict.put(k, v) != null) {
                    throw bad("duplicate key " + Untrusted.quote(k));
                }
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != '}') {
                    throw bad("expected ',' or '}'");
                }
            }
            skipSpace();
            if (pos != s.length()) {
                throw bad("text after the dict");
            }
            return dict;
        }

        /** A value at nesting {@code depth} (the dict's own values are at 1). */
        private Object value(int depth) {
            skipSpace();
            char c = peek();
            if (c == '\'' || c == '"') {
                int end = s.indexOf(c, pos + 1);
                if (end < 0) {
                    throw bad("unterminated string");
                }
                String v = s.substring(pos + 1, end);
                pos = end + 1;
                return v;
            }
            if (c == '(' || c == '[') {
                if (depth > MAX_NESTING) {
                    throw bad("tuples and lists nested deeper than " + MAX_NESTING + " levels");
                }
                char close = c == '(' ? ')' : ']';
                pos++;
                List<Object> items = new ArrayList<>();
                while (true) {
                    skipSpace();
                    if (peek() == close) {
                        pos++;
                        return items;
                    }
                    items.add(value(depth + 1));
                    skipSpace();
                    if (peek() == ',') {
                        pos++;
                    } else if (peek() != close) {
                        throw bad("expected ',' or '" + close + "'");
                    }
                }
            }
            if (s.startsWith("True", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            return number(c);
        }

        /** A Python int or float literal: [sign] digits [. digits] [e [sign] digits] [L]. */
        private Object number(char first) {
            int start = pos;
            if (first == '-' || first == '+') {
                pos++;
            }
            int digits = skipDigits();
            boolean isFloat = false;
            if (pos < s.length() && s.charAt(pos) == '.') {
                pos++;
                digits += skipDigits();
                isFloat = true;
            }
            if (digits == 0) {
                pos = start;
                throw bad("unexpected character " + Untrusted.quote(String.valueOf(first)));
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '-' || s.charAt(pos) == '+')) {
                    pos++;
                }
                if (skipDigits() == 0) {
                    throw bad("exponent without digits");
                }
                isFloat = true;
            }
            String text = s.substring(start, pos);
            // as a message shows it: a 60,000-digit number is cut like any other long text
            String shown = text.length() > 40 ? text.substring(0, 40) + "... (" + text.length() + " characters)" : text;
            if (isFloat) {
                return new PyNumber(shown, true);
            }
            if (pos < s.length() && s.charAt(pos) == 'L') {
                pos++; // Python 2 long suffix, as old numpy wrote it
            }
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                return new PyNumber(shown, false);
            }
        }

        private int skipDigits() {
            int start = pos;
            while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                pos++;
            }
            return pos - start;
        }

        private char peek() {
            if (pos >= s.length()) {
                throw bad("header ends early");
            }
            return s.charAt(pos);
        }

        private void expect(char c) {
            if (peek() != c) {
                throw bad("expected '" + c + "'");
            }
            pos++;
        }

        private void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        /** A refusal naming the position and showing the header there (all of it when short). */
        private SprnnException bad(String problem) {
            String text = s.strip().replaceAll("\\s+", " ");
            String shown;
            if (text.length() <= Untrusted.MAX_SHOWN) {
                shown = Untrusted.quote(text);
            } else { // the neighbourhood of the position in the raw header
                int from = Math.max(0, Math.min(pos, s.length()) - 50);
                int to = Math.min(s.length(), from + 80);
                shown = "near " + Untrusted.quote(s.substring(from, to)) + " (" + s.length() + " characters in all)";
            }
            return fail(where, "malformed header at character " + pos + " (" + problem + "): " + shown);
        }
    }
}

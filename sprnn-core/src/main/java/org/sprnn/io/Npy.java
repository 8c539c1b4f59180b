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
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
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
 * structured and any other dtypes, truncated data or trailing bytes, malformed headers.
 */
public final class Npy {

    /** The magic string every .npy file starts with. */
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

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
     * Parses the bytes of a .npy file.
     *
     * @param bytes the whole file
     * @param where how to name the source in messages: a path, or {@code archive.npz:name.npy}
     */
    static Tensor parse(MemorySegment bytes, String where) {
        long size = bytes.byteSize();
        if (size < MAGIC.length || mismatchMagic(bytes)) {
            throw fail(where, "not a .npy file (it does not start with \\x93NUMPY)");
        }
        if (size < 10) {
            throw fail(where, "truncated header (" + size + " bytes)");
        }
        int major = bytes.get(ValueLayout.JAVA_BYTE, 6) & 0xFF;
        int minor = bytes.get(ValueLayout.JAVA_BYTE, 7) & 0xFF;
        long headerLen;
        long headerStart;
        if (major == 1) {
            headerLen = bytes.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8) & 0xFFFF;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (size < 12) {
                throw fail(where, "truncated header (" + size + " bytes)");
            }
            headerLen = bytes.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8) & 0xFFFFFFFFL;
            headerStart = 12;
        } else {
            throw fail(where, "unsupported .npy format version " + major + "." + minor + " (sprnn reads 1.0, 2.0 and 3.0)");
        }
        if (headerStart + headerLen > size) {
            throw fail(where, "header length " + headerLen + " runs past the end of the file (" + size + " bytes): truncated");
        }
        // version 3.0 allows UTF-8 in the header (structured field names); 1.0 and 2.0 are latin-1
        byte[] raw = bytes.asSlice(headerStart, headerLen).toArray(ValueLayout.JAVA_BYTE);
        String header = new String(raw, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> dict = new HeaderParser(header, where).parseDict();

        Object descr = dict.get("descr");
        Object fortran = dict.get("fortran_order");
        Object shapeObj = dict.get("shape");
        if (descr == null || fortran == null || shapeObj == null) {
            throw fail(where, "header lacks " + (descr == null ? "'descr'" : fortran == null ? "'fortran_order'" : "'shape'")
                    + " (" + header.strip() + ")");
        }
        if (!(descr instanceof String d)) {
            throw fail(where, "structured dtype " + descr + " is not supported: sprnn reads float16/32/64 arrays");
        }
        DType dtype = dtypeOf(d, where);
        if (!(fortran instanceof Boolean f)) {
            throw fail(where, "'fortran_order' is not True or False");
        }
        if (f) {
            throw fail(where, "Fortran-order arrays are not supported: save with np.ascontiguousarray(a) (C order)");
        }
        if (!(shapeObj instanceof List<?> dims)) {
            throw fail(where, "'shape' is not a tuple");
        }
        int[] shape = new int[dims.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!(dims.get(i) instanceof Long v)) {
                throw fail(where, "shape " + dims + " holds a non-integer");
            }
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw fail(where, "shape " + dims + " has an invalid extent " + v);
            }
            shape[i] = v.intValue();
            count = Safetensors.multiplyOrHuge(count, v);
        }
        if (count > Integer.MAX_VALUE - 16) {
            throw fail(where, "shape " + dims + " holds more elements than one array can");
        }
        long dataStart = headerStart + headerLen;
        long expected = count * dtype.bytes();
        long actual = size - dataStart;
        if (actual != expected) {
            throw fail(where, "shape " + dims + " of " + d + " needs " + expected + " bytes of data but the file has "
                    + actual + (actual < expected ? ": truncated" : ": trailing bytes"));
        }
        double[] values = new double[(int) count];
        dtype.decode(bytes, dataStart, values, values.length);
        return new Tensor(shape, values);
    }

    private static boolean mismatchMagic(MemorySegment bytes) {
        return MemorySegment.mismatch(bytes, 0, MAGIC.length, MemorySegment.ofArray(MAGIC), 0, MAGIC.length) != -1;
    }

    /** The dtype of a numpy descr string, or a one-line refusal. */
    private static DType dtypeOf(String descr, String where) {
        if (descr.length() < 2) {
            throw fail(where, "unknown dtype '" + descr + "'");
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
            throw fail(where, "dtype '" + descr + "' is not supported: sprnn reads float16, float32 and float64 ('<f2', '<f4', '<f8')");
        }
        if (order == '>') {
            throw fail(where, "big-endian dtype '" + descr + "' is not supported: convert with a.astype('<" + kind + "')");
        }
        // '=' and '|' mean the writer's native order; numpy itself writes '<' on every little-endian host,
        // and sprnn runs only on little-endian ones
        if (order != '<' && order != '=' && order != '|') {
            throw fail(where, "unknown byte order in dtype '" + descr + "'");
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
     * Parses the header's Python literal: a dict of string keys whose values are strings, True/False,
     * integers, or tuples/lists of those (structured descrs are lists of tuples). Nothing is evaluated.
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
                Object key = value();
                if (!(key instanceof String k)) {
                    throw bad("dict key is not a string");
                }
                skipSpace();
                expect(':');
                Object v = value();
                if (dict.put(k, v) != null) {
                    throw bad("duplicate key '" + k + "'");
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

        private Object value() {
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
                char close = c == '(' ? ')' : ']';
                pos++;
                List<Object> items = new ArrayList<>();
                while (true) {
                    skipSpace();
                    if (peek() == close) {
                        pos++;
                        return items;
                    }
                    items.add(value());
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
            int start = pos;
            if (c == '-' || c == '+') {
                pos++;
            }
            while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                pos++;
            }
            if (pos > start && Character.isDigit(s.charAt(pos - 1))) {
                if (pos < s.length() && s.charAt(pos) == 'L') {
                    pos++; // Python 2 long suffix, as old numpy wrote it
                }
                try {
                    return Long.parseLong(s.substring(start, s.charAt(pos - 1) == 'L' ? pos - 1 : pos));
                } catch (NumberFormatException e) {
                    throw bad("integer out of range");
                }
            }
            throw bad("unexpected character '" + c + "'");
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

        private SprnnException bad(String problem) {
            return fail(where, "malformed header at character " + pos + " (" + problem + "): "
                    + s.strip().replaceAll("\\s+", " "));
        }
    }
}

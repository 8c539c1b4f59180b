package org.sprnn.io;

// What a .npy header must say before sprnn reads a byte of data: the preamble (magic, version, header
// length, bounded by Npy.MAX_HEADER_BYTES) and the dict NpyHeaderParser reads from it, checked into a
// supported dtype, C order and a bounded shape. Npy reads whole files with it; Npz checks each member's
// header with it before inflating the member's data.

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.io.NpyHeaderParser.PyNumber;

/**
 * What a .npy header promises, checked: a supported dtype, C order, a shape of at most
 * {@value Npy#MAX_RANK} extents holding at most {@code Integer.MAX_VALUE - 16} elements.
 *
 * @param dtype     the element type
 * @param shape     the extents, outermost first
 * @param count     the element count, the product of the extents
 * @param dataStart the bytes before the data: preamble and header
 */
record NpyHeader(Precision dtype, int[] shape, long count, long dataStart) {
        /** The size of a file holding exactly this array: header and data. */
        long totalBytes() {
            return dataStart + count * dtype.bytes(); // count < 2^31, bytes <= 8: no overflow
        }

    /**
     * The length of the preamble and header of a .npy file, from its first bytes: checks the magic, the
     * version (exactly 1.0, 2.0 or 3.0) and the header length ({@value Npy#MAX_HEADER_BYTES} bytes at most).
     *
     * @param bytes the start of the file: 12 bytes suffice; fewer only if the file is shorter
     */
    static long end(MemorySegment bytes, String where) {
        long size = bytes.byteSize();
        if (size < Npy.MAGIC.length || mismatchMagic(bytes)) {
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
        if (headerLen > Npy.MAX_HEADER_BYTES) {
            throw fail(where, "header of " + headerLen + " bytes is longer than the " + Npy.MAX_HEADER_BYTES
                    + " sprnn reads (numpy itself refuses more than 10000 by default): corrupt, or not a plain float array");
        }
        return headerStart + headerLen;
    }

    /**
     * Parses and checks the header of a .npy file; the data is not looked at.
     *
     * @param bytes the file, or at least its preamble and header
     */
    static NpyHeader of(MemorySegment bytes, String where) {
        long size = bytes.byteSize();
        long dataStart = end(bytes, where);
        int major = bytes.get(ValueLayout.JAVA_BYTE, 6) & 0xFF;
        long headerStart = major == 1 ? 10 : 12;
        if (dataStart > size) {
            throw fail(where, "header length " + (dataStart - headerStart) + " runs past the end of the file (" + size
                    + " bytes): truncated");
        }
        // version 3.0 allows UTF-8 in the header (structured field names); 1.0 and 2.0 are latin-1
        byte[] raw = bytes.asSlice(headerStart, dataStart - headerStart).toArray(ValueLayout.JAVA_BYTE);
        String header = new String(raw, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> dict = new NpyHeaderParser(header, where).parseDict();

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
        Precision dtype = dtypeOf(d, where);
        if (!(fortran instanceof Boolean f)) {
            throw fail(where, "'fortran_order' is " + show(fortran) + ", not True or False");
        }
        if (f) {
            throw fail(where, "Fortran-order arrays are not supported: save with np.ascontiguousarray(a) (C order)");
        }
        if (!(shapeObj instanceof List<?> dims)) {
            throw fail(where, "'shape' is " + show(shapeObj) + ", not a tuple");
        }
        if (dims.size() > Npy.MAX_RANK) {
            throw fail(where, "shape has " + dims.size() + " dimensions; numpy allows at most " + Npy.MAX_RANK);
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
            count = FileElements.multiplyOrHuge(count, v);
        }
        if (count > Integer.MAX_VALUE - 16) {
            throw fail(where, "shape " + show(dims) + " holds more elements than one array can");
        }
        return new NpyHeader(dtype, shape, count, dataStart);
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
        return MemorySegment.mismatch(bytes, 0, Npy.MAGIC.length, MemorySegment.ofArray(Npy.MAGIC), 0, Npy.MAGIC.length) != -1;
    }

    /** The dtype of a numpy descr string, or a one-line refusal. */
    private static Precision dtypeOf(String descr, String where) {
        if (descr.length() < 2) {
            throw fail(where, "unknown dtype " + Untrusted.quote(descr));
        }
        char order = descr.charAt(0);
        String kind = descr.substring(1);
        if (kind.equals("O") || descr.equals("O")) {
            throw fail(where, "object arrays (dtype 'O') are not supported: save a numeric float array");
        }
        Precision dtype = switch (kind) {
            case "f2" -> Precision.FP16;
            case "f4" -> Precision.FP32;
            case "f8" -> Precision.FP64;
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

    private static SprnnException fail(String where, String problem) {
        return new SprnnException(where + ": " + problem);
    }
}

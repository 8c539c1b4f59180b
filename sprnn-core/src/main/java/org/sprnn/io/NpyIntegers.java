package org.sprnn.io;

// A 1-D integer .npy (int32 or int64), read for what sprnn takes as integers: the lengths of a batch's
// sequences. Kept apart from Npy, whose arrays are always float values, and bounded the same way: the header
// through NpyHeader's preamble check and NpyHeaderParser, the file's size checked against the count it may hold
// before a byte of data is read.

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.sprnn.SprnnException;

/** Reads a one-dimensional {@code .npy} array of int32 or int64 ({@code '<i4'}, {@code '<i8'}). */
public final class NpyIntegers {
    private NpyIntegers() {
    }

    /**
     * Reads a 1-D int32/int64 array of at most {@code maxCount} elements.
     *
     * @param file     the {@code .npy} file
     * @param what     what the values are, for messages (e.g. {@code lengths})
     * @param maxCount the most elements accepted; a larger file is refused before it is read
     * @return the values
     * @throws SprnnException naming the file and the problem: not a regular file, malformed or truncated header,
     *                        another dtype (floats included), another rank, too many elements, trailing bytes
     */
    public static long[] read(Path file, String what, int maxCount) {
        if (Files.isDirectory(file)) {
            throw new SprnnException(file + ": is a directory, not a .npy file");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new SprnnException(file + ": is not a regular file (a pipe or device): sprnn reads .npy arrays from regular files");
        }
        long limit = 12 + Npy.MAX_HEADER_BYTES + 8L * maxCount;
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > limit) {
                throw fail(file, size + " bytes, more than a " + what + " array of at most " + maxCount + " integers can need");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new SprnnException(file + ": no such file");
        } catch (IOException e) {
            throw new SprnnException(file + ": cannot read: " + Untrusted.why(e));
        }
        if (bytes.length > limit) { // grew while being read
            throw fail(file, "changed while it was read");
        }
        MemorySegment seg = MemorySegment.ofArray(bytes);
        String where = file.toString();
        long dataStart = NpyHeader.end(seg, where);
        int major = bytes[6] & 0xFF;
        int headerStart = major == 1 ? 10 : 12;
        if (dataStart > bytes.length) {
            throw fail(file, "header runs past the end of the file (" + bytes.length + " bytes): truncated");
        }
        String header = new String(bytes, headerStart, (int) (dataStart - headerStart),
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> dict = new NpyHeaderParser(header, where).parseDict();
        Object descr = dict.get("descr"), fortran = dict.get("fortran_order"), shape = dict.get("shape");
        if (descr == null || fortran == null || shape == null) {
            throw fail(file, "header lacks " + (descr == null ? "'descr'" : fortran == null ? "'fortran_order'" : "'shape'"));
        }
        if (!(fortran instanceof Boolean)) { // numpy writes True or False; anything else is not a file numpy wrote
            throw fail(file, "'fortran_order' is " + Untrusted.quote(String.valueOf(fortran)) + ", expected False (or True)");
        }
        int width = descr instanceof String d ? switch (d) {
            case "<i4", "=i4" -> 4;
            case "<i8", "=i8" -> 8;
            default -> 0;
        } : 0;
        if (width == 0) {
            throw fail(file, "dtype " + (descr instanceof String d ? Untrusted.quote(d) : "(structured)") + " is not supported for "
                    + what + ": expected int32 or int64 ('<i4', '<i8'), e.g. np.array([17, 256, 90, 3], dtype=np.int64)");
        }
        if (!(shape instanceof List<?> dims) || dims.size() != 1 || !(dims.get(0) instanceof Long n)) {
            throw fail(file, what + " must be one-dimensional, [B] (one per batch element); the header's shape is "
                    + Untrusted.quote(String.valueOf(shape)));
        }
        if (n < 0) {
            throw fail(file, "the header's shape (" + n + ",) has a negative extent: corrupt");
        }
        if (n > maxCount) {
            throw fail(file, n + " " + what + ", more than the " + maxCount + " accepted");
        }
        long expected = n * width, actual = bytes.length - dataStart;
        if (actual != expected) {
            throw fail(file, "shape [" + n + "] of " + descr + " needs " + expected + " bytes of data but the file has " + actual
                    + (actual < expected ? ": truncated" : ": trailing bytes"));
        }
        long[] v = new long[n.intValue()];
        for (int i = 0; i < v.length; i++) {
            long off = dataStart + (long) i * width;
            v[i] = width == 4 ? seg.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off)
                    : seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off);
        }
        return v;
    }

    private static SprnnException fail(Path file, String problem) {
        return new SprnnException(file + ": " + problem);
    }
}

package org.sprnn.io;

// numpy's .npy format by hand (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// the magic "\x93NUMPY", a version, a header length (2 bytes in 1.0, 4 in 2.0/3.0), then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (T, B, I), } padded with spaces, then the
// raw data. Inputs, initial states and outputs travel as .npy; a model's tensors may come as .npz, a zip
// of .npy files, which reuses the parser here.
//
// This file is the format's public face (read, write, the bounds) and the data: NpyHeader checks what a
// header says and NpyHeaderParser reads its Python literal, so the hostile-input parsing is apart from
// the encoding of numbers.

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
import java.util.Arrays;
import org.sprnn.Precision;
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
     * @param file a {@code .npy} file of float16, float32 or float64 values
     * @return its values, in float64
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
            throw new SprnnException(file + ": cannot read: " + Untrusted.why(e));
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
        NpyHeader h = NpyHeader.of(bytes, where);
        long expected = h.count() * h.dtype().bytes();
        long actual = bytes.byteSize() - h.dataStart();
        if (actual != expected) {
            throw fail(where, "shape " + Arrays.toString(h.shape()) + " of " + FileElements.npyDescr(h.dtype()) + " needs " + expected
                    + " bytes of data but the file has " + actual + (actual < expected ? ": truncated" : ": trailing bytes"));
        }
        double[] values = allocate(h.count(), where);
        FileElements.decode(h.dtype(), bytes, h.dataStart(), values, values.length);
        return new Tensor(h.shape(), values);
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
     * Whether a .npy (or .npz) can hold {@code dtype}: every precision but bf16, which numpy has no dtype for.
     *
     * @param dtype the precision
     * @return {@code false} for bf16 only
     */
    public static boolean canStore(Precision dtype) {
        return FileElements.npyDescr(dtype) != null;
    }

    /**
     * Writes {@code t} as a format 1.0 .npy of {@code dtype} (float32, float64 or float16) atomically.
     *
     * @param file the file to write
     * @param t the values
     * @param dtype float32, float64 or float16
     * @throws SprnnException naming the file if it cannot be written or numpy has no such dtype (bf16)
     */
    public static void write(Path file, Tensor t, Precision dtype) {
        byte[] bytes = encode(t, dtype, file.toString());
        AtomicFiles.write(file, ch -> FileElements.writeFully(ch, ByteBuffer.wrap(bytes)));
    }

    /**
     * Writes {@code t} as float32 .npy (format 1.0) atomically.
     *
     * @param file the file to write
     * @param t the values, rounded to float32
     */
    public static void write(Path file, Tensor t) {
        write(file, t, Precision.FP32);
    }

    /**
     * Writes {@code t} as float32 .npy (format 1.0) atomically: the values as they are, no float64 copy.
     *
     * @param file the file to write
     * @param t the values
     */
    public static void write(Path file, FloatTensor t) {
        addTo(AtomicFiles.batch(), file, t).write();
    }

    /**
     * Adds {@code t} as a float32 .npy file to {@code batch}, to be written with the batch's other files
     * (all or none). The bytes are made when the batch writes this file, one file at a time.
     *
     * @param batch the batch to add to
     * @param file the file to write
     * @param t the values, rounded to float32
     * @return {@code batch}
     */
    public static AtomicFiles.Batch addTo(AtomicFiles.Batch batch, Path file, Tensor t) {
        return batch.add(file, ch -> FileElements.writeFully(ch, ByteBuffer.wrap(encode(t, Precision.FP32, file.toString()))));
    }

    /**
     * As {@link #addTo(AtomicFiles.Batch, Path, Tensor)} for float32 values, written as they are (no
     * float64 copy).
     *
     * @param batch the batch to add to
     * @param file the file to write
     * @param t the values
     * @return {@code batch}
     */
    public static AtomicFiles.Batch addTo(AtomicFiles.Batch batch, Path file, FloatTensor t) {
        return batch.add(file, ch -> {
            byte[] bytes = allocateWithHeader(t.shape(), t.size(), Precision.FP32, file.toString());
            MemorySegment.copy(t.data(), 0, MemorySegment.ofArray(bytes), LE_FLOAT, bytes.length - 4L * t.size(), t.size());
            FileElements.writeFully(ch, ByteBuffer.wrap(bytes));
        });
    }

    /** The complete bytes of a .npy file holding {@code t} in {@code dtype}. */
    static byte[] encode(Tensor t, Precision dtype, String where) {
        FileElements.checkFits(dtype, t, where);
        byte[] out = allocateWithHeader(t.shape(), t.size(), dtype, where);
        FileElements.encode(dtype, t.data(), MemorySegment.ofArray(out), out.length - (long) t.size() * dtype.bytes());
        return out;
    }

    /**
     * A .npy file's bytes for an array of this shape and dtype: the header written, the data (at the end,
     * {@code size * dtype.bytes()} bytes) left for the caller.
     */
    private static byte[] allocateWithHeader(int[] dims, int size, Precision dtype, String where) {
        if (!canStore(dtype)) {
            throw fail(where, "numpy has no " + FileElements.safetensorsName(dtype) + " dtype: write f32, f16 or f64");
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
        String dict = "{'descr': '" + FileElements.npyDescr(dtype) + "', 'fortran_order': False, 'shape': " + shape + ", }";
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
}

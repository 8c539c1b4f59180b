package org.sprnn.io;

// .npy arrays one after another on a byte stream (a pipe, standard input): the frames of `sprnn stream`. Each
// frame is a whole .npy file; a reader takes exactly its bytes and no more, so the next frame starts where it
// ends. Bounded like the file reader: the header through NpyHeader (64 KiB at most), the element count checked
// against the caller's limit before any data is read.

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.Tensor;

/** Reads and writes {@code .npy} arrays as frames of a byte stream. */
public final class NpyFrames {
    private NpyFrames() {
    }

    /**
     * Reads the next frame: one whole {@code .npy} array (float16/32/64, C order).
     *
     * @param in        the stream, positioned at a frame's first byte or at its end
     * @param where     names the frame in messages, e.g. {@code stdin: frame 3}
     * @param maxValues the most elements a frame may hold; a header that says more is refused before its data is read
     * @return the array, or null where the stream ends before the frame's first byte
     * @throws SprnnException naming {@code where}: not a .npy, a malformed header, an unsupported dtype, too many
     *                        elements, or a stream that ends inside the frame
     */
    public static Tensor read(InputStream in, String where, long maxValues) {
        return read(in, where, maxValues, null);
    }

    /**
     * As {@link #read(InputStream, String, long)}, with the frame's shape checked as soon as its header is read,
     * before its data: a frame of the wrong shape is refused without reading (or allocating for) its data.
     *
     * @param in         the stream, positioned at a frame's first byte or at its end
     * @param where      names the frame in messages, e.g. {@code stdin: frame 3}
     * @param maxValues  the most elements a frame may hold; a header that says more is refused before its data is read
     * @param checkShape throws where the shape (the header's extents) is not one the caller takes; null for any
     * @return the array, or null where the stream ends before the frame's first byte
     * @throws SprnnException as {@link #read(InputStream, String, long)}, and what {@code checkShape} throws
     */
    public static Tensor read(InputStream in, String where, long maxValues, java.util.function.Consumer<int[]> checkShape) {
        try {
            byte[] start = new byte[12];
            int got = in.readNBytes(start, 0, 8);
            if (got == 0) {
                return null;
            }
            if (got < 8) {
                throw new SprnnException(where + ": the stream ends inside a .npy preamble (" + got + " of 8 bytes)");
            }
            int major = start[6] & 0xFF;
            int lenBytes = major == 1 ? 2 : 4;
            if (major >= 1 && major <= 3) {
                readFully(in, start, 8, lenBytes, where, "header length");
            }
            long headerEnd = NpyHeader.end(MemorySegment.ofArray(start).asSlice(0, 8 + (major >= 1 && major <= 3 ? lenBytes : 0)), where);
            byte[] head = new byte[(int) headerEnd];
            System.arraycopy(start, 0, head, 0, 8 + lenBytes);
            readFully(in, head, 8 + lenBytes, (int) headerEnd - 8 - lenBytes, where, "header");
            NpyHeader h = NpyHeader.of(MemorySegment.ofArray(head), where);
            if (h.count() > maxValues) {
                throw new SprnnException(where + ": shape " + java.util.Arrays.toString(h.shape()) + " holds " + h.count()
                        + " values, more than the " + maxValues + " a frame may hold");
            }
            if (checkShape != null) {
                checkShape.accept(h.shape().clone());
            }
            byte[] data = new byte[Math.toIntExact(h.count() * h.dtype().bytes())];
            readFully(in, data, 0, data.length, where, "data");
            double[] values = new double[(int) h.count()];
            FileElements.decode(h.dtype(), MemorySegment.ofArray(data), 0, values, values.length);
            return new Tensor(h.shape(), values);
        } catch (IOException e) {
            throw new SprnnException(where + ": cannot read: " + Untrusted.why(e));
        }
    }

    private static void readFully(InputStream in, byte[] b, int off, int len, String where, String part) throws IOException {
        int got = in.readNBytes(b, off, len);
        if (got < len) {
            throw new SprnnException(where + ": truncated: the stream ends inside the frame's " + part + " (" + got + " of " + len + " bytes)");
        }
    }

    /**
     * Writes {@code t} as one float32 {@code .npy} frame (format 1.0) and flushes the stream.
     *
     * @param out   the stream
     * @param t     the frame
     * @param where names the frame in messages
     * @throws SprnnException naming {@code where} if the stream cannot be written (e.g. the reader went away)
     */
    public static void write(OutputStream out, FloatTensor t, String where) {
        byte[] bytes = Npy.encode(t.toTensor(), Precision.FP32, where);
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new SprnnException(where + ": cannot write: " + e.getMessage());
        }
    }

    /**
     * Writes {@code values} as little-endian float32 and flushes the stream: a raw frame.
     *
     * @param out    the stream
     * @param values the frame's values
     * @param where  names the frame in messages
     * @throws SprnnException naming {@code where} if the stream cannot be written
     */
    public static void writeRaw(OutputStream out, float[] values, String where) {
        byte[] bytes = new byte[4 * values.length];
        MemorySegment.copy(values, 0, MemorySegment.ofArray(bytes), ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                0, values.length);
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new SprnnException(where + ": cannot write: " + e.getMessage());
        }
    }

    /**
     * Reads {@code count} little-endian float32 values: a raw frame.
     *
     * @param in    the stream, positioned at a frame's first byte or at its end
     * @param count the number of values in a frame
     * @param where names the frame in messages
     * @return the values, or null where the stream ends before the frame's first byte
     * @throws SprnnException naming {@code where} if the stream ends inside the frame
     */
    public static float[] readRaw(InputStream in, int count, String where) {
        byte[] bytes = new byte[4 * count];
        try {
            int got = in.readNBytes(bytes, 0, bytes.length);
            if (got == 0) {
                return null;
            }
            if (got < bytes.length) {
                throw new SprnnException(where + ": truncated raw frame: " + got + " of " + bytes.length + " bytes (" + count
                        + " float32 values per step)");
            }
        } catch (IOException e) {
            throw new SprnnException(where + ": cannot read: " + Untrusted.why(e));
        }
        float[] v = new float[count];
        MemorySegment.copy(MemorySegment.ofArray(bytes), ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, v, 0, count);
        return v;
    }
}

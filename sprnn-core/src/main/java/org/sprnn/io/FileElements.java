package org.sprnn.io;

// How a Precision's elements sit in a weight or array file: its safetensors name, its numpy descr, and the one
// place that converts each to and from double, little-endian. Reading is exact (every fp16/bf16/fp32 value is a
// double); writing rounds to nearest-even in a single step, never twice (Precision.round and encode(double)).

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.sprnn.Precision;
import org.sprnn.model.Tensor;

/** The file side of a {@link Precision}: names in safetensors and numpy headers, little-endian values. */
final class FileElements {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FileElements() {
    }

    /** The name in a safetensors header: {@code F16}, {@code BF16}, {@code F32}, {@code F64}. */
    static String safetensorsName(Precision p) {
        return switch (p) {
            case FP16 -> "F16";
            case BF16 -> "BF16";
            case FP32 -> "F32";
            case FP64 -> "F64";
        };
    }

    /** The precision of that safetensors name, or {@code null} if sprnn does not read it. */
    static Precision ofSafetensorsName(String name) {
        for (Precision p : Precision.values()) {
            if (safetensorsName(p).equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** The numpy descr, e.g. {@code <f4}, or {@code null} for bf16 (numpy has no bfloat16). */
    static String npyDescr(Precision p) {
        return switch (p) {
            case FP16 -> "<f2";
            case BF16 -> null;
            case FP32 -> "<f4";
            case FP64 -> "<f8";
        };
    }

    /**
     * Decodes {@code count} little-endian elements of {@code p} starting at byte {@code offset} of {@code src}.
     *
     * @param dst receives the values, exactly, at {@code dst[0..count)}
     */
    static void decode(Precision p, MemorySegment src, long offset, double[] dst, int count) {
        switch (p) {
            case FP16, BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[i] = p.decode(src.get(LE_SHORT, offset + 2L * i));
                }
            }
            case FP32 -> {
                for (int i = 0; i < count; i++) {
                    dst[i] = src.get(LE_FLOAT, offset + 4L * i);
                }
            }
            case FP64 -> {
                for (int i = 0; i < count; i++) {
                    dst[i] = src.get(LE_DOUBLE, offset + 8L * i);
                }
            }
        }
    }

    /** Encodes {@code values} in {@code p}, little-endian, into {@code dst} from byte {@code offset}, rounding to nearest-even. */
    static void encode(Precision p, double[] values, MemorySegment dst, long offset) {
        switch (p) {
            case FP16, BF16 -> {
                for (int i = 0; i < values.length; i++) {
                    dst.set(LE_SHORT, offset + 2L * i, p.encode(values[i]));
                }
            }
            case FP32 -> {
                for (int i = 0; i < values.length; i++) {
                    dst.set(LE_FLOAT, offset + 4L * i, (float) values[i]);
                }
            }
            case FP64 -> {
                for (int i = 0; i < values.length; i++) {
                    dst.set(LE_DOUBLE, offset + 8L * i, values[i]);
                }
            }
        }
    }

    /**
     * Refuses values that {@code p} cannot hold: a finite value that would be stored as infinity (beyond fp16's 65504,
     * bf16's or float32's largest), so that no file is written that the loaders would then refuse, or that would
     * compute something else than the model it came from.
     *
     * @param where the file and tensor, for the message
     */
    static void checkFits(Precision p, Tensor t, String where) {
        if (p == Precision.FP64) {
            return;
        }
        double[] v = t.data();
        for (int i = 0; i < v.length; i++) {
            double x = v[i];
            if (Double.isFinite(x) && !Double.isFinite(p.round(x))) {
                throw new org.sprnn.SprnnException(where + ": element " + index(t.shape(), i) + " = " + x + " does not fit "
                        + safetensorsName(p) + " (it would be stored as infinity)" + (p == Precision.FP32 ? ""
                        : ": store the file in f32 or f64"));
            }
        }
    }

    /** The {@code [i][j]...} of flat index {@code flat} of a row-major array of this shape. */
    static String index(int[] shape, int flat) {
        StringBuilder b = new StringBuilder();
        int rest = flat;
        int[] idx = new int[shape.length];
        for (int k = shape.length - 1; k >= 0; k--) {
            idx[k] = shape[k] == 0 ? 0 : rest % shape[k];
            rest = shape[k] == 0 ? rest : rest / shape[k];
        }
        for (int k : idx) {
            b.append('[').append(k).append(']');
        }
        return b.toString();
    }

    /**
     * (Here, not in Safetensors: the .npy and .npz code must not load Safetensors' Jackson.) a × b for a, b ≥ 0, or Long.MAX_VALUE where that overflows (no file is that large, so the size check
     * that follows fails); a zero extent still gives 0.
     */
    static long multiplyOrHuge(long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Writes all of {@code buf} (a channel may take it in pieces). */
    static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /** (Here, so that telling a file's format loads no Jackson.) Whether {@code file} starts like a safetensors file: a plausible header length followed by '{'. */
    static boolean looksLikeSafetensors(java.nio.file.Path file) {
        try (FileChannel ch = FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(9).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) > 0) {
                // fill
            }
            if (b.position() < 9) {
                return false;
            }
            long n = b.getLong(0);
            return n > 0 && n <= Safetensors.MAX_HEADER_BYTES && n <= java.nio.file.Files.size(file) - 8 && b.get(8) == '{';
        } catch (IOException e) {
            return false;
        }
    }
}

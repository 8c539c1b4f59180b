package org.sprnn.io;

// How a Precision's elements sit in a weight or array file: its safetensors name, its numpy descr, and the one
// place that converts each to and from double, little-endian. Reading is exact (every fp16/bf16/fp32 value is a
// double); writing rounds to nearest-even in a single step, never twice (Precision.round and encode(double)).

import java.lang.foreign.MemorySegment;
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
                        + safetensorsName(p) + " (it would be stored as infinity): store it in a wider type (f32, f64)");
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
}

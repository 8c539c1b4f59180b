package org.sprnn.io;

// The four floating-point element types sprnn reads and writes, and the one place that converts each
// to and from double. Reading is exact (every F16/BF16/F32 value is a double); writing rounds to
// nearest-even in a single step, never twice (see roundToOddFloat).

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * A floating-point element type of a weight or array file: its safetensors name, numpy descr and size.
 *
 * <p>Values are little-endian in both formats. Decoding to double is exact; encoding from double rounds
 * to nearest, ties to even, as numpy and PyTorch do.
 */
public enum DType {
    /** IEEE binary16. */
    F16("F16", "<f2", 2),
    /** bfloat16: the upper half of a binary32. */
    BF16("BF16", null, 2),
    /** IEEE binary32. */
    F32("F32", "<f4", 4),
    /** IEEE binary64. */
    F64("F64", "<f8", 8);

    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String safetensorsName;
    private final String npyDescr;
    private final int bytes;

    DType(String safetensorsName, String npyDescr, int bytes) {
        this.safetensorsName = safetensorsName;
        this.npyDescr = npyDescr;
        this.bytes = bytes;
    }

    /** The name in a safetensors header, e.g. {@code F32}. */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** The numpy descr, e.g. {@code <f4}, or {@code null} for BF16 (numpy has no bfloat16). */
    public String npyDescr() {
        return npyDescr;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The type of that safetensors name, or {@code null} if sprnn does not read it. */
    static DType ofSafetensorsName(String name) {
        for (DType d : values()) {
            if (d.safetensorsName.equals(name)) {
                return d;
            }
        }
        return null;
    }

    /**
     * Parses a user-facing name: {@code f16|fp16|float16}, {@code bf16|bfloat16}, {@code f32|fp32|float32},
     * {@code f64|fp64|float64}, case-insensitively.
     *
     * @throws org.sprnn.SprnnException naming the value and the accepted ones
     */
    public static DType parse(String name) {
        String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        return switch (key) {
            case "f16", "fp16", "float16", "half" -> F16;
            case "bf16", "bfloat16" -> BF16;
            case "f32", "fp32", "float32", "float" -> F32;
            case "f64", "fp64", "float64", "double" -> F64;
            default -> throw new org.sprnn.SprnnException("unknown dtype '" + name + "': expected f32, f16, bf16 or f64");
        };
    }

    /**
     * Decodes {@code count} little-endian elements starting at byte {@code offset} of {@code src}.
     *
     * @param dst receives the values, exactly, at {@code dst[0..count)}
     */
    void decode(MemorySegment src, long offset, double[] dst, int count) {
        switch (this) {
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[i] = Float.float16ToFloat(src.get(LE_SHORT, offset + 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[i] = Float.intBitsToFloat((src.get(LE_SHORT, offset + 2L * i) & 0xFFFF) << 16);
                }
            }
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    dst[i] = src.get(LE_FLOAT, offset + 4L * i);
                }
            }
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    dst[i] = src.get(LE_DOUBLE, offset + 8L * i);
                }
            }
        }
    }

    /** Encodes {@code values} little-endian into {@code dst} from byte {@code offset}, rounding to nearest-even. */
    void encode(double[] values, MemorySegment dst, long offset) {
        switch (this) {
            case F16 -> {
                for (int i = 0; i < values.length; i++) {
                    dst.set(LE_SHORT, offset + 2L * i, Float.floatToFloat16(roundToOddFloat(values[i])));
                }
            }
            case BF16 -> {
                for (int i = 0; i < values.length; i++) {
                    dst.set(LE_SHORT, offset + 2L * i, floatToBfloat16(roundToOddFloat(values[i])));
                }
            }
            case F32 -> {
                for (int i = 0; i < values.length; i++) {
                    dst.set(LE_FLOAT, offset + 4L * i, (float) values[i]);
                }
            }
            case F64 -> {
                for (int i = 0; i < values.length; i++) {
                    dst.set(LE_DOUBLE, offset + 8L * i, values[i]);
                }
            }
        }
    }

    /** The value this type stores for {@code v}: what writing then reading gives. */
    public double round(double v) {
        return switch (this) {
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(roundToOddFloat(v)));
            case BF16 -> Float.intBitsToFloat((floatToBfloat16(roundToOddFloat(v)) & 0xFFFF) << 16);
            case F32 -> (float) v;
            case F64 -> v;
        };
    }

    /**
     * {@code v} rounded to float with round-to-odd: exact values stay, inexact ones go to whichever
     * neighbouring float has an odd last bit. Rounding that float once more to a type with at least two
     * fewer significand bits (F16, BF16) then gives the correctly rounded result; rounding double → float
     * → half with round-to-nearest twice would not (double rounding).
     */
    static float roundToOddFloat(double v) {
        float f = (float) v;
        if (Float.isInfinite(f) || Float.isNaN(f) || (double) f == v) {
            return f;
        }
        if ((Float.floatToRawIntBits(f) & 1) == 1) {
            return f;
        }
        return Math.nextAfter(f, v);
    }

    /** Rounds a float to bfloat16 bits, nearest-even; NaN stays NaN (quiet). */
    static short floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7FFF + lsb; // carries into the exponent correctly, overflowing to infinity
        return (short) (rounded >>> 16);
    }
}

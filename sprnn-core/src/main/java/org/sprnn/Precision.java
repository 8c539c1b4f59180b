package org.sprnn;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A floating-point precision, the one word for it everywhere: the precision a GPU engine holds its weights and
 * operands in (fp16, bf16 or fp32; the sparse persistent kernel's packed weights are fp16 or bf16), the element type
 * of a weight or array file (any of the four), and the tolerance an engine computing in it is held to.
 *
 * <p>Reading a value ({@link #decode}) is exact. Rounding a double ({@link #round}, {@link #encode(double)}) rounds
 * once to nearest, ties to even, as numpy and PyTorch do, never twice (see {@code roundToOddFloat});
 * {@link #encode(float)} rounds a float once. How the values lie in memory is kept by their users: {@code io} has the
 * files' names for each precision (safetensors, numpy) and their little-endian layout, {@code engine.cuda} the
 * kernels' {@code ELEM_TYPE}, the CUDA libraries' {@code cudaDataType_t} and the device buffers' layout.
 */
public enum Precision {
    /** IEEE binary16: 11-bit significand, range ±65504. */
    FP16("fp16", 2, 3e-3),
    /** bfloat16: the upper half of a binary32 (8-bit significand, float32 range). */
    BF16("bf16", 2, 2e-2),
    /** IEEE binary32. */
    FP32("fp32", 4, 1e-5),
    /** IEEE binary64: a file element type and the host's arithmetic; no GPU engine stores it. */
    FP64("fp64", 8, 0);

    private final String id;
    private final int bytes;
    private final double tolerance;

    Precision(String id, int bytes, double tolerance) {
        this.id = id;
        this.bytes = bytes;
        this.tolerance = tolerance;
    }

    /** The name in options, reports and benchmark rows, e.g. {@code fp16}. */
    public String id() {
        return id;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Whether this is a 16-bit precision (fp16, bf16): one whose values {@link #encode} and {@link #decode} convert. */
    public boolean isSixteenBit() {
        return bytes == 2;
    }

    /**
     * The relative error ({@code Accuracy.relativeError}) an engine whose weights and operands are in this precision is
     * held to against {@code cpu-reference}: 1e-5 for fp32; 3e-3 for fp16 (weights, and h rounded to fp16 as the next
     * product's operand); 2e-2 for bf16 (8 significant bits); 0 for fp64, the precision {@code cpu-reference} computes
     * in. The selftest holds every cell, size, density and batch to these.
     */
    public double tolerance() {
        return tolerance;
    }

    /**
     * Parses a user-facing element type name: {@code f16|fp16|float16|half}, {@code bf16|bfloat16},
     * {@code f32|fp32|float32|float}, {@code f64|fp64|float64|double}, case-insensitively.
     *
     * @throws SprnnException naming the value and the accepted ones
     */
    public static Precision parse(String name) {
        String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        return switch (key) {
            case "f16", "fp16", "float16", "half" -> FP16;
            case "bf16", "bfloat16" -> BF16;
            case "f32", "fp32", "float32", "float" -> FP32;
            case "f64", "fp64", "float64", "double" -> FP64;
            default -> throw new SprnnException("unknown dtype '" + name + "': expected f32, f16, bf16 or f64");
        };
    }

    /**
     * Parses the value of an option that takes one of {@code accepted} by its {@link #id()}, case-insensitively.
     *
     * @throws SprnnException {@code <option>: expected fp16, bf16 or fp32, got '<value>'} (the accepted ids in the
     *                        order given)
     */
    public static Precision parse(String option, String value, List<Precision> accepted) {
        for (Precision p : accepted) {
            if (value != null && p.id.equals(value.toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new SprnnException(option + ": expected " + idsText(accepted) + ", got '" + value + "'");
    }

    /** The ids of {@code precisions} as a message lists them: {@code fp16, bf16 or fp32}. */
    public static String idsText(List<Precision> precisions) {
        List<String> ids = precisions.stream().map(Precision::id).toList();
        if (ids.size() < 2) {
            return String.join("", ids);
        }
        return ids.subList(0, ids.size() - 1).stream().collect(Collectors.joining(", ")) + " or " + ids.getLast();
    }

    /** The value this precision stores for {@code v}: what writing then reading gives, rounded once to nearest-even. */
    public double round(double v) {
        return switch (this) {
            case FP16, BF16 -> decode(encode(v));
            case FP32 -> (float) v;
            case FP64 -> v;
        };
    }

    /**
     * The 16 bits of {@code v} in this precision, rounded once to nearest even (not through float first, which
     * could round twice); NaN stays NaN. Only for a {@linkplain #isSixteenBit 16-bit} precision.
     */
    public short encode(double v) {
        return encode(roundToOddFloat(v));
    }

    /**
     * The 16 bits of {@code v} in this precision, rounded to nearest even; NaN stays NaN (quiet, its sign and the top
     * of its payload kept). Only for a {@linkplain #isSixteenBit 16-bit} precision.
     */
    public short encode(float v) {
        return switch (this) {
            case FP16 -> Float.floatToFloat16(v);
            case BF16 -> floatToBfloat16(v);
            case FP32, FP64 -> throw notSixteenBit();
        };
    }

    /**
     * The 16 bits of what {@code v} loses to its rounding in this precision, {@code v - decode(encode(v))} (exact in
     * float32: the two are within a factor 2 of each other), itself rounded. With split weights a nonzero is held as
     * the two words {@code encode(v)} and {@code encodeResidual(v)} of one column and the kernel's sum adds both, so
     * the effective weight is {@code decode(encode(v)) + decode(encodeResidual(v))}: for fp16 within
     * {@code max(2^-22 |v|, 2^-25)} (two roundings of 11-bit significands; the residual's rounding is absolute,
     * at most {@code 2^-25}, where it falls among fp16 subnormals), so within {@code 2^-22 |v|} for {@code |v| >= 2^-3};
     * for bf16 within {@code 2^-16 |v|}. Where the first word overflows (fp16 beyond 65504) or {@code v} is not
     * finite, the residual is infinite or NaN and so is the sum. Only for a {@linkplain #isSixteenBit 16-bit}
     * precision.
     */
    public short encodeResidual(float v) {
        return encode(v - decode(encode(v)));
    }

    /** The float32 value of 16 bits in this precision (exact). Only for a {@linkplain #isSixteenBit 16-bit} precision. */
    public float decode(short bits) {
        return switch (this) {
            case FP16 -> Float.float16ToFloat(bits);
            case BF16 -> Float.intBitsToFloat((bits & 0xFFFF) << 16);
            case FP32, FP64 -> throw notSixteenBit();
        };
    }

    private IllegalStateException notSixteenBit() {
        return new IllegalStateException(id + " is not a 16-bit precision");
    }

    /**
     * {@code v} rounded to float with round-to-odd: exact values stay, inexact ones go to whichever
     * neighbouring float has an odd last bit. Rounding that float once more to a type with at least two
     * fewer significand bits (fp16, bf16) then gives the correctly rounded result; rounding double → float
     * → half with round-to-nearest twice would not (double rounding).
     */
    private static float roundToOddFloat(double v) {
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
    private static short floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7FFF + lsb; // carries into the exponent correctly, overflowing to infinity
        return (short) (rounded >>> 16);
    }
}

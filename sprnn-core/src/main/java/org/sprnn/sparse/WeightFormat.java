package org.sprnn.sparse;

/** The 16-bit encodings a packed nonzero's value can take on-chip. */
public enum WeightFormat {
    /** IEEE 754 binary16: 11-bit significand, range ±65504. */
    FP16,
    /** bfloat16: the top 16 bits of a float32 (8-bit significand, float32 range). */
    BF16;

    /** The 16 bits of {@code v} in this format, rounded to nearest even. */
    public short encode(float v) {
        if (this == FP16) {
            return Float.floatToFloat16(v);
        }
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * The 16 bits of what {@code v} loses to its rounding in this format, {@code v - decode(encode(v))} (exact in
     * float32: the two are within a factor 2 of each other), itself rounded. With split weights a nonzero is held as
     * the two words {@code encode(v)} and {@code encodeResidual(v)} of one column and the kernel's sum adds both, so
     * the effective weight is {@code decode(encode(v)) + decode(encodeResidual(v))}: for fp16 within
     * {@code max(2^-22 |v|, 2^-25)} (two roundings of 11-bit significands; the residual's rounding is absolute,
     * at most {@code 2^-25}, where it falls among fp16 subnormals), so within {@code 2^-22 |v|} for {@code |v| >= 2^-3};
     * for bf16 within {@code 2^-16 |v|}. Where the first word overflows (fp16 beyond 65504) or {@code v} is not
     * finite, the residual is infinite or NaN and so is the sum.
     */
    public short encodeResidual(float v) {
        return encode(v - decode(encode(v)));
    }

    /** The float32 value of 16 bits in this format (exact). */
    public float decode(short bits) {
        return this == FP16 ? Float.float16ToFloat(bits) : Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}

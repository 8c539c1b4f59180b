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

    /** The float32 value of 16 bits in this format (exact). */
    public float decode(short bits) {
        return this == FP16 ? Float.float16ToFloat(bits) : Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}

package org.sprnn.engine.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.CublasLt;

/**
 * The precision weights and the GEMM/SpMM operands are stored in on the GPU; accumulation, biases,
 * cell state and outputs stay fp32 (except where a fused epilogue writes h directly, see
 * {@link CudaRnnEngine}).
 */
enum ElementType {
    FP32(0, CublasLt.CUDA_R_32F, 4),
    FP16(1, CublasLt.CUDA_R_16F, 2),
    BF16(2, CublasLt.CUDA_R_16BF, 2);

    /** The {@code ELEM_TYPE} define of cell_math.cuh. */
    final int define;
    /** cudaDataType_t. */
    final int cudaType;
    /** Bytes per element. */
    final int bytes;

    ElementType(int define, int cudaType, int bytes) {
        this.define = define;
        this.cudaType = cudaType;
        this.bytes = bytes;
    }

    static ElementType of(String precision) {
        return switch (precision) {
            case "fp32" -> FP32;
            case "fp16" -> FP16;
            case "bf16" -> BF16;
            default -> throw new SprnnException("--precision: expected fp16, bf16 or fp32, got '" + precision + "'");
        };
    }

    String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Stores {@code v} rounded to this type at element index {@code i} of {@code seg}. */
    void put(MemorySegment seg, long i, double v) {
        switch (this) {
            case FP32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v);
            case FP16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(roundToFloat(v)));
            case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT, i, toBf16(v));
        }
    }

    /** Reads element {@code i} of {@code seg} as a double. */
    double get(MemorySegment seg, long i) {
        return switch (this) {
            case FP32 -> seg.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case FP16 -> Float.float16ToFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case BF16 -> Float.intBitsToFloat((seg.getAtIndex(ValueLayout.JAVA_SHORT, i) & 0xFFFF) << 16);
        };
    }

    /** Stores {@code v[0..n)} rounded to this type at the start of {@code seg}, in bulk. */
    void putAll(MemorySegment seg, double[] v) {
        int n = v.length;
        switch (this) {
            case FP32 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) v[i];
                }
                MemorySegment.copy(f, 0, seg, ValueLayout.JAVA_FLOAT, 0, n);
            }
            case FP16 -> {
                short[] h = new short[n];
                for (int i = 0; i < n; i++) {
                    h[i] = Float.floatToFloat16((float) v[i]);
                }
                MemorySegment.copy(h, 0, seg, ValueLayout.JAVA_SHORT, 0, n);
            }
            case BF16 -> {
                short[] h = new short[n];
                for (int i = 0; i < n; i++) {
                    h[i] = toBf16(v[i]);
                }
                MemorySegment.copy(h, 0, seg, ValueLayout.JAVA_SHORT, 0, n);
            }
        }
    }

    /** Reads {@code out.length} elements from the start of {@code seg} as doubles, in bulk. */
    void getAll(MemorySegment seg, double[] out) {
        int n = out.length;
        switch (this) {
            case FP32 -> {
                float[] f = new float[n];
                MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, 0, f, 0, n);
                for (int i = 0; i < n; i++) {
                    out[i] = f[i];
                }
            }
            case FP16 -> {
                short[] h = new short[n];
                MemorySegment.copy(seg, ValueLayout.JAVA_SHORT, 0, h, 0, n);
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(h[i]);
                }
            }
            case BF16 -> {
                short[] h = new short[n];
                MemorySegment.copy(seg, ValueLayout.JAVA_SHORT, 0, h, 0, n);
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((h[i] & 0xFFFF) << 16);
                }
            }
        }
    }

    /**
     * double → float, then float → half rounds twice; the double rounding differs from a single
     * rounding only on exact ties at float precision, a relative 2^-24 effect far below fp16's 2^-11.
     */
    private static float roundToFloat(double v) {
        return (float) v;
    }

    /** Round-to-nearest-even bfloat16 of {@code (float) v}; NaN stays NaN. */
    static short toBf16(double v) {
        float f = (float) v;
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) 0x7FC0;
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}

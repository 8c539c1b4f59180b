package org.sprnn.engine.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.sprnn.Precision;
import org.sprnn.internal.cuda.CublasLt;

/**
 * How {@code cuda-gemm} and {@code cuda-spmm} hold a {@link Precision} on the GPU: the weights and the GEMM/SpMM
 * operands are stored in the engine's precision (fp32, fp16 or bf16); accumulation, biases, cell state and outputs
 * stay fp32 (except where a fused epilogue writes h directly, see {@link CudaRnnEngine}). Here: the kernels'
 * {@code ELEM_TYPE}, the libraries' {@code cudaDataType_t}, and the host-side stores and reads of a buffer's elements
 * (native byte order, as the device reads them).
 */
final class CudaPrecision {
    private CudaPrecision() {
    }

    /** The {@code ELEM_TYPE} define of rnn_cell_update.cu: 0 fp32, 1 fp16, 2 bf16. */
    static int define(Precision p) {
        return switch (p) {
            case FP32 -> 0;
            case FP16 -> 1;
            case BF16 -> 2;
            case FP64 -> throw notOnGpu(p);
        };
    }

    /** The cudaDataType_t of {@code p}. */
    static int cudaType(Precision p) {
        return switch (p) {
            case FP32 -> CublasLt.CUDA_R_32F;
            case FP16 -> CublasLt.CUDA_R_16F;
            case BF16 -> CublasLt.CUDA_R_16BF;
            case FP64 -> throw notOnGpu(p);
        };
    }

    /**
     * Stores {@code v} rounded to {@code p} at element index {@code i} of {@code seg}. A 16-bit element is rounded
     * from {@code (float) v}: double → float → half rounds twice, which differs from a single rounding only on exact
     * ties at float precision, a relative 2^-24 effect far below fp16's 2^-11.
     */
    static void put(Precision p, MemorySegment seg, long i, double v) {
        switch (p) {
            case FP32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v);
            case FP16, BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT, i, p.encode((float) v));
            case FP64 -> throw notOnGpu(p);
        }
    }

    /** Reads element {@code i} of {@code seg} as a double. */
    static double get(Precision p, MemorySegment seg, long i) {
        return switch (p) {
            case FP32 -> seg.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case FP16, BF16 -> p.decode(seg.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case FP64 -> throw notOnGpu(p);
        };
    }

    /** Stores {@code v[0..n)} rounded to {@code p} (as {@link #put}) at the start of {@code seg}, in bulk. */
    static void putAll(Precision p, MemorySegment seg, double[] v) {
        int n = v.length;
        switch (p) {
            case FP32 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) v[i];
                }
                MemorySegment.copy(f, 0, seg, ValueLayout.JAVA_FLOAT, 0, n);
            }
            case FP16, BF16 -> {
                short[] h = new short[n];
                for (int i = 0; i < n; i++) {
                    h[i] = p.encode((float) v[i]);
                }
                MemorySegment.copy(h, 0, seg, ValueLayout.JAVA_SHORT, 0, n);
            }
            case FP64 -> throw notOnGpu(p);
        }
    }

    /** Reads {@code out.length} elements from the start of {@code seg} as doubles, in bulk. */
    static void getAll(Precision p, MemorySegment seg, double[] out) {
        int n = out.length;
        switch (p) {
            case FP32 -> {
                float[] f = new float[n];
                MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, 0, f, 0, n);
                for (int i = 0; i < n; i++) {
                    out[i] = f[i];
                }
            }
            case FP16, BF16 -> {
                short[] h = new short[n];
                MemorySegment.copy(seg, ValueLayout.JAVA_SHORT, 0, h, 0, n);
                for (int i = 0; i < n; i++) {
                    out[i] = p.decode(h[i]);
                }
            }
            case FP64 -> throw notOnGpu(p);
        }
    }

    private static IllegalArgumentException notOnGpu(Precision p) {
        return new IllegalArgumentException(p.id() + ": no GPU engine holds this precision");
    }
}

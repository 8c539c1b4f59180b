package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.engine.EngineOptions;
import org.sprnn.internal.cuda.CublasLt;
import org.sprnn.internal.cuda.GemmPlan;
import org.sprnn.model.CellType;

/** Host-side conversions and kernel specs (no GPU needed). */
class CudaPrecisionTest {
    /** The bf16 bits the engines store for {@code v}. */
    private static short bf16(double v) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(2, 2);
            CudaPrecision.put(Precision.BF16, s, 0, v);
            return s.get(ValueLayout.JAVA_SHORT, 0);
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertThat(bf16(1.0)).isEqualTo((short) 0x3F80);
        // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even (1.0)
        assertThat(bf16(1.0 + Math.pow(2, -8))).isEqualTo((short) 0x3F80);
        // 1 + 3·2^-8 is halfway between 1.0078125 (odd) and 1.015625 (even): rounds up
        assertThat(bf16(1.0 + 3 * Math.pow(2, -8))).isEqualTo((short) 0x3F82);
        assertThat(bf16(-2.0)).isEqualTo((short) 0xC000);
        assertThat(bf16(1.0 + 3 * Math.pow(2, -8))).as("the engines' bits are the enum's").isEqualTo(Precision.BF16.encode(1.0f + 3 * 0x1p-8f));
    }

    @Test
    void roundTripsThroughEveryType() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(16, 4);
            for (Precision t : EngineOptions.PRECISIONS) {
                CudaPrecision.put(t, s, 1, 0.1);
                double back = CudaPrecision.get(t, s, 1);
                double ulp = switch (t) {
                    case FP32 -> Math.pow(2, -24);
                    case FP16 -> Math.pow(2, -11);
                    case BF16 -> Math.pow(2, -8);
                    case FP64 -> throw new AssertionError("not a GPU precision");
                };
                assertThat(Math.abs(back - 0.1) / 0.1).as("%s relative rounding of 0.1", t).isLessThanOrEqualTo(ulp);
            }
        }
    }

    @Test
    void bulkConversionsMatchElementWiseOnes() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        double[] v = new double[1001];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian() * 10;
        }
        try (Arena a = Arena.ofConfined()) {
            for (Precision t : EngineOptions.PRECISIONS) {
                MemorySegment bulk = a.allocate((long) t.bytes() * v.length, 4);
                MemorySegment one = a.allocate((long) t.bytes() * v.length, 4);
                CudaPrecision.putAll(t, bulk, v);
                for (int i = 0; i < v.length; i++) {
                    CudaPrecision.put(t, one, i, v[i]);
                }
                assertThat(bulk.mismatch(one)).as("%s putAll vs put", t).isEqualTo(-1);
                double[] back = new double[v.length];
                CudaPrecision.getAll(t, bulk, back);
                for (int i = 0; i < v.length; i++) {
                    assertThat(back[i]).as("%s element %d", t, i).isEqualTo(CudaPrecision.get(t, one, i));
                }
            }
        }
    }

    @Test
    void eachGpuPrecisionHasItsKernelDefineAndLibraryType() {
        assertThat(CudaPrecision.define(Precision.FP32)).isZero();
        assertThat(CudaPrecision.define(Precision.FP16)).isEqualTo(1);
        assertThat(CudaPrecision.define(Precision.BF16)).isEqualTo(2);
        assertThat(CudaPrecision.cudaType(Precision.FP32)).isEqualTo(CublasLt.CUDA_R_32F);
        assertThat(CudaPrecision.cudaType(Precision.FP16)).isEqualTo(CublasLt.CUDA_R_16F);
        assertThat(CudaPrecision.cudaType(Precision.BF16)).isEqualTo(CublasLt.CUDA_R_16BF);
        assertThatThrownBy(() -> CudaPrecision.define(Precision.FP64)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CudaPrecision.cudaType(Precision.FP64)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void kernelNamesAndDefinesCarryTheWholeSpecialisation() {
        CellUpdateSpec s = new CellUpdateSpec(CellType.GRU, 256, 4, true, Precision.FP16, Precision.FP16, true, true);
        assertThat(s.kernelName()).isEqualTo("rnn_cell_update_gru_h256_b4_fp16_hb_pfp16_e_o");
        assertThat(s.defines()).containsEntry("CELL", "2").containsEntry("HIDDEN", "256").containsEntry("BATCH", "4")
                .containsEntry("GATES_HB", "1").containsEntry("PRODUCT_TYPE", "1").containsEntry("ELEM_TYPE", "1");
        assertThat(s.grid()).isEqualTo(4);
    }

    @Test
    void gemmAlignmentIsTheLargestPowerOfTwoDividingTheStride() {
        assertThat(GemmPlan.alignmentOf(4 * 2304 * 2)).isEqualTo(256);
        assertThat(GemmPlan.alignmentOf(33 * 2)).isEqualTo(2);
        assertThat(GemmPlan.alignmentOf(33 * 4 * 4)).isEqualTo(16);
        assertThat(GemmPlan.alignmentOf(0)).isEqualTo(256);
    }
}

package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.EngineOptions;
import org.sprnn.model.CellType;

/** The test-support surface forwards to the engines' own specs and roundings (no GPU needed). */
class EngineTestingTest {
    @Test
    void cellUpdateKernelsAreTheEnginesSpecialisations() {
        assertThat(EngineTesting.cellUpdateKernels(CellType.RNN_RELU, 256, 4, CudaRnnEngine.Kind.GEMM, Precision.FP16))
                .as("ReLU GEMM: fused into the GEMM epilogue").isEmpty();
        assertThat(EngineTesting.cellUpdateKernels(CellType.GRU, 256, 4, CudaRnnEngine.Kind.GEMM, Precision.FP32))
                .extracting(EngineTesting.KernelBuild::name).containsExactly("rnn_cell_update_gru_h256_b4_fp32_bh");
        var spmm = EngineTesting.cellUpdateKernels(CellType.GRU, 256, 4, CudaRnnEngine.Kind.SPMM, Precision.FP16);
        assertThat(spmm).extracting(EngineTesting.KernelBuild::name)
                .containsExactly("rnn_cell_update_gru_h256_b4_fp16_hb_e_o", "rnn_cell_update_gru_h256_b4_fp16_hb_pfp16_e_o");
        CellUpdateSpec s = new CellUpdateSpec(CellType.GRU, 256, 4, true, Precision.FP16, Precision.FP16, true, true);
        assertThat(spmm.get(1)).isEqualTo(new EngineTesting.KernelBuild(CellUpdateSpec.SOURCE, s.kernelName(), s.defines()));
        assertThat(spmm.get(1).defines().keySet()).as("the engine's order of defines").containsExactlyElementsOf(s.defines().keySet());
    }

    @Test
    void roundedIsTheEnginesStoreAndLoad() {
        double[] v = {0.1, -3.3e-5, 1.0 + Math.pow(2, -8), 7e4, 0};
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(4, 4);
            for (Precision t : EngineOptions.PRECISIONS) {
                double[] r = EngineTesting.rounded(t, v);
                for (int i = 0; i < v.length; i++) {
                    CudaPrecision.put(t, one, 0, v[i]);
                    assertThat(r[i]).as("%s of %s", t, v[i]).isEqualTo(CudaPrecision.get(t, one, 0));
                }
            }
        }
        assertThat(v[0]).as("the input is not changed").isEqualTo(0.1);
        assertThatThrownBy(() -> EngineTesting.rounded(Precision.FP64, v)).isInstanceOf(SprnnException.class)
                .hasMessage("--precision: expected fp16, bf16 or fp32, got 'fp64'");
        assertThatThrownBy(() -> EngineTesting.cellUpdateKernels(CellType.GRU, 256, 4, CudaRnnEngine.Kind.GEMM, Precision.FP64))
                .isInstanceOf(SprnnException.class).hasMessageContaining("--precision");
        assertThatThrownBy(() -> EngineOptions.builder().precision(Precision.FP64).build()).isInstanceOf(SprnnException.class)
                .hasMessage("--precision: expected fp16, bf16 or fp32, got 'fp64'");
    }
}

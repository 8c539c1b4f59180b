package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.check.GpuSelfTest;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.RnnOutput;
import org.sprnn.internal.cuda.CudaEnvironment;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * cuda-gemm and cuda-spmm against cpu-reference (on a GPU: a small slice of the selftest matrix; the
 * whole matrix is {@code sprnn selftest}), and the provider's behaviour where there is no GPU.
 */
class CudaEnginesTest {
    private static final long SEED = Long.getLong("sprnn.seed", System.nanoTime());

    private static String gpuProblem() {
        return CudaEnvironment.get().problem(true);
    }

    @Test
    void environmentProbeNeverThrowsAndExplainsItself() {
        CudaEnvironment env = CudaEnvironment.get();
        assertThat(env.libraries()).extracting(CudaEnvironment.Library::name)
                .containsExactly("CUDA driver", "NVRTC", "cuBLASLt", "cuSPARSE", "cuDNN");
        for (CudaEnvironment.Library l : env.libraries()) {
            assertThat(l.ok() ? l.path() : l.problem()).as("%s: a path or a reason", l.name()).isNotBlank();
        }
        assertThat(env.device() != null || env.noDevice() != null).as("a device or why not").isTrue();
        assertThat(env.report()).startsWith("GPU: ");
    }

    @Test
    void namedGpuEngineFailsWithTheReasonWhereThereIsNoGpu() {
        String problem = gpuProblem();
        assumeTrue(problem != null, "a usable GPU is present: the no-GPU path is not exercised here");
        RnnModel m = SyntheticModels.random(CellType.GRU, 8, 16, 1, 0.5, 1.0, 1);
        for (String e : List.of("cuda-gemm", "cuda-spmm")) {
            assertThatThrownBy(() -> EngineProvider.select(m, EngineOptions.builder().engine(e).build()))
                    .isInstanceOf(SprnnException.class)
                    .hasMessageContaining("engine " + e + " is unavailable")
                    .hasMessageContaining(problem);
        }
        try (EngineSelection s = EngineProvider.select(m, EngineOptions.builder().build())) {
            assertThat(s.engine().name()).doesNotStartWith("cuda-");
            assertThat(s.rejected()).containsEntry("cuda-gemm", CudaEnvironment.get().problem(false));
        }
    }

    @Test
    void gpuEnginesAgreeWithTheReference() {
        String problem = gpuProblem();
        assumeTrue(problem == null, "no usable GPU: " + problem);
        System.out.println("CudaEnginesTest seed " + SEED + " (rerun with -Dsprnn.seed=" + SEED + ")");
        int failures = GpuSelfTest.run(new GpuSelfTest.Options(List.of("cuda-gemm", "cuda-spmm"), List.of(Precision.FP32, Precision.FP16),
                true, SEED), System.out);
        assertThat(failures).as("failed cases of the quick GPU matrix, seed %d (table above)", SEED).isZero();
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseFails() {
        String problem = gpuProblem();
        assumeTrue(problem == null, "no usable GPU: " + problem);
        RnnModel m = SyntheticModels.random(CellType.LSTM, 8, 16, 2, 0.5, 1.0, SEED);
        CudaRnnEngine e = new CudaRnnEngine(m, CudaRnnEngine.Kind.SPMM, Precision.FP32);
        Tensor x = SyntheticModels.input(3, 2, 8, SEED);
        RnnOutput out = e.run(x, null, null);
        assertThat(out.output().firstNonFinite()).isEqualTo(-1);
        e.close();
        e.close();
        assertThatThrownBy(() -> e.run(x, null, null)).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
    }
}

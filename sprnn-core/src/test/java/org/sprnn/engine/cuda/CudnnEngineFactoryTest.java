package org.sprnn.engine.cuda;

import org.sprnn.Precision;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.internal.cuda.CudaEnvironment;
import org.sprnn.internal.cuda.Cudnn;
import org.sprnn.internal.cuda.DeviceInfo;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;

/**
 * cuda-cudnn's registration, options and reasons without a GPU, and its algorithms, data formats and messages; on a
 * machine with a GPU and cuDNN, a small run of each cell against the reference.
 */
class CudnnEngineFactoryTest {
    private static final RnnModel MODEL = SyntheticModels.random(CellType.GRU, 8, 16, 2, 0.5, 1.0, 1);

    @Test
    void registeredUnderItsNameAfterTheMeasuredGpuEngines() {
        EngineFactory f = EngineProvider.factory("cuda-cudnn");
        assertThat(f).isInstanceOf(CudnnEngineFactory.class);
        assertThat(f.description()).contains("cuDNN").contains("persist-dynamic");
        EngineOptions o = EngineOptions.builder().build();
        assertThat(f.rank(MODEL, o)).isGreaterThan(EngineProvider.factory("cuda-spmm").rank(MODEL, o))
                .isLessThan(EngineProvider.factory("cpu").rank(MODEL, o));
    }

    @Test
    void withoutAGpuOrCudnnTheReasonSaysWhich() {
        CudaEnvironment env = CudaEnvironment.get();
        String reason = CudnnEngineFactory.problem(env, Precision.FP16);
        assumeTrue(reason != null, "a GPU and cuDNN are present: the unavailable path is not exercised here");
        String expected = !env.library("CUDA driver").ok() ? env.library("CUDA driver").problem()
                : env.device() == null ? env.noDevice() : env.library("cuDNN").problem();
        assertThat(new CudnnEngineFactory().unavailableReason(MODEL, EngineOptions.builder().build())).contains(reason);
        if (env.device() == null || env.device().computeMajor() >= 7) {
            assertThat(reason).isEqualTo(expected);
        }
        assertThatThrownBy(() -> EngineProvider.select(MODEL, EngineOptions.builder().engine("cuda-cudnn").build()))
                .isInstanceOf(SprnnException.class).hasMessage("engine cuda-cudnn is unavailable: " + reason);
        try (EngineSelection s = EngineProvider.select(MODEL, EngineOptions.builder().build())) {
            assertThat(s.rejected()).containsEntry("cuda-cudnn", reason);
        }
    }

    @Test
    void theReasonWalksDriverDeviceCudnnAndBf16() {
        DeviceInfo volta = new DeviceInfo(0, "Tesla V100", 7, 0, 80, 65536, 98304, 98304, 6L << 20, 16L << 30, 1380000, true, 1024, 13000);
        DeviceInfo hopper = new DeviceInfo(0, "H100", 9, 0, 132, 65536, 233472, 232448, 50L << 20, 80L << 30, 1980000, true, 1024, 13000);
        CudaEnvironment.Library drv = new CudaEnvironment.Library("CUDA driver", "/lib/libcuda.so.1", "13.0", null);
        CudaEnvironment.Library noDrv = new CudaEnvironment.Library("CUDA driver", null, null, "no NVIDIA driver: libcuda.so.1 not found");
        CudaEnvironment.Library cudnn = new CudaEnvironment.Library("cuDNN", "/lib/libcudnn.so.9", "9.14.0", null);
        CudaEnvironment.Library noCudnn = new CudaEnvironment.Library("cuDNN", null, null, "cuDNN missing: libcudnn.so.9 not found");
        assertThat(CudnnEngineFactory.problem(new CudaEnvironment(List.of(noDrv, cudnn), null, "no driver", List.of()), Precision.FP16))
                .isEqualTo("no NVIDIA driver: libcuda.so.1 not found");
        assertThat(CudnnEngineFactory.problem(new CudaEnvironment(List.of(drv, cudnn), null, "the NVIDIA driver sees no CUDA device",
                List.of()), Precision.FP16)).isEqualTo("the NVIDIA driver sees no CUDA device");
        assertThat(CudnnEngineFactory.problem(new CudaEnvironment(List.of(drv, noCudnn), hopper, null, List.of()), Precision.FP16))
                .isEqualTo("cuDNN missing: libcudnn.so.9 not found");
        // NVRTC, cuBLASLt and cuSPARSE are not cuda-cudnn's business
        assertThat(CudnnEngineFactory.problem(new CudaEnvironment(List.of(drv, cudnn), hopper, null, List.of()), Precision.FP16)).isNull();
        assertThat(CudnnEngineFactory.problem(new CudaEnvironment(List.of(drv, cudnn), volta, null, List.of()), Precision.FP32)).isNull();
        assertThat(CudnnEngineFactory.problem(new CudaEnvironment(List.of(drv, cudnn), volta, null, List.of()), Precision.BF16))
                .contains("bf16 needs compute capability 8.0").contains("Tesla V100 has 7.0");
    }

    @Test
    void algorithmsAreCudnnsAndTheOptionValuesAgree() {
        assertThat(CudnnAlgorithm.STANDARD.code).isEqualTo(Cudnn.RNN_ALGO_STANDARD);
        assertThat(CudnnAlgorithm.PERSIST_STATIC.code).isEqualTo(Cudnn.RNN_ALGO_PERSIST_STATIC);
        assertThat(CudnnAlgorithm.PERSIST_STATIC_SMALL_H.code).isEqualTo(Cudnn.RNN_ALGO_PERSIST_STATIC_SMALL_H);
        assertThat(CudnnAlgorithm.PERSIST_DYNAMIC.code).isEqualTo(Cudnn.RNN_ALGO_PERSIST_DYNAMIC);
        assertThat(CudnnAlgorithm.optionValues()).isEqualTo(EngineOptions.CUDNN_ALGORITHMS);
        assertThat(CudnnAlgorithm.order("auto")).containsExactly(CudnnAlgorithm.PERSIST_STATIC_SMALL_H, CudnnAlgorithm.PERSIST_STATIC,
                CudnnAlgorithm.STANDARD);
        assertThat(CudnnAlgorithm.order("persist-dynamic")).containsExactly(CudnnAlgorithm.PERSIST_DYNAMIC);
        assertThat(CudnnAlgorithm.parse("CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H")).isEqualTo(CudnnAlgorithm.PERSIST_STATIC_SMALL_H);
        assertThat(CudnnAlgorithm.parse("Persist_Static")).isEqualTo(CudnnAlgorithm.PERSIST_STATIC);
        assertThat(CudnnAlgorithm.PERSIST_DYNAMIC.cudnnName()).isEqualTo("CUDNN_RNN_ALGO_PERSIST_DYNAMIC");
        assertThat(CudnnAlgorithm.STANDARD.persistent()).isFalse();
        assertThat(CudnnAlgorithm.PERSIST_STATIC.persistent()).isTrue();
        assertThatThrownBy(() -> CudnnAlgorithm.order("fastest")).isInstanceOf(SprnnException.class)
                .hasMessage("--cudnn-algo: unknown algorithm 'fastest': expected one of auto, standard, persist-static, "
                        + "persist-static-small-h, persist-dynamic");
    }

    @Test
    void engineOptionsCarryTheAlgorithm() {
        assertThat(EngineOptions.builder().build().cudnnAlgo()).isEqualTo("auto");
        assertThat(EngineOptions.builder().cudnnAlgo("PERSIST_STATIC").build().cudnnAlgo()).isEqualTo("persist-static");
        assertThat(new EngineOptions("auto", 1, Precision.FP16, 1, false).cudnnAlgo()).isEqualTo("auto");
        assertThatThrownBy(() -> EngineOptions.builder().cudnnAlgo("persistent").build()).isInstanceOf(SprnnException.class)
                .hasMessageContaining("--cudnn-algo").hasMessageContaining("persist-static-small-h").hasMessageContaining("'persistent'");
    }

    @Test
    void precisionsBecomeCudnnTypesInOnePlace() {
        assertThat(CudnnDataFormat.of(Precision.FP16)).isEqualTo(new CudnnDataFormat(Precision.FP16, Cudnn.DATA_HALF, Cudnn.TENSOR_OP_MATH));
        assertThat(CudnnDataFormat.of(Precision.BF16)).isEqualTo(new CudnnDataFormat(Precision.BF16, Cudnn.DATA_BFLOAT16, Cudnn.TENSOR_OP_MATH));
        // fp32: FMA math, since cuDNN's default math lets compute capability 8.0+ use TF32
        assertThat(CudnnDataFormat.of(Precision.FP32)).isEqualTo(new CudnnDataFormat(Precision.FP32, Cudnn.DATA_FLOAT, Cudnn.FMA_MATH));
        assertThat(CudnnDataFormat.of(Precision.FP16).halfH()).isTrue();
        assertThat(CudnnDataFormat.of(Precision.BF16).halfH()).isFalse();
        assertThat(CudnnDataFormat.of(Precision.FP32).describe()).isEqualTo("fp32 data, fp32 math (CUDNN_FMA_MATH, no TF32)");
        assertThat(CudnnDataFormat.elementOf(Cudnn.DATA_HALF)).isEqualTo(Precision.FP16);
        assertThatThrownBy(() -> CudnnDataFormat.elementOf(Cudnn.DATA_DOUBLE)).isInstanceOf(SprnnException.class)
                .hasMessageContaining("cudnnDataType_t 1");
        assertThatThrownBy(() -> CudnnDataFormat.of(Precision.FP64)).isInstanceOf(SprnnException.class).hasMessageContaining("--precision");
    }

    @Test
    void refusalsNameEngineAlgorithmShapeCallAndStatus() {
        String failure = "cudnnRNNForward failed: " + Cudnn.statusText(3000, null, "hidden size too large for persistent kernels");
        String m = CudnnEngineException.message(CudnnAlgorithm.PERSIST_STATIC, 3000,
                "lstm, hidden 4096, 1 layer, input 48, batch 16, T 50, fp16 data", failure);
        assertThat(m).isEqualTo("cuda-cudnn: cuDNN refuses CUDNN_RNN_ALGO_PERSIST_STATIC for lstm, hidden 4096, 1 layer, input 48, "
                + "batch 16, T 50, fp16 data: cudnnRNNForward failed: CUDNN_STATUS_NOT_SUPPORTED (3000): hidden size too large for "
                + "persistent kernels");
        CudnnEngineException e = new CudnnEngineException(m, CudnnAlgorithm.PERSIST_STATIC, "cudnnRNNForward", 3000);
        assertThat(e.documentedRefusal()).isTrue();
        assertThat(new CudnnEngineException(m, CudnnAlgorithm.STANDARD, "cudnnRNNForward", 3000).documentedRefusal())
                .as("STANDARD takes every shape: its refusal is a failure").isFalse();
        assertThat(new CudnnEngineException(m, CudnnAlgorithm.PERSIST_STATIC, "cudnnRNNForward", 2000).documentedRefusal())
                .as("a bad parameter is sprnn's fault, not a documented limit").isFalse();
        assertThat(CudnnEngineException.message(CudnnAlgorithm.STANDARD, 5000, "gru", "x")).startsWith("cuda-cudnn: cuDNN fails ");
    }
}

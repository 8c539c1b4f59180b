package org.sprnn.internal.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The cuDNN binding without a GPU: its enum values against cuDNN 9's headers, its messages, its absence. */
class CudnnTest {

    @Test
    void enumValuesAreCudnn9s() {
        // cudnn_adv.h: cudnnRNNAlgo_t, cudnnForwardMode_t, cudnnRNNMode_t, cudnnRNNBiasMode_t, cudnnDirectionMode_t,
        // cudnnRNNInputMode_t, cudnnRNNDataLayout_t, the auxFlags bit
        assertThat(List.of(Cudnn.RNN_ALGO_STANDARD, Cudnn.RNN_ALGO_PERSIST_STATIC, Cudnn.RNN_ALGO_PERSIST_DYNAMIC,
                Cudnn.RNN_ALGO_PERSIST_STATIC_SMALL_H)).containsExactly(0, 1, 2, 3);
        assertThat(List.of(Cudnn.FWD_MODE_INFERENCE, Cudnn.FWD_MODE_TRAINING)).containsExactly(0, 1);
        assertThat(List.of(Cudnn.RNN_RELU, Cudnn.RNN_TANH, Cudnn.LSTM, Cudnn.GRU)).containsExactly(0, 1, 2, 3);
        assertThat(List.of(Cudnn.RNN_NO_BIAS, Cudnn.RNN_SINGLE_INP_BIAS, Cudnn.RNN_DOUBLE_BIAS, Cudnn.RNN_SINGLE_REC_BIAS))
                .containsExactly(0, 1, 2, 3);
        assertThat(Cudnn.UNIDIRECTIONAL).isZero();
        assertThat(List.of(Cudnn.LINEAR_INPUT, Cudnn.SKIP_INPUT)).containsExactly(0, 1);
        assertThat(List.of(Cudnn.RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, Cudnn.RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED,
                Cudnn.RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED)).containsExactly(0, 1, 2);
        assertThat(List.of(Cudnn.RNN_PADDED_IO_DISABLED, Cudnn.RNN_PADDED_IO_ENABLED)).containsExactly(0, 1);
        // cudnn_graph.h: cudnnDataType_t, cudnnMathType_t, cudnnStatus_t
        assertThat(List.of(Cudnn.DATA_FLOAT, Cudnn.DATA_DOUBLE, Cudnn.DATA_HALF, Cudnn.DATA_BFLOAT16)).containsExactly(0, 1, 2, 9);
        assertThat(List.of(Cudnn.DEFAULT_MATH, Cudnn.TENSOR_OP_MATH, Cudnn.TENSOR_OP_MATH_ALLOW_CONVERSION, Cudnn.FMA_MATH))
                .containsExactly(0, 1, 2, 3);
        assertThat(List.of(Cudnn.STATUS_SUCCESS, Cudnn.STATUS_BAD_PARAM, Cudnn.STATUS_NOT_SUPPORTED)).containsExactly(0, 2000, 3000);
        assertThat(Cudnn.SONAMES).containsExactly("libcudnn.so.9");
        assertThat(Cudnn.SUBLIBRARIES).startsWith("libcudnn_adv.so.9");
    }

    @Test
    void statusNamesAndCategories() {
        assertThat(Cudnn.statusName(3000)).isEqualTo("CUDNN_STATUS_NOT_SUPPORTED");
        assertThat(Cudnn.statusName(3002)).isEqualTo("CUDNN_STATUS_NOT_SUPPORTED_SHAPE");
        assertThat(Cudnn.statusName(2000)).isEqualTo("CUDNN_STATUS_BAD_PARAM");
        assertThat(Cudnn.statusName(1008)).isEqualTo("CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED");
        assertThat(Cudnn.statusName(5000)).isEqualTo("CUDNN_STATUS_EXECUTION_FAILED");
        assertThat(Cudnn.statusName(4242)).isEqualTo("cudnnStatus_t 4242");
        assertThat(Cudnn.isNotSupported(3000)).isTrue();
        assertThat(Cudnn.isNotSupported(3010)).isTrue();
        assertThat(Cudnn.isNotSupported(2000)).isFalse();
        assertThat(Cudnn.isNotSupported(4000)).isFalse();
        assertThat(Cudnn.isNotSupported(0)).isFalse();
    }

    @Test
    void statusTextIsOneLineWithCudnnsOwnMessage() {
        String t = Cudnn.statusText(3000, null, "CUDNN_BACKEND_API_FAILED; Reason: hiddenSize > 2560\n  is not supported\tby persistent kernels");
        assertThat(t).isEqualTo("CUDNN_STATUS_NOT_SUPPORTED (3000): CUDNN_BACKEND_API_FAILED; Reason: hiddenSize > 2560 is not supported by "
                + "persistent kernels");
        assertThat(Cudnn.statusText(2000, "CUDNN_STATUS_BAD_PARAM", "")).startsWith("CUDNN_STATUS_BAD_PARAM (2000): cuDNN gave no message")
                .contains("CUDNN_LOGERR_DBG=1");
        assertThat(Cudnn.statusText(4242, "", null)).startsWith("cudnnStatus_t 4242 (4242): ");
        String longMessage = "x".repeat(2000);
        assertThat(Cudnn.statusText(3000, null, longMessage)).hasSizeLessThan(500).endsWith("...");
        // the form a failed call takes: CudaException's "call failed: text"
        CudaException e = new CudaException("cudnnRNNForward", 3000, Cudnn.statusText(3000, null, "no"));
        assertThat(e.getMessage()).isEqualTo("cudnnRNNForward failed: CUDNN_STATUS_NOT_SUPPORTED (3000): no");
        assertThat(e.call()).isEqualTo("cudnnRNNForward");
        assertThat(e.code()).isEqualTo(3000);
    }

    @Test
    void oneLineCollapsesControlCharacters() {
        assertThat(Cudnn.oneLine("  a\r\n\n b\u0007c  ", 100)).isEqualTo("a b c");
        assertThat(Cudnn.oneLine("abcdef", 3)).isEqualTo("abc...");
    }

    @Test
    void versionsReadAsCudnnCountsThem() {
        assertThat(Cudnn.versionText(91400)).isEqualTo("9.14.0");
        assertThat(Cudnn.versionText(90100)).isEqualTo("9.1.0");
        assertThat(Cudnn.versionText(90002)).isEqualTo("9.0.2");
        assertThat(Cudnn.versionText(8907)).isEqualTo("8.9.7");
        assertThat(Cudnn.MIN_VERSION).isEqualTo(90000);
    }

    @Test
    void aMissingSymbolNamesEveryLibraryLookedIn() {
        String m = Cudnn.missingSymbol("cudnnRNNForward", List.of("libcudnn.so.9 (/usr/lib/libcudnn.so.9.1.0)",
                "libcudnn_adv.so.9 (not found)", "libcudnn_ops.so.9", "libcudnn_graph.so.9"));
        assertThat(m).contains("cudnnRNNForward").contains("/usr/lib/libcudnn.so.9.1.0").contains("libcudnn_adv.so.9 (not found)")
                .contains("older than 9").doesNotContain("\n");
    }

    @Test
    void withoutCudnnTheProblemSaysWhereItLooked() {
        String p = Cudnn.problem();
        assumeTrue(p != null, "cuDNN is installed here: its absence is not exercised");
        assertThat(p).startsWith("cuDNN").doesNotContain("\n");
        if (p.startsWith("cuDNN missing")) {
            assertThat(p).contains("libcudnn.so.9 not found");
        }
        assertThat(CudaEnvironment.get().library("cuDNN").problem()).isEqualTo(p);
        assertThat(CudaEnvironment.get().report()).contains("cuDNN: " + p);
    }
}

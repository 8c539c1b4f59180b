package org.sprnn.internal.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Library discovery and kernel-source resolution (no GPU needed). */
class CudaLibrariesTest {
    @Test
    void aMissingLibraryIsAReasonNotAnError() {
        CudaLibraries.Found f = CudaLibraries.open("nothing", List.of("libsprnn-does-not-exist.so.7"));
        assertThat(f.ok()).isFalse();
        assertThat(f.problem()).contains("libsprnn-does-not-exist.so.7 not found on the loader path");
    }

    @Test
    void kernelIncludesResolveFromTheKernelFolder() {
        Map<String, String> h = KernelCompiler.headersOf(KernelCompiler.readResource("rnn_cell_update.cu"),
                new java.util.LinkedHashMap<>());
        assertThat(h).containsOnlyKeys("cell_math.cuh");
        assertThat(h.get("cell_math.cuh")).contains("sigmoid_f32(float x)");
        // the persistent kernel reaches NVRTC with both its headers: the packer's layouts and the shared cell math
        Map<String, String> p = KernelCompiler.headersOf(KernelCompiler.readResource("sparse_persistent_rnn.cu"),
                new java.util.LinkedHashMap<>());
        assertThat(p).containsOnlyKeys("sparse_persistent_rnn.cuh", "cell_math.cuh");
        assertThat(p.get("cell_math.cuh")).contains("sigmoid_approx_f32(float x)").isEqualTo(h.get("cell_math.cuh"));
    }

    @Test
    void everyKernelSourceOpensWithItsVariantIndex() {
        for (String f : List.of("rnn_cell_update.cu", "cell_math.cuh", "toolkit_header_probe.cu", "sparse_persistent_rnn.cu", "session_faults.cu")) {
            String src = KernelCompiler.readResource(f);
            assertThat(src).as(f).startsWith("// " + f + " — ").contains("Variants");
        }
    }
}

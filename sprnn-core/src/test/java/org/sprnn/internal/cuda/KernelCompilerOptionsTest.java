// KernelCompilerOptionsTest.java — the code-generation options NVRTC gets: the defaults, and the
// SPRNN_NVRTC_OPTIONS override (used to compare NVRTC's code with nvcc's, results/kernel/session2).
package org.sprnn.internal.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KernelCompilerOptionsTest {
    @Test
    void defaultsWithoutTheVariable() {
        assertThat(KernelCompiler.tuningOptions(null)).containsExactly("-default-device");
    }

    @Test
    void theVariableReplacesTheDefaultsSplitOnWhitespace() {
        assertThat(KernelCompiler.tuningOptions("  -default-device\t-DSPRNN_LOAD_AHEAD=4 ")).containsExactly("-default-device",
                "-DSPRNN_LOAD_AHEAD=4");
        assertThat(KernelCompiler.tuningOptions("")).isEmpty();
    }
}

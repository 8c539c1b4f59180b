package org.sprnn.cli;

import java.util.List;

/** The GPU section of {@code sprnn info}. */
final class GpuInfo {
    private GpuInfo() {
    }

    static List<String> describe() {
        return List.of("GPU      (no CUDA support in this build)");
    }
}

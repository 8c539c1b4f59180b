package org.sprnn.cli;

import java.util.List;
import java.util.Optional;
import org.sprnn.plan.DeviceLimits;

/** The GPU section of {@code sprnn info}. */
final class GpuInfo {
    private GpuInfo() {
    }

    static List<String> describe() {
        return List.of("GPU      (no CUDA support in this build)");
    }

    /** The limits of this machine's GPU, if it has one sprnn can use. */
    static Optional<DeviceLimits> deviceLimits() {
        return Optional.empty();
    }
}

package org.sprnn.cli;

import java.util.List;
import java.util.Optional;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.plan.DeviceLimits;

/** The GPU section of {@code sprnn info}, and the device limits {@code sprnn plan} uses. */
final class GpuInfo {
    private GpuInfo() {
    }

    static List<String> describe() {
        return GpuStatus.describe();
    }

    /** The limits of this machine's GPU, if it has one sprnn can use. */
    static Optional<DeviceLimits> deviceLimits() {
        return GpuStatus.deviceLimits();
    }
}

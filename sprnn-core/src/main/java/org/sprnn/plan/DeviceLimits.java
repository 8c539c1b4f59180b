package org.sprnn.plan;

import org.sprnn.SprnnException;

/**
 * The device attributes capacity planning needs, read from the driver at run time (never from a table of
 * GPU names). {@link #h100Sxm()} exists for tests and for planning on a machine without a GPU.
 *
 * @param name device name, for reports
 * @param smCount multiprocessors ({@code CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT})
 * @param registersPerSm 32-bit registers per multiprocessor
 * @param maxRegistersPerThread architectural limit per thread (255)
 * @param sharedMemoryPerSm bytes of shared memory per multiprocessor
 * @param sharedMemoryPerBlockOptin bytes one block may use after opting in
 * @param maxThreadsPerBlock threads per block
 * @param computeCapability e.g. 90
 * @param maxClusterSize CTAs in one thread-block cluster, non-portable size included (0: no clusters)
 * @param cooperativeLaunch whether cooperative launches are supported
 * @param clustersOf8 clusters of 8 CTAs that can be resident at once at one CTA per SM (what a cooperative launch in
 *     such clusters can hold; 0: unknown, the planner then plans none)
 */
public record DeviceLimits(String name, int smCount, int registersPerSm, int maxRegistersPerThread, int sharedMemoryPerSm,
                           int sharedMemoryPerBlockOptin, int maxThreadsPerBlock, int computeCapability, int maxClusterSize,
                           boolean cooperativeLaunch, int clustersOf8) {
    public DeviceLimits {
        if (smCount < 1 || registersPerSm < 1 || maxRegistersPerThread < 1 || sharedMemoryPerSm < 1
                || sharedMemoryPerBlockOptin < 1 || maxThreadsPerBlock < 32 || computeCapability < 10 || maxClusterSize < 0
                || clustersOf8 < 0 || clustersOf8 * 8L > smCount) {
            throw new SprnnException("device limits of " + name + ": a count is out of range (" + smCount + " SMs, "
                    + registersPerSm + " registers/SM, " + sharedMemoryPerBlockOptin + " B shared/block)");
        }
    }

    /** Limits without a count of co-resident 8-CTA clusters (0: the planner uses none). */
    public DeviceLimits(String name, int smCount, int registersPerSm, int maxRegistersPerThread, int sharedMemoryPerSm,
                        int sharedMemoryPerBlockOptin, int maxThreadsPerBlock, int computeCapability, int maxClusterSize,
                        boolean cooperativeLaunch) {
        this(name, smCount, registersPerSm, maxRegistersPerThread, sharedMemoryPerSm, sharedMemoryPerBlockOptin, maxThreadsPerBlock,
                computeCapability, maxClusterSize, cooperativeLaunch, 0);
    }

    /**
     * A share of this device for one of {@code parts} kernels that run at once (e.g. the two directions of a
     * bidirectional layer, each a persistent grid of its own): {@code smCount / parts} multiprocessors and as many
     * 8-CTA clusters as fit in them; the per-SM and per-block limits are the device's.
     *
     * @param parts how many equal shares, at least 1 and at most {@link #smCount()}
     * @return the limits of one share, named after the device with the share
     * @throws SprnnException if {@code parts} is out of range
     */
    public DeviceLimits share(int parts) {
        if (parts < 1 || parts > smCount) {
            throw new SprnnException("device limits of " + name + ": " + parts + " shares of " + smCount + " SMs");
        }
        if (parts == 1) {
            return this;
        }
        int sms = smCount / parts;
        return new DeviceLimits(name + " (1/" + parts + ": " + sms + " SMs)", sms, registersPerSm, maxRegistersPerThread,
                sharedMemoryPerSm, sharedMemoryPerBlockOptin, maxThreadsPerBlock, computeCapability, maxClusterSize,
                cooperativeLaunch, Math.min(clustersOf8 / parts, sms / 8));
    }

    /**
     * An H100 SXM (132 SMs, 64K registers and 228 KB shared memory per SM, 227 KB per block, clusters of 16; 15 clusters
     * of 8 CTAs co-resident at one CTA per SM, as cuOccupancyMaxActiveClusters and a cooperative launch of 120 CTAs in
     * clusters of 8 showed on one: results/kernel/session5/README.md).
     */
    public static DeviceLimits h100Sxm() {
        return new DeviceLimits("NVIDIA H100 80GB HBM3 (assumed)", 132, 65536, 255, 233472, 232448, 1024, 90, 16, true, 15);
    }
}

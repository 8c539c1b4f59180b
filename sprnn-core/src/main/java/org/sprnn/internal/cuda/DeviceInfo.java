package org.sprnn.internal.cuda;

/**
 * What sprnn reads off a CUDA device at run time; configurations derive from these numbers, never from
 * a table of model names.
 *
 * @param ordinal               device ordinal
 * @param name                  marketing name, e.g. {@code NVIDIA H100 80GB HBM3}
 * @param computeMajor          compute capability, major (9 on Hopper)
 * @param computeMinor          compute capability, minor
 * @param multiprocessors       SM count
 * @param registersPerSm        32-bit registers per SM
 * @param sharedMemoryPerSm     bytes of shared memory per SM
 * @param sharedMemoryPerBlockOptIn bytes of shared memory one block may use after opting in
 * @param l2Bytes               L2 cache size in bytes
 * @param totalMemoryBytes      device memory in bytes
 * @param clockKhz              typical SM clock, kHz
 * @param cooperativeLaunch     whether cooperative launches are supported
 * @param maxThreadsPerBlock    threads per block
 * @param driverVersion         driver API version, e.g. 13000
 */
public record DeviceInfo(int ordinal, String name, int computeMajor, int computeMinor, int multiprocessors,
                         int registersPerSm, int sharedMemoryPerSm, int sharedMemoryPerBlockOptIn, long l2Bytes,
                         long totalMemoryBytes, int clockKhz, boolean cooperativeLaunch, int maxThreadsPerBlock,
                         int driverVersion) {

    /** Reads every field from the driver. */
    static DeviceInfo query(CudaDriver d, int ordinal) {
        int dev = d.device(ordinal);
        return new DeviceInfo(ordinal, d.deviceName(dev),
                d.attribute(dev, CudaDriver.ATTR_COMPUTE_CAPABILITY_MAJOR),
                d.attribute(dev, CudaDriver.ATTR_COMPUTE_CAPABILITY_MINOR),
                d.attribute(dev, CudaDriver.ATTR_MULTIPROCESSOR_COUNT),
                d.attribute(dev, CudaDriver.ATTR_MAX_REGISTERS_PER_MULTIPROCESSOR),
                d.attribute(dev, CudaDriver.ATTR_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR),
                d.attribute(dev, CudaDriver.ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
                d.attribute(dev, CudaDriver.ATTR_L2_CACHE_SIZE),
                d.totalMemory(dev),
                d.attribute(dev, CudaDriver.ATTR_CLOCK_RATE_KHZ),
                d.attribute(dev, CudaDriver.ATTR_COOPERATIVE_LAUNCH) != 0,
                d.attribute(dev, CudaDriver.ATTR_MAX_THREADS_PER_BLOCK),
                d.driverVersion());
    }

    /** The NVRTC/nvcc architecture name, e.g. {@code sm_90}. */
    public String arch() {
        return "sm_" + computeMajor + computeMinor;
    }

    /** Driver version as text, e.g. {@code 13.0}. */
    public String driverVersionText() {
        return driverVersion / 1000 + "." + (driverVersion % 1000) / 10;
    }

    /** One line for {@code sprnn info}. */
    public String summary() {
        return String.format("%s (%s, compute capability %d.%d): %d SMs, %d registers and %d KB shared memory per SM "
                        + "(%d KB per block opt-in), L2 %d MB, %.1f GB, %d MHz, cooperative launch %s, CUDA driver API %s",
                name, arch(), computeMajor, computeMinor, multiprocessors, registersPerSm, sharedMemoryPerSm / 1024,
                sharedMemoryPerBlockOptIn / 1024, l2Bytes >> 20, totalMemoryBytes / 1e9, clockKhz / 1000,
                cooperativeLaunch ? "yes" : "no", driverVersionText());
    }
}

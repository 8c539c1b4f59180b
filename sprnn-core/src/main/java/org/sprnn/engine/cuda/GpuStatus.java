package org.sprnn.engine.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaEnvironment;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.DeviceInfo;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.plan.DeviceLimits;

/**
 * What the GPU side of sprnn sees on this machine, for the CLI ({@code info}, {@code plan},
 * {@code bench}) without reaching into the internal bindings. Never throws, also without CUDA.
 */
public final class GpuStatus {
    private GpuStatus() {
    }

    /**
     * Lines for {@code sprnn info}: the device (name, SMs, registers and shared memory per SM, L2,
     * compute capability, driver) or why there is none, then each CUDA library's path and version or
     * why it was not found, then the include folders NVRTC gets.
     */
    public static List<String> describe() {
        CudaEnvironment env = CudaEnvironment.get();
        List<String> out = new ArrayList<>();
        out.add("GPU      " + (env.device() != null ? env.device().summary() : "none: " + env.noDevice()));
        for (CudaEnvironment.Library l : env.libraries()) {
            out.add("         " + l.summary());
        }
        out.add("         NVRTC include folders: " + (env.includeDirs().isEmpty() ? "none found" : String.join(" ", env.includeDirs())));
        return out;
    }

    /** Why the GPU engines cannot run here, or empty. */
    public static Optional<String> problem() {
        return Optional.ofNullable(CudaEnvironment.get().problem(false));
    }

    /** The device's limits for capacity planning, read from the driver, if there is a usable device. */
    public static Optional<DeviceLimits> deviceLimits() {
        DeviceInfo d = CudaEnvironment.get().device();
        if (d == null) {
            return Optional.empty();
        }
        int cc = d.computeMajor() * 10 + d.computeMinor();
        // thread-block clusters exist from compute capability 9.0: 8 CTAs portable, 16 with the non-portable opt-in
        int cluster = d.computeMajor() >= 9 ? 16 : 0;
        return Optional.of(new DeviceLimits(d.name(), d.multiprocessors(), d.registersPerSm(), 255, d.sharedMemoryPerSm(),
                d.sharedMemoryPerBlockOptIn(), d.maxThreadsPerBlock(), cc, cluster, d.cooperativeLaunch(),
                cluster >= 8 ? clustersOf8(d, cc) : 0));
    }

    private static volatile Integer clustersOf8;

    /**
     * How many clusters of 8 CTAs can be resident at once at one CTA per SM, asked of the driver for a probe kernel
     * ({@code cuOccupancyMaxActiveClusters}; how the SMs group into GPCs decides it: 15 on an H100 SXM, not 16); once
     * per process. 0 where the driver cannot say, so the planner then plans no 8-CTA clusters.
     */
    static int clustersOf8(DeviceInfo d, int cc) {
        Integer n = clustersOf8;
        if (n == null) {
            n = 0;
            String src = "extern \"C\" __global__ void __cluster_dims__(8, 1, 1) sprnn_cluster_probe(int* p) {\n"
                    + "  extern __shared__ unsigned char s[];\n  if (p) p[threadIdx.x] = s[threadIdx.x];\n}\n";
            // more than half an SM's shared memory: one CTA per SM, as the sparse persistent kernel
            int smem = Math.min(d.sharedMemoryPerBlockOptIn(), d.sharedMemoryPerSm() / 2 + 1024);
            try (CudaContext ctx = CudaContext.open(CudaContext.selectedOrdinal())) {
                byte[] cubin = new KernelCompiler().compileSource(src, "sprnn_cluster_probe.cu", "sprnn_cluster_probe", Map.of(),
                        "sm_" + cc);
                try (CudaModule m = ctx.loadModule(cubin, "cluster probe")) {
                    CudaModule.CudaKernel k = m.kernel("sprnn_cluster_probe");
                    k.setMaxDynamicSharedMemory(smem);
                    n = Math.max(0, Math.min(d.multiprocessors() / 8, k.maxActiveClusters(8 * (d.multiprocessors() / 8), 128, smem)));
                }
            } catch (RuntimeException e) {
                n = 0; // no NVRTC, an old driver: plan without 8-CTA clusters
            }
            clustersOf8 = n;
        }
        return n;
    }

    /** Device name, driver and library versions, for benchmark rows ("none" where absent). */
    public static Map<String, String> versions() {
        CudaEnvironment env = CudaEnvironment.get();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("device", env.device() == null ? "none" : env.device().name());
        m.put("driver", env.device() == null ? "none" : env.device().driverVersionText());
        for (String lib : List.of("NVRTC", "cuBLASLt", "cuSPARSE", "cuDNN")) {
            String v = env.library(lib).version();
            m.put(lib, v == null ? "none" : v);
        }
        return m;
    }
}

package org.sprnn.internal.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * What this machine offers sprnn's GPU engines, probed once: which CUDA libraries were found (path and
 * version) or why not, and the device (name, SMs, registers and shared memory per SM, L2, compute
 * capability, driver) or why there is none. For {@code sprnn info} and for the engine factories'
 * reasons.
 *
 * <p>Never throws, on a machine without CUDA included: every failure, {@link LinkageError} too,
 * becomes a reason string.
 *
 * @param libraries one entry per library, in the order driver, NVRTC, cuBLASLt, cuSPARSE, cuDNN (only
 *                  {@code cuda-cudnn} needs cuDNN: {@link #problem} does not ask for it)
 * @param device    device 0, or {@code null}
 * @param noDevice  why there is no usable device, or {@code null} when {@code device} is set
 * @param includeDirs toolkit include folders NVRTC will get ({@code -I}), empty when none was found
 */
public record CudaEnvironment(List<Library> libraries, DeviceInfo device, String noDevice, List<String> includeDirs) {

    /**
     * One library's status.
     *
     * @param name    e.g. {@code cuBLASLt}
     * @param path    the file loaded, or {@code null}
     * @param version its version, or {@code null}
     * @param problem why it cannot be used, or {@code null}
     */
    public record Library(String name, String path, String version, String problem) {
        /** Whether it is usable. */
        public boolean ok() {
            return problem == null;
        }

        /** One line for {@code sprnn info}. */
        public String summary() {
            return ok() ? name + " " + (version == null ? "" : version + " ") + "at " + path : name + ": " + problem;
        }
    }

    private static final class Holder {
        static final CudaEnvironment ENV = probeNow();
    }

    /** The environment, probed on first call. Never throws. */
    public static CudaEnvironment get() {
        try {
            return Holder.ENV;
        } catch (LinkageError e) {
            return new CudaEnvironment(List.of(), null, "probing CUDA failed: " + e, List.of());
        }
    }

    private static CudaEnvironment probeNow() {
        List<Library> libs = new ArrayList<>();
        libs.add(library("CUDA driver", CudaDriver::problem, () -> CudaDriver.get().path(),
                () -> "driver API " + version(CudaDriver.get().driverVersion())));
        libs.add(library("NVRTC", Nvrtc::problem, () -> Nvrtc.get().path(), () -> Nvrtc.get().version()));
        libs.add(library("cuBLASLt", CublasLt::problem, () -> CublasLt.get().path(), () -> CublasLt.get().version()));
        libs.add(library("cuSPARSE", Cusparse::problem, () -> Cusparse.get().path(), () -> Cusparse.get().version()));
        libs.add(library("cuDNN", Cudnn::problem, () -> Cudnn.get().path(), () -> Cudnn.get().version()));
        DeviceInfo dev = null;
        String noDevice = null;
        try {
            String p = CudaDriver.problem();
            if (p != null) {
                noDevice = p;
            } else {
                int n = CudaDriver.get().deviceCount();
                if (n == 0) {
                    noDevice = "the NVIDIA driver sees no CUDA device";
                } else {
                    try (CudaContext ctx = CudaContext.open(CudaContext.selectedOrdinal())) {
                        dev = ctx.info();
                    }
                }
            }
        } catch (RuntimeException | LinkageError e) {
            noDevice = "no usable CUDA device: " + e.getMessage();
        }
        List<String> inc = new ArrayList<>();
        try {
            String nvrtcPath = Nvrtc.problem() == null ? Nvrtc.get().path() : null;
            KernelCompiler.toolkitIncludeDirs(nvrtcPath).forEach(x -> inc.add(x.toString()));
        } catch (RuntimeException | LinkageError e) {
            // no include folder: reported as empty
        }
        return new CudaEnvironment(List.copyOf(libs), dev, noDevice, List.copyOf(inc));
    }

    private static String version(int v) {
        return v / 1000 + "." + (v % 1000) / 10;
    }

    private static Library library(String name, Supplier<String> problem, Supplier<String> path, Supplier<String> version) {
        try {
            String p = problem.get();
            if (p != null) {
                return new Library(name, null, null, p);
            }
            String ver;
            try {
                ver = version.get();
            } catch (RuntimeException e) {
                ver = "version unknown (" + e.getMessage() + ")";
            }
            return new Library(name, path.get(), ver, null);
        } catch (RuntimeException | LinkageError e) {
            return new Library(name, null, null, e.toString());
        }
    }

    /** The library of that name. */
    public Library library(String name) {
        return libraries.stream().filter(l -> l.name().equals(name)).findFirst()
                .orElse(new Library(name, null, null, "not probed"));
    }

    /**
     * Why the GPU engines cannot run here (first problem found), or {@code null} if driver, device,
     * NVRTC and cuBLASLt are all there. {@code needSparse} adds cuSPARSE.
     */
    public String problem(boolean needSparse) {
        Library drv = library("CUDA driver");
        if (!drv.ok()) {
            return drv.problem();
        }
        if (device == null) {
            return noDevice;
        }
        if (device.computeMajor() < 7) {
            return "the GPU " + device.name() + " has compute capability " + device.computeMajor() + "."
                    + device.computeMinor() + "; sprnn's GPU engines need 7.0 or newer";
        }
        for (String n : needSparse ? List.of("NVRTC", "cuBLASLt", "cuSPARSE") : List.of("NVRTC", "cuBLASLt")) {
            Library l = library(n);
            if (!l.ok()) {
                return l.problem();
            }
        }
        return null;
    }

    /** A multi-line report for {@code sprnn info}. */
    public String report() {
        StringBuilder sb = new StringBuilder();
        sb.append("GPU: ").append(device != null ? device.summary() : "none (" + noDevice + ")").append('\n');
        for (Library l : libraries) {
            sb.append("  ").append(l.summary()).append('\n');
        }
        sb.append("  NVRTC include folders: ").append(includeDirs.isEmpty() ? "none found (toolkit headers such as "
                + "cuda_fp16.h unavailable to run-time compiled kernels)" : String.join(" ", includeDirs)).append('\n');
        return sb.toString();
    }
}

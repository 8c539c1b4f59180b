package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.List;

/**
 * The CUDA driver API ({@code libcuda.so.1}): the functions sprnn calls, bound by the versioned names
 * that CUDA 13's {@code cuda.h} maps to.
 *
 * <p>Loaded on first use through {@link #get()}; {@link #problem()} says why it cannot be, without
 * throwing. {@code cuInit(0)} runs once at load. Handles ({@code CUcontext}, {@code CUstream}, ...) are
 * {@link MemorySegment} addresses; device pointers ({@code CUdeviceptr}) are {@code long}.
 */
public final class CudaDriver {
    public static final String SONAME = "libcuda.so.1";

    // CUdevice_attribute values (cuda.h)
    public static final int ATTR_MAX_THREADS_PER_BLOCK = 1;
    public static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK = 8;
    public static final int ATTR_CLOCK_RATE_KHZ = 13;
    public static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    public static final int ATTR_MEMORY_CLOCK_RATE_KHZ = 36;
    public static final int ATTR_GLOBAL_MEMORY_BUS_WIDTH = 37;
    public static final int ATTR_L2_CACHE_SIZE = 38;
    public static final int ATTR_MAX_THREADS_PER_MULTIPROCESSOR = 39;
    public static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    public static final int ATTR_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81;
    public static final int ATTR_MAX_REGISTERS_PER_MULTIPROCESSOR = 82;
    public static final int ATTR_COOPERATIVE_LAUNCH = 95;
    public static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;

    // CUfunction_attribute values (cuda.h)
    public static final int FUNC_ATTR_MAX_THREADS_PER_BLOCK = 0;
    public static final int FUNC_ATTR_SHARED_SIZE_BYTES = 1;
    public static final int FUNC_ATTR_LOCAL_SIZE_BYTES = 3;
    public static final int FUNC_ATTR_NUM_REGS = 4;
    public static final int FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    /** {@code CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED}: clusters above 8 CTAs (up to 16 on H100). */
    public static final int FUNC_ATTR_NON_PORTABLE_CLUSTER_SIZE_ALLOWED = 14;

    public static final int STREAM_NON_BLOCKING = 1;
    public static final int CAPTURE_MODE_THREAD_LOCAL = 1;

    // CUresult codes (cuda.h) after which the context is unusable: every later call in the process fails the same
    public static final int ERROR_ILLEGAL_ADDRESS = 700;
    public static final int ERROR_LAUNCH_TIMEOUT = 702;
    /** The first of the kernel-fault range 714..719 (hardware stack error .. launch failed). */
    public static final int ERROR_HARDWARE_STACK_ERROR = 714;
    public static final int ERROR_LAUNCH_FAILED = 719;

    final NativeFunction cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease,
            cuCtxSetCurrent, cuCtxSynchronize, cuMemGetInfo, cuMemAlloc, cuMemFree, cuMemAllocHost, cuMemFreeHost, cuMemHostGetDevicePointer, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync,
            cuMemcpyDtoDAsync, cuMemsetD8Async, cuStreamCreate, cuStreamDestroy, cuStreamSynchronize, cuStreamQuery,
            cuEventCreate, cuEventDestroy, cuEventRecord, cuEventSynchronize, cuEventElapsedTime,
            cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiateWithFlags, cuGraphLaunch,
            cuGraphExecDestroy, cuGraphDestroy, cuModuleLoadData, cuModuleUnload, cuModuleGetFunction, cuModuleGetGlobal,
            cuLaunchKernel, cuLaunchCooperativeKernel, cuFuncGetAttribute, cuFuncSetAttribute,
            cuOccupancyMaxActiveBlocksPerMultiprocessor, cuOccupancyMaxActiveClusters;
    private final NativeFunction cuGetErrorName, cuGetErrorString;
    private final String path;

    private CudaDriver(SymbolLookup lib, String path) {
        this.path = path;
        Binder b = new Binder(lib, SONAME, this::errorText);
        // error naming first: every other binding reports through it
        cuGetErrorName = b.bindRaw("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuGetErrorString = b.bindRaw("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuInit = b.bind("cuInit", JAVA_INT);
        cuDriverGetVersion = b.bind("cuDriverGetVersion", ADDRESS);
        cuDeviceGetCount = b.bind("cuDeviceGetCount", ADDRESS);
        cuDeviceGet = b.bind("cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = b.bind("cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceGetAttribute = b.bind("cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceTotalMem = b.bind("cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRetain = b.bind("cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRelease = b.bind("cuDevicePrimaryCtxRelease_v2", JAVA_INT);
        cuCtxSetCurrent = b.bind("cuCtxSetCurrent", ADDRESS);
        cuCtxSynchronize = b.bind("cuCtxSynchronize");
        cuMemGetInfo = b.bind("cuMemGetInfo_v2", ADDRESS, ADDRESS);
        cuMemAlloc = b.bind("cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        cuMemFree = b.bind("cuMemFree_v2", JAVA_LONG);
        cuMemAllocHost = b.bind("cuMemAllocHost_v2", ADDRESS, JAVA_LONG);
        cuMemFreeHost = b.bind("cuMemFreeHost", ADDRESS);
        cuMemHostGetDevicePointer = b.bind("cuMemHostGetDevicePointer_v2", ADDRESS, ADDRESS, JAVA_INT);
        cuMemcpyHtoDAsync = b.bind("cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsync = b.bind("cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemcpyDtoDAsync = b.bind("cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemsetD8Async = b.bind("cuMemsetD8Async", JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS);
        cuStreamCreate = b.bind("cuStreamCreate", ADDRESS, JAVA_INT);
        cuStreamDestroy = b.bind("cuStreamDestroy_v2", ADDRESS);
        cuStreamSynchronize = b.bind("cuStreamSynchronize", ADDRESS);
        cuStreamQuery = b.bind("cuStreamQuery", ADDRESS);
        cuEventCreate = b.bind("cuEventCreate", ADDRESS, JAVA_INT);
        cuEventDestroy = b.bind("cuEventDestroy_v2", ADDRESS);
        cuEventRecord = b.bind("cuEventRecord", ADDRESS, ADDRESS);
        cuEventSynchronize = b.bind("cuEventSynchronize", ADDRESS);
        cuEventElapsedTime = lib.find("cuEventElapsedTime_v2").isPresent()
                ? b.bind("cuEventElapsedTime_v2", ADDRESS, ADDRESS, ADDRESS)
                : b.bind("cuEventElapsedTime", ADDRESS, ADDRESS, ADDRESS);
        cuStreamBeginCapture = b.bind("cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
        cuStreamEndCapture = b.bind("cuStreamEndCapture", ADDRESS, ADDRESS);
        cuGraphInstantiateWithFlags = b.bind("cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
        cuGraphLaunch = b.bind("cuGraphLaunch", ADDRESS, ADDRESS);
        cuGraphExecDestroy = b.bind("cuGraphExecDestroy", ADDRESS);
        cuGraphDestroy = b.bind("cuGraphDestroy", ADDRESS);
        cuModuleLoadData = b.bind("cuModuleLoadData", ADDRESS, ADDRESS);
        cuModuleUnload = b.bind("cuModuleUnload", ADDRESS);
        cuModuleGetFunction = b.bind("cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        cuModuleGetGlobal = b.bind("cuModuleGetGlobal_v2", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        cuLaunchKernel = b.bind("cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        cuLaunchCooperativeKernel = b.bind("cuLaunchCooperativeKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        cuFuncGetAttribute = b.bind("cuFuncGetAttribute", ADDRESS, JAVA_INT, ADDRESS);
        cuFuncSetAttribute = b.bind("cuFuncSetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuOccupancyMaxActiveBlocksPerMultiprocessor = b.bind("cuOccupancyMaxActiveBlocksPerMultiprocessor",
                ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG);
        // (int* numClusters, CUfunction, const CUlaunchConfig*), CUDA 12.0+
        cuOccupancyMaxActiveClusters = b.bind("cuOccupancyMaxActiveClusters", ADDRESS, ADDRESS, ADDRESS);
        cuInit.check(0);
    }

    /** {@code CUDA_ERROR_X (description)} for a CUresult. */
    String errorText(int rc) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            String name = cuGetErrorName.call(rc, p) == 0 ? cString(p.get(ADDRESS, 0)) : "CUresult " + rc;
            String text = cuGetErrorString.call(rc, p) == 0 ? cString(p.get(ADDRESS, 0)) : "";
            return text.isEmpty() ? name : name + " (" + text + ")";
        }
    }

    @SuppressWarnings("restricted") // a C string returned by the library: bounded to 4 KB, read up to its NUL
    static String cString(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? "" : p.reinterpret(4096).getString(0);
    }

    /** A library status as {@code NAME (description)} from its two C strings, the description left out if empty or the same. */
    static String statusText(MemorySegment name, MemorySegment description) {
        String n = cString(name), s = cString(description);
        return s.isEmpty() || s.equals(n) ? n : n + " (" + s + ")";
    }

    private static final class Holder {
        static final CudaLibraries.Found FOUND = CudaLibraries.open("CUDA driver", List.of(SONAME));
        static final CudaDriver DRIVER;
        static final String PROBLEM;

        static {
            CudaDriver d = null;
            String problem = null;
            if (!FOUND.ok()) {
                // a driver that is there but may not be loaded is not "no driver"
                problem = (FOUND.problem().startsWith("native access") || FOUND.problem().startsWith("found but")
                        ? "the NVIDIA driver cannot be loaded: " : "no NVIDIA driver: ") + FOUND.problem();
            } else {
                try {
                    d = new CudaDriver(FOUND.lookup(), FOUND.path());
                } catch (CudaException e) {
                    problem = "the NVIDIA driver does not initialise: " + e.getMessage();
                } catch (RuntimeException | LinkageError e) {
                    problem = "the NVIDIA driver could not be bound: " + e;
                }
            }
            DRIVER = d;
            PROBLEM = problem;
        }
    }

    /** Why the driver cannot be used here, or {@code null} if it can. Never throws. */
    public static String problem() {
        try {
            return Holder.PROBLEM;
        } catch (LinkageError e) {
            return "the CUDA driver bindings failed to initialise: " + e;
        }
    }

    /**
     * The loaded, initialised driver.
     *
     * @throws CudaException with {@link #problem()} when it is unavailable
     */
    public static CudaDriver get() {
        String p = problem();
        if (p != null) {
            throw new CudaException(p);
        }
        return Holder.DRIVER;
    }

    /** The library file loaded. */
    public String path() {
        return path;
    }

    /** Driver API version, e.g. 13000 for CUDA 13.0. */
    public int driverVersion() {
        return cuDriverGetVersion.checkIntOut();
    }

    /** Number of CUDA devices visible. */
    public int deviceCount() {
        return cuDeviceGetCount.checkIntOut();
    }

    /** The device handle of ordinal {@code ordinal}. */
    public int device(int ordinal) {
        return cuDeviceGet.checkIntOut(ordinal);
    }

    /** A device attribute ({@code ATTR_*}). */
    public int attribute(int device, int attribute) {
        return cuDeviceGetAttribute.checkIntOut(attribute, device);
    }

    /** The device's marketing name. */
    public String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(256);
            cuDeviceGetName.check(v, 256, device);
            return v.getString(0);
        }
    }

    /** Total device memory in bytes. */
    public long totalMemory(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            cuDeviceTotalMem.check(v, device);
            return v.get(JAVA_LONG, 0);
        }
    }

    /** Blocks until all work of the current context is done; reports asynchronous kernel faults. */
    public void synchronizeContext() {
        cuCtxSynchronize.check();
    }

    /** Reads a {@code float*} out-parameter call, e.g. event elapsed time. */
    float elapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_FLOAT);
            cuEventElapsedTime.check(v, start, end);
            return v.get(JAVA_FLOAT, 0);
        }
    }
}

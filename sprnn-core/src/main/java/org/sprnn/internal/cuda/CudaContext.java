package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.MemorySegment;

/**
 * The device's primary context, retained for as long as this object is open, and the parent of the
 * buffers, streams, events, modules and graphs made through it.
 *
 * <p>Every method that calls the driver first makes the context current on the calling thread, so an
 * engine may be used from any (one at a time) thread.
 */
public final class CudaContext implements AutoCloseable {
    private final CudaDriver driver;
    private final int device;
    private final MemorySegment context; // CUcontext
    private final DeviceInfo info;
    private boolean closed;

    private CudaContext(CudaDriver driver, int ordinal) {
        this.driver = driver;
        this.device = driver.device(ordinal);
        this.context = driver.cuDevicePrimaryCtxRetain.checkOut(device);
        driver.cuCtxSetCurrent.check(context);
        this.info = DeviceInfo.query(driver, ordinal);
    }

    /** The system property naming the CUDA device this JVM's engines use (an ordinal, default 0). */
    public static final String DEVICE_PROPERTY = "sprnn.cuda.device";

    /**
     * The device this JVM's engines run on: the ordinal in the system property {@value #DEVICE_PROPERTY}, else the
     * environment variable {@code SPRNN_CUDA_DEVICE}, else 0. A Spark executor sets the property to the GPU its task
     * was given before its first engine; {@code CUDA_VISIBLE_DEVICES} still decides which devices are visible.
     *
     * @return the ordinal
     * @throws CudaException if the setting is not a non-negative integer
     */
    public static int selectedOrdinal() {
        String v = System.getProperty(DEVICE_PROPERTY);
        String from = "-D" + DEVICE_PROPERTY;
        if (v == null) {
            v = System.getenv("SPRNN_CUDA_DEVICE");
            from = "SPRNN_CUDA_DEVICE";
        }
        if (v == null || v.isBlank()) {
            return 0;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new CudaException(from + ": expected a CUDA device ordinal (0, 1, ...), got '"
                + v.replaceAll("[^\\x20-\\x7e]", "?") + "'");
    }

    /**
     * Retains device {@code ordinal}'s primary context.
     *
     * @throws CudaException if there is no driver, no such device, or the context cannot be made
     */
    public static CudaContext open(int ordinal) {
        CudaDriver d = CudaDriver.get();
        int n = d.deviceCount();
        if (ordinal >= n) {
            throw new CudaException("CUDA device " + ordinal + " does not exist (" + n + " device(s) visible)");
        }
        return new CudaContext(d, ordinal);
    }

    /** The driver bindings. */
    public CudaDriver driver() {
        return driver;
    }

    /** The device's attributes. */
    public DeviceInfo info() {
        return info;
    }

    /** Makes this context current on the calling thread. */
    public void makeCurrent() {
        checkOpen();
        driver.cuCtxSetCurrent.check(context);
    }

    /** Allocates {@code bytes} of device memory (uninitialised). */
    public DeviceBuffer allocate(long bytes, String what) {
        makeCurrent();
        return DeviceBuffer.allocate(this, bytes, what);
    }

    /** Allocates {@code bytes} of page-locked host memory for fast copies. */
    public PinnedBuffer allocatePinned(long bytes, String what) {
        makeCurrent();
        return new PinnedBuffer(this, Math.max(1, bytes), what);
    }

    /** A new non-blocking stream. */
    public CudaStream createStream() {
        makeCurrent();
        return new CudaStream(this);
    }

    /** A new timing event. */
    public CudaEvent createEvent() {
        makeCurrent();
        return new CudaEvent(this);
    }

    /** Loads a CUBIN image. */
    public CudaModule loadModule(byte[] cubin, String label) {
        makeCurrent();
        return new CudaModule(this, cubin, label);
    }

    /** {@code {free, total}} device memory in bytes ({@code cuMemGetInfo_v2}). */
    public long[] memoryInfo() {
        makeCurrent();
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment free = a.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            MemorySegment total = a.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            driver.cuMemGetInfo.check(free, total);
            return new long[] {free.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0), total.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0)};
        }
    }

    /** Waits for all work on the device and surfaces any asynchronous fault. */
    public void synchronize() {
        makeCurrent();
        driver.synchronizeContext();
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("CUDA context of device " + info.ordinal() + " used after close");
        }
    }

    /** Releases the primary context retained by this object; idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            driver.cuDevicePrimaryCtxRelease.check(device);
        }
    }

    static MemorySegment pointerOut(java.lang.foreign.Arena a) {
        return a.allocate(ADDRESS);
    }
}

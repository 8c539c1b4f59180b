package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A loaded CUBIN ({@code cuModuleLoadData}/{@code cuModuleUnload}); hands out its kernels, which are
 * valid while the module is open.
 */
public final class CudaModule implements AutoCloseable {
    private final CudaContext ctx;
    private final OwnedHandle module; // CUmodule

    CudaModule(CudaContext ctx, byte[] cubin, String label) {
        this.ctx = ctx;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment image = a.allocate(cubin.length + 1L);
            MemorySegment.copy(cubin, 0, image, JAVA_BYTE, 0, cubin.length);
            this.module = new OwnedHandle(ctx.driver().cuModuleLoadData.checkOut(image), ctx.driver().cuModuleUnload, ctx,
                    "module " + label + " used after close");
        }
    }

    /** The kernel {@code name} (an {@code extern "C"} symbol) of this module. */
    public CudaKernel kernel(String name) {
        MemorySegment m = module.get();
        ctx.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fn = ctx.driver().cuModuleGetFunction.checkOut(m, a.allocateFrom(name));
            return new CudaKernel(ctx, this, fn, name);
        }
    }

    /**
     * A {@code __device__} global of this module: its device address and size in bytes
     * ({@code cuModuleGetGlobal_v2}), e.g. a fault flag a kernel sets.
     *
     * @return {@code {address, bytes}}
     */
    public long[] global(String name) {
        MemorySegment m = module.get();
        ctx.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ptr = a.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            MemorySegment size = a.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            ctx.driver().cuModuleGetGlobal.check(ptr, size, m, a.allocateFrom(name));
            return new long[] {ptr.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0), size.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0)};
        }
    }

    boolean isOpen() {
        return module.isOpen();
    }

    /** Unloads the module; idempotent. */
    @Override
    public void close() {
        module.close();
    }

    /**
     * One kernel of a module: attributes, occupancy and launches.
     *
     * <p>Launch arguments are given in the kernel's parameter order as {@link DeviceBuffer} (its address),
     * {@link Long} (a pointer or 64-bit integer; 0 for a null pointer), {@link Integer} or {@link Float}.
     */
    public static final class CudaKernel {
        private final CudaContext ctx;
        private final CudaModule module;
        private final MemorySegment function; // CUfunction
        private final String name;

        CudaKernel(CudaContext ctx, CudaModule module, MemorySegment function, String name) {
            this.ctx = ctx;
            this.module = module;
            this.function = function;
            this.name = name;
        }

        /** The kernel's symbol name. */
        public String name() {
            return name;
        }

        /** A function attribute ({@code CudaDriver.FUNC_ATTR_*}), e.g. registers per thread. */
        public int attribute(int attribute) {
            return ctx.driver().cuFuncGetAttribute.checkIntOut(attribute, fn());
        }

        /** Allows launches with up to {@code bytes} of dynamic shared memory (needed above 48 KB). */
        public void setMaxDynamicSharedMemory(int bytes) {
            ctx.driver().cuFuncSetAttribute.check(fn(), CudaDriver.FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
        }

        /** Sets a function attribute ({@code cuFuncSetAttribute}), e.g. {@code FUNC_ATTR_NON_PORTABLE_CLUSTER_SIZE_ALLOWED}. */
        public void setAttribute(int attribute, int value) {
            ctx.driver().cuFuncSetAttribute.check(fn(), attribute, value);
        }

        /** How many blocks of {@code blockSize} threads fit on one SM at once. */
        public int maxActiveBlocksPerSm(int blockSize, long dynamicSharedBytes) {
            return ctx.driver().cuOccupancyMaxActiveBlocksPerMultiprocessor.checkIntOut(fn(), blockSize, dynamicSharedBytes);
        }

        /**
         * How many thread-block clusters of this kernel (its cluster shape compiled in) can be resident at once for a
         * grid of {@code gridX} blocks of {@code blockX} threads with {@code dynamicSharedBytes} each
         * ({@code cuOccupancyMaxActiveClusters}).
         */
        public int maxActiveClusters(int gridX, int blockX, int dynamicSharedBytes) {
            try (Arena a = Arena.ofConfined()) {
                // CUlaunchConfig: grid xyz, block xyz, sharedMemBytes (u32 each), hStream at 32, attrs at 40, numAttrs at 48
                MemorySegment cfg = a.allocate(56, 8);
                cfg.set(JAVA_INT, 0, gridX);
                cfg.set(JAVA_INT, 4, 1);
                cfg.set(JAVA_INT, 8, 1);
                cfg.set(JAVA_INT, 12, blockX);
                cfg.set(JAVA_INT, 16, 1);
                cfg.set(JAVA_INT, 20, 1);
                cfg.set(JAVA_INT, 24, dynamicSharedBytes);
                return ctx.driver().cuOccupancyMaxActiveClusters.checkIntOut(fn(), cfg);
            }
        }

        /** An ordinary launch on {@code stream} (may be captured into a graph). */
        public void launch(CudaStream stream, int gridX, int blockX, int sharedBytes, Object... args) {
            try (Arena a = Arena.ofConfined()) {
                ctx.driver().cuLaunchKernel.check(fn(), gridX, 1, 1, blockX, 1, 1, sharedBytes, stream.handle(),
                        params(a, args), MemorySegment.NULL);
            }
        }

        /**
         * A cooperative launch: every block is co-resident (grid ≤ occupancy × SMs, else
         * {@code CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE}).
         */
        public void launchCooperative(CudaStream stream, int gridX, int blockX, int sharedBytes, Object... args) {
            try (Arena a = Arena.ofConfined()) {
                ctx.driver().cuLaunchCooperativeKernel.check(fn(), gridX, 1, 1, blockX, 1, 1, sharedBytes,
                        stream.handle(), params(a, args));
            }
        }

        private MemorySegment fn() {
            if (!module.isOpen()) {
                throw new IllegalStateException("kernel " + name + " used after its module was closed");
            }
            return function;
        }

        /** {@code void**}: one pointer per argument, each to an 8-byte slot holding the value. */
        private static MemorySegment params(Arena a, Object[] args) {
            MemorySegment slots = a.allocate(8L * Math.max(1, args.length), 8);
            MemorySegment ptrs = a.allocate(ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                MemorySegment slot = slots.asSlice(8L * i, 8);
                Object v = args[i];
                switch (v) {
                    case DeviceBuffer b -> slot.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, b.ptr());
                    case Long l -> slot.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, l);
                    case Integer n -> slot.set(JAVA_INT, 0, n);
                    case Float f -> slot.set(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, f);
                    case null -> slot.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 0L);
                    default -> throw new IllegalArgumentException("kernel argument " + i + " of type "
                            + v.getClass().getSimpleName() + ": expected DeviceBuffer, Long, Integer or Float");
                }
                ptrs.setAtIndex(ADDRESS, i, slot);
            }
            return ptrs;
        }
    }
}

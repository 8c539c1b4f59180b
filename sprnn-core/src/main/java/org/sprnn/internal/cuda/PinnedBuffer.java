package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory ({@code cuMemAllocHost_v2}/{@code cuMemFreeHost}): the staging area for
 * uploads and downloads, which the copy engines move at full bus speed (pageable memory goes through
 * a driver bounce buffer at a fraction of it). Freed once on close; use after close fails loudly.
 */
public final class PinnedBuffer implements AutoCloseable {
    private final OwnedHandle segment;
    private final CudaContext ctx;

    @SuppressWarnings("restricted") // the driver returns a raw pointer of exactly `bytes`
    PinnedBuffer(CudaContext ctx, long bytes, String what) {
        this.ctx = ctx;
        MemorySegment memory = ctx.driver().cuMemAllocHost.checkOut(bytes).reinterpret(bytes);
        this.segment = new OwnedHandle(memory, ctx.driver().cuMemFreeHost, ctx, "pinned buffer '" + what + "' used after close");
    }

    /**
     * The address kernels reach this memory at ({@code cuMemHostGetDevicePointer_v2}): page-locked memory from
     * {@code cuMemAllocHost} is mapped into the device's address space on every 64-bit platform with unified addressing
     * (all that CUDA 13 supports), so a kernel may read and write it directly, across the bus, with no copy.
     */
    public long devicePointer() {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment out = a.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            ctx.driver().cuMemHostGetDevicePointer.check(out, segment(), 0);
            return out.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
        }
    }

    /** The host memory, {@code bytes} long. */
    public MemorySegment segment() {
        return segment.get();
    }

    /** Frees the memory; idempotent. */
    @Override
    public void close() {
        segment.close();
    }
}

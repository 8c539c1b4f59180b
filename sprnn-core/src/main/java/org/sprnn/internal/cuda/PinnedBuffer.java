package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory ({@code cuMemAllocHost_v2}/{@code cuMemFreeHost}): the staging area for
 * uploads and downloads, which the copy engines move at full bus speed (pageable memory goes through
 * a driver bounce buffer at a fraction of it). Freed once on close; use after close fails loudly.
 */
public final class PinnedBuffer implements AutoCloseable {
    private final OwnedHandle segment;

    @SuppressWarnings("restricted") // the driver returns a raw pointer of exactly `bytes`
    PinnedBuffer(CudaContext ctx, long bytes, String what) {
        MemorySegment memory = ctx.driver().cuMemAllocHost.checkOut(bytes).reinterpret(bytes);
        this.segment = new OwnedHandle(memory, ctx.driver().cuMemFreeHost, ctx, "pinned buffer '" + what + "' used after close");
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

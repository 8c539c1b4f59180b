package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory ({@code cuMemAllocHost_v2}/{@code cuMemFreeHost}): the staging area for
 * uploads and downloads, which the copy engines move at full bus speed (pageable memory goes through
 * a driver bounce buffer at a fraction of it). Freed once on close; use after close fails loudly.
 */
public final class PinnedBuffer implements AutoCloseable {
    private final CudaContext ctx;
    private final String what;
    private MemorySegment segment; // null once freed

    @SuppressWarnings("restricted") // the driver returns a raw pointer of exactly `bytes`
    PinnedBuffer(CudaContext ctx, long bytes, String what) {
        this.ctx = ctx;
        this.what = what;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            ctx.driver().cuMemAllocHost.check(out, bytes);
            segment = out.get(ADDRESS, 0).reinterpret(bytes);
        }
    }

    /** The host memory, {@code bytes} long. */
    public MemorySegment segment() {
        if (segment == null) {
            throw new IllegalStateException("pinned buffer '" + what + "' used after close");
        }
        return segment;
    }

    /** Frees the memory; idempotent. */
    @Override
    public void close() {
        if (segment != null) {
            MemorySegment s = segment;
            segment = null;
            ctx.makeCurrent();
            ctx.driver().cuMemFreeHost.check(s);
        }
    }
}

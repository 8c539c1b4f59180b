package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A block of device memory ({@code cuMemAlloc_v2}/{@code cuMemFree_v2}). Freed once on close; any use
 * after close fails loudly.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CudaContext ctx;
    private final long bytes;
    private final String what;
    private long ptr; // CUdeviceptr, 0 once freed

    private DeviceBuffer(CudaContext ctx, long ptr, long bytes, String what) {
        this.ctx = ctx;
        this.ptr = ptr;
        this.bytes = bytes;
        this.what = what;
    }

    static DeviceBuffer allocate(CudaContext ctx, long bytes, String what) {
        if (bytes <= 0) {
            throw new IllegalArgumentException(what + ": allocation of " + bytes + " bytes");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            try {
                ctx.driver().cuMemAlloc.check(out, bytes);
            } catch (CudaException e) {
                throw new CudaException("cuMemAlloc_v2", e.code(), e.getMessage().substring(e.getMessage().indexOf(": ") + 2)
                        + " allocating " + bytes + " bytes for " + what);
            }
            return new DeviceBuffer(ctx, out.get(JAVA_LONG, 0), bytes, what);
        }
    }

    /** The device address. */
    public long ptr() {
        if (ptr == 0) {
            throw new IllegalStateException("device buffer '" + what + "' used after close");
        }
        return ptr;
    }

    /** The device address {@code offset} bytes in, bounds-checked. */
    public long ptr(long offset) {
        if (offset < 0 || offset > bytes) {
            throw new IndexOutOfBoundsException(what + ": offset " + offset + " outside " + bytes + " bytes");
        }
        return ptr() + offset;
    }

    /** Size in bytes. */
    public long bytes() {
        return bytes;
    }

    /**
     * Copies {@code src} (host memory) to {@code offset} bytes into this buffer, ordered on {@code stream},
     * and waits for it.
     */
    public void upload(MemorySegment src, long offset, CudaStream stream) {
        if (offset < 0 || offset + src.byteSize() > bytes) {
            throw new IndexOutOfBoundsException(what + ": upload of " + src.byteSize() + " bytes at " + offset
                    + " exceeds " + bytes);
        }
        ctx.makeCurrent();
        ctx.driver().cuMemcpyHtoDAsync.check(ptr() + offset, src, src.byteSize(), stream.handle());
        stream.synchronize();
    }

    /**
     * Queues a copy of {@code src} (page-locked host memory: a {@link PinnedBuffer}'s segment, so that the copy is
     * asynchronous and can be captured into a graph) to {@code offset} bytes into this buffer on {@code stream};
     * does not wait.
     */
    public void uploadAsync(MemorySegment src, long offset, CudaStream stream) {
        if (offset < 0 || offset + src.byteSize() > bytes) {
            throw new IndexOutOfBoundsException(what + ": upload of " + src.byteSize() + " bytes at " + offset
                    + " exceeds " + bytes);
        }
        ctx.driver().cuMemcpyHtoDAsync.check(ptr() + offset, src, src.byteSize(), stream.handle());
    }

    /**
     * Queues a copy of {@code dst.byteSize()} bytes from {@code offset} bytes into this buffer to {@code dst}
     * (page-locked host memory, as {@link #uploadAsync}) on {@code stream}; does not wait.
     */
    public void downloadAsync(MemorySegment dst, long offset, CudaStream stream) {
        if (offset < 0 || offset + dst.byteSize() > bytes) {
            throw new IndexOutOfBoundsException(what + ": download of " + dst.byteSize() + " bytes at " + offset
                    + " exceeds " + bytes);
        }
        ctx.driver().cuMemcpyDtoHAsync.check(dst, ptr() + offset, dst.byteSize(), stream.handle());
    }

    /**
     * Copies {@code dst.byteSize()} bytes from {@code offset} bytes into this buffer to {@code dst}
     * (host memory), ordered on {@code stream} after the work queued there, and waits for it.
     */
    public void download(MemorySegment dst, long offset, CudaStream stream) {
        if (offset < 0 || offset + dst.byteSize() > bytes) {
            throw new IndexOutOfBoundsException(what + ": download of " + dst.byteSize() + " bytes at " + offset
                    + " exceeds " + bytes);
        }
        ctx.makeCurrent();
        ctx.driver().cuMemcpyDtoHAsync.check(dst, ptr() + offset, dst.byteSize(), stream.handle());
        stream.synchronize();
    }

    /** Fills every byte with {@code value} on {@code stream} (0xFF poisons fp32/fp16 data with NaN). */
    public void fill(byte value, CudaStream stream) {
        ctx.driver().cuMemsetD8Async.check(ptr(), value, bytes, stream.handle());
    }

    /** Copies all of {@code src} into this buffer on {@code stream}. */
    public void copyFrom(DeviceBuffer src, CudaStream stream) {
        if (src.bytes > bytes) {
            throw new IndexOutOfBoundsException(what + ": copy of " + src.bytes + " bytes exceeds " + bytes);
        }
        ctx.driver().cuMemcpyDtoDAsync.check(ptr(), src.ptr(), src.bytes, stream.handle());
    }

    /**
     * Copies {@code count} bytes from device address {@code src} to {@code offset} bytes into this buffer
     * on {@code stream} (capturable into a graph).
     */
    public void copyFrom(long src, long offset, long count, CudaStream stream) {
        if (offset < 0 || offset + count > bytes) {
            throw new IndexOutOfBoundsException(what + ": copy of " + count + " bytes at " + offset + " exceeds " + bytes);
        }
        ctx.driver().cuMemcpyDtoDAsync.check(ptr() + offset, src, count, stream.handle());
    }

    /** What the buffer holds (for messages). */
    public String what() {
        return what;
    }

    /** Frees the memory; idempotent. */
    @Override
    public void close() {
        if (ptr != 0) {
            long p = ptr;
            ptr = 0;
            ctx.makeCurrent();
            ctx.driver().cuMemFree.check(p);
        }
    }
}

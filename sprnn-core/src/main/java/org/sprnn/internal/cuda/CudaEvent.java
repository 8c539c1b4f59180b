package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/** A CUDA event used for timing ({@code cuEventCreate}/{@code cuEventDestroy_v2}). */
public final class CudaEvent implements AutoCloseable {
    private final CudaContext ctx;
    private MemorySegment handle; // CUevent, null once destroyed

    CudaEvent(CudaContext ctx) {
        this.ctx = ctx;
        this.handle = ctx.driver().createHandle(ctx.driver().cuEventCreate, 0);
    }

    MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("CUDA event used after close");
        }
        return handle;
    }

    /** Records the event on {@code stream}. */
    public void record(CudaStream stream) {
        ctx.driver().cuEventRecord.check(handle(), stream.handle());
    }

    /** Waits until the event has completed. */
    public void synchronize() {
        ctx.driver().cuEventSynchronize.check(handle());
    }

    /** Milliseconds from {@code start} to this event (both recorded and completed). */
    public float millisSince(CudaEvent start) {
        return ctx.driver().elapsedMillis(start.handle(), handle());
    }

    /** Destroys the event; idempotent. */
    @Override
    public void close() {
        if (handle != null) {
            MemorySegment h = handle;
            handle = null;
            ctx.makeCurrent();
            ctx.driver().cuEventDestroy.check(h);
        }
    }
}

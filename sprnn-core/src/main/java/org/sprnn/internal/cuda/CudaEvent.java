package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/** A CUDA event used for timing ({@code cuEventCreate}/{@code cuEventDestroy_v2}). */
public final class CudaEvent implements AutoCloseable {
    private final CudaContext ctx;
    private final OwnedHandle event; // CUevent

    CudaEvent(CudaContext ctx) {
        this.ctx = ctx;
        this.event = new OwnedHandle(ctx.driver().cuEventCreate.checkOut(0), ctx.driver().cuEventDestroy, ctx,
                "CUDA event used after close");
    }

    MemorySegment handle() {
        return event.get();
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
        event.close();
    }
}

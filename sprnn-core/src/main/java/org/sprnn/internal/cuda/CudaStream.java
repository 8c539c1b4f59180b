package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/** A non-blocking CUDA stream ({@code cuStreamCreate}/{@code cuStreamDestroy_v2}). */
public final class CudaStream implements AutoCloseable {
    private final CudaContext ctx;
    private final OwnedHandle stream; // CUstream

    CudaStream(CudaContext ctx) {
        this.ctx = ctx;
        this.stream = new OwnedHandle(ctx.driver().cuStreamCreate.checkOut(CudaDriver.STREAM_NON_BLOCKING),
                ctx.driver().cuStreamDestroy, ctx, "CUDA stream used after close");
    }

    /** The {@code CUstream} handle. */
    public MemorySegment handle() {
        return stream.get();
    }

    /** Waits for all work queued on the stream; surfaces asynchronous faults. */
    public void synchronize() {
        ctx.makeCurrent();
        ctx.driver().cuStreamSynchronize.check(handle());
    }

    /** {@code CUDA_ERROR_NOT_READY}: {@code cuStreamQuery}'s answer while work is still running. */
    private static final int NOT_READY = 600;

    /** Whether all work queued on the stream has finished ({@code cuStreamQuery}); surfaces asynchronous faults. */
    public boolean isIdle() {
        int rc = ctx.driver().cuStreamQuery.call(handle());
        if (rc == NOT_READY) {
            return false;
        }
        if (rc != 0) {
            throw new CudaException("cuStreamQuery", rc, ctx.driver().cuStreamQuery.errorText().apply(rc));
        }
        return true;
    }

    /**
     * Records everything {@code work} queues on this stream into a graph and instantiates it. The work
     * runs nothing while captured.
     *
     * @throws CudaException if capture or instantiation fails (the capture is always ended)
     */
    public CudaGraph capture(Runnable work) {
        ctx.makeCurrent();
        CudaDriver d = ctx.driver();
        d.cuStreamBeginCapture.check(handle(), CudaDriver.CAPTURE_MODE_THREAD_LOCAL);
        MemorySegment graph;
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
                MemorySegment g = CudaContext.pointerOut(a);
                if (d.cuStreamEndCapture.call(handle(), g) == 0) {
                    MemorySegment gh = g.get(java.lang.foreign.ValueLayout.ADDRESS, 0);
                    if (!gh.equals(MemorySegment.NULL)) {
                        d.cuGraphDestroy.call(gh);
                    }
                }
            }
            throw e;
        }
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment g = CudaContext.pointerOut(a); // cuStreamEndCapture(stream, CUgraph* out)
            d.cuStreamEndCapture.check(handle(), g);
            graph = g.get(java.lang.foreign.ValueLayout.ADDRESS, 0);
        }
        try {
            return new CudaGraph(ctx, d.cuGraphInstantiateWithFlags.checkOut(graph, 0L));
        } finally {
            d.cuGraphDestroy.check(graph);
        }
    }

    /** Destroys the stream; idempotent. */
    @Override
    public void close() {
        stream.close();
    }
}

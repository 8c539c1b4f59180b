package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/** An instantiated CUDA graph ({@code CUgraphExec}), made by {@link CudaStream#capture}; replayed with {@link #launch}. */
public final class CudaGraph implements AutoCloseable {
    private final CudaContext ctx;
    private final OwnedHandle exec; // CUgraphExec

    CudaGraph(CudaContext ctx, MemorySegment exec) {
        this.ctx = ctx;
        this.exec = new OwnedHandle(exec, ctx.driver().cuGraphExecDestroy, ctx, "CUDA graph launched after close");
    }

    /** Queues one replay of the whole graph on {@code stream}. */
    public void launch(CudaStream stream) {
        ctx.driver().cuGraphLaunch.check(exec.get(), stream.handle());
    }

    /** Destroys the executable graph; idempotent. */
    @Override
    public void close() {
        exec.close();
    }
}

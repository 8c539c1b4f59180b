package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/** An instantiated CUDA graph ({@code CUgraphExec}), made by {@link CudaStream#capture}; replayed with {@link #launch}. */
public final class CudaGraph implements AutoCloseable {
    private final CudaContext ctx;
    private MemorySegment exec; // CUgraphExec, null once destroyed

    CudaGraph(CudaContext ctx, MemorySegment exec) {
        this.ctx = ctx;
        this.exec = exec;
    }

    /** Queues one replay of the whole graph on {@code stream}. */
    public void launch(CudaStream stream) {
        if (exec == null) {
            throw new IllegalStateException("CUDA graph launched after close");
        }
        ctx.driver().cuGraphLaunch.check(exec, stream.handle());
    }

    /** Destroys the executable graph; idempotent. */
    @Override
    public void close() {
        if (exec != null) {
            MemorySegment e = exec;
            exec = null;
            ctx.makeCurrent();
            ctx.driver().cuGraphExecDestroy.check(e);
        }
    }
}

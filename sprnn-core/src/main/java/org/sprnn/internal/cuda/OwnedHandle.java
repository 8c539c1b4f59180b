package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/**
 * One native handle that one object owns (a stream, an event, a graph, a module, pinned memory, a library
 * handle): handed out while open, destroyed exactly once by {@link #close()}, which is idempotent; any use after
 * close fails loudly. Not thread-safe, as the objects that hold one.
 */
final class OwnedHandle implements AutoCloseable {
    private final NativeFunction destroy;
    private final CudaContext ctx; // made current before the destroy call; null where none is needed
    private final String usedAfterClose;
    private MemorySegment handle; // null once destroyed

    /**
     * @param handle         the handle, as the create call returned it
     * @param destroy        the function that destroys it, {@code destroy(handle)}
     * @param ctx            the context to make current before destroying it, or {@code null} (a library handle)
     * @param usedAfterClose the message of the {@link IllegalStateException} a use after close throws
     */
    OwnedHandle(MemorySegment handle, NativeFunction destroy, CudaContext ctx, String usedAfterClose) {
        this.handle = handle;
        this.destroy = destroy;
        this.ctx = ctx;
        this.usedAfterClose = usedAfterClose;
    }

    /** The handle. */
    MemorySegment get() {
        if (handle == null) {
            throw new IllegalStateException(usedAfterClose);
        }
        return handle;
    }

    /** Whether {@link #close()} has not run. */
    boolean isOpen() {
        return handle != null;
    }

    /** Destroys the handle; idempotent (a failed destroy is not retried). */
    @Override
    public void close() {
        if (handle != null) {
            MemorySegment h = handle;
            handle = null;
            if (ctx != null) {
                ctx.makeCurrent();
            }
            destroy.check(h);
        }
    }
}

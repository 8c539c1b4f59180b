package org.sprnn.internal.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A handle of a CUDA math library ({@link CublasLt.Handle}, {@link Cusparse.Handle}): made by the library's create
 * call on the current context, destroyed once by {@link #close()}.
 *
 * @param <L> the library's bindings
 */
abstract class LibraryHandle<L> implements AutoCloseable {
    private final L lib;
    private final OwnedHandle handle;

    /**
     * Makes {@code ctx} current and creates the handle with {@code create(&handle)}.
     *
     * @param name the library's name in the use-after-close message, e.g. {@code cuBLASLt}
     */
    LibraryHandle(CudaContext ctx, L lib, NativeFunction create, NativeFunction destroy, String name) {
        ctx.makeCurrent();
        this.lib = lib;
        this.handle = new OwnedHandle(create.checkOut(), destroy, null, name + " handle used after close");
    }

    MemorySegment get() {
        return handle.get();
    }

    L lib() {
        return lib;
    }

    /** Destroys the handle; idempotent. */
    @Override
    public void close() {
        handle.close();
    }
}

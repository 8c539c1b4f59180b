package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.function.IntFunction;

/**
 * One native function of a CUDA library, resolved once, with the one helper that checks its return
 * code: a non-zero status becomes a {@link CudaException} naming the function and the library's error
 * name and text.
 *
 * <p>Calls go through {@link MethodHandle#invokeWithArguments}, which costs well under a microsecond:
 * nothing here is on a per-kernel hot path (sequences are replayed from CUDA graphs).
 *
 * @param name        the exported symbol, e.g. {@code cuMemAlloc_v2}
 * @param handle      the downcall handle
 * @param errorText   status code → "NAME (description)" for this library
 */
public record NativeFunction(String name, MethodHandle handle, IntFunction<String> errorText) {

    private static final Linker LINKER = Linker.nativeLinker();

    /**
     * Resolves {@code name} in {@code lookup}.
     *
     * @throws CudaException if the library does not export it (too old a library)
     */
    @SuppressWarnings("restricted") // binding native code is this package's job; the launcher enables native access
    static NativeFunction bind(SymbolLookup lookup, String library, String name, FunctionDescriptor fd,
                               IntFunction<String> errorText) {
        MemorySegment address = lookup.find(name).orElseThrow(() ->
                new CudaException(library + " does not export " + name + " (library too old for sprnn?)"));
        return new NativeFunction(name, LINKER.downcallHandle(address, fd), errorText);
    }

    /** Calls the function and returns its raw result (boxed). */
    public Object invoke(Object... args) {
        try {
            return handle.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(name + ": " + t, t);
        }
    }

    /** Calls a function that returns a status code and returns it unchecked. */
    public int call(Object... args) {
        return (Integer) invoke(args);
    }

    /**
     * Calls a function that returns a status code.
     *
     * @throws CudaException naming this function and the error when the status is not 0 (success)
     */
    public void check(Object... args) {
        int rc = call(args);
        if (rc != 0) {
            throw new CudaException(name, rc, errorText.apply(rc));
        }
    }

    /**
     * Calls a function whose first parameter is a pointer-sized out-parameter ({@code fn(&out, args...)}, as
     * {@code cuStreamCreate} or {@code cublasLtCreate}), checks its status and returns what it wrote there.
     *
     * @throws CudaException as {@link #check}
     */
    MemorySegment checkOut(Object... args) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check(withOut(out, args));
            return out.get(ADDRESS, 0);
        }
    }

    /** {@link #checkOut} for an {@code int} out-parameter, as {@code cuDeviceGetCount(int*)}. */
    int checkIntOut(Object... args) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check(withOut(out, args));
            return out.get(JAVA_INT, 0);
        }
    }

    private static Object[] withOut(MemorySegment out, Object[] args) {
        Object[] all = new Object[args.length + 1];
        all[0] = out;
        System.arraycopy(args, 0, all, 1, args.length);
        return all;
    }
}

package org.sprnn.internal.cuda;

import java.lang.foreign.SymbolLookup;
import java.util.List;
import java.util.function.Supplier;

/**
 * A CUDA library opened and bound once: its bindings, or the one-line reason there are none.
 *
 * <p>Each binding class (NVRTC, cuBLASLt, cuSPARSE) keeps one of these in a lazy holder class, so the
 * library is looked for only when first needed and a machine without it never sees a
 * {@link LinkageError}: {@link #problemOf} and {@link #require} also turn a failure of the holder's
 * own initialisation into that reason.
 *
 * @param bindings the bound library, or {@code null}
 * @param problem  why it cannot be used, or {@code null} when it can
 */
record BoundLibrary<T>(T bindings, String problem) {

    /** Makes the bindings from an opened library; may throw when a symbol is missing. */
    interface Binder<T> {
        T bind(SymbolLookup lookup, String path);
    }

    /** Opens the first of {@code sonames} found (see {@link CudaLibraries#open}) and binds it; never throws. */
    static <T> BoundLibrary<T> open(String name, List<String> sonames, Binder<T> binder) {
        CudaLibraries.Found found = CudaLibraries.open(name, sonames);
        if (!found.ok()) {
            return new BoundLibrary<>(null, name + " missing: " + found.problem());
        }
        try {
            return new BoundLibrary<>(binder.bind(found.lookup(), found.path()), null);
        } catch (RuntimeException | LinkageError e) {
            return new BoundLibrary<>(null, name + " could not be bound: " + e.getMessage());
        }
    }

    /** Why the library in {@code holder} cannot be used, or {@code null}. Never throws. */
    static String problemOf(Supplier<? extends BoundLibrary<?>> holder, String name) {
        try {
            return holder.get().problem();
        } catch (LinkageError e) {
            return name + " bindings failed to initialise: " + e;
        }
    }

    /** The bindings in {@code holder}, or a {@link CudaException} with {@link #problemOf}. */
    static <T> T require(Supplier<BoundLibrary<T>> holder, String name) {
        String p = problemOf(holder, name);
        if (p != null) {
            throw new CudaException(p);
        }
        return holder.get().bindings();
    }
}

package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SymbolLookup;
import java.util.function.IntFunction;

/**
 * Binds the functions of one opened CUDA library (the driver, NVRTC, cuBLASLt, cuSPARSE) by name; the bindings
 * themselves stay in each library's class, written by hand.
 *
 * @param lookup    the opened library
 * @param library   its name in a missing symbol's message, e.g. {@code libcublasLt}
 * @param errorText the library's status code as text, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY (out of memory)}
 */
record Binder(SymbolLookup lookup, String library, IntFunction<String> errorText) {

    /**
     * {@code int name(args...)}: a function returning the library's status code (0 on success), whose failures
     * {@link NativeFunction#check} reports through {@link #errorText}.
     *
     * @throws CudaException if the library does not export it
     */
    NativeFunction bind(String name, MemoryLayout... args) {
        return NativeFunction.bind(lookup, library, name, FunctionDescriptor.of(JAVA_INT, args), errorText);
    }

    /**
     * A function whose result is not checked as a status: one returning something else (a string, a version), or
     * one of the functions that {@link #errorText} itself calls.
     *
     * @throws CudaException if the library does not export it
     */
    NativeFunction bindRaw(String name, FunctionDescriptor fd) {
        return NativeFunction.bind(lookup, library, name, fd, rc -> "status " + rc);
    }
}

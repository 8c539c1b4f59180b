package org.sprnn.internal.cuda;

import org.sprnn.SprnnException;

/**
 * A CUDA-side failure, as one line naming the native call and the library's error, e.g.
 * {@code cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)}.
 */
public final class CudaException extends SprnnException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int code;

    public CudaException(String call, int code, String errorText) {
        super(call + " failed: " + errorText);
        this.call = call;
        this.code = code;
    }

    public CudaException(String message) {
        super(message);
        this.call = "";
        this.code = -1;
    }

    /** The native function that failed, e.g. {@code cuMemAlloc_v2}. */
    public String call() {
        return call;
    }

    /** The library's return code (CUresult, nvrtcResult, cublasStatus_t or cusparseStatus_t). */
    public int code() {
        return code;
    }
}

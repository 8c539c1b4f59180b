package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.List;

/**
 * cuBLASLt ({@code libcublasLt.so.13}): matrix products with fused epilogues (bias, ReLU), algorithm
 * lists from its heuristic. {@link GemmPlan} holds one configured product.
 */
public final class CublasLt {
    public static final List<String> SONAMES = List.of("libcublasLt.so.13", "libcublasLt.so.12");

    // cudaDataType_t (library_types.h)
    public static final int CUDA_R_32F = 0;
    public static final int CUDA_R_16F = 2;
    public static final int CUDA_R_16BF = 14;
    // cublasComputeType_t
    public static final int COMPUTE_32F = 68;
    // cublasOperation_t
    public static final int OP_N = 0;
    public static final int OP_T = 1;
    // cublasLtMatmulDescAttributes_t
    static final int DESC_TRANSA = 3;
    static final int DESC_TRANSB = 4;
    static final int DESC_EPILOGUE = 7;
    static final int DESC_BIAS_POINTER = 8;
    // cublasLtEpilogue_t
    public static final int EPILOGUE_DEFAULT = 1;
    public static final int EPILOGUE_RELU = 2;
    public static final int EPILOGUE_BIAS = 4;
    public static final int EPILOGUE_RELU_BIAS = 6;
    // cublasLtMatmulPreferenceAttributes_t
    static final int PREF_MAX_WORKSPACE_BYTES = 1;
    static final int PREF_MIN_ALIGNMENT_A_BYTES = 5; // A, B, C, D: 5, 6, 7, 8 (uint32)
    static final int PREF_MIN_ALIGNMENT_D_BYTES = 8;
    /** sizeof(cublasLtMatmulHeuristicResult_t): algo (8 × uint64) + size_t + int + float + int[4]. */
    static final long HEURISTIC_RESULT_BYTES = 96;
    static final long ALGO_BYTES = 64;

    final NativeFunction cublasLtCreate, cublasLtDestroy, cublasLtMatmulDescCreate, cublasLtMatmulDescDestroy,
            cublasLtMatmulDescSetAttribute, cublasLtMatrixLayoutCreate, cublasLtMatrixLayoutDestroy,
            cublasLtMatmulPreferenceCreate, cublasLtMatmulPreferenceDestroy, cublasLtMatmulPreferenceSetAttribute,
            cublasLtMatmulAlgoGetHeuristic, cublasLtMatmul;
    private final NativeFunction cublasLtGetStatusName, cublasLtGetStatusString, cublasLtGetVersion;
    private final String path;

    private CublasLt(SymbolLookup lib, String path) {
        this.path = path;
        Binder b = new Binder(lib, "libcublasLt", this::errorText);
        cublasLtGetStatusName = b.bindRaw("cublasLtGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        cublasLtGetStatusString = b.bindRaw("cublasLtGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        cublasLtGetVersion = b.bindRaw("cublasLtGetVersion", FunctionDescriptor.of(JAVA_LONG));
        cublasLtCreate = b.bind("cublasLtCreate", ADDRESS);
        cublasLtDestroy = b.bind("cublasLtDestroy", ADDRESS);
        cublasLtMatmulDescCreate = b.bind("cublasLtMatmulDescCreate", ADDRESS, JAVA_INT, JAVA_INT);
        cublasLtMatmulDescDestroy = b.bind("cublasLtMatmulDescDestroy", ADDRESS);
        cublasLtMatmulDescSetAttribute = b.bind("cublasLtMatmulDescSetAttribute", ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG);
        cublasLtMatrixLayoutCreate = b.bind("cublasLtMatrixLayoutCreate", ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        cublasLtMatrixLayoutDestroy = b.bind("cublasLtMatrixLayoutDestroy", ADDRESS);
        cublasLtMatmulPreferenceCreate = b.bind("cublasLtMatmulPreferenceCreate", ADDRESS);
        cublasLtMatmulPreferenceDestroy = b.bind("cublasLtMatmulPreferenceDestroy", ADDRESS);
        cublasLtMatmulPreferenceSetAttribute = b.bind("cublasLtMatmulPreferenceSetAttribute", ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG);
        cublasLtMatmulAlgoGetHeuristic = b.bind("cublasLtMatmulAlgoGetHeuristic", ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        // device pointers (A, B, C, D, workspace) are passed as 64-bit integers: same register class on x86-64
        cublasLtMatmul = b.bind("cublasLtMatmul", ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS,
                ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
    }

    private String errorText(int rc) {
        return CudaDriver.statusText((MemorySegment) cublasLtGetStatusName.invoke(rc), (MemorySegment) cublasLtGetStatusString.invoke(rc));
    }

    private static final class Holder {
        static final BoundLibrary<CublasLt> LIB = BoundLibrary.open("cuBLASLt", SONAMES, CublasLt::new);
    }

    /** Why cuBLASLt cannot be used here, or {@code null}. Never throws. */
    public static String problem() {
        return BoundLibrary.problemOf(() -> Holder.LIB, "cuBLASLt");
    }

    /** The loaded library, or a {@link CudaException} with {@link #problem()}. */
    public static CublasLt get() {
        return BoundLibrary.require(() -> Holder.LIB, "cuBLASLt");
    }

    /** The library file loaded. */
    public String path() {
        return path;
    }

    /** Version as text, e.g. {@code 13.1.0}. */
    public String version() {
        long v = (Long) cublasLtGetVersion.invoke();
        return v / 10000 + "." + (v % 10000) / 100 + "." + v % 100;
    }

    /** A cuBLASLt handle ({@code cublasLtCreate}/{@code cublasLtDestroy}). */
    public final class Handle extends LibraryHandle<CublasLt> {
        /** Creates a handle; the context must be current. */
        public Handle(CudaContext ctx) {
            super(ctx, CublasLt.this, cublasLtCreate, cublasLtDestroy, "cuBLASLt");
        }
    }
}

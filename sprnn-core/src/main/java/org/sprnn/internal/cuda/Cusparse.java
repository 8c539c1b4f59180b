package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.List;

/**
 * cuSPARSE ({@code libcusparse.so.12}, the soname CUDA 13 still ships): the generic SpMM API on CSR
 * matrices. {@link SpmmPlan} holds one configured product.
 */
public final class Cusparse {
    public static final List<String> SONAMES = List.of("libcusparse.so.12", "libcusparse.so.13");

    // cusparseOperation_t
    static final int OP_NON_TRANSPOSE = 0;
    // cusparseIndexType_t
    static final int INDEX_32I = 2;
    // cusparseIndexBase_t
    static final int INDEX_BASE_ZERO = 0;
    // cusparseOrder_t
    public static final int ORDER_COL = 1;
    public static final int ORDER_ROW = 2;
    // cusparseSpMMAlg_t
    public static final int SPMM_ALG_DEFAULT = 0;
    public static final int SPMM_CSR_ALG1 = 4;
    public static final int SPMM_CSR_ALG2 = 6;
    public static final int SPMM_CSR_ALG3 = 12;

    final NativeFunction cusparseCreate, cusparseDestroy, cusparseSetStream, cusparseCreateCsr, cusparseDestroySpMat,
            cusparseCreateDnMat, cusparseDestroyDnMat, cusparseDnMatSetValues, cusparseSpMM_bufferSize,
            cusparseSpMM_preprocess, cusparseSpMM;
    private final NativeFunction cusparseGetErrorName, cusparseGetErrorString, cusparseGetProperty;
    private final String path;

    private Cusparse(SymbolLookup lib, String path) {
        this.path = path;
        Binder b = new Binder(lib, "libcusparse", this::errorText);
        cusparseGetErrorName = b.bindRaw("cusparseGetErrorName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        cusparseGetErrorString = b.bindRaw("cusparseGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        cusparseGetProperty = b.bind("cusparseGetProperty", JAVA_INT, ADDRESS);
        cusparseCreate = b.bind("cusparseCreate", ADDRESS);
        cusparseDestroy = b.bind("cusparseDestroy", ADDRESS);
        cusparseSetStream = b.bind("cusparseSetStream", ADDRESS, ADDRESS);
        // device pointers are passed as 64-bit integers: same register class as void* on x86-64
        cusparseCreateCsr = b.bind("cusparseCreateCsr", ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        cusparseDestroySpMat = b.bind("cusparseDestroySpMat", ADDRESS);
        cusparseCreateDnMat = b.bind("cusparseCreateDnMat", ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_INT, JAVA_INT);
        cusparseDestroyDnMat = b.bind("cusparseDestroyDnMat", ADDRESS);
        cusparseDnMatSetValues = b.bind("cusparseDnMatSetValues", ADDRESS, JAVA_LONG);
        cusparseSpMM_bufferSize = b.bind("cusparseSpMM_bufferSize", ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
        cusparseSpMM_preprocess = b.bind("cusparseSpMM_preprocess", ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG);
        cusparseSpMM = b.bind("cusparseSpMM", ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG);
    }

    private String errorText(int rc) {
        return CudaDriver.statusText((MemorySegment) cusparseGetErrorName.invoke(rc), (MemorySegment) cusparseGetErrorString.invoke(rc));
    }

    private static final class Holder {
        static final BoundLibrary<Cusparse> LIB = BoundLibrary.open("cuSPARSE", SONAMES, Cusparse::new);
    }

    /** Why cuSPARSE cannot be used here, or {@code null}. Never throws. */
    public static String problem() {
        return BoundLibrary.problemOf(() -> Holder.LIB, "cuSPARSE");
    }

    /** The loaded library, or a {@link CudaException} with {@link #problem()}. */
    public static Cusparse get() {
        return BoundLibrary.require(() -> Holder.LIB, "cuSPARSE");
    }

    /** The library file loaded. */
    public String path() {
        return path;
    }

    /** Version as text, e.g. {@code 12.6.3}. */
    public String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            StringBuilder sb = new StringBuilder();
            for (int prop = 0; prop < 3; prop++) { // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
                cusparseGetProperty.check(prop, v);
                sb.append(prop == 0 ? "" : ".").append(v.get(JAVA_INT, 0));
            }
            return sb.toString();
        }
    }

    /** A cuSPARSE handle ({@code cusparseCreate}/{@code cusparseDestroy}). */
    public final class Handle extends LibraryHandle<Cusparse> {
        /** Creates a handle; the context must be current. */
        public Handle(CudaContext ctx) {
            super(ctx, Cusparse.this, cusparseCreate, cusparseDestroy, "cuSPARSE");
        }

        /** Queues this handle's work on {@code stream}. */
        public void setStream(CudaStream stream) {
            cusparseSetStream.check(get(), stream.handle());
        }
    }
}
